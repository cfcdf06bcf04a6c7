//! Snapshot tests of how a draft's new libraries are declared: for each way a
//! project declares dependencies (PEP 621, PEP 735, Poetry, PDM, setup.py,
//! setup.cfg, requirements files), the dependency files before and after, as a
//! diff, with the notes; and the cases where nothing may be added (already
//! declared, under another spelling or with extras) or nothing can be.
//!
//! The draft is given as changed Python files (old and new text), the way the
//! rules drafter hands them over; the project is a temporary folder.

use refactor_async::draft::dependencies::declare;
use refactor_async::draft::diff::{FileChange, unified_diff};

mod common;
use common::*;

const CLIENT_OLD: &str =
    "import requests\n\n\ndef status(url: str) -> int:\n    return requests.get(url, timeout=5).status_code\n";

const CLIENT_NEW: &str = "import httpx\n\n\nasync def status(url: str) -> int:\n    async with httpx.AsyncClient(follow_redirects=True) as client:\n        return (await client.get(url, timeout=5)).status_code\n";

const TEST_OLD: &str = "from pkg.client import status\n\n\ndef test_status() -> None:\n    assert status\n";

const TEST_NEW: &str = "import pytest\n\nfrom pkg.client import status\n\n\n@pytest.mark.asyncio\nasync def test_status() -> None:\n    assert status\n";

/// The converted client module.
fn client() -> FileChange {
    FileChange { path: "pkg/client.py".into(), old: Some(CLIENT_OLD.into()), new: Some(CLIENT_NEW.into()) }
}

/// The converted test module.
fn test() -> FileChange {
    FileChange { path: "tests/test_client.py".into(), old: Some(TEST_OLD.into()), new: Some(TEST_NEW.into()) }
}

/// Declare what `draft` needs in a project of `files`; the dependency files'
/// diff and the notes, as text.
fn declared(files: &[(&str, &str)], draft: Vec<FileChange>) -> String {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), files.iter().copied());
    let mut changes = draft;
    let drafted: Vec<String> = changes.iter().map(|c| c.path.clone()).collect();
    let notes = declare(dir.path(), &mut changes);
    changes.retain(|c| !drafted.contains(&c.path));
    for change in &changes {
        assert_eq!(
            change.old.as_deref(),
            std::fs::read_to_string(dir.path().join(&change.path)).ok().as_deref(),
            "an edit starts from the file as it is"
        );
    }
    let diff = unified_diff(&changes);
    let mut out = if diff.is_empty() { "(no change)\n".to_string() } else { diff };
    out.push_str("\nnotes:\n");
    for note in notes {
        out.push_str(&format!("  - {note}\n"));
    }
    out
}

/// The client and test conversions together.
fn both() -> Vec<FileChange> {
    vec![client(), test()]
}

#[test]
fn pep_621_inline_lists_with_versions() {
    let pyproject = r#"[project]
name = "pkg"
version = "1.0"
dependencies = ["requests>=2.31", "click>=8"]

[project.optional-dependencies]
# what the tests need
dev = ["pytest>=8", "mypy>=1.8"]

[tool.pytest.ini_options]
testpaths = ["tests"]

[tool.mypy]
strict = true
"#;
    insta::assert_snapshot!(declared(&[("pyproject.toml", pyproject)], both()));
}

#[test]
fn pep_621_one_entry_per_line_sorted_with_comments_and_single_quotes() {
    let pyproject = r#"[project]
name = "pkg"
version = "1.0"
dependencies = [
    # runtime
    'click',
    'requests',  # the HTTP calls
    'rich',
]

[project.optional-dependencies]
test = [
  'pytest',
  'respx'
]
"#;
    insta::assert_snapshot!(declared(&[("pyproject.toml", pyproject)], both()));
}

