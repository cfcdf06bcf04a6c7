//! What `propose` produces: the proposal as `--format json` prints it, one
//! entry per branch, and what happened to each. Plain data, filled in by the
//! pipeline's stages and rendered by `output::proposal`.

use std::path::PathBuf;

use serde::Serialize;

use crate::llm::client::CallUsage;
use crate::llm::drafter::Outcome;
use crate::plan::{NothingPlanned, Plan, PlanStatus};
use crate::validate::Check;

/// Line counts of a diff.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DiffStat {
    pub files: usize,
    pub insertions: usize,
    pub deletions: usize,
}

impl DiffStat {
    /// The line counts of a unified diff.
    pub fn of(diff: &str) -> DiffStat {
        let (files, insertions, deletions) = crate::draft::diff::stat(diff);
        DiffStat { files, insertions, deletions }
    }
}

/// The outcome of `propose`, as `--format json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Proposal {
    pub version: u32,
    pub root: PathBuf,
    pub dry_run: bool,
    /// The drafter that produced the diff.
    pub drafter: String,
    /// Null with `--dry-run` or on failure.
    pub branch: Option<String>,
    pub commit: Option<String>,
    /// The whole change as a unified diff `git apply` accepts.
    pub diff: String,
    pub stat: DiffStat,
    pub plans: Vec<Plan>,
    /// When there is no plan: why not (absent when there are plans).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nothing_planned: Option<NothingPlanned>,
    /// Checks run on the draft and validation commands, with their results and durations.
    pub validation: Vec<Check>,
    /// Worth knowing, not failures (loops kept sequential, no LLM configured).
    pub notes: Vec<String>,
    /// The commit proposals start from (null with `--dry-run`).
    pub base: Option<BaseInfo>,
    /// One entry per branch: each independent conversion, or all of them with `--branch`.
    pub proposals: Vec<Delivered>,
    /// How many validation runs (worktrees running the repository's checks) were needed.
    pub validation_runs: usize,
    /// Where this run's logs and pull-request descriptions are.
    pub log_dir: Option<PathBuf>,
    /// What the LLM drafter did: calls, tokens, retries, time (null when no LLM ran).
    pub llm: Option<LlmReport>,
}

/// The base commit, for the JSON output.
#[derive(Debug, Clone, Serialize)]
pub struct BaseInfo {
    pub rev: String,
    pub commit: String,
}

impl Proposal {
    /// Whether something acceptable came out. Dry run: at least one plan converted
    /// and every check passed. Otherwise: a branch was delivered (committed or
    /// already up to date), or nothing failed (every proposal was left alone
    /// because someone else owns its branch); and every push asked for went through.
    pub fn succeeded(&self) -> bool {
        if self.dry_run {
            return self.plans.iter().any(|p| p.status == PlanStatus::Converted)
                && self.validation.iter().all(|c| c.ok);
        }
        let delivered =
            self.proposals.iter().any(|p| matches!(p.status, DeliveryStatus::Committed | DeliveryStatus::UpToDate));
        let failed = self.proposals.iter().any(|p| p.status == DeliveryStatus::Failed)
            || self.plans.iter().any(|p| matches!(p.status, PlanStatus::Failed | PlanStatus::NeedsLlm));
        let push_failed = self.proposals.iter().any(|p| p.push.as_ref().is_some_and(|push| !push.ok));
        !push_failed && (delivered || (!self.proposals.is_empty() && !failed))
    }
}

/// What the LLM did in a run, for `--format json`.
#[derive(Debug, Clone, Serialize)]
pub struct LlmReport {
    pub model: String,
    pub base_url: String,
    /// Every call of every plan, together.
    pub usage: CallUsage,
    /// The most requests in flight at once.
    pub peak_in_flight: usize,
    /// Per plan (drafts and repairs): attempts, calls, tokens, retries, time, and why it gave up.
    pub plans: Vec<Outcome>,
}

/// What happened to a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryStatus {
    /// Validated and committed on its branch.
    Committed,
    /// Its branch already holds this very change on this base: nothing to do.
    UpToDate,
    /// A check failed; nothing was committed.
    Failed,
    /// Left alone: its branch belongs to someone else.
    Skipped,
}

/// A proposal: one branch, one commit.
#[derive(Debug, Clone, Serialize)]
pub struct Delivered {
    pub branch: String,
    pub status: DeliveryStatus,
    pub title: String,
    /// The ids of the plans it carries out.
    pub plans: Vec<String>,
    pub commit: Option<String>,
    /// Why it failed or was skipped; what happened to its branch.
    pub reasons: Vec<String>,
    pub diff: String,
    pub stat: DiffStat,
    /// The checks of the run that decided it.
    pub validation: Vec<Check>,
    /// How many proposals that run validated together (1: alone).
    pub validated_with: usize,
    /// The number of that run.
    pub run: Option<usize>,
    pub pull_request: Option<PullRequest>,
    pub push: Option<PushResult>,
    /// `rules`, `llm:<model>`, or `rules+llm:<model>` when both drafted parts of it.
    pub drafter: String,
    /// The LLM calls that drafted it, together (absent for the rules drafter).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm_usage: Option<CallUsage>,
}

impl Delivered {
    /// A proposal on `branch` of `diff`, `Failed` until it passes validation, drafted
    /// by the rules until an LLM answer says otherwise.
    pub fn unvalidated(branch: &str, title: String, plans: Vec<String>, diff: String) -> Delivered {
        Delivered {
            branch: branch.to_string(),
            status: DeliveryStatus::Failed,
            title,
            plans,
            commit: None,
            reasons: Vec::new(),
            stat: DiffStat::of(&diff),
            diff,
            validation: Vec::new(),
            validated_with: 0,
            run: None,
            pull_request: None,
            push: None,
            drafter: "rules".to_string(),
            llm_usage: None,
        }
    }
}

/// A pull-request description, also written to `path`.
#[derive(Debug, Clone, Serialize)]
pub struct PullRequest {
    pub title: String,
    pub body: String,
    pub path: PathBuf,
}

/// How a push went.
#[derive(Debug, Clone, Serialize)]
pub struct PushResult {
    pub remote: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
