//! Unified diffs of drafted changes, in git's format.
//!
//! [`unified_diff`] renders a set of [`FileChange`]s as one patch that `git apply` accepts at the
//! base commit: `diff --git` headers, `new file mode` / `deleted file mode` for created and removed
//! files, hunks with three lines of context and `\ No newline at end of file` markers. Lines are
//! split on `\n` only and written with their own endings, so CRLF files (and stray `\r`s) come back
//! byte for byte. [`colorize`] adds terminal colours and [`stat`] counts files and lines for
//! summaries. Nothing here touches the file system.
//!
//! Left out on purpose: `index <old>..<new>` lines (git apply needs them only for binary patches
//! and `--3way`) and the function context git prints after a hunk header. Every file is written
//! with mode 100644; deleting an executable file makes git apply warn about the mode, not fail.

use std::fmt::Write as _;
use std::ops::Range;

use anstyle::{AnsiColor, Style};
use similar::{Algorithm, DiffTag, capture_diff_slices, group_diff_ops};

/// Lines of context around each change, as git's default.
const CONTEXT: usize = 3;
/// The marker after a line that has no newline (the last line of a file).
const NO_NEWLINE: &str = "\\ No newline at end of file\n";
/// The mode written for created and deleted files.
const FILE_MODE: &str = "100644";

/// One file's change: `old` is None for a new file; `new` None for a deleted file.
#[derive(Debug, Clone)]
pub struct FileChange {
    /// Path relative to the repository root, with forward slashes.
    pub path: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// The whole change as one unified diff in git's format (`diff --git a/p b/p`, `new file mode 100644`,
/// `--- /dev/null`, `+++ b/p`, hunks with 3 lines of context, `\ No newline at end of file` where needed).
/// Files are sorted by path; unchanged files are left out. Lines keep their own endings (CRLF files stay CRLF).
pub fn unified_diff(changes: &[FileChange]) -> String {
    let mut sorted: Vec<&FileChange> = changes.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut out = String::new();
    for change in sorted {
        write_file(&mut out, change);
    }
    out
}

/// Append one file's part of the diff (nothing when the file does not change).
fn write_file(out: &mut String, change: &FileChange) {
    let (old, new) = (change.old.as_deref(), change.new.as_deref());
    if old == new {
        return;
    }
    let a = quote_path("a/", &change.path);
    let b = quote_path("b/", &change.path);
    let _ = writeln!(out, "diff --git {a} {b}");
    match (old, new) {
        (None, _) => {
            let _ = writeln!(out, "new file mode {FILE_MODE}");
        }
        (_, None) => {
            let _ = writeln!(out, "deleted file mode {FILE_MODE}");
        }
        _ => {}
    }
    let old_lines = split_lines(old.unwrap_or(""));
    let new_lines = split_lines(new.unwrap_or(""));
    if old_lines.is_empty() && new_lines.is_empty() {
        // An empty file created or deleted: git writes the header alone.
        return;
    }
    write_label(out, "---", if old.is_some() { &a } else { "/dev/null" });
    write_label(out, "+++", if new.is_some() { &b } else { "/dev/null" });
    let ops = capture_diff_slices(Algorithm::Myers, &old_lines, &new_lines);
    for group in group_diff_ops(ops, CONTEXT) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else { continue };
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        let _ = writeln!(out, "@@ -{} +{} @@", hunk_range(old_range), hunk_range(new_range));
        for op in &group {
            let (tag, old_part, new_part) = op.as_tag_tuple();
            match tag {
                DiffTag::Equal => write_lines(out, ' ', &old_lines[old_part]),
                DiffTag::Delete => write_lines(out, '-', &old_lines[old_part]),
                DiffTag::Insert => write_lines(out, '+', &new_lines[new_part]),
                DiffTag::Replace => {
                    write_lines(out, '-', &old_lines[old_part]);
                    write_lines(out, '+', &new_lines[new_part]);
                }
            }
        }
    }
}

