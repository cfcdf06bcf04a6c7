//! Before any check runs: every configured command's program exists and every
//! `make` target it names is defined, so a run does not fail an hour in.

use std::path::Path;
use std::time::Duration;

use super::{ValidateSettings, command, hooks};

/// A validation command that cannot run in this repository, named.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error("validation command `{line}` needs `{program}`, which is not installed (not on PATH)")]
    MissingProgram { line: String, program: String },
    #[error("validation command `{line}` needs a Makefile, and the base commit has none at the repository root")]
    NoMakefile { line: String },
    #[error(
        "validation command `{line}`: the Makefile has no target `{target}` (set [validate] commands to the checks this repository has)"
    )]
    MissingTarget { line: String, target: String },
    #[error("cannot create a temporary folder: {0}")]
    TempDir(#[source] std::io::Error),
}

/// Before anything runs: each configured command's program must exist, and each
/// `make` target must be defined in the base commit's Makefile. Returns what is
/// missing, named.
pub fn preflight(settings: &ValidateSettings, worktree: &Path) -> Result<(), PreflightError> {
    for line in &settings.commands {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(&program) = words.iter().find(|w| !w.contains('=')) else { continue };
        if command::find_program(program).is_none() && !is_shell_builtin(program) {
            return Err(PreflightError::MissingProgram { line: line.clone(), program: program.to_string() });
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
            return Err(PreflightError::NoMakefile { line: line.clone() });
        }
        let probe_logs = tempfile::tempdir().map_err(PreflightError::TempDir)?;
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
                return Err(PreflightError::MissingTarget { line: line.clone(), target: target.to_string() });
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
    fn preflight_names_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Makefile"), "test:\n\ttrue\n").unwrap();
        let mut s = ValidateSettings::default_for_tests();
        s.commands = vec!["make test".into(), "make typecheck".into()];
        let err = preflight(&s, dir.path()).unwrap_err().to_string();
        assert!(err.contains("no target `typecheck`"), "{err}");
        s.commands = vec!["make test".into()];
        preflight(&s, dir.path()).unwrap();
        s.commands = vec!["no-such-program-xyz --flag".into()];
        assert!(
            preflight(&s, dir.path())
                .unwrap_err()
                .to_string()
                .contains("`no-such-program-xyz`, which is not installed")
        );
    }
}
