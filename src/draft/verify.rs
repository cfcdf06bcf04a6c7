//! The checks every draft passes before it is shown or validated further: each
//! touched file parses, and a fresh analysis of the drafted repository finds no
//! blocking call left in the functions the draft made async.

use std::collections::BTreeSet;
use std::time::Instant;

use serde::Serialize;

use super::Draft;
use super::python;
use crate::analysis::{self, Model, catalog::Catalog};
use crate::config::Config;
use crate::plan::{Plan, PlanStatus};

/// One check and how it went.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// `re-parse`, `re-analysis`, or a validation command.
    pub name: String,
    pub ok: bool,
    pub duration_ms: f64,
    /// What failed, when something did (for a command: how it ended and its last lines).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A command's exit code (none when it was killed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// A command stopped at its timeout.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
    /// A command's full (capped) output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<std::path::PathBuf>,
}

impl Check {
    /// A check that is not a command (re-parse, re-analysis).
    pub fn internal(name: &str, ok: bool, duration_ms: f64, detail: Option<String>) -> Check {
        Check { name: name.to_string(), ok, duration_ms, detail, exit_code: None, timed_out: false, log: None }
    }
}

/// Codes that mean a converted function still blocks or bridges back to sync code.
const STILL_BLOCKING: &[&str] = &["RA103", "RA104", "RA107"];

/// Run the re-parse and re-analysis checks on a draft.
pub fn verify(model: &Model<'_>, draft: &Draft, plans: &[Plan], config: &Config, catalog: &Catalog) -> Vec<Check> {
    let mut checks = Vec::new();
    let started = Instant::now();
    let mut broken = Vec::new();
    for change in &draft.changes {
        let Some(new) = &change.new else { continue };
        if !change.path.ends_with(".py") {
            continue;
        }
        let tree = python::parse(new);
        if python::has_errors(&tree) {
            let line = first_error_line(&tree).unwrap_or(0);
            broken.push(format!("{}:{line}", change.path));
        }
    }
    checks.push(Check::internal(
        "re-parse",
        broken.is_empty(),
        ms(started),
        (!broken.is_empty()).then(|| format!("syntax errors in {}", broken.join(", "))),
    ));
    if !broken.is_empty() {
        return checks;
    }
    let started = Instant::now();
    let outcome = reanalyze(model, draft, plans, config, catalog);
    checks.push(Check::internal("re-analysis", outcome.is_ok(), ms(started), outcome.err()));
    checks
}

fn first_error_line(tree: &tree_sitter::Tree) -> Option<usize> {
    let mut cursor = tree.walk();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.is_error() || node.is_missing() {
            return Some(node.start_position().row + 1);
        }
        if node.has_error() {
            let children: Vec<_> = node.children(&mut cursor).collect();
            stack.extend(children.into_iter().rev());
        }
    }
    None
}

/// Analyse a copy of the repository's Python files with the draft applied.
fn reanalyze(
    model: &Model<'_>,
    draft: &Draft,
    plans: &[Plan],
    config: &Config,
    catalog: &Catalog,
) -> Result<(), String> {
    let root = &model.report.root;
    let dir = tempfile::Builder::new()
        .prefix("refactor-async-check-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary folder: {e}"))?;
    let copy = |rel: &str, text: Option<&str>| -> Result<(), String> {
        let to = dir.path().join(rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot write {rel}: {e}"))?;
        }
        match text {
            Some(text) => std::fs::write(&to, text),
            None => std::fs::copy(root.join(rel), &to).map(|_| ()),
        }
        .map_err(|e| format!("cannot copy {rel}: {e}"))
    };
    std::fs::create_dir_all(dir.path().join(".git")).map_err(|e| format!("cannot prepare the copy: {e}"))?;
    for name in ["pyproject.toml", "refactor-async.toml"] {
        if root.join(name).is_file() {
            copy(name, None)?;
        }
    }
    let changed: BTreeSet<&str> = draft.changes.iter().map(|c| c.path.as_str()).collect();
    for module in &model.index.modules {
        if !changed.contains(module.rel.as_str()) {
            copy(&module.rel, None)?;
        }
    }
    for change in &draft.changes {
        if let Some(new) = &change.new {
            copy(&change.path, Some(new))?;
        }
    }
    let mut config = config.clone();
    config.analysis.cache = false;
    let report = analysis::analyze(dir.path(), &config, catalog).map_err(|e| e.to_string())?;
    let converted: BTreeSet<String> = plans
        .iter()
        .filter(|p| p.status == PlanStatus::Converted)
        .flat_map(|p| p.functions.iter())
        .map(|f| match f.qualname.rsplit_once('.') {
            Some((prefix, _)) => format!("{prefix}.{}", f.async_name),
            None => f.async_name.clone(),
        })
        .collect();
    let left: Vec<String> = report
        .findings
        .iter()
        .filter(|f| STILL_BLOCKING.contains(&f.code) && f.function.as_ref().is_some_and(|q| converted.contains(q)))
        .map(|f| format!("{}:{}: {} {}", f.path, f.line, f.code, f.message))
        .collect();
    if left.is_empty() { Ok(()) } else { Err(left.join("\n")) }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}
