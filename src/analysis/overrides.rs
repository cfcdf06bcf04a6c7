//! Which methods override which. A call through a receiver typed as a base class
//! (an ABC, a plain base, a `typing.Protocol`) may run any override in the
//! repository, so the closure follows overrides back to the method they override:
//! when one override blocks, calls through the base must be awaited too.

use rustc_hash::FxHashMap as HashMap;

use super::callgraph::FuncId;
use super::index::{Index, ModId, ScopeRef, Value};
use super::summary::ScopeKind;

/// Methods never reached by dispatch through a base: construction runs the class
/// that is named, and `super().__init__()` calls resolve on their own.
const NOT_DISPATCHED: &[&str] = &["__init__", "__new__", "__init_subclass__", "__post_init__", "__class_getitem__"];

/// A repository class and the methods defined in its own body, by name.
struct ClassMethods {
    class: ScopeRef,
    methods: HashMap<String, FuncId>,
    is_protocol: bool,
}

/// Per function, the methods it overrides: one run of ids per function in one
/// vector (most functions override nothing, and a vector each would cost more).
#[derive(Debug, Default)]
pub struct Overridden {
    starts: Vec<u32>,
    ids: Vec<FuncId>,
}

impl Overridden {
    /// The methods `f` overrides, in base classes nearest first, then in
    /// protocols it implements without naming them as bases.
    pub fn of(&self, f: FuncId) -> &[FuncId] {
        let (start, end) = (self.starts[f as usize], self.starts[f as usize + 1]);
        &self.ids[start as usize..end as usize]
    }
}

/// What each of the `n` functions overrides.
pub fn overridden(index: &Index<'_>, func_ids: &HashMap<ScopeRef, FuncId>, n: usize) -> Overridden {
    let per_function = overridden_lists(index, func_ids, n);
    let mut out = Overridden { starts: Vec::with_capacity(n + 1), ids: Vec::new() };
    out.starts.push(0);
    for list in per_function {
        out.ids.extend(list);
        out.starts.push(out.ids.len() as u32);
    }
    out
}

fn overridden_lists(index: &Index<'_>, func_ids: &HashMap<ScopeRef, FuncId>, n: usize) -> Vec<Vec<FuncId>> {
    let classes = class_methods(index, func_ids);
    let by_class: HashMap<ScopeRef, usize> = classes.iter().enumerate().map(|(i, c)| (c.class, i)).collect();
    let protocols: Vec<&ClassMethods> = classes.iter().filter(|c| c.is_protocol).collect();
    let mut out = vec![Vec::new(); n];
    for class in &classes {
        let bases = index.repo_bases(class.class);
        for (name, &method) in &class.methods {
            for base in bases.iter().filter_map(|b| by_class.get(b)) {
                if let Some(&overridden) = classes[*base].methods.get(name) {
                    out[method as usize].push(overridden);
                }
            }
        }
        for protocol in protocols.iter().filter(|p| implements(class, p, &bases)) {
            for (name, &method) in &protocol.methods {
                out[class.methods[name] as usize].push(method);
            }
        }
    }
    out
}

/// Whether `class` implements `protocol` structurally: it defines every method the
/// protocol declares, without deriving from it (derived classes are bases already).
fn implements(class: &ClassMethods, protocol: &ClassMethods, bases: &[ScopeRef]) -> bool {
    class.class != protocol.class
        && !bases.contains(&protocol.class)
        && !protocol.methods.is_empty()
        && protocol.methods.keys().all(|name| class.methods.contains_key(name))
}

/// Every repository class with its own dispatchable methods.
fn class_methods(index: &Index<'_>, func_ids: &HashMap<ScopeRef, FuncId>) -> Vec<ClassMethods> {
    let mut classes = Vec::new();
    for (mi, module) in index.modules.iter().enumerate() {
        let scopes = &module.summary.scopes;
        let mut own: HashMap<u32, usize> = HashMap::default();
        for (si, scope) in scopes.iter().enumerate() {
            let at = ScopeRef { module: mi as ModId, scope: si as u32 };
            match scope.kind {
                ScopeKind::Class => {
                    own.insert(si as u32, classes.len());
                    let is_protocol = is_protocol(index, at);
                    classes.push(ClassMethods { class: at, methods: HashMap::default(), is_protocol });
                }
                ScopeKind::Function => {
                    let Some(&class) = scope.parent.and_then(|p| own.get(&p)) else { continue };
                    if NOT_DISPATCHED.contains(&scope.name.as_str()) {
                        continue;
                    }
                    if let Some(&id) = func_ids.get(&at) {
                        classes[class].methods.insert(scope.name.to_string(), id);
                    }
                }
                ScopeKind::Module => {}
            }
        }
    }
    classes
}

/// Whether a class names `typing.Protocol` among its bases.
fn is_protocol(index: &Index<'_>, class: ScopeRef) -> bool {
    let scopes = &index.modules[class.module as usize].summary.scopes;
    let scope = &scopes[class.scope as usize];
    let parent = scope.parent.unwrap_or(0);
    scope.bases.iter().any(|base| {
        matches!(index.resolve_chain(class.module, parent, base, scope.pos.byte),
            Value::External(q) if q == "typing.Protocol" || q == "typing_extensions.Protocol")
    })
}
