//! The Python runtime refactor-async copies into converted packages as
//! `_async_bridge.py` (src/draft/async_bridge.py), checked with the real tools: its
//! pytest suite, `mypy --strict` for the oldest and a current Python with either value
//! of `USE_TASK_GROUP` (one of the two lines the tool rewrites, with `THREADS`), and ruff.
//!
//! The Python is `$REFACTOR_ASYNC_PYTHON` (what `make test` sets), else the project's
//! `.venv`, else `python3`.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::*;

const SOURCE: &str = "src/draft/async_bridge.py";
const FLAG_LINE: &str = "USE_TASK_GROUP = False";
/// The executor's size, which the tool sets to `rewrite.concurrency`.
const THREADS_LINE: &str = "THREADS = 8";

/// The module as the tool writes it for a package, in a directory of its own so that
/// no configuration of this repository applies.
fn variant(use_task_group: bool) -> (tempfile::TempDir, PathBuf) {
    let source = std::fs::read_to_string(manifest_dir().join(SOURCE)).unwrap();
    let flag_lines = source.lines().filter(|line| *line == FLAG_LINE).count();
    assert_eq!(flag_lines, 1, "the tool rewrites exactly one `{FLAG_LINE}` line in {SOURCE}");
    let threads_lines = source.lines().filter(|line| *line == THREADS_LINE).count();
    assert_eq!(threads_lines, 1, "the tool rewrites exactly one `{THREADS_LINE}` line in {SOURCE}");
    let text = if use_task_group { source.replace(FLAG_LINE, "USE_TASK_GROUP = True") } else { source };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("_async_bridge.py");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn pytest_suite_passes() {
    let output = python_cmd(manifest_dir())
        .args([
            "-m",
            "pytest",
            "-q",
            "tests/python/test_async_bridge.py",
            "-p",
            "no:cacheprovider",
            // Silences pytest-asyncio's warning about the unset default; the tests use none.
            "-o",
            "asyncio_default_fixture_loop_scope=function",
        ])
        .output()
        .expect("run pytest");
    assert_success("pytest tests/python/test_async_bridge.py", &output);
}

/// The oldest Python the installed mypy can check for, when it refuses `wanted` (mypy 2
/// says "Python 3.8 is not supported (must be 3.10 or higher)").
fn supported_target(stderr: &str) -> Option<String> {
    let rest = stderr.split("is not supported (must be ").nth(1)?;
    Some(rest.split(" or higher").next()?.to_string())
}

/// `mypy --strict` on `path` for Python `target`, or for the oldest Python this mypy
/// supports if it refuses `target`; with what was run, for the report.
fn mypy(dir: &Path, path: &Path, target: &str) -> (String, Output) {
    let run = |target: &str| {
        let args = ["-m", "mypy", "--strict", "--no-incremental", "--python-version", target];
        let output = python_cmd(dir).args(args).arg(path).output().expect("run mypy");
        (format!("mypy --strict --python-version {target} on {}", path.display()), output)
    };
    let (what, output) = run(target);
    match supported_target(&String::from_utf8_lossy(&output.stderr)) {
        Some(oldest) => {
            eprintln!("note: this mypy cannot check for Python {target}; checking for {oldest} instead");
            run(&oldest)
        }
        None => (what, output),
    }
}

#[test]
fn mypy_strict_passes_for_old_and_new_pythons_with_either_flag() {
    let variants = [variant(false), variant(true)];
    let runs: Vec<(String, Output)> = std::thread::scope(|scope| {
        let handles: Vec<_> = variants
            .iter()
            .flat_map(|(dir, path)| ["3.8", "3.11"].map(|target| scope.spawn(move || mypy(dir.path(), path, target))))
            .collect();
        handles.into_iter().map(|handle| handle.join().unwrap()).collect()
    });
    for (what, output) in &runs {
        assert_success(what, output);
    }
}

#[test]
fn ruff_finds_nothing() {
    for use_task_group in [false, true] {
        let (dir, path) = variant(use_task_group);
        let output = python_cmd(dir.path())
            .args(["-m", "ruff", "check", "--select", "ASYNC,E,F,B", "--no-cache"])
            .arg(&path)
            .output()
            .expect("run ruff");
        assert_success(&format!("ruff check on {}", path.display()), &output);
    }
}

/// What a draft adds is cut down to the helpers it imports (src/draft/bridge.rs):
/// every public helper alone, and all of them, makes a module that imports, passes
/// `mypy --strict`, ruff's default rules and ruff's formatter unchanged.
#[test]
fn each_helper_alone_makes_a_clean_module() {
    let source = std::fs::read_to_string(manifest_dir().join(SOURCE)).unwrap();
    let public = refactor_async::draft::bridge::exported(&source);
    assert!(public.len() > 10, "the helpers are found in `__all__`: {public:?}");
    let dir = tempfile::tempdir().unwrap();
    let mut modules = Vec::new();
    let mut sets: Vec<(String, std::collections::BTreeSet<String>)> =
        public.iter().map(|name| (format!("only_{}", name.to_lowercase()), [name.clone()].into())).collect();
    sets.push(("every_helper".to_string(), public.clone()));
    for (module, names) in &sets {
        let text = refactor_async::draft::bridge::minimal(&source, names);
        let exported = refactor_async::draft::bridge::exported(&text);
        assert!(names.is_subset(&exported), "{module} exports {exported:?}");
        if names.len() == 1 {
            assert!(text.len() < source.len(), "{module} is smaller than the whole module");
        }
        std::fs::write(dir.path().join(format!("{module}.py")), text).unwrap();
        modules.push(module.clone());
    }
    let run = |args: &[&str], what: &str| {
        let output = python_cmd(dir.path()).args(args).output().expect(what);
        assert_success(what, &output);
    };
    run(&["-m", "ruff", "check", "--isolated", "--no-cache", "."], "ruff check (defaults)");
    // The file-level exemption aside, nothing is unused and nothing is wrong.
    let strict = [
        "-m",
        "ruff",
        "check",
        "--isolated",
        "--no-cache",
        "--ignore-noqa",
        "--select",
        "E,F,B,ASYNC",
        "--ignore",
        "ASYNC109",
        ".",
    ];
    run(&strict, "ruff check --ignore-noqa");
    run(&["-m", "ruff", "format", "--isolated", "--no-cache", "--check", "."], "ruff format --check");
    run(&["-m", "black", "--check", "--quiet", "."], "black --check");
    run(&["-m", "mypy", "--strict", "--no-incremental", "."], "mypy --strict");
    let imports = modules.iter().map(|m| format!("import {m}")).collect::<Vec<_>>().join("; ");
    run(&["-c", &imports], "import every cut-down module");
}