#[test]
fn pep_621_unsorted_without_trailing_comma_appends() {
    let pyproject =
        "[project]\nname = \"pkg\"\nversion = \"1.0\"\ndependencies = [\n    \"requests\",\n    \"attrs\"\n]\n";
    insta::assert_snapshot!(declared(&[("pyproject.toml", pyproject)], vec![client()]));
}

#[test]
fn pep_621_dynamic_dependencies_are_declared_in_the_requirements_file() {
    let pyproject = "[project]\nname = \"pkg\"\nversion = \"1.0\"\ndynamic = [\"dependencies\"]\n\n[tool.setuptools.dynamic]\ndependencies = { file = [\"requirements.txt\"] }\n";
    let requirements = "requests==2.31.0\nclick==8.1.7\n";
    insta::assert_snapshot!(declared(
        &[("pyproject.toml", pyproject), ("requirements.txt", requirements)],
        vec![client()]
    ));
}

#[test]
fn pep_735_dependency_groups() {
    let pyproject = r#"[project]
name = "pkg"
version = "1.0"
dependencies = []

[dependency-groups]
lint = ["ruff"]
test = [
    {include-group = "lint"},
    "pytest>=8",
]

[tool.pytest.ini_options]
asyncio_mode = "auto"
"#;
    insta::assert_snapshot!(declared(&[("pyproject.toml", pyproject)], both()));
}

#[test]
fn poetry_dependencies_and_dev_group() {
    let pyproject = r#"[tool.poetry]
name = "pkg"
version = "1.0.0"

[tool.poetry.dependencies]
python = "^3.9"
click = "^8.1"
requests = "^2.31"

[tool.poetry.group.dev.dependencies]
pytest = "^8.0"

[build-system]
requires = ["poetry-core"]
"#;
    insta::assert_snapshot!(declared(&[("pyproject.toml", pyproject)], both()));
}

#[test]
fn poetry_legacy_dev_dependencies_without_versions() {
    let pyproject = "[tool.poetry]\nname = \"pkg\"\n\n[tool.poetry.dependencies]\npython='*'\nrequests='*'\n\n[tool.poetry.dev-dependencies]\npytest='*'\n# end of the dev tools\n";
    insta::assert_snapshot!(declared(&[("pyproject.toml", pyproject)], both()));
}

#[test]
fn pdm_dev_dependencies() {
    let pyproject = "[project]\nname = \"pkg\"\nversion = \"1\"\ndependencies = [\"requests\"]\n\n[tool.pdm.dev-dependencies]\ntest = [\"pytest\"]\n";
    insta::assert_snapshot!(declared(&[("pyproject.toml", pyproject)], both()));
}

#[test]
fn setup_py_literal_lists() {
    let setup = r#"from setuptools import find_packages, setup

setup(
    name="pkg",
    version="1.0",
    packages=find_packages(),
    install_requires=[
        "requests>=2.31",
    ],
    extras_require={
        "docs": ["sphinx"],
        "test": ["pytest>=8"],
    },
)
"#;
    let pytest_ini = "[pytest]\naddopts = -q\n";
    insta::assert_snapshot!(declared(&[("setup.py", setup), ("pytest.ini", pytest_ini)], both()));
}

#[test]
fn setup_py_computed_lists_are_left_with_a_note() {
    let setup = "from setuptools import setup\n\nwith open(\"requirements.txt\") as f:\n    REQUIRES = f.read().splitlines()\n\nsetup(name=\"pkg\", install_requires=REQUIRES, tests_require=[\"pytest\"])\n";
    let out = declared(&[("setup.py", setup), ("requirements.txt", "requests\n")], both());
    insta::assert_snapshot!(out);
}

#[test]
fn setup_cfg_values_and_its_pytest_section() {
    let cfg = "[metadata]\nname = pkg\n\n[options]\npackages = find:\ninstall_requires =\n    click\n    requests\npython_requires = >=3.9\n\n[options.extras_require]\ntest =\n    pytest\n\n[tool:pytest]\ntestpaths = tests\n";
    insta::assert_snapshot!(declared(&[("setup.cfg", cfg)], both()));
}

