//! `propose`: analysis → plans → drafts → checks → validation → commits, the
//! pipeline's one way through.
//!
//! [`dry_run`] drafts the files as they are on disk and changes nothing. [`run`]
//! works from a commit: it checks the base out into a temporary worktree, analyses
//! and drafts there, validates each proposal with the repository's own checks in
//! worktrees of their own, and commits the ones that pass on their branches. The
//! user's working tree, index, HEAD and branches are only ever read.

pub mod deliver;
pub mod message;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::analysis::{self, AnalysisError, Progress, catalog::Catalog};
use crate::config::{Config, ConfigError};
use crate::draft::{self, diff};
use crate::event::{Event, Sink};
use crate::git::GitError;
use crate::llm::client::LlmError;
use crate::llm::drafter::PromptError;
use crate::llm::settings::LlmSettingsError;
use crate::plan::{self, Plan, PlanStatus, Settings};
use crate::validate::{PreflightError, ValidateError, verify};
pub use deliver::{Delivered, DeliveryStatus, Drafter, LlmOverrides, LlmReport, Options, run};

/// Why a proposal could not be made at all (exit code 2, or 130 when cancelled).
#[derive(Debug, thiserror::Error)]
pub enum ProposeError {
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0} is not inside a git repository (propose works on git repositories)")]
    NotGit(PathBuf),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("cannot load the blocking-call catalog: {0}")]
    Catalog(#[source] ConfigError),
    #[error("--branch {0:?} is not a valid branch name")]
    BranchName(String),
    #[error("--push {0}: the repository has no remote named `{0}`")]
    NoRemote(String),
    /// The folder to convert does not exist in the base commit.
    #[error("{} is not in the base commit {base}", path.display())]
    NotInBase { path: PathBuf, base: String },
    /// A validation command cannot run in this repository.
    #[error("{0}")]
    Checks(#[source] PreflightError),
    /// `[llm]` out of range once the `--llm-*` flags are applied.
    #[error("[llm]: {0}")]
    LlmSettings(#[source] LlmSettingsError),
    #[error("{0}")]
    LlmClient(#[source] LlmError),
    #[error("{0}")]
    Prompts(#[source] PromptError),
    #[error("--drafter llm needs an LLM: set [llm] base_url and model (or --llm-base-url and --llm-model)")]
    NoLlm,
    /// The thread running the pipeline panicked (the daemon's cycles).
    #[error("the cycle panicked")]
    Panicked,
    #[error("cancelled; the worktrees were removed and nothing was committed")]
    Cancelled,
    #[error(transparent)]
    Validate(ValidateError),
}

impl ProposeError {
    /// Whether the message already quotes the cause (kept as `source()` for
    /// callers), so that the cause is not printed a second time under it.
    pub fn quotes_its_cause(&self) -> bool {
        matches!(
            self,
            ProposeError::Catalog(_)
                | ProposeError::Checks(_)
                | ProposeError::LlmSettings(_)
                | ProposeError::LlmClient(_)
                | ProposeError::Prompts(_)
        )
    }
}

impl From<ValidateError> for ProposeError {
    fn from(error: ValidateError) -> Self {
        match error {
            ValidateError::Cancelled => ProposeError::Cancelled,
            ValidateError::Git(e) => ProposeError::Git(e),
            other => ProposeError::Validate(other),
        }
    }
}

/// Line counts of a diff.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DiffStat {
    pub files: usize,
    pub insertions: usize,
    pub deletions: usize,
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
    /// Checks run on the draft and validation commands, with their results and durations.
    pub validation: Vec<crate::validate::Check>,
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

/// Plans, their joint draft, its re-parse and re-analysis checks, and notes.
pub struct Drafted {
    pub plans: Vec<Plan>,
    pub draft: draft::Draft,
    pub checks: Vec<crate::validate::Check>,
    pub notes: Vec<String>,
}

/// Plan the conversion, draft every plan the rules can, and check the joint draft;
/// a draft failing its checks marks its plans failed, with the reasons.
pub fn plan_and_draft(model: &analysis::Model<'_>, config: &Config, catalog: &Catalog, settings: &Settings) -> Drafted {
    let mut plans = plan::build(model, &config.analysis, settings);
    let drafted = draft::draft_plans(model, &mut plans, settings);
    let mut checks = Vec::new();
    if !drafted.changes.is_empty() {
        checks = verify::verify(model, &drafted, &plans, config, catalog);
        if checks.iter().any(|c| !c.ok) {
            for plan in plans.iter_mut().filter(|p| p.status == PlanStatus::Converted) {
                plan.status = PlanStatus::Failed;
                plan.reasons = checks.iter().filter(|c| !c.ok).filter_map(|c| c.detail.clone()).collect();
            }
        }
    }
    let notes = drafted.notes.clone();
    Drafted { plans, draft: drafted, checks, notes }
}

/// Analyse `path`, telling `events` when it starts and ends (the progress display).
pub fn analyse<'c>(
    path: &Path,
    config: &Config,
    catalog: &'c Catalog,
    events: &dyn Sink,
) -> Result<analysis::Model<'c>, AnalysisError> {
    let progress = Arc::new(Progress::default());
    events.emit(Event::Analysing { progress: Arc::clone(&progress) });
    let model = analysis::analyze_model(path, config, catalog, &progress);
    events.emit(Event::Analysed);
    model
}

/// Analyse, plan, draft with the rules drafter and check the draft; changes nothing on disk.
pub fn dry_run(path: &Path, config: &Config, catalog: &Catalog, events: &dyn Sink) -> Result<Proposal, ProposeError> {
    let (_, root) = analysis::locate(path)?;
    if !root.join(".git").exists() {
        return Err(ProposeError::NotGit(path.to_path_buf()));
    }
    let settings = Settings::from_config(config)?;
    let model = analyse(path, config, catalog, events)?;
    let Drafted { plans, draft: drafted, checks: validation, mut notes } =
        plan_and_draft(&model, config, catalog, &settings);
    if plans.iter().any(|p| p.status != PlanStatus::Planned) {
        notes.push("drafted by the rules drafter alone (--dry-run makes no LLM calls)".to_string());
    }
    let diff_text = diff::unified_diff(&drafted.changes);
    let (files, insertions, deletions) = diff::stat(&diff_text);
    Ok(Proposal {
        version: 1,
        root: model.report.root.clone(),
        dry_run: true,
        drafter: "rules".to_string(),
        branch: None,
        commit: None,
        diff: diff_text,
        stat: DiffStat { files, insertions, deletions },
        plans,
        validation,
        notes,
        base: None,
        proposals: Vec::new(),
        validation_runs: 0,
        log_dir: None,
        llm: None,
    })
}
