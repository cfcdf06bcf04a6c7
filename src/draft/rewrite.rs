//! The rules drafter's rewrite of one Python file for a plan.
//!
//! Works on a fresh tree-sitter parse of the file, guided by the analysis: the
//! plan says which functions become async and how each blocking call is replaced;
//! the call graph says what every call site calls. Passes run from small to
//! large (types, wrappers, headers, calls, statements, loops, imports) so that a
//! larger rewrite takes the already-edited text of what it contains.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use tree_sitter::{Node, Tree};

use super::edits::Edits;
use super::python::{self, fresh_name, indent_at, line_start, next_line_start, text};
use crate::analysis::Model;
use crate::analysis::callgraph::{CallTarget, FuncId};
use crate::analysis::index::{ModId, Value};
use crate::analysis::summary::{CallSite, LoopKind};
use crate::plan::{CallRewrite, Plan, PlanCall, PlanClient, PlanFunction, Settings};

/// Everything one file's rewrite reads.
pub struct FileJob<'a, 'c> {
    pub model: &'a Model<'c>,
    pub module: ModId,
    pub src: &'a str,
    /// Every function of the plans being drafted, by id (calls cross files).
    pub functions: &'a HashMap<FuncId, &'a PlanFunction>,
    pub offloaded: &'a BTreeSet<FuncId>,
    pub plans: &'a [&'a Plan],
    /// Classes (module, scope) whose client attribute becomes async, in any file.
    pub client_owners: &'a BTreeSet<(ModId, u32)>,
    /// `pkg._async_bridge`.
    pub helper_import: &'a str,
    pub settings: &'a Settings,
}

/// A rewritten file.
pub struct FileResult {
    pub text: String,
    /// Things worth knowing that are not failures (a loop kept sequential, and why).
    pub notes: Vec<String>,
}

/// Rewrite one file, or say why the rules drafter cannot do it safely.
pub fn rewrite_file(job: &FileJob<'_, '_>) -> Result<FileResult, Vec<String>> {
    let tree = python::parse(job.src);
    let mut r = Rewriter::new(job, &tree);
    r.run();
    if !r.reasons.is_empty() {
        return Err(r.reasons);
    }
    let text = r.finish().map_err(|e| vec![e])?;
    Ok(FileResult { text, notes: r.notes })
}

struct Rewriter<'a, 'c, 't> {
    job: &'a FileJob<'a, 'c>,
    tree: &'t Tree,
    src: &'a str,
    nl: &'static str,
    unit: String,
    edits: Edits,
    reasons: Vec<String>,
    notes: Vec<String>,
    /// Plain imports to add (`asyncio`, `httpx`).
    imports: BTreeSet<String>,
    /// Names to import from the helper module.
    helper_names: BTreeSet<&'static str>,
    /// Names to add to an existing `from module import ...` (module → names).
    from_names: BTreeMap<String, BTreeSet<String>>,
    /// Byte positions where the rewritten code now suspends (awaits, `async for`).
    suspends: Vec<usize>,
    /// Calls (start byte) that make a coroutine for a gather instead of awaiting it.
    no_await: HashSet<usize>,
    /// Statements (start, end) to wrap in `async with httpx.AsyncClient() as <name>`, with the name and options.
    client_statements: BTreeMap<(usize, usize), (String, String)>,
    /// `list(gen())` calls (outer start, outer end, inner start, inner end) becoming async comprehensions.
    list_consumers: Vec<(usize, usize, usize, usize)>,
    /// `yield from` statements (start, end, value start, value end, async).
    yield_froms: Vec<(usize, usize, usize, usize, bool)>,
    /// `with` statements that become `async with` (start bytes).
    async_withs: BTreeSet<usize>,
    /// Qualified names to rewrite in annotations and `except` clauses, file-wide or inside plan functions.
    renames: BTreeMap<String, String>,
    renames_file_wide: bool,
    /// Functions imported by name whose async versions the module now calls: (module, old, new).
    renamed_imports: BTreeSet<(String, String, String)>,
}

impl<'a, 'c, 't> Rewriter<'a, 'c, 't> {
    fn new(job: &'a FileJob<'a, 'c>, tree: &'t Tree) -> Self {
        Rewriter {
            job,
            tree,
            src: job.src,
            nl: python::newline(job.src),
            unit: python::indent_unit(tree, job.src),
            edits: Edits::new(),
            reasons: Vec::new(),
            notes: Vec::new(),
            imports: BTreeSet::new(),
            helper_names: BTreeSet::new(),
            from_names: BTreeMap::new(),
            suspends: Vec::new(),
            no_await: HashSet::new(),
            client_statements: BTreeMap::new(),
            list_consumers: Vec::new(),
            yield_froms: Vec::new(),
            async_withs: BTreeSet::new(),
            renames: BTreeMap::new(),
            renames_file_wide: false,
            renamed_imports: BTreeSet::new(),
        }
    }

