//! `refactor-async daemon`: stay on a repository and keep proposing.
//!
//! File events (debounced, filtered) keep the working tree's findings current.
//! Proposals are made from commits, never from uncommitted work: whenever HEAD
//! moves to a commit no cycle has handled, that commit is queued, and one cycle at
//! a time runs the same pipeline as `propose` on it. A cycle whose base is no
//! longer HEAD when its drafts pass commits nothing (it is redone on the new
//! HEAD). State lives in `.git/refactor-async/daemon.json`, written atomically, so
//! a restart resumes the queue and makes no duplicate branch; one daemon per
//! repository holds `.git/refactor-async/daemon.lock`.

pub mod lock;
pub mod snapshot;
pub mod state;
pub mod watch;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::analysis;
use crate::config::{Config, ConfigError};
use crate::event::Event;
use crate::git::branch::{self, BranchState};
use crate::git::{GitError, Repo, worktree};
use crate::pipeline::{
    self,
    setup::{self, Overrides, Scope, Setup, SetupError},
};
use crate::propose::{self, DeliveryStatus, Proposal, ProposeError};
use lock::{Lock, LockError};
use state::{InFlight, ProposalRecord, State, now};

/// `[daemon]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonSettings {
    /// Milliseconds without a new event before a burst of changes is handled.
    pub debounce_ms: u64,
    /// Open proposal branches at most (the daemon's own).
    pub max_open_branches: usize,
    /// New branches per hour at most.
    pub max_new_branches_per_hour: usize,
    /// Validation runs at once.
    pub jobs: usize,
    /// `delete` or `keep` the tool's branches whose plans no longer apply.
    pub stale_branches: StaleBranches,
    /// `snapshot`: uncommitted work is proposed on a snapshot commit of it;
    /// `ignore`: only commits are proposed.
    pub uncommitted: Uncommitted,
}

/// What the daemon proposes from when the working tree has uncommitted changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Uncommitted {
    Snapshot,
    Ignore,
}

/// What happens to branches of plans that no longer apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StaleBranches {
    Delete,
    Keep,
}

