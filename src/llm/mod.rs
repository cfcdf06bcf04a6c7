//! The LLM drafter's deterministic half: reading a model's answer, checking it
//! against the plan, and putting the checked code into the module. The network
//! half (the OpenAI-compatible client) is not built yet; nothing calls this from
//! the command line so far.

pub mod answer;
pub mod splice;
