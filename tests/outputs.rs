//! The outputs of `analyze`, `propose --dry-run` and `propose` on the bundled examples,
//! byte for byte, as snapshots: every format, stdout and stderr, exit code.
//!
//! A restructuring that should not change behaviour must leave every snapshot as it
//! is. Only what differs from run to run is masked: the temporary repository's path,
//! commit ids, durations, the run id in log paths and the analysis timings.
//!
//! Needs a Python with pytest and mypy for the full `propose` (run through `make test`).

use std::path::Path;
use std::sync::Mutex;

use regex::Regex;

mod common;
use common::*;

/// The full `propose` runs each example's checks: one at a time, so they do not compete.
static HEAVY: Mutex<()> = Mutex::new(());

/// Mask what differs between two runs of the same command on the same example.
fn normalize(text: &str, repo: &Path) -> String {
    let mut out = text.to_string();
    for root in [repo.canonicalize().unwrap(), repo.to_path_buf()] {
        out = out.replace(&root.display().to_string(), "[REPO]");
    }
    let masks: &[(&str, &str)] = &[
        // A run's log folder is named after its start time and pid.
        (r"logs/[0-9A-Za-z_-]+", "logs/[RUN]"),
        // Durations first (the digits of `1.2345678` would pass for a short id):
        // JSON fields ending in _ms or _s, and `1.2 s` / `35 ms` in text.
        (r#""([a-z_]*_(?:ms|s))": [0-9.e+-]+"#, "\"$1\": [N]"),
        (r"\b[0-9]+(?:\.[0-9]+)? (s|ms)\b", "[N] $1"),
        // Commit ids, full and abbreviated (git log, branch lines, JSON).
        (r"\b[0-9a-f]{40}\b", "[SHA]"),
        (r"\b[0-9a-f]{7,12}\b", "[SHORT-SHA]"),
        // SARIF and JSON timestamps.
        (r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z?", "[TIME]"),
    ];
    for (pattern, replacement) in masks {
        out = Regex::new(pattern).unwrap().replace_all(&out, *replacement).into_owned();
    }
    out
}

/// Run the binary in `repo` with `args`: exit code, stdout and stderr, normalized.
fn run(repo: &Path, args: &[&str]) -> String {
    let python = python();
    let mut cmd = bin(&python);
    cmd.current_dir(repo).args(args).arg(repo);
    let out = cmd.output().unwrap();
    format!(
        "$ refactor-async {}\nexit: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        args.join(" "),
        out.status.code(),
        normalize(&String::from_utf8_lossy(&out.stdout), repo),
        normalize(&String::from_utf8_lossy(&out.stderr), repo)
    )
}

/// `analyze` in every format and `propose --dry-run` in both, on one fresh copy.
fn read_only_outputs(example: &str) {
    let repo = example_repo(example);
    for (name, args) in [
        ("analyze-text", &["analyze", "--no-cache"][..]),
        ("analyze-json", &["analyze", "--no-cache", "--format", "json"][..]),
        ("analyze-sarif", &["analyze", "--no-cache", "--format", "sarif"][..]),
        ("dry-run-text", &["propose", "--dry-run", "--no-cache"][..]),
        ("dry-run-json", &["propose", "--dry-run", "--no-cache", "--format", "json"][..]),
    ] {
        insta::assert_snapshot!(format!("{example}-{name}"), run(repo.path(), args));
    }
}

/// The whole `propose` (validated with the example's checks, committed), text and JSON,
/// each on a fresh copy, and the commit it made.
fn propose_outputs(example: &str) {
    let _heavy = HEAVY.lock().unwrap_or_else(|e| e.into_inner());
    for (name, args) in [
        ("propose-text", &["propose", "--drafter", "rules"][..]),
        ("propose-json", &["propose", "--drafter", "rules", "--format", "json"][..]),
    ] {
        let repo = example_repo(example);
        let mut shown = run(repo.path(), args);
        let branches = run_ok(git_cmd(repo.path()).args(["for-each-ref", "--format=%(refname:short)", "refs/heads"]));
        for branch in String::from_utf8_lossy(&branches.stdout).lines().filter(|b| *b != "main") {
            let log = run_ok(git_cmd(repo.path()).args(["log", "-1", "--format=%an <%ae>%n%B", branch]));
            let diff = run_ok(git_cmd(repo.path()).args(["diff", "main", branch]));
            shown.push_str(&format!(
                "--- branch {branch} ---\n{}\n{}",
                normalize(&String::from_utf8_lossy(&log.stdout), repo.path()),
                String::from_utf8_lossy(&diff.stdout)
            ));
        }
        insta::assert_snapshot!(format!("{example}-{name}"), shown);
    }
}

#[test]
fn ragjudge_read_only_outputs() {
    read_only_outputs("ragjudge");
}

#[test]
fn hubmirror_read_only_outputs() {
    read_only_outputs("hubmirror");
}

#[test]
fn ragjudge_propose_outputs() {
    propose_outputs("ragjudge");
}

#[test]
fn hubmirror_propose_outputs() {
    propose_outputs("hubmirror");
}
