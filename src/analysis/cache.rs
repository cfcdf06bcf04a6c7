//! The per-file summary cache, keyed by a hash of the file's content.
//!
//! One file holds every entry; each summary is stored as its own encoded blob so
//! a warm run decodes them in parallel, only for files that are still there. Only
//! the header is read up front: each blob is read from the file when its summary
//! is wanted and dropped once decoded, so a warm run never holds the file's bytes
//! next to the summaries decoded from them. A cache that cannot be read (missing,
//! truncated, from another version) is simply empty: the cache may only ever save
//! time, never change a result.

use rustc_hash::FxHashMap as HashMap;
use std::cell::RefCell;
use std::fs::File;
use std::io::{BufWriter, Read as _, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::summary::FileSummary;

/// Bump when [`FileSummary`] or its extraction changes.
const SCHEMA: u32 = 19;

/// The file is `[header length: u64 LE][header][blobs]`; the header lists where each blob is.
#[derive(Serialize, Deserialize)]
struct Header {
    schema: u32,
    tool: String,
    /// (content key, offset into the blobs, length)
    entries: Vec<(u128, u64, u64)>,
}

/// The cache file's index, with the file open to read entries from.
#[derive(Default)]
pub struct Cache {
    path: Option<PathBuf>,
    /// The cache file as opened by [`Cache::load`]; blobs are read from it one at a
    /// time. Open, it stays the file that was read even if another run replaces it.
    file: Option<File>,
    /// Content key → where the blob is in `file`.
    entries: HashMap<u128, Blob>,
}

/// Where one encoded summary is in the cache file.
#[derive(Clone, Copy)]
struct Blob {
    offset: u64,
    len: usize,
}

/// Hash of a file's content, the cache key.
pub fn content_key(bytes: &[u8]) -> u128 {
    xxhash_rust::xxh3::xxh3_128(bytes)
}

/// Where the cache of a repository lives: under `.git/` when there is one, else the user's cache folder.
pub fn default_location(root: &Path) -> Option<PathBuf> {
    if let Some(common) = git_common_dir(root) {
        return Some(common.join("refactor-async").join("cache").join("analysis.bin"));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    let abs = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let key = xxhash_rust::xxh3::xxh3_64(abs.to_string_lossy().as_bytes());
    Some(base.join("refactor-async").join(format!("{key:016x}.bin")))
}

/// The repository's shared `.git` folder, also from a linked worktree (whose
/// `.git` is a file naming its own folder, which names the shared one).
fn git_common_dir(root: &Path) -> Option<PathBuf> {
    let git = root.join(".git");
    if git.is_dir() {
        return Some(git);
    }
    let text = std::fs::read_to_string(&git).ok()?;
    let own = PathBuf::from(text.trim().strip_prefix("gitdir:")?.trim());
    let own = if own.is_absolute() { own } else { root.join(own) };
    match std::fs::read_to_string(own.join("commondir")) {
        Ok(common) => {
            let common = PathBuf::from(common.trim());
            Some(if common.is_absolute() { common } else { own.join(common) })
        }
        Err(_) => Some(own),
    }
}

impl Cache {
    /// A cache that reads and writes nothing.
    pub fn disabled() -> Cache {
        Cache::default()
    }

    /// Open the cache at `path` and read its header; anything unreadable gives an empty cache.
    pub fn load(path: PathBuf) -> Cache {
        match File::open(&path).ok().and_then(|mut file| Some((read_header(&mut file)?, file))) {
            Some((entries, file)) => Cache { path: Some(path), file: Some(file), entries },
            None => Cache { path: Some(path), file: None, entries: HashMap::default() },
        }
    }

    /// Whether results are read and written at all.
    pub fn is_enabled(&self) -> bool {
        self.path.is_some()
    }

    /// Where the cache file is, when the cache is enabled.
    pub fn location(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Whether a summary is stored for this content.
    pub fn has(&self, key: u128) -> bool {
        self.entries.contains_key(&key)
    }

    /// The summary stored for this content, if any.
    pub fn get(&self, key: u128) -> Option<FileSummary> {
        let blob = *self.entries.get(&key)?;
        let file = self.file.as_ref()?;
        // Each thread reads blobs into one buffer, grown to the largest: no allocation
        // and no zeroing per entry.
        thread_local! {
            static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        }
        BUFFER.with_borrow_mut(|bytes| {
            bytes.resize(blob.len, 0);
            file.read_exact_at(bytes, blob.offset).ok()?;
            postcard::from_bytes(bytes).ok()
        })
    }

    /// A blob's bytes, read from the file.
    fn read(&self, blob: Blob) -> Option<Vec<u8>> {
        let mut bytes = vec![0; blob.len];
        self.file.as_ref()?.read_exact_at(&mut bytes, blob.offset).ok()?;
        Some(bytes)
    }

    /// Encode a summary for storing.
    pub fn encode(summary: &FileSummary) -> Vec<u8> {
        postcard::to_allocvec(summary).unwrap_or_default()
    }

    /// Write the entries for the current files (and only those), atomically.
    /// `fresh` holds the newly encoded summaries; `keys` every current file's key.
    /// Entries kept from the old file are copied one at a time.
    pub fn save(&mut self, keys: &[u128], fresh: Vec<(u128, Vec<u8>)>) -> std::io::Result<()> {
        let Some(path) = self.path.clone() else { return Ok(()) };
        if fresh.is_empty() && keys.len() == self.entries.len() && keys.iter().all(|k| self.entries.contains_key(k)) {
            return Ok(());
        }
        let fresh: HashMap<u128, Vec<u8>> = fresh.into_iter().collect();
        /// Where an entry of the new file comes from.
        enum Source<'a> {
            Fresh(&'a [u8]),
            Kept(Blob),
        }
        let mut entries: Vec<(u128, Source<'_>)> = Vec::with_capacity(keys.len());
        for key in keys {
            let source = fresh
                .get(key)
                .map(|blob| Source::Fresh(blob.as_slice()))
                .or_else(|| self.entries.get(key).map(|blob| Source::Kept(*blob)));
            if let Some(source) = source {
                entries.push((*key, source));
            }
        }
        entries.sort_by_key(|(k, _)| *k);
        entries.dedup_by_key(|(k, _)| *k);
        let mut header = Header { schema: SCHEMA, tool: env!("CARGO_PKG_VERSION").to_string(), entries: Vec::new() };
        let mut offset = 0u64;
        for (key, source) in &entries {
            let len = match source {
                Source::Fresh(bytes) => bytes.len(),
                Source::Kept(blob) => blob.len,
            } as u64;
            header.entries.push((*key, offset, len));
            offset += len;
        }
        let head = postcard::to_allocvec(&header).map_err(std::io::Error::other)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Write then rename, so a crash never leaves a torn cache behind.
        let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
        let written = (|| {
            let mut out = BufWriter::new(File::create(&tmp)?);
            out.write_all(&(head.len() as u64).to_le_bytes())?;
            out.write_all(&head)?;
            for (_, source) in &entries {
                match source {
                    Source::Fresh(bytes) => out.write_all(bytes)?,
                    Source::Kept(blob) => {
                        let bytes =
                            self.read(*blob).ok_or_else(|| std::io::Error::other("the old cache file changed"))?;
                        out.write_all(&bytes)?;
                    }
                }
            }
            out.into_inner().map_err(|e| e.into_error())?;
            Ok(())
        })();
        if let Err(err) = written.and_then(|()| std::fs::rename(&tmp, &path)) {
            let _ = std::fs::remove_file(&tmp);
            return Err(err);
        }
        *self = Cache::load(path);
        Ok(())
    }
}

/// The entries listed in a cache file's header, checked against the file's length.
fn read_header(file: &mut File) -> Option<HashMap<u128, Blob>> {
    let size = file.metadata().ok()?.len();
    let mut len = [0; 8];
    file.read_exact(&mut len).ok()?;
    let len = u64::from_le_bytes(len);
    let base = len.checked_add(8).filter(|&base| base <= size)?;
    let mut head = vec![0; usize::try_from(len).ok()?];
    file.read_exact(&mut head).ok()?;
    let header: Header = postcard::from_bytes(&head).ok()?;
    if header.schema != SCHEMA || header.tool != env!("CARGO_PKG_VERSION") {
        return None;
    }
    let mut out = HashMap::with_capacity_and_hasher(header.entries.len(), Default::default());
    for (key, offset, length) in header.entries {
        let start = base.checked_add(offset)?;
        if start.checked_add(length)? > size {
            return None;
        }
        out.insert(key, Blob { offset: start, len: usize::try_from(length).ok()? });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_linked_worktree_shares_the_main_repositorys_cache() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("repo");
        let common = main.join(".git");
        let admin = common.join("worktrees/wt");
        let wt = dir.path().join("wt");
        std::fs::create_dir_all(&admin).unwrap();
        std::fs::create_dir_all(&wt).unwrap();
        std::fs::write(admin.join("commondir"), "../..\n").unwrap();
        std::fs::write(wt.join(".git"), format!("gitdir: {}\n", admin.display())).unwrap();
        std::fs::create_dir_all(common.join("refactor-async/cache")).unwrap();
        let expected = common.join("refactor-async/cache/analysis.bin");
        assert_eq!(default_location(&main), Some(expected.clone()));
        let from_worktree = default_location(&wt).unwrap();
        assert_eq!(
            std::fs::canonicalize(from_worktree.parent().unwrap()).unwrap(),
            std::fs::canonicalize(expected.parent().unwrap()).unwrap()
        );
    }

    #[test]
    fn round_trip_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.bin");
        let mut cache = Cache::load(path.clone());
        let summary = FileSummary::default();
        cache.save(&[7], vec![(7, Cache::encode(&summary))]).unwrap();
        let loaded = Cache::load(path.clone());
        assert!(loaded.get(7).is_some());
        assert!(loaded.get(8).is_none());
        // A second save keeps 7 (copied from the old file), adds 9 and drops nothing else.
        let mut loaded = loaded;
        let mut other = FileSummary::default();
        other.syntax_errors.push(Default::default());
        loaded.save(&[9, 7], vec![(9, Cache::encode(&other))]).unwrap();
        assert_eq!(loaded.get(9).map(|s| s.syntax_errors.len()), Some(1));
        let reloaded = Cache::load(path.clone());
        assert_eq!(reloaded.get(7).map(|s| s.syntax_errors.len()), Some(0));
        assert_eq!(reloaded.get(9).map(|s| s.syntax_errors.len()), Some(1));
        std::fs::write(&path, b"garbage").unwrap();
        assert!(Cache::load(path).get(7).is_none());
    }
}
