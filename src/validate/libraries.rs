//! Before a draft's checks run: the Python they run with must be able to import
//! the libraries the draft newly imports (httpx, pytest-asyncio), or the run
//! fails at once with one reason naming them, instead of running the whole suite
//! into an `ImportError`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Check, command, hooks};
use crate::draft::dependencies;
use crate::draft::diff::FileChange;

/// The environment variable naming the Python the checks run with.
pub const PYTHON_VARIABLE: &str = "REFACTOR_ASYNC_PYTHON";

/// How long one import may take before the question is given up.
const IMPORT_TIMEOUT: Duration = Duration::from_secs(30);

/// Tools that run the checks in an environment they install from the project's
/// declared dependencies (which the draft has just extended): the Python on PATH
/// says nothing about what the checks will import.
const ENVIRONMENT_MANAGERS: &[&[&str]] = &[
    &["tox"],
    &["nox"],
    &["uv", "run"],
    &["uvx"],
    &["poetry", "run"],
    &["pdm", "run"],
    &["hatch", "run"],
    &["hatch", "test"],
    &["pipenv", "run"],
    &["rye", "run"],
];

/// The Python the checks run with: `$REFACTOR_ASYNC_PYTHON`; else, unless the
/// checks (their command lines, or the recipes of the Makefile they call) run
/// through an environment manager, `python3` or `python` from PATH, as the
/// commands would find it. None when it cannot be told.
pub fn validation_python(commands: &[String], worktree: &Path) -> Option<PathBuf> {
    if let Some(python) = std::env::var_os(PYTHON_VARIABLE).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(python));
    }
    let makefile = ["Makefile", "makefile", "GNUmakefile"]
        .iter()
        .find_map(|m| std::fs::read_to_string(worktree.join(m)).ok())
        .unwrap_or_default();
    let managed = |text: &str| text.lines().any(uses_environment_manager);
    if commands.iter().any(|c| managed(c)) || (commands.iter().any(|c| c.contains("make")) && managed(&makefile)) {
        return None;
    }
    command::find_program("python3").or_else(|| command::find_program("python"))
}

/// Whether a command line runs something through an environment manager.
fn uses_environment_manager(line: &str) -> bool {
    let words: Vec<&str> =
        line.split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')')).collect();
    let words: Vec<&str> = words.into_iter().filter(|w| !w.is_empty()).collect();
    ENVIRONMENT_MANAGERS.iter().any(|manager| words.windows(manager.len()).any(|w| w == *manager))
}

/// The modules of `modules` that `python` cannot import in `worktree` (each
/// asked in its own process, under a timeout; its output in `log_dir`). A module
/// whose import could not be asked or timed out is not counted as missing: the
/// checks themselves will tell.
pub fn missing<'m>(python: &Path, worktree: &Path, modules: &[&'m str], log_dir: &Path) -> Vec<&'m str> {
    let limits = command::Limits { timeout: IMPORT_TIMEOUT, log_limit: 64 * 1024, tail_lines: 5 };
    let python = hooks::shell_quote(&python.to_string_lossy());
    modules
        .iter()
        .copied()
        .filter(|module| {
            let line = format!("{python} -c {}", hooks::shell_quote(&format!("import {module}")));
            let log = log_dir.join(format!("00-import-{module}.log"));
            let env = [("PYTHONDONTWRITEBYTECODE".to_string(), "1".to_string())];
            match command::run(&line, worktree, &env, &limits, &log, &crate::cancel::requested) {
                Ok(outcome) => !outcome.ok && !outcome.timed_out && !outcome.cancelled,
                Err(_) => false,
            }
        })
        .collect()
}

/// The failed check of a draft whose new libraries the validation Python cannot
/// import; none when it can, or when that Python cannot be told.
pub fn check(commands: &[String], worktree: &Path, changes: &[FileChange], log_dir: &Path) -> Option<Check> {
    let needs = dependencies::needs(changes);
    if needs.is_empty() {
        return None;
    }
    let started = Instant::now();
    let python = validation_python(commands, worktree)?;
    let modules: Vec<&str> = needs.iter().map(|n| n.requirement.import).collect();
    let missing = missing(&python, worktree, &modules, log_dir);
    if missing.is_empty() {
        return None;
    }
    let reasons: Vec<String> = needs
        .iter()
        .filter(|n| missing.contains(&n.requirement.import))
        .map(|n| {
            format!(
                "the draft needs `{}`, which the validation Python ({}) cannot import: install it, \
                 or add it to the environment the checks run in (or set {PYTHON_VARIABLE} to a Python that has it)",
                n.requirement.distribution,
                python.display()
            )
        })
        .collect();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    Some(Check::internal("libraries", false, ms, Some(reasons.join("\n"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_managers_are_recognised_in_command_lines() {
        for line in ["tox -e py311", "uv run pytest", "cd x && poetry run pytest", "\thatch run test:all", "nox"] {
            assert!(uses_environment_manager(line), "{line}");
        }
        for line in ["make test", "python -m pytest tox.ini", "pytest -k uv", "echo run uv"] {
            assert!(!uses_environment_manager(line), "{line}");
        }
    }

    #[test]
    fn a_module_python_cannot_import_is_named() {
        let python = command::find_program("python3").expect("python3 on PATH");
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        let found = missing(&python, dir.path(), &["json", "no_such_module_refactor_async"], &logs);
        assert_eq!(found, ["no_such_module_refactor_async"]);
        assert!(logs.join("00-import-json.log").is_file());
    }
}
