//! The validation stage: every pending candidate's draft applied in a fresh
//! worktree of the base commit and put through the repository's own checks,
//! together first and bisected on failure ([`crate::validate::schedule`]).

use std::path::{Path, PathBuf};

use git2::Oid;

use super::Context;
use super::group::{self, Candidate, Grouped};
use super::llm::LlmDraft;
use super::rules::RulesDraft;
use super::setup::{Delivering, Setup};
use crate::analysis::Model;
use crate::draft::{Draft, diff::FileChange};
use crate::event::{Event, Sink};
use crate::git::worktree::Worktree;
use crate::plan::Plan;
use crate::propose::ProposeError;
use crate::validate::schedule::{self, Schedule};
use crate::validate::{self, Check, ValidateError, ValidateSettings, hooks, verify};

/// Before any check runs, and only when some will: each configured program
/// exists and each `make` target is defined, or the run stops, naming it.
pub fn preflight(cx: &Context<'_, '_>, candidates: &[Candidate]) -> Result<(), ProposeError> {
    if candidates.iter().any(|c| c.pending) {
        validate::preflight(&cx.setup.settings.validate, &cx.root).map_err(ProposeError::Checks)?;
    }
    Ok(())
}

/// Makes validation runs: a worktree at the base, the draft written in, the checks.
pub struct Validator<'a> {
    common: &'a Path,
    base: Oid,
    hooks_dir: PathBuf,
    settings: &'a ValidateSettings,
    /// This run's logs, `.git/refactor-async/logs/<run id>/`.
    pub log_dir: PathBuf,
    events: &'a dyn Sink,
}

impl<'a> Validator<'a> {
    /// A validator logging to a new folder; older runs' logs beyond `keep_logs` go.
    pub fn new(cx: &'a Context<'_, '_>) -> Validator<'a> {
        let settings = &cx.setup.settings.validate;
        let log_dir = cx.prepared.common.join("refactor-async").join("logs").join(run_id());
        prune_logs(&log_dir, settings.keep_logs);
        Validator {
            common: &cx.prepared.common,
            base: cx.prepared.base.oid,
            hooks_dir: hooks::hooks_dir(&cx.prepared.repo),
            settings,
            log_dir,
            events: cx.events,
        }
    }

    /// Validation run `number` of `changes`, its progress labelled `label`.
    pub fn run(&self, number: usize, label: String, changes: &[FileChange]) -> Result<Vec<Check>, ValidateError> {
        let worktree = Worktree::create(self.common, self.base)?;
        validate::Run {
            hooks_dir: &self.hooks_dir,
            worktree: &worktree,
            settings: self.settings,
            log_dir: self.log_dir.join(format!("run-{number:02}")),
            label,
            events: self.events,
        }
        .validate(changes)
    }
}

/// The runs made, and which candidates they decided.
#[derive(Debug, Clone)]
pub struct Validation {
    /// Indexes of the candidates that were validated; the schedule counts in these.
    pub pending: Vec<usize>,
    pub schedule: Schedule,
    /// Where the runs' logs (and the pull-request descriptions) are.
    pub log_dir: PathBuf,
}

/// Validate what is not already on its branch: together first, bisecting on failure.
pub fn validate(
    cx: &Context<'_, '_>,
    validator: &Validator<'_>,
    grouped: &Grouped,
    rules: &RulesDraft,
    llm: &LlmDraft,
) -> Result<Validation, ProposeError> {
    let candidates = &grouped.candidates;
    let pending: Vec<usize> = (0..candidates.len()).filter(|&i| candidates[i].pending).collect();
    let settings = &cx.setup.settings.validate;
    if !pending.is_empty() {
        cx.events.emit(Event::Validating { proposals: pending.len(), commands: settings.commands.clone() });
    }
    let joint = JointRun { model: cx.model, setup: cx.setup, grouped, rules, llm, pending: &pending, validator };
    let schedule = schedule::validate_groups(pending.len(), cx.options.jobs.max(1), settings.joint, |number, m| {
        joint.validate(number, m)
    })?;
    Ok(Validation { pending, schedule, log_dir: validator.log_dir.clone() })
}

/// What one validation run of some pending candidates reads (shared by the
/// threads that make runs: the repository handle, not `Sync`, stays out).
struct JointRun<'a, 'c> {
    model: &'a Model<'c>,
    setup: &'a Setup<Delivering>,
    grouped: &'a Grouped,
    rules: &'a RulesDraft,
    llm: &'a LlmDraft,
    pending: &'a [usize],
    validator: &'a Validator<'a>,
}

impl JointRun<'_, '_> {
    /// Re-parse, re-analyse and check the drafts of `members` (indexes in `pending`) together.
    fn validate(&self, number: usize, members: &[usize]) -> Result<Vec<Check>, ValidateError> {
        let candidate = |m: usize| &self.grouped.candidates[self.pending[m]];
        let group: Vec<usize> = members.iter().flat_map(|&m| candidate(m).plans.iter().copied()).collect();
        let changes = if members.len() == 1 {
            candidate(members[0]).changes.clone()
        } else {
            let plan = &self.setup.settings.plan;
            match group::changes_of(self.model, plan, &self.rules.plans, &self.llm.accepted, &group) {
                Ok(changes) => changes,
                Err(e) => return Ok(vec![Check::internal("draft together", false, 0.0, Some(e.to_string()))]),
            }
        };
        let mut results = self.internal_checks(&group, &changes);
        if results.iter().any(|c| !c.ok) {
            return Ok(results);
        }
        let label = if members.len() == 1 {
            format!("[run {number}: {}] ", candidate(members[0]).branch)
        } else {
            format!("[run {number}: {} proposals together] ", members.len())
        };
        results.extend(self.validator.run(number, label, &changes)?);
        Ok(results)
    }

    /// Re-parse and re-analysis of exactly this draft (already done when it is the whole rules draft).
    fn internal_checks(&self, group: &[usize], changes: &[FileChange]) -> Vec<Check> {
        if group.len() == self.grouped.converted.len() && self.llm.accepted.is_empty() {
            return self.rules.checks.clone();
        }
        let owned: Vec<Plan> = group.iter().map(|&i| self.rules.plans[i].clone()).collect();
        let draft = Draft { changes: changes.to_vec(), notes: Vec::new(), kept: Vec::new() };
        verify::verify(self.model, &draft, &owned, &self.setup.config, &self.setup.catalog)
    }
}

/// A name for this run's log folder that sorts by time.
fn run_id() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    format!("{secs:012}-{}", std::process::id())
}

/// Keep the newest `keep` runs' logs (this run's included), removing older ones.
fn prune_logs(this_run: &Path, keep: usize) {
    let Some(dir) = this_run.parent() else { return };
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut runs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    runs.sort();
    let excess = (runs.len() + 1).saturating_sub(keep.max(1));
    for old in runs.into_iter().take(excess) {
        let _ = std::fs::remove_dir_all(old);
    }
}
