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
