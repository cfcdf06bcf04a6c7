//! Proposal branches: whose they are, and moving them safely.
//!
//! A branch is the tool's when its tip is a commit the tool made, recognised by
//! the `Refactor-Async-Plan:` trailer. The tool only ever creates a branch or
//! moves one of its own; a branch with someone's commits on top of the tool's
//! (or that the tool never made) is left exactly as it is.

use git2::{BranchType, Oid, Repository};

use super::{Context as _, GitError};

/// The trailer that marks the tool's commits.
pub const PLAN_TRAILER: &str = "Refactor-Async-Plan";

/// What a branch name currently holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BranchState {
    /// No such branch: it can be created.
    Absent,
    /// The tool's commit for `plan` on top of `parent`.
    Ours { tip: Oid, parent: Option<Oid>, plan: String },
    /// Someone's commits on top of the tool's: never rewritten.
    Extended { tip: Oid, theirs: usize },
    /// A branch the tool did not make.
    Foreign { tip: Oid },
}

/// The value of `key` among a commit message's trailers.
pub fn trailer<'m>(message: &'m str, key: &str) -> Option<&'m str> {
    message.lines().rev().find_map(|line| line.strip_prefix(key).and_then(|rest| rest.strip_prefix(':')).map(str::trim))
}

/// Classify the commit `tip` (of a local branch or a remote one).
pub fn classify(repo: &Repository, tip: Oid) -> BranchState {
    let mut walk = match repo.revwalk() {
        Ok(walk) => walk,
        Err(_) => return BranchState::Foreign { tip },
    };
    if walk.push(tip).is_err() {
        return BranchState::Foreign { tip };
    }
    walk.simplify_first_parent().ok();
    for (depth, oid) in walk.flatten().take(200).enumerate() {
        let Ok(commit) = repo.find_commit(oid) else { break };
        if let Some(plan) = trailer(commit.message().unwrap_or(""), PLAN_TRAILER) {
            return if depth == 0 {
                BranchState::Ours { tip, parent: commit.parent_id(0).ok(), plan: plan.to_string() }
            } else {
                BranchState::Extended { tip, theirs: depth }
            };
        }
    }
    BranchState::Foreign { tip }
}

/// The state of local branch `name`, also looking at remote-tracking copies of it
/// (`origin/<name>`): commits someone pushed there count as theirs.
pub fn state(repo: &Repository, name: &str) -> BranchState {
    let local = repo.find_branch(name, BranchType::Local).ok().and_then(|b| b.get().target());
    let mut state = match local {
        Some(tip) => classify(repo, tip),
        None => BranchState::Absent,
    };
    if let Ok(branches) = repo.branches(Some(BranchType::Remote)) {
        for (branch, _) in branches.flatten() {
            let Ok(Some(full)) = branch.name() else { continue };
            let Some((_, short)) = full.split_once('/') else { continue };
            let Some(tip) = branch.get().target() else { continue };
            if short != name || Some(tip) == local {
                continue;
            }
            match classify(repo, tip) {
                BranchState::Ours { .. } => {}
                other @ (BranchState::Extended { .. } | BranchState::Foreign { .. }) => {
                    if matches!(state, BranchState::Absent | BranchState::Ours { .. }) {
                        state = other;
                    }
                }
                BranchState::Absent => {}
            }
        }
    }
    state
}

/// Point branch `name` at `new`, creating it, or moving it only if it still
/// points at `expected` (so that a commit someone made meanwhile is never lost).
pub fn update(repo: &Repository, name: &str, new: Oid, expected: Option<Oid>, log: &str) -> Result<(), GitError> {
    let refname = format!("refs/heads/{name}");
    match expected {
        None => repo.reference(&refname, new, false, log).map(|_| ()),
        Some(old) => repo.reference_matching(&refname, new, true, old, log).map(|_| ()),
    }
    .context(|| format!("updating branch {name}"))
}

/// Whether `name` is acceptable as a branch name.
pub fn valid_name(name: &str) -> bool {
    git2::Reference::is_valid_name(&format!("refs/heads/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailers_are_read_from_the_end() {
        let msg = "Make `x` async\n\nbody\nRefactor-Async-Plan: fetch-user\nRefactor-Async-Drafter: rules\n";
        assert_eq!(trailer(msg, PLAN_TRAILER), Some("fetch-user"));
        assert_eq!(trailer(msg, "Refactor-Async-Drafter"), Some("rules"));
        assert_eq!(trailer(msg, "Signed-off-by"), None);
    }

    #[test]
    fn branches_are_classified_by_their_commits() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let sig = git2::Signature::now("t", "t@example.com").unwrap();
        let tree = repo.find_tree(repo.treebuilder(None).unwrap().write().unwrap()).unwrap();
        let base = repo.commit(None, &sig, &sig, "base", &tree, &[]).unwrap();
        let base_c = repo.find_commit(base).unwrap();
        let ours =
            repo.commit(None, &sig, &sig, "Make x async\n\nRefactor-Async-Plan: x\n", &tree, &[&base_c]).unwrap();
        let ours_c = repo.find_commit(ours).unwrap();
        let theirs = repo.commit(None, &sig, &sig, "fix a test", &tree, &[&ours_c]).unwrap();
        assert_eq!(state(&repo, "refactor-async/x"), BranchState::Absent);
        update(&repo, "refactor-async/x", ours, None, "create").unwrap();
        assert_eq!(
            state(&repo, "refactor-async/x"),
            BranchState::Ours { tip: ours, parent: Some(base), plan: "x".into() }
        );
        update(&repo, "refactor-async/x", theirs, Some(ours), "human").unwrap();
        assert_eq!(state(&repo, "refactor-async/x"), BranchState::Extended { tip: theirs, theirs: 1 });
        update(&repo, "other", base, None, "create").unwrap();
        assert_eq!(state(&repo, "other"), BranchState::Foreign { tip: base });
        assert!(
            update(&repo, "refactor-async/x", ours, Some(ours), "stale").is_err(),
            "moved only from the expected tip"
        );
        assert!(valid_name("refactor-async/x") && !valid_name("bad..name"));
    }
}
