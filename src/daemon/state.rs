//! The daemon's state in `.git/refactor-async/daemon.json`: what it has done and
//! is doing, for `status` and for a restart. Written atomically (a temporary file
//! renamed over the old one), so a crash leaves the previous state, never half of one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A proposal the daemon delivered or tried.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProposalRecord {
    pub branch: String,
    pub plans: Vec<String>,
    pub functions: Vec<String>,
    /// `committed`, `up-to-date`, `failed`, `skipped`.
    pub status: String,
    pub commit: Option<String>,
    /// The base commit it was made on.
    pub base: String,
    /// Unix seconds of its validation.
    pub validated_at: u64,
    pub reasons: Vec<String>,
}

/// A cycle that failed as a whole, or a proposal that failed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FailureRecord {
    pub at: u64,
    pub what: String,
    pub reason: String,
}

/// The cycle in flight.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InFlight {
    pub base: String,
    pub started_at: u64,
}

/// Everything the daemon keeps.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct State {
    pub version: u32,
    /// The base the last finished cycle proposed from.
    pub last_base: Option<String>,
    /// Bases waiting for a cycle (the newest wins; older ones are dropped as stale).
    pub queue: Vec<String>,
    pub in_flight: Option<InFlight>,
    /// The latest record per branch.
    pub proposals: Vec<ProposalRecord>,
    /// The most recent failures, newest last (at most 50).
    pub failures: Vec<FailureRecord>,
    /// Unix seconds at which the daemon created each of its branches (for the hourly limit).
    pub created: Vec<u64>,
    /// Findings in the working tree at the last analysis.
    pub findings: usize,
    pub updated_at: u64,
}

/// Unix seconds now.
pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl State {
    /// The state at `path`; an empty one when there is none or it cannot be read.
    pub fn load(path: &Path) -> State {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(State { version: 1, ..State::default() })
    }

    /// Write atomically: a temporary file beside it, synced, renamed over it.
    pub fn save(&mut self, path: &Path) -> std::io::Result<()> {
        self.updated_at = now();
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let tmp: PathBuf = path.with_extension(format!("json.tmp-{}", std::process::id()));
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        {
            use std::io::Write as _;
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    }

    /// Record a proposal, replacing the earlier record of its branch.
    pub fn record(&mut self, record: ProposalRecord) {
        self.proposals.retain(|p| p.branch != record.branch);
        self.proposals.push(record);
    }

    /// Record that `what` failed, and why.
    pub fn fail(&mut self, what: impl Into<String>, reason: impl Into<String>) {
        self.failures.push(FailureRecord { at: now(), what: what.into(), reason: reason.into() });
        let excess = self.failures.len().saturating_sub(50);
        self.failures.drain(..excess);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_atomically_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.json");
        assert_eq!(State::load(&path).version, 1, "nothing there: a fresh state");
        let mut state = State::load(&path);
        state.last_base = Some("abc".into());
        state.fail("cycle", "boom");
        state.save(&path).unwrap();
        let back = State::load(&path);
        assert_eq!(back.last_base.as_deref(), Some("abc"));
        assert_eq!(back.failures.len(), 1);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left: {leftovers:?}");
        std::fs::write(&path, "{ half a fi").unwrap();
        assert_eq!(State::load(&path).version, 1, "an unreadable state starts afresh");
    }
}
