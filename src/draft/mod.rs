//! Drafting: turning conversion plans into edits.
//!
//! The rules drafter is deterministic and needs no network: each plan is drafted
//! on its own first (to learn whether the rules can carry it out, and why not),
//! then every plan that can be is drafted together into one change. Drafts are
//! checked before anyone sees them: every touched file must parse, and a fresh
//! analysis of the result must find no blocking call left in the functions the
//! draft made async.

pub mod diff;
pub mod edits;
pub mod python;
pub mod rewrite;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use crate::analysis::Model;
use crate::analysis::callgraph::FuncId;
use crate::analysis::index::ModId;
use crate::plan::settings::TaskGroupUse;
use crate::plan::{Plan, PlanFunction, PlanStatus, Settings};
use diff::FileChange;
use rewrite::{FileJob, rewrite_file};

/// The runtime helpers added to a converted package (sync wrappers, bounded gathers).
pub const BRIDGE_SOURCE: &str = include_str!("async_bridge.py");

/// The result of drafting a set of plans.
#[derive(Debug, Clone)]
pub struct Draft {
    /// Every changed or added file, with its old and new text.
    pub changes: Vec<FileChange>,
    /// Notes that are not failures (a loop kept sequential, and why).
    pub notes: Vec<String>,
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
            Err(reasons) => {
                plan.status = PlanStatus::NeedsLlm;
                plan.reasons = reasons;
            }
        }
    }
    let ready: Vec<&Plan> = plans.iter().filter(|p| p.status == PlanStatus::Converted).collect();
    if ready.is_empty() {
        return Draft { changes: Vec::new(), notes: Vec::new() };
    }
    match draft(model, &ready, settings) {
        Ok(draft) => draft,
        Err(reasons) => {
            // Each drafts alone but not together: report it rather than guess.
            for plan in plans.iter_mut().filter(|p| p.status == PlanStatus::Converted) {
                plan.status = PlanStatus::Failed;
                plan.reasons = reasons.iter().map(|r| format!("drafted together with the other plans: {r}")).collect();
            }
            Draft { changes: Vec::new(), notes: Vec::new() }
        }
    }
}

/// Draft these plans together, or say why the rules cannot.
pub fn draft(model: &Model<'_>, plans: &[&Plan], settings: &Settings) -> Result<Draft, Vec<String>> {
    let root = &model.report.root;
    let mut functions: HashMap<FuncId, &PlanFunction> = HashMap::new();
    let mut offloaded = BTreeSet::new();
    let mut owners = BTreeSet::new();
    let mut modules: BTreeSet<ModId> = BTreeSet::new();
    for plan in plans {
        for f in &plan.functions {
            functions.insert(f.id, f);
            modules.insert(model.graph.functions[f.id as usize].at.module);
        }
        offloaded.extend(plan.offloaded_ids.iter().copied());
        for c in &plan.clients {
            owners.insert((c.module, c.class_scope));
            modules.insert(c.module);
        }
        for d in &plan.decorators {
            modules.insert(model.graph.functions[d.wrapper_id as usize].at.module);
        }
    }
    let task_group = match settings.task_group {
        TaskGroupUse::Always => true,
        TaskGroupUse::Never => false,
        TaskGroupUse::Auto => python::requires_python(root).is_some_and(|v| v >= (3, 11)),
    };
    let mut changes = Vec::new();
    let mut notes = Vec::new();
    let mut reasons = Vec::new();
    let mut helpers: BTreeMap<String, ()> = BTreeMap::new();
    for m in modules {
        let module = &model.index.modules[m as usize];
        let path = root.join(&module.rel);
        let src = match std::fs::read_to_string(&path) {
            Ok(src) => src,
            Err(err) => {
                reasons.push(format!("{}: cannot read: {err}", module.rel));
                continue;
            }
        };
        let (helper_dir, helper_import) =
            helper_location(&module.rel, &module.name, module.is_package, &settings.helper_module);
        let job = FileJob {
            model,
            module: m,
            src: &src,
            functions: &functions,
            offloaded: &offloaded,
            plans,
            client_owners: &owners,
            helper_import: &helper_import,
            settings,
        };
        match rewrite_file(&job) {
            Ok(result) => {
                if result.text.contains(&format!("{helper_import} import")) {
                    helpers.insert(helper_dir, ());
                }
                notes.extend(result.notes);
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
    for dir in helpers.into_keys() {
        let rel = if dir.is_empty() {
            format!("{}.py", settings.helper_module)
        } else {
            format!("{dir}/{}.py", settings.helper_module)
        };
        let text = bridge_source(task_group);
        match std::fs::read_to_string(root.join(&rel)) {
            Ok(existing) if existing == text => {}
            Ok(_) => {
                return Err(vec![format!(
                    "{rel} already exists and is not refactor-async's helper; set rewrite.helper_module to another name"
                )]);
            }
            Err(_) => changes.push(FileChange { path: rel, old: None, new: Some(text) }),
        }
    }
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Draft { changes, notes })
}

/// The helper module's text for a repository.
pub fn bridge_source(task_group: bool) -> String {
    if task_group {
        BRIDGE_SOURCE.replacen("USE_TASK_GROUP = False", "USE_TASK_GROUP = True", 1)
    } else {
        BRIDGE_SOURCE.to_string()
    }
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
