//! Functions: `def` → `async def` under the async name, the sync wrapper that keeps
//! the old name working, and generators that become async generators.

use super::*;

impl<'a, 'c, 't> Rewriter<'a, 'c, 't> {
    /// The sync wrapper that keeps the old name working for sync callers.
    pub(super) fn add_wrapper(&mut self, id: FuncId, pf: &PlanFunction) {
        if !pf.wrapper || pf.already_async {
            return;
        }
        let Some(def) = self.function_node(id) else { return };
        let outer = def.parent().filter(|p| p.kind() == "decorated_definition").unwrap_or(def);
        let ind = indent_at(self.src, outer.start_byte()).to_string();
        let body_ind = format!("{ind}{}", self.unit);
        let nl = self.nl;
        let mut decorators = String::new();
        let mut is_static = false;
        if outer.kind() == "decorated_definition" {
            let mut c = outer.walk();
            for d in outer.named_children(&mut c).filter(|n| n.kind() == "decorator") {
                let t = text(self.src, d);
                is_static |= t.trim() == "@staticmethod";
                // Only decorators that describe the method carry over: one that wraps
                // the function (a retry) already wraps the async version the wrapper calls.
                // A sync shell keeps them all: they register or wrap the sync name.
                // A property's getter becomes the async method; the wrapper is the property.
                let property = pf.property.is_some() && is_property_decorator(t);
                if pf.sync_shell || property || describes(t) {
                    decorators.push_str(&format!("{t}{nl}{ind}"));
                }
            }
        }
        let Some(params) = def.child_by_field_name("parameters") else { return };
        let Ok(params_text) = self.edits.render(self.src, params.start_byte(), params.end_byte()) else { return };
        let returns = def.child_by_field_name("return_type");
        let returns_text = match returns {
            Some(r) => self.edits.render(self.src, r.start_byte(), r.end_byte()).ok(),
            None => None,
        };
        let name = &self.job.model.graph.functions[id as usize].name;
        let is_method = self.is_method(id);
        let (receiver, args) = call_arguments(self.src, params, is_method && !is_static);
        let receiver = match (is_method, is_static, receiver) {
            (true, true, _) => format!("{}.", self.class_name(id).unwrap_or_default()),
            (true, false, Some(first)) => format!("{first}."),
            _ => String::new(),
        };
        let lead = if pf.generator {
            self.imports.helpers.insert("collect");
            "yield from "
        } else if returns_text.as_deref().is_some_and(|r| r.trim() == "None") {
            ""
        } else {
            "return "
        };
        let run = wrapper_call(lead, &receiver, &pf.async_name, &args, pf.generator, &body_ind, &self.unit, nl);
        self.imports.helpers.insert("run_sync");
        let arrow = returns_text.map(|r| format!(" -> {r}")).unwrap_or_default();
        let blank = if is_method { nl.to_string() } else { format!("{nl}{nl}") };
        // A shell's docstring is the function's own: click and typer show it as help.
        let doc = if pf.sync_shell {
            docstring(self.src, def).map(|d| format!("{d}{nl}{body_ind}")).unwrap_or_default()
        } else {
            format!("\"\"\"Sync wrapper of `{}`, kept for existing callers.\"\"\"{nl}{body_ind}", pf.async_name)
        };
        let wrapper = format!("{nl}{blank}{ind}{decorators}def {name}{params_text}{arrow}:{nl}{body_ind}{doc}{run}");
        self.edits.insert(outer.end_byte(), wrapper);
    }

    /// A hierarchy member that stays as it is gains an async twin after it, so that
    /// callers through the base class can await whichever subclass they get:
    /// `async def send_async(self, m) -> bool: return self.send(m)` (in a thread
    /// when the method blocks).
    pub(super) fn add_twin(&mut self, id: FuncId, pf: &PlanFunction) {
        let Some(def) = self.function_node(id) else {
            self.fail(0, format!("cannot find the definition of {}", pf.qualname));
            return;
        };
        let outer = def.parent().filter(|p| p.kind() == "decorated_definition").unwrap_or(def);
        let ind = indent_at(self.src, outer.start_byte()).to_string();
        let body_ind = format!("{ind}{}", self.unit);
        let nl = self.nl;
        let (decorators, is_static) = self.describing_decorators(outer, &ind);
        let Some(params) = def.child_by_field_name("parameters") else { return };
        let params_text = text(self.src, params);
        let arrow =
            def.child_by_field_name("return_type").map(|r| format!(" -> {}", text(self.src, r))).unwrap_or_default();
        let name = &self.job.model.graph.functions[id as usize].name;
        let (receiver, args) = call_arguments(self.src, params, self.is_method(id) && !is_static);
        let receiver = match receiver {
            Some(first) => format!("{first}."),
            None => format!("{}.", self.class_name(id).unwrap_or_default()),
        };
        let call = match pf.twin {
            // A property's twin reads it.
            Some(Twin::Thread) if pf.property.is_some() => {
                self.imports.helpers.insert("run_in_thread");
                format!("await run_in_thread(getattr, {}, \"{name}\")", receiver.trim_end_matches('.'))
            }
            _ if pf.property.is_some() => format!("{receiver}{name}"),
            Some(Twin::Thread) => {
                self.imports.helpers.insert("run_in_thread");
                let mut all = vec![format!("{receiver}{name}")];
                all.extend(args);
                format!("await run_in_thread({})", all.join(", "))
            }
            _ => format!("{receiver}{name}({})", args.join(", ")),
        };
        let twin = format!(
            "{nl}{nl}{ind}{decorators}async def {}{params_text}{arrow}:{nl}{body_ind}\"\"\"Async twin of `{name}`, for callers through the base class.\"\"\"{nl}{body_ind}return {call}",
            pf.async_name
        );
        self.edits.insert(outer.end_byte(), twin);
    }

