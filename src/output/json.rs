//! The JSON report of `analyze` (the contract in DESIGN.md; fields are only ever added).

use serde::Serialize;

use crate::analysis::Report;

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    tool: Tool,
    root: String,
    findings: &'a [crate::analysis::rules::Finding],
    closure: &'a [crate::analysis::ClosureFunction],
    diagnostics: &'a [crate::analysis::sources::Diagnostic],
    stats: &'a crate::analysis::Stats,
}

/// One JSON document with a top-level `version`.
pub fn render(report: &Report) -> String {
    let mut out = Vec::new();
    write(report, &mut out).expect("reports serialise");
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// [`render`], written to `out` as it is serialised: the report of a large
/// repository runs to megabytes, which need not be held in memory at once.
pub fn write(report: &Report, out: &mut impl std::io::Write) -> std::io::Result<()> {
    let doc = Document {
        version: super::JSON_VERSION,
        tool: Tool { name: env!("CARGO_PKG_NAME"), version: env!("CARGO_PKG_VERSION") },
        root: report.root.display().to_string(),
        findings: &report.findings,
        closure: &report.closure,
        diagnostics: &report.diagnostics,
        stats: &report.stats,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    out.write_all(b"\n")
}
