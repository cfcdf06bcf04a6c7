//! File events, filtered and debounced into batches.
//!
//! notify reports every write; the daemon wants one batch per burst (an editor's
//! save, a checkout). Events are collected until none has come for the debounce
//! window, then filtered: `.gitignore`d paths, editor temporary files and git's
//! own folder are dropped, except the references that say HEAD moved. Nothing is
//! lost while the daemon is busy: batches wait in an unbounded channel.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher as _};

/// One burst of changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// Changed files of the working tree (relative to it).
    pub paths: Vec<PathBuf>,
    /// HEAD or a branch moved (a commit, a checkout, a reset).
    pub git_moved: bool,
    /// When the burst's last event came, and when the batch left the debouncer.
    pub debounced_at: Option<Instant>,
}

/// A burst is handled at the latest this many debounce windows after its first event.
const MAX_HOLD: u32 = 10;

/// A running watcher: its batches.
pub struct Watcher {
    pub batches: Receiver<Batch>,
}

/// Whether a file name is an editor's temporary file.
pub fn is_editor_temp(name: &str) -> bool {
    name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".swo")
        || name.starts_with(".#")
        || (name.starts_with('#') && name.ends_with('#'))
        || name == "4913"
        || name.ends_with(".tmp")
}

/// Sorts paths into the working tree's and git's.
pub struct Filter {
    workdir: PathBuf,
    git: PathBuf,
    ignore: ignore::gitignore::Gitignore,
}

impl Filter {
    /// A filter for the working tree at `workdir` with git folder `git`, reading its `.gitignore`.
    pub fn new(workdir: &Path, git: &Path) -> Filter {
        let workdir = std::fs::canonicalize(workdir).unwrap_or_else(|_| workdir.to_path_buf());
        let git = std::fs::canonicalize(git).unwrap_or_else(|_| git.to_path_buf());
        let mut builder = ignore::gitignore::GitignoreBuilder::new(&workdir);
        let _ = builder.add(workdir.join(".gitignore"));
        let ignore = builder.build().unwrap_or_else(|_| ignore::gitignore::Gitignore::empty());
        Filter { workdir, git, ignore }
    }

    /// Whether a top-level folder is worth watching: not git's, not hidden, not ignored.
    pub fn watchable_top(&self, dir: &Path) -> bool {
        let name = dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let rel = dir.strip_prefix(&self.workdir).unwrap_or(dir);
        !name.starts_with('.') && !self.ignore.matched_path_or_any_parents(rel, true).is_ignore()
    }

    /// Add `path` to `batch` if it matters; whether it did.
    pub fn add(&self, batch: &mut Batch, path: &Path) -> bool {
        if let Ok(in_git) = path.strip_prefix(&self.git) {
            let s = in_git.to_string_lossy();
            let moved = s == "HEAD" || s == "packed-refs" || s.starts_with("refs/heads/");
            batch.git_moved |= moved;
            return moved;
        }
        let Ok(rel) = path.strip_prefix(&self.workdir) else { return false };
        if rel.components().any(|c| c.as_os_str() == ".git") {
            return false;
        }
        let name = rel.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        if name.is_empty() || is_editor_temp(&name) {
            return false;
        }
        if self.ignore.matched_path_or_any_parents(rel, path.is_dir()).is_ignore() {
            return false;
        }
        if !batch.paths.iter().any(|p| p == rel) {
            batch.paths.push(rel.to_path_buf());
        }
        true
    }
}

/// Watch `workdir` (and `git`, its repository folder), sending a batch per burst
/// of changes once `debounce` has passed without a new event.
///
/// Git's folder is watched only where references live (HEAD, `refs/`), not its
/// objects or the tool's worktrees; top-level folders that are hidden or
/// `.gitignore`d (`.venv`, `node_modules`) are not watched at all, which keeps
/// the number of inotify watches near the number of source folders.
pub fn watch(workdir: &Path, git: &Path, debounce: Duration) -> notify::Result<Watcher> {
    let (raw_tx, raw_rx) = mpsc::channel::<notify::Result<notify::Event>>();
    let mut inner = notify::recommended_watcher(move |event| {
        let _ = raw_tx.send(event);
    })?;
    let filter = Filter::new(workdir, git);
    inner.watch(&filter.workdir, RecursiveMode::NonRecursive)?;
    for entry in std::fs::read_dir(&filter.workdir)?.flatten() {
        let path = entry.path();
        if path.is_dir() && filter.watchable_top(&path) {
            inner.watch(&path, RecursiveMode::Recursive)?;
        }
    }
    inner.watch(&filter.git, RecursiveMode::NonRecursive)?;
    if filter.git.join("refs").is_dir() {
        inner.watch(&filter.git.join("refs"), RecursiveMode::Recursive)?;
    }
    let (tx, batches) = mpsc::channel();
    // The watcher lives in the thread so that new top-level folders can be watched too.
    let mut bursts = Bursts { inner, filter, raw: raw_rx, debounce };
    std::thread::spawn(move || {
        while let Some(batch) = bursts.next() {
            if tx.send(batch).is_err() {
                return;
            }
        }
    });
    Ok(Watcher { batches })
}