/// Lines with their endings; only `\n` ends a line (as for git), so a lone `\r` stays inside one.
fn split_lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// A `---` / `+++` line. Like git, a name with a space gets a trailing tab, so that readers which
/// stop a name at whitespace followed by a timestamp see where it ends.
fn write_label(out: &mut String, marker: &str, label: &str) {
    let tab = if label.contains(' ') { "\t" } else { "" };
    let _ = writeln!(out, "{marker} {label}{tab}");
}

/// A hunk header's range as git writes it: `start,count`, `start` alone for one line, and the line
/// before the hunk (0 at the top) when the range is empty.
fn hunk_range(range: Range<usize>) -> String {
    match range.len() {
        0 => format!("{},0", range.start),
        1 => format!("{}", range.start + 1),
        len => format!("{},{len}", range.start + 1),
    }
}

/// Body lines with their sign; a line without a newline (only ever a file's last) gets the marker.
fn write_lines(out: &mut String, sign: char, lines: &[&str]) {
    for line in lines {
        out.push(sign);
        out.push_str(line);
        if !line.ends_with('\n') {
            out.push('\n');
            out.push_str(NO_NEWLINE);
        }
    }
}

/// `prefix` + `path`, quoted the way git quotes names (C style, in double quotes) when the path holds
/// a double quote, a backslash or a control character. Non-ASCII is left as it is (git's
/// `core.quotePath=false`), which git apply reads the same and people read better.
fn quote_path(prefix: &str, path: &str) -> String {
    let needs_quotes = |c: char| c == '"' || c == '\\' || c.is_ascii_control();
    if !path.chars().any(needs_quotes) {
        return format!("{prefix}{path}");
    }
    let mut quoted = String::from("\"");
    for c in prefix.chars().chain(path.chars()) {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\x07' => quoted.push_str("\\a"),
            '\x08' => quoted.push_str("\\b"),
            '\t' => quoted.push_str("\\t"),
            '\n' => quoted.push_str("\\n"),
            '\x0b' => quoted.push_str("\\v"),
            '\x0c' => quoted.push_str("\\f"),
            '\r' => quoted.push_str("\\r"),
            c if c.is_ascii_control() => {
                let _ = write!(quoted, "\\{:03o}", c as u32);
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// The same diff with ANSI colours for a terminal (headers bold, hunk headers cyan, removals red, additions green).
/// Use the `anstyle` crate (already a dependency) for the escape codes.
pub fn colorize(diff: &str) -> String {
    let header = Style::new().bold();
    let hunk = AnsiColor::Cyan.on_default();
    let removed = AnsiColor::Red.on_default();
    let added = AnsiColor::Green.on_default();
    let mut reader = LineReader::default();
    let mut out = String::with_capacity(diff.len() + diff.len() / 4);
    for line in diff.split_inclusive('\n') {
        let (body, ending) = split_ending(line);
        match reader.read(body) {
            Kind::FileStart | Kind::OldName | Kind::NewName | Kind::Header => paint(&mut out, header, body),
            Kind::Hunk => {
                // Only `@@ -a,b +c,d @@` is coloured; function context after it stays plain.
                let end = body[2..].find("@@").map_or(body.len(), |i| i + 4);
                paint(&mut out, hunk, &body[..end]);
                out.push_str(&body[end..]);
            }
            Kind::Removed => paint(&mut out, removed, body),
            Kind::Added => paint(&mut out, added, body),
            Kind::Context | Kind::NoNewline | Kind::Other => out.push_str(body),
        }
        out.push_str(ending);
    }
    out
}

/// `text` between the style's escape code and a reset (nothing for an empty text).
fn paint(out: &mut String, style: Style, text: &str) {
    if text.is_empty() {
        out.push_str(text);
    } else {
        let _ = write!(out, "{style}{text}{style:#}");
    }
}

/// A line split into its text and its ending (`\r\n`, `\n` or nothing), so colours close before it.
fn split_ending(line: &str) -> (&str, &str) {
    let cut = if line.ends_with("\r\n") {
        line.len() - 2
    } else if line.ends_with('\n') {
        line.len() - 1
    } else {
        line.len()
    };
    line.split_at(cut)
}

/// Counts for summaries: (files changed, lines added, lines removed).
pub fn stat(diff: &str) -> (usize, usize, usize) {
    let mut reader = LineReader::default();
    let (mut files, mut added, mut removed) = (0, 0, 0);
    // A `---` line starts a file only in a plain diff; in git's format `diff --git` already did.
    let mut git_header = false;
    for line in diff.split_inclusive('\n') {
        match reader.read(split_ending(line).0) {
            Kind::FileStart => {
                files += 1;
                git_header = true;
            }
            Kind::OldName => {
                if !git_header {
                    files += 1;
                }
                git_header = false;
            }
            Kind::Hunk => git_header = false,
            Kind::Added => added += 1,
            Kind::Removed => removed += 1,
            _ => {}
        }
    }
    (files, added, removed)
}

/// What a line of a unified diff is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `diff --git a/p b/p`.
    FileStart,
    /// `--- a/p` before the hunks.
    OldName,
    /// `+++ b/p` before the hunks.
    NewName,
    /// Other lines of a file's header (`new file mode`, `index`, ...).
    Header,
    /// `@@ -a,b +c,d @@`.
    Hunk,
    Context,
    Removed,
    Added,
    /// `\ No newline at end of file`.
    NoNewline,
    /// Anything else (text before the first file).
    Other,
}

/// Reads a diff line by line, following the hunk headers' counts so that a removed line reading
/// `-- x` or an added one reading `++ y` is never taken for a file header.
#[derive(Default)]
struct LineReader {
    /// Old and new lines the current hunk still holds.
    old_left: usize,
    new_left: usize,
    /// Inside a file's header (after `diff --git`, before the first hunk).
    in_header: bool,
}

impl LineReader {
    /// Classify one line (without its ending).
    fn read(&mut self, line: &str) -> Kind {
        if line.starts_with('\\') {
            return Kind::NoNewline;
        }
        if self.old_left > 0 || self.new_left > 0 {
            match line.as_bytes().first() {
                // An empty line is blank context (some tools drop the space).
                Some(b' ') | None => {
                    self.old_left = self.old_left.saturating_sub(1);
                    self.new_left = self.new_left.saturating_sub(1);
                    return Kind::Context;
                }
                Some(b'-') if self.old_left > 0 => {
                    self.old_left -= 1;
                    return Kind::Removed;
                }
                Some(b'+') if self.new_left > 0 => {
                    self.new_left -= 1;
                    return Kind::Added;
                }
                // Malformed (the counts were wrong): leave the hunk and read it as a header line.
                _ => (self.old_left, self.new_left) = (0, 0),
            }
        }
        if line.starts_with("diff --git ") {
            self.in_header = true;
            Kind::FileStart
        } else if let Some((old, new)) = parse_hunk_header(line) {
            (self.old_left, self.new_left) = (old, new);
            self.in_header = false;
            Kind::Hunk
        } else if line.starts_with("--- ") {
            Kind::OldName
        } else if line.starts_with("+++ ") {
            Kind::NewName
        } else if self.in_header {
            Kind::Header
        } else {
            Kind::Other
        }
    }
}

/// The old and new line counts of a hunk header `@@ -a[,b] +c[,d] @@...`.
fn parse_hunk_header(line: &str) -> Option<(usize, usize)> {
    let rest = line.strip_prefix("@@ -")?;
    let (old, rest) = rest.split_once(" +")?;
    let (new, _) = rest.split_once(" @@")?;
    let count = |spec: &str| -> Option<usize> {
        match spec.split_once(',') {
            Some((start, count)) => {
                start.parse::<usize>().ok()?;
                count.parse().ok()
            }
            None => spec.parse::<usize>().ok().map(|_| 1),
        }
    };
    Some((count(old)?, count(new)?))
}

#[cfg(test)]
mod tests {
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
}
