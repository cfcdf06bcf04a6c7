//! The tiny two-plan repository the `propose` tests run on, and helpers to run
//! `propose` on it and inspect the result.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use super::*;

/// A package with two independent conversions: an HTTP loop and a sleep.
pub const FETCH_PY: &str = r#""""Fetching statuses."""

import requests


def fetch_status(url: str) -> int:
    response = requests.get(url, timeout=5)
    return response.status_code


def fetch_all(urls: list[str]) -> list[int]:
    statuses = []
    for url in urls:
        statuses.append(fetch_status(url))
    return statuses
"#;

pub const PAUSE_PY: &str = r#""""Waiting."""

import time


def pause(seconds: float) -> float:
    time.sleep(seconds)
    return seconds
"#;

pub const TEST_PY: &str = r#"from tiny.fetch import fetch_all
from tiny.pause import pause


def test_fetch_nothing() -> None:
    assert fetch_all([]) == []


def test_pause() -> None:
    assert pause(0.0) == 0.0
"#;

/// `make test` runs pytest; `make typecheck` byte-compiles (mypy has its own end-to-end test).
/// `RA_TEST_HANG=<file>` makes `make test` write its shell's pid to the file and hang.
pub const MAKEFILE: &str = "PYTHON ?= python3\n\n.PHONY: test typecheck\n\ntest:\n\t@if [ -n \"$$RA_TEST_HANG\" ]; then echo $$$$ > \"$$RA_TEST_HANG\"; sleep 300; fi\n\t$(PYTHON) -m pytest -q -p no:cacheprovider\n\ntypecheck:\n\t$(PYTHON) -m compileall -q src\n";

pub const PYPROJECT: &str = "[project]\nname = \"tiny\"\nversion = \"0\"\nrequires-python = \">=3.11\"\n\n[tool.pytest.ini_options]\npythonpath = [\"src\"]\n";

/// A committed repository with the tiny package; `extra` files added or replaced first.
pub fn tiny_repo(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut files: BTreeMap<&str, &str> = BTreeMap::from([
        ("Makefile", MAKEFILE),
        ("pyproject.toml", PYPROJECT),
        ("src/tiny/__init__.py", ""),
        ("src/tiny/fetch.py", FETCH_PY),
        ("src/tiny/pause.py", PAUSE_PY),
        ("tests/test_tiny.py", TEST_PY),
        (".gitignore", "__pycache__/\n"),
    ]);
    files.extend(extra.iter().copied());
    write_files(dir.path(), files);
    init_repo(dir.path());
    run_ok(git_cmd(dir.path()).args(["config", "user.name", "Test User"]));
    run_ok(git_cmd(dir.path()).args(["config", "user.email", "user@example.invalid"]));
    commit_all(dir.path(), "initial");
    dir
}

/// `refactor-async propose --format json <dir> <args>`.
pub fn propose(dir: &Path, args: &[&str]) -> (Option<i32>, Value, Output) {
    let mut cmd = bin(&python());
    cmd.arg("propose").arg(dir).args(["--format", "json"]).args(args);
    let out = cmd.output().unwrap();
    let doc = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), doc, out)
}

pub fn text(out: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

pub fn branches(dir: &Path) -> Vec<String> {
    git(dir, &["for-each-ref", "--format=%(refname:short)", "refs/heads"]).lines().map(str::to_string).collect()
}

/// Everything of the user's that must not change: working-tree files (bytes), the
/// index, HEAD, and every reference except the tool's own new branches.
#[derive(Debug, PartialEq, Eq)]
pub struct UserState {
    pub files: BTreeMap<PathBuf, Vec<u8>>,
    pub index: Vec<u8>,
    pub head: Vec<u8>,
    pub refs: BTreeMap<String, String>,
}

pub fn user_state(dir: &Path) -> UserState {
    let files = list_files(dir, |name| name == ".git")
        .into_iter()
        .map(|rel| {
            let bytes = std::fs::read(dir.join(&rel)).unwrap();
            (rel, bytes)
        })
        .collect();
    let refs = git(dir, &["for-each-ref", "--format=%(refname) %(objectname)"])
        .lines()
        .filter(|l| !l.starts_with("refs/heads/refactor-async/"))
        .map(|l| {
            let (name, oid) = l.split_once(' ').unwrap();
            (name.to_string(), oid.to_string())
        })
        .collect();
    UserState {
        files,
        index: std::fs::read(dir.join(".git/index")).unwrap_or_default(),
        head: std::fs::read(dir.join(".git/HEAD")).unwrap(),
        refs,
    }
}

pub fn no_worktrees_left(dir: &Path) {
    let list = git(dir, &["worktree", "list"]);
    assert_eq!(list.lines().count(), 1, "a worktree was left behind:\n{list}");
    let ours = dir.join(".git/refactor-async/worktrees");
    let left: Vec<_> = std::fs::read_dir(&ours).map(|r| r.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    assert!(left.is_empty(), "left in {}: {left:?}", ours.display());
}

pub fn proposal<'d>(doc: &'d Value, branch: &str) -> &'d Value {
    doc["proposals"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["branch"] == branch))
        .unwrap_or_else(|| panic!("no proposal for {branch}: {doc:#}"))
}
