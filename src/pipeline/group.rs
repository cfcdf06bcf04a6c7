//! The grouping stage: converted plans become candidate proposals, one branch
//! each (or one with all of them on `--branch`), each with its changes, its
//! tree on the base commit, and what its branch holds now: absent or the tool's
//! own (to be validated), already up to date, or someone else's (left alone).

use std::collections::BTreeMap;

use git2::Oid;

use super::Context;
use super::llm::LlmDraft;
use crate::analysis::Model;
use crate::draft::{self, Refusal, diff::FileChange};
use crate::git::branch::{self, BranchState};
use crate::git::commit;
use crate::llm::client::CallUsage;
use crate::llm::drafter::{self as llm_drafter, Accepted, ComposeError, Outcome};
use crate::plan::{self, Plan, PlanStatus, Settings};
use crate::propose::{Delivered, DeliveryStatus, ProposeError, message};

/// A proposal before validation.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Indexes of the plans it carries out.
    pub plans: Vec<usize>,
    pub branch: String,
    pub changes: Vec<FileChange>,
    /// The base commit's tree with the changes.
    pub tree: Oid,
    /// The branch tip it may replace (the tool's own commit), if any.
    pub expected: Option<Oid>,
    /// Still to be validated (not up to date, not someone else's branch).
    pub pending: bool,
    /// What the report will say of it; `Failed` until validation passes.
    pub delivered: Delivered,
}

/// The candidates, and the changes of every converted plan together.
#[derive(Debug, Clone)]
pub struct Grouped {
    /// Indexes of the plans converted by a drafter.
    pub converted: Vec<usize>,
    /// All converted plans' changes (the whole diff of the report).
    pub whole: Vec<FileChange>,
    pub candidates: Vec<Candidate>,
}

/// Why the changes of a set of plans could not be drafted together.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    /// The rules drafter's reasons.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Rules(Vec<Refusal>),
    #[error(transparent)]
    Compose(#[from] ComposeError),
}

impl GroupError {
    /// The reasons, one per line of a plan's report.
    pub fn reasons(&self) -> Vec<String> {
        match self {
            GroupError::Rules(refusals) => refusals.iter().map(ToString::to_string).collect(),
            GroupError::Compose(e) => vec![e.to_string()],
        }
    }
}

/// One candidate per converted plan, or one for them all with `--branch`; a
/// group that cannot be drafted together marks its plans failed.
pub fn group(cx: &Context<'_, '_>, plans: &mut [Plan], llm: &LlmDraft, label: &str) -> Result<Grouped, ProposeError> {
    let settings = &cx.setup.settings.plan;
    let converted: Vec<usize> = (0..plans.len()).filter(|&i| plans[i].status == PlanStatus::Converted).collect();
    let whole = changes_of(cx.model, settings, plans, &llm.accepted, &converted).unwrap_or_default();
    let groups: Vec<Vec<usize>> = match &cx.options.branch {
        Some(_) if !converted.is_empty() => vec![converted.clone()],
        Some(_) => Vec::new(),
        None => converted.iter().map(|&i| vec![i]).collect(),
    };
    let mut candidates: Vec<Candidate> = Vec::new();
    for group in groups {
        let changes = match changes_of(cx.model, settings, plans, &llm.accepted, &group) {
            Ok(changes) => changes,
            Err(e) => {
                for &i in &group {
                    plans[i].status = PlanStatus::Failed;
                    plans[i].reasons = e.reasons();
                }
                continue;
            }
        };
        let refs: Vec<&Plan> = group.iter().map(|&i| &plans[i]).collect();
        let name = match &cx.options.branch {
            Some(name) => name.clone(),
            // Not a name an earlier candidate of this run took.
            None => plan::unique_name(&format!("{}{}", cx.setup.settings.git.branch_prefix, refs[0].id), |name| {
                candidates.iter().any(|c: &Candidate| c.branch == name)
            }),
        };
        let mut candidate = candidate(cx, &refs, group.clone(), name, changes)?;
        candidate.delivered.drafter = drafter_of(&llm.accepted, &group, label);
        candidate.delivered.llm_usage = usage_of(&llm.outcomes, &refs);
        candidates.push(candidate);
    }
    Ok(Grouped { converted, whole, candidates })
}

