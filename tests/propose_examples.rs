//! `refactor-async propose` on the example repositories, end to end. With --dry-run: the proposal
//! converts every plan, validates, writes nothing, applies with `git apply`, passes the
//! example's own tests and type check, leaves nothing for ruff's ASYNC rules, and makes the
//! example's benchmark at least 4x faster.
//!
//! Needs a Python with pytest, pytest-asyncio, mypy, httpx, ruff and types-requests: run
//! through `make test` (sets `REFACTOR_ASYNC_PYTHON`) or create `.venv` with `make venv`.

use std::path::Path;
use std::sync::Mutex;

use serde_json::Value;

mod common;
use common::*;

/// The speedup the converted example must reach on its benchmark.
const MIN_SPEEDUP: f64 = 4.0;
/// Bench latency per request, in seconds.
const LATENCY: &str = "0.05";
/// How many times to run the converted benchmark at most (the best time counts).
const CONVERTED_RUNS: usize = 3;

/// Held by each example test for its whole run, so that one test's benchmark does not compete
/// for the CPU with another test's pytest and mypy (the test harness runs tests in parallel).
static HEAVY: Mutex<()> = Mutex::new(());

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

fn ruff_async(dir: &Path) {
    let mut cmd = python_cmd(dir);
    cmd.args(["-m", "ruff", "check", "--select", "ASYNC", "--no-cache"]).arg(dir);
    let (what, out) = output(&mut cmd);
    // ruff exits 1 when it reports something, 2 when it cannot run.
    assert!(out.status.success(), "ruff reports ASYNC findings in the converted code: {}", describe(&what, &out));
}

/// One benchmark run, checked to have printed `ok=1`.
fn bench(name: &str, project: &Path) -> BenchRun {
    bench_run(&examples().join("bench").join(name).join("bench.py"), project, LATENCY)
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
    ruff_async(dir);

    let original = tempfile::tempdir().unwrap();
    copy_dir(&examples().join(name), original.path());
    let sync = bench(name, original.path()).seconds;
    let mut runs = Vec::new();
    let mut best = f64::INFINITY;
    for _ in 0..CONVERTED_RUNS {
        let run = bench(name, dir);
        let (connections, peak) = run.pooling(name);
        println!("{name}: async run {:.2}s, {connections} connections, peak {peak} in flight", run.seconds);
        // Clients are pooled: no more connections than requests ever ran at once.
        assert!(connections <= peak.max(1), "{name}: {connections} connections for at most {peak} requests in flight");
        runs.push(run.seconds);
        best = best.min(run.seconds);
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

/// The whole `propose` on an example: validated in a worktree with the example's own
/// `make test` and `make typecheck`, committed on a branch; the user's checkout untouched.
#[test]
fn propose_commits_a_validated_branch_on_ragjudge() {
    let _heavy = HEAVY.lock().unwrap_or_else(|e| e.into_inner());
    let python = python();
    let repo = example_repo("ragjudge");
    let head_before = git(repo.path(), &["rev-parse", "HEAD"]);
    let mut cmd = bin(&python);
    cmd.arg("propose").arg(repo.path()).args(["--format", "json"]);
    let what = format!("{cmd:?}");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "propose failed: {}", describe(&what, &out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let branch = doc["branch"].as_str().unwrap_or_else(|| panic!("no branch: {doc:#}")).to_string();
    assert!(branch.starts_with("refactor-async/"), "{branch}");
    let commit = doc["commit"].as_str().unwrap().to_string();
    let names: Vec<&str> = doc["validation"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["re-parse", "re-analysis", "make test", "make typecheck"], "{doc:#}");
    assert!(doc["validation"].as_array().unwrap().iter().all(|c| c["ok"] == true && c["duration_ms"].is_number()));
    assert_eq!(doc["validation_runs"], 1);

    assert_eq!(git(repo.path(), &["rev-parse", &branch]), commit);
    let message = git(repo.path(), &["log", "-1", "--format=%B", &branch]);
    let title = message.lines().next().unwrap();
    assert!(title.chars().count() < 72, "title too long: {title}");
    for needle in
        ["Functions made async:", "make test: passed", "make typecheck: passed", "Refactor-Async-Drafter: rules"]
    {
        assert!(message.contains(needle), "commit message lacks {needle:?}:\n{message}");
    }
    // The branch holds exactly the proposed diff on the base.
    let numstat = git(repo.path(), &["diff", "--numstat", "HEAD", &branch]);
    let (mut files, mut added, mut removed) = (0, 0, 0);
    for line in numstat.lines() {
        let mut parts = line.split_whitespace();
        added += parts.next().unwrap().parse::<u64>().unwrap();
        removed += parts.next().unwrap().parse::<u64>().unwrap();
        files += 1;
    }
    let stat = &doc["stat"];
    assert_eq!(
        (files, added, removed),
        (stat["files"].as_u64().unwrap(), stat["insertions"].as_u64().unwrap(), stat["deletions"].as_u64().unwrap())
    );
    let pr = &doc["proposals"][0]["pull_request"];
    assert!(Path::new(pr["path"].as_str().unwrap()).is_file(), "{pr:#}");
    assert!(pr["body"].as_str().unwrap().contains("## Validation"));

    assert_eq!(git(repo.path(), &["rev-parse", "HEAD"]), head_before, "HEAD moved");
    let status = git_status(repo.path());
    assert!(status.is_empty(), "propose changed the working tree:\n{status}");
    let worktrees = git(repo.path(), &["worktree", "list"]);
    assert_eq!(worktrees.lines().count(), 1, "a worktree was left behind:\n{worktrees}");
}
