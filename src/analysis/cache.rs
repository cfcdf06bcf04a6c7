//! The per-file summary cache, keyed by a hash of the file's content.
//!
//! One file holds every entry; each summary is stored as its own encoded blob so
//! a warm run decodes them in parallel, only for files that are still there. A
//! cache that cannot be read (missing, truncated, from another version) is simply
//! empty: the cache may only ever save time, never change a result.

use rustc_hash::FxHashMap as HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::summary::FileSummary;

/// Bump when [`FileSummary`] or its extraction changes.
const SCHEMA: u32 = 13;

/// The file is `[header length: u64 LE][header][blobs]`; the header lists where each blob is.
#[derive(Serialize, Deserialize)]
struct Header {
    schema: u32,
    tool: String,
    /// (content key, offset into the blobs, length)
    entries: Vec<(u128, u64, u64)>,
}

/// Loaded cache entries plus the ones to write back.
#[derive(Default)]
pub struct Cache {
    path: Option<PathBuf>,
    /// The cache file as read; blobs are decoded in place, never copied out.
    data: Vec<u8>,
    /// Content key → the blob's byte range in `data`.
    entries: HashMap<u128, std::ops::Range<usize>>,
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

    /// Load the cache at `path`; anything unreadable gives an empty cache.
    pub fn load(path: PathBuf) -> Cache {
        let data = std::fs::read(&path).unwrap_or_default();
        let entries = decode(&data).unwrap_or_default();
        Cache { path: Some(path), data, entries }
    }

    /// Whether results are read and written at all.
    pub fn is_enabled(&self) -> bool {
        self.path.is_some()
    }

    /// The summary stored for this content, if any.
    pub fn get(&self, key: u128) -> Option<FileSummary> {
        self.entries.get(&key).and_then(|range| postcard::from_bytes(&self.data[range.clone()]).ok())
    }

    /// Encode a summary for storing.
    pub fn encode(summary: &FileSummary) -> Vec<u8> {
        postcard::to_allocvec(summary).unwrap_or_default()
    }

    /// Write the entries for the current files (and only those), atomically.
    /// `fresh` holds the newly encoded summaries; `keys` every current file's key.
    pub fn save(&mut self, keys: &[u128], fresh: Vec<(u128, Vec<u8>)>) -> std::io::Result<()> {
        let Some(path) = self.path.clone() else { return Ok(()) };
        if fresh.is_empty() && keys.len() == self.entries.len() && keys.iter().all(|k| self.entries.contains_key(k)) {
            return Ok(());
        }
        let fresh: HashMap<u128, Vec<u8>> = fresh.into_iter().collect();
        let mut entries: Vec<(u128, &[u8])> = Vec::with_capacity(keys.len());
        for key in keys {
            let blob =
                fresh.get(key).map(Vec::as_slice).or_else(|| self.entries.get(key).map(|r| &self.data[r.clone()]));
            if let Some(blob) = blob {
                entries.push((*key, blob));
            }
        }
        entries.sort_by_key(|(k, _)| *k);
        entries.dedup_by_key(|(k, _)| *k);
        let mut header = Header { schema: SCHEMA, tool: env!("CARGO_PKG_VERSION").to_string(), entries: Vec::new() };
        let mut offset = 0u64;
        for (key, blob) in &entries {
            header.entries.push((*key, offset, blob.len() as u64));
            offset += blob.len() as u64;
        }
        let head = postcard::to_allocvec(&header).map_err(std::io::Error::other)?;
        let mut bytes = Vec::with_capacity(8 + head.len() + offset as usize);
        bytes.extend_from_slice(&(head.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&head);
        for (_, blob) in &entries {
            bytes.extend_from_slice(blob);
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Write then rename, so a crash never leaves a torn cache behind.
        let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
        std::fs::write(&tmp, &bytes)?;
        std::fs::rename(&tmp, &path)?;
        self.entries = decode(&bytes).unwrap_or_default();
        self.data = bytes;
        Ok(())
    }
}

fn decode(bytes: &[u8]) -> Option<HashMap<u128, std::ops::Range<usize>>> {
    let len = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?) as usize;
    let header: Header = postcard::from_bytes(bytes.get(8..8usize.checked_add(len)?)?).ok()?;
    if header.schema != SCHEMA || header.tool != env!("CARGO_PKG_VERSION") {
        return None;
    }
    let base = 8 + len;
    let mut out = HashMap::with_capacity_and_hasher(header.entries.len(), Default::default());
    for (key, offset, length) in header.entries {
        let start = base.checked_add(usize::try_from(offset).ok()?)?;
        let end = start.checked_add(usize::try_from(length).ok()?)?;
        bytes.get(start..end)?;
        out.insert(key, start..end);
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
        std::fs::write(&path, b"garbage").unwrap();
        assert!(Cache::load(path).get(7).is_none());
    }
}
