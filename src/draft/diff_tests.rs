//! Tests of the unified diffs: git applies what they describe.

use super::*;
use std::path::Path;
use std::process::{Command, Output};

fn change(path: &str, old: Option<&str>, new: Option<&str>) -> FileChange {
    FileChange { path: path.to_string(), old: old.map(str::to_string), new: new.map(str::to_string) }
}

/// Run git in `dir` with no user or system configuration (git's defaults).
fn git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .expect("git runs")
}

fn git_ok(dir: &Path, args: &[&str]) -> Output {
    let output = git(dir, args);
    assert!(
        output.status.success(),
        "git {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Build a repository holding every `old` text (committed), apply the diff with `git apply
/// --check` and `git apply`, and check that the files are then exactly the `new` texts. Returns
/// the diff, and git's own diff of the same change (without `index` lines and function context).
fn apply_in_repo(changes: &[FileChange]) -> (String, String) {
    let repo = tempfile::tempdir().expect("temp dir");
    let dir = repo.path();
    git_ok(dir, &["init", "-q"]);
    for c in changes {
        if let Some(old) = &c.old {
            let file = dir.join(&c.path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, old).unwrap();
        }
    }
    git_ok(dir, &["add", "-A"]);
    git_ok(dir, &["commit", "-q", "--allow-empty", "-m", "base"]);

    let diff = unified_diff(changes);
    let patch_dir = tempfile::tempdir().expect("temp dir");
    let patch = patch_dir.path().join("change.diff");
    std::fs::write(&patch, &diff).unwrap();
    let patch = patch.to_str().unwrap();
    let check = git_ok(dir, &["apply", "--check", patch]);
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(!stderr.contains("error"), "git apply --check complained:\n{stderr}\n{diff}");
    git_ok(dir, &["apply", patch]);

    for c in changes {
        let file = dir.join(&c.path);
        match &c.new {
            Some(new) => {
                let got = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}\n{diff}", c.path));
                assert_eq!(String::from_utf8_lossy(&got), *new, "{} after git apply\n{diff}", c.path);
                assert_eq!(got, new.as_bytes(), "{}: bytes differ", c.path);
            }
            None => assert!(!file.exists(), "{} still exists\n{diff}", c.path),
        }
    }
    // Applying it again must fail: the diff really changes something.
    assert!(!git(dir, &["apply", "--check", patch]).status.success(), "diff applies twice:\n{diff}");

    git_ok(dir, &["add", "-A"]);
    let theirs = git_ok(
        dir,
        &["-c", "core.quotePath=false", "diff", "--cached", "--no-color", "--no-ext-diff", "--no-renames", "-U3"],
    );
    (diff, normalize_git_diff(&String::from_utf8(theirs.stdout).unwrap()))
}

/// git's diff without the parts this module leaves out.
fn normalize_git_diff(diff: &str) -> String {
    let mut out = String::new();
    for line in diff.split_inclusive('\n') {
        if line.starts_with("index ") {
            continue;
        }
        if line.starts_with("@@ -")
            && let Some(end) = line[2..].find("@@")
        {
            out.push_str(&line[..end + 4]);
            out.push('\n');
            continue;
        }
        out.push_str(line);
    }
    out
}

/// Apply in a repository and also expect exactly git's own diff.
fn same_as_git(changes: &[FileChange]) -> String {
    let (ours, theirs) = apply_in_repo(changes);
    assert_eq!(ours, theirs, "our diff differs from git's");
    ours
}

fn numbered(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("line {i}\n")).collect()
}

#[test]
fn modified_file_with_several_hunks() {
    let old = numbered(40);
    let mut new = old.clone();
    new[2] = "changed 3\n".to_string();
    new[5] = "changed 6\n".to_string(); // close to line 3: same hunk
    new.insert(20, "inserted after 20\n".to_string());
    new.remove(35); // line 35
    new.push("appended\n".to_string());
    let change = change("mod.py", Some(&old.concat()), Some(&new.concat()));
    let diff = same_as_git(std::slice::from_ref(&change));
    assert_eq!(diff.matches("\n@@ ").count(), 3, "{diff}");
    assert!(diff.starts_with("diff --git a/mod.py b/mod.py\n--- a/mod.py\n+++ b/mod.py\n@@ -1,9 +1,9 @@\n"));
}

#[test]
fn hunk_headers_follow_git() {
    let diff = unified_diff(&[change("a.py", Some("x\n"), Some("y\n"))]);
    assert_eq!(diff, "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x\n+y\n");
    let diff = unified_diff(&[change("a.py", Some(""), Some("y\n"))]);
    assert!(diff.contains("\n@@ -0,0 +1 @@\n+y\n"), "{diff}");
    let diff = unified_diff(&[change("a.py", Some("x\ny\n"), Some(""))]);
    assert!(diff.contains("\n@@ -1,2 +0,0 @@\n-x\n-y\n"), "{diff}");
}

