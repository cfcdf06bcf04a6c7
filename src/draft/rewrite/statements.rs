//! Statements around converted calls: consumers of async generators (`list()`,
//! `yield from`) and generator expressions that now await.

use super::*;

impl<'a, 'c, 't> Rewriter<'a, 'c, 't> {
    pub(super) fn convert_list_consumers(&mut self) {
        for (start, end, inner_start, inner_end) in std::mem::take(&mut self.deferred.list_consumers) {
            let Some(outer) = python::node_at(self.tree, start, end, "call") else { continue };
            let scope = enclosing_function(outer).unwrap_or(self.tree.root_node());
            let var = fresh_name(self.src, scope, "item");
            let Ok(inner) = self.edits.render(self.src, inner_start, inner_end) else { continue };
            let result =
                self.edits.rewrite_region(self.src, start, end, |_| format!("[{var} async for {var} in {inner}]"));
            if let Err(e) = result {
                self.fail(start, e.to_string());
            }
        }
    }

    pub(super) fn convert_yield_froms(&mut self) {
        // Also `yield from` over plain iterables inside functions that become async generators.
        for (id, pf) in self.local_functions() {
            if !pf.generator {
                continue;
            }
            let Some(def) = self.function_node(id) else { continue };
            let mut cursor = def.walk();
            let mut stack: Vec<Node> = def.child_by_field_name("body").into_iter().collect();
            while let Some(node) = stack.pop() {
                if matches!(node.kind(), "function_definition" | "lambda" | "class_definition") {
                    continue;
                }
                if node.kind() == "yield"
                    && node.child(1).is_some_and(|c| c.kind() == "from")
                    && let Some(value) = node.named_child(0)
                    && let Some(stmt) = node.parent().filter(|s| s.kind() == "expression_statement")
                    && !self.deferred.yield_froms.iter().any(|y| y.0 == stmt.start_byte())
                {
                    self.deferred.yield_froms.push((
                        stmt.start_byte(),
                        stmt.end_byte(),
                        value.start_byte(),
                        value.end_byte(),
                        false,
                    ));
                    continue;
                }
                for child in node.named_children(&mut cursor) {
                    stack.push(child);
                }
            }
        }
        for (start, end, vs, ve, is_async) in std::mem::take(&mut self.deferred.yield_froms) {
            let Some(stmt) = python::node_at(self.tree, start, end, "expression_statement") else { continue };
            let scope = enclosing_function(stmt).unwrap_or(self.tree.root_node());
            let var = fresh_name(self.src, scope, "item");
            let ind = format!("{}{}", indent_at(self.src, start), self.unit);
            let Ok(value) = self.edits.render(self.src, vs, ve) else { continue };
            let kw = if is_async { "async for" } else { "for" };
            let nl = self.nl;
            let result = self
                .edits
                .rewrite_region(self.src, start, end, |_| format!("{kw} {var} in {value}:{nl}{ind}yield {var}"));
            if let Err(e) = result {
                self.fail(start, e.to_string());
            }
        }
    }

    /// An `await` inside a generator expression would make it an async generator.
    pub(super) fn check_generator_expressions(&mut self) {
        let mut fixes = Vec::new();
        for &at in &self.awaits.suspends {
            let Some(mut node) = self.tree.root_node().descendant_for_byte_range(at, at) else { continue };
            while let Some(p) = node.parent() {
                if matches!(p.kind(), "function_definition" | "lambda" | "class_definition") {
                    break;
                }
                if p.kind() == "generator_expression" {
                    fixes.push(p);
                    break;
                }
                node = p;
            }
        }
        fixes.sort_by_key(|n| n.start_byte());
        fixes.dedup_by_key(|n| n.start_byte());
        const EAGER: &[&str] = &["list", "tuple", "set", "frozenset", "sorted", "sum", "min", "max", "dict"];
        for genexp in fixes {
            let call = genexp.parent().filter(|p| p.kind() == "call");
            let eager = call
                .and_then(|c| c.child_by_field_name("function"))
                .is_some_and(|f| EAGER.contains(&text(self.src, f)));
            if !eager {
                self.fail(genexp.start_byte(), "an awaited call inside a generator expression");
                continue;
            }
            // Around the edited text: an `await` at the element's start goes inside the list.
            let (start, end) = (genexp.start_byte() + 1, genexp.end_byte() - 1);
            if let Err(e) = self.edits.rewrite_region(self.src, start, end, |current| format!("[{current}]")) {
                self.fail(genexp.start_byte(), e.to_string());
            }
        }
    }
}

#[cfg(test)]
#[path = "tests/statements.rs"]
mod tests;