#[test]
fn requirements_files_and_tox_ini() {
    let files = [
        ("requirements.txt", "# pinned by hand\nrequests>=2.31\nclick>=8"),
        ("requirements-dev.txt", "-r requirements.txt\npytest>=8\n"),
        ("tox.ini", "[tox]\nenvlist = py311\n\n[pytest]\naddopts = -q\n"),
    ];
    insta::assert_snapshot!(declared(&files, both()));
}

#[test]
fn requirements_folder() {
    let files = [
        ("requirements/base.txt", "requests\n"),
        ("requirements/test.txt", "-r base.txt\npytest\n"),
        ("pyproject.toml", "[tool.black]\nline-length = 100\n"),
    ];
    insta::assert_snapshot!(declared(&files, both()));
}

#[test]
fn nothing_is_added_where_already_declared() {
    // Other case, extras, markers, `_` for `-`: all the same distributions.
    let pyproject = r#"[project]
name = "pkg"
version = "1.0"
dependencies = ["HTTPX[http2]>=0.24; python_version >= '3.8'"]

[project.optional-dependencies]
dev = ["Pytest_Asyncio"]

[tool.pytest.ini_options]
asyncio_default_fixture_loop_scope = "module"
"#;
    assert_eq!(declared(&[("pyproject.toml", pyproject)], both()), "(no change)\n\nnotes:\n");
    let poetry = "[tool.poetry.dependencies]\npython = \"^3.9\"\nHTTPX = \"*\"\n\n[tool.poetry.group.test.dependencies]\npytest-asyncio = \"*\"\n";
    assert_eq!(declared(&[("pyproject.toml", poetry)], both()), "(no change)\n\nnotes:\n");
    let requirements = [("requirements.txt", "httpx[http2]==0.27.0\npytest_asyncio\n")];
    assert_eq!(declared(&requirements, both()), "(no change)\n\nnotes:\n");
}

#[test]
fn a_test_library_declared_as_a_runtime_one_is_not_added_again() {
    let pyproject = "[project]\nname = \"pkg\"\nversion = \"1\"\ndependencies = [\"httpx\", \"pytest-asyncio\"]\n\n[project.optional-dependencies]\ntest = [\"pytest\"]\n";
    assert_eq!(declared(&[("pyproject.toml", pyproject)], both()), "(no change)\n\nnotes:\n");
}

#[test]
fn a_runtime_library_declared_only_as_an_extra_is_still_added() {
    let pyproject = "[project]\nname = \"pkg\"\nversion = \"1\"\ndependencies = [\"requests\"]\n\n[project.optional-dependencies]\nhttp2 = [\"httpx[http2]\"]\n";
    insta::assert_snapshot!(declared(&[("pyproject.toml", pyproject)], vec![client()]));
}

#[test]
fn nothing_declared_anywhere_gives_notes_and_no_section_is_created() {
    let pyproject = "[project]\nname = \"pkg\"\nversion = \"1\"\n";
    insta::assert_snapshot!(declared(&[("pyproject.toml", pyproject)], both()));
    insta::assert_snapshot!("nothing_at_all", declared(&[], both()));
}

#[test]
fn a_draft_that_imports_nothing_new_changes_nothing() {
    let sleep = FileChange {
        path: "pkg/wait.py".into(),
        old: Some("import time\n\n\ndef wait() -> None:\n    time.sleep(1)\n".into()),
        new: Some("import asyncio\n\n\nasync def wait() -> None:\n    await asyncio.sleep(1)\n".into()),
    };
    let pyproject = "[project]\nname = \"pkg\"\nversion = \"1\"\ndependencies = []\n";
    assert_eq!(declared(&[("pyproject.toml", pyproject)], vec![sleep]), "(no change)\n\nnotes:\n");
}
