//! The record of one check, internal (re-parse, re-analysis) or a validation
//! command: what the reports, commit messages and the repair prompt read.

use serde::Serialize;

/// One check and how it went.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// `re-parse`, `re-analysis`, or a validation command.
    pub name: String,
    pub ok: bool,
    pub duration_ms: f64,
    /// What failed, when something did (for a command: how it ended and its last lines).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A command's exit code (none when it was killed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// A command stopped at its timeout.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
    /// A command's full (capped) output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<std::path::PathBuf>,
}

impl Check {
    /// A check that is not a command (re-parse, re-analysis).
    pub fn internal(name: &str, ok: bool, duration_ms: f64, detail: Option<String>) -> Check {
        Check { name: name.to_string(), ok, duration_ms, detail, exit_code: None, timed_out: false, log: None }
    }
}
