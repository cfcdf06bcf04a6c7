//! refactor-async: find synchronous, I/O-bound Python code and turn it into
//! correct, faster async/await code, and deliver it as validated git branches.
//!
//! The modules follow the pipeline of DESIGN.md:
//!
//! - [`analysis`]: parse, index, catalog, call graph, findings (and the daemon's
//!   incremental session); [`plan`]: conversion plans from the analysis.
//! - [`draft`]: the rules drafter (edits, rewrites, diffs); [`llm`]: the LLM
//!   drafter (client, prompts, checked answers, repairs).
//! - [`validate`]: a draft's checks: re-parse and re-analysis ([`validate::verify`]),
//!   then the repository's own commands and hooks in a worktree, scheduled
//!   together and bisected on failure; the [`validate::Check`] records.
//! - [`git`]: the repository, base commit, worktrees, commits, branches, pushes.
//! - [`pipeline`]: the one orchestration of those stages, with plain data between
//!   them, shared by `propose`, `propose --dry-run` and the daemon; it loads the
//!   configuration ([`pipeline::setup`]) and reports progress as [`event`]s.
//! - [`propose`]: what a proposal is asked ([`propose::Options`]) and what it
//!   produces ([`propose::Proposal`]), its errors and commit messages.
//! - At the edges: [`cli`] and `main` (arguments, exit codes, printing errors),
//!   [`output`] (text, JSON, SARIF, progress lines), [`daemon`] (watching and
//!   cycles), [`config`], [`cancel`] (Ctrl-C and SIGTERM), [`process`] (process
//!   groups), [`alloc`] (one allocator for Rust and tree-sitter).

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
