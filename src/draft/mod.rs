//! Drafting: turning conversion plans into edits.
//!
//! The rules drafter is deterministic and needs no network: each plan is drafted
//! on its own first (to learn whether the rules can carry it out, and why not),
//! then every plan that can be is drafted together into one change. Drafts are
//! checked before anyone sees them: every touched file must parse, and a fresh
//! analysis of the result must find no blocking call left in the functions the
//! draft made async.

pub mod bridge;
pub mod dependencies;
pub mod diff;
pub mod edits;
pub mod mappings;
pub mod python;
pub mod reexports;
pub mod rewrite;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use crate::analysis::Model;
use crate::analysis::callgraph::FuncId;
use crate::analysis::index::ModId;
use crate::plan::settings::TaskGroupUse;
use crate::plan::{Plan, PlanFunction, PlanSequential, PlanStatus, Settings};
use diff::FileChange;
use rewrite::{FileJob, rewrite_file};

/// The runtime helpers added to a converted package (sync wrappers, bounded gathers).
pub const BRIDGE_SOURCE: &str = include_str!("async_bridge.py");

/// Why the rules drafter cannot carry out a plan: where, and why. Shown (and
/// serialised) as `path:line: reason`, the way the plan's reasons read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The file, relative to the repository root.
    pub path: String,
    /// The line, when the reason is about one place.
    pub line: Option<u32>,
    pub reason: String,
}

impl Refusal {
    /// A reason about a whole file.
    pub fn file(path: &str, reason: impl Into<String>) -> Refusal {
        Refusal { path: path.to_string(), line: None, reason: reason.into() }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path, self.reason),
            None => write!(f, "{}: {}", self.path, self.reason),
        }
    }
}

impl serde::Serialize for Refusal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A loop or group of calls of a plan that the draft left sequential, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptSequential {
    pub path: String,
    /// The loop's line, or the group's first call's.
    pub line: u32,
    /// `loop`, `comprehension`, `calls`, `throttled loop`.
    pub kind: &'static str,
    pub why: String,
}

/// The result of drafting a set of plans.
#[derive(Debug, Clone)]
pub struct Draft {
    /// Every changed or added file, with its old and new text.
    pub changes: Vec<FileChange>,
    /// Notes that are not failures (a loop kept sequential, and why).
    pub notes: Vec<String>,
    /// What the draft left sequential of the plans' loops and groups of calls.
    pub kept: Vec<KeptSequential>,
}

/// Draft every plan that is ready: each on its own first, setting its status to
/// converted or needs-llm (with reasons), then all converted ones together.
pub fn draft_plans(model: &Model<'_>, plans: &mut [Plan], settings: &Settings) -> Draft {
    for plan in plans.iter_mut() {
        if plan.status != PlanStatus::Planned {
            continue;
        }
        match draft(model, &[&*plan], settings) {
            Ok(_) => plan.status = PlanStatus::Converted,
            Err(refusals) => {
                plan.status = PlanStatus::NeedsLlm;
                plan.reasons = refusals.iter().map(Refusal::to_string).collect();
            }
        }
    }
    let ready: Vec<&Plan> = plans.iter().filter(|p| p.status == PlanStatus::Converted).collect();
    if ready.is_empty() {
        return Draft { changes: Vec::new(), notes: Vec::new(), kept: Vec::new() };
    }
    match draft(model, &ready, settings) {
        Ok(draft) => {
            for plan in plans.iter_mut().filter(|p| p.status == PlanStatus::Converted) {
                record_kept(plan, &draft.kept);
            }
            draft
        }
        Err(refusals) => {
            // Each drafts alone but not together: report it rather than guess.
            for plan in plans.iter_mut().filter(|p| p.status == PlanStatus::Converted) {
                plan.status = PlanStatus::Failed;
                plan.reasons = refusals.iter().map(|r| format!("drafted together with the other plans: {r}")).collect();
            }
            Draft { changes: Vec::new(), notes: Vec::new(), kept: Vec::new() }
        }
    }
}

