//! The repository index and name resolution: from a chain as written to what it means.
//!
//! Resolution follows Python's scoping (function, enclosing functions, module,
//! builtins; class bodies are not enclosing scopes), imports in every form,
//! re-exports between the repository's own modules, and a small amount of type
//! inference: constructor calls, annotations, `self.x = ...` in methods, return
//! annotations and the catalog's `[returns]` table. Anything it cannot follow is
//! `Unknown`, never a guess, so a local `get` or a variable called `requests` is
//! not mistaken for a blocking API.

use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;

use super::catalog::Catalog;
use super::summary::{Binding, BindingValue, CALL_SEGMENT, Chain, FileSummary, Name, ScopeKind, TRUE_DIVISION};

/// Index of a module in the [`Index`].
pub type ModId = u32;

/// A scope of a module: a function or class of the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScopeRef {
    pub module: ModId,
    pub scope: u32,
}

/// One analysed file.
#[derive(Debug)]
pub struct Module {
    /// Dotted module name (`pkg.mod`).
    pub name: String,
    /// Path relative to the repository root.
    pub rel: String,
    pub is_package: bool,
    pub is_test: bool,
    pub summary: Arc<FileSummary>,
    /// hash of a name → its run of `entries`, for fast lookups.
    /// Keyed by hash so indexing copies no strings; lookups compare the name.
    names: HashMap<u64, (u32, u32)>,
    /// (scope, binding index) of every binding, one run per name hash, each run
    /// sorted by scope: one allocation for the module, not a vector per name.
    entries: Box<[(u32, u32)]>,
}

impl Module {
    /// Index a summary.
    pub fn new(name: String, rel: String, is_package: bool, is_test: bool, summary: Arc<FileSummary>) -> Module {
        let bindings: Vec<(u32, u32, u64)> = summary
            .scopes
            .iter()
            .enumerate()
            .flat_map(|(si, scope)| {
                scope.bindings.iter().enumerate().map(move |(bi, b)| (si as u32, bi as u32, name_hash(&b.name)))
            })
            .collect();
        // Count each name's bindings, give each name its run, then fill the runs in order.
        let mut names: HashMap<u64, (u32, u32)> = HashMap::default();
        for &(_, _, hash) in &bindings {
            names.entry(hash).or_default().1 += 1;
        }
        let mut next = 0;
        for (start, len) in names.values_mut() {
            *start = next;
            next += *len;
            *len = 0; // counts again as the run is filled
        }
        let mut entries = vec![(0, 0); next as usize].into_boxed_slice();
        for (si, bi, hash) in bindings {
            let (start, len) = names.get_mut(&hash).expect("counted above");
            entries[(*start + *len) as usize] = (si, bi);
            *len += 1;
        }
        Module { name, rel, is_package, is_test, summary, names, entries }
    }

    /// Every binding of `name` in `scope`, in source order.
    fn bindings_in<'a>(&'a self, scope: u32, name: &'a str) -> impl DoubleEndedIterator<Item = &'a Binding> + 'a {
        let entries = match self.names.get(&name_hash(name)) {
            Some(&(start, len)) => &self.entries[start as usize..(start + len) as usize],
            None => &[],
        };
        // Entries are in scope order: find this scope's run without scanning the
        // others (a module can bind `self` in thousands of methods).
        let start = entries.partition_point(|&(s, _)| s < scope);
        let len = entries[start..].partition_point(|&(s, _)| s == scope);
        entries[start..start + len]
            .iter()
            .map(move |&(s, b)| &self.summary.scopes[s as usize].bindings[b as usize])
            .filter(move |b| b.name == name) // the hash may collide
    }

    /// The binding of `name` in `scope` in effect at byte `at`: the last one before
    /// it, or else the first one (a use before any assignment, or a global read
    /// from a function defined earlier).
    fn binding<'a>(&'a self, scope: u32, name: &'a str, at: u32) -> Option<&'a Binding> {
        let mut before: Option<&Binding> = None;
        let mut first: Option<&Binding> = None;
        for binding in self.bindings_in(scope, name) {
            if let Some(until) = binding.until {
                if binding.byte <= at && at < until {
                    before = Some(binding);
                }
                continue;
            }
            if first.is_none() {
                first = Some(binding);
            }
            if binding.byte < at {
                before = Some(binding);
            }
        }
        before.or(first)
    }

    /// Every binding of `name` in `scope` that holds for the whole scope, latest first.
    fn bindings_named<'a>(&'a self, scope: u32, name: &'a str) -> impl Iterator<Item = &'a Binding> + 'a {
        self.bindings_in(scope, name).rev().filter(|b| b.until.is_none())
    }

    /// The dotted name of a scope (`pkg.mod.Class.method`).
    pub fn qualname(&self, scope: u32) -> String {
        let q = &self.summary.scopes[scope as usize].qualname;
        match (self.name.is_empty(), q.is_empty()) {
            (_, true) => self.name.clone(),
            (true, false) => q.to_string(),
            (false, false) => format!("{}.{}", self.name, q),
        }
    }
}

