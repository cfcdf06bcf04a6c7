//! Snapshot tests of the rules drafter: before/after Python for every rewrite,
//! including the cases where a rewrite must not fire.
//!
//! Each folder under `tests/fixtures/draft/` is a tiny Python project (or, when it
//! has no `pyproject.toml`, a set of variant projects in its subfolders). It is
//! copied into a fresh git repository, `propose --dry-run --format json` runs on
//! it, and a readable text (plans, or why there are none; notes; the diff with the
//! helper module reduced to its `USE_TASK_GROUP` line) is snapshotted. Then the draft is checked for
//! real: the dry run wrote nothing, `git apply` takes the diff, every changed file
//! compiles, and, where the fixture has them, its tests (`tests/`) and
//! `mypy --strict` (a `mypy` marker file listing what to check) pass before and
//! after the change.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::*;

/// The file name of the runtime helper module the drafter adds (`rewrite.helper_module`).
const HELPER_FILE: &str = "_async_bridge.py";

/// What a child process did: its exit status (None when it timed out) and output.
struct Ran {
    success: Option<bool>,
    output: String,
}

/// Run a command with a time limit, collecting stdout and stderr together.
fn run_limited(cmd: &mut StdCommand, limit: Duration) -> Ran {
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let readers: Vec<_> = [
        child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
        child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|mut stream| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stream.read_to_string(&mut text);
            text
        })
    })
    .collect();
    let deadline = Instant::now() + limit;
    let success = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status.success());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = readers.into_iter().map(|r| r.join().unwrap()).collect::<Vec<_>>().join("");
    Ran { success, output }
}

/// Known gaps of the rules drafter a fixture documents in `known_gaps`: lines
/// `pytest <node id>  # why` (tests that fail after conversion) and `mypy  # why`
/// (mypy fails after conversion). After conversion the listed tests are run apart
/// and must still fail, so fixing a gap makes this test say so.
struct KnownGaps {
    tests: Vec<String>,
    mypy: bool,
}

fn known_gaps(dir: &Path) -> KnownGaps {
    let text = std::fs::read_to_string(dir.join("known_gaps")).unwrap_or_default();
    let mut gaps = KnownGaps { tests: Vec::new(), mypy: false };
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        match line.split_once(' ') {
            Some(("pytest", id)) => gaps.tests.push(id.trim().to_string()),
            _ if line == "mypy" => gaps.mypy = true,
            _ => {}
        }
    }
    gaps
}

/// Run the fixture's own checks (pytest, mypy) in `dir`; describe every failure.
fn project_checks(dir: &Path, when: &str) -> Vec<String> {
    let mut failures = Vec::new();
    let after = when.contains("after");
    let gaps = if after { known_gaps(dir) } else { KnownGaps { tests: Vec::new(), mypy: false } };
    for id in &gaps.tests {
        let ran = run_limited(
            python_cmd(dir).args(["-m", "pytest", "-q", "-p", "no:cacheprovider", id]),
            Duration::from_secs(180),
        );
        if ran.success == Some(true) {
            failures.push(format!("known gap `{id}` passes now: remove it from known_gaps"));
        }
    }
    if dir.join("tests").is_dir() {
        let mut cmd = python_cmd(dir);
        cmd.args(["-m", "pytest", "-q", "-p", "no:cacheprovider"]);
        for id in &gaps.tests {
            cmd.arg(format!("--deselect={id}"));
        }
        let ran = run_limited(&mut cmd, Duration::from_secs(180));
        match ran.success {
            Some(true) => {}
            Some(false) => failures.push(format!("pytest failed {when}:\n{}", ran.output)),
            None => failures.push(format!("pytest did not finish in 180 s {when}:\n{}", ran.output)),
        }
    }
    if let Ok(targets) = std::fs::read_to_string(dir.join("mypy"))
        && !gaps.mypy
    {
        let ran = run_limited(
            python_cmd(dir)
                .args(["-m", "mypy", "--strict", "--cache-dir=/dev/null", "--no-color-output"])
                .args(targets.split_whitespace()),
            Duration::from_secs(300),
        );
        match ran.success {
            Some(true) => {}
            Some(false) => failures.push(format!("mypy --strict failed {when}:\n{}", ran.output)),
            None => failures.push(format!("mypy did not finish in 300 s {when}:\n{}", ran.output)),
        }
    }
    failures
}