/// Move what the draft left sequential from the plan's gathers, throttles and
/// groups of calls to its `sequential` list, so that the plan says what the draft does.
fn record_kept(plan: &mut Plan, kept: &[KeptSequential]) {
    let find = |path: &str, line: u32| kept.iter().find(|k| k.path == path && k.line == line);
    let entry = |k: &KeptSequential, function: &str| PlanSequential {
        path: k.path.clone(),
        line: k.line,
        function: function.to_string(),
        kind: k.kind,
        why: k.why.clone(),
    };
    let mut sequential = Vec::new();
    plan.gathers.retain(|g| find(&g.path, g.line).map(|k| sequential.push(entry(k, &g.function))).is_none());
    plan.call_groups.retain(|g| find(&g.path, g.line).map(|k| sequential.push(entry(k, &g.function))).is_none());
    plan.work_queues.retain(|q| find(&q.path, q.line).map(|k| sequential.push(entry(k, &q.function))).is_none());
    plan.sequential.extend(sequential);
    for t in plan.throttles.iter_mut().filter(|t| t.interval.is_some()) {
        if let Some(k) = find(&t.path, t.line) {
            t.interval = None;
            t.does = format!("kept sequential ({}); its sleep becomes `{}`", k.why, t.becomes);
        }
    }
}

/// What a set of plans touches, across files.
struct Reach<'p> {
    /// Every function of the plans, by id (calls cross files).
    functions: HashMap<FuncId, &'p PlanFunction>,
    offloaded: BTreeSet<FuncId>,
    /// Classes (module, scope) whose client attribute becomes async.
    client_owners: BTreeSet<(ModId, u32)>,
    /// The modules to rewrite.
    modules: BTreeSet<ModId>,
}

impl<'p> Reach<'p> {
    fn of(model: &Model<'_>, plans: &[&'p Plan]) -> Reach<'p> {
        let mut reach = Reach {
            functions: HashMap::new(),
            offloaded: BTreeSet::new(),
            client_owners: BTreeSet::new(),
            modules: BTreeSet::new(),
        };
        for plan in plans {
            for f in &plan.functions {
                reach.functions.insert(f.id, f);
                reach.modules.insert(model.graph.functions[f.id as usize].at.module);
            }
            reach.offloaded.extend(plan.offloaded_ids.iter().copied());
            for c in &plan.clients {
                reach.client_owners.insert((c.module, c.class_scope));
                reach.modules.insert(c.module);
            }
            for d in &plan.decorators {
                reach.modules.insert(model.graph.functions[d.wrapper_id as usize].at.module);
            }
        }
        reach
    }
}

/// Draft these plans together, or say why the rules cannot.
pub fn draft(model: &Model<'_>, plans: &[&Plan], settings: &Settings) -> Result<Draft, Vec<Refusal>> {
    let root = &model.report.root;
    let reach = Reach::of(model, plans);
    let mut changes = Vec::new();
    let mut notes = Vec::new();
    let mut kept = Vec::new();
    let mut reasons = Vec::new();
    let asyncio_auto = python::asyncio_auto_mode(root);
    for &m in &reach.modules {
        let module = &model.index.modules[m as usize];
        let src = match std::fs::read_to_string(root.join(&module.rel)) {
            Ok(src) => src,
            Err(err) => {
                reasons.push(Refusal::file(&module.rel, format!("cannot read: {err}")));
                continue;
            }
        };
        let (_, helper_import) = helper_location(&module.rel, &module.name, module.is_package, &settings.helper_module);
        let job = FileJob {
            model,
            module: m,
            src: &src,
            functions: &reach.functions,
            offloaded: &reach.offloaded,
            plans,
            client_owners: &reach.client_owners,
            helper_import: &helper_import,
            settings,
            asyncio_auto,
        };
        match rewrite_file(&job) {
            Ok(result) => {
                notes.extend(result.notes);
                kept.extend(result.kept);
                if result.text != src {
                    changes.push(FileChange { path: module.rel.clone(), old: Some(src), new: Some(result.text) });
                }
            }
            Err(why) => reasons.extend(why),
        }
    }
    if !reasons.is_empty() {
        return Err(reasons);
    }
    reexport_twins(model, &reach, &mut changes);
    let helpers = helper_modules(model, &changes, settings)?;
    changes.extend(helpers);
    notes.extend(dependencies::declare(root, &mut changes));
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Draft { changes, notes, kept })
}