fn name_hash(name: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(name)
}

/// What an expression denotes, as far as resolution can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    RepoModule(ModId),
    /// Something outside the repository: module, function, class or member (canonical name).
    External(String),
    /// An instance of an external type (canonical name).
    ExternalInstance(String),
    RepoFunction(ScopeRef),
    RepoClass(ScopeRef),
    RepoInstance(ScopeRef),
    Unknown,
}

/// How deep resolution may recurse before giving up (import cycles, `a = b; b = a`).
const MAX_DEPTH: u32 = 24;

/// Python's builtins that a name can fall back to.
const BUILTINS: &[&str] = &[
    "open",
    "input",
    "print",
    "len",
    "range",
    "list",
    "dict",
    "set",
    "tuple",
    "str",
    "int",
    "float",
    "bool",
    "bytes",
    "sorted",
    "map",
    "filter",
    "zip",
    "enumerate",
    "isinstance",
    "getattr",
    "setattr",
    "hasattr",
    "super",
    "type",
    "object",
    "iter",
    "next",
    "min",
    "max",
    "sum",
    "any",
    "all",
    "repr",
    "hash",
    "id",
    "vars",
    "dir",
    "abs",
    "round",
    "divmod",
    "pow",
    "format",
    "exec",
    "eval",
    "compile",
    "globals",
    "locals",
    "callable",
    "issubclass",
    "frozenset",
    "bytearray",
    "memoryview",
    "property",
    "staticmethod",
    "classmethod",
    "reversed",
    "slice",
    "chr",
    "ord",
    "hex",
    "oct",
    "bin",
    "ascii",
    "breakpoint",
    "help",
    "delattr",
    "__import__",
    "exit",
    "quit",
    "BaseException",
    "Exception",
    "KeyboardInterrupt",
    "SystemExit",
    "GeneratorExit",
    "RuntimeError",
    "ValueError",
    "OSError",
];

/// Every module of the repository, with name resolution over them.
pub struct Index<'c> {
    pub modules: Vec<Module>,
    by_name: HashMap<String, ModId>,
    pub catalog: &'c Catalog,
}