#[test]
fn crlf_lines_keep_their_endings() {
    let old = "import requests\r\n\r\ndef get(url):\r\n    return requests.get(url)\r\n\r\nx = 1\r\n";
    let new = "import httpx\r\n\r\nasync def get(url):\r\n    async with httpx.AsyncClient() as c:\r\n        return await c.get(url)\r\n\r\nx = 1\r\n";
    let diff = same_as_git(&[change("crlf.py", Some(old), Some(new))]);
    assert!(diff.contains("-import requests\r\n+import httpx\r\n"), "{diff:?}");
    assert!(diff.contains("\n \r\n"), "blank CRLF context keeps its CR: {diff:?}");
}

#[test]
fn crlf_without_final_newline_and_lone_cr() {
    let old = "a\r\nb\rstill b\r\nlast\r";
    let new = "a\r\nB\rstill b\r\nlast\r\n";
    let diff = same_as_git(&[change("odd.py", Some(old), Some(new))]);
    assert!(diff.contains("-last\r\n\\ No newline at end of file\n"), "{diff:?}");
    assert!(diff.ends_with("+last\r\n"), "{diff:?}");
}

#[test]
fn missing_final_newlines() {
    let changes = [
        // Both lack it, the last line changes.
        change("both_changed.py", Some("a\nb\nc"), Some("a\nb\nC")),
        // Both lack it, the last line is context only.
        change("both_context.py", Some("a\nb\nc\nd"), Some("a\nB\nc\nd")),
        // Only the old text lacks it.
        change("old_lacks.py", Some("a\nb\nc"), Some("a\nb\nc\n")),
        // Only the new text lacks it.
        change("new_lacks.py", Some("a\nb\nc\n"), Some("a\nb\nc")),
        // The new text lacks it and gains lines.
        change("new_lacks_more.py", Some("a\n"), Some("a\nb\nc")),
    ];
    let diff = same_as_git(&changes);
    assert!(diff.contains("-c\n\\ No newline at end of file\n+C\n\\ No newline at end of file\n"), "{diff}");
    assert!(diff.contains(" d\n\\ No newline at end of file\n"), "{diff}");
    assert!(diff.contains("-c\n\\ No newline at end of file\n+c\n"), "{diff}");
    assert!(diff.contains("-c\n+c\n\\ No newline at end of file\n"), "{diff}");
}

#[test]
fn new_files() {
    let changes = [
        change("pkg/_async_bridge.py", None, Some("import asyncio\n\n\ndef run(c):\n    return asyncio.run(c)\n")),
        change("no_newline.py", None, Some("x = 1")),
        change("empty.py", None, Some("")),
    ];
    let diff = same_as_git(&changes);
    assert!(
        diff.contains("diff --git a/no_newline.py b/no_newline.py\nnew file mode 100644\n--- /dev/null\n+++ b/no_newline.py\n@@ -0,0 +1 @@\n+x = 1\n\\ No newline at end of file\n"),
        "{diff}"
    );
    assert!(diff.starts_with("diff --git a/empty.py b/empty.py\nnew file mode 100644\ndiff --git"), "{diff}");
}

#[test]
fn deleted_files() {
    let changes = [
        change("gone.py", Some("a\nb\n"), None),
        change("gone_no_newline.py", Some("a\nb"), None),
        change("gone_empty.py", Some(""), None),
    ];
    let diff = same_as_git(&changes);
    assert!(diff.contains("deleted file mode 100644\n--- a/gone.py\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-a\n-b\n"));
}

#[test]
fn non_ascii_content_and_path() {
    let old = "# Größe\nname = 'naïve'\nemoji = '🐍'\n";
    let new = "# Größe\nname = 'naïve café'\nemoji = '🐍🚀'\n";
    let changes = [change("módulo.py", Some(old), Some(new)), change("新しい.py", None, Some("s = '日本語'\n"))];
    let diff = same_as_git(&changes);
    assert!(diff.contains("+name = 'naïve café'\n"), "{diff}");
}

