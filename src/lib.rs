//! refactor-async: find synchronous, I/O-bound Python code and turn it into
//! correct, faster async/await code.
//!
//! The modules follow the pipeline of DESIGN.md: [`analysis`] (parse, index,
//! catalog, call graph, findings), then the edges: [`config`], [`output`], [`cli`].

pub mod alloc;
pub mod analysis;
pub mod cancel;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod draft;
pub mod event;
pub mod git;
pub mod llm;
pub mod output;
pub mod pipeline;
pub mod plan;
pub mod process;
pub mod propose;
pub mod validate;
