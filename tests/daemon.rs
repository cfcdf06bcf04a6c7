//! `refactor-async daemon` and `status` on real repositories: commits become
//! validated branches, a draft of code that changed meanwhile is dropped, SIGTERM
//! stops cleanly, a restart duplicates nothing, a second daemon is refused.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::tiny::*;
use common::*;

/// `pause` with blocking I/O: what a test adds to give the daemon something to propose.
const BLOCKING: &str = "\"\"\"Waiting.\"\"\"\n\nimport time\n\n\ndef pause(seconds: float) -> float:\n    time.sleep(seconds)\n    return seconds\n";

/// `make test` that takes 3 s and touches `$RA_VALIDATING` when it starts, so a
/// test can change the code while a draft is being validated.
const SLOW_MAKEFILE: &str =
    "test:\n\t@touch \"$$RA_VALIDATING\"; sleep 3; python3 -m pytest -q -p no:cacheprovider\ntypecheck:\n\ttrue\n";

/// Pure code: nothing to convert until a test commits some.
const CALM: &str = "\"\"\"Waiting.\"\"\"\n\n\ndef pause(seconds: float) -> float:\n    return seconds\n";

fn calm_repo(makefile: &str) -> tempfile::TempDir {
    tiny_repo(&[
        ("src/tiny/pause.py", CALM),
        ("src/tiny/fetch.py", "\"\"\"Nothing.\"\"\"\n"),
        ("Makefile", makefile),
        (
            "tests/test_tiny.py",
            "from tiny.pause import pause\n\n\ndef test_pause() -> None:\n    assert pause(0.0) == 0.0\n",
        ),
    ])
}

/// The daemon's log, beside the repository (inside it, its writes would be file events).
fn log_path(dir: &Path) -> PathBuf {
    dir.with_extension("daemon.log")
}