/// Modules that re-export a function which keeps a sync wrapper re-export its async
/// twin too (see [`reexports`]): those whose top level binds the old name, in their
/// drafted text when the draft changed them.
fn reexport_twins(model: &Model<'_>, reach: &Reach<'_>, changes: &mut Vec<FileChange>) {
    let graph = &model.graph;
    let twins: Vec<(ModId, reexports::Twin)> = reach
        .functions
        .values()
        .filter_map(|pf| {
            let f = &graph.functions[pf.id as usize];
            let module = &model.index.modules[f.at.module as usize];
            // Module-level functions only: a method is re-exported with its class.
            let top_level = module.summary.scopes[f.at.scope as usize].parent == Some(0);
            (pf.wrapper && top_level && pf.async_name != f.name.as_str()).then(|| {
                let twin = reexports::Twin {
                    module: module.name.clone(),
                    old: f.name.to_string(),
                    new: pf.async_name.clone(),
                };
                (f.at.module, twin)
            })
        })
        .collect();
    if twins.is_empty() {
        return;
    }
    for (m, module) in model.index.modules.iter().enumerate() {
        let binds = |old: &str| module.summary.scopes.first().is_some_and(|s| s.bindings.iter().any(|b| b.name == old));
        let here: Vec<reexports::Twin> =
            twins.iter().filter(|(def, t)| *def as usize != m && binds(&t.old)).map(|(_, t)| t.clone()).collect();
        if here.is_empty() {
            continue;
        }
        let at = changes.iter().position(|c| c.path == module.rel);
        let old_text = match at {
            Some(i) => changes[i].new.clone(),
            None => std::fs::read_to_string(model.report.root.join(&module.rel)).ok(),
        };
        let Some(text) = old_text else { continue };
        let exporter = reexports::Reexporter { name: &module.name, is_package: module.is_package };
        let new = reexports::add_twins(&text, &exporter, &here);
        if new == text {
            continue;
        }
        match at {
            Some(i) => changes[i].new = Some(new),
            None => changes.push(FileChange { path: module.rel.clone(), old: Some(text), new: Some(new) }),
        }
    }
}

/// The helper module in each package folder whose changed modules import it,
/// holding only what they import (see [`bridge`]) and what an earlier version of
/// it in the repository already exports; replaced when that earlier version is
/// refactor-async's own, refused when the file is something else.
pub fn helper_modules(
    model: &Model<'_>,
    changes: &[FileChange],
    settings: &Settings,
) -> Result<Vec<FileChange>, Vec<Refusal>> {
    let root = &model.report.root;
    let mut needed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for change in changes {
        let (Some(new), Some(module)) = (&change.new, model.index.modules.iter().find(|m| m.rel == change.path)) else {
            continue;
        };
        let (dir, import) = helper_location(&module.rel, &module.name, module.is_package, &settings.helper_module);
        let names = bridge::imported(new, &import);
        if !names.is_empty() {
            needed.entry(dir).or_default().extend(names);
        }
    }
    let task_group = match settings.task_group {
        TaskGroupUse::Always => true,
        TaskGroupUse::Never => false,
        TaskGroupUse::Auto => python::requires_python(root).is_some_and(|v| v >= (3, 11)),
    };
    let full = bridge_source(task_group, settings.concurrency);
    let mut added = Vec::new();
    for (dir, mut names) in needed {
        let rel = if dir.is_empty() {
            format!("{}.py", settings.helper_module)
        } else {
            format!("{dir}/{}.py", settings.helper_module)
        };
        let existing = std::fs::read_to_string(root.join(&rel)).ok();
        if let Some(existing) = &existing {
            if !is_own_helper(existing) {
                return Err(vec![Refusal::file(
                    &rel,
                    "already exists and is not refactor-async's helper; set rewrite.helper_module to another name",
                )]);
            }
            names.extend(bridge::exported(existing));
        }
        let text = bridge::minimal(&full, &names);
        if existing.as_deref() != Some(text.as_str()) {
            added.push(FileChange { path: rel, old: existing, new: Some(text) });
        }
    }
    Ok(added)
}

