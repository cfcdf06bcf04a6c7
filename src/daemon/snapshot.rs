//! The working tree as a commit, for proposals on uncommitted work.
//!
//! Like `git stash create`, but without touching the index: HEAD's tree with the
//! working tree's changed, new (not ignored) and deleted files applied, committed
//! to the object database only, on top of HEAD. The commit is deterministic (its
//! author, time and message are fixed by HEAD), so the same working tree always
//! gives the same snapshot, and a restart finds its proposals up to date.

use std::path::Path;

use git2::{Oid, Repository, Status, StatusOptions};

use crate::draft::diff::FileChange;
use crate::git::commit;

/// The commit to propose from: HEAD when the working tree is clean, else a
/// snapshot of it on top of HEAD. None when the repository has no commit yet.
pub fn base(workdir: &Path) -> Option<String> {
    let git = Repository::open(workdir).ok()?;
    let head = git.head().ok()?.peel_to_commit().ok()?;
    let changes = working_changes(&git, workdir);
    if changes.is_empty() {
        return Some(head.id().to_string());
    }
    let tree = commit::tree_with(&git, head.id(), &changes).ok()?;
    if tree == head.tree_id() {
        return Some(head.id().to_string());
    }
    let when = head.committer().when();
    let signature = git2::Signature::new("refactor-async", "refactor-async@localhost", &when).ok()?;
    let tree = git.find_tree(tree).ok()?;
    let oid: Oid = git
        .commit(None, &signature, &signature, "refactor-async: snapshot of uncommitted changes", &tree, &[&head])
        .ok()?;
    Some(oid.to_string())
}

/// Files of the working tree that differ from HEAD (untracked ones included,
/// ignored ones not); files that are not UTF-8 text are left as HEAD has them.
fn working_changes(git: &Repository, workdir: &Path) -> Vec<FileChange> {
    let mut options = StatusOptions::new();
    options.include_untracked(true).recurse_untracked_dirs(true).include_ignored(false).exclude_submodules(true);
    let Ok(statuses) = git.statuses(Some(&mut options)) else { return Vec::new() };
    let mut changes = Vec::new();
    for entry in statuses.iter() {
        let Some(path) = entry.path() else { continue };
        let status = entry.status();
        if status.intersects(Status::WT_DELETED | Status::INDEX_DELETED) && !workdir.join(path).exists() {
            changes.push(FileChange { path: path.to_string(), old: None, new: None });
        } else if let Ok(text) = std::fs::read_to_string(workdir.join(path)) {
            changes.push(FileChange { path: path.to_string(), old: None, new: Some(text) });
        }
    }
    changes
}