/// Why the daemon could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot load the blocking-call catalog: {0}")]
    Catalog(#[source] ConfigError),
    /// Settings the daemon does not read itself (none today).
    #[error(transparent)]
    Setup(SetupError),
    #[error("the first analysis of the repository failed: {0}")]
    Analysis(#[from] crate::analysis::AnalysisError),
    #[error("cannot handle SIGINT and SIGTERM: {0}")]
    Signals(std::io::Error),
    #[error("cannot watch {path}: {message}")]
    Watch { path: PathBuf, message: String },
    #[error("cannot write the daemon's state to {path}: {source}")]
    State { path: PathBuf, source: std::io::Error },
}

impl Scope for DaemonSettings {
    fn read(config: &Config, _: &Overrides) -> Result<DaemonSettings, SetupError> {
        config.section("daemon").map_err(SetupError::Settings)
    }
}

impl DaemonError {
    /// The daemon's words for a configuration that cannot be loaded.
    fn setup(error: SetupError) -> DaemonError {
        match error {
            SetupError::Config(e) | SetupError::Settings(e) => DaemonError::Config(e),
            SetupError::Catalog(e) => DaemonError::Catalog(e),
            other => DaemonError::Setup(other),
        }
    }

    /// Whether the message already quotes the cause (kept as `source()`), so that
    /// it is not printed a second time under it.
    pub fn quotes_its_cause(&self) -> bool {
        matches!(self, DaemonError::Catalog(_))
    }
}

/// A cycle in flight: its thread, its base, and the tool's branches before it began.
type Cycle = (std::thread::JoinHandle<Result<Proposal, ProposeError>>, String, Vec<String>);

/// The state and lock files of a repository.
pub fn paths(repo: &Repo) -> (PathBuf, PathBuf) {
    let dir = repo.state_dir();
    (dir.join("daemon.json"), dir.join("daemon.lock"))
}

/// The commit HEAD names now, if any.
fn head_of(workdir: &Path) -> Option<String> {
    let git = git2::Repository::open(workdir).ok()?;
    let oid = git.head().ok()?.peel_to_commit().ok()?.id();
    Some(oid.to_string())
}

/// Run until SIGINT or SIGTERM.
pub fn run(path: &Path) -> Result<(), DaemonError> {
    // First of all, so that a stop request during start-up is a clean stop too.
    crate::cancel::install().map_err(DaemonError::Signals)?;
    let repo = Repo::open(path)?;
    repo.base(None)?;
    let (state_path, lock_path) = paths(&repo);
    let lock = Lock::acquire(&lock_path)?;
    if let Some(pid) = lock.took_over {
        tracing::warn!(pid, "took over the lock of a daemon that is no longer running");
    }
    let Setup { config, catalog, settings } =
        setup::load::<DaemonSettings>(&repo.workdir, &Overrides::default()).map_err(DaemonError::setup)?;
    let mut daemon = Daemon::resume(repo, state_path, settings);
    let watcher = watch::watch(&daemon.repo.workdir, daemon.repo.git.path(), daemon.debounce())
        .map_err(|e| DaemonError::Watch { path: daemon.repo.workdir.clone(), message: e.to_string() })?;
    tracing::info!(repo = %daemon.repo.workdir.display(), pid = std::process::id(), "daemon started");
    let started = Instant::now();
    let mut session = analysis::session::Session::start(&daemon.repo.workdir, &config, &catalog)?;
    daemon.state.findings = session.report().findings.len();
    tracing::info!(findings = daemon.state.findings, ms = started.elapsed().as_secs_f64() * 1000.0, "findings");
    daemon.enqueue_head();
    daemon.save()?;
    while !crate::cancel::requested() {
        match watcher.batches.recv_timeout(Duration::from_millis(100)) {
            Ok(batch) => daemon.changed(&batch, &mut session)?,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                let path = daemon.repo.workdir.clone();
                return Err(DaemonError::Watch { path, message: "the watcher stopped".into() });
            }
        }
        daemon.reap()?;
        daemon.start_cycle()?;
    }
    daemon.stop()?;
    drop(lock);
    tracing::info!("stopped");
    Ok(())
}

/// The daemon's repository, settings, persistent state and the cycle in flight.
struct Daemon {
    repo: Repo,
    state_path: PathBuf,
    settings: DaemonSettings,
    state: State,
    /// Bumped whenever something newer is queued: a cycle started at an older
    /// generation commits nothing.
    generation: Arc<AtomicU64>,
    running: Option<Cycle>,
}

impl Daemon {
    /// Load the state, requeue a cycle the last stop interrupted, remove stale worktrees.
    fn resume(repo: Repo, state_path: PathBuf, settings: DaemonSettings) -> Daemon {
        let mut state = State::load(&state_path);
        if let Some(interrupted) = state.in_flight.take() {
            tracing::info!(base = %interrupted.base, "a cycle was interrupted by the last stop; it is redone");
            state.queue.push(interrupted.base);
        }
        let removed = worktree::clean_stale(repo.git.commondir());
        if !removed.is_empty() {
            tracing::info!(count = removed.len(), "removed worktrees left behind by an earlier run");
        }
        Daemon { repo, state_path, settings, state, generation: Arc::new(AtomicU64::new(0)), running: None }
    }

    fn debounce(&self) -> Duration {
        Duration::from_millis(self.settings.debounce_ms)
    }

    fn save(&mut self) -> Result<(), DaemonError> {
        let path = &self.state_path;
        self.state.save(path).map_err(|source| DaemonError::State { path: path.clone(), source })
    }

    fn enqueue_head(&mut self) {
        let running = self.running.as_ref().map(|r| r.1.as_str());
        enqueue_head(&mut self.state, &self.repo.workdir, running, &self.settings, &self.generation);
    }

