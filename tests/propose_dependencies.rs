//! `refactor-async propose` declares the libraries its drafts import: on a
//! setup.py project and a Poetry project whose HTTP calls become httpx calls,
//! the branch's diff declares httpx, and the setup.py branch installs into a
//! fresh environment whose metadata requires httpx. A draft whose library the
//! checks' Python cannot import fails at once, naming it.
//!
//! Needs a Python with pytest and httpx (see tests/common).

use std::path::Path;

mod common;
use common::tiny::{MAKEFILE, propose, text};
use common::*;

/// A package whose fetch loop becomes httpx calls gathered concurrently.
const FETCH_PY: &str = r#""""Fetching statuses."""

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

const TEST_PY: &str =
    "from mirror.fetch import fetch_all\n\n\ndef test_fetch_nothing() -> None:\n    assert fetch_all([]) == []\n";

const SETUP_PY: &str = r#"from setuptools import setup

setup(
    name="mirror",
    version="0.1.0",
    package_dir={"": "src"},
    packages=["mirror"],
    install_requires=[
        "requests>=2.31",
    ],
)
"#;

const POETRY_PYPROJECT: &str = r#"[tool.poetry]
name = "mirror"
version = "0.1.0"
description = "Mirrors statuses"
packages = [{ include = "mirror", from = "src" }]

[tool.poetry.dependencies]
python = "^3.11"
requests = "^2.31"

[build-system]
requires = ["poetry-core"]
build-backend = "poetry.core.masonry.api"
"#;

/// A committed repository with the mirror package and `extra` files.
fn mirror_repo(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut files = vec![
        ("Makefile", MAKEFILE),
        ("pytest.ini", "[pytest]\npythonpath = src\n"),
        ("src/mirror/__init__.py", ""),
        ("src/mirror/fetch.py", FETCH_PY),
        ("tests/test_fetch.py", TEST_PY),
        (".gitignore", "__pycache__/\n*.egg-info/\n"),
    ];
    files.extend(extra.iter().copied());
    write_files(dir.path(), files);
    init_repo(dir.path());
    commit_all(dir.path(), "initial");
    dir
}

const BRANCH: &str = "refactor-async/fetch-all";

/// Propose on `dir`; the committed branch's diff from main.
fn proposed_diff(dir: &Path) -> String {
    let (code, doc, out) = propose(dir, &[]);
    assert_eq!(code, Some(0), "{}", text(&out));
    assert_eq!(doc["proposals"][0]["status"], "committed", "{doc:#}");
    git(dir, &["diff", "main", BRANCH])
}

#[test]
fn a_setup_py_branch_declares_httpx_and_installs_requiring_it() {
    let repo = mirror_repo(&[("setup.py", SETUP_PY)]);
    let dir = repo.path();
    let diff = proposed_diff(dir);
    assert!(diff.contains("         \"requests>=2.31\",\n+        \"httpx>=0.27\",\n     ],"), "{diff}");

    // The branch, installed without its dependencies into a new environment that
    // sees the test Python's packages (httpx among them) through a .pth file.
    let work = tempfile::tempdir().unwrap();
    let checkout = work.path().join("checkout");
    std::fs::create_dir(&checkout).unwrap();
    let tar = work.path().join("branch.tar");
    git(dir, &["archive", "-o", &tar.to_string_lossy(), BRANCH]);
    run_ok(std::process::Command::new("tar").arg("-xf").arg(&tar).arg("-C").arg(&checkout));
    let venv = work.path().join("venv");
    run_ok(python_cmd(work.path()).args(["-m", "venv", "--system-site-packages", "--without-pip"]).arg(&venv));
    let venv_python = venv.join("bin/python");
    let site = |python: &Path| {
        let code = "import sysconfig; print(sysconfig.get_paths()['purelib'])";
        let out = run_ok(std::process::Command::new(python).args(["-c", code]));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    std::fs::write(Path::new(&site(&venv_python)).join("test_python.pth"), site(&python()) + "\n").unwrap();
    // `setup.py develop` is what `pip install -e` runs for a setup.py project, and
    // needs no `wheel` (setuptools before 70.1 builds wheels with it, and there may
    // be none offline).
    run_ok(
        std::process::Command::new(&venv_python)
            .args(["setup.py", "-q", "develop", "--no-deps"])
            .current_dir(&checkout),
    );
    let check = "import importlib.metadata as m, mirror.fetch; print(m.requires('mirror'))";
    let out = run_ok(std::process::Command::new(&venv_python).args(["-c", check]).current_dir(work.path()));
    let requires = String::from_utf8(out.stdout).unwrap();
    assert!(requires.contains("'httpx>=0.27'"), "{requires}");
}

#[test]
fn a_poetry_branch_declares_httpx_in_its_dependencies_table() {
    let repo = mirror_repo(&[("pyproject.toml", POETRY_PYPROJECT)]);
    let diff = proposed_diff(repo.path());
    assert!(diff.contains(" python = \"^3.11\"\n requests = \"^2.31\"\n+httpx = \">=0.27\"\n"), "{diff}");
}

#[test]
fn a_draft_whose_library_the_checks_python_cannot_import_fails_at_once() {
    let repo = mirror_repo(&[("setup.py", SETUP_PY)]);
    let dir = repo.path();
    // A bare environment: no httpx (nor pytest, which never gets to run).
    let work = tempfile::tempdir().unwrap();
    let venv = work.path().join("venv");
    run_ok(python_cmd(work.path()).args(["-m", "venv", "--without-pip"]).arg(&venv));
    let bare = venv.join("bin/python");
    let out = run_ok(
        std::process::Command::new(&bare)
            .args(["-c", "import importlib.util as u; print(u.find_spec('httpx') is None)"]),
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "True", "the base Python has httpx: the test cannot tell");

    let out = bin(&bare).arg("propose").arg(dir).args(["--format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let checks = doc["proposals"][0]["validation"].as_array().unwrap();
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names.last(), Some(&"libraries"), "no command ran after it: {names:?}");
    let detail = checks.last().unwrap()["detail"].as_str().unwrap();
    assert!(detail.contains("the draft needs `httpx`, which the validation Python"), "{detail}");
    assert!(detail.contains("cannot import: install it"), "{detail}");
    assert_eq!(git(dir, &["branch", "--list", BRANCH]), "", "nothing committed");
}
