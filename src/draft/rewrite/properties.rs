//! Properties that do I/O: the getter becomes an async method under the async name
//! (`functions` moves the `@property` to its sync wrapper), a cached property's
//! async method shares the `functools.cached_property` cache, and converted code
//! that reads the property awaits the async method instead.

use super::functions::call_arguments;
use super::*;
use crate::analysis::intern::Name;

impl<'a, 'c, 't> Rewriter<'a, 'c, 't> {
    pub(super) fn convert_properties(&mut self) {
        for (id, pf) in self.local_functions() {
            if let Some(kind) = pf.property {
                self.convert_getter(id, pf, kind);
            }
        }
        let readers: Vec<FuncId> = self.local_functions().into_iter().map(|(id, _)| id).collect();
        for id in readers {
            self.await_property_reads(id);
        }
    }

    /// The getter loses its `@property` (the wrapper has it); a cached property's
    /// async method first looks in the cache and stores what it returns there, so
    /// that the property and the method fetch once between them and the cache
    /// never holds a coroutine.
    fn convert_getter(&mut self, id: FuncId, pf: &PlanFunction, kind: &str) {
        let Some(def) = self.function_node(id) else { return };
        let Some(outer) = def.parent().filter(|p| p.kind() == "decorated_definition") else { return };
        let mut c = outer.walk();
        for d in outer.named_children(&mut c).filter(|n| n.kind() == "decorator") {
            let written = text(self.src, d).trim().trim_start_matches('@');
            if written.rsplit('.').next() == Some(kind)
                && let Some(next) = d.next_named_sibling()
            {
                self.edits.replace(d.start_byte(), next.start_byte(), "");
            }
        }
        if kind == "cached_property" {
            self.share_cache(def, pf);
        }
    }

    /// `if "name" in self.__dict__: return self.__dict__["name"]` first, and every
    /// `return value` stores the value: `return remember(self.__dict__, "name", value)`.
    fn share_cache(&mut self, def: Node<'t>, pf: &PlanFunction) {
        let (Some(params), Some(body)) = (def.child_by_field_name("parameters"), def.child_by_field_name("body"))
        else {
            return;
        };
        let Some(receiver) = call_arguments(self.src, params, true).0 else {
            self.fail(def.start_byte(), "a cached property without a receiver");
            return;
        };
        let name = text(self.src, def.child_by_field_name("name").expect("a function has a name")).to_string();
        let cache = format!("{receiver}.__dict__");
        let cached = match def.child_by_field_name("return_type") {
            Some(r) => {
                self.imports.from_names.entry("typing".into()).or_default().insert("cast".into());
                let annotation = text(self.src, r);
                let quoted = if annotation.starts_with(['"', '\'']) {
                    annotation.to_string()
                } else {
                    format!("{annotation:?}")
                };
                format!("cast({quoted}, {cache}[\"{name}\"])")
            }
            None => format!("{cache}[\"{name}\"]"),
        };
        let mut cursor = body.walk();
        let statements: Vec<Node> = body.named_children(&mut cursor).filter(|n| n.kind() != "comment").collect();
        let docstring = statements
            .first()
            .filter(|s| s.kind() == "expression_statement" && s.named_child(0).is_some_and(|e| e.kind() == "string"));
        let Some(first) = statements.iter().find(|s| Some(*s) != docstring) else { return };
        if first.start_position().row == def.start_position().row {
            self.fail(first.start_byte(), format!("`{}` has its body on the `def` line", pf.qualname));
            return;
        }
        // After the docstring or the header's colon: not at the start of the first
        // statement, which a later rewrite (an `async with` client) may wrap.
        let after = match docstring {
            Some(d) => d.end_byte(),
            None => body.prev_sibling().map_or(body.start_byte(), |colon| colon.end_byte()),
        };
        let ind = indent_at(self.src, first.start_byte()).to_string();
        let (nl, unit) = (self.nl, self.unit.clone());
        self.edits.insert(
            after,
            format!(
                "{nl}{ind}# Shares the cache of the cached property `{name}`.{nl}{ind}if \"{name}\" in {cache}:{nl}{ind}{unit}return {cached}"
            ),
        );
        self.imports.helpers.insert("remember");
        for ret in returns_of(body) {
            let Some(value) = ret.named_child(0) else {
                self.fail(ret.start_byte(), format!("`{}` returns nothing to cache", pf.qualname));
                continue;
            };
            let store = |current: String| format!("remember({cache}, \"{name}\", {current})");
            if let Err(e) = self.edits.rewrite_region(self.src, value.start_byte(), value.end_byte(), store) {
                self.fail(value.start_byte(), e.to_string());
            }
        }
    }

