//! Call sites in converted code: awaits of converted functions, blocking calls run
//! in a thread, and the native mappings' edits through [`CallEdit`].

use super::*;
use crate::analysis::summary::{Binder, Name};
use crate::draft::mappings::{ClientClass, Declined};

impl<'a, 'c, 't> Rewriter<'a, 'c, 't> {
    pub(super) fn convert_calls(&mut self, id: FuncId) {
        let f = &self.job.model.graph.functions[id as usize];
        let mut calls = f.calls.clone();
        calls.sort_by_key(|&ci| self.call_site(ci).pos.byte);
        for ci in calls {
            let site = self.call_site(ci);
            if site.in_lambda {
                if matches!(self.target(ci), CallTarget::Blocking(_)) && self.plan_call(ci).is_some() {
                    self.iterate_header_in_thread(ci);
                }
                continue;
            }
            match self.target(ci) {
                // A sync shell's callers keep calling it (in a thread): its decorators still run.
                CallTarget::Repo(g) if self.job.functions.get(g).is_some_and(|pf| !pf.sync_shell) => {
                    if site.via.is_some() {
                        self.fail(site.pos.byte as usize, "a function that becomes async is passed to a sync builtin");
                        continue;
                    }
                    let pf = self.job.functions[g];
                    if pf.generator {
                        self.consume_async_generator(ci, pf);
                    } else {
                        self.await_repo_call(ci, pf);
                    }
                }
                CallTarget::Repo(g) if self.job.offloaded.contains(g) => {
                    if site.via.is_some() {
                        self.fail(site.pos.byte as usize, "a blocking function is passed to a sync builtin");
                        continue;
                    }
                    let generator = self.job.model.graph.functions[*g as usize].is_generator;
                    let cached = self.job.plans.iter().flat_map(|p| &p.kept_sync).any(|k| k.id == *g);
                    match self.call_node(ci) {
                        Some(node) if cached && !generator => {
                            self.imports.helpers.insert("to_thread_cached");
                            self.offload_call_with(node, None, "to_thread_cached(");
                        }
                        _ => self.offload(ci, generator),
                    }
                }
                CallTarget::Blocking(_) => {
                    if let Some(pc) = self.plan_call(ci) {
                        self.replace_blocking(ci, pc);
                    }
                }
                _ => {}
            }
        }
    }

    /// A blocking call in a lambda that a `for` header iterates
    /// (`for chunk in iter(lambda: f.read(n), b""):`): the loop becomes
    /// `async for chunk in iterate_in_thread(lambda: iter(...)):`, whose items are
    /// made one at a time in a thread, as lazily as before. Once per loop.
    fn iterate_header_in_thread(&mut self, ci: u32) {
        let site = self.call_site(ci);
        let (start, end) = (site.pos.byte, site.end_byte);
        let summary = &self.module().summary;
        let Some((li, lp)) = summary.loops.iter().enumerate().find(|(_, lp)| {
            lp.kind == LoopKind::For && lp.scope == site.scope && lp.iter_range.0 <= start && end <= lp.iter_range.1
        }) else {
            return self.fail(start as usize, "a lambda makes a blocking call outside a `for` header");
        };
        let (loop_start, iter_range) = (lp.pos.byte as usize, lp.iter_range);
        if !self.awaits.async_fors.insert(loop_start) {
            return; // another call of the same header did it
        }
        if self.gathers_here().contains(&(li as u32)) {
            return self.fail(loop_start, "a loop over items made in a thread cannot also be gathered");
        }
        // Any other converted call in the header would put an `await` inside the lambda.
        let awaited = summary.calls.iter().enumerate().any(|(other, c)| {
            !c.in_lambda
                && iter_range.0 <= c.pos.byte
                && c.end_byte <= iter_range.1
                && match self.target(other as u32) {
                    CallTarget::Repo(g) => self.job.functions.contains_key(g) || self.job.offloaded.contains(g),
                    CallTarget::Blocking(_) => self.plan_call(other as u32).is_some(),
                    _ => false,
                }
        });
        if awaited {
            return self.fail(loop_start, "the `for` header iterates a lambda in a thread and also awaits");
        }
        self.imports.helpers.insert("iterate_in_thread");
        self.edits.insert(loop_start, "async ");
        self.edits.insert(iter_range.0 as usize, "iterate_in_thread(lambda: ");
        self.edits.insert(iter_range.1 as usize, ")");
        self.awaits.suspends.push(loop_start);
    }