    /// The decorators of a definition that describe the method rather than wrap it
    /// (`@staticmethod`, `@abstractmethod`), each followed by a new line at `ind`,
    /// and whether it is a static method.
    fn describing_decorators(&self, outer: Node<'t>, ind: &str) -> (String, bool) {
        let mut decorators = String::new();
        let mut is_static = false;
        if outer.kind() != "decorated_definition" {
            return (decorators, is_static);
        }
        let mut c = outer.walk();
        for d in outer.named_children(&mut c).filter(|n| n.kind() == "decorator") {
            let t = text(self.src, d);
            is_static |= t.trim() == "@staticmethod";
            if describes(t) {
                decorators.push_str(&format!("{t}{}{ind}", self.nl));
            }
        }
        (decorators, is_static)
    }

    pub(super) fn is_method(&self, id: FuncId) -> bool {
        self.job.model.graph.functions[id as usize].is_method
    }

    pub(super) fn class_name(&self, id: FuncId) -> Option<String> {
        let f = &self.job.model.graph.functions[id as usize];
        let scopes = &self.module().summary.scopes;
        let parent = scopes[f.at.scope as usize].parent?;
        Some(scopes[parent as usize].name.to_string())
    }

    /// `def` → `async def`, the new name, an async generator's annotation.
    pub(super) fn convert_header(&mut self, id: FuncId, pf: &PlanFunction) {
        if pf.already_async {
            return;
        }
        let Some(def) = self.function_node(id) else {
            self.fail(0, format!("cannot find the definition of {}", pf.qualname));
            return;
        };
        if pf.test && !self.job.asyncio_auto {
            let outer = def.parent().filter(|p| p.kind() == "decorated_definition").unwrap_or(def);
            let ind = indent_at(self.src, outer.start_byte()).to_string();
            self.edits.insert(outer.start_byte(), format!("@pytest.mark.asyncio{}{ind}", self.nl));
            self.need_import("pytest");
        }
        if pf.sync_shell {
            self.drop_shell_decorators(def);
        }
        self.edits.insert(def.start_byte(), "async ");
        if let Some(name) = def.child_by_field_name("name")
            && text(self.src, name) != pf.async_name
        {
            self.edits.replace(name.start_byte(), name.end_byte(), pf.async_name.clone());
        }
        if pf.generator {
            self.convert_generator(def);
        }
    }

    /// The async version of a sync shell keeps only the decorators that describe
    /// it (`staticmethod`); the rest stay on the shell.
    fn drop_shell_decorators(&mut self, def: Node<'t>) {
        let Some(outer) = def.parent().filter(|p| p.kind() == "decorated_definition") else { return };
        let mut c = outer.walk();
        let children: Vec<Node> = outer.named_children(&mut c).collect();
        for pair in children.windows(2) {
            if pair[0].kind() == "decorator" && !describes(text(self.src, pair[0])) {
                self.edits.replace(pair[0].start_byte(), pair[1].start_byte(), "");
            }
        }
    }

    pub(super) fn convert_generator(&mut self, def: Node<'t>) {
        // `return value` inside a generator has no async-generator equivalent.
        let mut cursor = def.walk();
        let mut stack: Vec<Node> = def.child_by_field_name("body").into_iter().collect();
        while let Some(node) = stack.pop() {
            if matches!(node.kind(), "function_definition" | "lambda" | "class_definition") {
                continue;
            }
            if node.kind() == "return_statement" && node.named_child_count() > 0 {
                self.fail(node.start_byte(), "a generator that returns a value cannot become an async generator");
            }
            for child in node.named_children(&mut cursor) {
                stack.push(child);
            }
        }
        let Some(returns) = def.child_by_field_name("return_type") else { return };
        let mut stack = vec![returns];
        let mut cursor = returns.walk();
        while let Some(node) = stack.pop() {
            if node.kind() == "identifier" {
                let t = text(self.src, node);
                let replacement = match t {
                    "Iterator" => "AsyncIterator",
                    "Iterable" => "AsyncIterable",
                    "Generator" => "AsyncGenerator",
                    _ => {
                        continue;
                    }
                };
                self.edits.replace(node.start_byte(), node.end_byte(), replacement);
                let qualified = node.parent().is_some_and(|p| p.kind() == "attribute");
                if !qualified {
                    let module = self.imported_from(t).unwrap_or_else(|| "collections.abc".to_string());
                    self.imports.from_names.entry(module).or_default().insert(replacement.to_string());
                }
                if t == "Generator" {
                    self.drop_generator_return_type(node);
                }
                return;
            }
            let children: Vec<Node> = node.named_children(&mut cursor).collect();
            for child in children.into_iter().rev() {
                stack.push(child);
            }
        }
    }

