//! Repository decorators built on `functools.wraps`: the wrapper gains an async
//! twin, used when the decorated function is a coroutine function.

use super::*;

impl<'a, 'c, 't> Rewriter<'a, 'c, 't> {
    /// A decorator's `functools.wraps` wrapper gains an async twin, used when the
    /// decorated function is a coroutine function; the sync wrapper stays as it was.
    pub(super) fn convert_decorators(&mut self) {
        let decorators: Vec<FuncId> = self
            .job
            .plans
            .iter()
            .flat_map(|p| p.decorators.iter())
            .map(|d| d.wrapper_id)
            .filter(|&w| self.job.model.graph.functions[w as usize].at.module == self.job.module)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for w in decorators {
            if let Err(why) = self.async_twin(w) {
                let at = self.function_node(w).map_or(0, |n| n.start_byte());
                self.fail(at, why);
            }
        }
    }

    pub(super) fn async_twin(&mut self, w: FuncId) -> Result<(), String> {
        let def = self.function_node(w).ok_or("the decorator's wrapper was not found")?;
        let outer = def.parent().filter(|p| p.kind() == "decorated_definition").ok_or("no decorators")?;
        let name = text(self.src, def.child_by_field_name("name").ok_or("no name")?).to_string();
        let wrapped = self.wraps_argument(outer).ok_or("`wraps(...)` does not name the wrapped function")?;
        let enclosing = enclosing_function(outer).ok_or("the wrapper is not inside a decorator")?;
        let ind = indent_at(self.src, outer.start_byte()).to_string();
        let twin_name = fresh_name(self.src, enclosing, &format!("async_{name}"));
        let twin = self.twin_text(outer, &wrapped, &twin_name)?;
        let nl = self.nl;
        let unit = self.unit.clone();
        let body: Vec<String> =
            twin.split('\n')
                .map(|line| {
                    if line.trim().is_empty() {
                        line.trim_end_matches('\r').to_string()
                    } else {
                        format!("{unit}{line}")
                    }
                })
                .collect();
        let returns = enclosing.child_by_field_name("return_type").map(|r| text(self.src, r).to_string());
        let ret = match returns {
            Some(r) => {
                self.imports.from_names.entry("typing".into()).or_default().insert("cast".into());
                format!("cast({:?}, {twin_name})", r)
            }
            None => twin_name.clone(),
        };
        self.imports.from_names.entry("typing".into()).or_default().extend(["Any".to_string(), "cast".to_string()]);
        self.need_import("inspect");
        self.need_import("asyncio");
        let block = format!(
            "{ind}if inspect.iscoroutinefunction({wrapped}):{nl}{nl}{}{nl}{nl}{ind}{unit}return {ret}{nl}{nl}",
            body.join("\n")
        );
        self.edits.insert(line_start(self.src, outer.start_byte()), block);
        Ok(())
    }

    /// The wrapped function: the name given to `wraps(...)` among the decorators.
    fn wraps_argument(&self, outer: Node<'t>) -> Option<String> {
        let mut c = outer.walk();
        outer.named_children(&mut c).filter(|d| d.kind() == "decorator").find_map(|d| {
            let call = d.named_child(0).filter(|n| n.kind() == "call")?;
            let f = call.child_by_field_name("function")?;
            if !text(self.src, f).ends_with("wraps") {
                return None;
            }
            let args = call.child_by_field_name("arguments")?;
            args.named_child(0).filter(|a| a.kind() == "identifier").map(|a| text(self.src, a).to_string())
        })
    }

    /// The wrapper's text made async under `twin_name`: the wrapped function awaited,
    /// `time.sleep` → `asyncio.sleep`. Parsed on its own, with edits of its own.
    fn twin_text(&self, outer: Node<'t>, wrapped: &str, twin_name: &str) -> Result<String, String> {
        let snippet = &self.src[line_start(self.src, outer.start_byte())..outer.end_byte()];
        let tree = python::parse(snippet);
        let root = tree.root_node();
        let mut edits = Edits::new();
        let mut stack = vec![root];
        let mut cursor = root.walk();
        let mut waits = 0;
        let sleep_is_time = self.imported_from("sleep").as_deref() == Some("time");
        while let Some(node) = stack.pop() {
            match node.kind() {
                "function_definition" if node.parent().is_some_and(|p| p.kind() == "decorated_definition") => {
                    edits.insert(node.start_byte(), "async ");
                    if let Some(n) = node.child_by_field_name("name") {
                        edits.replace(n.start_byte(), n.end_byte(), twin_name.to_string());
                    }
                    if let Some(r) = node.child_by_field_name("return_type") {
                        edits.replace(r.start_byte(), r.end_byte(), "Any");
                    }
                }
                "function_definition" | "lambda" | "class_definition" => continue,
                "call" => {
                    if let Some(f) = node.child_by_field_name("function") {
                        let callee = text(snippet, f);
                        if callee == wrapped {
                            edits.insert(node.start_byte(), "await ");
                            edits.replace(f.start_byte(), f.end_byte(), format!("cast(Any, {wrapped})"));
                            waits += 1;
                        } else if callee == "time.sleep" || (callee == "sleep" && sleep_is_time) {
                            edits.insert(node.start_byte(), "await ");
                            edits.replace(f.start_byte(), f.end_byte(), "asyncio.sleep");
                        }
                    }
                }
                _ => {}
            }
            for child in node.named_children(&mut cursor) {
                stack.push(child);
            }
        }
        if waits == 0 {
            return Err(format!("the decorator's wrapper never calls `{wrapped}`"));
        }
        edits.apply(snippet).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
#[path = "tests/decorators.rs"]
mod tests;
