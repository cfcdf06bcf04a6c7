//! What a run reports while it works: progress as plain events, sent to a sink
//! that the caller passes in.
//!
//! The library never prints. The command line renders events as the progress
//! lines on standard error (`output::events`); the daemon turns them into log
//! records; tests can collect them. Validation runs on several threads at once,
//! so a sink is `Send + Sync`.

use std::sync::Arc;

use crate::analysis::Progress;

/// One step of a run worth telling someone about.
#[derive(Debug, Clone)]
pub enum Event {
    /// A full run starts from this commit (`base`: its short id).
    Proposing { base: String, summary: String },
    /// The analysis starts; `progress` counts its files as they are done.
    Analysing { progress: Arc<Progress> },
    /// The analysis ended, done or failed.
    Analysed,
    /// These many plans go to the LLM drafter, labelled `llm:<model>`.
    DraftingWithLlm { plans: usize, llm: String },
    /// Validation starts for these many proposals, with these commands.
    Validating { proposals: usize, commands: Vec<String> },
    /// A check starts in a validation run; `label` names the run (`[run 1: branch] `).
    CheckStarted { label: String, name: String },
    /// A check ended: how (`passed`, `failed with exit code 2`, ...) and how long it took.
    CheckFinished { label: String, name: String, ok: bool, summary: String, seconds: f64 },
    /// A proposal that failed `check` goes back to the LLM.
    Repairing { branch: String, llm: String, check: String },
    /// A committed branch is pushed.
    Pushing { branch: String, remote: String },
}

/// Where events go.
pub trait Sink: Send + Sync {
    /// Take one event; called from whichever thread the work runs on.
    fn emit(&self, event: Event);
}

impl<F: Fn(Event) + Send + Sync> Sink for F {
    fn emit(&self, event: Event) {
        self(event)
    }
}

/// A sink that drops every event (machine-readable output, tests).
pub struct Silent;

impl Sink for Silent {
    fn emit(&self, _: Event) {}
}