/// The diff with the helper module's new-file section reduced to one line.
fn render_diff(diff: &str) -> String {
    let mut out = String::new();
    let mut sections: Vec<&str> = Vec::new();
    let mut rest = diff;
    while !rest.is_empty()
        && let Some(at) = rest[1..].find("\ndiff --git ").map(|i| i + 2)
    {
        sections.push(&rest[..at]);
        rest = &rest[at..];
    }
    if !rest.is_empty() {
        sections.push(rest);
    }
    for section in sections {
        let header = section.lines().next().unwrap_or("");
        let path = header.rsplit_once(" b/").map(|(_, p)| p).unwrap_or("");
        let is_helper = (path == HELPER_FILE || path.ends_with(&format!("/{HELPER_FILE}")))
            && section.lines().any(|l| l.starts_with("new file mode"));
        if is_helper {
            let flag = section
                .lines()
                .find_map(|l| l.strip_prefix("+USE_TASK_GROUP = "))
                .map(str::trim)
                .unwrap_or("<no USE_TASK_GROUP line>");
            out.push_str(&format!("(helper module {path}: USE_TASK_GROUP = {flag})\n"));
        } else {
            out.push_str(section);
            if !section.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out
}

/// The snapshot text of one run: exit code, plans with reasons, notes, diff.
fn render(code: i32, doc: &Value, repo: &Path) -> String {
    let mut out = format!("exit: {code}\n\nplans:\n");
    let plans = doc["plans"].as_array().expect("plans is an array");
    if plans.is_empty() {
        out.push_str("  (none)\n");
    }
    if let Some(why) = doc.get("nothing_planned") {
        out.push_str(&format!("  nothing planned: {}\n", why["reason"].as_str().unwrap()));
        for f in why["functions"].as_array().unwrap() {
            out.push_str(&format!("    - {}: {}\n", f["qualname"].as_str().unwrap(), f["why"].as_str().unwrap()));
        }
    }
    for plan in plans {
        out.push_str(&format!("  {} {}\n", plan["id"].as_str().unwrap(), plan["status"].as_str().unwrap()));
        for reason in plan["reasons"].as_array().unwrap() {
            out.push_str(&format!("    - {}\n", reason.as_str().unwrap()));
        }
    }
    out.push_str("\nnotes:\n");
    for note in doc["notes"].as_array().unwrap() {
        out.push_str(&format!("  - {}\n", note.as_str().unwrap()));
    }
    out.push_str("\ndiff:\n");
    let diff = doc["diff"].as_str().unwrap_or("");
    out.push_str(if diff.is_empty() { "(empty)\n" } else { "" });
    out.push_str(&render_diff(diff));
    let mut text = out.replace('\r', "␍").replace('\t', "␉");
    for root in [repo.to_path_buf(), repo.canonicalize().unwrap()] {
        text = text.replace(&*root.to_string_lossy(), "<repo>");
    }
    text
}

/// Draft one project and check the draft; returns the snapshot text and failures.
fn draft_project(fixture: &Path) -> (String, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    committed_copy(fixture, &repo);
    let head = git(&repo, &["rev-parse", "HEAD"]);

    let out = bin(&python())
        .args(["propose", "--dry-run", "--format", "json"])
        .arg(&repo)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "propose exited with {code}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    let text = render(code, &doc, &repo);

    let mut failures = Vec::new();
    // A dry run writes nothing: no file, no branch, no worktree, same HEAD.
    let status = git_status(&repo);
    if !status.is_empty() {
        failures.push(format!("the dry run left changes in the repository:\n{status}"));
    }
    let branches = git(&repo, &["for-each-ref", "--format=%(refname)", "refs/heads"]);
    if branches != "refs/heads/main" {
        failures.push(format!("the dry run changed the branches:\n{branches}"));
    }
    if git(&repo, &["rev-parse", "HEAD"]) != head {
        failures.push("the dry run moved HEAD".to_string());
    }
    if git(&repo, &["worktree", "list", "--porcelain"]).matches("worktree ").count() != 1 {
        failures.push("the dry run left a worktree behind".to_string());
    }

    let converted = doc["plans"].as_array().unwrap().iter().any(|p| p["status"] == "converted");
    if converted {
        for check in doc["validation"].as_array().unwrap() {
            if check["ok"] != Value::Bool(true) {
                failures.push(format!("validation check failed for converted plans: {check}"));
            }
        }
    }

    let diff = doc["diff"].as_str().unwrap_or("");
    if diff.is_empty() {
        return (text, failures);
    }
    // Reviewers see every added line: none may end in spaces or tabs.
    let trailing: Vec<&str> = diff
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++") && l.trim_end_matches('\r').ends_with([' ', '\t']))
        .collect();
    if !trailing.is_empty() {
        failures.push(format!("added lines end in whitespace:\n{}", trailing.join("\n")));
    }
    // The fixture itself must be sound, so that a failure after the change is the draft's.
    for failure in project_checks(&repo, "on the fixture as written") {
        failures.push(format!("FIXTURE BROKEN: {failure}"));
    }
    let patch = dir.path().join("draft.diff");
    std::fs::write(&patch, diff).unwrap();
    let check = git_cmd(&repo).arg("apply").arg("--check").arg(&patch).output().unwrap();
    if !check.status.success() {
        failures.push(format!("git apply --check rejects the diff: {}", String::from_utf8_lossy(&check.stderr)));
        return (text, failures);
    }
    git(&repo, &["apply", patch.to_str().unwrap()]);

    let changed: Vec<&str> =
        diff.lines().filter_map(|l| l.strip_prefix("+++ b/")).filter(|p| p.ends_with(".py")).collect();
    for path in &changed {
        let ran = run_limited(python_cmd(&repo).args(["-m", "py_compile", path]), Duration::from_secs(60));
        if ran.success != Some(true) {
            failures.push(format!("{path} does not compile after the change:\n{}", ran.output));
        }
    }
    failures.extend(project_checks(&repo, "after applying the draft"));
    (text, failures)
}

/// Snapshot one fixture folder (or its variants) and fail on every problem found.
fn case(name: &str) {
    let folder = fixtures("draft").join(name);
    let mut variants: Vec<(String, PathBuf)> = Vec::new();
    if folder.join("pyproject.toml").exists() {
        variants.push((String::new(), folder));
    } else {
        let mut dirs: Vec<PathBuf> =
            std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
        dirs.sort();
        for dir in dirs {
            variants.push((dir.file_name().unwrap().to_string_lossy().into_owned(), dir));
        }
    }
    assert!(!variants.is_empty(), "{name}: no project in the fixture");
    let mut text = String::new();
    let mut failures = Vec::new();
    for (variant, dir) in variants {
        let (snapshot, problems) = draft_project(&dir);
        if !variant.is_empty() {
            text.push_str(&format!("===== {variant} =====\n"));
        }
        text.push_str(&snapshot);
        if !variant.is_empty() {
            text.push('\n');
        }
        failures.extend(problems.into_iter().map(|p| if variant.is_empty() { p } else { format!("[{variant}] {p}") }));
    }
    insta::assert_snapshot!(name, text);
    assert!(failures.is_empty(), "{name}:\n\n{}", failures.join("\n\n"));
}

/// One test per fixture folder, and `CASES`, the list of them.
macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        const CASES: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            fn $name() {
                case(stringify!($name));
            }
        )*
    };
}