    fn module(&self) -> &'a crate::analysis::index::Module {
        &self.job.model.index.modules[self.job.module as usize]
    }

    fn call_site(&self, ci: u32) -> &'a CallSite {
        &self.module().summary.calls[ci as usize]
    }

    fn target(&self, ci: u32) -> &'a CallTarget {
        &self.job.model.graph.targets[self.job.module as usize][ci as usize]
    }

    /// Plan functions defined in this file, in source order.
    fn local_functions(&self) -> Vec<(FuncId, &'a PlanFunction)> {
        let graph = &self.job.model.graph;
        let mut out: Vec<(FuncId, &PlanFunction)> = self
            .job
            .functions
            .iter()
            .filter(|(id, _)| graph.functions[**id as usize].at.module == self.job.module)
            .map(|(id, pf)| (*id, *pf))
            .collect();
        out.sort_by_key(|(id, _)| graph.functions[*id as usize].at.scope);
        out
    }

    fn plan_call(&self, ci: u32) -> Option<&'a PlanCall> {
        self.job.plans.iter().flat_map(|p| p.calls.iter()).find(|c| c.module == self.job.module && c.call == ci)
    }

    fn function_node(&self, id: FuncId) -> Option<Node<'t>> {
        let f = &self.job.model.graph.functions[id as usize];
        let scope = &self.module().summary.scopes[f.at.scope as usize];
        python::node_at(self.tree, scope.pos.byte as usize, scope.end_byte as usize, "function_definition")
    }

    fn call_node(&self, ci: u32) -> Option<Node<'t>> {
        let call = self.call_site(ci);
        python::node_at(self.tree, call.pos.byte as usize, call.end_byte as usize, "call")
    }

    fn fail(&mut self, line_of: usize, why: impl Into<String>) {
        let line = self.src[..line_of].matches('\n').count() + 1;
        self.reasons.push(format!("{}:{line}: {}", self.module().rel, why.into()));
    }

    fn run(&mut self) {
        self.collect_renames();
        self.rename_types();
        self.plan_gathers_of_comprehensions();
        let functions = self.local_functions();
        for &(id, pf) in &functions {
            self.add_wrapper(id, pf);
        }
        for &(id, pf) in &functions {
            self.convert_header(id, pf);
        }
        for &(id, _) in &functions {
            self.convert_calls(id);
        }
        self.convert_clients();
        self.convert_decorators();
        self.mark_async_withs();
        if !self.reasons.is_empty() {
            return;
        }
        self.convert_list_consumers();
        self.convert_yield_froms();
        self.wrap_client_statements();
        self.gather_loops();
        self.gather_comprehensions();
        self.check_generator_expressions();
    }

    // -- types and exceptions ------------------------------------------------

    /// The renames that native replacements bring (`requests.HTTPError` → `httpx.HTTPStatusError`).
    fn collect_renames(&mut self) {
        let catalog = self.job.model.index.catalog;
        let mut libraries = BTreeSet::new();
        for plan in self.job.plans {
            for call in plan.calls.iter().filter(|c| c.module == self.job.module && c.rewrite != CallRewrite::Thread) {
                if let CallTarget::Blocking(api) = self.target(call.call) {
                    let entry = catalog.entry(api.id);
                    for (from, to) in entry.exceptions.iter().chain(entry.types.iter()) {
                        self.renames.insert(from.clone(), to.clone());
                    }
                    libraries.insert(api.name.split('.').next().unwrap_or("").to_string());
                }
            }
            for client in plan.clients.iter().filter(|c| c.module == self.job.module) {
                self.renames.insert(client.from.clone(), client.to.clone());
                libraries.insert(client.from.split('.').next().unwrap_or("").to_string());
            }
        }
        // File-wide only when nothing in the file keeps using the library synchronously.
        let graph = &self.job.model.graph;
        let still_sync = self.module().summary.calls.iter().enumerate().any(|(ci, _)| {
            let CallTarget::Blocking(api) = self.target(ci as u32) else { return false };
            let lib = api.name.split('.').next().unwrap_or("");
            libraries.contains(lib)
                && self.plan_call(ci as u32).is_none_or(|c| c.rewrite == CallRewrite::Thread)
                && graph.callers[self.job.module as usize][ci].is_some()
        });
        self.renames_file_wide = !still_sync;
    }

    fn rename_types(&mut self) {
        if self.renames.is_empty() {
            return;
        }
        let regions: Vec<(usize, usize)> = if self.renames_file_wide {
            vec![(0, self.src.len())]
        } else {
            self.local_functions()
                .iter()
                .filter_map(|(id, _)| self.function_node(*id).map(|n| (n.start_byte(), n.end_byte())))
                .collect()
        };
        let mut found = Vec::new();
        let mut cursor = self.tree.walk();
        let mut stack = vec![self.tree.root_node()];
        while let Some(node) = stack.pop() {
            if node.kind() == "attribute" && node.parent().is_none_or(|p| p.kind() != "attribute") {
                if regions.iter().any(|&(s, e)| s <= node.start_byte() && node.end_byte() <= e) {
                    found.push(node);
                }
                continue;
            }
            if matches!(node.kind(), "import_statement" | "import_from_statement") {
                continue;
            }
            for child in node.named_children(&mut cursor) {
                stack.push(child);
            }
        }
        for node in found {
            let written = text(self.src, node);
            let chain: Vec<String> = written.split('.').map(|s| s.trim().to_string()).collect();
            if chain.iter().any(|s| !python_identifier(s)) {
                continue;
            }
            let value = self.job.model.index.resolve_chain(self.job.module, 0, &chain, node.start_byte() as u32);
            let Value::External(q) = value else { continue };
            if let Some(to) = self.renames.get(&q) {
                let to = to.clone();
                if let Some(lib) = to.split('.').next() {
                    self.need_import(lib);
                }
                self.edits.replace(node.start_byte(), node.end_byte(), to);
            }
        }
    }

    fn need_import(&mut self, module: &str) {
        self.imports.insert(module.to_string());
    }

    // -- functions -----------------------------------------------------------

    /// The sync wrapper that keeps the old name working for sync callers.
    fn add_wrapper(&mut self, id: FuncId, pf: &PlanFunction) {
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
                let name = t.trim().trim_start_matches('@');
                let last = name.rsplit('.').next().unwrap_or(name);
                if ["staticmethod", "classmethod", "abstractmethod", "override", "final"].contains(&last) {
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
            self.helper_names.insert("collect");
            "yield from "
        } else if returns_text.as_deref().is_some_and(|r| r.trim() == "None") {
            ""
        } else {
            "return "
        };
        let run = wrapper_call(lead, &receiver, &pf.async_name, &args, pf.generator, &body_ind, &self.unit, nl);
        self.helper_names.insert("run_sync");
        let arrow = returns_text.map(|r| format!(" -> {r}")).unwrap_or_default();
        let blank = if is_method { nl.to_string() } else { format!("{nl}{nl}") };
        let wrapper = format!(
            "{nl}{blank}{ind}{decorators}def {name}{params_text}{arrow}:{nl}{body_ind}\"\"\"Sync wrapper of `{}`, kept for existing callers.\"\"\"{nl}{body_ind}{run}",
            pf.async_name
        );
        self.edits.insert(outer.end_byte(), wrapper);
    }

    fn is_method(&self, id: FuncId) -> bool {
        self.job.model.graph.functions[id as usize].is_method
    }

    fn class_name(&self, id: FuncId) -> Option<String> {
        let f = &self.job.model.graph.functions[id as usize];
        let scopes = &self.module().summary.scopes;
        let parent = scopes[f.at.scope as usize].parent?;
        Some(scopes[parent as usize].name.clone())
    }

    /// `def` → `async def`, the new name, an async generator's annotation.
    fn convert_header(&mut self, id: FuncId, pf: &PlanFunction) {
        if pf.already_async {
            return;
        }
        let Some(def) = self.function_node(id) else {
            self.fail(0, format!("cannot find the definition of {}", pf.qualname));
            return;
        };
        if pf.test {
            let outer = def.parent().filter(|p| p.kind() == "decorated_definition").unwrap_or(def);
            let ind = indent_at(self.src, outer.start_byte()).to_string();
            self.edits.insert(outer.start_byte(), format!("@pytest.mark.asyncio{}{ind}", self.nl));
            self.need_import("pytest");
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

    fn convert_generator(&mut self, def: Node<'t>) {
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
                    self.from_names.entry(module).or_default().insert(replacement.to_string());
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
    fn drop_generator_return_type(&mut self, name: Node<'t>) {
        let Some(generic) = name.parent() else { return };
        let mut cursor = generic.walk();
        let Some(params) = generic.named_children(&mut cursor).find(|n| n.kind() == "type_parameter") else { return };
        let mut c = params.walk();
        let types: Vec<Node> = params.named_children(&mut c).collect();
        if types.len() == 3 {
            self.edits.replace(types[1].end_byte(), types[2].end_byte(), "");
        }
    }

    /// The module a bare name was imported from (`from typing import Iterator`).
    fn imported_from(&self, name: &str) -> Option<String> {
        let root = self.tree.root_node();
        let mut cursor = root.walk();
        for child in root.named_children(&mut cursor) {
            if child.kind() != "import_from_statement" {
                continue;
            }
            let module = child.child_by_field_name("module_name").map(|m| text(self.src, m).to_string())?;
            let mut c = child.walk();
            if child.children_by_field_name("name", &mut c).any(|n| text(self.src, n) == name) {
                return Some(module);
            }
        }
        None
    }

    // -- calls ---------------------------------------------------------------

    fn convert_calls(&mut self, id: FuncId) {
        let f = &self.job.model.graph.functions[id as usize];
        let mut calls = f.calls.clone();
        calls.sort_by_key(|&ci| self.call_site(ci).pos.byte);
        for ci in calls {
            let site = self.call_site(ci);
            if site.in_lambda {
                continue;
            }
            match self.target(ci) {
                CallTarget::Repo(g) if self.job.functions.contains_key(g) => {
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
                    self.offload(ci, generator);
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

    /// Where the call's value goes needs parentheses around `await call`.
    fn needs_parens(node: Node) -> bool {
        node.parent().is_some_and(|p| match p.kind() {
            "attribute" => p.child_by_field_name("object") == Some(node),
            "subscript" => p.child_by_field_name("value") == Some(node),
            "call" => p.child_by_field_name("function") == Some(node),
            "await" => false,
            _ => false,
        })
    }

    fn add_await(&mut self, node: Node<'t>, prefix: &str) {
        if self.no_await.contains(&node.start_byte()) {
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
        self.suspends.push(node.start_byte());
    }

    fn await_repo_call(&mut self, ci: u32, pf: &PlanFunction) {
        let Some(node) = self.call_node(ci) else { return };
        self.rename_callee(node, pf);
        self.add_await(node, "");
    }

    fn rename_callee(&mut self, call: Node<'t>, pf: &PlanFunction) {
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
                self.renamed_imports.insert((module, imported, pf.async_name.clone()));
            }
        }
    }

    /// The `from module import name` (or `name as alias`) at top level that binds `ident`.
    fn import_binding(&self, ident: &str) -> Option<(String, String)> {
        let root = self.tree.root_node();
        let mut cursor = root.walk();
        for stmt in root.named_children(&mut cursor) {
            if stmt.kind() != "import_from_statement" {
                continue;
            }
            let module = stmt.child_by_field_name("module_name").map(|m| text(self.src, m).to_string())?;
            let mut c = stmt.walk();
            for name in stmt.children_by_field_name("name", &mut c) {
                let (imported, bound) = match name.kind() {
                    "aliased_import" => (
                        name.child_by_field_name("name").map(|n| text(self.src, n)),
                        name.child_by_field_name("alias").map(|n| text(self.src, n)),
                    ),
                    _ => (Some(text(self.src, name)), Some(text(self.src, name))),
                };
                if bound == Some(ident) {
                    return imported.map(|i| (module.clone(), i.to_string()));
                }
            }
        }
        None
    }

    /// A call of a generator that becomes an async generator: its consumer changes.
    fn consume_async_generator(&mut self, ci: u32, pf: &PlanFunction) {
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
                self.suspends.push(parent.start_byte());
            }
            "argument_list" if is_sole_argument_of(self.src, parent, "list") => {
                let outer = parent.parent().expect("an argument list belongs to a call");
                self.rename_callee(node, pf);
                self.list_consumers.push((outer.start_byte(), outer.end_byte(), node.start_byte(), node.end_byte()));
                self.suspends.push(outer.start_byte());
            }
            "yield" => {
                self.rename_callee(node, pf);
                if let Some(stmt) = parent.parent().filter(|s| s.kind() == "expression_statement") {
                    self.yield_froms.push((stmt.start_byte(), stmt.end_byte(), node.start_byte(), node.end_byte(), true));
                }
                self.suspends.push(node.start_byte());
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

    /// `f(a, b)` → `await asyncio.to_thread(f, a, b)`.
    fn offload(&mut self, ci: u32, generator: bool) {
        let Some(node) = self.call_node(ci) else { return };
        self.need_import("asyncio");
        if generator {
            // Only `list(gen())` can run whole in a thread.
            let Some(args) = node.parent().filter(|p| is_sole_argument_of(self.src, *p, "list")) else {
                self.fail(node.start_byte(), "a blocking generator is iterated in async code");
                return;
            };
            let outer = args.parent().expect("an argument list belongs to a call");
            let callee = outer.child_by_field_name("function").expect("a call has a function");
            self.edits.replace(callee.start_byte(), args.start_byte() + 1, "asyncio.to_thread(list, ");
            self.add_await(outer, "");
            return;
        }
        self.offload_call(node, None);
    }

    /// Rewrite a call as `await asyncio.to_thread(callee, args...)`, with an extra keyword when given.
    fn offload_call(&mut self, node: Node<'t>, extra_keyword: Option<String>) {
        self.need_import("asyncio");
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
        self.add_await(node, "asyncio.to_thread(");
    }

    /// Add `keyword=value` as the last argument (before any comment after it).
    fn insert_keyword(&mut self, args: Node<'t>, keyword: &str) {
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
    fn missing_timeout(&self, ci: u32) -> Option<String> {
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

    fn replace_blocking(&mut self, ci: u32, pc: &PlanCall) {
        let Some(node) = self.call_node(ci) else { return };
        let Some(function) = node.child_by_field_name("function") else { return };
        let Some(args) = node.child_by_field_name("arguments").filter(|a| a.kind() == "argument_list") else {
            return;
        };
        let timeout = self.missing_timeout(ci);
        match pc.rewrite {
            CallRewrite::Thread => self.offload_call(node, timeout),
            CallRewrite::Subprocess => {
                self.helper_names.insert("run_process");
                self.edits.replace(function.start_byte(), function.end_byte(), "run_process");
                if let Some(t) = timeout {
                    self.insert_keyword(args, &t);
                }
                self.add_await(node, "");
            }
            CallRewrite::Sleep => {
                self.need_import("asyncio");
                self.edits.replace(function.start_byte(), function.end_byte(), "asyncio.sleep");
                self.add_await(node, "");
            }
            CallRewrite::ClientAttribute => {
                self.rename_keywords(args, ci);
                if let Some(t) = timeout {
                    self.insert_keyword(args, &t);
                }
                self.add_await(node, "");
            }
            CallRewrite::PerCallClient => {
                let Some(stmt) = enclosing_simple_statement(node) else {
                    self.fail(
                        node.start_byte(),
                        format!("`{}` is not in a simple statement to wrap in `async with`", pc.api),
                    );
                    return;
                };
                let method = pc.api.rsplit('.').next().unwrap_or("request");
                let scope_node = enclosing_function(node).unwrap_or(self.tree.root_node());
                let key = (stmt.start_byte(), stmt.end_byte());
                let name = match self.client_statements.get(&key) {
                    Some((name, _)) => name.clone(),
                    None => {
                        let base = fresh_name(self.src, scope_node, "client");
                        let follow = pc.api.starts_with("requests.") && method != "head";
                        let mut options = Vec::new();
                        if follow {
                            options.push("follow_redirects=True".to_string());
                        }
                        self.client_statements.insert(key, (base.clone(), options.join(", ")));
                        base
                    }
                };
                self.need_import("httpx");
                self.edits.replace(function.start_byte(), function.end_byte(), format!("{name}.{method}"));
                self.rename_keywords(args, ci);
                if let Some(t) = timeout {
                    self.insert_keyword(args, &t);
                }
                self.add_await(node, "");
            }
        }
    }

    /// Keyword arguments that change name with the native replacement (`allow_redirects` → `follow_redirects`).
    fn rename_keywords(&mut self, args: Node<'t>, ci: u32) {
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

    // -- clients -------------------------------------------------------------

    fn convert_clients(&mut self) {
        let clients: Vec<&PlanClient> =
            self.job.plans.iter().flat_map(|p| p.clients.iter()).filter(|c| c.module == self.job.module).collect();
        let mut done = BTreeSet::new();
        for client in clients {
            if !done.insert((client.class_scope, client.attribute.clone())) {
                continue;
            }
            self.convert_client(client);
        }
    }

    /// A class holding a sync client in an attribute: make the client async, give the
    /// class `aclose()` and `async with` support, keep `close()` as a sync wrapper.
    fn convert_client(&mut self, client: &PlanClient) {
        let scopes = &self.module().summary.scopes;
        let class_scope = &scopes[client.class_scope as usize];
        let Some(class) = python::node_at(
            self.tree,
            class_scope.pos.byte as usize,
            class_scope.end_byte as usize,
            "class_definition",
        ) else {
            return;
        };
        let graph = &self.job.model.graph;
        let methods: Vec<FuncId> = graph
            .functions
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                f.at.module == self.job.module && scopes[f.at.scope as usize].parent == Some(client.class_scope)
            })
            .map(|(i, _)| i as FuncId)
            .collect();
        // The constructor call.
        let (from_class, to_class) = (client.from.as_str(), client.to.as_str());
        for &m in &methods {
            for &ci in &graph.functions[m as usize].calls {
                if !matches!(self.target(ci), CallTarget::External(q) if q == from_class) {
                    continue;
                }
                let Some(node) = self.call_node(ci) else { continue };
                let (Some(function), Some(args)) =
                    (node.child_by_field_name("function"), node.child_by_field_name("arguments"))
                else {
                    continue;
                };
                self.edits.replace_once(function.start_byte(), function.end_byte(), to_class.to_string());
                let mut options = Vec::new();
                let site = self.call_site(ci);
                let class = crate::plan::client_class(to_class);
                if from_class == "requests.Session" {
                    options.push("follow_redirects=True".to_string());
                }
                if class.is_some_and(|c| c.httpx) {
                    if !site.keywords.iter().any(|k| k == "timeout") {
                        options.push(format!("timeout={}", self.job.settings.timeout_literal()));
                    }
                    if !site.keywords.iter().any(|k| k == "verify") {
                        self.helper_names.insert("shared_ssl_context");
                        options.push("verify=shared_ssl_context()".to_string());
                    }
                }
                if !options.is_empty() {
                    self.insert_keyword(args, &options.join(", "));
                }
                if let Some(lib) = to_class.split('.').next() {
                    self.need_import(lib);
                }
            }
        }
        // `self.<attr>.close()`: the method becomes `aclose`, and `close` its wrapper.
        let client_close = crate::plan::client_class(to_class).map_or("aclose", |c| c.close);
        let mut closing: Option<String> = None;
        for &m in &methods {
            let f = &graph.functions[m as usize];
            if f.name == "aclose" {
                closing = Some("aclose".to_string());
            }
            for &ci in &f.calls {
                let site = self.call_site(ci);
                let is_close = site
                    .callee
                    .as_ref()
                    .is_some_and(|c| c.len() == 3 && c[0] == "self" && c[1] == client.attribute && c[2] == "close");
                if !is_close {
                    continue;
                }
                if self.job.functions.contains_key(&m) {
                    self.fail(site.pos.byte as usize, "a converted method closes the client");
                    continue;
                }
                if f.name.starts_with("__") {
                    self.fail(site.pos.byte as usize, format!("`{}` closes the client and cannot be async", f.name));
                    continue;
                }
                let Some(node) = self.call_node(ci) else { continue };
                if client_close != "close"
                    && let Some(attr) =
                        node.child_by_field_name("function").and_then(|fnode| fnode.child_by_field_name("attribute"))
                {
                    self.edits.replace(attr.start_byte(), attr.end_byte(), client_close);
                }
                self.add_await(node, "");
                let async_name =
                    if f.name == "close" { "aclose".to_string() } else { self.job.settings.async_name(&f.name) };
                let pf = PlanFunction {
                    qualname: f.qualname.clone(),
                    path: self.module().rel.clone(),
                    line: site.pos.line,
                    async_name,
                    wrapper: true,
                    generator: false,
                    test: false,
                    already_async: false,
                    id: m,
                };
                closing = Some(pf.async_name.clone());
                self.add_wrapper(m, &pf);
                self.convert_header(m, &pf);
            }
        }
        let body = class.child_by_field_name("body").expect("a class has a body");
        let ind = indent_at(self.src, body.start_byte()).to_string();
        let inner = format!("{ind}{}", self.unit);
        let nl = self.nl;
        let mut added = String::new();
        let closing = match closing {
            Some(name) => name,
            None => {
                added.push_str(&format!(
                    "{nl}{nl}{ind}async def aclose(self) -> None:{nl}{inner}\"\"\"Close the async client.\"\"\"{nl}{inner}await self.{}.{client_close}()",
                    client.attribute
                ));
                "aclose".to_string()
            }
        };
        let has = |name: &str| methods.iter().any(|&m| graph.functions[m as usize].name == name);
        if !has("__aenter__") {
            let class_name = &class_scope.name;
            let enter_type = self.enter_annotation(&methods).unwrap_or_else(|| format!("\"{class_name}\""));
            added.push_str(&format!(
                "{nl}{nl}{ind}async def __aenter__(self) -> {enter_type}:{nl}{inner}return self{nl}{nl}{ind}async def __aexit__(self, *exc_info: object) -> None:{nl}{inner}await self.{closing}()"
            ));
        }
        if !added.is_empty() {
            self.edits.insert(body.end_byte(), added);
        }
    }

    /// A decorator's `functools.wraps` wrapper gains an async twin, used when the
    /// decorated function is a coroutine function; the sync wrapper stays as it was.
    fn convert_decorators(&mut self) {
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

    fn async_twin(&mut self, w: FuncId) -> Result<(), String> {
        let def = self.function_node(w).ok_or("the decorator's wrapper was not found")?;
        let outer = def.parent().filter(|p| p.kind() == "decorated_definition").ok_or("no decorators")?;
        let name = text(self.src, def.child_by_field_name("name").ok_or("no name")?).to_string();
        // The wrapped function: the argument of `wraps(...)`.
        let mut c = outer.walk();
        let wrapped = outer
            .named_children(&mut c)
            .filter(|d| d.kind() == "decorator")
            .find_map(|d| {
                let call = d.named_child(0).filter(|n| n.kind() == "call")?;
                let f = call.child_by_field_name("function")?;
                if !text(self.src, f).ends_with("wraps") {
                    return None;
                }
                let args = call.child_by_field_name("arguments")?;
                args.named_child(0).filter(|a| a.kind() == "identifier").map(|a| text(self.src, a).to_string())
            })
            .ok_or("`wraps(...)` does not name the wrapped function")?;
        let enclosing = enclosing_function(outer).ok_or("the wrapper is not inside a decorator")?;
        let ind = indent_at(self.src, outer.start_byte()).to_string();
        let twin_name = fresh_name(self.src, enclosing, &format!("async_{name}"));
        // The twin is the wrapper's text with its own edits: parse it on its own.
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
                        edits.replace(n.start_byte(), n.end_byte(), twin_name.clone());
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
        let twin = edits.apply(snippet).map_err(|e| e.to_string())?;
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
                self.from_names.entry("typing".into()).or_default().insert("cast".into());
                format!("cast({:?}, {twin_name})", r)
            }
            None => twin_name.clone(),
        };
        self.from_names.entry("typing".into()).or_default().extend(["Any".to_string(), "cast".to_string()]);
        self.need_import("inspect");
        self.need_import("asyncio");
        let block = format!(
            "{ind}if inspect.iscoroutinefunction({wrapped}):{nl}{nl}{}{nl}{nl}{ind}{unit}return {ret}{nl}{nl}",
            body.join("\n")
        );
        self.edits.insert(line_start(self.src, outer.start_byte()), block);
        Ok(())
    }

    /// `__enter__`'s return annotation, reused for `__aenter__`.
    fn enter_annotation(&self, methods: &[FuncId]) -> Option<String> {
        let enter = methods.iter().find(|&&m| self.job.model.graph.functions[m as usize].name == "__enter__")?;
        let def = self.function_node(*enter)?;
        def.child_by_field_name("return_type").map(|r| text(self.src, r).to_string())
    }

    /// `with Owner(...) as x:` in converted code becomes `async with` when Owner gained `__aenter__`.
    fn mark_async_withs(&mut self) {
        let graph = &self.job.model.graph;
        for (id, _) in self.local_functions() {
            for &ci in &graph.functions[id as usize].calls {
                let owner = match self.target(ci) {
                    CallTarget::Repo(init) => {
                        let f = &graph.functions[*init as usize];
                        let scopes = &self.job.model.index.modules[f.at.module as usize].summary.scopes;
                        scopes[f.at.scope as usize].parent.map(|p| (f.at.module, p))
                    }
                    _ => None,
                };
                let Some(owner) = owner else { continue };
                if !self.job.client_owners.contains(&owner) {
                    continue;
                }
                let Some(node) = self.call_node(ci) else { continue };
                let mut up = node.parent();
                while let Some(p) = up {
                    match p.kind() {
                        "as_pattern" | "with_item" | "with_clause" => up = p.parent(),
                        "with_statement" => {
                            if self.async_withs.insert(p.start_byte()) {
                                self.edits.insert(p.start_byte(), "async ");
                                self.suspends.push(p.start_byte());
                            }
                            break;
                        }
                        _ => break,
                    }
                }
            }
        }
    }

    // -- statements ----------------------------------------------------------

    fn convert_list_consumers(&mut self) {
        for (start, end, inner_start, inner_end) in std::mem::take(&mut self.list_consumers) {
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

    fn convert_yield_froms(&mut self) {
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
                    && !self.yield_froms.iter().any(|y| y.0 == stmt.start_byte())
                {
                    self.yield_froms.push((
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
        for (start, end, vs, ve, is_async) in std::mem::take(&mut self.yield_froms) {
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

    /// `response = requests.get(url)` → `async with httpx.AsyncClient() as client:` around it.
    fn wrap_client_statements(&mut self) {
        let statements = std::mem::take(&mut self.client_statements);
        for ((start, end), (name, options)) in statements.into_iter().rev() {
            let Some(stmt) = statement_at(self.tree, start, end) else { continue };
            if has_multiline_string(stmt, self.src) {
                self.fail(start, "the statement holds a multi-line string; re-indenting it would change the string");
                continue;
            }
            let from = line_start(self.src, start);
            let ind = &self.src[from..start];
            if !ind.trim().is_empty() {
                self.fail(start, "the statement shares its line with other code");
                continue;
            }
            let ind = ind.to_string();
            let unit = self.unit.clone();
            let nl = self.nl;
            let timeout = format!("timeout={}, verify=shared_ssl_context()", self.job.settings.timeout_literal());
            let options = if options.is_empty() { timeout } else { format!("{options}, {timeout}") };
            self.helper_names.insert("shared_ssl_context");
            let result = self.edits.rewrite_region(self.src, from, end, |current| {
                let body: Vec<String> = current
                    .split('\n')
                    .map(|line| if line.trim().is_empty() { line.to_string() } else { format!("{unit}{line}") })
                    .collect();
                let head = format!("{ind}async with httpx.AsyncClient({options}) as {name}:");
                let head = if head.len() > 99 {
                    format!("{ind}async with httpx.AsyncClient({nl}{ind}{unit}{options}{nl}{ind}) as {name}:")
                } else {
                    head
                };
                format!("{head}{nl}{}", body.join("\n"))
            });
            if let Err(e) = result {
                self.fail(start, e.to_string());
            }
        }
    }

    // -- gathers -------------------------------------------------------------

    fn gathers_here(&self) -> Vec<u32> {
        self.job
            .plans
            .iter()
            .flat_map(|p| p.gathers.iter())
            .filter(|g| g.module == self.job.module)
            .map(|g| g.loop_idx)
            .collect()
    }

    /// The list comprehensions the plans gather.
    fn gathered_comprehensions(&self) -> Vec<Node<'t>> {
        self.gathers_here()
            .into_iter()
            .map(|li| &self.module().summary.loops[li as usize])
            .filter(|lp| lp.kind == LoopKind::Comprehension)
            .filter_map(|lp| {
                python::node_at(self.tree, lp.pos.byte as usize, lp.end_byte as usize, "list_comprehension")
            })
            .collect()
    }

    /// Comprehensions whose element is one converted call: that call makes a coroutine for `gather_bounded`.
    fn plan_gathers_of_comprehensions(&mut self) {
        for comp in self.gathered_comprehensions() {
            let Some(element) = comp.child_by_field_name("body").filter(|b| b.kind() == "call") else { continue };
            let converted = self.module().summary.calls.iter().enumerate().find(|(ci, c)| {
                c.pos.byte as usize == element.start_byte() && c.end_byte as usize == element.end_byte() && {
                    let ci = *ci as u32;
                    match self.target(ci) {
                        CallTarget::Repo(g) => {
                            self.job.functions.get(g).is_some_and(|pf| !pf.generator) || self.job.offloaded.contains(g)
                        }
                        CallTarget::Blocking(_) => {
                            self.plan_call(ci).is_some_and(|c| c.rewrite != CallRewrite::PerCallClient)
                        }
                        _ => false,
                    }
                }
            });
            if converted.is_some() {
                self.no_await.insert(element.start_byte());
            }
        }
    }

    fn gather_comprehensions(&mut self) {
        for comp in self.gathered_comprehensions() {
            let Some(element) = comp.child_by_field_name("body") else { continue };
            if !self.no_await.contains(&element.start_byte()) {
                continue;
            }
            // Other awaits in the comprehension (its `if` or iterable) would run inside the gather's argument.
            if self.suspends.iter().any(|&s| s > comp.start_byte() && s < comp.end_byte() && s != element.start_byte())
            {
                self.no_await.remove(&element.start_byte());
                self.notes.push(format!(
                    "{}:{}: comprehension kept sequential: it awaits in more than its element",
                    self.module().rel,
                    comp.start_position().row + 1
                ));
                continue;
            }
            self.helper_names.insert("gather_bounded");
            let limit = self.job.settings.concurrency;
            let parens = Self::needs_parens(comp);
            let result = self.edits.rewrite_region(self.src, comp.start_byte(), comp.end_byte(), |current| {
                let g = format!("await gather_bounded({current}, limit={limit})");
                if parens { format!("({g})") } else { g }
            });
            if let Err(e) = result {
                self.fail(comp.start_byte(), e.to_string());
            }
            self.suspends.push(comp.start_byte());
        }
    }

    fn gather_loops(&mut self) {
        let mut loops: Vec<u32> = self
            .gathers_here()
            .into_iter()
            .filter(|&li| self.module().summary.loops[li as usize].kind == LoopKind::For)
            .collect();
        // Inner loops first: an outer loop's rewrite takes their rewritten text.
        loops.sort_by_key(|&li| std::cmp::Reverse(self.module().summary.loops[li as usize].pos.byte));
        for li in loops {
            if let Err(why) = self.gather_loop(li) {
                let line = self.module().summary.loops[li as usize].pos.line;
                self.notes.push(format!("{}:{line}: loop kept sequential: {why}", self.module().rel));
            }
        }
    }

    /// Turn a `for` loop into `for_each_bounded`: the body up to its last await runs
    /// concurrently, the rest in item order after `await _turn()`.
    fn gather_loop(&mut self, li: u32) -> Result<(), String> {
        let lp = self.module().summary.loops[li as usize].clone();
        let node = python::node_at(self.tree, lp.pos.byte as usize, lp.end_byte as usize, "for_statement")
            .ok_or("the loop was not found")?;
        if node.child_by_field_name("alternative").is_some() {
            return Err("it has an `else:` clause".into());
        }
        let body = node.child_by_field_name("body").ok_or("no body")?;
        let left = node.child_by_field_name("left").ok_or("no target")?;
        let right = node.child_by_field_name("right").ok_or("no iterable")?;
        let colon =
            (0..node.child_count()).filter_map(|i| node.child(i)).find(|c| c.kind() == ":").ok_or("no colon")?;
        if node.start_position().row == body.start_position().row {
            return Err("its body is on the `for` line".into());
        }
        let function = enclosing_function(node).ok_or("not in a function")?;
        // Names the body assigns must not be read or written outside the loop:
        // they become locals of the per-item function.
        let assigned = bound_names(self.src, body);
        for name in name_uses(self.src, function, (node.start_byte(), node.end_byte())) {
            if assigned.contains(name) {
                return Err(format!("`{name}` is assigned in the loop and used outside it"));
            }
        }
        let mut cursor = body.walk();
        let statements: Vec<Node> = body.named_children(&mut cursor).filter(|n| n.kind() != "comment").collect();
        if statements.iter().any(|s| matches!(s.kind(), "global_statement" | "nonlocal_statement")) {
            return Err("it declares `global` or `nonlocal` names".into());
        }
        let last = statements
            .iter()
            .rposition(|s| self.suspends.iter().any(|&p| p >= s.start_byte() && p < s.end_byte()))
            .ok_or("nothing in it is awaited")?;
        let nl = self.nl;
        let body_ind = indent_at(self.src, statements[0].start_byte()).to_string();
        let turn = fresh_name(self.src, function, "_turn");
        let suspends_in = |n: &Node| self.suspends.iter().any(|&p| p >= n.start_byte() && p < n.end_byte());
        // `continue` ends this item: it becomes `return` in the per-item function, and
        // what its branch does after its last await waits for the item's turn too.
        let mut turned_blocks = BTreeSet::new();
        let mut turns = Vec::new();
        for c in loop_continues(node) {
            self.edits.replace(c.start_byte(), c.end_byte(), "return");
            let Some(block) = c.parent().filter(|b| b.kind() == "block") else { continue };
            if block == body || !turned_blocks.insert(block.start_byte()) {
                continue;
            }
            let mut bc = block.walk();
            let stmts: Vec<Node> = block.named_children(&mut bc).filter(|n| n.kind() != "comment").collect();
            let from = stmts.iter().rposition(&suspends_in).map_or(0, |i| i + 1);
            if let Some(first) = stmts.get(from) {
                turns.push((first.start_byte(), indent_at(self.src, first.start_byte()).to_string()));
            }
        }
        // `results.append(await f(x))`: the awaited value goes to a variable first,
        // so the append itself waits for the item's turn.
        let mut turned = false;
        let last_stmt = statements[last];
        let plain_assignment = last_stmt.named_child(0).is_some_and(|a| {
            a.kind() == "assignment"
                && a.child_by_field_name("left").is_some_and(|l| matches!(l.kind(), "identifier" | "pattern_list"))
        });
        if last_stmt.kind() == "expression_statement"
            && !plain_assignment
            && let Some(&point) =
                self.suspends.iter().filter(|&&p| p >= last_stmt.start_byte() && p < last_stmt.end_byte()).min()
            && let Some(call) = python::node_starting(self.tree, point, "call")
            && call.end_byte() <= last_stmt.end_byte()
            && call.start_byte() > last_stmt.start_byte()
            && !Self::needs_parens(call)
        {
            let value = fresh_name(self.src, function, "_value");
            let rendered =
                self.edits.render(self.src, call.start_byte(), call.end_byte()).map_err(|e| e.to_string())?;
            self.edits
                .rewrite_region(self.src, call.start_byte(), call.end_byte(), |_| value.clone())
                .map_err(|e| e.to_string())?;
            self.edits.insert(
                last_stmt.start_byte(),
                format!("{value} = {rendered}{nl}{body_ind}await {turn}(){nl}{body_ind}"),
            );
            turned = true;
        }
        for (at, ind) in turns {
            self.edits.insert(at, format!("await {turn}(){nl}{ind}"));
        }
        if !turned && let Some(first_tail) = statements.get(last + 1) {
            self.edits.insert(first_tail.start_byte(), format!("await {turn}(){nl}{body_ind}"));
        }
        let target_name = python::identifiers(self.src, left)
            .first()
            .map(|s| s.trim_start_matches('_').to_string())
            .unwrap_or_else(|| "item".into());
        let items = fresh_name(self.src, function, &format!("_{target_name}_items"));
        let each = fresh_name(self.src, function, &format!("_each_{target_name}"));
        let index = fresh_name(self.src, function, "_index");
        let ind = indent_at(self.src, node.start_byte()).to_string();
        let iterable = self.edits.render(self.src, right.start_byte(), right.end_byte()).map_err(|e| e.to_string())?;
        let target = self.edits.render(self.src, left.start_byte(), left.end_byte()).map_err(|e| e.to_string())?;
        let body_start = next_line_start(self.src, colon.end_byte());
        let body_text = self.edits.render(self.src, body_start, node.end_byte()).map_err(|e| e.to_string())?;
        let limit = self.job.settings.concurrency;
        let new = format!(
            "{ind}{items} = list({iterable}){nl}{nl}{ind}async def {each}({index}: int, {turn}: Turn) -> None:{nl}{body_ind}{target} = {items}[{index}]{nl}{body_text}{nl}{nl}{ind}await for_each_bounded(len({items}), {each}, limit={limit})"
        );
        self.edits
            .rewrite_region(self.src, line_start(self.src, node.start_byte()), node.end_byte(), |_| new)
            .map_err(|e| e.to_string())?;
        self.helper_names.insert("Turn");
        self.helper_names.insert("for_each_bounded");
        self.suspends.push(node.start_byte());
        Ok(())
    }

    /// An `await` inside a generator expression would make it an async generator.
    fn check_generator_expressions(&mut self) {
        let mut fixes = Vec::new();
        for &at in &self.suspends {
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
            self.edits.insert(genexp.start_byte() + 1, "[");
            self.edits.insert(genexp.end_byte() - 1, "]");
        }
    }

    // -- imports -------------------------------------------------------------

    fn finish(&mut self) -> Result<String, String> {
        let nl = self.nl;
        let mut lines = String::new();
        for module in self.imports.clone() {
            let module = module.as_str();
            if python::imports_module(self.tree, self.src, module) {
                continue;
            }
            // httpx takes the place of requests; others go in order among the plain imports.
            let at = if module == "httpx" && python::imports_module(self.tree, self.src, "requests") {
                python::plain_import_line(self.tree, self.src, |m| m == "requests")
            } else {
                python::plain_import_line(self.tree, self.src, |m| m > module)
            };
            match at {
                Some(at) => self.edits.insert(at, format!("import {module}{nl}")),
                None => lines.push_str(&format!("import {module}{nl}")),
            }
        }
        for (module, names) in std::mem::take(&mut self.from_names) {
            match python::from_import(self.tree, self.src, &module) {
                Some(stmt) => {
                    let mut c = stmt.walk();
                    let existing: Vec<Node> = stmt.children_by_field_name("name", &mut c).collect();
                    let have: Vec<&str> = existing.iter().map(|n| text(self.src, *n)).collect();
                    let add: Vec<&String> = names.iter().filter(|n| !have.contains(&n.as_str())).collect();
                    // In isort's order (constants, classes, functions), each before the first name after it.
                    for name in add {
                        let key = import_order(name);
                        match existing.iter().find(|n| import_order(text(self.src, **n)) > key) {
                            Some(next) => self.edits.insert(next.start_byte(), format!("{name}, ")),
                            None => {
                                if let Some(last) = existing.last() {
                                    self.edits.insert(last.end_byte(), format!(", {name}"));
                                }
                            }
                        }
                    }
                }
                None => {
                    let list: Vec<&str> = names.iter().map(String::as_str).collect();
                    lines.push_str(&format!("from {module} import {}{nl}", list.join(", ")));
                }
            }
        }
        if !self.helper_names.is_empty() {
            let list: Vec<&str> = self.helper_names.iter().copied().collect();
            lines.push_str(&format!("from {} import {}{nl}", self.job.helper_import, list.join(", ")));
        }
        if !lines.is_empty() {
            let at = python::import_insertion_point(self.tree, self.src);
            // A blank line before the block when it follows a docstring or code, not other imports.
            self.edits.insert(at, lines);
        }
        let mut out = self.edits.apply(self.src).map_err(|e| e.to_string())?;
        out = import_renamed(&out, &self.renamed_imports);
        out = remove_unused_imports(&out, &["requests", "time", "subprocess"]);
        Ok(out)
    }
}

fn python_identifier(s: &str) -> bool {
    crate::plan::settings::is_identifier(s)
}

/// The parameters as call arguments (`a, b, *args, key=key, **kw`), and the first
/// parameter's name when it is the receiver (`self`/`cls`).
fn call_arguments(src: &str, params: Node, skip_first: bool) -> (Option<String>, Vec<String>) {
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

fn is_sole_argument_of(src: &str, args: Node, function: &str) -> bool {
    args.kind() == "argument_list"
        && args.named_child_count() == 1
        && args
            .parent()
            .and_then(|call| call.child_by_field_name("function"))
            .is_some_and(|f| f.kind() == "identifier" && text(src, f) == function)
}

/// The statement directly in a block that holds `node`, when it is a simple statement.
fn enclosing_simple_statement(node: Node) -> Option<Node> {
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

fn enclosing_function(node: Node) -> Option<Node> {
    let mut current = node.parent();
    while let Some(p) = current {
        if p.kind() == "function_definition" {
            return Some(p);
        }
        current = p.parent();
    }
    None
}

fn statement_at(tree: &Tree, start: usize, end: usize) -> Option<Node<'_>> {
    python::node_at(tree, start, end, "expression_statement")
        .or_else(|| python::node_at(tree, start, end, "return_statement"))
}

fn has_multiline_string(node: Node, src: &str) -> bool {
    let mut cursor = node.walk();
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if n.kind() == "string" && text(src, n).contains('\n') {
            return true;
        }
        for child in n.named_children(&mut cursor) {
            stack.push(child);
        }
    }
    false
}

/// `continue` statements that continue `for_node` itself (not an inner loop).
fn loop_continues(for_node: Node) -> Vec<Node> {
    let mut out = Vec::new();
    let mut cursor = for_node.walk();
    let mut stack: Vec<Node> = for_node.child_by_field_name("body").into_iter().collect();
    while let Some(n) = stack.pop() {
        match n.kind() {
            "for_statement" | "while_statement" | "function_definition" | "lambda" | "class_definition" => continue,
            "continue_statement" => out.push(n),
            _ => {}
        }
        for child in n.named_children(&mut cursor) {
            stack.push(child);
        }
    }
    out
}

/// Names read or written in `node` outside `skip` (attribute names and keyword names are not names).
fn name_uses<'s>(src: &'s str, node: Node, skip: (usize, usize)) -> Vec<&'s str> {
    let mut out = Vec::new();
    let mut cursor = node.walk();
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if n.start_byte() >= skip.0 && n.end_byte() <= skip.1 {
            continue;
        }
        if n.kind() == "identifier" {
            let is_attribute_name = n.parent().is_some_and(|p| {
                (p.kind() == "attribute" && p.child_by_field_name("attribute") == Some(n))
                    || (p.kind() == "keyword_argument" && p.child_by_field_name("name") == Some(n))
            });
            if !is_attribute_name {
                out.push(text(src, n));
            }
        }
        for child in n.named_children(&mut cursor) {
            stack.push(child);
        }
    }
    out
}

/// Drop `import requests` / `import time` lines once nothing uses the name.
fn remove_unused_imports(src: &str, modules: &[&str]) -> String {
    let tree = python::parse(src);
    let root = tree.root_node();
    let used = names_outside_imports(src, root);
    let mut edits = Edits::new();
    let mut cursor = root.walk();
    for stmt in root.named_children(&mut cursor) {
        if stmt.kind() != "import_statement" || stmt.named_child_count() != 1 {
            continue;
        }
        let Some(name) = stmt.named_child(0).filter(|n| n.kind() == "dotted_name") else { continue };
        let module = text(src, name);
        if !modules.contains(&module) {
            continue;
        }
        if !used.contains(module) {
            let start = line_start(src, stmt.start_byte());
            let end = next_line_start(src, stmt.end_byte());
            if src[start..stmt.start_byte()].trim().is_empty() && src[stmt.end_byte()..end].trim().is_empty() {
                // Between two blank lines, take one of them along so no double gap is left.
                let before_blank = start > 0 && src[line_start(src, start - 1)..start].trim().is_empty();
                let after = next_line_start(src, end);
                let after_blank = end < src.len() && src[end..after].trim().is_empty();
                let end = if before_blank && after_blank { after } else { end };
                edits.replace(start, end, "");
            }
        }
    }
    edits.apply(src).unwrap_or_else(|_| src.to_string())
}

/// Names a block binds itself (assignment and loop targets, `with ... as`, `except ... as`,
/// walrus, imports, nested definitions), not counting what nested functions bind.
fn bound_names<'s>(src: &'s str, block: Node) -> BTreeSet<&'s str> {
    fn targets<'s>(src: &'s str, node: Node, out: &mut BTreeSet<&'s str>) {
        match node.kind() {
            "identifier" => {
                out.insert(text(src, node));
            }
            "pattern_list"
            | "tuple_pattern"
            | "list_pattern"
            | "list_splat_pattern"
            | "parenthesized_expression"
            | "as_pattern_target"
            | "tuple"
            | "list" => {
                let mut c = node.walk();
                for child in node.named_children(&mut c) {
                    targets(src, child, out);
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    let mut cursor = block.walk();
    let mut stack = vec![block];
    while let Some(n) = stack.pop() {
        match n.kind() {
            "function_definition" | "class_definition" => {
                if let Some(name) = n.child_by_field_name("name") {
                    out.insert(text(src, name));
                }
                continue;
            }
            "lambda"
            | "list_comprehension"
            | "set_comprehension"
            | "dictionary_comprehension"
            | "generator_expression" => {
                continue;
            }
            "assignment" | "augmented_assignment" | "for_statement" | "for_in_clause" => {
                if let Some(left) = n.child_by_field_name("left") {
                    targets(src, left, &mut out);
                }
            }
            "named_expression" => {
                if let Some(name) = n.child_by_field_name("name") {
                    targets(src, name, &mut out);
                }
            }
            "as_pattern" => {
                if let Some(alias) = n.child_by_field_name("alias") {
                    targets(src, alias, &mut out);
                }
            }
            "except_clause" => {
                let mut c = n.walk();
                let children: Vec<Node> = n.children(&mut c).collect();
                if let Some(pos) = children.iter().position(|c| c.kind() == "as")
                    && let Some(name) = children.get(pos + 1)
                {
                    targets(src, *name, &mut out);
                }
            }
            "import_statement" | "import_from_statement" => {
                for ident in python::identifiers(src, n) {
                    out.insert(ident);
                }
                continue;
            }
            _ => {}
        }
        for child in n.named_children(&mut cursor) {
            stack.push(child);
        }
    }
    out
}

/// Make `from module import old` bring in `new` too, or instead when `old` is no longer used.
fn import_renamed(src: &str, renamed: &BTreeSet<(String, String, String)>) -> String {
    if renamed.is_empty() {
        return src.to_string();
    }
    let tree = python::parse(src);
    let root = tree.root_node();
    let used = names_outside_imports(src, root);
    let mut edits = Edits::new();
    let mut cursor = root.walk();
    for stmt in root.named_children(&mut cursor) {
        if stmt.kind() != "import_from_statement" {
            continue;
        }
        let Some(module) = stmt.child_by_field_name("module_name").map(|m| text(src, m)) else { continue };
        let mut c = stmt.walk();
        let names: Vec<Node> = stmt.children_by_field_name("name", &mut c).collect();
        let have: Vec<&str> = names.iter().map(|n| text(src, *n)).collect();
        for (_, old, new) in renamed.iter().filter(|(m, _, _)| m == module) {
            if have.contains(&new.as_str()) {
                continue;
            }
            let Some(node) = names.iter().find(|n| text(src, **n) == old) else { continue };
            if used.contains(old.as_str()) {
                edits.insert(node.end_byte(), format!(", {new}"));
            } else {
                edits.replace(node.start_byte(), node.end_byte(), new.clone());
            }
        }
    }
    edits.apply(src).unwrap_or_else(|_| src.to_string())
}

/// The wrapper's one statement, `return run_sync(name_async(args), "name_async")`,
/// split over lines the way a formatter would when it is longer than 99 characters.
#[allow(clippy::too_many_arguments)]
fn wrapper_call(
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

/// isort's default order of imported names: CONSTANTS, then Classes, then functions.
fn import_order(name: &str) -> (u8, String) {
    let kind = if name.len() > 1 && name.chars().all(|c| !c.is_ascii_lowercase()) {
        0
    } else if name.starts_with(|c: char| c.is_ascii_uppercase()) {
        1
    } else {
        2
    };
    (kind, name.to_lowercase())
}

/// Every identifier of the module outside its import statements.
fn names_outside_imports<'s>(src: &'s str, root: Node) -> BTreeSet<&'s str> {
    let mut out = BTreeSet::new();
    let mut c = root.walk();
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        if matches!(n.kind(), "import_statement" | "import_from_statement") {
            continue;
        }
        if n.kind() == "identifier" {
            out.insert(text(src, n));
        }
        for child in n.named_children(&mut c) {
            stack.push(child);
        }
    }
    out
}
