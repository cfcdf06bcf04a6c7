//! `refactor-async propose` on small real git repositories: validation in worktrees
//! with real `make`, pytest and hooks; commits on branches; the user's checkout
//! untouched; bad input; timeouts; crashes; pushes to a local bare repository.
//!
//! Needs a Python with pytest, pytest-asyncio and httpx (see tests/common).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

mod common;
use common::tiny::*;
use common::*;

#[test]
fn independent_plans_become_validated_branches_and_the_user_checkout_is_untouched() {
    let repo = tiny_repo(&[]);
    let dir = repo.path();
    // Uncommitted work of every kind: a modified tracked file, a staged change, an untracked file.
    std::fs::write(dir.join("src/tiny/pause.py"), format!("{PAUSE_PY}\n# work in progress\n")).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine\n").unwrap();
    std::fs::write(dir.join("README.md"), "staged\n").unwrap();
    run_ok(git_cmd(dir).args(["add", "README.md"]));
    let before = user_state(dir);

    let (code, doc, out) = propose(dir, &["--jobs", "2"]);
    assert_eq!(code, Some(0), "{}", text(&out));
    assert_eq!(user_state(dir), before, "the user's files, index, HEAD or branches changed");
    no_worktrees_left(dir);
    assert!(
        doc["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("uncommitted")),
        "a dirty tree is worth a note: {:#}",
        doc["notes"]
    );

    // Two independent plans, validated together in one run, each committed on its own branch.
    assert_eq!(doc["validation_runs"], 1, "{doc:#}");
    let mut names = branches(dir);
    names.sort();
    assert_eq!(names, ["main", "refactor-async/fetch-all", "refactor-async/pause"]);
    let base = git(dir, &["rev-parse", "HEAD"]);
    for branch in ["refactor-async/fetch-all", "refactor-async/pause"] {
        let p = proposal(&doc, branch);
        assert_eq!(p["status"], "committed", "{p:#}");
        assert_eq!(p["validated_with"], 2);
        assert_eq!(git(dir, &["rev-parse", branch]), p["commit"].as_str().unwrap());
        assert_eq!(git(dir, &["rev-parse", &format!("{branch}^")]), base, "one commit on the base");
        let message = git(dir, &["log", "-1", "--format=%B", branch]);
        assert!(message.lines().next().unwrap().chars().count() < 72);
        for needle in
            ["make test: passed", "make typecheck: passed", "Refactor-Async-Plan: ", "Refactor-Async-Drafter: rules"]
        {
            assert!(message.contains(needle), "{needle:?} missing from:\n{message}");
        }
        assert_eq!(git(dir, &["log", "-1", "--format=%an <%ae>", branch]), "Test User <user@example.invalid>");
        assert!(Path::new(p["pull_request"]["path"].as_str().unwrap()).is_file());
    }
    // The sleep plan's branch carries only its own change, from the committed base.
    let changed = git(dir, &["diff", "--name-only", "main", "refactor-async/pause"]);
    assert_eq!(changed, "src/tiny/_async_bridge.py\nsrc/tiny/pause.py");
    let pause = git(dir, &["show", "refactor-async/pause:src/tiny/pause.py"]);
    assert!(pause.contains("async def pause_async") && !pause.contains("work in progress"), "{pause}");
}

#[test]
fn a_rerun_is_up_to_date_and_a_moved_base_rebuilds_the_tools_own_branches() {
    let repo = tiny_repo(&[]);
    let dir = repo.path();
    let (code, first, out) = propose(dir, &[]);
    assert_eq!(code, Some(0), "{}", text(&out));
    let old_tip = proposal(&first, "refactor-async/pause")["commit"].as_str().unwrap().to_string();

    let (code, again, out) = propose(dir, &[]);
    assert_eq!(code, Some(0), "{}", text(&out));
    assert_eq!(again["validation_runs"], 0, "nothing to validate again: {again:#}");
    assert_eq!(proposal(&again, "refactor-async/pause")["status"], "up-to-date");
    assert_eq!(git(dir, &["rev-parse", "refactor-async/pause"]), old_tip);

    commit_file(dir, "README.md", "moved on\n", "docs");
    let (code, rebuilt, out) = propose(dir, &[]);
    assert_eq!(code, Some(0), "{}", text(&out));
    let p = proposal(&rebuilt, "refactor-async/pause");
    assert_eq!(p["status"], "committed", "{p:#}");
    assert_eq!(
        git(dir, &["rev-parse", "refactor-async/pause^"]),
        git(dir, &["rev-parse", "main"]),
        "rebuilt on the new base"
    );
    assert!(p["reasons"].to_string().contains("rebuilt"), "{p:#}");
}

#[test]
fn branches_with_someone_elses_commits_are_never_rewritten() {
    let repo = tiny_repo(&[]);
    let dir = repo.path();
    let (code, _, out) = propose(dir, &[]);
    assert_eq!(code, Some(0), "{}", text(&out));
    // A person adds a commit on top of the tool's, in a worktree of their own.
    let theirs = tempfile::tempdir().unwrap();
    let wt = theirs.path().join("wt");
    run_ok(git_cmd(dir).args(["worktree", "add", "-q"]).arg(&wt).arg("refactor-async/pause"));
    commit_file(&wt, "CHANGELOG.md", "reviewed\n", "review fixes");
    run_ok(git_cmd(dir).args(["worktree", "remove"]).arg(&wt));
    let human_tip = git(dir, &["rev-parse", "refactor-async/pause"]);
    // And someone made a branch of their own under the name the fetch plan would take.
    run_ok(git_cmd(dir).args(["branch", "-f", "refactor-async/fetch-all", "main"]));
    let foreign_tip = git(dir, &["rev-parse", "refactor-async/fetch-all"]);

    commit_file(dir, "README.md", "moved on\n", "docs");
    let (code, doc, out) = propose(dir, &[]);
    assert_eq!(code, Some(0), "being left alone is not a failure: {}", text(&out));
    let pause = proposal(&doc, "refactor-async/pause");
    assert_eq!(pause["status"], "skipped", "{pause:#}");
    assert!(pause["reasons"].to_string().contains("no longer rewritten"), "{pause:#}");
    let fetch = proposal(&doc, "refactor-async/fetch-all");
    assert_eq!(fetch["status"], "skipped");
    assert!(fetch["reasons"].to_string().contains("not made by refactor-async"), "{fetch:#}");
    assert_eq!(git(dir, &["rev-parse", "refactor-async/pause"]), human_tip);
    assert_eq!(git(dir, &["rev-parse", "refactor-async/fetch-all"]), foreign_tip);
    assert_eq!(doc["validation_runs"], 0);
}

#[test]
fn a_failing_check_commits_nothing_shows_the_tail_and_exits_1() {
    let makefile =
        "test:\n\t@echo 'collected 2 items'\n\t@echo 'E   AssertionError: boom' >&2\n\t@exit 3\ntypecheck:\n\ttrue\n";
    let repo = tiny_repo(&[("Makefile", makefile)]);
    let dir = repo.path();
    let before = user_state(dir);
    let mut cmd = bin(&python());
    let out = cmd.arg("propose").arg(dir).args(["--branch", "all-of-it"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("AssertionError: boom"), "the failing command's tail is shown:\n{report}");
    assert!(report.contains("failed with exit code 2"), "{report}");
    assert_eq!(branches(dir), ["main"], "nothing committed");
    assert_eq!(user_state(dir), before);
    no_worktrees_left(dir);
    let logs = dir.join(".git/refactor-async/logs");
    let log = std::fs::read_dir(&logs).unwrap().flatten().next().unwrap().path().join("run-01/01-make-test.log");
    assert!(std::fs::read_to_string(&log).unwrap().contains("boom"), "{}", log.display());
    assert!(report.contains(&log.display().to_string()), "the log's path is shown:\n{report}");
}

#[test]
fn joint_validation_bisects_to_the_failing_plan() {
    // Three independent plans; the check fails only while `pause` is converted.
    let extra = "import time\n\n\ndef nap() -> None:\n    time.sleep(0)\n";
    let makefile = "test:\n\t@! grep -q 'async def pause_async' src/tiny/pause.py\ntypecheck:\n\ttrue\n";
    let repo = tiny_repo(&[("Makefile", makefile), ("src/tiny/nap.py", extra)]);
    let dir = repo.path();
    let (code, doc, out) = propose(dir, &["--jobs", "2"]);
    assert_eq!(code, Some(0), "the passing proposals are delivered: {}", text(&out));
    let statuses: BTreeMap<String, String> = doc["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["branch"].as_str().unwrap().to_string(), p["status"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(statuses["refactor-async/pause"], "failed", "{statuses:?}");
    assert_eq!(statuses["refactor-async/fetch-all"], "committed", "{statuses:?}");
    assert_eq!(statuses["refactor-async/nap"], "committed", "{statuses:?}");
    // 1 joint run of 3, then halves [1] and [2], then the failing half of 2 split again.
    let runs = doc["validation_runs"].as_u64().unwrap();
    assert!((3..=5).contains(&runs), "{runs} runs: {doc:#}");
    assert!(!branches(dir).contains(&"refactor-async/pause".to_string()));
}

#[test]
fn a_hanging_check_is_stopped_at_its_timeout_and_huge_output_is_capped() {
    let makefile = "test:\n\t@yes 'a line of output' | head -c 3000000\n\t@sleep 300\ntypecheck:\n\ttrue\n";
    let config = "[validate]\ntimeout_s = 2.0\nlog_limit_bytes = 20000\n";
    let repo = tiny_repo(&[("Makefile", makefile), ("refactor-async.toml", config)]);
    let dir = repo.path();
    let started = std::time::Instant::now();
    let (code, doc, out) = propose(dir, &["--branch", "convert-everything"]);
    assert_eq!(code, Some(1), "{}", text(&out));
    assert!(started.elapsed().as_secs() < 120, "the timeout did not stop the check");
    let p = proposal(&doc, "convert-everything");
    let check = p["validation"].as_array().unwrap().iter().find(|c| c["name"] == "make test").unwrap();
    assert_eq!(check["timed_out"], true, "{check:#}");
    let log = PathBuf::from(check["log"].as_str().unwrap());
    let size = std::fs::metadata(&log).unwrap().len();
    assert!(size < 100_000, "log of {size} bytes despite a 20000-byte limit");
    assert!(std::fs::read_to_string(&log).unwrap().contains("output cut at 20000 bytes"));
    no_worktrees_left(dir);
    assert_eq!(branches(dir), ["main"]);
}

#[test]
fn bad_input_is_a_clear_error_with_exit_2() {
    let python = python();
    // Not a git repository.
    let plain = tempfile::tempdir().unwrap();
    std::fs::write(plain.path().join("a.py"), "import time\ntime.sleep(1)\n").unwrap();
    let mut cmd = bin(&python);
    cmd.env("GIT_CEILING_DIRECTORIES", plain.path().parent().unwrap());
    let out = cmd.arg("propose").arg(plain.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("not inside a git repository"), "{}", text(&out));

    // A repository without commits.
    let empty = tempfile::tempdir().unwrap();
    run_ok(git_cmd(empty.path()).args(["init", "-q"]));
    let out = bin(&python).arg("propose").arg(empty.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no commits"), "{}", text(&out));

    // An unknown base, a missing make target, a missing program, an unknown remote.
    let repo = tiny_repo(&[("Makefile", "test:\n\ttrue\n")]);
    let dir = repo.path();
    let before = user_state(dir);
    let (code, _, out) = propose(dir, &["--base", "no-such-rev"]);
    assert_eq!(code, Some(2));
    assert!(text(&out).contains("unknown base `no-such-rev`"), "{}", text(&out));
    let (code, _, out) = propose(dir, &[]);
    assert_eq!(code, Some(2), "{}", text(&out));
    assert!(text(&out).contains("no target `typecheck`"), "the missing target is named: {}", text(&out));
    let (code, _, out) = propose(dir, &["--push", "nowhere"]);
    assert_eq!(code, Some(2));
    assert!(text(&out).contains("no remote named `nowhere`"), "{}", text(&out));
    let mut cmd = bin(&python);
    let out = cmd.env("PATH", "/nonexistent").arg("propose").arg(dir).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("`make`, which is not installed"), "{}", text(&out));
    assert_eq!(user_state(dir), before);
    no_worktrees_left(dir);
}

#[test]
fn a_detached_head_proposes_from_its_commit() {
    let repo = tiny_repo(&[]);
    let dir = repo.path();
    run_ok(git_cmd(dir).args(["checkout", "-q", "--detach", "HEAD"]));
    let (code, doc, out) = propose(dir, &[]);
    assert_eq!(code, Some(0), "{}", text(&out));
    assert!(doc["notes"].to_string().contains("HEAD is detached"), "{:#}", doc["notes"]);
    assert_eq!(git(dir, &["rev-parse", "refactor-async/pause^"]), git(dir, &["rev-parse", "HEAD"]));
}

/// Start `propose` on `dir` with a `make test` that hangs; return once it hangs,
/// with the file holding the hanging shell's pid.
fn propose_until_validation_hangs(dir: &Path) -> (std::process::Child, PathBuf) {
    let marker = dir.join(".git/hang-started");
    let child = bin_std(&python())
        .arg("propose")
        .arg(dir)
        .env("RA_TEST_HANG", &marker)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while std::fs::read_to_string(&marker).map_or(true, |t| !t.ends_with('\n')) {
        assert!(std::time::Instant::now() < deadline, "validation never started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (child, marker)
}

#[test]
fn a_killed_run_leaves_a_worktree_that_the_next_run_removes() {
    let repo = tiny_repo(&[]);
    let dir = repo.path();
    let (mut child, marker) = propose_until_validation_hangs(dir);
    child.kill().unwrap(); // SIGKILL: no clean-up runs
    child.wait().unwrap();
    let stale: Vec<_> = std::fs::read_dir(dir.join(".git/refactor-async/worktrees")).unwrap().flatten().collect();
    assert!(!stale.is_empty(), "the killed run should have left its worktree");

    let orphan: i32 = std::fs::read_to_string(&marker).unwrap().trim().parse().unwrap();
    assert!(running(orphan), "the hanging check outlives the killed run");

    let (code, doc, out) = propose(dir, &[]);
    assert_eq!(code, Some(0), "{}", text(&out));
    assert!(doc["notes"].to_string().contains("left behind by an earlier run"), "{:#}", doc["notes"]);
    assert!(!running(orphan), "the next run stops what the killed run left running");
    no_worktrees_left(dir);
    assert!(branches(dir).contains(&"refactor-async/pause".to_string()));
}

/// Whether `pid` runs (a zombie waiting to be reaped does not).
fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')))
}

#[test]
fn sigterm_stops_validation_and_cleans_up() {
    let repo = tiny_repo(&[]);
    let dir = repo.path();
    let (child, _) = propose_until_validation_hangs(dir);
    // SAFETY: sending a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    no_worktrees_left(dir);
    assert_eq!(branches(dir), ["main"]);
}

#[test]
fn the_pre_commit_hook_runs_on_the_staged_draft() {
    let repo = tiny_repo(&[]);
    let dir = repo.path();
    let seen = dir.join(".git/hook-saw");
    let hook = dir.join(".git/hooks/pre-commit");
    std::fs::create_dir_all(hook.parent().unwrap()).unwrap();
    std::fs::write(&hook, format!("#!/bin/sh\ngit diff --cached --name-only >> '{}'\n", seen.display())).unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (code, doc, out) = propose(dir, &["--branch", "together"]);
    assert_eq!(code, Some(0), "{}", text(&out));
    let staged = std::fs::read_to_string(&seen).unwrap();
    assert!(staged.contains("src/tiny/pause.py") && staged.contains("src/tiny/_async_bridge.py"), "{staged}");
    let names: Vec<&str> = proposal(&doc, "together")["validation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["re-parse", "re-analysis", "pre-commit hook", "make test", "make typecheck"]);

    // A hook that refuses stops the commit.
    std::fs::write(&hook, "#!/bin/sh\necho 'trailing whitespace found' >&2\nexit 1\n").unwrap();
    run_ok(git_cmd(dir).args(["branch", "-D", "together"]));
    let (code, doc, out) = propose(dir, &["--branch", "together"]);
    assert_eq!(code, Some(1), "{}", text(&out));
    assert!(proposal(&doc, "together")["validation"].to_string().contains("trailing whitespace found"));
    assert_eq!(branches(dir), ["main"]);
}

#[test]
fn a_pre_commit_config_without_pre_commit_installed_fails_unless_hooks_are_off() {
    let config = "repos: []\n";
    let repo = tiny_repo(&[(".pre-commit-config.yaml", config)]);
    let dir = repo.path();
    let mut cmd = bin(&python());
    // PATH without any pre-commit, but with make, sh and the Python.
    let out = cmd.arg("propose").arg(dir).args(["--format", "json"]).output().unwrap();
    if common::find_on_path("pre-commit").is_none() {
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(text(&out).contains("`pre-commit` is not installed"), "{}", text(&out));
    }
    commit_file(dir, "refactor-async.toml", "[validate]\nhooks = \"off\"\n", "hooks off");
    let (code, _, out) = propose(dir, &[]);
    assert_eq!(code, Some(0), "{}", text(&out));
    let message = git(dir, &["log", "-1", "--format=%B", "refactor-async/pause"]);
    assert!(message.contains("commit hooks: skipped"), "{message}");
}

#[test]
fn push_sends_the_branch_to_a_remote_and_never_over_someone_elses_work() {
    let repo = tiny_repo(&[]);
    let dir = repo.path();
    let remote = tempfile::tempdir().unwrap();
    run_ok(git_cmd(remote.path()).args(["init", "-q", "--bare"]));
    run_ok(git_cmd(dir).args(["remote", "add", "origin"]).arg(remote.path()));
    let (code, doc, out) = propose(dir, &["--push", "origin"]);
    assert_eq!(code, Some(0), "{}", text(&out));
    let p = proposal(&doc, "refactor-async/pause");
    assert_eq!(p["push"]["ok"], true, "{p:#}");
    assert_eq!(git(remote.path(), &["rev-parse", "refactor-async/pause"]), p["commit"].as_str().unwrap());

    // Someone pushes a commit on top of the tool's, straight to the remote.
    let clone = tempfile::tempdir().unwrap();
    run_ok(git_cmd(clone.path()).arg("clone").arg("-q").arg(remote.path()).arg("c"));
    let c = clone.path().join("c");
    run_ok(git_cmd(&c).args(["checkout", "-q", "refactor-async/pause"]));
    let theirs = commit_file(&c, "NOTE.md", "mine\n", "take over");
    run_ok(git_cmd(&c).args(["push", "-q", "origin", "refactor-async/pause"]));

    commit_file(dir, "README.md", "moved on\n", "docs");
    let local_before = git(dir, &["rev-parse", "refactor-async/pause"]);
    let (code, doc, out) = propose(dir, &["--push", "origin"]);
    assert_eq!(code, Some(0), "being left alone is not a failure: {}", text(&out));
    let p = proposal(&doc, "refactor-async/pause");
    assert_eq!(p["status"], "skipped", "{p:#}");
    assert!(p["reasons"].to_string().contains("someone else pushed"), "{p:#}");
    assert_eq!(git(remote.path(), &["rev-parse", "refactor-async/pause"]), theirs, "their commit is still there");
    assert_eq!(
        git(dir, &["rev-parse", "refactor-async/pause"]),
        local_before,
        "the local branch is not rebuilt either"
    );
    // The other branch, still the tool's alone, is rebuilt and pushed.
    let fetch = proposal(&doc, "refactor-async/fetch-all");
    assert_eq!(fetch["push"]["ok"], true, "{fetch:#}");
    assert_eq!(git(remote.path(), &["rev-parse", "refactor-async/fetch-all"]), fetch["commit"].as_str().unwrap());
    let user = user_state(dir);
    assert!(
        !user.refs.keys().any(|r| r.starts_with("refs/refactor-async/")),
        "scratch refs were left: {:?}",
        user.refs
    );
}

#[test]
fn jobs_run_validations_at_the_same_time_in_separate_worktrees() {
    // Each run notes its worktree, waits, and records whether another run was going meanwhile.
    let shared = tempfile::tempdir().unwrap();
    let makefile = "test:\n\t@pwd > \"$$RA_SHARED/where-$$$$\"; touch \"$$RA_SHARED/running-$$$$\"; sleep 2; if [ $$(ls \"$$RA_SHARED\" | grep -c running-) -gt 1 ]; then touch \"$$RA_SHARED/overlap\"; fi; rm \"$$RA_SHARED/running-$$$$\"\ntypecheck:\n\ttrue\n";
    let config = "[validate]\njoint = false\n";
    let repo = tiny_repo(&[("Makefile", makefile), ("refactor-async.toml", config)]);
    let dir = repo.path();
    let mut cmd = bin(&python());
    let out = cmd
        .env("RA_SHARED", shared.path())
        .arg("propose")
        .arg(dir)
        .args(["--jobs", "2", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["validation_runs"], 2, "joint validation is off: one run per proposal");
    assert!(shared.path().join("overlap").exists(), "the two runs did not overlap");
    let mut worktrees: Vec<String> = std::fs::read_dir(shared.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("where-"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    worktrees.dedup();
    assert_eq!(worktrees.len(), 2, "each run in a worktree of its own: {worktrees:?}");
    assert!(worktrees.iter().all(|w| w.contains(".git/refactor-async/worktrees/")), "{worktrees:?}");
    no_worktrees_left(dir);
}

#[test]
fn nothing_to_convert_needs_no_checks_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pure.py"), "def add(a: int, b: int) -> int:\n    return a + b\n").unwrap();
    init_repo(dir.path());
    commit_all(dir.path(), "initial");
    // No Makefile at all: nothing is validated, so nothing is missing.
    let (code, doc, out) = propose(dir.path(), &[]);
    assert_eq!(code, Some(0), "{}", text(&out));
    assert_eq!(doc["plans"], serde_json::json!([]));
    assert_eq!(doc["branch"], Value::Null);
    assert_eq!(branches(dir.path()), ["main"]);
    no_worktrees_left(dir.path());
}
