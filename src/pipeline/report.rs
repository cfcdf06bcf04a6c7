//! The report stage: everything the earlier stages produced, as the
//! [`Proposal`] that `--format json` prints and the daemon records.

use super::Context;
use super::group::{self, Grouped};
use super::llm::{LlmDraft, LlmDrafter};
use super::rules::RulesDraft;
use super::validation::Validation;
use crate::analysis::Model;
use crate::draft::diff;
use crate::llm::client::CallUsage;
use crate::plan::PlanStatus;
use crate::propose::{BaseInfo, Delivered, DeliveryStatus, DiffStat, LlmReport, Proposal};

/// A dry run's proposal: the rules draft of the files on disk and its checks.
pub fn dry_run(model: &Model<'_>, rules: RulesDraft) -> Proposal {
    let RulesDraft { plans, draft, checks, mut notes, nothing_planned } = rules;
    if plans.iter().any(|p| p.status != PlanStatus::Planned) {
        notes.push("drafted by the rules drafter alone (--dry-run makes no LLM calls)".to_string());
    }
    let diff_text = diff::unified_diff(&draft.changes);
    Proposal {
        version: 1,
        root: model.report.root.clone(),
        dry_run: true,
        drafter: "rules".to_string(),
        branch: None,
        commit: None,
        stat: DiffStat::of(&diff_text),
        diff: diff_text,
        plans,
        nothing_planned,
        validation: checks,
        notes,
        base: None,
        proposals: Vec::new(),
        validation_runs: 0,
        log_dir: None,
        llm: None,
    }
}

/// A full run's proposal: its branches, its runs, and the whole change.
pub fn report(
    cx: &Context<'_, '_>,
    drafter: &LlmDrafter,
    rules: RulesDraft,
    llm: LlmDraft,
    grouped: Grouped,
    validation: Validation,
) -> Proposal {
    let settings = &cx.setup.settings.plan;
    // With the repairs' answers, which the grouping stage did not have yet.
    let whole =
        group::changes_of(cx.model, settings, &rules.plans, &llm.accepted, &grouped.converted).unwrap_or(grouped.whole);
    // The whole draft's own checks, then every command of every run.
    let mut checks = rules.checks;
    for run in &validation.schedule.runs {
        checks.extend(run.checks.iter().filter(|c| c.log.is_some()).cloned());
    }
    let proposals: Vec<Delivered> = grouped.candidates.into_iter().map(|c| c.delivered).collect();
    let first = proposals.iter().find(|d| matches!(d.status, DeliveryStatus::Committed | DeliveryStatus::UpToDate));
    let diff_text = diff::unified_diff(&whole);
    let notes = cx.prepared.notes.iter().chain(&rules.notes).chain(&llm.notes).cloned().collect();
    let runs = validation.schedule.runs.len();
    Proposal {
        version: 1,
        root: cx.prepared.repo.workdir.clone(),
        dry_run: false,
        drafter: group::drafter_of(&llm.accepted, &grouped.converted, &drafter.label),
        branch: first.map(|d| d.branch.clone()),
        commit: first.and_then(|d| d.commit.clone()),
        stat: DiffStat::of(&diff_text),
        diff: diff_text,
        plans: rules.plans,
        nothing_planned: rules.nothing_planned,
        validation: checks,
        notes,
        base: Some(BaseInfo { rev: cx.prepared.base.rev.clone(), commit: cx.prepared.base.oid.to_string() }),
        proposals,
        validation_runs: runs,
        llm: llm_report(drafter, llm),
        log_dir: (runs > 0).then_some(validation.log_dir),
    }
}

/// What the LLM did, when one was configured.
fn llm_report(drafter: &LlmDrafter, llm: LlmDraft) -> Option<LlmReport> {
    let run = drafter.run.as_ref()?;
    let mut usage = CallUsage::default();
    for o in &llm.outcomes {
        usage.add(&o.usage);
    }
    Some(LlmReport {
        model: drafter.settings.model.clone(),
        base_url: drafter.settings.base_url.clone(),
        usage,
        peak_in_flight: run.client.policy.peak_in_flight(),
        plans: llm.outcomes,
    })
}
