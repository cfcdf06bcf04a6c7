//! Stage 1 of a full run: the user's repository, the base commit, the flags
//! that can be checked before any work, and what the user should know about
//! their checkout. Worktrees left behind by a run that was killed are removed.

use std::path::{Path, PathBuf};

use crate::git::branch;
use crate::git::{GitError, Repo, worktree};
use crate::propose::{Options, ProposeError};

/// The repository and the commit proposals start from.
#[derive(Debug)]
pub struct Prepared {
    pub repo: Repo,
    pub base: crate::git::Base,
    /// The repository's common git folder (`.git`), where worktrees and logs go.
    pub common: PathBuf,
    /// Worth knowing, not failures: a detached HEAD, uncommitted changes, stale worktrees.
    pub notes: Vec<String>,
}

/// Open the repository holding `path` and resolve the base; check `--branch` and `--push`.
pub fn prepare(path: &Path, options: &Options) -> Result<Prepared, ProposeError> {
    let repo = Repo::open(path).map_err(|e| match e {
        GitError::NotGit(p) => ProposeError::NotGit(p),
        e => ProposeError::Git(e),
    })?;
    let base = repo.base(options.base.as_deref())?;
    if let Some(name) = &options.branch
        && !branch::valid_name(name)
    {
        return Err(ProposeError::BranchName(name.clone()));
    }
    if let Some(remote) = &options.push
        && repo.git.find_remote(remote).is_err()
    {
        return Err(ProposeError::NoRemote(remote.clone()));
    }
    let common = repo.git.commondir().to_path_buf();
    let mut notes = repo.situation(&base);
    let stale = worktree::clean_stale(&common);
    if !stale.is_empty() {
        notes.push(format!("removed {} worktree(s) left behind by an earlier run that was stopped", stale.len()));
    }
    Ok(Prepared { repo, base, common, notes })
}

/// Where `path` (in the user's working tree) is in the checkout of the base at `source`.
pub fn scan_path(prepared: &Prepared, path: &Path, source: &Path) -> Result<PathBuf, ProposeError> {
    let scan = source.join(relative_to_workdir(&prepared.repo, path));
    if !scan.exists() {
        return Err(ProposeError::NotInBase { path: path.to_path_buf(), base: prepared.base.short() });
    }
    Ok(scan)
}

/// `path` relative to the top of the user's working tree.
fn relative_to_workdir(repo: &Repo, path: &Path) -> PathBuf {
    let workdir = std::fs::canonicalize(&repo.workdir).unwrap_or_else(|_| repo.workdir.clone());
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    path.strip_prefix(&workdir).map(Path::to_path_buf).unwrap_or_default()
}
