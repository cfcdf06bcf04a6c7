//! `propose`: analysis → plans → drafts → checks, the pipeline's one way through.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::analysis::{self, AnalysisError, Progress, catalog::Catalog};
use crate::config::{Config, ConfigError};
use crate::draft::{self, diff, verify};
use crate::plan::{self, Plan, PlanStatus, Settings};

/// Why a proposal could not be made at all.
#[derive(Debug, thiserror::Error)]
pub enum ProposeError {
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0} is not inside a git repository (propose works on git repositories)")]
    NotGit(PathBuf),
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
    /// Checks run on the draft, with their results and durations.
    pub validation: Vec<verify::Check>,
    /// Worth knowing, not failures (loops kept sequential, no LLM configured).
    pub notes: Vec<String>,
}

impl Proposal {
    /// Whether something acceptable came out: at least one plan converted and every check passed.
    pub fn succeeded(&self) -> bool {
        self.plans.iter().any(|p| p.status == PlanStatus::Converted) && self.validation.iter().all(|c| c.ok)
    }
}

/// Analyse, plan, draft with the rules drafter and check the draft; changes nothing on disk.
pub fn dry_run(path: &Path, config: &Config, catalog: &Catalog, progress: &Progress) -> Result<Proposal, ProposeError> {
    let (_, root) = analysis::locate(path)?;
    if !root.join(".git").exists() {
        return Err(ProposeError::NotGit(path.to_path_buf()));
    }
    let settings = Settings::from_config(config)?;
    let model = analysis::analyze_model(path, config, catalog, progress)?;
    let mut plans = plan::build(&model, &config.analysis, &settings);
    let drafted = draft::draft_plans(&model, &mut plans, &settings);
    let mut validation = Vec::new();
    if !drafted.changes.is_empty() {
        validation = verify::verify(&model, &drafted, &plans, config, catalog);
        if validation.iter().any(|c| !c.ok) {
            for plan in plans.iter_mut().filter(|p| p.status == PlanStatus::Converted) {
                plan.status = PlanStatus::Failed;
                plan.reasons = validation.iter().filter(|c| !c.ok).filter_map(|c| c.detail.clone()).collect();
            }
        }
    }
    let diff_text = diff::unified_diff(&drafted.changes);
    let (files, insertions, deletions) = diff::stat(&diff_text);
    let mut notes = drafted.notes;
    if plans.iter().any(|p| p.status != PlanStatus::Planned) {
        notes.push("drafted by the rules drafter; no LLM drafter is configured".to_string());
    }
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
    })
}
