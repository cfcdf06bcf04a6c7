//! Clients: a class's client attribute becomes an async client (its construction,
//! `aclose()`, `async with`), `with Owner(...)` becomes `async with`, and a
//! statement calling `requests.get` gets its own `async with httpx.AsyncClient()`.

use super::*;
use crate::analysis::summary::Name;
use crate::draft::mappings::{self, ClientClass};

impl<'a, 'c, 't> Rewriter<'a, 'c, 't> {
    pub(super) fn convert_clients(&mut self) {
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
    pub(super) fn convert_client(&mut self, client: &PlanClient) {
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
        self.convert_client_construction(client, &methods);
        let closing = self.convert_client_closing(client, &methods);
        self.add_client_lifecycle(client, class, &class_scope.name, &methods, closing);
    }

    /// `requests.Session()` → `httpx.AsyncClient(...)` with the sync client's
    /// redirect behaviour, a timeout and the shared SSL context.
    fn convert_client_construction(&mut self, client: &PlanClient, methods: &[FuncId]) {
        let graph = &self.job.model.graph;
        let (from_class, to_class) = (client.from.as_str(), client.to.as_str());
        let class = mappings::client_class(from_class);
        for &m in methods {
            for &ci in &graph.functions[m as usize].calls {
                if !matches!(self.target(ci), CallTarget::External(q) if q == from_class) {
                    continue;
                }
                let Some(node) = self.call_node(ci) else { continue };
                let keywords = self.call_site(ci).keywords;
                self.convert_construction(node, &keywords, class, to_class);
            }
        }
    }

    /// One construction of a sync client (`requests.Session()`) → its async class
    /// (`httpx.AsyncClient(follow_redirects=True, timeout=..., verify=...)`), once.
    pub(super) fn convert_construction(
        &mut self,
        node: Node<'t>,
        keywords: &[Name],
        class: Option<&ClientClass>,
        to_class: &str,
    ) {
        let (Some(function), Some(args)) =
            (node.child_by_field_name("function"), node.child_by_field_name("arguments"))
        else {
            return;
        };
        if !self.constructions.insert(node.start_byte()) {
            return;
        }
        self.edits.replace_once(function.start_byte(), function.end_byte(), to_class.to_string());
        let mut options = Vec::new();
        if class.is_some_and(|c| c.follows_redirects) {
            options.push("follow_redirects=True".to_string());
        }
        if class.is_some_and(|c| c.httpx) {
            if !keywords.iter().any(|k| k == "timeout") {
                options.push(format!("timeout={}", self.job.settings.timeout_literal()));
            }
            if !keywords.iter().any(|k| k == "verify") {
                self.imports.helpers.insert("shared_ssl_context");
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

    pub(super) fn add_twins(&mut self) {
        let twins = std::mem::take(&mut self.deferred.twins);
        for (class_scope, client) in twins {
            self.add_client_twin(class_scope, client);
        }
    }

    /// After a repository subclass of a sync client (`class Api(requests.Session)`),
    /// its async twin on the async client (`class AsyncApi(httpx.AsyncClient)`), for
    /// converted code to open instead; the class itself stays for sync callers. In
    /// the twin, `super().__init__()` gets the client options and the request methods
    /// it overrides become async, awaiting `super()` (the mapping checked that it has
    /// nothing else).
    fn add_client_twin(&mut self, class_scope: u32, client: &'static ClientClass) {
        let scope = &self.module().summary.scopes[class_scope as usize];
        let Some(class) =
            python::node_at(self.tree, scope.pos.byte as usize, scope.end_byte as usize, "class_definition")
        else {
            return;
        };
        let (start, end) = (class.start_byte(), class.end_byte());
        let mut twin = Edits::new();
        if let Some(name) = class.child_by_field_name("name") {
            twin.replace(name.start_byte(), name.end_byte(), mappings::twin_name(text(self.src, name)));
        }
        let mut stack = vec![class];
        while let Some(node) = stack.pop() {
            let mut cursor = node.walk();
            stack.extend(node.named_children(&mut cursor));
            match node.kind() {
                "attribute" => self.twin_rename(node, client, &mut twin),
                "function_definition" => self.twin_method(node, client, &mut twin),
                _ => {}
            }
        }
        // One byte past the class, so that what is inserted at its very end (a
        // comment after its last line) is inside the rendered region.
        let past = if self.src.is_char_boundary(end + 1) { end + 1 } else { end };
        let body = match twin.render(self.src, start, past) {
            Ok(mut body) => {
                body.truncate(body.len() - (past - end));
                body
            }
            Err(e) => return self.fail(start, e.to_string()),
        };
        let (nl, indent) = (self.nl, python::indent_at(self.src, start).to_string());
        self.edits.insert(end, format!("{nl}{nl}{nl}{indent}{body}"));
        if client.httpx {
            self.imports.helpers.insert("shared_ssl_context");
        }
        if let Some(lib) = client.async_.split('.').next() {
            self.need_import(lib);
        }
    }

    /// In a twin, a library name the rewrite renames (`requests.Session` →
    /// `httpx.AsyncClient`, `requests.Response` → `httpx.Response`).
    fn twin_rename(&self, node: Node<'t>, client: &ClientClass, twin: &mut Edits) {
        if node.parent().is_some_and(|p| p.kind() == "attribute") {
            return;
        }
        let chain: Vec<Name> = text(self.src, node).split('.').map(|s| Name::from(s.trim())).collect();
        let Value::External(q) =
            self.job.model.index.resolve_chain(self.job.module, 0, &chain, node.start_byte() as u32)
        else {
            return;
        };
        let to = if q.as_str() == client.sync {
            Some(client.async_.to_string())
        } else {
            self.renames.map.get(q.as_str()).cloned()
        };
        if let Some(to) = to {
            twin.replace(node.start_byte(), node.end_byte(), to);
        }
    }

    /// In a twin: `super().__init__()` gets the async client's options; a request
    /// method becomes async and awaits `super()`, its signature kept (mypy compares
    /// it with the async client's, hence the `type: ignore`).
    fn twin_method(&self, def: Node<'t>, client: &ClientClass, twin: &mut Edits) {
        let Some(name) = def.child_by_field_name("name") else { return };
        let init = text(self.src, name) == "__init__";
        if !init {
            twin.insert(def.start_byte(), "async ");
            let line_end = self.src[def.start_byte()..].find('\n').map_or(def.end_byte(), |i| def.start_byte() + i);
            let header = self.src[def.start_byte()..line_end].trim_end();
            if !header.contains('#') {
                twin.insert(def.start_byte() + header.len(), "  # type: ignore[override, unused-ignore]");
            }
        }
        let mut stack = vec![def];
        while let Some(node) = stack.pop() {
            let mut cursor = node.walk();
            stack.extend(node.named_children(&mut cursor));
            let Some(function) = node.child_by_field_name("function").filter(|_| node.kind() == "call") else {
                continue;
            };
            if !text(self.src, function).replace(' ', "").starts_with("super().") {
                continue;
            }
            if !init {
                self.ignore_argument_types(node, twin);
                if Self::needs_parens(node) {
                    twin.insert(node.start_byte(), "(await ");
                    twin.insert(node.end_byte(), ")");
                } else {
                    twin.insert(node.start_byte(), "await ");
                }
            } else if text(self.src, function).ends_with("__init__")
                && let Some(args) = node.child_by_field_name("arguments")
            {
                let mut options = Vec::new();
                if client.follows_redirects {
                    options.push("follow_redirects=True".to_string());
                }
                if client.httpx {
                    options.push(format!("timeout={}", self.job.settings.timeout_literal()));
                    options.push("verify=shared_ssl_context()".to_string());
                }
                twin.insert(args.end_byte() - 1, options.join(", "));
            }
        }
    }

    /// The twin passes values typed for the sync library to the async client, whose
    /// annotations differ (`method: str | bytes` against `str`): each line of the
    /// call that ends an argument other than a splat gets a `type: ignore` for
    /// argument types (mypy reports them on the argument's line), unless a comment
    /// or a string starts after the argument on its line.
    fn ignore_argument_types(&self, call: Node<'t>, twin: &mut Edits) {
        let Some(args) = call.child_by_field_name("arguments") else { return };
        let mut cursor = args.walk();
        // `*args` and `**kwargs` are of any type: only the other arguments can clash.
        let ends: Vec<usize> = args
            .named_children(&mut cursor)
            .filter(|a| !matches!(a.kind(), "list_splat" | "dictionary_splat" | "comment"))
            .map(|a| a.end_byte())
            .collect();
        let mut done = BTreeSet::new();
        for end in ends {
            let line_end = self.src[end..].find('\n').map_or(self.src.len(), |i| end + i);
            let rest = &self.src[end..line_end];
            // No comment nor string may start after it on the line (a string running
            // past the line end would swallow the comment).
            if rest.contains(['#', '"', '\'']) {
                continue;
            }
            let at = end + rest.trim_end().len();
            if done.insert(at) {
                twin.insert(at, "  # type: ignore[arg-type, unused-ignore]");
            }
        }
    }

    /// `self.<attr>.close()`: the method closing it becomes async (`aclose`), its
    /// old name a sync wrapper. Returns the name of the class's async close, if any.
    fn convert_client_closing(&mut self, client: &PlanClient, methods: &[FuncId]) -> Option<String> {
        let graph = &self.job.model.graph;
        let client_close = mappings::client_class(&client.to).map_or("aclose", |c| c.close);
        let mut closing: Option<String> = None;
        for &m in methods {
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
                    qualname: f.qualname.to_string(),
                    path: self.module().rel.clone(),
                    line: site.pos.line,
                    async_name,
                    wrapper: true,
                    generator: false,
                    test: false,
                    already_async: false,
                    twin: None,
                    property: None,
                    sync_shell: false,
                    id: m,
                };
                closing = Some(pf.async_name.clone());
                self.add_wrapper(m, &pf);
                self.convert_header(m, &pf);
            }
        }
        closing
    }

    /// `aclose()` when the class has no async close yet, and `__aenter__`/`__aexit__`.
    fn add_client_lifecycle(
        &mut self,
        client: &PlanClient,
        class: Node<'t>,
        class_name: &str,
        methods: &[FuncId],
        closing: Option<String>,
    ) {
        let graph = &self.job.model.graph;
        let client_close = mappings::client_class(&client.to).map_or("aclose", |c| c.close);
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
            let enter_type = self.enter_annotation(methods).unwrap_or_else(|| format!("\"{class_name}\""));
            added.push_str(&format!(
                "{nl}{nl}{ind}async def __aenter__(self) -> {enter_type}:{nl}{inner}return self{nl}{nl}{ind}async def __aexit__(self, *exc_info: object) -> None:{nl}{inner}await self.{closing}()"
            ));
        }
        if !added.is_empty() {
            self.edits.insert(body.end_byte(), added);
        }
    }

    /// `__enter__`'s return annotation, reused for `__aenter__`.
    pub(super) fn enter_annotation(&self, methods: &[FuncId]) -> Option<String> {
        let enter = methods.iter().find(|&&m| self.job.model.graph.functions[m as usize].name == "__enter__")?;
        let def = self.function_node(*enter)?;
        def.child_by_field_name("return_type").map(|r| text(self.src, r).to_string())
    }

    /// `with Owner(...) as x:` in converted code becomes `async with` when Owner gained `__aenter__`.
    pub(super) fn mark_async_withs(&mut self) {
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
                            if self.awaits.async_withs.insert(p.start_byte()) {
                                self.edits.insert(p.start_byte(), "async ");
                                self.awaits.suspends.push(p.start_byte());
                            }
                            break;
                        }
                        _ => break,
                    }
                }
            }
        }
    }

    /// `response = requests.get(url)` → `async with http_client(...) as client:` around it:
    /// the client a batch shares, or one of its own outside a batch (see the helper).
    pub(super) fn wrap_client_statements(&mut self) {
        let statements = std::mem::take(&mut self.deferred.client_statements);
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
            self.imports.helpers.insert("shared_ssl_context");
            self.imports.helpers.insert("http_client");
            let result = self.edits.rewrite_region(self.src, from, end, |current| {
                let body: Vec<String> = current
                    .split('\n')
                    .map(|line| if line.trim().is_empty() { line.to_string() } else { format!("{unit}{line}") })
                    .collect();
                let head = format!("{ind}async with http_client({options}) as {name}:");
                let head = if head.len() > 99 {
                    format!("{ind}async with http_client({nl}{ind}{unit}{options}{nl}{ind}) as {name}:")
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
}

pub(super) fn statement_at(tree: &Tree, start: usize, end: usize) -> Option<Node<'_>> {
    python::node_at(tree, start, end, "expression_statement")
        .or_else(|| python::node_at(tree, start, end, "return_statement"))
}

pub(super) fn has_multiline_string(node: Node, src: &str) -> bool {
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

#[cfg(test)]
#[path = "tests/clients.rs"]
mod tests;
