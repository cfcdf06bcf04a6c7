//! Class registries: dicts that classes store themselves in as they are created,
//! through a metaclass's `__init__`/`__new__` or a base's `__init_subclass__`.
//! A dispatcher that takes a class out of the dict, instantiates it and calls a
//! method runs that method of whichever class was registered, so the dict's values
//! are typed as the registering hierarchy's root class: calls on its instances
//! reach every override, as calls through a base-typed receiver do.

use rustc_hash::FxHashMap as HashMap;

use super::index::{Index, ModId, ScopeRef, Value};
use super::summary::{Name, Registration};

/// Where each registry is bound (a class and attribute, or a module global at
/// scope 0), with the class whose hierarchy registers into it. A registry that
/// two unrelated hierarchies share is left out: its values are not of one hierarchy.
pub fn registries(index: &Index<'_>) -> HashMap<(ModId, u32, Name), ScopeRef> {
    let mut found: HashMap<(ModId, u32, Name), Option<ScopeRef>> = HashMap::default();
    for (mi, module) in index.modules.iter().enumerate() {
        for registration in &module.summary.registrations {
            let m = mi as ModId;
            let scopes = &module.summary.scopes;
            let method = &scopes[registration.method as usize];
            let Some(class) = method.parent.map(|p| ScopeRef { module: m, scope: p }) else { continue };
            let roots = if method.name == "__init_subclass__" { vec![class] } else { index.metaclass_users(class) };
            for (place, root) in places(index, m, registration, &roots) {
                found.entry(place).and_modify(|r| *r = r.filter(|r| *r == root)).or_insert(Some(root));
            }
        }
    }
    found.into_iter().filter_map(|(place, root)| root.map(|r| (place, r))).collect()
}

/// Where `registration` stores, for each root class it registers the hierarchy of.
fn places(
    index: &Index<'_>,
    m: ModId,
    registration: &Registration,
    roots: &[ScopeRef],
) -> Vec<((ModId, u32, Name), ScopeRef)> {
    if let Some(attribute) = registration.attribute {
        // `cls.registry`, `getattr(base, "registry")`: each root's own attribute.
        return roots.iter().map(|r| ((r.module, r.scope, attribute), *r)).collect();
    }
    let [root] = roots else { return Vec::new() };
    let Some(chain) = &registration.registry else { return Vec::new() };
    let method = registration.method;
    let place = match &chain[..] {
        // A module global of the registering module.
        [name] => (m, 0, *name),
        [owner, attribute] => {
            let at = index.modules[m as usize].summary.scopes[method as usize].pos.byte;
            match index.resolve_chain(m, method, &[*owner], at) {
                Value::RepoClass(c) => (c.module, c.scope, *attribute),
                _ => return Vec::new(),
            }
        }
        _ => return Vec::new(),
    };
    vec![(place, *root)]
}
