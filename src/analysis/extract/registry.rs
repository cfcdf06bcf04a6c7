//! Class registries: a metaclass's `__init__` (or `__new__`) or a base's
//! `__init_subclass__` that stores the class being created in a dict
//! (`registry[name] = cls`). Code that later takes classes out of that dict and
//! instantiates them runs the methods of any class of the hierarchy, so the index
//! types the dict's values as a class of it (see `Index::registry_of`).

use tree_sitter::Node;

use super::{Ctx, Walker, fields};
use crate::analysis::summary::{Chain, Name, Registration, ScopeKind};

/// The methods that run once for every class created: a metaclass's and the
/// hook a base class gets for each subclass.
const REGISTERING_METHODS: &[&str] = &["__init__", "__new__", "__init_subclass__"];

impl<'s> Walker<'s> {
    /// Remember a local of a registering method that names an attribute of an
    /// object (`registry = getattr(base, "plugins", None)`, `registry = cls.plugins`):
    /// storing into the local stores into that attribute.
    pub(super) fn note_registry_alias(&mut self, scope: u32, name: &'s str, value: Option<Node>) {
        if !self.is_registering_method(scope) {
            return;
        }
        if let Some(chain) = value.and_then(|v| self.attribute_named(v)) {
            self.registry_aliases.push((scope, name, chain));
        }
    }

    /// `target[key] = value` in a registering method, where `value` is the class
    /// being created: record where the class is registered.
    pub(super) fn note_registration(&mut self, target: Node, value: Option<Node>, ctx: Ctx) {
        if target.kind() != "subscript" || !self.is_registering_method(ctx.scope) {
            return;
        }
        let Some(value) = value.filter(|v| v.kind_id() == self.k.identifier) else { return };
        if !self.is_created_class(ctx.scope, self.text(value)) {
            return;
        }
        let Some(registry) = target.child_by_field_id(fields().value.get()) else { return };
        let chain = match registry.kind() {
            "identifier" => {
                let name = self.text(registry);
                let alias = self.registry_aliases.iter().rev().find(|(s, n, _)| *s == ctx.scope && *n == name);
                match alias {
                    Some((_, _, chain)) => *chain,
                    None => Chain::from_strs([name]),
                }
            }
            "attribute" => match self.chain(registry) {
                Some(chain) => chain,
                None => return,
            },
            _ => return,
        };
        // A registry reached through a name the method binds (`cls`, a base it
        // iterates) is an attribute of the hierarchy being created; through any
        // other name (a module's dict, `Plugin.registry`), it is that name's.
        let relative = chain.len() == 2 && self.binds(ctx.scope, &chain[0]);
        let registration = if relative {
            Registration { method: ctx.scope, attribute: Some(chain[1]), registry: None }
        } else {
            Registration { method: ctx.scope, attribute: None, registry: Some(chain) }
        };
        self.out.registrations.push(registration);
    }

    /// `container[key] = value` in a function whose `container` is not its own
    /// (an enclosing function's or the module's dict, or an attribute's): the
    /// function keeps state between calls by key, as a memoiser's wrapper does.
    pub(super) fn note_store_by_key(&mut self, target: Node, ctx: Ctx) {
        if target.kind() != "subscript" || self.out.scopes[ctx.scope as usize].kind != ScopeKind::Function {
            return;
        }
        let Some(container) = target.child_by_field_id(fields().value.get()) else { return };
        let outside = match container.kind() {
            "identifier" => !self.binds(ctx.scope, &Name::new(self.text(container))),
            "attribute" => true,
            _ => false,
        };
        if outside {
            self.out.scopes[ctx.scope as usize].stores_by_key = true;
        }
    }

    /// A method that runs for every class created, defined in a class body.
    fn is_registering_method(&self, scope: u32) -> bool {
        let s = &self.out.scopes[scope as usize];
        s.kind == ScopeKind::Function
            && REGISTERING_METHODS.contains(&s.name.as_str())
            && s.parent.is_some_and(|p| self.out.scopes[p as usize].kind == ScopeKind::Class)
    }

    /// Whether `name` holds the class being created in registering method `scope`:
    /// the first parameter of `__init__` and `__init_subclass__`, or in `__new__`
    /// what a `__new__` call returned (`cls = super().__new__(mcs, ...)`).
    fn is_created_class(&self, scope: u32, name: &str) -> bool {
        let s = &self.out.scopes[scope as usize];
        if s.name != "__new__" {
            return s.params.first().is_some_and(|p| p.name == name);
        }
        s.bindings.iter().any(|b| {
            b.name == name
                && matches!(&b.value, crate::analysis::summary::BindingValue::Call(c)
                    if c.len() >= 2 && c[c.len() - 2] == "__new__")
        })
    }

    /// Whether `scope` binds `name` itself (a parameter, a local, a loop target).
    fn binds(&self, scope: u32, name: &Name) -> bool {
        self.out.scopes[scope as usize].bindings.iter().any(|b| b.name == *name)
    }

    /// `getattr(obj, "attr", ...)` or `obj.attr`, with `obj` a plain name: `obj.attr`.
    fn attribute_named(&self, node: Node) -> Option<Chain> {
        match node.kind() {
            "attribute" => self.chain(node).filter(|c| c.len() == 2),
            "call" => {
                let callee = node.child_by_field_id(fields().function.get())?;
                if self.text(callee) != "getattr" {
                    return None;
                }
                let args = node.child_by_field_id(fields().arguments.get())?;
                let object = args.named_child(0).filter(|o| o.kind_id() == self.k.identifier)?;
                let attr = args.named_child(1).filter(|a| a.kind_id() == self.k.string)?;
                let attr = self.text(attr).trim_matches(|c| c == '"' || c == '\'');
                let valid = !attr.is_empty() && attr.chars().all(|c| c.is_alphanumeric() || c == '_');
                valid.then(|| Chain::from_strs([self.text(object), attr]))
            }
            _ => None,
        }
    }
}
