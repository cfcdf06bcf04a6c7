//! Context managers whose `__enter__` or `__exit__` blocks: the class gains
//! `__aenter__`/`__aexit__` (the sync ones stay, for sync callers), and a `with`
//! of such a class in converted code becomes `async with`.

use super::functions::call_arguments;
use super::properties::chain_of;
use super::*;
use crate::plan::PlanContextManager;

impl<'a, 'c, 't> Rewriter<'a, 'c, 't> {
    pub(super) fn convert_context_managers(&mut self) {
        let managers: Vec<&'a PlanContextManager> =
            self.job.plans.iter().flat_map(|p| p.context_managers.iter()).collect();
        if managers.is_empty() {
            return;
        }
        let mut done = BTreeSet::new();
        for cm in managers.iter().filter(|cm| cm.module == self.job.module) {
            if done.insert(cm.class_scope) {
                self.add_async_context(cm);
            }
        }
        for (id, _) in self.local_functions() {
            self.enter_asynchronously(id, &managers);
        }
    }

    /// `__aenter__`/`__aexit__` after the class's last statement, with the sync
    /// methods' own signatures, running each in a thread when it blocks.
    fn add_async_context(&mut self, cm: &PlanContextManager) {
        let graph = &self.job.model.graph;
        let scopes = &self.module().summary.scopes;
        let method = |name: &str| {
            graph.functions.iter().position(|g| {
                g.at.module == cm.module && g.name == name && scopes[g.at.scope as usize].parent == Some(cm.class_scope)
            })
        };
        let (Some(enter), Some(exit)) = (method("__enter__"), method("__exit__")) else { return };
        let class_scope = &scopes[cm.class_scope as usize];
        let Some(class) = python::node_at(
            self.tree,
            class_scope.pos.byte as usize,
            class_scope.end_byte as usize,
            "class_definition",
        ) else {
            return;
        };
        let body = class.child_by_field_name("body").expect("a class has a body");
        let mut added = String::new();
        for (id, name, blocks) in [(enter, "__aenter__", cm.enter_blocks), (exit, "__aexit__", cm.exit_blocks)] {
            match self.async_dunder(id as FuncId, name, blocks) {
                Some(text) => added.push_str(&text),
                None => {
                    self.fail(body.start_byte(), format!("cannot give `{}` its `{name}`", cm.class));
                    return;
                }
            }
        }
        self.edits.insert(body.end_byte(), added);
    }

    /// `async def __aenter__(self) -> T: return await run_in_thread(self.__enter__)`.
    fn async_dunder(&mut self, id: FuncId, name: &str, blocks: bool) -> Option<String> {
        let def = self.function_node(id)?;
        let params = def.child_by_field_name("parameters")?;
        let (receiver, args) = call_arguments(self.src, params, true);
        let receiver = receiver?;
        let sync = &self.job.model.graph.functions[id as usize].name;
        let arrow =
            def.child_by_field_name("return_type").map(|r| format!(" -> {}", text(self.src, r))).unwrap_or_default();
        let call = if blocks {
            self.imports.helpers.insert("run_in_thread");
            let mut all = vec![format!("{receiver}.{sync}")];
            all.extend(args);
            format!("await run_in_thread({})", all.join(", "))
        } else {
            format!("{receiver}.{sync}({})", args.join(", "))
        };
        let ind = indent_at(self.src, def.start_byte()).to_string();
        let (nl, unit) = (self.nl, &self.unit);
        let why = if blocks { "in a thread, for `async with`" } else { "for `async with`" };
        Some(format!(
            "{nl}{nl}{ind}async def {name}{}{arrow}:{nl}{ind}{unit}\"\"\"Runs `{sync}` {why}.\"\"\"{nl}{ind}{unit}return {call}",
            text(self.src, params)
        ))
    }

    /// `with Manager(...) as m:` (or `with m:` for an instance the analysis types)
    /// in a converted function becomes `async with` when the plans convert Manager.
    fn enter_asynchronously(&mut self, id: FuncId, managers: &[&PlanContextManager]) {
        let Some(def) = self.function_node(id) else { return };
        let f = &self.job.model.graph.functions[id as usize];
        let index = &self.job.model.index;
        let mut stack: Vec<Node> = def.child_by_field_name("body").into_iter().collect();
        let mut cursor = def.walk();
        while let Some(node) = stack.pop() {
            if matches!(node.kind(), "function_definition" | "lambda" | "class_definition") {
                continue;
            }
            stack.extend(node.named_children(&mut cursor));
            if node.kind() != "with_statement" || text(self.src, node).starts_with("async") {
                continue;
            }
            let managed: Vec<bool> = with_values(node)
                .into_iter()
                .map(|value| {
                    let (expr, constructed) = match value.kind() {
                        "call" => (value.child_by_field_name("function"), true),
                        _ => (Some(value), false),
                    };
                    let Some(chain) = expr.and_then(|e| chain_of(self.src, e)) else { return false };
                    let class = match index.resolve_chain(f.at.module, f.at.scope, &chain, value.start_byte() as u32) {
                        Value::RepoClass(c) if constructed => c,
                        Value::RepoInstance(c) if !constructed => c,
                        _ => return false,
                    };
                    managers.iter().any(|cm| cm.module == class.module && cm.class_scope == class.scope)
                })
                .collect();
            if !managed.contains(&true) {
                continue;
            }
            // `async with` needs every item to be an async context manager: a mixed
            // statement stays sync (its blocking enter and exit stay as they were).
            if managed.contains(&false) {
                let line = node.start_position().row + 1;
                self.notes.push(format!(
                    "{}:{line}: `with` kept sync: it also enters something without `__aenter__`",
                    self.module().rel
                ));
                continue;
            }
            if self.awaits.async_withs.insert(node.start_byte()) {
                self.edits.insert(node.start_byte(), "async ");
                self.awaits.suspends.push(node.start_byte());
            }
        }
    }
}

/// The values a `with` statement enters (`a` and `b()` of `with a as x, b():`).
fn with_values(stmt: Node) -> Vec<Node> {
    let mut out = Vec::new();
    let mut cursor = stmt.walk();
    let Some(clause) = stmt.named_children(&mut cursor).find(|n| n.kind() == "with_clause") else { return out };
    let mut c = clause.walk();
    for item in clause.named_children(&mut c).filter(|n| n.kind() == "with_item") {
        let Some(value) = item.child_by_field_name("value") else { continue };
        let value = if value.kind() == "as_pattern" { value.named_child(0).unwrap_or(value) } else { value };
        out.push(value);
    }
    out
}
