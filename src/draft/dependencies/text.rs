//! Minimal text edits of dependency declarations: one entry added to a list
//! (`["requests", "click"]`, in TOML or Python), to a TOML table, to an INI
//! value or section, or to a requirements file, in the style of the entries
//! around it and touching nothing else (comments, order, layout stay).

use super::normalise;

/// A string element of a bracketed list, as written.
#[derive(Debug, Clone)]
pub struct Item {
    /// Byte range of the literal, quotes included.
    pub start: usize,
    pub end: usize,
    pub value: String,
    pub quote: char,
}

/// A bracketed list of a TOML or Python file.
#[derive(Debug, Clone)]
pub struct List {
    pub open: usize,
    pub close: usize,
    pub items: Vec<Item>,
    /// Holds something other than plain string literals (a name, a call, an f-string...).
    pub not_literal: bool,
}

/// How a new entry is written: its neighbours' quote, and a version floor when
/// they carry versions.
#[derive(Debug, Clone)]
pub struct Style {
    pub quote: char,
    pub versioned: bool,
    /// Spaces around the operator (`requests >= 2`).
    pub spaced: bool,
}

impl Style {
    /// The style of these requirement strings: a floor when at least half of
    /// them pin a version (an empty list gets none).
    pub fn of<'v>(values: impl Iterator<Item = &'v str>, quote: char) -> Style {
        let (mut total, mut pinned, mut spaced) = (0, 0, false);
        for value in values {
            total += 1;
            if let Some(at) = value.find(['<', '>', '=', '~', '!']) {
                pinned += 1;
                spaced |= pinned == 1 && value[..at].ends_with(' ');
            }
        }
        Style { quote, versioned: total > 0 && pinned * 2 >= total, spaced }
    }

    /// `httpx>=0.27`, `httpx >= 0.27` or `httpx`.
    pub fn requirement(&self, name: &str, floor: &str) -> String {
        match (self.versioned, self.spaced) {
            (false, _) => name.to_string(),
            (true, false) => format!("{name}>={floor}"),
            (true, true) => format!("{name} >= {floor}"),
        }
    }
}

/// The list whose `[` is at `open`: its string items and where it closes.
/// Comments and nested brackets (TOML inline tables) are skipped.
pub fn scan_list(text: &str, open: usize) -> Option<List> {
    let bytes = text.as_bytes();
    if bytes.get(open) != Some(&b'[') {
        return None;
    }
    let mut list = List { open, close: 0, items: Vec::new(), not_literal: false };
    let mut depth = 0usize;
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => i = text[i..].find('\n').map_or(bytes.len(), |n| i + n),
            b'"' | b'\'' => {
                let end = string_end(text, i)?;
                if depth == 0 {
                    let quote = bytes[i] as char;
                    list.items.push(Item { start: i, end, value: text[i + 1..end - 1].to_string(), quote });
                }
                i = end;
                continue;
            }
            b'[' | b'{' | b'(' => {
                list.not_literal |= depth == 0 && bytes[i] != b'{';
                depth += 1;
            }
            b']' if depth == 0 => {
                list.close = i;
                return Some(list);
            }
            b']' | b'}' | b')' => depth = depth.saturating_sub(1),
            b',' | b' ' | b'\t' | b'\r' | b'\n' => {}
            _ => list.not_literal |= depth == 0,
        }
        i += 1;
    }
    None
}

/// The byte after the string literal starting at `start` (no triple quotes:
/// requirement strings are one line).
fn string_end(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'\n' => return None,
            b if b == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The requirement's distribution name, normalised (`HTTPX[http2]>=1` → `httpx`).
pub fn requirement_name(spec: &str) -> String {
    let spec = spec.trim();
    let end = spec.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))).unwrap_or(spec.len());
    normalise(&spec[..end])
}

/// Whether names are in order (two or more entries: one says nothing about order).
fn sorted(names: &[String]) -> bool {
    names.len() >= 2 && names.windows(2).all(|w| w[0] <= w[1])
}

fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