cases!(
    awaits,
    sleep_and_thread,
    session_client,
    per_call_client,
    gather_loop,
    generators,
    formatting,
    overrides,
    properties,
    context_managers,
    needs_llm,
    untouched,
    task_group,
    call_groups,
    thread_seed,
    subprocess_forms,
    session_forms,
    header_lambda,
    work_queues,
);

#[test]
fn every_fixture_has_a_case() {
    for entry in std::fs::read_dir(fixtures("draft")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(CASES.contains(&name.as_str()), "tests/fixtures/draft/{name} has no test in tests/draft.rs");
    }
}

#[test]
fn the_helper_section_is_reduced_to_one_line() {
    let diff = "diff --git a/pkg/_async_bridge.py b/pkg/_async_bridge.py\nnew file mode 100644\n--- /dev/null\n+++ b/pkg/_async_bridge.py\n@@ -0,0 +1,2 @@\n+\"\"\"x\"\"\"\n+USE_TASK_GROUP = False\ndiff --git a/pkg/m.py b/pkg/m.py\n--- a/pkg/m.py\n+++ b/pkg/m.py\n@@ -1 +1 @@\n-a\n+b\n";
    assert_eq!(
        render_diff(diff),
        "(helper module pkg/_async_bridge.py: USE_TASK_GROUP = False)\ndiff --git a/pkg/m.py b/pkg/m.py\n--- a/pkg/m.py\n+++ b/pkg/m.py\n@@ -1 +1 @@\n-a\n+b\n"
    );
}
