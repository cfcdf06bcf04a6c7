//! The rules-draft stage: plans from the analysis, every plan the rules drafter
//! can carry out drafted together, and that draft's re-parse and re-analysis
//! checks. A draft failing its checks marks its plans failed, with the reasons.

use crate::analysis::{Model, catalog::Catalog};
use crate::config::Config;
use crate::draft::{self, Draft};
use crate::plan::{self, NothingPlanned, Plan, PlanStatus, Settings};
use crate::validate::{Check, verify};

/// Plans, their joint rules draft, its checks, and notes.
#[derive(Debug, Clone)]
pub struct RulesDraft {
    /// Every plan, with its status: converted, needs an LLM, failed or skipped.
    pub plans: Vec<Plan>,
    pub draft: Draft,
    /// The draft's re-parse and re-analysis (none when nothing was drafted).
    pub checks: Vec<Check>,
    /// Worth knowing, not failures (a loop kept sequential, and why).
    pub notes: Vec<String>,
    /// When there is no plan: why not.
    pub nothing_planned: Option<NothingPlanned>,
}

/// Plan the conversion, draft every plan the rules can, and check the joint draft.
pub fn draft(model: &Model<'_>, config: &Config, catalog: &Catalog, settings: &Settings) -> RulesDraft {
    let mut plans = plan::build(model, settings);
    let nothing_planned = plans.is_empty().then(|| plan::nothing_planned(model, settings));
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
    RulesDraft { plans, draft: drafted, checks, notes, nothing_planned }
}
