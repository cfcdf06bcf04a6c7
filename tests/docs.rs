//! The documentation keeps up with the code: every configuration key of
//! `config/default.toml` has its row in `docs/configuration.md`, every finding has
//! its heading in `docs/findings.md`, and every relative link of `README.md` and
//! `docs/*.md` points to a file (and heading) that exists.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use refactor_async::analysis::rules::all_rules;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The lines of a Markdown text outside fenced code blocks, with their 1-based numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut in_fence = false;
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if !in_fence {
            lines.push((i + 1, line));
        }
    }
    lines
}

/// The headings of a Markdown text (outside code blocks), without their `#`s.
fn headings(text: &str) -> Vec<String> {
    prose_lines(text)
        .into_iter()
        .filter_map(|(_, line)| {
            let hashes = line.len() - line.trim_start_matches('#').len();
            let rest = &line[hashes..];
            ((1..=6).contains(&hashes) && rest.starts_with(' ')).then(|| rest.trim().to_string())
        })
        .collect()
}

/// The configuration keys of `config/default.toml`, as `section.key`. A nested
/// table (`[catalog.returns]`) is a key of its section; a top-level value that is
/// not a table is a key on its own.
fn default_config_keys() -> BTreeSet<String> {
    let text = read(&root().join("config/default.toml"));
    let table: toml::Table = text.parse().expect("config/default.toml parses");
    let mut keys = BTreeSet::new();
    for (section, value) in &table {
        match value {
            toml::Value::Table(inner) => keys.extend(inner.keys().map(|key| format!("{section}.{key}"))),
            _ => {
                keys.insert(section.clone());
            }
        }
    }
    keys
}

/// The keys `docs/configuration.md` documents: the first cell of a table row,
/// written exactly as `` | `section.key` | ``.
fn documented_config_keys(page: &str) -> BTreeSet<String> {
    prose_lines(page)
        .into_iter()
        .filter_map(|(_, line)| {
            let cell = line.strip_prefix("| `")?;
            let (key, rest) = cell.split_once('`')?;
            rest.trim_start().starts_with('|').then(|| key.to_string())
        })
        .collect()
}

#[test]
fn every_configuration_key_is_documented() {
    let keys = default_config_keys();
    assert!(keys.len() > 40, "config/default.toml should have its tables of keys, found {keys:?}");
    let documented = documented_config_keys(&read(&root().join("docs/configuration.md")));
    let missing: Vec<_> = keys.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "docs/configuration.md has no row for these keys of config/default.toml: {missing:?}\n\
         add a row `| \\`section.key\\` | default | meaning |` to the section's table"
    );
    let unknown: Vec<_> = documented.difference(&keys).collect();
    assert!(unknown.is_empty(), "docs/configuration.md documents keys config/default.toml does not have: {unknown:?}");
}

#[test]
fn every_finding_has_a_heading_in_the_findings_reference() {
    let page = read(&root().join("docs/findings.md"));
    let headings = headings(&page);
    let missing: Vec<_> = all_rules()
        .into_iter()
        .filter(|rule| !headings.iter().any(|h| h.split_whitespace().next() == Some(rule.code)))
        .map(|rule| rule.code)
        .collect();
    assert!(
        missing.is_empty(),
        "docs/findings.md has no heading for {missing:?}: run `UPDATE_README=1 cargo test --lib findings_reference`"
    );
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as `-`.
fn slug(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown file's headings, numbered as GitHub numbers repeats.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for heading in headings(text) {
        let base = slug(&heading);
        let mut anchor = base.clone();
        let mut n = 0;
        while seen.contains(&anchor) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        seen.insert(anchor);
    }
    seen
}

/// The targets of the inline links (and images) of one line, code spans left out.
fn link_targets(line: &str) -> Vec<String> {
    let mut prose = String::new();
    for (i, part) in line.split('`').enumerate() {
        if i % 2 == 0 {
            prose.push_str(part);
        }
    }
    let mut targets = Vec::new();
    let mut rest = prose.as_str();
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let Some(end) = after.find(')') else { break };
        targets.push(after[..end].trim().to_string());
        rest = &after[end..];
    }
    targets
}

fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    assert!(!docs.is_empty(), "docs/ has no pages");
    files.extend(docs);
    files
}

#[test]
fn every_relative_link_points_to_an_existing_file() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in markdown_files() {
        let text = read(&file);
        let shown = file.strip_prefix(root()).unwrap().display().to_string();
        for (number, line) in prose_lines(&text) {
            for target in link_targets(line) {
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                checked += 1;
                let (path, fragment) = match target.split_once('#') {
                    Some((path, fragment)) => (path, Some(fragment)),
                    None => (target.as_str(), None),
                };
                let linked = if path.is_empty() { file.clone() } else { file.parent().unwrap().join(path) };
                if !linked.exists() {
                    broken.push(format!("{shown}:{number}: `{target}`: no such file"));
                    continue;
                }
                if let Some(fragment) = fragment
                    && linked.extension().is_some_and(|e| e == "md")
                    && !anchors(&read(&linked)).contains(fragment)
                {
                    broken.push(format!("{shown}:{number}: `{target}`: no such heading"));
                }
            }
        }
    }
    assert!(checked > 20, "found only {checked} relative links: is the link parser broken?");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}
