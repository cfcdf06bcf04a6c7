//! Helpers shared by the integration tests that run the binary on real git
//! repositories with a real Python (pytest, mypy) on PATH.
#![allow(dead_code)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Output};

use assert_cmd::Command;

pub fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn examples() -> PathBuf {
    manifest_dir().join("examples")
}

/// `REFACTOR_ASYNC_PYTHON`, else the repository's `.venv`, else `python3` from PATH.
pub fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("REFACTOR_ASYNC_PYTHON").filter(|p| !p.is_empty()) {
        return PathBuf::from(python);
    }
    let venv = manifest_dir().join(".venv/bin/python");
    if venv.is_file() {
        return venv;
    }
    PathBuf::from("python3")
}

/// PATH with the Python's bin folder (the venv's, when it is one) first.
pub fn path_with_python_first(python: &Path) -> OsString {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(bin) = python.parent().filter(|p| !p.as_os_str().is_empty()) {
        dirs.push(bin.to_path_buf());
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(dirs).expect("PATH entries are valid")
}

/// Git without the user's or the system's configuration.
pub fn git_cmd(dir: &Path) -> StdCommand {
    let mut cmd = StdCommand::new("git");
    cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(["-c", "user.name=refactor-async tests", "-c", "user.email=tests@example.invalid"])
        .current_dir(dir);
    cmd
}

/// The last `n` lines of `bytes`, as text.
pub fn tail(bytes: &[u8], n: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    let mut out = String::new();
    if start > 0 {
        out.push_str(&format!("[... {start} lines omitted ...]\n"));
    }
    out.push_str(&lines[start..].join("\n"));
    out
}

/// A readable account of a finished command.
pub fn describe(what: &str, out: &Output) -> String {
    format!(
        "{what}\n  exit status: {}\n--- stdout (tail) ---\n{}\n--- stderr (tail) ---\n{}\n---",
        out.status,
        tail(&out.stdout, 60),
        tail(&out.stderr, 60)
    )
}

/// Runs `cmd`, panicking with a readable message if it cannot start.
pub fn output(cmd: &mut StdCommand) -> (String, Output) {
    let what = format!("{cmd:?}");
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    (what, out)
}

/// Runs `cmd` and asserts it succeeds.
pub fn run_ok(cmd: &mut StdCommand) -> Output {
    let (what, out) = output(cmd);
    assert!(out.status.success(), "command failed: {}", describe(&what, &out));
    out
}

/// Copy a folder recursively, leaving out Python caches (no symlinks in the examples).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if [".pytest_cache", ".mypy_cache", ".ruff_cache", "__pycache__"].iter().any(|skip| name == *skip) {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A committed git repository holding a copy of `examples/<name>`.
pub fn example_repo(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&examples().join(name), dir.path());
    run_ok(git_cmd(dir.path()).args(["init", "-q", "-b", "main"]));
    run_ok(git_cmd(dir.path()).args(["add", "-A"]));
    run_ok(git_cmd(dir.path()).args(["commit", "-q", "-m", "initial"]));
    dir
}

pub fn bin(python: &Path) -> Command {
    let mut cmd = Command::cargo_bin("refactor-async").unwrap();
    cmd.env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("REFACTOR_ASYNC_PYTHON", python)
        .env("PATH", path_with_python_first(python));
    cmd
}

pub fn git_status(dir: &Path) -> String {
    let out = run_ok(git_cmd(dir).args(["status", "--porcelain", "--untracked-files=all"]));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Where `program` is on PATH.
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(program)).find(|p| p.is_file())
}
pub mod openai_server;
pub mod tiny;