/// The changes of a set of plans: the rules drafter's for its plans, then the
/// LLM's accepted answers spliced on top.
pub fn changes_of(
    model: &Model<'_>,
    settings: &Settings,
    plans: &[Plan],
    accepted: &BTreeMap<usize, Accepted>,
    group: &[usize],
) -> Result<Vec<FileChange>, GroupError> {
    let rules: Vec<&Plan> = group.iter().filter(|i| !accepted.contains_key(i)).map(|&i| &plans[i]).collect();
    let base = if rules.is_empty() {
        Vec::new()
    } else {
        draft::draft(model, &rules, settings).map_err(GroupError::Rules)?.changes
    };
    let llm: Vec<&Accepted> = group.iter().filter_map(|i| accepted.get(i)).collect();
    if llm.is_empty() { Ok(base) } else { Ok(llm_drafter::compose(model, settings, base, &llm)?) }
}

/// Who drafted a set of plans: `rules`, `llm:<model>`, or `rules+llm:<model>`.
pub fn drafter_of(accepted: &BTreeMap<usize, Accepted>, group: &[usize], label: &str) -> String {
    let llm = group.iter().filter(|i| accepted.contains_key(i)).count();
    match (llm, group.len() - llm) {
        (0, _) => "rules".to_string(),
        (_, 0) => label.to_string(),
        _ => format!("rules+{label}"),
    }
}

/// The LLM calls that drafted these plans, together; none when the LLM drafted none of them.
pub fn usage_of(outcomes: &[Outcome], plans: &[&Plan]) -> Option<CallUsage> {
    let mut total = CallUsage::default();
    for o in outcomes.iter().filter(|o| plans.iter().any(|p| p.id == o.plan)) {
        total.add(&o.usage);
    }
    (total.calls > 0).then_some(total)
}

/// A candidate for `plans` on branch `name`, `Failed` until it passes validation.
fn candidate(
    cx: &Context<'_, '_>,
    plans: &[&Plan],
    group: Vec<usize>,
    name: String,
    changes: Vec<FileChange>,
) -> Result<Candidate, ProposeError> {
    let base = &cx.prepared.base;
    let tree = commit::tree_with(&cx.prepared.repo.git, base.oid, &changes)?;
    let plan_ids = plans.iter().map(|p| p.id.clone()).collect();
    let diff_text = draft::diff::unified_diff(&changes);
    let mut delivered = Delivered::unvalidated(&name, message::title(plans), plan_ids, diff_text);
    let expected = ownership(cx, &name, tree, &mut delivered);
    let pending = delivered.status == DeliveryStatus::Failed;
    Ok(Candidate { plans: group, branch: name, changes, tree, expected, pending, delivered })
}

/// What branch `name` holds, said in `delivered`: up to date, someone else's
/// (skipped), or the tool's own to replace (its tip returned).
fn ownership(cx: &Context<'_, '_>, name: &str, tree: Oid, delivered: &mut Delivered) -> Option<Oid> {
    let (git, base) = (&cx.prepared.repo.git, &cx.prepared.base);
    match branch::state(git, name) {
        BranchState::Absent => None,
        BranchState::Ours { tip, parent, .. } => {
            let same_tree = git.find_commit(tip).is_ok_and(|c| c.tree_id() == tree);
            if parent == Some(base.oid) && same_tree {
                delivered.status = DeliveryStatus::UpToDate;
                delivered.commit = Some(tip.to_string());
                delivered.reasons.push(format!("{name} already holds this change on {}", base.short()));
                return None;
            }
            delivered.reasons.push(if parent == Some(base.oid) {
                format!("{name} is refactor-async's own branch; its commit is replaced by the new draft")
            } else {
                format!("{name} is refactor-async's own branch on an older base; it is rebuilt on {}", base.short())
            });
            Some(tip)
        }
        BranchState::Extended { theirs, .. } => {
            delivered.status = DeliveryStatus::Skipped;
            delivered.reasons.push(format!(
                "{name} has {theirs} commit{} made by someone else on top of refactor-async's; it is no longer rewritten",
                if theirs == 1 { "" } else { "s" }
            ));
            None
        }
        BranchState::Foreign { .. } => {
            delivered.status = DeliveryStatus::Skipped;
            delivered.reasons.push(format!(
                "branch {name} exists and was not made by refactor-async; it is left alone (choose another name with --branch)"
            ));
            None
        }
    }
}