    /// The `with` statement starting at `with` becomes `async with` (once, whichever call asks).
    fn make_with_async(&mut self, with: usize) {
        if self.awaits.async_withs.insert(with) {
            self.edits.insert(with, "async ");
            self.awaits.suspends.push(with);
        }
    }

    /// Where the call's value goes needs parentheses around `await call`.
    pub(super) fn needs_parens(node: Node) -> bool {
        node.parent().is_some_and(|p| match p.kind() {
            "attribute" => p.child_by_field_name("object") == Some(node),
            "subscript" => p.child_by_field_name("value") == Some(node),
            "call" => p.child_by_field_name("function") == Some(node),
            "await" => false,
            _ => false,
        })
    }

    pub(super) fn add_await(&mut self, node: Node<'t>, prefix: &str) {
        if self.awaits.no_await.contains(&node.start_byte()) {
            if !prefix.is_empty() {
                self.edits.insert(node.start_byte(), prefix.to_string());
            }
            return;
        }
        if Self::needs_parens(node) {
            self.edits.insert(node.start_byte(), format!("(await {prefix}"));
            self.edits.insert(node.end_byte(), ")");
        } else {
            self.edits.insert(node.start_byte(), format!("await {prefix}"));
        }
        self.awaits.suspends.push(node.start_byte());
    }

    pub(super) fn await_repo_call(&mut self, ci: u32, pf: &PlanFunction) {
        let Some(node) = self.call_node(ci) else { return };
        self.rename_callee(node, pf);
        self.add_await(node, "");
    }

    pub(super) fn rename_callee(&mut self, call: Node<'t>, pf: &PlanFunction) {
        let Some(function) = call.child_by_field_name("function") else { return };
        let name = match function.kind() {
            "identifier" => Some(function),
            "attribute" => function.child_by_field_name("attribute"),
            _ => None,
        };
        if let Some(name) = name
            && text(self.src, name) != pf.async_name
        {
            self.edits.replace(name.start_byte(), name.end_byte(), pf.async_name.clone());
            if function.kind() == "identifier"
                && let Some((module, imported)) = self.import_binding(text(self.src, name))
            {
                self.imports.renamed.insert((module, imported, pf.async_name.clone()));
            }
        }
    }

    /// A call of a generator that becomes an async generator: its consumer changes.
    pub(super) fn consume_async_generator(&mut self, ci: u32, pf: &PlanFunction) {
        let Some(node) = self.call_node(ci) else { return };
        let Some(parent) = node.parent() else { return };
        match parent.kind() {
            "for_statement" | "for_in_clause" if parent.child_by_field_name("right") == Some(node) => {
                if parent.kind() == "for_in_clause"
                    && parent.parent().is_some_and(|p| p.kind() == "generator_expression")
                {
                    self.fail(node.start_byte(), "a generator expression over an async generator would itself become async");
                    return;
                }
                self.rename_callee(node, pf);
                self.edits.insert(parent.start_byte(), "async ");
                self.awaits.suspends.push(parent.start_byte());
            }
            "argument_list" if is_sole_argument_of(self.src, parent, "list") => {
                let outer = parent.parent().expect("an argument list belongs to a call");
                self.rename_callee(node, pf);
                self.deferred.list_consumers.push((outer.start_byte(), outer.end_byte(), node.start_byte(), node.end_byte()));
                self.awaits.suspends.push(outer.start_byte());
            }
            "yield" => {
                self.rename_callee(node, pf);
                if let Some(stmt) = parent.parent().filter(|s| s.kind() == "expression_statement") {
                    self.deferred.yield_froms.push((stmt.start_byte(), stmt.end_byte(), node.start_byte(), node.end_byte(), true));
                }
                self.awaits.suspends.push(node.start_byte());
            }
            _ => self.fail(
                node.start_byte(),
                format!(
                    "`{}` becomes an async generator; only `for`, comprehensions, `list()` and `yield from` over it are converted",
                    pf.qualname
                ),
            ),
        }
    }

