//! Why a function cannot simply become `async def`: dunder methods, properties,
//! decorators that wrap it in sync code, sync overrides in its class hierarchy;
//! and which decorators can learn coroutine functions instead.

use std::collections::BTreeMap;

use super::Planner;
use super::closure::AsyncSet;
use crate::analysis::callgraph::FuncId;
use crate::analysis::index::{ModId, ScopeRef, Value};
use crate::analysis::summary::{Name, ScopeKind};

/// Decorators a function may carry and still be converted: they do not wrap the
/// function in sync code.
const SAFE_DECORATORS: &[&str] = &["staticmethod", "classmethod", "abstractmethod", "override", "final"];

impl Planner<'_, '_> {
    /// A method of a related class (base or derived, in the repository) with the same
    /// name that does not become async with this one.
    pub(super) fn sync_override(&self, fid: FuncId, set: &AsyncSet) -> Option<String> {
        let graph = &self.model.graph;
        let index = &self.model.index;
        let f = &graph.functions[fid as usize];
        if !f.is_method || f.is_async {
            return None;
        }
        let scopes = &index.modules[f.at.module as usize].summary.scopes;
        let class = ScopeRef { module: f.at.module, scope: scopes[f.at.scope as usize].parent? };
        let hierarchy = self.hierarchy.get_or_init(|| {
            let mut bases = BTreeMap::new();
            for (mi, module) in index.modules.iter().enumerate() {
                for (si, scope) in module.summary.scopes.iter().enumerate() {
                    if scope.kind == ScopeKind::Class && !scope.bases.is_empty() {
                        let c = ScopeRef { module: mi as ModId, scope: si as u32 };
                        bases.insert(c, index.repo_bases(c));
                    }
                }
            }
            bases
        });
        let mut related: Vec<ScopeRef> = hierarchy.get(&class).cloned().unwrap_or_default();
        related.extend(hierarchy.iter().filter(|(_, bases)| bases.contains(&class)).map(|(c, _)| *c));
        graph.functions.iter().enumerate().find_map(|(gi, g)| {
            let gs = &index.modules[g.at.module as usize].summary.scopes;
            let owner = ScopeRef { module: g.at.module, scope: gs[g.at.scope as usize].parent? };
            (g.name == f.name && related.contains(&owner) && !set.contains(gi as FuncId) && !g.is_async)
                .then(|| g.qualname.clone())
        })
    }

    /// `property` or `cached_property` when `fid` is a getter decorated so (the
    /// decorator's last name as written, which the drafter moves to the wrapper).
    pub(super) fn property_kind(&self, fid: FuncId) -> Option<&'static str> {
        let f = &self.model.graph.functions[fid as usize];
        let scope = &self.model.index.modules[f.at.module as usize].summary.scopes[f.at.scope as usize];
        scope.decorators.iter().find_map(|d| match d.iter().rev().find(|s| *s != "()").map(|s| s.as_str()) {
            Some("property") if f.is_method => Some("property"),
            Some("cached_property") if f.is_method => Some("cached_property"),
            _ => None,
        })
    }

    /// A nested function decorated with `functools.wraps(...)`: a decorator's wrapper.
    pub(super) fn is_wraps_wrapper(&self, fid: FuncId) -> bool {
        let f = &self.model.graph.functions[fid as usize];
        let scopes = &self.model.index.modules[f.at.module as usize].summary.scopes;
        let scope = &scopes[f.at.scope as usize];
        let nested = scope.parent.is_some_and(|p| scopes[p as usize].kind == ScopeKind::Function);
        nested
            && scope.decorators.iter().any(|d| d.iter().rev().find(|s| *s != "()").is_some_and(|last| last == "wraps"))
    }

    /// For a decorator applied to `fid` that is a repository decorator built on a
    /// `functools.wraps` wrapper: (the decorator, its wrapper).
    pub(super) fn coroutine_aware(&self, fid: FuncId, decorator: &[Name]) -> Option<(FuncId, FuncId)> {
        let graph = &self.model.graph;
        let index = &self.model.index;
        let f = &graph.functions[fid as usize];
        let module = &index.modules[f.at.module as usize];
        let scope = &module.summary.scopes[f.at.scope as usize];
        let mut chain = decorator.to_vec();
        while chain.last().is_some_and(|s| s == "()") {
            chain.pop();
        }
        if chain.iter().any(|s| s == "()") {
            return None;
        }
        let Value::RepoFunction(d) =
            index.resolve_chain(f.at.module, scope.parent.unwrap_or(0), &chain, scope.pos.byte)
        else {
            return None;
        };
        let d_id = graph.function_at(d)?;
        let scopes = &index.modules[d.module as usize].summary.scopes;
        let wrapper = graph.functions.iter().enumerate().find(|(gi, g)| {
            g.at.module == d.module && self.is_wraps_wrapper(*gi as FuncId) && {
                let mut parent = scopes[g.at.scope as usize].parent;
                let mut inside = false;
                while let Some(p) = parent {
                    if p == d.scope {
                        inside = true;
                        break;
                    }
                    parent = scopes[p as usize].parent;
                }
                inside
            }
        })?;
        Some((d_id, wrapper.0 as FuncId))
    }

    /// Why a function cannot simply become `async def`, when that is so.
    pub(super) fn cannot_convert(&self, fid: FuncId) -> Option<String> {
        let graph = &self.model.graph;
        let f = &graph.functions[fid as usize];
        let scope = &self.model.index.modules[f.at.module as usize].summary.scopes[f.at.scope as usize];
        if f.name.starts_with("__") && f.name.ends_with("__") {
            return Some(format!("`{}` cannot be async: Python calls it synchronously", f.name));
        }
        for decorator in &scope.decorators {
            if f.in_test && decorator.len() >= 3 && decorator[0] == "pytest" && decorator[1] == "mark" {
                continue;
            }
            if self.coroutine_aware(fid, decorator).is_some() {
                continue;
            }
            let last = decorator.iter().rev().find(|s| *s != "()").map(|s| s.as_str()).unwrap_or("");
            // A getter becomes an async method under the async name, and the property
            // a sync wrapper of it; setters and deleters cannot be awaited at all.
            if matches!(last, "property" | "cached_property") && !f.is_generator {
                continue;
            }
            if matches!(last, "property" | "cached_property" | "setter" | "getter" | "deleter") {
                return Some("a property cannot be awaited: it has to become an async method".to_string());
            }
            if !SAFE_DECORATORS.contains(&last) {
                let written = decorator.join(".").replace(".()", "()");
                return Some(format!(
                    "decorator `@{written}` wraps the function in sync code; it has to learn coroutine functions"
                ));
            }
        }
        None
    }
}
