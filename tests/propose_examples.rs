//! `refactor-async propose --dry-run` on the example repositories, end to end: the proposal
//! converts every plan, validates, writes nothing, applies with `git apply`, passes the
//! example's own tests and type check, leaves nothing for ruff's ASYNC rules, and makes the
//! example's benchmark at least 4x faster.
//!
//! Needs a Python with pytest, pytest-asyncio, mypy, httpx, ruff and types-requests: run
//! through `make test` (sets `REFACTOR_ASYNC_PYTHON`) or create `.venv` with `make venv`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Output};
use std::sync::Mutex;

use assert_cmd::Command;
use serde_json::Value;

/// The speedup the converted example must reach on its benchmark.
const MIN_SPEEDUP: f64 = 4.0;
/// Bench latency per request, in seconds.
const LATENCY: &str = "0.05";
/// How many times to run the converted benchmark at most (the best time counts).
const CONVERTED_RUNS: usize = 3;

/// Held by each example test for its whole run, so that one test's benchmark does not compete
/// for the CPU with another test's pytest and mypy (the test harness runs tests in parallel).
static HEAVY: Mutex<()> = Mutex::new(());

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn examples() -> PathBuf {
    manifest_dir().join("examples")
}

/// `REFACTOR_ASYNC_PYTHON`, else the repository's `.venv`, else `python3` from PATH.
fn python() -> PathBuf {
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
fn path_with_python_first(python: &Path) -> OsString {
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
fn git_cmd(dir: &Path) -> StdCommand {
    let mut cmd = StdCommand::new("git");
    cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(["-c", "user.name=refactor-async tests", "-c", "user.email=tests@example.invalid"])
        .current_dir(dir);
    cmd
}

/// The last `n` lines of `bytes`, as text.
fn tail(bytes: &[u8], n: usize) -> String {
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
fn describe(what: &str, out: &Output) -> String {
    format!(
        "{what}\n  exit status: {}\n--- stdout (tail) ---\n{}\n--- stderr (tail) ---\n{}\n---",
        out.status,
        tail(&out.stdout, 60),
        tail(&out.stderr, 60)
    )
}

/// Runs `cmd`, panicking with a readable message if it cannot start.
fn output(cmd: &mut StdCommand) -> (String, Output) {
    let what = format!("{cmd:?}");
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    (what, out)
}

/// Runs `cmd` and asserts it succeeds.
fn run_ok(cmd: &mut StdCommand) -> Output {
    let (what, out) = output(cmd);
    assert!(out.status.success(), "command failed: {}", describe(&what, &out));
    out
}

/// Copy a folder recursively, leaving out Python caches (no symlinks in the examples).
fn copy_dir(from: &Path, to: &Path) {
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
fn example_repo(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&examples().join(name), dir.path());
    run_ok(git_cmd(dir.path()).args(["init", "-q", "-b", "main"]));
    run_ok(git_cmd(dir.path()).args(["add", "-A"]));
    run_ok(git_cmd(dir.path()).args(["commit", "-q", "-m", "initial"]));
    dir
}

fn bin(python: &Path) -> Command {
    let mut cmd = Command::cargo_bin("refactor-async").unwrap();
    cmd.env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("REFACTOR_ASYNC_PYTHON", python)
        .env("PATH", path_with_python_first(python));
    cmd
}

fn git_status(dir: &Path) -> String {
    let out = run_ok(git_cmd(dir).args(["status", "--porcelain", "--untracked-files=all"]));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `propose --dry-run --format json` on `dir`: checks the run and returns the document.
fn propose_dry_run(dir: &Path, python: &Path) -> Value {
    let mut cmd = bin(python);
    cmd.arg("propose").arg(dir).args(["--dry-run", "--format", "json"]);
    let what = format!("{cmd:?}");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "propose did not exit 0: {}", describe(&what, &out));
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("propose stdout is not one JSON document ({e}): {}", describe(&what, &out)));
    assert_eq!(doc["version"], 1, "unexpected document version");

    let plans = doc["plans"].as_array().unwrap_or_else(|| panic!("no `plans` array: {doc:#}"));
    assert!(!plans.is_empty(), "propose found nothing to convert: {doc:#}");
    let not_converted: Vec<String> = plans
        .iter()
        .filter(|p| p["status"] != "converted")
        .map(|p| {
            format!("plan {} is {}; reasons: {:#}; functions: {}", p["id"], p["status"], p["reasons"], p["functions"])
        })
        .collect();
    assert!(
        not_converted.is_empty(),
        "not every plan was converted:\n{}\nnotes: {:#}",
        not_converted.join("\n"),
        doc["notes"]
    );

    let checks = doc["validation"].as_array().unwrap_or_else(|| panic!("no `validation` array: {doc:#}"));
    let failed: Vec<&Value> = checks.iter().filter(|c| c["ok"] != true).collect();
    assert!(failed.is_empty(), "validation checks failed: {failed:#?}");

    let diff = doc["diff"].as_str().unwrap_or_default();
    assert!(!diff.is_empty(), "propose converted plans but printed no diff: {doc:#}");
    doc
}

/// `git apply --check` then `git apply` of `diff` in `dir`.
fn apply(dir: &Path, diff: &str) {
    let scratch = tempfile::tempdir().unwrap();
    let patch = scratch.path().join("proposal.diff");
    std::fs::write(&patch, diff).unwrap();
    run_ok(git_cmd(dir).arg("apply").arg("--check").arg(&patch));
    run_ok(git_cmd(dir).arg("apply").arg(&patch));
}

fn make(dir: &Path, python: &Path, target: &str) {
    let mut cmd = StdCommand::new("make");
    cmd.arg(target)
        .arg(format!("PYTHON={}", python.display()))
        .env("PATH", path_with_python_first(python))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(dir);
    run_ok(&mut cmd);
}

fn ruff_async(dir: &Path, python: &Path) {
    let mut cmd = StdCommand::new(python);
    cmd.args(["-m", "ruff", "check", "--select", "ASYNC", "--no-cache"])
        .arg(dir)
        .env("PATH", path_with_python_first(python))
        .current_dir(dir);
    let (what, out) = output(&mut cmd);
    // ruff exits 1 when it reports something, 2 when it cannot run.
    assert!(out.status.success(), "ruff reports ASYNC findings in the converted code: {}", describe(&what, &out));
}

/// One benchmark run: its `seconds`, after checking it printed `ok=1`.
fn bench(name: &str, project: &Path, python: &Path) -> f64 {
    let script = examples().join("bench").join(name).join("bench.py");
    let mut cmd = StdCommand::new(python);
    cmd.arg(&script)
        .arg(project)
        .args(["--latency", LATENCY])
        .env("PATH", path_with_python_first(python))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(project);
    let (what, out) = output(&mut cmd);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value = |key: &str| stdout.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix('=')).map(str::trim);
    assert!(out.status.success() && value("ok") == Some("1"), "benchmark not ok: {}", describe(&what, &out));
    value("seconds")
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("benchmark printed no `seconds=`: {}", describe(&what, &out)))
}