    /// The helper that runs the call at `ci` in a thread: `run_in_affine_thread`
    /// when it reaches a thread-affine API (a `sqlite3` connection and what it
    /// makes are used only on the thread that made them, so all such work shares
    /// one thread), else `run_in_thread`.
    pub(super) fn thread_runner(&self, ci: u32) -> &'static str {
        let graph = &self.job.model.graph;
        let module = self.job.module;
        if graph.thread_affine_api(self.job.model.index.catalog, [(module, ci)]).is_some() {
            "run_in_affine_thread"
        } else {
            "run_in_thread"
        }
    }

    /// `f(a, b)` → `await run_in_thread(f, a, b)`.
    pub(super) fn offload(&mut self, ci: u32, generator: bool) {
        let Some(node) = self.call_node(ci) else { return };
        let runner = self.thread_runner(ci);
        self.imports.helpers.insert(runner);
        if generator {
            // Only `list(gen())` can run whole in a thread.
            let Some(args) = node.parent().filter(|p| is_sole_argument_of(self.src, *p, "list")) else {
                self.fail(node.start_byte(), "a blocking generator is iterated in async code");
                return;
            };
            let outer = args.parent().expect("an argument list belongs to a call");
            let callee = outer.child_by_field_name("function").expect("a call has a function");
            self.edits.replace(callee.start_byte(), args.start_byte() + 1, format!("{runner}(list, "));
            self.add_await(outer, "");
            return;
        }
        self.offload_call_with(node, None, &format!("{runner}("));
    }

    /// Rewrite a call as `await <runner>callee, args...)`: `runner` is a thread
    /// runner's name and open parenthesis (`run_in_thread(`, `to_thread_cached(`).
    pub(super) fn offload_call_with(&mut self, node: Node<'t>, extra_keyword: Option<String>, runner: &str) {
        let Some(args) = node.child_by_field_name("arguments") else { return };
        if args.kind() == "generator_expression" {
            self.edits.insert(args.start_byte(), ", ");
            self.edits.insert(args.end_byte(), ")");
        } else if args.named_child_count() == 0 {
            let close = match extra_keyword {
                Some(k) => format!(", {k})"),
                None => ")".to_string(),
            };
            self.edits.replace(args.start_byte(), args.end_byte(), close);
        } else {
            self.edits.replace(args.start_byte(), args.start_byte() + 1, ", ");
            if let Some(k) = extra_keyword {
                self.insert_keyword(args, &k);
            }
        }
        self.add_await(node, runner);
    }

    /// Add `keyword=value` as the last argument (before any comment after it).
    pub(super) fn insert_keyword(&mut self, args: Node<'t>, keyword: &str) {
        let mut cursor = args.walk();
        let last = args.named_children(&mut cursor).filter(|n| n.kind() != "comment").last();
        if let Some(last) = last {
            let close = args.end_byte() - 1;
            let after = &self.src[last.end_byte()..close];
            let comma = after.find(',').filter(|&i| !after[..i].contains('#'));
            match comma {
                Some(i) => self.edits.insert(last.end_byte() + i + 1, format!(" {keyword},")),
                None => self.edits.insert(last.end_byte(), format!(", {keyword}")),
            }
            return;
        }
        // No arguments yet: the keyword goes right before `)`.
        self.edits.insert(args.end_byte() - 1, keyword.to_string());
    }

    /// Whether the call needs the catalog's timeout keyword added.
    pub(super) fn missing_timeout(&self, ci: u32) -> Option<String> {
        let CallTarget::Blocking(api) = self.target(ci) else { return None };
        let entry = self.job.model.index.catalog.entry(api.id);
        let keyword = entry.timeout.as_ref()?;
        let site = self.call_site(ci);
        if site.keywords.iter().any(|k| k == keyword) || site.has_splat {
            return None;
        }
        if entry.timeout_position.is_some_and(|p| site.positional > p) {
            return None;
        }
        Some(format!("{keyword}={}", self.job.settings.timeout_literal()))
    }

    /// A blocking call the plan replaces: in a thread, or by its native mapping's edit.
    pub(super) fn replace_blocking(&mut self, ci: u32, pc: &PlanCall) {
        let Some(node) = self.call_node(ci) else { return };
        let Some(args) = node.child_by_field_name("arguments").filter(|a| a.kind() == "argument_list") else {
            return;
        };
        let timeout = self.missing_timeout(ci);
        let mapping = match pc.rewrite {
            CallRewrite::Thread => {
                let runner = self.thread_runner(ci);
                self.imports.helpers.insert(runner);
                return self.offload_call_with(node, timeout, &format!("{runner}("));
            }
            CallRewrite::Native(mapping) => mapping,
        };
        self.imports.may_drop.extend(mapping.may_leave_unused());
        let mut edit = CallEdit { rewriter: self, node, args, ci, api: &pc.api, timeout };
        if let Err(why) = mapping.edit(&mut edit) {
            self.fail(node.start_byte(), why.0);
        }
    }

    /// Keyword arguments that change name with the native replacement (`allow_redirects` → `follow_redirects`).
    pub(super) fn rename_keywords(&mut self, args: Node<'t>, ci: u32) {
        let CallTarget::Blocking(api) = self.target(ci) else { return };
        let entry = self.job.model.index.catalog.entry(api.id);
        let mut cursor = args.walk();
        for arg in args.named_children(&mut cursor) {
            if arg.kind() != "keyword_argument" {
                continue;
            }
            let Some(name) = arg.child_by_field_name("name") else { continue };
            if let Some(to) = entry.keywords.get(text(self.src, name)) {
                self.edits.replace(name.start_byte(), name.end_byte(), to.clone());
            }
        }
    }
}

