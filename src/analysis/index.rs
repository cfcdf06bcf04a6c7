//! The repository index and name resolution: from a chain as written to what it means.
//!
//! Resolution follows Python's scoping (function, enclosing functions, module,
//! builtins; class bodies are not enclosing scopes), imports in every form,
//! re-exports between the repository's own modules, and a small amount of type
//! inference: constructor calls, annotations, `self.x = ...` in methods, return
//! annotations and the catalog's `[returns]` table. Anything it cannot follow is
//! `Unknown`, never a guess, so a local `get` or a variable called `requests` is
//! not mistaken for a blocking API.

use std::borrow::Cow;
use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;

use super::catalog::Catalog;
use super::memo::{InProgress, Memo, too_deep};
use super::summary::{
    Binding, BindingValue, CALL_SEGMENT, Chain, ENTERED, FileSummary, ITEMS_OF, ITERATED, Name, RETURNED, SUBSCRIPT,
    ScopeKind, TRUE_DIVISION, VALUES_OF, YIELDED,
};

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
    External(Name),
    /// An instance of an external type (canonical name).
    ExternalInstance(Name),
    RepoFunction(ScopeRef),
    RepoClass(ScopeRef),
    RepoInstance(ScopeRef),
    /// A collection (list, set, tuple, iterator…) whose items are the value.
    Items(Box<Value>),
    /// A mapping whose values are the value (keys are not followed).
    Mapping(Box<Value>),
    /// A tuple of known positions (`enumerate`'s and `dict.items()`'s pairs).
    Tuple(Vec<Value>),
    /// Something callable that returns the value: a container's `pop` or `get`.
    Returns(Box<Value>),
    /// `functools.partial(f, …)`: calling it calls `f` with arguments bound earlier.
    Partial(Box<Value>),
    /// One of these values (different handlers in one list or dict), each known.
    OneOf(Vec<Value>),
    /// `super(Class, self)` kept in a variable: members are looked up after `Class`.
    Super(ScopeRef),
    /// A context manager whose `__enter__` gives the value (a call of a
    /// `@contextmanager` generator gives what it yields).
    Context(Box<Value>),
    Unknown,
}

/// How many function results may be worked out inside one another.
const MAX_NESTED_RESULTS: usize = 12;

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
    /// Per repository class, the repository classes deriving from it.
    subclasses: HashMap<ScopeRef, Vec<ScopeRef>>,
    /// Per repository class with bases: its hierarchy (itself first) and its external bases.
    hierarchies: HashMap<ScopeRef, (Vec<ScopeRef>, Vec<Name>)>,
    /// Class registries (a class attribute, or a module global at scope 0), by
    /// where they are bound: the class whose hierarchy registers into each.
    registries: HashMap<(ModId, u32, Name), ScopeRef>,
    /// What functions return (`false`) or yield (`true`), once worked out in full.
    results: Memo<(ScopeRef, bool), Value>,
    /// Members of repository classes (class, name, classes skipped), once worked out in full.
    members: Memo<(ScopeRef, Name, u8), Value>,
}

