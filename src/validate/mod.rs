//! Validation: a draft applied in a fresh worktree at the base commit must pass the
//! repository's own checks (`[validate] commands`, default `make test` then
//! `make typecheck`) and its pre-commit hook, each under a timeout.
//!
//! The commands come only from configuration. They run in order and stop at the
//! first failure, as `make test && make typecheck` would.

pub mod check;
pub mod command;
pub mod hooks;
pub mod libraries;
pub mod preflight;
pub mod schedule;
pub mod settings;
pub mod verify;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::draft::diff::FileChange;
use crate::event::{Event, Sink};
use crate::git::GitError;
use crate::git::worktree::Worktree;
pub use check::Check;
pub use preflight::{PreflightError, preflight};
pub use settings::{HookMode, ValidateSettings};

/// Why a validation run could not even start.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("cannot write the draft to {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot run `{command}`: {source}")]
    Spawn { command: String, source: std::io::Error },
    #[error("cancelled")]
    Cancelled,
}

/// A validation run: the draft written into `worktree`, then the hook and the commands.
pub struct Run<'a> {
    /// The repository's hooks folder ([`hooks::hooks_dir`]).
    pub hooks_dir: &'a Path,
    pub worktree: &'a Worktree,
    pub settings: &'a ValidateSettings,
    /// Folder for this run's logs.
    pub log_dir: PathBuf,
    /// Names the run in the progress events (`[run 1: branch] `); may be empty.
    pub label: String,
    /// Where each command's start and end are reported.
    pub events: &'a dyn Sink,
}

/// What a validation run is to do.
enum Steps {
    /// Run these (name, command line) steps in order.
    Run(Vec<(String, String)>),
    /// The repository's hook cannot run here: this failed check is the result.
    HookUnavailable(Check),
}

impl Run<'_> {
    /// Write `changes` into the worktree and run every check; stops at the first
    /// failure, and fails at once when the checks' Python cannot import a library
    /// the draft newly imports.
    pub fn validate(&self, changes: &[FileChange]) -> Result<Vec<Check>, ValidateError> {
        write_changes(&self.worktree.path, changes)?;
        let commands = &self.settings.commands;
        if let Some(check) = libraries::check(commands, &self.worktree.path, changes, &self.log_dir) {
            return Ok(vec![check]);
        }
        let steps = match self.steps(changes)? {
            Steps::Run(steps) => steps,
            Steps::HookUnavailable(check) => return Ok(vec![check]),
        };
        let mut results = Vec::new();
        for (i, (name, line)) in steps.iter().enumerate() {
            let check = self.run_step(i + 1, name, line)?;
            let ok = check.ok;
            results.push(check);
            if !ok {
                break;
            }
        }
        Ok(results)
    }

    /// The (name, command line) steps to run: the pre-commit hook, then the
    /// configured commands; or the failed check of a hook that cannot run here.
    fn steps(&self, changes: &[FileChange]) -> Result<Steps, ValidateError> {
        let mut steps: Vec<(String, String)> = Vec::new();
        if self.settings.hooks == HookMode::Auto {
            match hooks::pre_commit(self.hooks_dir, &self.worktree.path, changes)? {
                Some(hooks::Hook::Run { name, line }) => steps.push((name, line)),
                Some(hooks::Hook::Unavailable { name, why }) => {
                    let log = self.log_dir.join("00-hook.log");
                    let _ = std::fs::create_dir_all(&self.log_dir).and_then(|_| std::fs::write(&log, &why));
                    return Ok(Steps::HookUnavailable(Check {
                        name,
                        ok: false,
                        duration_ms: 0.0,
                        detail: Some(why),
                        exit_code: None,
                        timed_out: false,
                        log: Some(log),
                    }));
                }
                None => {}
            }
        }
        steps.extend(self.settings.commands.iter().map(|c| (c.clone(), c.clone())));
        Ok(Steps::Run(steps))
    }

    /// Run step `number` of the run, its output to a log of its own.
    fn run_step(&self, number: usize, name: &str, line: &str) -> Result<Check, ValidateError> {
        if crate::cancel::requested() {
            return Err(ValidateError::Cancelled);
        }
        self.events.emit(Event::CheckStarted { label: self.label.clone(), name: name.to_string() });
        let log = self.log_dir.join(format!("{number:02}-{}.log", file_slug(name)));
        let limits = command::Limits {
            timeout: Duration::from_secs_f64(self.settings.timeout_s),
            log_limit: self.settings.log_limit_bytes,
            tail_lines: self.settings.tail_lines,
        };
        let outcome =
            command::run(line, &self.worktree.path, &self.settings.env(), &limits, &log, &crate::cancel::requested)
                .map_err(|source| ValidateError::Spawn { command: line.to_string(), source })?;
        if outcome.cancelled {
            return Err(ValidateError::Cancelled);
        }
        self.events.emit(Event::CheckFinished {
            label: self.label.clone(),
            name: name.to_string(),
            ok: outcome.ok,
            summary: outcome.summary(),
            seconds: outcome.duration.as_secs_f64(),
        });
        Ok(Check {
            name: name.to_string(),
            ok: outcome.ok,
            duration_ms: outcome.duration.as_secs_f64() * 1000.0,
            detail: (!outcome.ok).then(|| format!("{}\n{}", outcome.summary(), outcome.tail)),
            exit_code: outcome.exit_code,
            timed_out: outcome.timed_out,
            log: Some(outcome.log.clone()),
        })
    }
}

/// Write each changed file into `root` (creating folders), removing deleted ones.
pub fn write_changes(root: &Path, changes: &[FileChange]) -> Result<(), ValidateError> {
    for change in changes {
        let path = root.join(&change.path);
        let result = match &change.new {
            Some(text) => {
                path.parent().map(std::fs::create_dir_all).unwrap_or(Ok(())).and_then(|_| std::fs::write(&path, text))
            }
            None => std::fs::remove_file(&path),
        };
        result.map_err(|source| ValidateError::Write { path: path.clone(), source })?;
    }
    Ok(())
}

/// `make test` → `make-test`, for log file names.
pub fn file_slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_names_are_readable() {
        assert_eq!(file_slug("make test"), "make-test");
        assert_eq!(file_slug("pre-commit hook"), "pre-commit-hook");
    }
}
