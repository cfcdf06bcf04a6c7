//! The LLM drafter: plans the rules drafter cannot carry out (and drafts that fail
//! validation) go to an OpenAI-compatible endpoint.
//!
//! - [`client`] and [`transport`]: async-openai over a tower service that limits
//!   requests in flight (one semaphore per provider), times out, and retries with
//!   backoff, jitter and `Retry-After`.
//! - [`drafter`]: the prompt, the repair loop, and composing accepted answers
//!   with the rules drafter's changes.
//! - [`answer`] and [`splice`]: the model's answer read tolerantly, checked
//!   against the plan, and put in place; nothing else of it is used.
//! - [`run`]: the runtime the synchronous pipeline drafts in, with cancellation.

pub mod answer;
pub mod client;
pub mod drafter;
pub mod run;
pub mod settings;
pub mod splice;
pub mod transport;
