//! `refactor-async status`: whether a daemon runs on the repository, its queue,
//! the cycle in flight, the proposals it made and its failures.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::daemon::state::{FailureRecord, InFlight, ProposalRecord, State};
use crate::daemon::{lock, paths};
use crate::git::{GitError, Repo};
use crate::process::process_alive;

/// What `status` reports (`--format json`).
#[derive(Debug, Serialize)]
pub struct Status {
    pub version: u32,
    pub root: std::path::PathBuf,
    pub daemon: Daemon,
    /// The commit the last finished cycle proposed from.
    pub last_base: Option<String>,
    pub queue: Vec<String>,
    pub in_flight: Option<InFlight>,
    pub findings: usize,
    pub proposals: Vec<ProposalRecord>,
    pub failures: Vec<FailureRecord>,
    /// Unix seconds of the state's last update (0: never).
    pub updated_at: u64,
}

/// Whether a daemon runs.
#[derive(Debug, Serialize)]
pub struct Daemon {
    pub running: bool,
    pub pid: Option<i32>,
}

impl Status {
    /// Read the repository's lock and state.
    pub fn read(path: &Path) -> Result<Status, GitError> {
        let repo = Repo::open(path)?;
        let (state_path, lock_path) = paths(&repo);
        let pid = lock::holder(&lock_path);
        let running = pid.is_some_and(process_alive);
        let state = State::load(&state_path);
        Ok(Status {
            version: 1,
            root: repo.workdir.clone(),
            daemon: Daemon { running, pid: pid.filter(|_| running) },
            last_base: state.last_base,
            queue: state.queue,
            in_flight: if running { state.in_flight } else { None },
            findings: state.findings,
            proposals: state.proposals,
            failures: state.failures,
            updated_at: state.updated_at,
        })
    }

    /// The status as one JSON document.
    pub fn json(&self) -> String {
        let mut out = serde_json::to_string_pretty(self).expect("status serialises");
        out.push('\n');
        out
    }

    /// The status for people.
    pub fn text(&self) -> String {
        let mut out = String::new();
        match (self.daemon.running, self.daemon.pid) {
            (true, Some(pid)) => {
                let _ = writeln!(out, "daemon: running (pid {pid}) on {}", self.root.display());
            }
            _ => {
                let _ = writeln!(out, "daemon: not running on {}", self.root.display());
            }
        }
        let _ = writeln!(out, "findings in the working tree: {}", self.findings);
        if let Some(base) = &self.last_base {
            let _ = writeln!(out, "last proposed from: {}", short(base));
        }
        match &self.in_flight {
            Some(f) => {
                let _ = writeln!(out, "in flight: a cycle on {} (started at {})", short(&f.base), f.started_at);
            }
            None => {
                let _ = writeln!(out, "in flight: nothing");
            }
        }
        let _ = writeln!(
            out,
            "queue: {}",
            if self.queue.is_empty() {
                "empty".to_string()
            } else {
                self.queue.iter().map(|b| short(b)).collect::<Vec<_>>().join(", ")
            }
        );
        let _ = writeln!(out, "proposals ({}):", self.proposals.len());
        for p in &self.proposals {
            let commit = p.commit.as_deref().map(short).unwrap_or_default();
            let _ = writeln!(
                out,
                "  {:<10} {} {commit} on {} (validated at {})",
                p.status,
                p.branch,
                short(&p.base),
                p.validated_at
            );
            for f in &p.functions {
                let _ = writeln!(out, "      {f}");
            }
            for r in &p.reasons {
                let _ = writeln!(out, "      {r}");
            }
        }
        if !self.failures.is_empty() {
            let _ = writeln!(out, "failures ({}):", self.failures.len());
            for f in &self.failures {
                let _ = writeln!(out, "  {} at {}: {}", f.what, f.at, f.reason);
            }
        }
        out
    }
}

fn short(oid: &str) -> &str {
    &oid[..oid.len().min(10)]
}