    /// `Generator[Y, S, R]` → `AsyncGenerator[Y, S]`.
    pub(super) fn drop_generator_return_type(&mut self, name: Node<'t>) {
        let Some(generic) = name.parent() else { return };
        let mut cursor = generic.walk();
        let Some(params) = generic.named_children(&mut cursor).find(|n| n.kind() == "type_parameter") else { return };
        let mut c = params.walk();
        let types: Vec<Node> = params.named_children(&mut c).collect();
        if types.len() == 3 {
            self.edits.replace(types[1].end_byte(), types[2].end_byte(), "");
        }
    }
}

/// A decorator (`@staticmethod`) that describes the method and stays on its async
/// version; one that wraps the function (a retry) already wraps the async version
/// the wrapper calls.
fn describes(decorator: &str) -> bool {
    let name = decorator.trim().trim_start_matches('@');
    let last = name.rsplit('.').next().unwrap_or(name);
    crate::plan::SAFE_DECORATORS.contains(&last)
}

/// `@property` or `@functools.cached_property`.
fn is_property_decorator(decorator: &str) -> bool {
    let name = decorator.trim().trim_start_matches('@');
    matches!(name.rsplit('.').next(), Some("property" | "cached_property"))
}

/// The function's docstring as written, if its body starts with one.
fn docstring<'s>(src: &'s str, def: Node) -> Option<&'s str> {
    let body = def.child_by_field_name("body")?;
    let first = body.named_child(0).filter(|n| n.kind() == "expression_statement")?;
    let string = first.named_child(0).filter(|n| n.kind() == "string")?;
    Some(text(src, string))
}

/// The parameters as call arguments (`a, b, *args, key=key, **kw`), and the first
/// parameter's name when it is the receiver (`self`/`cls`).
pub(super) fn call_arguments(src: &str, params: Node, skip_first: bool) -> (Option<String>, Vec<String>) {
    let mut cursor = params.walk();
    let mut receiver = None;
    let mut args = Vec::new();
    let mut keyword_only = false;
    for (i, p) in params.named_children(&mut cursor).enumerate() {
        let name = match p.kind() {
            "identifier" => Some(text(src, p).to_string()),
            "typed_parameter" => p.named_child(0).map(|n| text(src, n).to_string()),
            "default_parameter" | "typed_default_parameter" => {
                p.child_by_field_name("name").map(|n| text(src, n).to_string())
            }
            "list_splat_pattern" | "dictionary_splat_pattern" => Some(text(src, p).to_string()),
            "keyword_separator" => {
                keyword_only = true;
                None
            }
            _ => None,
        };
        let Some(name) = name else { continue };
        if i == 0 && skip_first {
            receiver = Some(name);
            continue;
        }
        if name.starts_with('*') {
            // `*args: int` is a typed_parameter whose first child is the splat.
            if name.starts_with("**") {
                args.push(name);
            } else {
                keyword_only = true;
                args.push(name);
            }
            continue;
        }
        if keyword_only {
            args.push(format!("{name}={name}"));
        } else {
            args.push(name);
        }
    }
    (receiver, args)
}

/// The wrapper's one statement, `return run_sync(name_async(args), "name_async")`,
/// split over lines the way a formatter would when it is longer than 99 characters.
#[allow(clippy::too_many_arguments)]
pub(super) fn wrapper_call(
    lead: &str,
    receiver: &str,
    async_name: &str,
    args: &[String],
    generator: bool,
    ind: &str,
    unit: &str,
    nl: &str,
) -> String {
    let wrap = |call: String| if generator { format!("collect({call})") } else { call };
    let one_line =
        format!("{lead}run_sync({}, \"{async_name}\")", wrap(format!("{receiver}{async_name}({})", args.join(", "))));
    if ind.len() + one_line.len() <= 99 {
        return one_line;
    }
    let i1 = format!("{ind}{unit}");
    let i2 = format!("{i1}{unit}");
    let call_line = format!("{receiver}{async_name}({})", args.join(", "));
    let call = if i1.len() + call_line.len() + 12 <= 99 {
        wrap(call_line)
    } else {
        let listed: Vec<String> = args.iter().map(|a| format!("{i2}{a},{nl}")).collect();
        wrap(format!("{receiver}{async_name}({nl}{}{i1})", listed.concat()))
    };
    format!("{lead}run_sync({nl}{i1}{call},{nl}{i1}\"{async_name}\",{nl}{ind})")
}

#[cfg(test)]
#[path = "tests/functions.rs"]
mod tests;