    /// A burst of file events: bring the findings up to date, queue HEAD if it is new.
    fn changed(
        &mut self,
        batch: &watch::Batch,
        session: &mut analysis::session::Session<'_>,
    ) -> Result<(), DaemonError> {
        tracing::info!(files = batch.paths.len(), head_moved = batch.git_moved, "changes");
        if batch.paths.iter().any(|p| p.extension().is_some_and(|e| e == "py")) {
            match session.update(&batch.paths) {
                Ok(update) => {
                    self.state.findings = session.report().findings.len();
                    tracing::info!(
                        findings = self.state.findings,
                        reparsed = update.reparsed,
                        incremental = update.incremental,
                        full = update.full,
                        ms = update.ms,
                        since_debounce_ms = batch.debounced_at.map(|t| t.elapsed().as_secs_f64() * 1000.0),
                        "findings updated"
                    );
                }
                Err(e) => self.state.fail("analysis", e.to_string()),
            }
        }
        self.enqueue_head();
        self.save()
    }

    /// Record the cycle in flight if it has finished.
    fn reap(&mut self) -> Result<(), DaemonError> {
        if !self.running.as_ref().is_some_and(|r| r.0.is_finished()) {
            return Ok(());
        }
        let (handle, base, existing) = self.running.take().expect("checked");
        let result = handle.join().unwrap_or_else(|_| Err(ProposeError::Panicked));
        finish_cycle(&mut self.state, &self.repo, &self.settings, &base, &existing, result);
        self.save()
    }

    /// With no cycle in flight, start one on the newest queued base.
    fn start_cycle(&mut self) -> Result<(), DaemonError> {
        if self.running.is_some() {
            return Ok(());
        }
        let Some(base) = self.state.queue.pop() else { return Ok(()) };
        // The newest base wins: older queued ones are already stale.
        self.state.queue.clear();
        let existing = own_branches(&self.repo);
        let limit = new_branch_allowance(&self.state, &self.settings, existing.len());
        tracing::info!(base = %base, new_branches_allowed = limit, "cycle started");
        self.state.in_flight = Some(InFlight { base: base.clone(), started_at: now() });
        self.save()?;
        // Current as long as nothing newer has been queued since the cycle began.
        let started_at = self.generation.load(Ordering::SeqCst);
        let generation = Arc::clone(&self.generation);
        let options = propose::Options {
            base: Some(base.clone()),
            jobs: self.settings.jobs.max(1),
            max_new_branches: Some(limit),
            still_current: Some(Arc::new(move || generation.load(Ordering::SeqCst) == started_at)),
            ..Default::default()
        };
        let workdir = self.repo.workdir.clone();
        let handle = std::thread::spawn(move || pipeline::run(&workdir, &options, &log_event));
        self.running = Some((handle, base, existing));
        Ok(())
    }

    /// Stopping: the cancellation flag is set, so the cycle's checks are killed and
    /// its worktrees removed; its base goes back to the queue for the next start.
    fn stop(&mut self) -> Result<(), DaemonError> {
        tracing::info!("stopping");
        if let Some((handle, base, _)) = self.running.take() {
            let deadline = Instant::now() + Duration::from_secs(4);
            while !handle.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if handle.is_finished() {
                let _ = handle.join();
            }
            self.state.queue.push(base);
        }
        self.state.in_flight = None;
        self.save()
    }
}

/// A cycle's progress, as debug log records (the daemon's default level shows
/// its own milestones only).
fn log_event(event: Event) {
    match event {
        Event::Analysing { .. } => tracing::debug!("analysing"),
        other => tracing::debug!(event = ?other, "cycle"),
    }
}

/// Queue what the user has now (HEAD, or a snapshot of uncommitted work on it)
/// when no cycle has handled it and none is handling it; bump `generation` so
/// that a cycle on an older base commits nothing.
fn enqueue_head(
    state: &mut State,
    workdir: &Path,
    running: Option<&str>,
    settings: &DaemonSettings,
    generation: &AtomicU64,
) {
    let current = match settings.uncommitted {
        Uncommitted::Snapshot => snapshot::base(workdir),
        Uncommitted::Ignore => head_of(workdir),
    };
    let Some(head) = current else { return };
    if state.last_base.as_deref() == Some(head.as_str())
        || running == Some(head.as_str())
        || state.queue.contains(&head)
    {
        return;
    }
    tracing::info!(base = %head, "queued");
    state.queue.push(head);
    generation.fetch_add(1, Ordering::SeqCst);
}