fn propose_example(name: &str) {
    let _serial = HEAVY.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let python = python();
    let repo = example_repo(name);
    let dir = repo.path();

    let doc = propose_dry_run(dir, &python);
    let status = git_status(dir);
    assert!(status.is_empty(), "propose --dry-run changed the working tree:\n{status}");

    apply(dir, doc["diff"].as_str().unwrap());
    make(dir, &python, "test");
    make(dir, &python, "typecheck");
    ruff_async(dir, &python);

    let original = tempfile::tempdir().unwrap();
    copy_dir(&examples().join(name), original.path());
    let sync = bench(name, original.path(), &python);
    let mut runs = Vec::new();
    let mut best = f64::INFINITY;
    for _ in 0..CONVERTED_RUNS {
        let seconds = bench(name, dir, &python);
        runs.push(seconds);
        best = best.min(seconds);
        if sync / best >= MIN_SPEEDUP {
            break;
        }
    }
    let speedup = sync / best;
    println!("{name}: sync {sync:.2}s, async {best:.2}s, speedup {speedup:.1}x");
    assert!(
        speedup >= MIN_SPEEDUP,
        "{name}: converted code is only {speedup:.2}x faster (sync {sync:.3}s, async runs {runs:.3?}), \
         want at least {MIN_SPEEDUP}x"
    );
}

#[test]
fn propose_ragjudge() {
    propose_example("ragjudge");
}

#[test]
fn propose_hubmirror() {
    propose_example("hubmirror");
}

#[test]
fn propose_refuses_outside_git() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.py"), "import requests\n\n\ndef fetch(url):\n    return requests.get(url)\n")
        .unwrap();
    let python = python();
    let mut cmd = bin(&python);
    // Stop git from finding a repository above the temp dir.
    cmd.env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap_or(dir.path()));
    cmd.arg("propose").arg(dir.path()).args(["--dry-run", "--format", "json"]);
    let what = format!("{cmd:?}");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "want exit 2 outside a git repository: {}", describe(&what, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("git repository"), "stderr should mention the git repository: {}", describe(&what, &out));
}

#[test]
fn propose_needs_dry_run_for_now() {
    let python = python();
    let repo = example_repo("ragjudge");
    let mut cmd = bin(&python);
    cmd.arg("propose").arg(repo.path()).args(["--format", "json"]);
    let what = format!("{cmd:?}");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "want exit 2 without --dry-run: {}", describe(&what, &out));
    let status = git_status(repo.path());
    assert!(status.is_empty(), "propose without --dry-run changed the working tree:\n{status}");
}
