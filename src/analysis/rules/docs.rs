//! Rule documentation, taken from the doc comment of each rule's source file, so
//! the findings reference (`docs/findings.md`) and SARIF help are generated from one text.

use super::RuleInfo;

/// The source of every rule file, embedded at build time.
const SOURCES: &[(&str, &str)] = &[
    ("RA101", include_str!("blocking_call_in_sync_function.rs")),
    ("RA102", include_str!("transitively_blocking_function.rs")),
    ("RA103", include_str!("blocking_call_in_async_function.rs")),
    ("RA104", include_str!("blocking_function_called_from_async.rs")),
    ("RA105", include_str!("sequential_calls_in_loop.rs")),
    ("RA106", include_str!("blocking_call_without_timeout.rs")),
    ("RA107", include_str!("sync_bridge_in_async_function.rs")),
    ("RA108", include_str!("cancelled_error_swallowed.rs")),
    ("RA109", include_str!("throttled_loop.rs")),
    ("RA110", include_str!("work_queue_loop.rs")),
    ("RA111", include_str!("independent_consecutive_calls.rs")),
];

/// The Markdown documentation of a rule: its `///` comment above `pub struct`.
pub fn rule_doc(rule: &RuleInfo) -> String {
    let Some((_, source)) = SOURCES.iter().find(|(code, _)| *code == rule.code) else { return String::new() };
    let mut lines: Vec<&str> = Vec::new();
    for line in source.lines() {
        let trimmed = line.trim_start();
        if let Some(doc) = trimmed.strip_prefix("///") {
            lines.push(doc.strip_prefix(' ').unwrap_or(doc));
        } else if trimmed.starts_with("pub struct") && !lines.is_empty() {
            break;
        } else {
            lines.clear();
        }
    }
    lines.join("\n")
}

/// The findings reference of `docs/findings.md`: every rule, with its documentation.
pub fn reference_markdown() -> String {
    let mut out = String::new();
    for rule in super::all_rules() {
        out.push_str(&format!("## {} `{}`\n\n{}.\n\n", rule.code, rule.name, rule.summary));
        // Rule docs use level-2 headings; nest them under the rule's heading.
        for line in rule_doc(&rule).lines() {
            if let Some(rest) = line.strip_prefix("## ") {
                out.push_str(&format!("### {rest}\n"));
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_the_documented_sections() {
        assert_eq!(SOURCES.len(), super::super::all_rules().len());
        for rule in super::super::all_rules() {
            let doc = rule_doc(&rule);
            for section in ["## What it does", "## Why is this bad?", "## Example", "Use instead:"] {
                assert!(doc.contains(section), "{} lacks `{section}`", rule.code);
            }
        }
    }

    /// `docs/findings.md` holds `reference_markdown()` between its `rules:start` and
    /// `rules:end` markers; `UPDATE_README=1` rewrites it there.
    #[test]
    fn findings_reference_is_generated_from_the_rule_docs() {
        let page_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/findings.md");
        let page = std::fs::read_to_string(&page_path).unwrap();
        let (start, end) = ("<!-- rules:start -->\n", "<!-- rules:end -->");
        let begin = page.find(start).expect("docs/findings.md has a rules:start marker") + start.len();
        let finish = page.find(end).expect("docs/findings.md has a rules:end marker");
        let expected = reference_markdown();
        if page[begin..finish] != expected {
            if std::env::var_os("UPDATE_README").is_some() {
                let updated = format!("{}{}{}", &page[..begin], expected, &page[finish..]);
                std::fs::write(&page_path, updated).unwrap();
            } else {
                panic!(
                    "the findings reference in docs/findings.md is out of date: run `UPDATE_README=1 cargo test --lib findings_reference`"
                );
            }
        }
    }
}