impl<'c> Index<'c> {
    /// Index modules; when two files claim one module name, the first (by path) wins.
    pub fn new(modules: Vec<Module>, catalog: &'c Catalog) -> Index<'c> {
        let mut by_name = HashMap::default();
        for (i, m) in modules.iter().enumerate() {
            by_name.entry(m.name.clone()).or_insert(i as ModId);
        }
        Index { modules, by_name, catalog }
    }

    /// The module with this dotted name.
    pub fn module_named(&self, name: &str) -> Option<ModId> {
        self.by_name.get(name).copied()
    }

    /// Resolve a chain as written in `scope` of module `m`, at byte `at`.
    pub fn resolve_chain(&self, m: ModId, scope: u32, chain: &[Name], at: u32) -> Value {
        self.chain_value(m, scope, chain, at, 0)
    }

    fn chain_value(&self, m: ModId, scope: u32, chain: &[Name], at: u32, depth: u32) -> Value {
        let Some(first) = chain.first() else { return Value::Unknown };
        if first == CALL_SEGMENT || depth > MAX_DEPTH {
            return Value::Unknown;
        }
        let (mut value, rest) = match self.super_member(m, scope, chain, at, depth + 1) {
            Some(value) => (value, &chain[3..]),
            None => (self.lookup_name(m, scope, first, at, depth + 1), &chain[1..]),
        };
        for seg in rest {
            if value == Value::Unknown {
                break;
            }
            value = if seg == CALL_SEGMENT {
                self.call_result(value, depth + 1)
            } else {
                self.attribute(value, seg, depth + 1)
            };
        }
        value
    }

    /// What a bare name means in `scope`, following Python's scoping rules.
    pub fn lookup_name(&self, m: ModId, scope: u32, name: &str, at: u32, depth: u32) -> Value {
        let module = &self.modules[m as usize];
        let scopes = &module.summary.scopes;
        let mut current = Some(scope);
        let mut innermost = true;
        while let Some(s) = current {
            let sc = &scopes[s as usize];
            // A class body's names are not visible inside its methods.
            if innermost || sc.kind != ScopeKind::Class {
                if innermost {
                    if let Some(binding) = module.binding(s, name, at) {
                        return self.binding_value(m, binding, depth + 1);
                    }
                } else if let Some(value) = self.enclosing_value(m, s, name, depth + 1) {
                    return value;
                }
            }
            innermost = false;
            current = sc.parent;
        }
        if BUILTINS.contains(&name) { Value::External(format!("builtins.{name}")) } else { Value::Unknown }
    }

    /// What `name` means when read from an inner function: the code runs after the
    /// enclosing scope (usually the module) has finished binding, so the latest
    /// binding counts, wherever the reader stands. `None` placeholders are passed
    /// over, and when the latest binding is unknown, one made by a function through
    /// `global` (`_client = None` at the top, set in `init()`) is taken if known.
    /// `None` when the scope does not bind the name.
    fn enclosing_value(&self, m: ModId, scope: u32, name: &str, depth: u32) -> Option<Value> {
        let module = &self.modules[m as usize];
        let mut bindings = module.bindings_named(scope, name).peekable();
        bindings.peek()?;
        let mut latest: Option<&Binding> = None;
        let mut from_functions = Vec::new();
        for b in bindings {
            if matches!(b.value, BindingValue::NoneValue) {
                continue;
            }
            if b.scope != scope {
                from_functions.push(b);
            } else if latest.is_none() {
                latest = Some(b);
            }
        }
        let value = latest.map_or(Value::Unknown, |b| self.binding_value(m, b, depth + 1));
        if value != Value::Unknown {
            return Some(value);
        }
        Some(
            from_functions
                .into_iter()
                .take(8)
                .map(|b| self.binding_value(m, b, depth + 1))
                .find(|v| *v != Value::Unknown)
                .unwrap_or(Value::Unknown),
        )
    }

    fn binding_value(&self, m: ModId, binding: &Binding, depth: u32) -> Value {
        if depth > MAX_DEPTH {
            return Value::Unknown;
        }
        let module = &self.modules[m as usize];
        let scopes = &module.summary.scopes;
        match &binding.value {
            BindingValue::Module(name) => self.module_value(name),
            BindingValue::FromImport { level, module: from, name } => {
                let Some(base) = absolute_module(module, *level, from) else { return Value::Unknown };
                match self.by_name.get(&base) {
                    // `from . import sub` at the top of a package's `__init__.py` binds
                    // its submodule; looking `sub` up in the package would find this
                    // very binding again.
                    Some(&bm) if bm == m && binding.scope == 0 && binding.name == *name => {
                        self.by_name.get(&join(&base, name)).map_or(Value::Unknown, |&sub| Value::RepoModule(sub))
                    }
                    Some(&bm) => self.symbol(bm, name, depth + 1),
                    None => self.module_value(&join(&base, name)),
                }
            }
            BindingValue::Call(chain) => {
                let callee = self.chain_value(m, binding.scope, chain, binding.at, depth + 1);
                self.call_result(callee, depth + 1)
            }
            BindingValue::Alias(chain) => self.chain_value(m, binding.scope, chain, binding.at, depth + 1),
            BindingValue::Annotated(chain) => {
                let ty = self.chain_value(m, binding.scope, chain, binding.at, depth + 1);
                instance_of(ty, self.catalog)
            }
            BindingValue::Def(idx) => {
                let r = ScopeRef { module: m, scope: *idx };
                match scopes[*idx as usize].kind {
                    ScopeKind::Class => Value::RepoClass(r),
                    _ => Value::RepoFunction(r),
                }
            }
            BindingValue::Param(i) => self.param_value(m, binding.scope, *i, depth + 1),
            BindingValue::Unknown | BindingValue::NoneValue => Value::Unknown,
        }
    }

    fn param_value(&self, m: ModId, function: u32, index: u32, depth: u32) -> Value {
        let scopes = &self.modules[m as usize].summary.scopes;
        let f = &scopes[function as usize];
        let Some(param) = f.params.get(index as usize) else { return Value::Unknown };
        let parent = f.parent.unwrap_or(0);
        if let Some(annotation) = &param.annotation {
            // Annotations are evaluated where the function is defined.
            let ty = self.chain_value(m, parent, annotation, f.pos.byte, depth + 1);
            return instance_of(ty, self.catalog);
        }
        if index == 0 && scopes[parent as usize].kind == ScopeKind::Class {
            let class = ScopeRef { module: m, scope: parent };
            let has = |name: &str| f.decorators.iter().any(|d| d.last().is_some_and(|l| l == name));
            if has("staticmethod") {
                return Value::Unknown;
            }
            if has("classmethod") || f.name == "__new__" || f.name == "__init_subclass__" {
                return Value::RepoClass(class);
            }
            return Value::RepoInstance(class);
        }
        Value::Unknown
    }

    fn module_value(&self, name: &str) -> Value {
        match self.by_name.get(name) {
            Some(&id) => Value::RepoModule(id),
            None => Value::External(self.catalog.canonical(name)),
        }
    }

    /// A top-level name of a repository module (or one of its submodules).
    fn symbol(&self, m: ModId, name: &str, depth: u32) -> Value {
        if depth > MAX_DEPTH {
            return Value::Unknown;
        }
        let module = &self.modules[m as usize];
        if let Some(value) = self.enclosing_value(m, 0, name, depth + 1) {
            return value;
        }
        match self.by_name.get(&join(&module.name, name)) {
            Some(&sub) => Value::RepoModule(sub),
            None => Value::Unknown,
        }
    }

    /// What calling `value` returns.
    pub fn call_result(&self, value: Value, depth: u32) -> Value {
        match value {
            Value::RepoClass(c) => Value::RepoInstance(c),
            Value::RepoFunction(f) => {
                let module = &self.modules[f.module as usize];
                let scope = &module.summary.scopes[f.scope as usize];
                match &scope.returns {
                    Some(ret) => {
                        let parent = scope.parent.unwrap_or(0);
                        let ty = self.chain_value(f.module, parent, ret, scope.pos.byte, depth + 1);
                        instance_of(ty, self.catalog)
                    }
                    None => Value::Unknown,
                }
            }
            Value::External(q) => {
                if let Some(ret) = self.catalog.returns(&q) {
                    return Value::ExternalInstance(self.catalog.canonical(ret));
                }
                if q.rsplit('.').next().is_some_and(|last| last.starts_with(|c: char| c.is_ascii_uppercase())) {
                    Value::ExternalInstance(q)
                } else {
                    Value::Unknown
                }
            }
            _ => Value::Unknown,
        }
    }

    /// `value.attr`.
    fn attribute(&self, value: Value, attr: &str, depth: u32) -> Value {
        match value {
            Value::RepoModule(m) => self.symbol(m, attr, depth + 1),
            Value::External(q) | Value::ExternalInstance(q) => Value::External(self.catalog.canonical(join(&q, attr))),
            Value::RepoClass(c) => self.member(c, attr, depth + 1),
            Value::RepoInstance(c) => match self.member(c, attr, depth + 1) {
                // Reading a property calls it: `self.client.get()` with `@property def client(self) -> Session`.
                Value::RepoFunction(f) if self.is_property(f) => self.call_result(Value::RepoFunction(f), depth + 1),
                other => other,
            },
            _ => Value::Unknown,
        }
    }

    /// Whether a function is decorated as a property.
    fn is_property(&self, f: ScopeRef) -> bool {
        let scope = &self.modules[f.module as usize].summary.scopes[f.scope as usize];
        scope.decorators.iter().any(|d| d.last().is_some_and(|l| l == "property" || l == "cached_property"))
    }

    /// A member of a repository class, searched through its bases (repository
    /// classes first in declaration order, then external bases).
    pub fn member(&self, class: ScopeRef, attr: &str, depth: u32) -> Value {
        self.member_after(class, attr, depth, 0)
    }

    /// `super().attr` written in a method: the chain starts `super`, `()`, `attr`, and
    /// `attr` is looked up in the bases of the method's class (`None` for any other chain).
    fn super_member(&self, m: ModId, scope: u32, chain: &[Name], at: u32, depth: u32) -> Option<Value> {
        if chain.len() < 3 || chain[0] != "super" || chain[1] != CALL_SEGMENT || chain[2] == CALL_SEGMENT {
            return None;
        }
        if self.lookup_name(m, scope, "super", at, depth + 1) != Value::External("builtins.super".to_string()) {
            return None;
        }
        let scopes = &self.modules[m as usize].summary.scopes;
        let method = &scopes[scope as usize];
        if method.kind != ScopeKind::Function {
            return None;
        }
        let class = method.parent.filter(|&p| scopes[p as usize].kind == ScopeKind::Class)?;
        Some(self.member_after(ScopeRef { module: m, scope: class }, &chain[2], depth + 1, 1))
    }

    /// [`Index::member`], skipping the first `skip` classes of the hierarchy.
    fn member_after(&self, class: ScopeRef, attr: &str, depth: u32, skip: usize) -> Value {
        let mut externals = Vec::new();
        for c in self.mro(class, depth, &mut externals).into_iter().skip(skip) {
            let module = &self.modules[c.module as usize];
            let scope = &module.summary.scopes[c.scope as usize];
            if let Some(binding) = module.binding(c.scope, attr, u32::MAX) {
                let v = self.binding_value(c.module, binding, depth + 1);
                if v != Value::Unknown {
                    return v;
                }
            }
            // Instance attributes: the first assignment whose type is known.
            for binding in scope.attributes.iter().filter(|b| b.name == attr) {
                let v = self.binding_value(c.module, binding, depth + 1);
                if v != Value::Unknown {
                    return v;
                }
            }
        }
        match externals.first() {
            Some(base) => Value::External(self.catalog.canonical(join(base, attr))),
            None => Value::Unknown,
        }
    }

    /// The repository classes a class derives from, nearest first (not itself).
    pub fn repo_bases(&self, class: ScopeRef) -> Vec<ScopeRef> {
        let mut externals = Vec::new();
        let mut order = self.mro(class, 0, &mut externals);
        order.remove(0);
        order
    }

    /// The repository classes of a class's hierarchy, itself first; external bases go to `externals`.
    fn mro(&self, class: ScopeRef, depth: u32, externals: &mut Vec<String>) -> Vec<ScopeRef> {
        let mut order = vec![class];
        let mut i = 0;
        while i < order.len() && order.len() < 32 && depth < MAX_DEPTH {
            let c = order[i];
            i += 1;
            let module = &self.modules[c.module as usize];
            let scope = &module.summary.scopes[c.scope as usize];
            let parent = scope.parent.unwrap_or(0);
            for base in &scope.bases {
                match self.chain_value(c.module, parent, base, scope.pos.byte, depth + 1) {
                    Value::RepoClass(b) if !order.contains(&b) => order.push(b),
                    Value::External(q) if !externals.contains(&q) => externals.push(q),
                    _ => {}
                }
            }
        }
        order
    }
}

/// An instance of the type `ty` denotes.
fn instance_of(ty: Value, catalog: &Catalog) -> Value {
    match ty {
        Value::RepoClass(c) => Value::RepoInstance(c),
        Value::External(q) => Value::ExternalInstance(catalog.canonical(q)),
        _ => Value::Unknown,
    }
}

fn join(a: &str, b: &str) -> String {
    if a.is_empty() { b.to_string() } else { format!("{a}.{b}") }
}

/// The absolute module a `from` import names (`level` leading dots, relative to `module`).
fn absolute_module(module: &Module, level: u32, name: &str) -> Option<String> {
    if level == 0 {
        return Some(name.to_string());
    }
    let mut package: Vec<&str> = if module.name.is_empty() { Vec::new() } else { module.name.split('.').collect() };
    if !module.is_package {
        package.pop();
    }
    for _ in 1..level {
        package.pop()?;
    }
    let base = package.join(".");
    Some(if name.is_empty() { base } else { join(&base, name) })
}

/// The chain's text, for messages.
pub fn chain_text(chain: &Chain) -> String {
    let mut out = String::new();
    let mut segments = chain.iter().peekable();
    while let Some(seg) = segments.next() {
        if seg == CALL_SEGMENT {
            out.push_str("()");
        } else if seg == TRUE_DIVISION && segments.peek().is_some_and(|next| *next == CALL_SEGMENT) {
            // Written `root / "x"`; the right-hand side is not part of the chain.
            segments.next();
            out = format!("({out} / …)");
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(seg);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::analysis::extract::{new_parser, summarize};
    use crate::config::Config;

    /// Index `(path, source)` files as a repository would be, with module names from the paths.
    fn with_index(files: &[(&str, &str)], check: impl FnOnce(&Index<'_>)) {
        let catalog = Catalog::load(&Config::builtin(), Path::new(".")).unwrap();
        let mut parser = new_parser();
        let modules = files
            .iter()
            .map(|(path, src)| {
                let is_package = path.ends_with("/__init__.py");
                let stem = path.trim_end_matches(".py").trim_end_matches("/__init__");
                let summary = Arc::new(summarize(&mut parser, src.as_bytes()));
                Module::new(stem.replace('/', "."), path.to_string(), is_package, false, summary)
            })
            .collect();
        check(&Index::new(modules, &catalog));
    }

    fn chain(text: &str) -> Chain {
        text.split('.').map(str::to_string).collect()
    }

    /// The value of `chain` resolved in the function scope `qualname` of module `m`.
    fn resolve_in(index: &Index<'_>, m: ModId, qualname: &str, text: &str) -> Value {
        let scopes = &index.modules[m as usize].summary.scopes;
        let scope = scopes.iter().position(|s| s.qualname == qualname).unwrap() as u32;
        index.resolve_chain(m, scope, &chain(text), scopes[scope as usize].end_byte)
    }

    #[test]
    fn package_init_importing_its_own_submodule() {
        let files = [
            ("shop/__init__.py", "from . import client\n"),
            ("shop/client.py", "def fetch():\n    pass\n"),
            ("app.py", "import shop\nfrom shop import client as c\n\ndef f():\n    pass\n"),
        ];
        with_index(&files, |index| {
            let fetch = Value::RepoFunction(ScopeRef { module: 1, scope: 1 });
            assert_eq!(resolve_in(index, 2, "f", "shop.client.fetch"), fetch);
            assert_eq!(resolve_in(index, 2, "f", "c.fetch"), fetch);
        });
    }

    #[test]
    fn super_resolves_in_the_bases() {
        let src = "import requests\n\nclass Base:\n    def fetch(self):\n        pass\n\nclass Child(Base):\n    def fetch(self):\n        return super().fetch()\n\nclass Http(requests.Session):\n    def get(self, url):\n        return super().get(url)\n";
        with_index(&[("m.py", src)], |index| {
            let base_fetch = Value::RepoFunction(ScopeRef { module: 0, scope: 2 });
            assert_eq!(resolve_in(index, 0, "Child.fetch", "super.().fetch"), base_fetch);
            assert_eq!(
                resolve_in(index, 0, "Http.get", "super.().get"),
                Value::External("requests.Session.get".into())
            );
            // Outside a method, `super()` is not resolved.
            assert_eq!(resolve_in(index, 0, "", "super.().get"), Value::Unknown);
        });
    }

    #[test]
    fn lower_case_constructors_from_the_returns_table() {
        let src = "import socket\n\ndef f(host):\n    s = socket.socket()\n    s.connect((host, 80))\n";
        with_index(&[("m.py", src)], |index| {
            assert_eq!(resolve_in(index, 0, "f", "s.connect"), Value::External("socket.socket.connect".into()));
        });
    }

    #[test]
    fn comprehension_variables_and_lambda_parameters_shadow_only_inside() {
        let src = "import requests as r\n\ndef f(sessions, u):\n    a = [r.get(u) for r in sessions]\n    b = lambda r: r.get(u)\n    return r.get(u)\n";
        with_index(&[("m.py", src)], |index| {
            let summary = &index.modules[0].summary;
            let f = summary.scopes.iter().position(|s| s.qualname == "f").unwrap() as u32;
            let value_at = |line: u32| {
                let call = summary.calls.iter().find(|c| c.pos.line == line).unwrap();
                index.resolve_chain(0, f, call.callee.as_ref().unwrap(), call.pos.byte)
            };
            assert_eq!(value_at(4), Value::Unknown);
            assert_eq!(value_at(5), Value::Unknown);
            assert_eq!(value_at(6), Value::External("requests.get".into()));
        });
    }
}
