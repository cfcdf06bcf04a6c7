//! The human report: findings grouped by file, call paths, diagnostics, a summary line.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use crate::analysis::Report;

const PATH: Style = Style::new().bold();
const CODE: Style = AnsiColor::Red.on_default().bold();
const DIM: Style = AnsiColor::BrightBlack.on_default();
const WARN: Style = AnsiColor::Yellow.on_default().bold();

/// Render the report; styles are ANSI escapes, stripped by the caller when not on a terminal.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let mut by_file: BTreeMap<&str, Vec<&crate::analysis::rules::Finding>> = BTreeMap::new();
    for f in &report.findings {
        by_file.entry(f.path.as_str()).or_default().push(f);
    }
    for (path, findings) in &by_file {
        let _ = writeln!(out, "{PATH}{path}{PATH:#}");
        for f in findings {
            let location = format!("{}:{}", f.line, f.column);
            let _ = writeln!(out, "  {DIM}{location:>7}{DIM:#}  {CODE}{}{CODE:#}  {}", f.code, f.message);
            if f.call_path.len() > 1 {
                let _ = writeln!(out, "  {:>7}         {DIM}call path: {}{DIM:#}", "", f.call_path.join(" → "));
            }
            if let Some(entry) = f.entry_point
                && matches!(f.code, "RA101" | "RA102")
            {
                let _ = writeln!(
                    out,
                    "  {:>7}         {DIM}entry point ({}): keeps a sync wrapper{DIM:#}",
                    "",
                    entry.describe()
                );
            }
        }
        out.push('\n');
    }
    for d in &report.diagnostics {
        let location = match (d.line, d.column) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}", d.path),
            (Some(l), None) => format!("{}:{l}", d.path),
            _ => d.path.clone(),
        };
        let _ = writeln!(out, "{WARN}warning{WARN:#}: {location}: {}", d.message);
    }
    if !report.diagnostics.is_empty() {
        out.push('\n');
    }
    out.push_str(&summary_line(report));
    out.push('\n');
    out
}

fn summary_line(report: &Report) -> String {
    let s = &report.stats;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &report.findings {
        *counts.entry(f.code).or_default() += 1;
    }
    let files = report.findings.iter().map(|f| f.path.as_str()).collect::<std::collections::BTreeSet<_>>().len();
    let per_code: Vec<String> = counts.iter().map(|(c, n)| format!("{c} ×{n}")).collect();
    let findings = match report.findings.len() {
        0 => "No findings".to_string(),
        1 => format!("1 finding in 1 file ({})", per_code.join(", ")),
        n => format!("{n} findings in {files} file{} ({})", if files == 1 { "" } else { "s" }, per_code.join(", ")),
    };
    format!(
        "{findings}; {} function{} must become async. {} file{} analysed ({} from cache) in {:.0} ms{}.",
        s.closure,
        if s.closure == 1 { "" } else { "s" },
        s.files,
        if s.files == 1 { "" } else { "s" },
        s.cached,
        s.timings.total_ms,
        match report.diagnostics.len() {
            0 => String::new(),
            1 => ", 1 diagnostic".to_string(),
            n => format!(", {n} diagnostics"),
        }
    )
}