/// The tool's own branches (local).
fn own_branches(repo: &Repo) -> Vec<String> {
    let Ok(branches) = repo.git.branches(Some(git2::BranchType::Local)) else { return Vec::new() };
    branches
        .flatten()
        .filter_map(|(b, _)| {
            let name = b.name().ok().flatten()?.to_string();
            let tip = b.get().target()?;
            matches!(branch::classify(&repo.git, tip), BranchState::Ours { .. }).then_some(name)
        })
        .collect()
}

/// New branches the next cycle may create: what the open-branch and hourly limits leave.
fn new_branch_allowance(state: &State, settings: &DaemonSettings, open: usize) -> usize {
    let hour_ago = now().saturating_sub(3600);
    let recent = state.created.iter().filter(|&&t| t >= hour_ago).count();
    settings.max_open_branches.saturating_sub(open).min(settings.max_new_branches_per_hour.saturating_sub(recent))
}

/// Record a finished cycle: its proposals, failures, new branches, stale branches.
fn finish_cycle(
    state: &mut State,
    repo: &Repo,
    settings: &DaemonSettings,
    base: &str,
    existing: &[String],
    result: Result<Proposal, ProposeError>,
) {
    state.in_flight = None;
    let proposal = match result {
        Ok(p) => p,
        Err(ProposeError::Cancelled) => {
            state.queue.push(base.to_string());
            return;
        }
        Err(e) => {
            tracing::error!(base, error = %e, "cycle failed");
            state.fail(format!("cycle on {}", &base[..base.len().min(10)]), e.to_string());
            state.last_base = Some(base.to_string());
            return;
        }
    };
    let mut redo = false;
    for d in &proposal.proposals {
        let functions = proposal
            .plans
            .iter()
            .filter(|p| d.plans.contains(&p.id))
            .flat_map(|p| p.functions.iter().map(|f| f.qualname.clone()))
            .collect();
        let status =
            serde_json::to_value(d.status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        if d.status == DeliveryStatus::Skipped && d.reasons.iter().any(|r| r.contains("it will be redone")) {
            redo = true;
        }
        if d.status == DeliveryStatus::Failed {
            state.fail(d.branch.clone(), d.reasons.join("; "));
        }
        if d.status == DeliveryStatus::Committed && !existing.contains(&d.branch) {
            state.created.push(now());
        }
        tracing::info!(branch = %d.branch, status = %status, "proposal");
        state.record(ProposalRecord {
            branch: d.branch.clone(),
            plans: d.plans.clone(),
            functions,
            status,
            commit: d.commit.clone(),
            base: base.to_string(),
            validated_at: now(),
            reasons: d.reasons.clone(),
        });
    }
    state.created.retain(|&t| t >= now().saturating_sub(3600));
    if redo {
        // HEAD moved while this cycle ran: its newer base is queued already.
        return;
    }
    state.last_base = Some(base.to_string());
    prune_stale_branches(state, repo, settings, &proposal);
}

/// Branches of plans that no longer apply (converted by hand, or deleted):
/// deleted or kept, as `[daemon] stale_branches` says.
fn prune_stale_branches(state: &mut State, repo: &Repo, settings: &DaemonSettings, proposal: &Proposal) {
    let live: Vec<&str> = proposal.proposals.iter().map(|d| d.branch.as_str()).collect();
    for name in own_branches(repo) {
        if live.contains(&name.as_str()) || !name.starts_with("refactor-async/") {
            continue;
        }
        match settings.stale_branches {
            StaleBranches::Keep => {
                tracing::info!(branch = %name, "its plan no longer applies; kept (daemon.stale_branches = \"keep\")")
            }
            StaleBranches::Delete => {
                if let Ok(mut b) = repo.git.find_branch(&name, git2::BranchType::Local)
                    && b.delete().is_ok()
                {
                    tracing::info!(branch = %name, "its plan no longer applies; deleted");
                    state.proposals.retain(|p| p.branch != name);
                }
            }
        }
    }
}
