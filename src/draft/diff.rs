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
#[path = "diff_tests.rs"]
mod tests;
