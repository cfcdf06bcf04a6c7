//! The LLM-draft stage: plans the rules cannot carry out (`--drafter auto`), or
//! every plan (`--drafter llm`), go to the configured OpenAI-compatible endpoint;
//! each answer is checked and, when it passes, replaces the rules drafter's
//! part for its plan. Without an LLM, a note says what was left as it is.

use std::collections::BTreeMap;

use super::Context;
use crate::event::Event;
use crate::llm::drafter::{self as llm_drafter, Accepted, Outcome, Prompts};
use crate::llm::run::LlmRun;
use crate::llm::settings::LlmSettings;
use crate::plan::{Plan, PlanStatus};
use crate::propose::{Drafter as Choice, ProposeError};

/// The LLM drafter of a run: its settings, client and prompts (no client when
/// none is configured or `--drafter rules`). Also used to repair failed drafts.
pub struct LlmDrafter {
    pub settings: LlmSettings,
    pub run: Option<LlmRun>,
    pub prompts: Prompts,
    /// `llm:<model>`, as commits and reports name it.
    pub label: String,
}

impl std::fmt::Debug for LlmDrafter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmDrafter").field("label", &self.label).field("running", &self.run.is_some()).finish()
    }
}

impl LlmDrafter {
    /// Read `[llm]` (with the flags), start the client if one is wanted, read the prompts.
    pub fn start(cx: &Context<'_, '_>) -> Result<LlmDrafter, ProposeError> {
        let settings =
            super::setup::llm_settings(&cx.setup.config, &cx.options.overrides.llm).map_err(ProposeError::at_base)?;
        let run = match cx.options.drafter {
            Choice::Rules => None,
            _ if settings.configured() => Some(LlmRun::new(&settings).map_err(ProposeError::LlmClient)?),
            Choice::Llm => return Err(ProposeError::NoLlm),
            Choice::Auto => None,
        };
        let prompts = Prompts::load(&cx.root, &settings.prompts).map_err(ProposeError::Prompts)?;
        let label = format!("llm:{}", settings.model);
        Ok(LlmDrafter { settings, run, prompts, label })
    }

    /// What the LLM drafter reads besides the client.
    pub fn context<'a, 'c>(&'a self, cx: &'a Context<'a, 'c>) -> llm_drafter::Context<'a, 'c> {
        llm_drafter::Context {
            model: cx.model,
            config: &cx.setup.config,
            catalog: &cx.setup.catalog,
            settings: &cx.setup.settings.plan,
            llm: &self.settings,
            prompts: &self.prompts,
        }
    }
}

/// What the LLM drafted: its checked answers and every call it made.
#[derive(Debug, Clone, Default)]
pub struct LlmDraft {
    /// Plan index → the checked answer that carries it out.
    pub accepted: BTreeMap<usize, Accepted>,
    /// Per plan drafted or repaired: attempts, calls, tokens, and why it gave up.
    pub outcomes: Vec<Outcome>,
    /// Worth knowing: that no LLM drafted, and what that left undone.
    pub notes: Vec<String>,
}

/// Draft the plans the LLM is for; set each one's status from its outcome.
pub fn draft(cx: &Context<'_, '_>, drafter: &LlmDrafter, plans: &mut [Plan]) -> Result<LlmDraft, ProposeError> {
    let mut out = LlmDraft::default();
    let Some(run) = &drafter.run else {
        out.notes.extend(without_llm(cx.options.drafter, plans));
        return Ok(out);
    };
    let selected: Vec<usize> = (0..plans.len()).filter(|&i| wanted(cx.options.drafter, &plans[i])).collect();
    if selected.is_empty() {
        return Ok(out);
    }
    cx.events.emit(Event::DraftingWithLlm { plans: selected.len(), llm: drafter.label.clone() });
    let refs: Vec<&Plan> = selected.iter().map(|&i| &plans[i]).collect();
    let drafted = run.draft_all(&drafter.context(cx), &refs).map_err(|_| ProposeError::Cancelled)?;
    for (&i, outcome) in selected.iter().zip(drafted) {
        match &outcome.accepted {
            Some(a) => {
                out.accepted.insert(i, a.clone());
                plans[i].status = PlanStatus::Converted;
                plans[i].reasons.clear();
            }
            None => {
                plans[i].status = PlanStatus::Failed;
                plans[i].reasons.extend(outcome.reasons.iter().map(|r| format!("{}: {r}", drafter.label)));
            }
        }
        out.outcomes.push(outcome);
    }
    Ok(out)
}

/// Whether a plan goes to the LLM: the ones the rules cannot do, or with
/// `--drafter llm` every one that got as far as drafting.
fn wanted(choice: Choice, plan: &Plan) -> bool {
    match choice {
        Choice::Llm => matches!(plan.status, PlanStatus::Converted | PlanStatus::NeedsLlm | PlanStatus::Failed),
        _ => plan.status == PlanStatus::NeedsLlm,
    }
}

/// The note of a run without an LLM (none when there was nothing to draft).
fn without_llm(choice: Choice, plans: &[Plan]) -> Option<String> {
    if plans.is_empty() {
        return None;
    }
    let waiting = plans.iter().filter(|p| p.status == PlanStatus::NeedsLlm).count();
    let left =
        if waiting > 0 { format!("; {waiting} plan(s) that need an LLM were left as they are") } else { String::new() };
    Some(match choice {
        Choice::Rules => format!("--drafter rules: the rules drafter worked alone{left}"),
        _ => format!(
            "no LLM is configured ([llm] base_url and model): the rules drafter worked alone, and failed validations are not repaired{left}"
        ),
    })
}
