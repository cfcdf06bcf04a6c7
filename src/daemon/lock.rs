//! One daemon per repository: `.git/refactor-async/daemon.lock` holds the pid of
//! the daemon that owns the repository. A lock whose process is gone (killed,
//! crashed) is stale and taken over.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::process::process_alive;

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("a refactor-async daemon (pid {pid}) already runs on this repository; stop it first (kill -TERM {pid})")]
    Held { pid: i32 },
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// The held lock; released when dropped.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    /// Set when a stale lock was taken over: the dead owner's pid.
    pub took_over: Option<i32>,
}

/// The pid in a lock file, if it holds one.
pub fn holder(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok().and_then(|t| t.trim().parse().ok())
}

impl Lock {
    /// Take the lock at `path`, or say which live daemon holds it.
    pub fn acquire(path: &Path) -> Result<Lock, LockError> {
        let io = |source| LockError::Io { path: path.to_path_buf(), source };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let me = std::process::id() as i32;
        let mut took_over = None;
        for _ in 0..3 {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(mut file) => {
                    writeln!(file, "{me}").map_err(io)?;
                    file.sync_all().map_err(io)?;
                    return Ok(Lock { path: path.to_path_buf(), took_over });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => match holder(path) {
                    Some(pid) if pid != me && process_alive(pid) => return Err(LockError::Held { pid }),
                    stale => {
                        took_over = stale;
                        // Stale (or unreadable): remove and try again; create_new settles races.
                        let _ = std::fs::remove_file(path);
                    }
                },
                Err(e) => return Err(io(e)),
            }
        }
        Err(LockError::Io { path: path.to_path_buf(), source: std::io::Error::other("the lock keeps changing hands") })
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        if holder(&self.path) == Some(std::process::id() as i32) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_holder_blocks_and_a_stale_one_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.lock");
        let lock = Lock::acquire(&path).unwrap();
        assert_eq!(holder(&path), Some(std::process::id() as i32));
        drop(lock);
        assert!(!path.exists(), "released on drop");

        // A live process that is not us holds it.
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        std::fs::write(&path, format!("{}\n", child.id())).unwrap();
        let err = Lock::acquire(&path).unwrap_err();
        assert!(err.to_string().contains(&format!("pid {}", child.id())), "{err}");
        child.kill().unwrap();
        child.wait().unwrap();
        // Now it is stale.
        let lock = Lock::acquire(&path).unwrap();
        assert_eq!(lock.took_over, Some(child.id() as i32));
    }
}
