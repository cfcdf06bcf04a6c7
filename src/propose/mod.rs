//! `propose`: what it is asked ([`Options`]), what it produces ([`Proposal`] and
//! its branches, in [`outcome`]), the commit messages it writes ([`message`]) and
//! why it can fail ([`ProposeError`]).
//!
//! The work itself, analysis to commits, is [`crate::pipeline`], shared by the
//! command line and the daemon.

pub mod message;
pub mod outcome;

use std::path::PathBuf;

use crate::analysis::AnalysisError;
use crate::config::ConfigError;
use crate::git::GitError;
use crate::llm::client::LlmError;
use crate::llm::drafter::PromptError;
use crate::llm::settings::LlmSettingsError;
use crate::pipeline::setup::{Overrides, SetupError};
use crate::validate::{PreflightError, ValidateError};
pub use outcome::{BaseInfo, Delivered, DeliveryStatus, DiffStat, LlmReport, Proposal, PullRequest, PushResult};

/// Why a proposal could not be made at all (exit code 2, or 130 when cancelled).
#[derive(Debug, thiserror::Error)]
pub enum ProposeError {
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The configuration of the files on disk (a dry run).
    #[error(transparent)]
    Setup(#[from] SetupError),
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

    /// The configuration of the base commit's checkout could not be loaded. A
    /// full run has always said so in its own words, unlike a dry run (whose
    /// configuration the command line used to load): kept as they were.
    pub fn at_base(error: SetupError) -> ProposeError {
        match error {
            SetupError::Config(e) | SetupError::Settings(e) => ProposeError::Config(e),
            SetupError::Catalog(e) => ProposeError::Catalog(e),
            SetupError::Llm(e) => ProposeError::LlmSettings(e),
        }
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

/// Asked before each commit: is the base still what the user has? (The daemon's
/// way of never committing a draft of code that changed while it was validated.)
pub type StillCurrent = std::sync::Arc<dyn Fn() -> bool + Send + Sync>;

/// What `propose` was asked to do.
#[derive(Clone, Default)]
pub struct Options {
    /// Draft the files as they are on disk with the rules drafter, check the
    /// draft, and change nothing (`--dry-run`).
    pub dry_run: bool,
    /// The commit to start from (default HEAD).
    pub base: Option<String>,
    /// One branch with every plan, instead of a branch per plan.
    pub branch: Option<String>,
    /// Validation runs at once.
    pub jobs: usize,
    pub push: Option<String>,
    pub drafter: Drafter,
    /// `--no-cache` and the `--llm-*` flags.
    pub overrides: Overrides,
    /// At most this many new branches (the daemon's limits); existing ones are still updated.
    pub max_new_branches: Option<usize>,
    pub still_current: Option<StillCurrent>,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("dry_run", &self.dry_run)
            .field("base", &self.base)
            .field("branch", &self.branch)
            .field("jobs", &self.jobs)
            .field("push", &self.push)
            .field("drafter", &self.drafter)
            .field("overrides", &self.overrides)
            .field("max_new_branches", &self.max_new_branches)
            .finish_non_exhaustive()
    }
}

/// Which drafter writes the code (`--drafter`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Drafter {
    /// Rules first; the LLM for plans that need it and to repair failed drafts, when configured.
    #[default]
    Auto,
    /// Never call an LLM.
    Rules,
    /// Every plan through the LLM.
    Llm,
}
