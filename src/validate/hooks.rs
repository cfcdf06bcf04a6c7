//! The repository's pre-commit hook, run in the worktree as part of validation.
//!
//! Commits are written straight to the object database, where git would not run
//! hooks; so the hook runs here instead, with the draft staged in the worktree's
//! own index exactly as `git commit` would present it. A repository that uses the
//! pre-commit framework without an installed hook gets `pre-commit run` on the
//! changed files; if the framework is not installed, validation fails rather than
//! committing past the hook.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use crate::draft::diff::FileChange;
use crate::git::{Context as _, GitError, Repo};

/// The hook step to run, if the repository has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hook {
    /// Run this command line.
    Run { name: String, line: String },
    /// The repository asks for a hook that cannot run here: validation fails with this reason.
    Unavailable { name: String, why: String },
}

/// The repository's hooks folder: `core.hooksPath` (when relative, relative to
/// the worktree it runs in) or `.git/hooks`.
pub fn hooks_dir(repo: &Repo) -> PathBuf {
    let configured = repo.git.config().ok().and_then(|c| c.get_path("core.hooksPath").ok());
    configured.unwrap_or_else(|| repo.git.commondir().join("hooks"))
}

fn executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Stage the draft in the worktree's index and say which hook step to run, if any.
pub fn pre_commit(hooks_dir: &Path, worktree: &Path, changes: &[FileChange]) -> Result<Option<Hook>, GitError> {
    let hook = worktree.join(hooks_dir).join("pre-commit");
    let framework = worktree.join(".pre-commit-config.yaml").is_file();
    let step = if executable(&hook) {
        Hook::Run { name: "pre-commit hook".to_string(), line: shell_quote(&hook.to_string_lossy()) }
    } else if framework {
        let files: Vec<String> = changes.iter().filter(|c| c.new.is_some()).map(|c| shell_quote(&c.path)).collect();
        if crate::validate::command::find_program("pre-commit").is_some() {
            Hook::Run { name: "pre-commit".to_string(), line: format!("pre-commit run --files {}", files.join(" ")) }
        } else {
            Hook::Unavailable {
                name: "pre-commit".to_string(),
                why: "the repository has a .pre-commit-config.yaml but `pre-commit` is not installed (not on PATH); install it, or set [validate] hooks = \"off\"".to_string(),
            }
        }
    } else {
        return Ok(None);
    };
    stage(worktree, changes)?;
    Ok(Some(step))
}

/// `git add` the changed files in the worktree's index.
fn stage(worktree: &Path, changes: &[FileChange]) -> Result<(), GitError> {
    let git = git2::Repository::open(worktree).context(|| format!("opening worktree {}", worktree.display()))?;
    let mut index = git.index().context(|| "reading the worktree's index".to_string())?;
    for change in changes {
        let path = Path::new(&change.path);
        match change.new {
            Some(_) => index.add_path(path),
            None => index.remove_path(path),
        }
        .context(|| format!("staging {}", change.path))?;
    }
    index.write().context(|| "writing the worktree's index".to_string())
}

/// Quote `text` for `sh -c`.
pub fn shell_quote(text: &str) -> String {
    if text.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c)) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("src/a.py"), "src/a.py");
        assert_eq!(shell_quote("it's here"), "'it'\\''s here'");
    }
}
