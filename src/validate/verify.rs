//! The first validation stages (DESIGN.md), run on every draft before it is shown
//! or validated further, without a worktree: each touched file parses, and a fresh
//! analysis of the drafted repository finds no blocking call left in the functions
//! the draft made async.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use super::check::Check;
use crate::analysis::{self, AnalysisError, Model, catalog::Catalog};
use crate::config::Config;
use crate::draft::{Draft, python};
use crate::plan::{Plan, PlanStatus};

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
    checks.push(Check::internal("re-analysis", outcome.is_ok(), ms(started), outcome.err().map(|e| e.to_string())));
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

/// Why the re-analysis check failed; its text is the check's detail.
#[derive(Debug, thiserror::Error)]
pub enum ReanalysisError {
    #[error("cannot create a temporary folder: {0}")]
    TempDir(#[source] std::io::Error),
    #[error("cannot prepare the copy: {0}")]
    Prepare(#[source] std::io::Error),
    #[error("cannot write {rel}: {source}")]
    Folder { rel: String, source: std::io::Error },
    #[error("cannot copy {rel}: {source}")]
    Copy { rel: String, source: std::io::Error },
    /// The drafted copy could not be analysed at all.
    #[error("{0}")]
    Analysis(#[source] AnalysisError),
    /// Findings that say a converted function still blocks, one line each.
    #[error("{}", .0.join("\n"))]
    StillBlocking(Vec<String>),
}

/// Analyse a copy of the repository's Python files with the draft applied.
fn reanalyze(
    model: &Model<'_>,
    draft: &Draft,
    plans: &[Plan],
    config: &Config,
    catalog: &Catalog,
) -> Result<(), ReanalysisError> {
    let dir = tempfile::Builder::new().prefix("refactor-async-check-").tempdir().map_err(ReanalysisError::TempDir)?;
    copy_drafted(model, draft, dir.path())?;
    let mut config = config.clone();
    config.analysis.cache = false;
    let report = analysis::analyze(dir.path(), &config, catalog).map_err(ReanalysisError::Analysis)?;
    let converted: BTreeSet<String> = plans
        .iter()
        .filter(|p| p.status == PlanStatus::Converted)
        .flat_map(|p| p.functions.iter())
        .map(|f| match f.qualname.rsplit_once('.') {
            Some((prefix, _)) => format!("{prefix}.{}", f.async_name),
            None => f.async_name.clone(),
        })
        .collect();
    // An instant API (`os.path.relpath`) is reported inside async code, as ruff
    // does, but the plans leave it in place on purpose: it waits for nothing.
    let instant = |api: &Option<String>| {
        api.as_deref().and_then(|name| catalog.lookup(name)).is_some_and(|m| catalog.is_instant(&m))
    };
    let left: Vec<String> = report
        .findings
        .iter()
        .filter(|f| STILL_BLOCKING.contains(&f.code) && f.function.as_ref().is_some_and(|q| converted.contains(q)))
        .filter(|f| !(f.code == "RA103" && instant(&f.api)))
        .map(|f| format!("{}:{}: {} {}", f.path, f.line, f.code, f.message))
        .collect();
    if left.is_empty() { Ok(()) } else { Err(ReanalysisError::StillBlocking(left)) }
}

/// Copy the repository's configuration and Python files into `dir` (a fake
/// repository root), the drafted files with their new text.
fn copy_drafted(model: &Model<'_>, draft: &Draft, dir: &Path) -> Result<(), ReanalysisError> {
    let root = &model.report.root;
    let copy = |rel: &str, text: Option<&str>| -> Result<(), ReanalysisError> {
        let to = dir.join(rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|source| ReanalysisError::Folder { rel: rel.to_string(), source })?;
        }
        match text {
            Some(text) => std::fs::write(&to, text),
            None => std::fs::copy(root.join(rel), &to).map(|_| ()),
        }
        .map_err(|source| ReanalysisError::Copy { rel: rel.to_string(), source })
    };
    std::fs::create_dir_all(dir.join(".git")).map_err(ReanalysisError::Prepare)?;
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
    Ok(())
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}