pub(super) fn is_sole_argument_of(src: &str, args: Node, function: &str) -> bool {
    args.kind() == "argument_list"
        && args.named_child_count() == 1
        && args
            .parent()
            .and_then(|call| call.child_by_field_name("function"))
            .is_some_and(|f| f.kind() == "identifier" && text(src, f) == function)
}

/// The statement directly in a block that holds `node`, when it is a simple statement.
pub(super) fn enclosing_simple_statement(node: Node) -> Option<Node> {
    let mut current = node;
    while let Some(parent) = current.parent() {
        if matches!(parent.kind(), "block" | "module") {
            return matches!(current.kind(), "expression_statement" | "return_statement").then_some(current);
        }
        if matches!(
            parent.kind(),
            "lambda"
                | "function_definition"
                | "generator_expression"
                | "list_comprehension"
                | "set_comprehension"
                | "dictionary_comprehension"
        ) {
            return None;
        }
        current = parent;
    }
    None
}

/// One blocking call being rewritten by a native mapping: what the mapping may
/// change about it. The edits go into the file's rewrite; nothing else is reachable.
pub struct CallEdit<'r, 'a, 'c, 't> {
    rewriter: &'r mut Rewriter<'a, 'c, 't>,
    node: Node<'t>,
    args: Node<'t>,
    ci: u32,
    api: &'r str,
    /// The catalog's timeout keyword with the configured value, when the call has none.
    timeout: Option<String>,
}

impl CallEdit<'_, '_, '_, '_> {
    /// The canonical qualified API called (`requests.get`).
    pub fn api(&self) -> &str {
        self.api
    }

    /// Replace the called expression (`time.sleep` → `asyncio.sleep`).
    pub fn replace_callee(&mut self, text: &str) {
        if let Some(function) = self.node.child_by_field_name("function") {
            self.rewriter.edits.replace(function.start_byte(), function.end_byte(), text.to_string());
        }
    }

    /// Rename keyword arguments as the catalog entry says (`allow_redirects` → `follow_redirects`).
    pub fn rename_keywords(&mut self) {
        self.rewriter.rename_keywords(self.args, self.ci);
    }

    /// Add `keyword=value` as the call's last argument.
    pub fn add_keyword(&mut self, keyword: &str) {
        self.rewriter.insert_keyword(self.args, keyword);
    }

    /// Wrap the call: `callee(args)` → `<open>(args)<close>`, its callee replaced by
    /// `open` (`process_output(run_process`), `close` after its arguments.
    pub fn wrap_call(&mut self, open: &str, close: &str) {
        self.replace_callee(open);
        // The closing parenthesis grows rather than text being inserted after the
        // call, which, at the end of a function, would land after its wrapper.
        let paren = self.args.end_byte() - 1;
        self.rewriter.edits.replace(paren, paren + 1, format!("){close}"));
    }

