//! Running the LLM drafter from the synchronous pipeline: a small tokio runtime,
//! every plan drafted concurrently (the provider's semaphore limits requests),
//! and Ctrl-C or SIGTERM dropping every in-flight request within a tenth of a second.

use std::future::Future;
use std::time::Duration;

use super::client::{LlmClient, LlmError};
use super::drafter::{self, Context, Failure, Outcome};
use crate::plan::Plan;

/// The work was cancelled by the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

/// An LLM provider ready to draft.
pub struct LlmRun {
    pub client: LlmClient,
    runtime: tokio::runtime::Runtime,
}

impl LlmRun {
    /// Start the runtime and the client for `settings`.
    pub fn new(settings: &super::settings::LlmSettings) -> Result<LlmRun, LlmError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(LlmError::Runtime)?;
        // reqwest's client needs the runtime's context to be built in.
        let client = {
            let _guard = runtime.enter();
            LlmClient::new(settings)?
        };
        Ok(LlmRun { client, runtime })
    }

    /// Run `work`, or stop it (dropping its requests) when the user cancels.
    fn block_on<T>(&self, work: impl Future<Output = T>) -> Result<T, Cancelled> {
        self.runtime.block_on(async {
            tokio::select! {
                out = work => Ok(out),
                _ = cancelled() => Err(Cancelled),
            }
        })
    }

    /// Run these futures concurrently to completion (the benchmark's entry point).
    pub fn block_on_all<F: Future>(&self, work: impl IntoIterator<Item = F>) -> Vec<F::Output> {
        self.runtime.block_on(futures_util::future::join_all(work))
    }

    /// Draft every plan, concurrently.
    pub fn draft_all(&self, ctx: &Context<'_, '_>, plans: &[&Plan]) -> Result<Vec<Outcome>, Cancelled> {
        let client = &self.client;
        self.block_on(futures_util::future::join_all(
            plans.iter().map(|plan| drafter::draft_plan(client, ctx, plan, None)),
        ))
    }

    /// Draft `plan` again, starting from a draft that failed validation.
    pub fn repair(&self, ctx: &Context<'_, '_>, plan: &Plan, failure: &Failure) -> Result<Outcome, Cancelled> {
        self.block_on(drafter::draft_plan(&self.client, ctx, plan, Some(failure)))
    }
}

/// Resolves once the user has asked to stop.
async fn cancelled() {
    while !crate::cancel::requested() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