impl<'c> Index<'c> {
    /// Index modules; when two files claim one module name, the first (by path) wins.
    pub fn new(modules: Vec<Module>, catalog: &'c Catalog) -> Index<'c> {
        let mut by_name = HashMap::default();
        for (i, m) in modules.iter().enumerate() {
            by_name.entry(m.name.clone()).or_insert(i as ModId);
        }
        let mut index = Index {
            modules,
            by_name,
            catalog,
            subclasses: HashMap::default(),
            hierarchies: HashMap::default(),
            registries: HashMap::default(),
            results: Memo::default(),
            members: Memo::default(),
        };
        index.index_classes();
        index
    }

    /// Forget the remembered class members: the call graph is what asked for most
    /// of them, and the rules that run after it need the memory more.
    pub fn forget_members(&self) {
        self.members.clear();
    }

    /// Put a module's new summary in place of its old one (the daemon's edits):
    /// what functions return and which classes derive from which are worked out again.
    pub fn replace_module(&mut self, pos: usize, module: Module) {
        self.modules[pos] = module;
        self.results.clear();
        self.members.clear();
        self.index_classes();
    }

    /// Work out every class's hierarchy once, then which classes derive from which.
    /// Bases resolve without mixin lookups, which would read the map being built.
    fn index_classes(&mut self) {
        self.subclasses = HashMap::default();
        self.hierarchies = HashMap::default();
        let mut hierarchies = HashMap::default();
        for (mi, module) in self.modules.iter().enumerate() {
            for (si, scope) in module.summary.scopes.iter().enumerate() {
                if scope.kind == ScopeKind::Class && !scope.bases.is_empty() {
                    let class = ScopeRef { module: mi as ModId, scope: si as u32 };
                    let mut externals = Vec::new();
                    let order = self.mro(class, 0, &mut externals).into_owned();
                    hierarchies.insert(class, (order, externals));
                }
            }
        }
        self.hierarchies = hierarchies;
        self.subclasses = self.subclass_map();
        self.registries = HashMap::default();
        self.registries = super::registry::registries(self);
        // What was remembered while the maps were empty may have missed them.
        self.results.clear();
        self.members.clear();
    }

    /// The module with this dotted name.
    pub fn module_named(&self, name: &str) -> Option<ModId> {
        self.by_name.get(name).copied()
    }

    /// The interned canonical name of an external name (the catalog's aliases applied).
    fn canonical(&self, name: impl AsRef<str> + Into<String>) -> Name {
        Name::new(&self.catalog.canonical(name))
    }

    /// Resolve a chain as written in `scope` of module `m`, at byte `at`.
    pub fn resolve_chain(&self, m: ModId, scope: u32, chain: &[Name], at: u32) -> Value {
        self.chain_value(m, scope, chain, at, 0)
    }

    fn chain_value(&self, m: ModId, scope: u32, chain: &[Name], at: u32, depth: u32) -> Value {
        let Some(first) = chain.first() else { return Value::Unknown };
        if first == CALL_SEGMENT || too_deep(depth) {
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
            value = match seg.as_str() {
                CALL_SEGMENT => self.call_result(value, depth + 1),
                SUBSCRIPT => subscript(value),
                ITERATED => iterated(value),
                ENTERED => self.entered(value, depth + 1),
                ITEMS_OF => Value::Items(Box::new(instance_of(value, self.catalog))),
                VALUES_OF => Value::Mapping(Box::new(instance_of(value, self.catalog))),
                _ => self.attribute(value, seg, depth + 1),
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
        if BUILTINS.contains(&name) { Value::External(Name::new(&format!("builtins.{name}"))) } else { Value::Unknown }
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
        if binding.scope == 0
            && let Some(registered) = self.registry_at(m, 0, binding.name)
        {
            return registered;
        }
        self.bound_value(m, binding, &binding.value, depth)
    }

    /// The dict bound as `name` in `scope` of module `m` when classes register
    /// into it: a mapping to a class of the registering hierarchy (calling one of
    /// its methods on an instance reaches every override).
    fn registry_at(&self, m: ModId, scope: u32, name: Name) -> Option<Value> {
        if self.registries.is_empty() {
            return None;
        }
        let class = self.registries.get(&(m, scope, name))?;
        Some(Value::Mapping(Box::new(Value::RepoClass(*class))))
    }

    /// `class.attr` (on the class or an instance) when it is a registry bound in
    /// the class's hierarchy.
    fn registry_in(&self, class: ScopeRef, attr: &str, depth: u32) -> Option<Value> {
        if self.registries.is_empty() {
            return None;
        }
        let name = Name::new(attr);
        let mut externals = Vec::new();
        self.mro(class, depth + 1, &mut externals).iter().find_map(|c| self.registry_at(c.module, c.scope, name))
    }

    /// `Class.attr`: a registry, or the `__subclasses__()` every class has (each
    /// a class of this hierarchy), before the class's members.
    fn class_attribute(&self, class: ScopeRef, attr: &str, depth: u32) -> Value {
        if let Some(registry) = self.registry_in(class, attr, depth) {
            return registry;
        }
        match self.member(class, attr, depth + 1) {
            Value::Unknown | Value::External(_) if attr == "__subclasses__" => {
                Value::Returns(Box::new(Value::Items(Box::new(Value::RepoClass(class)))))
            }
            member => member,
        }
    }

    /// The classes whose `metaclass=` is `metaclass` or derives from it.
    pub fn metaclass_users(&self, metaclass: ScopeRef) -> Vec<ScopeRef> {
        let mut users = Vec::new();
        for (mi, module) in self.modules.iter().enumerate() {
            for (si, scope) in module.summary.scopes.iter().enumerate() {
                let Some(chain) = &scope.metaclass else { continue };
                let parent = scope.parent.unwrap_or(0);
                if let Value::RepoClass(used) = self.chain_value(mi as ModId, parent, chain, scope.pos.byte, 0)
                    && (used == metaclass || self.repo_bases(used).contains(&metaclass))
                {
                    users.push(ScopeRef { module: mi as ModId, scope: si as u32 });
                }
            }
        }
        users
    }

    /// What `value`, bound by `binding` (its scope, position and name), denotes;
    /// `value` is the binding's own value or a part of it (a copied iterable).
    fn bound_value(&self, m: ModId, binding: &Binding, value: &BindingValue, depth: u32) -> Value {
        if too_deep(depth) {
            return Value::Unknown;
        }
        let module = &self.modules[m as usize];
        let scopes = &module.summary.scopes;
        match value {
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
            BindingValue::CallWith { callee, argument } => {
                let function = self.chain_value(m, binding.scope, callee, binding.at, depth + 1);
                let argument = || self.bound_value(m, binding, argument, depth + 1);
                match self.wrapped(&function, argument) {
                    Some(value) => value,
                    None => self.call_result(function, depth + 1),
                }
            }
            BindingValue::Element { of, position } => {
                let element = iterated(self.bound_value(m, binding, of, depth + 1));
                match (position, element) {
                    (None, element) => element,
                    (Some(i), Value::Tuple(items)) => items.into_iter().nth(*i as usize).unwrap_or(Value::Unknown),
                    _ => Value::Unknown,
                }
            }
            BindingValue::Unpacked { of, position } => match self.bound_value(m, binding, of, depth + 1) {
                Value::Tuple(items) => items.into_iter().nth(*position as usize).unwrap_or(Value::Unknown),
                _ => Value::Unknown,
            },
            BindingValue::Tuple(items) => {
                Value::Tuple(items.iter().map(|i| self.bound_value(m, binding, i, depth + 1)).collect())
            }
            BindingValue::ItemsOf(item) => match self.bound_value(m, binding, item, depth + 1) {
                Value::Unknown => Value::Unknown,
                item => Value::Items(Box::new(item)),
            },
            BindingValue::ValuesOf(item) => match self.bound_value(m, binding, item, depth + 1) {
                Value::Unknown => Value::Unknown,
                item => Value::Mapping(Box::new(item)),
            },
            BindingValue::Either(values) => {
                let mut known: Vec<Value> = Vec::new();
                for v in values {
                    match self.bound_value(m, binding, v, depth + 1) {
                        Value::Unknown => return Value::Unknown,
                        v if !known.contains(&v) => known.push(v),
                        _ => {}
                    }
                }
                if known.len() == 1 { known.pop().unwrap_or(Value::Unknown) } else { Value::OneOf(known) }
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
        self.fixture_value(m, function, &param.name, depth + 1)
    }

    /// A parameter of test code is the pytest fixture of that name visible to the
    /// function: in its test class, its module, then the `conftest.py` files up
    /// the package tree. Its value is what the fixture returns (or yields).
    fn fixture_value(&self, m: ModId, function: u32, name: &str, depth: u32) -> Value {
        let module = &self.modules[m as usize];
        let scopes = &module.summary.scopes;
        // pytest passes fixtures to tests and to other fixtures only.
        let requests_fixtures = |f: &super::summary::Scope| f.name.starts_with("test") || is_fixture(f);
        if !module.is_test || !requests_fixtures(&scopes[function as usize]) || too_deep(depth) {
            return Value::Unknown;
        }
        let parent = scopes[function as usize].parent.unwrap_or(0);
        let mut places = Vec::new();
        if scopes[parent as usize].kind == ScopeKind::Class {
            places.push((m, parent));
        }
        places.push((m, 0));
        places.extend(self.conftests(module).into_iter().filter(|&c| c != m).map(|c| (c, 0)));
        for (place, scope) in places {
            if let Some(fixture) = self.fixture_in(place, scope, name, depth + 1) {
                let result = self.call_result(Value::RepoFunction(fixture), depth + 1);
                let generator =
                    self.modules[fixture.module as usize].summary.scopes[fixture.scope as usize].is_generator;
                return if generator { iterated(result) } else { result };
            }
        }
        Value::Unknown
    }

    /// The fixture called `name` defined (or imported) in `scope` of module `m`.
    fn fixture_in(&self, m: ModId, scope: u32, name: &str, depth: u32) -> Option<ScopeRef> {
        let scopes = &self.modules[m as usize].summary.scopes;
        let renamed = scopes.iter().position(|s| s.parent == Some(scope) && s.fixture_name.as_deref() == Some(name));
        if let Some(found) = renamed {
            return Some(ScopeRef { module: m, scope: found as u32 });
        }
        match self.enclosing_value(m, scope, name, depth + 1)? {
            Value::RepoFunction(f) => {
                let s = &self.modules[f.module as usize].summary.scopes[f.scope as usize];
                (is_fixture(s) && s.fixture_name.is_none()).then_some(f)
            }
            _ => None,
        }
    }

    /// The `conftest` modules whose fixtures a module sees, nearest first.
    fn conftests(&self, module: &Module) -> Vec<ModId> {
        let mut package: Vec<&str> = if module.name.is_empty() { Vec::new() } else { module.name.split('.').collect() };
        if !module.is_package {
            package.pop();
        }
        let mut out = Vec::new();
        loop {
            let name = join(&package.join("."), "conftest");
            out.extend(self.by_name.get(&name).copied());
            if package.pop().is_none() {
                break;
            }
        }
        out
    }

    fn module_value(&self, name: &str) -> Value {
        match self.by_name.get(name) {
            Some(&id) => Value::RepoModule(id),
            None => Value::External(self.canonical(name)),
        }
    }

    /// A top-level name of a repository module (or one of its submodules).
    fn symbol(&self, m: ModId, name: &str, depth: u32) -> Value {
        if too_deep(depth) {
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

    /// What function `f` returns (or yields, for [`YIELDED`]) as its statements
    /// show: the first of its last few `return`s whose value is known.
    ///
    /// A function's result is worked out on its own, with the full depth, and
    /// remembered: call sites throughout the repository ask for the same few.
    fn result_named(&self, f: ScopeRef, name: &str, _depth: u32) -> Value {
        let key = (f, name == YIELDED);
        self.results.get_or(key, || {
            // A result that leads back to itself gives up (not remembered, then).
            let in_progress = (u64::from(f.module) << 33) | (u64::from(f.scope) << 1) | u64::from(key.1);
            let Some(_working) = InProgress::enter(in_progress, MAX_NESTED_RESULTS) else { return Value::Unknown };
            self.modules[f.module as usize]
                .bindings_named(f.scope, name)
                .take(4)
                .map(|b| self.binding_value(f.module, b, 0))
                .find(|v| *v != Value::Unknown)
                .unwrap_or(Value::Unknown)
        })
    }

    /// What `with value as x` binds: what the value's `__enter__` returns when
    /// the repository defines it and it is known; the value itself otherwise
    /// (most context managers return themselves).
    fn entered(&self, value: Value, depth: u32) -> Value {
        if let Value::Context(entered) = value {
            return *entered;
        }
        if let Value::RepoInstance(c) = &value
            && let enter @ Value::RepoFunction(_) = self.member(*c, "__enter__", depth + 1)
        {
            return match self.call_result(enter, depth + 1) {
                Value::Unknown => value,
                entered => entered,
            };
        }
        value
    }

    /// What a builtin that copies or wraps its first argument gives for it
    /// (`list(xs)`, `enumerate(xs)`, `partial(f, …)`); `None` for any other callee.
    fn wrapped(&self, function: &Value, argument: impl FnOnce() -> Value) -> Option<Value> {
        let Value::External(name) = function else { return None };
        let value = match name.as_str() {
            "builtins.list" | "builtins.tuple" | "builtins.set" | "builtins.frozenset" | "builtins.sorted"
            | "builtins.reversed" | "builtins.iter" | "collections.deque" => {
                Value::Items(Box::new(iterated(argument())))
            }
            "builtins.enumerate" => Value::Items(Box::new(Value::Tuple(vec![Value::Unknown, iterated(argument())]))),
            "builtins.next" => iterated(argument()),
            "functools.partial" => Value::Partial(Box::new(argument())),
            "builtins.super" => match argument() {
                Value::RepoClass(class) => Value::Super(class),
                _ => Value::Unknown,
            },
            _ => return None,
        };
        Some(value)
    }

    /// What calling `value` returns.
    pub fn call_result(&self, value: Value, depth: u32) -> Value {
        match value {
            Value::Returns(result) => *result,
            Value::Partial(function) => self.call_result(*function, depth + 1),
            // What the handlers return is not followed: they may differ.
            Value::OneOf(_) => Value::Unknown,
            Value::RepoClass(c) => Value::RepoInstance(c),
            Value::RepoFunction(f) => {
                let module = &self.modules[f.module as usize];
                let scope = &module.summary.scopes[f.scope as usize];
                let result = match &scope.returns {
                    Some(ret) => {
                        let parent = scope.parent.unwrap_or(0);
                        let ty = self.chain_value(f.module, parent, ret, scope.pos.byte, depth + 1);
                        instance_of(ty, self.catalog)
                    }
                    None if scope.is_generator => match self.result_named(f, YIELDED, depth + 1) {
                        Value::Unknown => Value::Unknown,
                        item => Value::Items(Box::new(item)),
                    },
                    None => self.result_named(f, RETURNED, depth + 1),
                };
                match result {
                    // `@contextmanager` makes a generator of `T` into a context manager entering as `T`.
                    Value::Items(item) if is_context_manager(scope) => Value::Context(item),
                    other => other,
                }
            }
            Value::External(q) => {
                if let Some(ret) = self.catalog.returns(&q) {
                    return Value::ExternalInstance(self.canonical(ret));
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
            Value::External(q) | Value::ExternalInstance(q) => Value::External(self.canonical(join(&q, attr))),
            Value::RepoClass(c) => self.class_attribute(c, attr, depth),
            Value::Super(c) => self.member_after(c, attr, depth + 1, 1),
            Value::Items(item) => match attr {
                "pop" | "popleft" | "__getitem__" | "__next__" => Value::Returns(item),
                "copy" => Value::Returns(Box::new(Value::Items(item))),
                _ => Value::Unknown,
            },
            Value::Mapping(item) => match attr {
                "get" | "pop" | "setdefault" | "__getitem__" => Value::Returns(item),
                "values" => Value::Returns(Box::new(Value::Items(item))),
                "items" => Value::Returns(Box::new(Value::Items(Box::new(Value::Tuple(vec![Value::Unknown, *item]))))),
                "copy" => Value::Returns(Box::new(Value::Mapping(item))),
                _ => Value::Unknown,
            },
            Value::RepoInstance(c) => match self
                .registry_in(c, attr, depth)
                .unwrap_or(Value::Unknown)
                .or_else(|| self.member(c, attr, depth + 1))
                .or_else(|| self.mixin_member(c, attr, depth + 1))
            {
                // Reading a property calls it: `self.client.get()` with `@property def client(self) -> Session`.
                Value::RepoFunction(f) if self.is_property(f) => self.call_result(Value::RepoFunction(f), depth + 1),
                other => other,
            },
            _ => Value::Unknown,
        }
    }

    /// A member a mixin's methods use without defining it (`self._fetch()` in a
    /// class whose subclasses get `_fetch` from another base): what every repository
    /// subclass that has it resolves it to, when they all agree.
    fn mixin_member(&self, class: ScopeRef, attr: &str, depth: u32) -> Value {
        let mut found = Value::Unknown;
        for &sub in self.subclasses.get(&class).map(Vec::as_slice).unwrap_or_default().iter().take(32) {
            match self.member(sub, attr, depth + 1) {
                Value::Unknown => {}
                value if found == Value::Unknown => found = value,
                value if value == found => {}
                _ => return Value::Unknown,
            }
        }
        found
    }

    /// Every repository class's repository descendants.
    fn subclass_map(&self) -> HashMap<ScopeRef, Vec<ScopeRef>> {
        let mut map: HashMap<ScopeRef, Vec<ScopeRef>> = HashMap::default();
        for (mi, module) in self.modules.iter().enumerate() {
            for (si, scope) in module.summary.scopes.iter().enumerate() {
                if scope.kind != ScopeKind::Class || scope.bases.is_empty() {
                    continue;
                }
                let class = ScopeRef { module: mi as ModId, scope: si as u32 };
                for base in self.repo_bases(class) {
                    map.entry(base).or_default().push(class);
                }
            }
        }
        map
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
        if self.lookup_name(m, scope, "super", at, depth + 1) != Value::External(Name::new("builtins.super")) {
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
        let key = (class, Name::new(attr), skip.min(u8::MAX as usize) as u8);
        self.members.get_or(key, || self.find_member(class, attr, depth, skip))
    }

    /// [`Index::member_after`], worked out.
    fn find_member(&self, class: ScopeRef, attr: &str, depth: u32, skip: usize) -> Value {
        let mut externals = Vec::new();
        for &c in self.mro(class, depth, &mut externals).iter().skip(skip) {
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
            Some(base) => Value::External(self.canonical(join(base, attr))),
            None => Value::Unknown,
        }
    }

    /// The repository classes a class derives from, nearest first (not itself).
    pub fn repo_bases(&self, class: ScopeRef) -> Vec<ScopeRef> {
        let mut externals = Vec::new();
        self.mro(class, 0, &mut externals)[1..].to_vec()
    }

    /// The repository classes of a class's hierarchy, itself first; external bases go to `externals`.
    /// Worked out once for every class with bases ([`Index::index_classes`]).
    fn mro(&self, class: ScopeRef, depth: u32, externals: &mut Vec<Name>) -> Cow<'_, [ScopeRef]> {
        if let Some((order, bases)) = self.hierarchies.get(&class) {
            externals.extend_from_slice(bases);
            return Cow::Borrowed(order);
        }
        if self.modules[class.module as usize].summary.scopes[class.scope as usize].bases.is_empty() {
            return Cow::Owned(vec![class]);
        }
        let mut order = vec![class];
        let mut i = 0;
        while i < order.len() && order.len() < 32 && !too_deep(depth + 1) {
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
        Cow::Owned(order)
    }
}

impl Value {
    /// This value, or `other`'s when this one is unknown.
    fn or_else(self, other: impl FnOnce() -> Value) -> Value {
        if self == Value::Unknown { other() } else { self }
    }
}

/// An instance of the type `ty` denotes.
fn instance_of(ty: Value, catalog: &Catalog) -> Value {
    match ty {
        Value::RepoClass(c) => Value::RepoInstance(c),
        Value::External(q) => Value::ExternalInstance(Name::new(&catalog.canonical(q.as_str()))),
        // A container type's chain already ends in its instance (`list[T]`).
        container @ (Value::Items(_) | Value::Mapping(_)) => container,
        _ => Value::Unknown,
    }
}

/// A function decorated as a pytest fixture (`@pytest.fixture`, `@fixture(...)`).
fn is_fixture(scope: &super::summary::Scope) -> bool {
    decorated_as(scope, "fixture")
}

/// A generator function decorated as a context manager (`contextlib.contextmanager`).
fn is_context_manager(scope: &super::summary::Scope) -> bool {
    decorated_as(scope, "contextmanager")
}

/// Whether a decorator of `scope` is named `name`, as written and called or not
/// (`@contextlib.contextmanager`, `@pytest.fixture(scope="module")`).
fn decorated_as(scope: &super::summary::Scope, name: &str) -> bool {
    scope.decorators.iter().any(|d| d.iter().rev().find(|s| *s != CALL_SEGMENT).is_some_and(|l| l == name))
}

/// `value[key]`: an item of a collection, a value of a mapping.
fn subscript(value: Value) -> Value {
    match value {
        Value::Items(item) | Value::Mapping(item) => *item,
        _ => Value::Unknown,
    }
}

/// One element of iterating `value`: an item of a collection (a mapping's keys are not followed).
fn iterated(value: Value) -> Value {
    match value {
        Value::Items(item) => *item,
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
        } else if seg == SUBSCRIPT {
            out.push_str("[…]");
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
                let is_test = crate::analysis::sources::is_test_file(path);
                Module::new(stem.replace('/', "."), path.to_string(), is_package, is_test, summary)
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

    /// The callee of the call on line `line` of module 0 (not a `.values()`).
    fn callee_at(index: &Index<'_>, line: u32) -> Value {
        let summary = &index.modules[0].summary;
        let call = summary
            .calls
            .iter()
            .find(|c| c.pos.line == line && c.callee.as_ref().is_some_and(|c| c.last().unwrap() != "values"))
            .expect("a call on that line");
        index.resolve_chain(0, call.scope, call.callee.as_ref().unwrap(), call.pos.byte)
    }

    #[test]
    fn elements_of_annotated_containers() {
        let src = r#"from typing import Iterable, Optional
import requests

class Notifier:
    def send(self, text: str) -> None:
        pass

class Hub:
    def __init__(self, notifiers: Iterable[Notifier], by_name: dict[str, Notifier]) -> None:
        self.notifiers = list(notifiers)
        self.by_name = by_name
        self.spare: Optional[list[requests.Session]] = None

    def run(self) -> None:
        for notifier in self.notifiers:
            notifier.send("x")
        for i, notifier in enumerate(sorted(self.notifiers)):
            notifier.send("y")
        for name, target in self.by_name.items():
            target.send(name)
        [n.send("z") for n in self.by_name.values()]
        self.by_name["a"].send("w")
        self.notifiers[1:][0].send("v")
        for key in self.by_name:
            key.send("no")
        self.spare[0].get("https://example.invalid")
"#;
        with_index(&[("m.py", src)], |index| {
            let send = Value::RepoFunction(ScopeRef { module: 0, scope: 2 });
            for line in [16, 18, 20, 21, 22, 23] {
                assert_eq!(callee_at(index, line), send, "line {line}");
            }
            assert_eq!(callee_at(index, 25), Value::Unknown);
            assert_eq!(callee_at(index, 26), Value::External("requests.Session.get".into()));
        });
    }

    /// The callee of the call on line `line` of module `m`.
    fn callee_in(index: &Index<'_>, m: ModId, line: u32) -> Value {
        let summary = &index.modules[m as usize].summary;
        let call = summary.calls.iter().find(|c| c.pos.line == line).expect("a call on that line");
        index.resolve_chain(m, call.scope, call.callee.as_ref().unwrap(), call.pos.byte)
    }

    #[test]
    fn returned_values_generators_and_context_managers() {
        let src = r#"import sqlite3
import requests

class Conn:
    def __enter__(self):
        return self.cursor()

    def cursor(self) -> sqlite3.Cursor:
        raise NotImplementedError

def make():
    if True:
        return None
    return requests.Session()

def sessions():
    yield requests.Session()

def f(u):
    make().get(u)
    with Conn() as c:
        c.execute(u)
    for s in sessions():
        s.get(u)
    with requests.Session() as plain:
        plain.get(u)
"#;
        with_index(&[("m.py", src)], |index| {
            assert_eq!(callee_in(index, 0, 20), Value::External("requests.Session.get".into()));
            assert_eq!(callee_in(index, 0, 22), Value::External("sqlite3.Cursor.execute".into()));
            assert_eq!(callee_in(index, 0, 24), Value::External("requests.Session.get".into()));
            assert_eq!(callee_in(index, 0, 26), Value::External("requests.Session.get".into()));
        });
    }

    #[test]
    fn unpacking_chained_assignments_and_context_manager_generators() {
        let src = r#"import contextlib
import sqlite3
import threading

class Store:
    def __init__(self) -> None:
        self._local = threading.local()

    @property
    def _con(self):
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._local.con = sqlite3.connect("db")
        return con

    @property
    def _sql(self):
        return self._con.execute

    @contextlib.contextmanager
    def _transact(self):
        sql = self._sql
        yield sql, print

    def get(self, key):
        self._sql("SELECT 1")
        with self._transact() as (sql, _):
            sql("SELECT 2")
        run, log = self._sql, print
        run("SELECT 3")
        shards = [Store() for _ in range(4)]
        shards[0].get(key)
"#;
        with_index(&[("m.py", src)], |index| {
            let execute = Value::External("sqlite3.Connection.execute".into());
            assert_eq!(callee_in(index, 0, 26), execute);
            assert_eq!(callee_in(index, 0, 28), execute);
            assert_eq!(callee_in(index, 0, 30), execute);
            let get = index.modules[0].summary.scopes.iter().position(|s| s.qualname == "Store.get").unwrap();
            assert_eq!(callee_in(index, 0, 32), Value::RepoFunction(ScopeRef { module: 0, scope: get as u32 }));
        });
    }

    #[test]
    fn a_kept_super_proxy_looks_members_up_in_the_bases() {
        let src = "import requests\n\nclass Api(requests.Session):\n    def __init__(self):\n        super().__init__()\n        self.parent = super(Api, self)\n\n    def request(self, method, url, **kw):\n        return self.parent.request(method, url, **kw)\n";
        with_index(&[("m.py", src)], |index| {
            assert_eq!(callee_in(index, 0, 9), Value::External("requests.Session.request".into()));
        });
    }

    #[test]
    fn a_mixin_uses_what_its_subclasses_get_from_another_base() {
        let src = r#"import requests

class Core:
    def _get(self, url):
        return requests.get(url, timeout=5)

class ListingMixin:
    def children(self, url):
        return self._get(url)

    def missing(self):
        return self._nowhere()

class Folder(Core, ListingMixin):
    pass

class Storage(Core, ListingMixin):
    pass
"#;
        with_index(&[("m.py", src)], |index| {
            assert_eq!(callee_in(index, 0, 9), Value::RepoFunction(ScopeRef { module: 0, scope: 2 }));
            assert_eq!(callee_in(index, 0, 12), Value::Unknown);
        });
    }

    #[test]
    fn test_parameters_are_the_fixtures_they_name() {
        let client = "class Client:\n    def fetch(self):\n        pass\n";
        let conftest = r#"import pytest
import requests
from shop.client import Client

@pytest.fixture
def client():
    return Client()

@pytest.fixture(name="session")
def make_session():
    s = requests.Session()
    yield s
    s.close()

@pytest.fixture
def wrapped(client):
    return client
"#;
        let tests = r#"import pytest
from shop.client import Client

def test_fetch(client):
    client.fetch()

def test_session(session):
    session.get("u")

def test_wrapped(wrapped):
    wrapped.fetch()

class TestLocal:
    @pytest.fixture
    def local(self):
        return Client()

    def test_local(self, local):
        local.fetch()

def test_unknown(other, make_session):
    other.fetch()
    make_session.get("u")
"#;
        let files = [
            ("shop/client.py", client),
            ("tests/conftest.py", conftest),
            ("tests/unit/test_api.py", tests),
            ("shop/api.py", "def helper(client):\n    client.fetch()\n"),
        ];
        with_index(&files, |index| {
            let fetch = Value::RepoFunction(ScopeRef { module: 0, scope: 2 });
            assert_eq!(callee_in(index, 2, 5), fetch);
            assert_eq!(callee_in(index, 2, 8), Value::External("requests.Session.get".into()));
            assert_eq!(callee_in(index, 2, 11), fetch);
            assert_eq!(callee_in(index, 2, 19), fetch);
            assert_eq!(callee_in(index, 2, 22), Value::Unknown);
            // Renamed fixtures answer only to their new name.
            assert_eq!(callee_in(index, 2, 23), Value::Unknown);
            // Library code has no fixtures.
            assert_eq!(callee_in(index, 3, 2), Value::Unknown);
        });
    }

    #[test]
    fn partial_calls_the_function_it_wraps() {
        let src = "import functools
import requests

get = functools.partial(requests.get, timeout=5)

def f(url):
    return get(url)
";
        with_index(&[("m.py", src)], |index| {
            assert_eq!(callee_at(index, 7), Value::Partial(Box::new(Value::External("requests.get".into()))));
        });
    }

    #[test]
    fn a_shadowed_builtin_is_not_a_copy() {
        let src = "from typing import Iterable

class N:
    def send(self):
        pass

def list(x):
    return x

def f(ns: Iterable[N]):
    for n in list(ns):
        n.send()
";
        with_index(&[("m.py", src)], |index| {
            assert_eq!(callee_at(index, 12), Value::Unknown);
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