    /// `obj.prop` read in converted code, where `prop` is a property the plans
    /// convert: `await obj.prop_async()`. A read of an attribute of that name on
    /// something the analysis cannot type may be the property: the file is refused.
    fn await_property_reads(&mut self, id: FuncId) {
        let properties: BTreeMap<&str, Vec<(FuncId, &PlanFunction)>> =
            self.job.functions.iter().filter(|(_, pf)| pf.property.is_some() && pf.twin.is_none()).fold(
                BTreeMap::new(),
                |mut by_name, (fid, pf)| {
                    let name = self.job.model.graph.functions[*fid as usize].name.as_str();
                    by_name.entry(name).or_default().push((*fid, *pf));
                    by_name
                },
            );
        if properties.is_empty() {
            return;
        }
        let Some(def) = self.function_node(id) else { return };
        let Some(body) = def.child_by_field_name("body") else { return };
        let f = &self.job.model.graph.functions[id as usize];
        let mut stack = vec![body];
        let mut cursor = body.walk();
        while let Some(node) = stack.pop() {
            stack.extend(node.named_children(&mut cursor));
            if node.kind() != "attribute" {
                continue;
            }
            let (Some(object), Some(attr)) =
                (node.child_by_field_name("object"), node.child_by_field_name("attribute"))
            else {
                continue;
            };
            let Some(candidates) = properties.get(text(self.src, attr)) else { continue };
            if is_assigned(node) {
                continue;
            }
            let resolved = chain_of(self.src, object).and_then(|chain| {
                match self.job.model.index.resolve_chain(f.at.module, f.at.scope, &chain, node.start_byte() as u32) {
                    Value::RepoInstance(class) => Some(self.job.model.index.member(class, text(self.src, attr), 0)),
                    _ => None,
                }
            });
            let target = match resolved {
                Some(Value::RepoFunction(at)) => self.job.model.graph.function_at(at),
                Some(_) => continue,
                None => {
                    let what = text(self.src, node);
                    self.fail(
                        node.start_byte(),
                        format!(
                            "cannot tell whether `{what}` reads the property `{}`, which becomes async",
                            candidates[0].1.qualname
                        ),
                    );
                    continue;
                }
            };
            let Some(&(_, pf)) = candidates.iter().find(|(fid, _)| Some(*fid) == target) else { continue };
            if in_sync_scope(node, def) {
                self.fail(
                    node.start_byte(),
                    format!(
                        "`{}` is read where it cannot be awaited (a lambda, nested function or generator expression)",
                        pf.qualname
                    ),
                );
                continue;
            }
            self.edits.replace(attr.start_byte(), attr.end_byte(), format!("{}()", pf.async_name));
            self.add_await(node, "");
        }
    }
}

/// The `return` statements of a function body, not those of nested functions.
fn returns_of(body: Node) -> Vec<Node> {
    let mut out = Vec::new();
    let mut stack = vec![body];
    let mut cursor = body.walk();
    while let Some(node) = stack.pop() {
        if matches!(node.kind(), "function_definition" | "lambda" | "class_definition") {
            continue;
        }
        if node.kind() == "return_statement" {
            out.push(node);
        }
        stack.extend(node.named_children(&mut cursor));
    }
    out
}

/// `a.b.c` as its names, when the expression is a plain dotted chain.
pub(super) fn chain_of(src: &str, node: Node) -> Option<Vec<Name>> {
    match node.kind() {
        "identifier" => Some(vec![Name::new(text(src, node))]),
        "attribute" => {
            let mut chain = chain_of(src, node.child_by_field_name("object")?)?;
            chain.push(Name::new(text(src, node.child_by_field_name("attribute")?)));
            Some(chain)
        }
        _ => None,
    }
}

/// The attribute is written (`x.prop = ...`, `del x.prop`), not read.
fn is_assigned(node: Node) -> bool {
    node.parent().is_some_and(|p| match p.kind() {
        "assignment" | "augmented_assignment" => p.child_by_field_name("left") == Some(node),
        "delete_statement" => true,
        _ => false,
    })
}

/// Between `node` and the converted function `def`, a lambda, nested function or
/// generator expression: code that runs where an `await` cannot be written.
fn in_sync_scope(node: Node, def: Node) -> bool {
    let mut current = node.parent();
    while let Some(p) = current {
        if p == def {
            return false;
        }
        if matches!(p.kind(), "lambda" | "function_definition" | "generator_expression") {
            return true;
        }
        current = p.parent();
    }
    false
}
