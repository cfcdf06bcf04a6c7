//! Grouping the async set into independent plans: functions connected by calls,
//! and methods of a class whose client attribute becomes async, belong together.

use std::collections::BTreeMap;

use super::closure::AsyncSet;
use super::{CallRewrite, PlanClient, Planner};
use crate::analysis::callgraph::{CallTarget, FuncId};
use crate::analysis::index::ModId;
use crate::analysis::summary::ScopeKind;

/// Client attributes that become async, by (module, class scope, attribute).
pub type Clients = BTreeMap<(ModId, u32, String), PlanClient>;

/// The async set in independent groups (each in id order, groups ordered by their
/// smallest id), and the client attributes that change.
pub struct Groups {
    pub members: Vec<Vec<FuncId>>,
    pub clients: Clients,
}

impl Planner<'_, '_> {
    pub(super) fn group(&self, set: &AsyncSet, twins: &AsyncSet) -> Groups {
        let graph = &self.model.graph;
        let mut groups = UnionFind::new(graph.functions.len());
        let mut clients = Clients::new();
        for fi in set.members() {
            let f = &graph.functions[fi as usize];
            for &ci in &f.calls {
                if let CallTarget::Repo(g) = graph.targets[f.at.module as usize][ci as usize]
                    && set.contains(g)
                {
                    groups.union(fi as usize, g as usize);
                }
            }
            // A hierarchy converts together: its members share their callers.
            for g in self.family(fi).into_iter().filter(|&g| set.contains(g)) {
                groups.union(fi as usize, g as usize);
            }
            if twins.contains(fi) {
                continue;
            }
            if let Some(client) = self.client_of(fi) {
                clients.entry((client.module, client.class_scope, client.attribute.clone())).or_insert(client);
            }
        }
        self.join_client_classes(set, &clients, &mut groups);
        self.join_property_readers(set, twins, &mut groups);
        let mut members: BTreeMap<usize, Vec<FuncId>> = BTreeMap::new();
        for fi in set.members() {
            members.entry(groups.find(fi as usize)).or_default().push(fi);
        }
        Groups { members: members.into_values().collect(), clients }
    }

    /// A property that becomes async belongs with the converted functions that may
    /// read it: the drafter awaits the async method there, and apart (each plan on
    /// its own branch) the reader would keep the property, whose sync wrapper
    /// refuses to run inside the reader's event loop. Reading a property is no call
    /// in the analysis, so every function whose source shows `.name` counts.
    fn join_property_readers(&self, set: &AsyncSet, twins: &AsyncSet, groups: &mut UnionFind) {
        let graph = &self.model.graph;
        let index = &self.model.index;
        let properties: Vec<FuncId> =
            set.members().filter(|&p| !twins.contains(p) && self.property_kind(p).is_some()).collect();
        if properties.is_empty() {
            return;
        }
        let mut sources: BTreeMap<ModId, String> = BTreeMap::new();
        for fi in set.members().filter(|&f| !twins.contains(f)) {
            let f = &graph.functions[fi as usize];
            let module = &index.modules[f.at.module as usize];
            let src = sources.entry(f.at.module).or_insert_with(|| {
                std::fs::read_to_string(self.model.report.root.join(&module.rel)).unwrap_or_default()
            });
            let scope = &module.summary.scopes[f.at.scope as usize];
            let Some(body) = src.get(scope.pos.byte as usize..scope.end_byte as usize) else { continue };
            for &p in &properties {
                if p != fi && reads_attribute(body, &graph.functions[p as usize].name) {
                    groups.union(p as usize, fi as usize);
                }
            }
        }
    }

    /// Methods of a class whose client attribute changes belong together.
    fn join_client_classes(&self, set: &AsyncSet, clients: &Clients, groups: &mut UnionFind) {
        let graph = &self.model.graph;
        let index = &self.model.index;
        let mut by_class: BTreeMap<(ModId, u32), usize> = BTreeMap::new();
        for fi in set.members() {
            let f = &graph.functions[fi as usize];
            let scopes = &index.modules[f.at.module as usize].summary.scopes;
            let Some(parent) = scopes[f.at.scope as usize].parent else { continue };
            if scopes[parent as usize].kind != ScopeKind::Class
                || !clients.keys().any(|(m, c, _)| *m == f.at.module && *c == parent)
            {
                continue;
            }
            match by_class.get(&(f.at.module, parent)) {
                Some(&first) => groups.union(first, fi as usize),
                None => {
                    by_class.insert((f.at.module, parent), fi as usize);
                }
            }
        }
    }

    /// The client attribute a function's native client calls go through, if any.
    pub(super) fn client_of(&self, fi: FuncId) -> Option<PlanClient> {
        let graph = &self.model.graph;
        let index = &self.model.index;
        let f = &graph.functions[fi as usize];
        let module = &index.modules[f.at.module as usize];
        let scopes = &module.summary.scopes;
        let class_scope = scopes[f.at.scope as usize].parent?;
        if scopes[class_scope as usize].kind != ScopeKind::Class {
            return None;
        }
        for &ci in &f.calls {
            let Some((api, CallRewrite::Native(mapping), _)) = self.rewrite_for(f.at.module, ci) else { continue };
            let Some(class) = mapping.client(&api) else { continue };
            let callee = self.call(f.at.module, ci).callee.as_ref()?;
            return Some(PlanClient {
                class: module.qualname(class_scope),
                attribute: callee[1].to_string(),
                from: class.sync.to_string(),
                to: class.async_.to_string(),
                module: f.at.module,
                class_scope,
            });
        }
        None
    }
}

/// Disjoint sets over function ids.
struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind { parent: (0..n).collect() }
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[ra.max(rb)] = ra.min(rb);
        }
    }
}

/// Whether `text` shows `.name` not followed by more of an identifier.
fn reads_attribute(text: &str, name: &str) -> bool {
    let needle = format!(".{name}");
    text.match_indices(&needle)
        .any(|(at, _)| !text[at + needle.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_'))
}