fn next_line_start(text: &str, at: usize) -> usize {
    text[at..].find('\n').map_or(text.len(), |i| at + i + 1)
}

fn indent_of(text: &str, at: usize) -> &str {
    let line = &text[line_start(text, at)..];
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

/// The file's line ending.
pub fn newline(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

fn insert(text: &str, at: usize, what: &str) -> String {
    format!("{}{what}{}", &text[..at], &text[at..])
}

/// `text` with `entry` (a requirement string, unquoted) added to the list at
/// `open`: in sorted place when the list is sorted, else at its end; one entry
/// per line when the list is written so, else inline.
pub fn add_to_list(text: &str, open: usize, entry: &str) -> Option<String> {
    let list = scan_list(text, open)?;
    let quote = list.items.first().map_or('"', |i| i.quote);
    let literal = format!("{quote}{entry}{quote}");
    let names: Vec<String> = list.items.iter().map(|i| requirement_name(&i.value)).collect();
    let one_per_line = list.items.iter().enumerate().all(|(n, item)| {
        let previous_end = if n == 0 { list.open } else { list.items[n - 1].end };
        text[previous_end..item.start].contains('\n')
    }) && text[line_start(text, list.close)..list.close].trim().is_empty();
    let nl = newline(text);
    let new_name = requirement_name(entry);
    let before = sorted(&names).then(|| list.items.iter().zip(&names).find(|(_, n)| **n > new_name)).flatten();
    if one_per_line {
        let indent = match list.items.first() {
            Some(item) => indent_of(text, item.start).to_string(),
            None => format!("{}    ", indent_of(text, list.open)),
        };
        if let Some((item, _)) = before {
            return Some(insert(text, line_start(text, item.start), &format!("{indent}{literal},{nl}")));
        }
        let Some(last) = list.items.last() else {
            return Some(insert(text, line_start(text, list.close), &format!("{indent}{literal},{nl}")));
        };
        let trailing_comma = text[last.end..].trim_start_matches([' ', '\t']).starts_with(',');
        let at = next_line_start(text, last.end);
        if trailing_comma {
            return Some(insert(text, at, &format!("{indent}{literal},{nl}")));
        }
        let with_line = insert(text, at, &format!("{indent}{literal}{nl}"));
        return Some(insert(&with_line, last.end, ","));
    }
    match (before, list.items.last()) {
        (Some((item, _)), _) => Some(insert(text, item.start, &format!("{literal}, "))),
        (None, Some(last)) => Some(insert(text, last.end, &format!(", {literal}"))),
        (None, None) => Some(insert(text, list.open + 1, &literal)),
    }
}

/// A `[section]` of a TOML or INI file: where its body starts and ends.
#[derive(Debug, Clone, Copy)]
pub struct Section {
    pub body: usize,
    pub end: usize,
}

/// The `[name]` section (header compared without spaces), if the file has one.
pub fn find_section(text: &str, name: &str) -> Option<Section> {
    let mut at = 0;
    let mut found: Option<usize> = None;
    while at < text.len() {
        let next = next_line_start(text, at);
        let line = text[at..next].trim();
        if line.starts_with('[') {
            if let Some(body) = found {
                return Some(Section { body, end: at });
            }
            let header = line.split('#').next().unwrap_or("").trim();
            let inner = header.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
            if inner.is_some_and(|h| !h.starts_with('[') && h.replace([' ', '\t'], "") == name) {
                found = Some(next);
            }
        }
        at = next;
    }
    found.map(|body| Section { body, end: text.len() })
}

/// The lines of a section, as (start, line without its newline).
fn section_lines(text: &str, section: Section) -> Vec<(usize, &str)> {
    let mut lines = Vec::new();
    let mut at = section.body;
    while at < section.end {
        let next = next_line_start(text, at);
        lines.push((at, text[at..next].trim_end_matches(['\n', '\r'])));
        at = next;
    }
    lines
}

/// The key a `key = value` (or INI `key: value`) line at the start of a line sets.
fn line_key(line: &str) -> Option<&str> {
    if line.starts_with([' ', '\t', '#', ';', '[']) {
        return None;
    }
    let end = line.find(['=', ':'])?;
    let key = line[..end].trim().trim_matches(['"', '\'']);
    (!key.is_empty()).then_some(key)
}

/// The byte of the value of `key` in the section (just after `=`).
pub fn key_value(text: &str, section: Section, key: &str) -> Option<usize> {
    section_lines(text, section).into_iter().find_map(|(start, line)| {
        (line_key(line) == Some(key)).then(|| start + line.find(['=', ':']).expect("a key line has a separator") + 1)
    })
}

/// The `[` of the list value of `key` in the section.
pub fn key_list(text: &str, section: Section, key: &str) -> Option<usize> {
    let value = key_value(text, section, key)?;
    let offset = text[value..].len() - text[value..].trim_start_matches([' ', '\t']).len();
    (text.as_bytes().get(value + offset) == Some(&b'[')).then_some(value + offset)
}

/// Where a new last line of the section goes: after its last line that is
/// neither blank nor a comment (comments before the next header belong to it).
fn section_append_point(text: &str, section: Section) -> usize {
    section_lines(text, section)
        .into_iter()
        .rev()
        .find(|(_, line)| {
            let line = line.trim();
            !line.is_empty() && !line.starts_with('#') && !line.starts_with(';')
        })
        .map_or(section.body, |(start, _)| next_line_start(text, start))
}

/// `text` with `line` (no newline) added to the section as its last setting.
pub fn append_to_section(text: &str, section: Section, line: &str) -> String {
    let at = section_append_point(text, section);
    let nl = newline(text);
    let lead = if at > 0 && !text[..at].ends_with('\n') { nl } else { "" };
    insert(text, at, &format!("{lead}{line}{nl}"))
}

/// `text` with a `name = version` entry added to a TOML table of dependencies
/// (Poetry): in sorted place when its entries (`python` aside) are sorted, else
/// last; quoted, spaced and versioned like its neighbours (`"*"` when they
/// give none).
pub fn add_to_table(text: &str, section: Section, name: &str, floor: &str) -> String {
    let entries: Vec<(usize, &str, &str)> = section_lines(text, section)
        .into_iter()
        .filter_map(|(start, line)| line_key(line).map(|key| (start, key, line)))
        .filter(|(_, key, _)| *key != "python")
        .collect();
    let versioned = entries.iter().any(|(_, _, line)| {
        let value = line.split_once('=').map_or("", |(_, v)| v.trim());
        value.trim_matches(['"', '\'']) != "*"
    });
    let (quote, separator) = entries.first().map_or(('"', " = ".to_string()), |(_, _, line)| {
        let (left, right) = line.split_once('=').unwrap_or((line, ""));
        let value = right.trim_start_matches([' ', '\t']);
        let quote = if value.starts_with('\'') { '\'' } else { '"' };
        let before = &left[left.trim_end_matches([' ', '\t']).len()..];
        let after = &right[..right.len() - value.len()];
        (quote, format!("{before}={after}"))
    });
    let version = if versioned { format!(">={floor}") } else { "*".to_string() };
    let line = format!("{name}{separator}{quote}{version}{quote}");
    let names: Vec<String> = entries.iter().map(|(_, key, _)| normalise(key)).collect();
    let new_name = normalise(name);
    if sorted(&names)
        && let Some((start, _, _)) = entries.iter().zip(&names).find(|(_, n)| **n > new_name).map(|(e, _)| e)
    {
        return insert(text, *start, &format!("{line}{}", newline(text)));
    }
    append_to_section(text, section, &line)
}

/// An INI value of one requirement per line (`install_requires =` in setup.cfg):
/// its entries, as (start of line, requirement).
fn ini_entries(text: &str, section: Section, key: &str) -> Option<(usize, Vec<(usize, String)>)> {
    let lines = section_lines(text, section);
    let index = lines.iter().position(|(_, line)| line_key(line) == Some(key))?;
    let (key_start, key_line) = lines[index];
    let mut entries = Vec::new();
    let inline = key_line[key_line.find(['=', ':'])? + 1..].trim();
    if !inline.is_empty() {
        entries.push((key_start, inline.to_string()));
    }
    for (start, line) in &lines[index + 1..] {
        let trimmed = line.trim();
        if !line.starts_with([' ', '\t']) && !trimmed.is_empty() {
            break;
        }
        if !trimmed.is_empty() && !trimmed.starts_with('#') && !trimmed.starts_with(';') {
            entries.push((*start, trimmed.to_string()));
        }
    }
    Some((key_start, entries))
}

/// The requirements an INI value of `key` lists (setup.cfg's `install_requires`).
pub fn ini_requirements(text: &str, section: Section, key: &str) -> Option<Vec<String>> {
    let (_, entries) = ini_entries(text, section, key)?;
    Some(entries.iter().flat_map(|(_, e)| e.split(';').map(str::trim).map(str::to_string)).collect())
}

/// `text` with `entry` added to the INI value of `key` as one more indented
/// line (in sorted place when the lines are sorted); `None` when the value is
/// written on one line with `;` separators (not a layout to add lines to).
pub fn add_to_ini_value(text: &str, section: Section, key: &str, entry: &str) -> Option<String> {
    let (key_start, entries) = ini_entries(text, section, key)?;
    let continuation: Vec<&(usize, String)> = entries.iter().filter(|(start, _)| *start != key_start).collect();
    if entries.iter().any(|(start, e)| *start == key_start && e.contains(';')) {
        return None;
    }
    let indent = continuation.first().map_or("    ".to_string(), |(start, _)| indent_of(text, *start).to_string());
    let nl = newline(text);
    let line = format!("{indent}{entry}{nl}");
    let names: Vec<String> = continuation.iter().map(|(_, e)| requirement_name(e)).collect();
    let new_name = requirement_name(entry);
    if sorted(&names)
        && let Some(((start, _), _)) = continuation.iter().zip(&names).find(|(_, n)| **n > new_name)
    {
        return Some(insert(text, *start, &line));
    }
    let after = continuation.last().map_or(key_start, |(start, _)| *start);
    let at = next_line_start(text, after);
    let lead = if !text[..at].ends_with('\n') { nl } else { "" };
    Some(insert(text, at, &format!("{lead}{line}")))
}

/// The requirements of a requirements file, and the files it includes (`-r base.txt`).
pub fn requirements_lines(text: &str) -> (Vec<String>, Vec<String>) {
    let mut names = Vec::new();
    let mut includes = Vec::new();
    for line in text.lines() {
        let line = line.split(" #").next().unwrap_or("").trim();
        if let Some(file) = line.strip_prefix("-r").or_else(|| line.strip_prefix("--requirement")) {
            includes.push(file.trim_start_matches([' ', '=']).trim().to_string());
        } else if !line.is_empty() && !line.starts_with('#') && !line.starts_with('-') {
            names.push(line.to_string());
        }
    }
    (names, includes)
}

/// `text` (a requirements file) with `name` added: in sorted place when its
/// requirements are sorted, else last; with a floor when they carry versions.
pub fn add_to_requirements(text: &str, name: &str, floor: &str) -> String {
    let (entries, _) = requirements_lines(text);
    let style = Style::of(entries.iter().map(String::as_str), '"');
    let nl = newline(text);
    let line = format!("{}{nl}", style.requirement(name, floor));
    let names: Vec<String> = entries.iter().map(|e| requirement_name(e)).collect();
    let new_name = normalise(name);
    if sorted(&names)
        && let Some(entry) = entries.iter().zip(&names).find(|(_, n)| **n > new_name).map(|(e, _)| e)
    {
        let mut at = 0;
        for l in text.split_inclusive('\n') {
            if l.trim() == entry.as_str() || l.split(" #").next().unwrap_or("").trim() == entry.as_str() {
                return insert(text, at, &line);
            }
            at += l.len();
        }
    }
    let lead = if !text.is_empty() && !text.ends_with('\n') { nl } else { "" };
    format!("{text}{lead}{line}")
}