fn start(dir: &Path, envs: &[(&str, &Path)]) -> Child {
    let mut cmd = bin_std(&python());
    let log = std::fs::File::create(log_path(dir)).unwrap();
    cmd.arg("daemon").arg(dir).env("RUST_LOG", "warn,refactor_async=debug").stdout(Stdio::null()).stderr(log);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// A calm repository with [`SLOW_MAKEFILE`] and an idle daemon on it; the path is
/// the file `make test` touches when a validation starts.
fn slow_daemon() -> (tempfile::TempDir, PathBuf, Child) {
    let repo = calm_repo(SLOW_MAKEFILE);
    let marker = repo.path().join(".git/validating");
    let daemon = start(repo.path(), &[("RA_VALIDATING", &marker)]);
    wait_idle(repo.path());
    (repo, marker, daemon)
}

fn status(dir: &Path) -> Value {
    let out = bin(&python()).arg("status").arg(dir).args(["--format", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Poll `check` until it holds or `secs` pass.
fn wait_for(secs: u64, what: &str, check: impl FnMut() -> bool) {
    poll(secs, check, || format!("timed out waiting for {what}"));
}

/// [`wait_for`], showing the daemon's status and log when it times out.
fn wait_for_status(dir: &Path, secs: u64, what: &str, check: impl FnMut() -> bool) {
    poll(secs, check, || {
        format!(
            "timed out waiting for {what}; status: {:#}\nlog:\n{}",
            status(dir),
            std::fs::read_to_string(log_path(dir)).unwrap_or_default()
        )
    });
}

fn poll(secs: u64, mut check: impl FnMut() -> bool, failure: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(Instant::now() < deadline, "{}", failure());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Wait until the daemon has proposed from the current HEAD and is idle.
fn wait_idle(dir: &Path) {
    let head = git(dir, &["rev-parse", "HEAD"]);
    wait_for(120, "the daemon to finish a cycle on HEAD", || {
        let s = status(dir);
        s["last_base"] == head.as_str() && s["in_flight"].is_null() && s["queue"] == serde_json::json!([])
    });
}

fn stop(mut child: Child) -> (Option<i32>, Duration, String) {
    let sent = Instant::now();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let _ = child.wait();
            return (status.code(), sent.elapsed(), String::new());
        }
        assert!(Instant::now() < deadline, "the daemon did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn blocking_io_committed_becomes_a_validated_branch_and_sigterm_stops_cleanly() {
    let repo = calm_repo(&MAKEFILE.replace("$(PYTHON) -m compileall -q src", "true"));
    let dir = repo.path();
    let daemon = start(dir, &[]);
    wait_idle(dir);
    assert_eq!(branches(dir), ["main"], "nothing to convert yet");
    assert_eq!(status(dir)["daemon"]["running"], true);

    let blocking = BLOCKING;
    let base = commit_file(dir, "src/tiny/pause.py", blocking, "wait for real");
    wait_for_status(dir, 120, "the branch", || branches(dir).contains(&"refactor-async/pause".to_string()));
    assert_eq!(git(dir, &["rev-parse", "refactor-async/pause^"]), base);
    let message = git(dir, &["log", "-1", "--format=%B", "refactor-async/pause"]);
    assert!(message.contains("make test: passed"), "{message}");
    wait_idle(dir);
    let s = status(dir);
    let p = s["proposals"].as_array().unwrap().iter().find(|p| p["branch"] == "refactor-async/pause").unwrap();
    assert_eq!(p["status"], "committed");
    assert!(p["functions"].to_string().contains("tiny.pause.pause"), "{p:#}");

    let (code, took, logs) = stop(daemon);
    assert_eq!(code, Some(0), "{logs}");
    assert!(took < Duration::from_secs(5), "took {took:?} to stop");
    no_worktrees_left(dir);
    assert!(!dir.join(".git/refactor-async/daemon.lock").exists(), "the lock is released");
    assert_eq!(status(dir)["daemon"]["running"], false);

    // A restart makes no duplicate branch and no new commit.
    let tip = git(dir, &["rev-parse", "refactor-async/pause"]);
    let daemon = start(dir, &[]);
    wait_idle(dir);
    std::thread::sleep(Duration::from_millis(800));
    let mut names = branches(dir);
    names.sort();
    assert_eq!(names, ["main", "refactor-async/pause"]);
    assert_eq!(git(dir, &["rev-parse", "refactor-async/pause"]), tip);
    let (code, _, logs) = stop(daemon);
    assert_eq!(code, Some(0), "{logs}");
}

#[test]
fn code_that_changes_during_validation_is_not_committed_stale() {
    // `make test` takes 3 s and says when it starts, so the test can commit meanwhile.
    let (repo, marker, daemon) = slow_daemon();
    let dir = repo.path();
    let blocking = BLOCKING;
    let first = commit_file(dir, "src/tiny/pause.py", blocking, "first");
    wait_for(120, "validation to start", || marker.exists());
    let second = commit_file(dir, "src/tiny/pause.py", &blocking.replace("Waiting.", "Waiting, again."), "second");
    wait_for_status(dir, 120, "the branch on the newer commit", || {
        branches(dir).contains(&"refactor-async/pause".to_string())
            && git(dir, &["rev-parse", "refactor-async/pause^"]) == second
    });
    // The branch was set once, to a commit on the second base: the draft of the
    // first was never committed (its reflog would show it).
    let moves = git(dir, &["log", "-g", "--format=%H %P", "refactor-async/pause"]);
    assert_eq!(moves.lines().count(), 1, "the branch moved more than once:\n{moves}");
    assert!(moves.ends_with(&second), "{moves}");
    assert!(!moves.contains(&first), "{moves}");
    // The status file is written after the branch moves: wait for it to catch up.
    let on_second = || {
        let s = status(dir);
        s["proposals"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["branch"] == "refactor-async/pause" && p["base"] == second.as_str()))
    };
    wait_for_status(dir, 30, "the status of the branch on the newer commit", on_second);
    let (code, _, logs) = stop(daemon);
    assert_eq!(code, Some(0), "{logs}");
    no_worktrees_left(dir);
}

#[test]
fn a_second_daemon_on_the_same_repository_is_refused() {
    let repo = calm_repo(MAKEFILE);
    let dir = repo.path();
    let daemon = start(dir, &[]);
    wait_for(60, "the daemon to start", || status(dir)["daemon"]["running"] == true);
    let out = bin(&python()).arg("daemon").arg(dir).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already runs on this repository"), "{err}");
    let (code, _, logs) = stop(daemon);
    assert_eq!(code, Some(0), "{logs}");
}

#[test]
fn status_without_a_daemon_says_so() {
    let repo = calm_repo(MAKEFILE);
    let out = bin(&python()).arg("status").arg(repo.path()).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("daemon: not running"));
    let plain = tempfile::tempdir().unwrap();
    let mut cmd = bin(&python());
    cmd.env("GIT_CEILING_DIRECTORIES", plain.path().parent().unwrap());
    let out = cmd.arg("status").arg(plain.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_branch_whose_plan_no_longer_applies_is_deleted() {
    let repo = calm_repo(&MAKEFILE.replace("$(PYTHON) -m compileall -q src", "true"));
    let dir = repo.path();
    let blocking = BLOCKING;
    commit_file(dir, "src/tiny/pause.py", blocking, "wait for real");
    let daemon = start(dir, &[]);
    wait_for_status(dir, 120, "the branch", || branches(dir).contains(&"refactor-async/pause".to_string()));
    // The user converts the code by hand: the plan no longer applies.
    commit_file(dir, "src/tiny/pause.py", CALM, "no more waiting");
    wait_idle(dir);
    assert_eq!(branches(dir), ["main"], "the stale branch is deleted");
    let s = status(dir);
    assert!(!s["proposals"].to_string().contains("refactor-async/pause"), "{s:#}");
    let (code, _, _) = stop(daemon);
    assert_eq!(code, Some(0));
}

#[test]
fn sigterm_during_validation_kills_the_checks_and_a_restart_redoes_the_cycle() {
    let makefile = "test:\n\t@touch \"$$RA_VALIDATING\"; sleep 60\ntypecheck:\n\ttrue\n";
    let repo = calm_repo(makefile);
    let dir = repo.path();
    let blocking = BLOCKING;
    let base = commit_file(dir, "src/tiny/pause.py", blocking, "wait for real");
    let marker = dir.join(".git/validating");
    let daemon = start(dir, &[("RA_VALIDATING", &marker)]);
    wait_for_status(dir, 120, "validation to start", || marker.exists());
    assert_eq!(status(dir)["in_flight"]["base"], base.as_str());
    let (code, took, _) = stop(daemon);
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(5), "took {took:?} to stop");
    no_worktrees_left(dir);
    assert_eq!(branches(dir), ["main"], "nothing half-done was committed");
    let saved: Value =
        serde_json::from_slice(&std::fs::read(dir.join(".git/refactor-async/daemon.json")).unwrap()).unwrap();
    assert_eq!(saved["queue"], serde_json::json!([base]), "the interrupted cycle waits for the next start");
    assert!(saved["in_flight"].is_null());
}

#[test]
fn a_killed_daemons_lock_is_taken_over_and_logs_can_be_json() {
    let repo = calm_repo(MAKEFILE);
    let dir = repo.path();
    let mut first = start(dir, &[]);
    wait_for(60, "the daemon to start", || status(dir)["daemon"]["running"] == true);
    first.kill().unwrap(); // SIGKILL: the lock stays behind
    first.wait().unwrap();
    assert!(dir.join(".git/refactor-async/daemon.lock").exists());
    assert_eq!(status(dir)["daemon"]["running"], false, "a dead holder is not running");
    let log = dir.with_extension("json.log");
    let second = bin_std(&python())
        .args(["daemon", "--log-format", "json"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    wait_for(60, "the second daemon to take over", || status(dir)["daemon"]["pid"] == second.id());
    let (code, _, _) = stop(second);
    assert_eq!(code, Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    assert!(
        lines.iter().any(|l| l["fields"]["message"] == "took over the lock of a daemon that is no longer running"),
        "{text}"
    );
    assert!(lines.iter().any(|l| l["fields"]["message"] == "daemon started"), "{text}");
}

#[test]
fn uncommitted_work_is_proposed_on_a_snapshot_and_an_edit_during_validation_drops_the_stale_draft() {
    let (repo, marker, daemon) = slow_daemon();
    let dir = repo.path();
    let head = git(dir, &["rev-parse", "HEAD"]);
    let before = user_state(dir);
    // Blocking I/O added to a file, not committed.
    let blocking = BLOCKING;
    std::fs::write(dir.join("src/tiny/pause.py"), blocking).unwrap();
    wait_for_status(dir, 120, "validation to start", || marker.exists());
    // Edited again while the first draft is validated.
    let again = blocking.replace("Waiting.", "Waiting, again.");
    std::fs::write(dir.join("src/tiny/pause.py"), &again).unwrap();
    wait_for_status(dir, 120, "the branch on the newer snapshot", || {
        branches(dir).contains(&"refactor-async/pause".to_string())
            && git(dir, &["show", "refactor-async/pause^:src/tiny/pause.py"]).contains("Waiting, again.")
    });
    let moves = git(dir, &["log", "-g", "--format=%H", "refactor-async/pause"]);
    assert_eq!(moves.lines().count(), 1, "the stale draft was never committed:\n{moves}");
    // The proposal sits on a snapshot of the working tree, on top of HEAD.
    assert_eq!(git(dir, &["rev-parse", "refactor-async/pause^^"]), head);
    assert!(
        git(dir, &["log", "-1", "--format=%s", "refactor-async/pause^"]).contains("snapshot of uncommitted changes")
    );
    // The user's files, index, HEAD and refs are as they left them.
    let mut expected = before;
    expected.files.insert("src/tiny/pause.py".into(), again.into_bytes());
    assert_eq!(user_state(dir), expected);
    let (code, _, _) = stop(daemon);
    assert_eq!(code, Some(0));
    no_worktrees_left(dir);
}
