//! Validation: a draft applied in a fresh worktree at the base commit must pass the
//! repository's own checks (`[validate] commands`, default `make test` then
//! `make typecheck`) and its pre-commit hook, each under a timeout.
//!
//! The commands come only from configuration. They run in order and stop at the
//! first failure, as `make test && make typecheck` would.

pub mod check;
pub mod command;
pub mod hooks;
pub mod schedule;
pub mod settings;
pub mod verify;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::draft::diff::FileChange;
use crate::git::GitError;
use crate::git::worktree::Worktree;
pub use check::Check;
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
    /// Shown before each command (progress); empty for none.
    pub label: String,
    pub show_progress: bool,
}

impl Run<'_> {
    /// Write `changes` into the worktree and run every check; stops at the first failure.
    pub fn validate(&self, changes: &[FileChange]) -> Result<Vec<Check>, ValidateError> {
        write_changes(&self.worktree.path, changes)?;
        let mut results = Vec::new();
        let mut steps: Vec<(String, String)> = Vec::new();
        if self.settings.hooks == HookMode::Auto {
            match hooks::pre_commit(self.hooks_dir, &self.worktree.path, changes)? {
                Some(hooks::Hook::Run { name, line }) => steps.push((name, line)),
                Some(hooks::Hook::Unavailable { name, why }) => {
                    let log = self.log_dir.join("00-hook.log");
                    let _ = std::fs::create_dir_all(&self.log_dir).and_then(|_| std::fs::write(&log, &why));
                    results.push(Check {
                        name,
                        ok: false,
                        duration_ms: 0.0,
                        detail: Some(why),
                        exit_code: None,
                        timed_out: false,
                        log: Some(log),
                    });
                    return Ok(results);
                }
                None => {}
            }
        }
        steps.extend(self.settings.commands.iter().map(|c| (c.clone(), c.clone())));
        for (i, (name, line)) in steps.iter().enumerate() {
            if crate::cancel::requested() {
                return Err(ValidateError::Cancelled);
            }
            if self.show_progress {
                eprintln!("  {}{name} ...", self.label);
            }
            let log = self.log_dir.join(format!("{:02}-{}.log", i + 1, file_slug(name)));
            let limits = command::Limits {
                timeout: Duration::from_secs_f64(self.settings.timeout_s),
                log_limit: self.settings.log_limit_bytes,
                tail_lines: self.settings.tail_lines,
            };
            let outcome =
                command::run(line, &self.worktree.path, &self.settings.env(), &limits, &log, &crate::cancel::requested)
                    .map_err(|source| ValidateError::Spawn { command: line.clone(), source })?;
            if outcome.cancelled {
                return Err(ValidateError::Cancelled);
            }
            if self.show_progress {
                eprintln!("  {}{name}: {} ({:.1} s)", self.label, outcome.summary(), outcome.duration.as_secs_f64());
            }
            let ok = outcome.ok;
            results.push(Check {
                name: name.clone(),
                ok,
                duration_ms: outcome.duration.as_secs_f64() * 1000.0,
                detail: (!ok).then(|| format!("{}\n{}", outcome.summary(), outcome.tail)),
                exit_code: outcome.exit_code,
                timed_out: outcome.timed_out,
                log: Some(outcome.log.clone()),
            });
            if !ok {
                break;
            }
        }
        Ok(results)
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

/// Before anything runs: each configured command's program must exist, and each
/// `make` target must be defined in the base commit's Makefile. Returns what is
/// missing, named.
pub fn preflight(settings: &ValidateSettings, worktree: &Path) -> Result<(), String> {
    for line in &settings.commands {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(&program) = words.iter().find(|w| !w.contains('=')) else { continue };
        if command::find_program(program).is_none() && !is_shell_builtin(program) {
            return Err(format!("validation command `{line}` needs `{program}`, which is not installed (not on PATH)"));
        }
        if program != "make" && program != "gmake" {
            continue;
        }
        let targets: Vec<&str> = words
            .iter()
            .skip_while(|w| **w != program)
            .skip(1)
            .filter(|w| !w.starts_with('-') && !w.contains('='))
            .copied()
            .collect();
        if words.iter().any(|w| *w == "-f" || *w == "-C" || w.starts_with("--file") || w.starts_with("--directory")) {
            continue; // a Makefile elsewhere: let the command itself say what is wrong
        }
        if !["Makefile", "makefile", "GNUmakefile"].iter().any(|m| worktree.join(m).is_file()) {
            return Err(format!(
                "validation command `{line}` needs a Makefile, and the base commit has none at the repository root"
            ));
        }
        let probe_logs = tempfile::tempdir().map_err(|e| format!("cannot create a temporary folder: {e}"))?;
        let limits = command::Limits { timeout: Duration::from_secs(30), log_limit: 64 * 1024, tail_lines: 20 };
        for target in targets {
            // `make -q` decides whether the target is up to date without running its recipe;
            // exit 2 with "No rule to make target" means there is no such target.
            let probe = format!("{program} -q {}", hooks::shell_quote(target));
            let log = probe_logs.path().join("make-q.log");
            let out = command::run(&probe, worktree, &[], &limits, &log, &crate::cancel::requested);
            if let Ok(out) = out
                && out.exit_code == Some(2)
                && out.tail.contains("No rule to make target")
            {
                return Err(format!(
                    "validation command `{line}`: the Makefile has no target `{target}` (set [validate] commands to the checks this repository has)"
                ));
            }
        }
    }
    Ok(())
}

fn is_shell_builtin(word: &str) -> bool {
    matches!(
        word,
        "cd" | "test" | "[" | "true" | "false" | "exit" | "export" | "set" | "." | "source" | "eval" | "exec" | "("
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_names_are_readable() {
        assert_eq!(file_slug("make test"), "make-test");
        assert_eq!(file_slug("pre-commit hook"), "pre-commit-hook");
    }

    #[test]
    fn preflight_names_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Makefile"), "test:\n\ttrue\n").unwrap();
        let mut s = ValidateSettings::default_for_tests();
        s.commands = vec!["make test".into(), "make typecheck".into()];
        let err = preflight(&s, dir.path()).unwrap_err();
        assert!(err.contains("no target `typecheck`"), "{err}");
        s.commands = vec!["make test".into()];
        preflight(&s, dir.path()).unwrap();
        s.commands = vec!["no-such-program-xyz --flag".into()];
        assert!(preflight(&s, dir.path()).unwrap_err().contains("`no-such-program-xyz`, which is not installed"));
    }
}