#[test]
fn paths_in_subfolders_with_spaces_and_quotes() {
    let changes = [
        change("src/pkg/sub/deep.py", Some("a = 1\n"), Some("a = 2\n")),
        change("my scripts/run job.py", Some("a\nb\n"), Some("a\nc\n")),
        change("new folder/new file.py", None, Some("x\n")),
        change("old folder/old file.py", Some("x\n"), None),
        change("odd\"name\\.py", Some("x\n"), Some("y\n")),
        change("tab\there.py", None, Some("t\n")),
    ];
    let diff = same_as_git(&changes);
    assert!(diff.contains("diff --git a/my scripts/run job.py b/my scripts/run job.py\n"), "{diff}");
    assert!(diff.contains("--- a/my scripts/run job.py\t\n+++ b/my scripts/run job.py\t\n"), "{diff}");
    assert!(diff.contains("diff --git \"a/odd\\\"name\\\\.py\" \"b/odd\\\"name\\\\.py\"\n"), "{diff}");
    assert!(diff.contains("+++ \"b/tab\\there.py\"\n"), "{diff}");
}

#[test]
fn empty_old_and_new_files() {
    let changes = [
        change("was_empty.py", Some(""), Some("import asyncio\n")),
        change("now_empty.py", Some("import time\n"), Some("")),
    ];
    let diff = same_as_git(&changes);
    assert!(diff.contains("--- a/was_empty.py\n+++ b/was_empty.py\n@@ -0,0 +1 @@\n+import asyncio\n"));
    assert!(diff.contains("--- a/now_empty.py\n+++ b/now_empty.py\n@@ -1 +0,0 @@\n-import time\n"));
}

#[test]
fn sorted_and_unchanged_left_out() {
    let changes = [
        change("z.py", Some("1\n"), Some("2\n")),
        change("same.py", Some("s\n"), Some("s\n")),
        change("a.py", Some("1\n"), Some("2\n")),
        change("nothing.py", None, None),
    ];
    let diff = unified_diff(&changes);
    let files: Vec<&str> = diff.lines().filter(|l| l.starts_with("diff --git")).collect();
    assert_eq!(files, ["diff --git a/a.py b/a.py", "diff --git a/z.py b/z.py"]);
    assert_eq!(unified_diff(&[change("same.py", Some("s\n"), Some("s\n"))]), "");
    assert_eq!(unified_diff(&[]), "");
}

#[test]
fn stat_counts_files_and_lines() {
    let changes = [
        // Lines that look like headers inside hunks must count as lines.
        change("a.py", Some("keep\n-- x\nkeep\n"), Some("keep\n++ y\nkeep\n--- z\n")),
        change("b.py", None, Some("1\n2\n3")),
        change("c.py", Some("gone\n"), None),
        change("d.py", None, Some("")),
        change("e.py", Some("x\r\ny"), Some("x\r\nY\r\n")),
    ];
    let diff = unified_diff(&changes);
    assert_eq!(stat(&diff), (5, 1 + 1 + 3 + 1, 1 + 1 + 1), "{diff}");
    assert_eq!(stat(""), (0, 0, 0));
    // A plain diff without `diff --git` lines.
    let plain = "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-a\n+b\n c\n--- a/y\n+++ b/y\n@@ -1 +1,2 @@\n y\n+z\n";
    assert_eq!(stat(plain), (2, 2, 1));
}

#[test]
fn colorize_adds_colours_and_keeps_the_text() {
    let changes = [
        change("a.py", Some("keep\n-- x\nkeep\nlast"), Some("keep\n++ y\nkeep\nlast\n")),
        change("crlf.py", Some("a\r\nb\r\n"), Some("a\r\nc\r\n")),
        change("new.py", None, Some("n\n")),
    ];
    let diff = unified_diff(&changes);
    let colored = colorize(&diff);
    assert_ne!(colored, diff);
    assert_eq!(anstream::adapter::strip_str(&colored).to_string(), diff);
    let bold = Style::new().bold();
    let red = AnsiColor::Red.on_default();
    let green = AnsiColor::Green.on_default();
    let cyan = AnsiColor::Cyan.on_default();
    assert!(colored.contains(&format!("{bold}diff --git a/a.py b/a.py{bold:#}\n")), "{colored:?}");
    assert!(colored.contains(&format!("{bold}new file mode 100644{bold:#}\n")), "{colored:?}");
    assert!(colored.contains(&format!("{cyan}@@ -1,4 +1,4 @@{cyan:#}\n")), "{colored:?}");
    assert!(colored.contains(&format!("{red}--- x{red:#}\n")), "{colored:?}");
    assert!(colored.contains(&format!("{green}+++ y{green:#}\n")), "{colored:?}");
    assert!(colored.contains(&format!("{red}-b{red:#}\r\n")), "reset before CRLF: {colored:?}");
    assert!(colored.contains("\n keep\n"), "context stays plain: {colored:?}");
    // Function context after a hunk header stays plain.
    let with_context = "@@ -1 +1 @@ def f():\n-a\n+b\n";
    assert_eq!(
        colorize(with_context),
        format!("{cyan}@@ -1 +1 @@{cyan:#} def f():\n{red}-a{red:#}\n{green}+b{green:#}\n")
    );
}
