//! Temporary worktrees under `.git/refactor-async/worktrees/`, at a commit, with a
//! detached HEAD: git's own worktree layout, so `git` inside them (a Makefile's
//! `git ls-files`, a pre-commit hook) works, yet no branch is created or moved.
//!
//! Each worktree records the process that made it. A run that was killed leaves
//! its worktrees behind; the next run finds them by that record, stops whatever
//! still runs inside them, and removes them ([`clean_stale`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use git2::{Oid, Repository};

use super::{Context as _, GitError};

/// Prefix of the names of the tool's worktrees, in `.git/worktrees/` too.
const PREFIX: &str = "refactor-async-";

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A checked-out worktree, removed when dropped.
pub struct Worktree {
    pub path: PathBuf,
    /// `.git/worktrees/<name>`: git's record of it.
    admin: PathBuf,
    owner: PathBuf,
}

impl std::fmt::Debug for Worktree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Worktree({})", self.path.display())
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> GitError + '_ {
    move |source| GitError::Io { path: path.to_path_buf(), source }
}

impl Worktree {
    /// Check out `commit` into a new worktree of the repository whose common git
    /// folder is `common` (`.git`).
    pub fn create(common: &Path, commit: Oid) -> Result<Worktree, GitError> {
        let name = format!("{PREFIX}{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let dir = common.join("refactor-async").join("worktrees");
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let path = dir.join(&name);
        let admin = common.join("worktrees").join(&name);
        let owner = dir.join(format!("{name}.owner"));
        // The owner record first, so that a crash from here on is cleaned up.
        std::fs::write(&owner, format!("{}\n", std::process::id())).map_err(io(&owner))?;
        let worktree = Worktree { path, admin, owner };
        worktree.lay_out(commit)?;
        Ok(worktree)
    }

    fn lay_out(&self, commit: Oid) -> Result<(), GitError> {
        std::fs::create_dir_all(&self.admin).map_err(io(&self.admin))?;
        std::fs::create_dir_all(&self.path).map_err(io(&self.path))?;
        let path = std::fs::canonicalize(&self.path).map_err(io(&self.path))?;
        let admin = std::fs::canonicalize(&self.admin).map_err(io(&self.admin))?;
        let files = [
            (admin.join("HEAD"), format!("{commit}\n")),
            (admin.join("commondir"), "../..\n".to_string()),
            (admin.join("gitdir"), format!("{}\n", path.join(".git").display())),
            (admin.join("locked"), format!("in use by refactor-async (pid {})\n", std::process::id())),
            (path.join(".git"), format!("gitdir: {}\n", admin.display())),
        ];
        for (file, text) in files {
            std::fs::write(&file, text).map_err(io(&file))?;
        }
        let git = self.open()?;
        let mut checkout = git2::build::CheckoutBuilder::new();
        checkout.force();
        git.checkout_head(Some(&mut checkout)).context(|| format!("checking out {commit} in {}", path.display()))?;
        Ok(())
    }

    /// The worktree as a repository (its own HEAD and index).
    pub fn open(&self) -> Result<Repository, GitError> {
        Repository::open(&self.path).context(|| format!("opening worktree {}", self.path.display()))
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        remove(&self.path, &self.admin, &self.owner);
    }
}

fn remove(path: &Path, admin: &Path, owner: &Path) {
    let _ = std::fs::remove_dir_all(path);
    let _ = std::fs::remove_dir_all(admin);
    let _ = std::fs::remove_file(owner);
}

/// Remove worktrees left by runs that no longer exist (killed, crashed), first
/// stopping any process still running inside them. Returns what was removed.
pub fn clean_stale(common: &Path) -> Vec<PathBuf> {
    let dir = common.join("refactor-async").join("worktrees");
    let admin_dir = common.join("worktrees");
    let mut names: Vec<String> = Vec::new();
    for folder in [&dir, &admin_dir] {
        let Ok(entries) = std::fs::read_dir(folder) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().trim_end_matches(".owner").to_string();
            if name.starts_with(PREFIX) && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    let mut removed = Vec::new();
    for name in names {
        let owner = dir.join(format!("{name}.owner"));
        let pid = std::fs::read_to_string(&owner).ok().and_then(|t| t.trim().parse::<i32>().ok()).or_else(|| {
            // No record (killed between creating the folders and writing it): the name carries the pid.
            name.trim_start_matches(PREFIX).split('-').next().and_then(|p| p.parse().ok())
        });
        if pid.is_some_and(|pid| pid != std::process::id() as i32 && crate::process::process_alive(pid)) {
            continue;
        }
        let path = dir.join(&name);
        stop_processes_in(&path);
        remove(&path, &admin_dir.join(&name), &owner);
        removed.push(path);
    }
    removed
}

/// Kill the process groups of processes whose working folder is inside `path`
/// (a validation command orphaned by a killed run). Linux only; elsewhere a no-op.
fn stop_processes_in(path: &Path) {
    let Ok(target) = std::fs::canonicalize(path) else { return };
    let Ok(procs) = std::fs::read_dir("/proc") else { return };
    for entry in procs.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
        let Ok(cwd) = std::fs::read_link(entry.path().join("cwd")) else { continue };
        if cwd.starts_with(&target) {
            // SAFETY: getpgid and kill take plain integers.
            let pgid = unsafe { libc::getpgid(pid) };
            if pgid > 1 && pgid != unsafe { libc::getpgrp() } {
                crate::process::kill_group(pgid, libc::SIGKILL);
            }
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}
