//! The repair stage: a single-plan candidate that failed validation goes back
//! to the LLM with the failing check's output, and the new draft is validated
//! again, up to `[llm] repair_attempts` times, stopping early when a check
//! fails the same way twice in a row. Needs an LLM; without one nothing happens.

use super::Context;
use super::group::{self, Candidate};
use super::llm::{LlmDraft, LlmDrafter};
use super::validation::{Validation, Validator};
use crate::draft::diff::{self, FileChange};
use crate::event::Event;
use crate::git::commit;
use crate::llm::drafter::{self as llm_drafter, Accepted, Failure};
use crate::llm::run::LlmRun;
use crate::plan::Plan;
use crate::propose::{DiffStat, ProposeError};
use crate::validate::Check;
use crate::validate::schedule::RunRecord;

/// Repair every candidate that failed validation alone, when an LLM is configured.
pub fn repair(
    cx: &Context<'_, '_>,
    drafter: &LlmDrafter,
    validator: &Validator<'_>,
    candidates: &mut [Candidate],
    validation: &mut Validation,
    llm: &mut LlmDraft,
    plans: &[Plan],
) -> Result<(), ProposeError> {
    let Some(run) = &drafter.run else { return Ok(()) };
    let pending = validation.pending.clone();
    for (k, &i) in pending.iter().enumerate() {
        if validation.schedule.passed(k) || candidates[i].plans.len() != 1 {
            continue;
        }
        let Some(r) = validation.schedule.decided_by[k] else { continue };
        let failing = validation.schedule.runs[r].checks.iter().find(|c| !c.ok).cloned();
        let repair = Repair { cx, drafter, run, validator, plan: &plans[candidates[i].plans[0]], item: k };
        repair.attempts(&mut candidates[i], failing, validation, llm)?;
    }
    Ok(())
}

/// The repair of one candidate (`item`: its index among the validated ones).
struct Repair<'a, 'b, 'c> {
    cx: &'a Context<'b, 'c>,
    drafter: &'a LlmDrafter,
    run: &'a LlmRun,
    validator: &'a Validator<'a>,
    plan: &'a Plan,
    item: usize,
}

impl Repair<'_, '_, '_> {
    /// Ask for repairs until one passes validation or a reason to stop comes up.
    fn attempts(
        &self,
        candidate: &mut Candidate,
        mut failing: Option<Check>,
        validation: &mut Validation,
        llm: &mut LlmDraft,
    ) -> Result<(), ProposeError> {
        let label = &self.drafter.label;
        let mut previous = self.without_helper(&candidate.changes);
        let mut last_detail: Option<String> = None;
        for _ in 0..self.drafter.settings.repair_attempts {
            let Some(check) = failing.take() else { break };
            let detail = check.detail.clone().unwrap_or_default();
            if last_detail.as_deref() == Some(detail.as_str()) {
                let stuck = format!("repair stopped: `{}` failed the same way twice in a row", check.name);
                candidate.delivered.reasons.push(stuck);
                break;
            }
            last_detail = Some(detail.clone());
            self.cx.events.emit(Event::Repairing {
                branch: candidate.branch.clone(),
                llm: label.clone(),
                check: check.name.clone(),
            });
            let failure =
                Failure { stage: format!("`{}` failed during validation", check.name), error: detail, diff: previous };
            let Some((answer, changes)) = self.redraft(candidate, &failure, llm)? else { break };
            let results = self.revalidate(candidate, &changes, validation)?;
            failing = results.iter().find(|c| !c.ok).cloned();
            previous = self.without_helper(&changes);
            if failing.is_none() {
                llm.accepted.insert(candidate.plans[0], answer);
                self.accept(candidate, changes, llm)?;
                break;
            }
        }
        Ok(())
    }

    /// One repair by the LLM: its answer and changes; none (with the reason
    /// recorded) when it gave up or its answer cannot be put in place.
    fn redraft(
        &self,
        candidate: &mut Candidate,
        failure: &Failure,
        llm: &mut LlmDraft,
    ) -> Result<Option<(Accepted, Vec<FileChange>)>, ProposeError> {
        let label = &self.drafter.label;
        let context = self.drafter.context(self.cx);
        let outcome = self.run.repair(&context, self.plan, failure).map_err(|_| ProposeError::Cancelled)?;
        let answer = outcome.accepted.clone();
        if answer.is_none() {
            candidate.delivered.reasons.extend(outcome.reasons.iter().map(|r| format!("repair by {label}: {r}")));
        }
        llm.outcomes.push(outcome);
        let Some(answer) = answer else { return Ok(None) };
        match llm_drafter::compose(self.cx.model, &self.cx.setup.settings.plan, Vec::new(), &[&answer]) {
            Ok(changes) => Ok(Some((answer, changes))),
            Err(e) => {
                candidate.delivered.reasons.push(format!("repair by {label}: {e}"));
                Ok(None)
            }
        }
    }

    /// A validation run of the repaired draft, recorded as deciding the candidate.
    fn revalidate(
        &self,
        candidate: &Candidate,
        changes: &[FileChange],
        validation: &mut Validation,
    ) -> Result<Vec<Check>, ProposeError> {
        let schedule = &mut validation.schedule;
        let number = schedule.runs.iter().map(|r| r.number).max().unwrap_or(0) + 1;
        let label = format!("[run {number}: {} as repaired] ", candidate.branch);
        let results = self.validator.run(number, label, changes)?;
        let ok = results.iter().all(|c| c.ok);
        schedule.runs.push(RunRecord { number, items: vec![self.item], ok, checks: results.clone() });
        schedule.decided_by[self.item] = Some(schedule.runs.len() - 1);
        Ok(results)
    }

    /// The repaired draft passed: it becomes the candidate's.
    fn accept(&self, candidate: &mut Candidate, changes: Vec<FileChange>, llm: &LlmDraft) -> Result<(), ProposeError> {
        let label = &self.drafter.label;
        candidate.tree = commit::tree_with(&self.cx.prepared.repo.git, self.cx.prepared.base.oid, &changes)?;
        candidate.delivered.diff = diff::unified_diff(&changes);
        candidate.delivered.stat = DiffStat::of(&candidate.delivered.diff);
        candidate.delivered.drafter = label.clone();
        candidate.delivered.llm_usage = group::usage_of(&llm.outcomes, &[self.plan]);
        candidate.delivered.reasons.push(format!("repaired by {label} after validation failed"));
        candidate.changes = changes;
        Ok(())
    }

    /// A draft as the repair prompt shows it: without the helper module, which the model never edits.
    fn without_helper(&self, changes: &[FileChange]) -> String {
        let helper = format!("{}.py", self.cx.setup.settings.plan.helper_module);
        let shown: Vec<FileChange> = changes.iter().filter(|c| !c.path.ends_with(&helper)).cloned().collect();
        diff::unified_diff(&shown)
    }
}