/// Whether a file is a helper module refactor-async wrote (its docstring's first line).
fn is_own_helper(text: &str) -> bool {
    let first = BRIDGE_SOURCE.lines().next().unwrap_or_default();
    text.lines().next() == Some(first)
}

/// The helper module's text for a repository: whether gathers use
/// `asyncio.TaskGroup`, and how many threads its executor has (the gathers' limit,
/// so that every gathered call that runs in a thread gets one at once).
pub fn bridge_source(task_group: bool, threads: u32) -> String {
    let text = BRIDGE_SOURCE.replacen("THREADS = 8\n", &format!("THREADS = {threads}\n"), 1);
    if task_group { text.replacen("USE_TASK_GROUP = False", "USE_TASK_GROUP = True", 1) } else { text }
}

/// Where the helper module goes for a module (its top-level package's folder) and
/// how that module imports it (`pkg._async_bridge`).
pub fn helper_location(rel: &str, name: &str, is_package: bool, helper: &str) -> (String, String) {
    let parts: Vec<&str> = name.split('.').filter(|s| !s.is_empty()).collect();
    let depth = if is_package { parts.len() } else { parts.len().saturating_sub(1) };
    let mut dir = Path::new(rel).parent().map(Path::to_path_buf).unwrap_or_default();
    for _ in 1..depth.max(1) {
        dir = dir.parent().map(Path::to_path_buf).unwrap_or_default();
    }
    let dir = dir.to_string_lossy().replace('\\', "/");
    if depth == 0 { (dir, helper.to_string()) } else { (dir, format!("{}.{helper}", parts[0])) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_read_and_serialise_as_path_line_reason() {
        let at_line = Refusal { path: "pkg/a.py".into(), line: Some(12), reason: "a lambda".into() };
        assert_eq!(at_line.to_string(), "pkg/a.py:12: a lambda");
        assert_eq!(serde_json::to_string(&at_line).unwrap(), "\"pkg/a.py:12: a lambda\"");
        assert_eq!(Refusal::file("pkg/a.py", "cannot read: gone").to_string(), "pkg/a.py: cannot read: gone");
    }

    #[test]
    fn the_helper_is_written_with_its_flag_and_thread_count() {
        let text = bridge_source(true, 12);
        assert!(text.contains("\nUSE_TASK_GROUP = True\n") && text.contains("\nTHREADS = 12\n"));
        let default = bridge_source(false, 8);
        assert_eq!(default, BRIDGE_SOURCE);
    }

    #[test]
    fn helper_goes_to_the_top_level_package() {
        assert_eq!(
            helper_location("src/ragjudge/llm.py", "ragjudge.llm", false, "_async_bridge"),
            ("src/ragjudge".to_string(), "ragjudge._async_bridge".to_string())
        );
        assert_eq!(
            helper_location("pkg/sub/mod.py", "pkg.sub.mod", false, "_h"),
            ("pkg".to_string(), "pkg._h".to_string())
        );
        assert_eq!(helper_location("pkg/__init__.py", "pkg", true, "_h"), ("pkg".to_string(), "pkg._h".to_string()));
        assert_eq!(helper_location("tool.py", "tool", false, "_h"), (String::new(), "_h".to_string()));
    }
}