/// Raw file events, debounced into batches.
struct Bursts<W: notify::Watcher> {
    inner: W,
    filter: Filter,
    raw: Receiver<notify::Result<notify::Event>>,
    debounce: Duration,
}

impl<W: notify::Watcher> Bursts<W> {
    /// The next batch with something in it; none once the watcher is gone.
    fn next(&mut self) -> Option<Batch> {
        loop {
            // Wait for the first event of a burst.
            let first = self.raw.recv().ok()?;
            let mut batch = Batch::default();
            if !self.take(first, &mut batch) {
                continue;
            }
            self.collect_burst(&mut batch)?;
            if !batch.paths.is_empty() || batch.git_moved {
                batch.debounced_at = Some(Instant::now());
                return Some(batch);
            }
        }
    }

    /// Quiet for `debounce`, or at most `MAX_HOLD` windows after the first event: a
    /// file rewritten without pause still gets handled. None when the watcher is gone.
    fn collect_burst(&mut self, batch: &mut Batch) -> Option<()> {
        let opened = Instant::now();
        let mut last = opened;
        loop {
            let quiet_until = last + self.debounce;
            let now = Instant::now();
            if now >= quiet_until || now >= opened + self.debounce * MAX_HOLD {
                return Some(());
            }
            match self.raw.recv_timeout(quiet_until - now) {
                Ok(event) => {
                    if self.take(event, batch) {
                        last = Instant::now();
                    }
                }
                Err(RecvTimeoutError::Timeout) => return Some(()),
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Add an event's paths to the batch; whether it mattered. Only events that
    /// matter open or extend a burst, so that reads (a `status` poll, an editor
    /// opening files) never hold a batch back.
    fn take(&mut self, event: notify::Result<notify::Event>, batch: &mut Batch) -> bool {
        let event = match event {
            Ok(event) => event,
            Err(e) => {
                tracing::warn!(error = %e, "file watcher error");
                return false;
            }
        };
        if matches!(event.kind, notify::EventKind::Access(_)) {
            return false;
        }
        tracing::trace!(kind = ?event.kind, paths = ?event.paths, "file event");
        let mut relevant = false;
        for path in &event.paths {
            if matches!(event.kind, notify::EventKind::Create(_))
                && path.parent() == Some(self.filter.workdir.as_path())
                && path.is_dir()
                && self.filter.watchable_top(path)
            {
                let _ = self.inner.watch(path, RecursiveMode::Recursive);
            }
            relevant |= self.filter.add(batch, path);
        }
        relevant
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_files_git_internals_and_ignored_paths_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir_all(root.join(".git/refs/heads")).unwrap();
        std::fs::write(root.join(".gitignore"), "build/\n*.log\n").unwrap();
        let filter = Filter::new(&root, &root.join(".git"));
        let mut batch = Batch::default();
        for p in [
            "app.py",
            "app.py~",
            ".app.py.swp",
            "build/x.py",
            "run.log",
            ".git/objects/ab/cd",
            ".git/refactor-async/daemon.json",
            "pkg/mod.py",
        ] {
            filter.add(&mut batch, &root.join(p));
        }
        assert_eq!(batch.paths, [PathBuf::from("app.py"), PathBuf::from("pkg/mod.py")]);
        assert!(!batch.git_moved);
        filter.add(&mut batch, &root.join(".git/refs/heads/main"));
        assert!(batch.git_moved);
    }

    #[test]
    fn a_burst_of_writes_becomes_one_batch() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        let watcher = watch(&root, &root.join(".git"), Duration::from_millis(200)).unwrap();
        for i in 0..5 {
            std::fs::write(root.join("a.py"), format!("x = {i}\n")).unwrap();
            std::fs::write(root.join("b.py"), format!("y = {i}\n")).unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
        let batch = watcher.batches.recv_timeout(Duration::from_secs(10)).unwrap();
        let mut paths = batch.paths.clone();
        paths.sort();
        assert_eq!(paths, [PathBuf::from("a.py"), PathBuf::from("b.py")]);
        assert!(watcher.batches.recv_timeout(Duration::from_millis(500)).is_err(), "one batch for the burst");
    }
}