    /// When the call is made on a client opened by `with` (`with requests.Session() as s:`):
    /// open the async client there instead (`async with httpx.AsyncClient(...) as s:`).
    pub fn open_local_client(&mut self, class: &'static ClientClass) {
        let r = &mut *self.rewriter;
        let module = r.job.module;
        let summary = &r.job.model.index.modules[module as usize].summary;
        let Some(local) = summary.bound_local_of(&summary.calls[self.ci as usize]) else { return };
        let (ctor, stmt) = (local.ctor, local.stmt);
        let resolved =
            local.ctor_callee.as_ref().map(|chain| r.job.model.index.resolve_chain(module, local.scope, chain, ctor.0));
        let Some(node) = python::node_at(r.tree, ctor.0 as usize, ctor.1 as usize, "call") else { return };
        r.make_with_async(stmt.0 as usize);
        // A subclass of the client (checked by the mapping): its async twin is opened instead.
        if let Some(Value::RepoClass(c)) = resolved {
            let callee = node.child_by_field_name("function");
            let name =
                callee.and_then(|f| if f.kind() == "attribute" { f.child_by_field_name("attribute") } else { Some(f) });
            if let Some(name) = name {
                let twin = crate::draft::mappings::twin_name(text(r.src, name));
                r.edits.replace_once(name.start_byte(), name.end_byte(), twin);
                r.deferred.twins.insert(c.scope, class);
            }
            return;
        }
        let keywords: Vec<Name> = node
            .child_by_field_name("arguments")
            .map(|args| {
                let mut cursor = args.walk();
                args.named_children(&mut cursor)
                    .filter_map(|a| a.child_by_field_name("name").filter(|_| a.kind() == "keyword_argument"))
                    .map(|n| Name::from(text(r.src, n)))
                    .collect()
            })
            .unwrap_or_default();
        r.convert_construction(node, &keywords, Some(class), class.async_);
    }

    /// When the call constructs a local entered by `with` (`with subprocess.Popen(...) as p:`):
    /// that `with` becomes `async with`, entering the async object the call then makes.
    pub fn enter_local_asynchronously(&mut self) {
        let r = &mut *self.rewriter;
        let summary = &r.job.model.index.modules[r.job.module as usize].summary;
        let Some(local) = summary.local_constructed_by(&summary.calls[self.ci as usize]) else { return };
        if local.binder == Binder::With {
            r.make_with_async(local.stmt.0 as usize);
        }
    }

    /// Add the timeout keyword when the call has none.
    pub fn add_timeout(&mut self) {
        if let Some(timeout) = self.timeout.take() {
            self.rewriter.insert_keyword(self.args, &timeout);
        }
    }

    /// Await the call (or leave it a coroutine when a gather takes it).
    pub fn await_call(&mut self) {
        self.rewriter.add_await(self.node, "");
    }

    /// `import module` at the top of the file.
    pub fn need_import(&mut self, module: &str) {
        self.rewriter.need_import(module);
    }

    /// `from <package>._async_bridge import name`.
    pub fn need_helper(&mut self, name: &'static str) {
        self.rewriter.imports.helpers.insert(name);
    }

    /// The name of an `httpx.AsyncClient` opened around the call's statement
    /// (`async with httpx.AsyncClient(<options>, timeout=..., verify=...) as client:`),
    /// shared by every call of the statement; an error when the call is not in a
    /// simple statement.
    pub fn statement_client(&mut self, options: &str) -> Result<String, Declined> {
        let Some(stmt) = enclosing_simple_statement(self.node) else {
            return Err(Declined(format!("`{}` is not in a simple statement to wrap in `async with`", self.api)));
        };
        let key = (stmt.start_byte(), stmt.end_byte());
        if let Some((name, _)) = self.rewriter.deferred.client_statements.get(&key) {
            return Ok(name.clone());
        }
        let scope = enclosing_function(self.node).unwrap_or(self.rewriter.tree.root_node());
        let name = fresh_name(self.rewriter.src, scope, "client");
        self.rewriter.deferred.client_statements.insert(key, (name.clone(), options.to_string()));
        Ok(name)
    }
}

#[cfg(test)]
#[path = "tests/calls.rs"]
mod tests;
