//! Helpers shared by the integration tests that run the binary on real git
//! repositories with a real Python (pytest, mypy) on PATH. Test files take them
//! with `mod common; use common::*;` rather than keeping copies of their own.
#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Output};

use assert_cmd::Command;

pub fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn examples() -> PathBuf {
    manifest_dir().join("examples")
}

/// `tests/fixtures/<kind>`.
pub fn fixtures(kind: &str) -> PathBuf {
    manifest_dir().join("tests/fixtures").join(kind)
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

/// [`python()`] in `dir`, with its bin folder first on PATH, writing no bytecode and
/// ignoring any `PYTHONPATH` of the caller.
pub fn python_cmd(dir: &Path) -> StdCommand {
    let python = python();
    let mut cmd = StdCommand::new(&python);
    cmd.current_dir(dir)
        .env("PATH", path_with_python_first(&python))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("PYTHONPATH");
    cmd
}

/// Git without the user's or the system's configuration, committing as a test identity.
pub fn git_cmd(dir: &Path) -> StdCommand {
    let mut cmd = StdCommand::new("git");
    cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(["-c", "user.name=refactor-async tests", "-c", "user.email=tests@example.invalid"])
        .current_dir(dir);
    cmd
}

/// Runs [`git_cmd`] with `args` in `dir`, asserts it succeeds, and returns its stdout
/// without trailing white space.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = run_ok(git_cmd(dir).args(args));
    String::from_utf8(out.stdout).unwrap().trim_end().to_string()
}

/// `git status --porcelain`, untracked files listed one by one; empty when clean.
pub fn git_status(dir: &Path) -> String {
    let out = run_ok(git_cmd(dir).args(["status", "--porcelain", "--untracked-files=all"]));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `git init` on the branch `main`.
pub fn init_repo(dir: &Path) {
    run_ok(git_cmd(dir).args(["init", "-q", "-b", "main"]));
}

/// Commits everything in the working tree.
pub fn commit_all(dir: &Path, message: &str) {
    run_ok(git_cmd(dir).args(["add", "-A"]));
    run_ok(git_cmd(dir).args(["commit", "-q", "-m", message]));
}

/// Writes `text` to `path` in `dir` and commits that file alone; returns the new HEAD.
pub fn commit_file(dir: &Path, path: &str, text: &str, message: &str) -> String {
    std::fs::write(dir.join(path), text).unwrap();
    run_ok(git_cmd(dir).args(["add", path]));
    run_ok(git_cmd(dir).args(["commit", "-q", "-m", message]));
    git(dir, &["rev-parse", "HEAD"])
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

/// Asserts that a finished command succeeded, showing the tails of its output if not.
pub fn assert_success(what: &str, out: &Output) {
    assert!(out.status.success(), "command failed: {}", describe(what, out));
}

/// Runs `cmd` and asserts it succeeds.
pub fn run_ok(cmd: &mut StdCommand) -> Output {
    let (what, out) = output(cmd);
    assert_success(&what, &out);
    out
}

/// The caches Python tools leave in a project; never copied.
pub const CACHE_DIRS: [&str; 4] = [".pytest_cache", ".mypy_cache", ".ruff_cache", "__pycache__"];

/// Whether `name` is one of [`CACHE_DIRS`].
pub fn is_cache(name: &OsStr) -> bool {
    CACHE_DIRS.iter().any(|cache| name == *cache)
}

/// Copy a folder recursively, leaving out [`CACHE_DIRS`] (no symlinks in the examples).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if is_cache(&name) {
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

/// The files below `root`, as sorted paths relative to it; a file or folder whose
/// name `skip` accepts is left out, at any depth.
pub fn list_files(root: &Path, skip: impl Fn(&OsStr) -> bool) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, skip: &dyn Fn(&OsStr) -> bool, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(skip) {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, skip, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &skip, &mut out);
    out.sort();
    out
}

/// Writes each `(path, content)` below `dir`, creating folders as needed.
pub fn write_files<'a, C: AsRef<[u8]>>(dir: &Path, files: impl IntoIterator<Item = (&'a str, C)>) {
    for (path, content) in files {
        let to = dir.join(path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, content).unwrap();
    }
}

/// Makes `to` a git repository whose one commit holds a copy of `from`.
pub fn committed_copy(from: &Path, to: &Path) {
    copy_dir(from, to);
    init_repo(to);
    commit_all(to, "initial");
}

/// A committed git repository holding a copy of `examples/<name>`.
pub fn example_repo(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    committed_copy(&examples().join(name), dir.path());
    dir
}

/// The binary as a plain process, for tests that spawn it and signal it; the
/// environment of [`bin`].
pub fn bin_std(python: &Path) -> StdCommand {
    let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin("refactor-async"));
    cmd.env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("REFACTOR_ASYNC_PYTHON", python)
        .env("PATH", path_with_python_first(python));
    cmd
}

/// The binary with no colours, no `RUST_LOG`, git isolated from the user's and the
/// system's configuration, and `python` (its bin folder first on PATH) for the checks.
pub fn bin(python: &Path) -> Command {
    Command::from_std(bin_std(python))
}

/// Where `program` is on PATH.
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(program)).find(|p| p.is_file())
}
/// `make TARGET` in `dir` with `python` passed as `PYTHON` and first on `PATH`.
pub fn make(dir: &Path, python: &Path, target: &str) {
    let mut cmd = StdCommand::new("make");
    cmd.arg(target)
        .arg(format!("PYTHON={}", python.display()))
        .env("PATH", path_with_python_first(python))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(dir);
    run_ok(&mut cmd);
}

/// One run of a `benchlib` benchmark `script` on `project` with a per-request
/// `latency`: its `seconds`, after checking it printed `ok=1`.
pub fn bench_seconds(script: &Path, project: &Path, latency: &str) -> f64 {
    bench_run(script, project, latency).seconds
}

/// What one benchmark run printed.
pub struct BenchRun {
    pub seconds: f64,
    /// TCP connections the latency server accepted (none for a benchmark without one).
    pub connections: Option<u32>,
    /// The most requests the server had in flight at once.
    pub peak: Option<u32>,
}

impl BenchRun {
    /// The connections and the peak in flight, which a benchmark of an HTTP batch prints.
    pub fn pooling(&self, what: &str) -> (u32, u32) {
        match (self.connections, self.peak) {
            (Some(connections), Some(peak)) => (connections, peak),
            _ => panic!("{what}: the benchmark printed no `connections=` and `max_inflight=`"),
        }
    }
}

/// One run of a `benchlib` benchmark, checked to have printed `ok=1`.
pub fn bench_run(script: &Path, project: &Path, latency: &str) -> BenchRun {
    let mut cmd = python_cmd(project);
    cmd.arg(script).arg(project).args(["--latency", latency]);
    let (what, out) = output(&mut cmd);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value = |key: &str| stdout.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix('=')).map(str::trim);
    assert!(out.status.success() && value("ok") == Some("1"), "benchmark not ok: {}", describe(&what, &out));
    let number = |key: &str| {
        value(key)
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("benchmark printed no `{key}=`: {}", describe(&what, &out)))
    };
    let count = |key: &str| value(key).and_then(|s| s.parse::<u32>().ok());
    BenchRun { seconds: number("seconds"), connections: count("connections"), peak: count("max_inflight") }
}

pub mod markers;
pub mod openai_server;
pub mod tiny;
