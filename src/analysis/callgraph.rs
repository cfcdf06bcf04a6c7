//! The call graph over the repository's functions and the async closure.
//!
//! Every call site is resolved once (in parallel, per module). The closure is
//! every sync function that blocks directly, plus every sync function that calls
//! into one, found by a breadth-first walk backwards from the direct blockers, so
//! each function records the shortest path to the blocking API that forces it.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use super::catalog::ApiMatch;
use super::index::{Index, ModId, ScopeRef, Value};
use super::summary::{CallSite, Name, ScopeKind};

/// Index of a function in [`CallGraph::functions`].
pub type FuncId = u32;

/// What a call site calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallTarget {
    /// A function or method of the repository (a class call targets its `__init__`).
    Repo(FuncId),
    /// A blocking API from the catalog.
    /// Boxed: few calls block, and every call site holds a target.
    Blocking(Box<ApiMatch>),
    /// One of these repository functions: a call through a list or dict of
    /// different handlers (`self.handlers[kind](url)`). The closure follows each;
    /// the planner does not convert such a call (it cannot know which runs).
    OneOf(Box<[FuncId]>),
    /// Runs a coroutine to completion from sync code (`asyncio.run`).
    SyncBridge(super::intern::Name),
    /// Something external that does not block (as far as the catalog knows).
    External(super::intern::Name),
    Unknown,
}

/// The caller of a call site made outside any function.
const NO_CALLER: FuncId = FuncId::MAX;

/// Which function makes each call site of module `m` ([`NO_CALLER`] outside
/// functions), adding each call to its function's list.
fn module_callers(
    index: &Index<'_>,
    m: ModId,
    func_ids: &rustc_hash::FxHashMap<ScopeRef, FuncId>,
    functions: &mut [Function],
) -> Box<[FuncId]> {
    let module = &index.modules[m as usize];
    let scopes = &module.summary.scopes;
    let mut per_call = Vec::with_capacity(module.summary.calls.len());
    for (ci, call) in module.summary.calls.iter().enumerate() {
        let caller = (scopes[call.scope as usize].kind == ScopeKind::Function)
            .then(|| func_ids.get(&ScopeRef { module: m, scope: call.scope }).copied())
            .flatten();
        if let Some(f) = caller {
            functions[f as usize].calls.push(ci as u32);
        }
        per_call.push(caller.unwrap_or(NO_CALLER));
    }
    per_call.into_boxed_slice()
}

/// Why a function is an entry point whose callers outside the converted code need the sync name kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryPoint {
    /// A public function or method of the package.
    PublicApi,
    /// Called from an `if __name__ == "__main__":` block.
    MainBlock,
    /// Named in `[project.scripts]`.
    ConsoleScript,
    /// Decorated as a click/typer command.
    CliCommand,
    /// Test code.
    Test,
}

impl EntryPoint {
    /// Human wording.
    pub fn describe(self) -> &'static str {
        match self {
            EntryPoint::PublicApi => "public API",
            EntryPoint::MainBlock => "__main__ block",
            EntryPoint::ConsoleScript => "console script",
            EntryPoint::CliCommand => "CLI command",
            EntryPoint::Test => "test",
        }
    }
}

/// A function or method of the repository.
#[derive(Debug, Clone)]
pub struct Function {
    pub at: ScopeRef,
    /// `pkg.mod.Class.method` (interned: tens of thousands of functions keep theirs
    /// for the whole run).
    pub qualname: Name,
    pub name: Name,
    pub is_async: bool,
    pub is_generator: bool,
    pub is_method: bool,
    pub in_test: bool,
    pub entry_point: Option<EntryPoint>,
    /// Indices (into the module's call sites) of the calls made directly in this function.
    pub calls: Vec<u32>,
}

/// Why a function belongs to the async closure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClosureReason {
    /// It makes this blocking call itself.
    Direct { call: u32 },
    /// It calls `callee`, which is in the closure, at this call site.
    Via { callee: FuncId, call: u32 },
    /// It is a method whose override `by` in a subclass (or a class implementing its
    /// protocol) is in the closure: a call through the base may run the override.
    Override { by: FuncId },
}

/// The resolved call graph.
#[derive(Default)]
pub struct CallGraph {
    pub functions: Vec<Function>,
    func_ids: rustc_hash::FxHashMap<ScopeRef, FuncId>,
    /// Per module, per call site: what it calls.
    pub targets: Vec<Vec<CallTarget>>,
    /// Per module, per call site: the function it is made in ([`NO_CALLER`] at
    /// module or class level); read through [`CallGraph::caller`].
    callers: Vec<Box<[FuncId]>>,
    /// Per function: why it must become async (sync functions only).
    pub closure: Vec<Option<ClosureReason>>,
    /// Per function: how it reaches a sync bridge (`asyncio.run`) through sync code.
    pub bridges: Vec<Option<ClosureReason>>,
    /// Per method: the methods it overrides (in base classes and implemented
    /// protocols), nearest first.
    pub overridden: super::overrides::Overridden,
}

impl CallGraph {
    /// A thread-affine API (the catalog's `thread_affine`: what it makes or acts on
    /// belongs to the thread that made it) that these calls make, themselves or down
    /// the closure functions they call.
    pub fn thread_affine_api(
        &self,
        catalog: &super::catalog::Catalog,
        calls: impl IntoIterator<Item = (ModId, u32)>,
    ) -> Option<String> {
        let mut stack: Vec<(ModId, u32)> = calls.into_iter().collect();
        let mut seen = std::collections::BTreeSet::new();
        while let Some((m, ci)) = stack.pop() {
            match &self.targets[m as usize][ci as usize] {
                CallTarget::Blocking(api) if catalog.entry(api.id).thread_affine => return Some(api.name.clone()),
                CallTarget::Repo(g) if self.closure[*g as usize].is_some() && seen.insert(*g) => {
                    let callee = &self.functions[*g as usize];
                    stack.extend(callee.calls.iter().map(|&c| (callee.at.module, c)));
                }
                _ => {}
            }
        }
        None
    }

    /// Resolve every call site and compute the closure.
    pub fn build(index: &Index<'_>, root: &Path) -> CallGraph {
        let started = std::time::Instant::now();
        let mut functions = Vec::new();
        let mut func_ids = rustc_hash::FxHashMap::default();
        for (mi, module) in index.modules.iter().enumerate() {
            let scopes = &module.summary.scopes;
            for (si, scope) in scopes.iter().enumerate() {
                if scope.kind != ScopeKind::Function {
                    continue;
                }
                let at = ScopeRef { module: mi as ModId, scope: si as u32 };
                func_ids.insert(at, functions.len() as FuncId);
                let parent_kind = scope.parent.map(|p| scopes[p as usize].kind);
                functions.push(Function {
                    at,
                    qualname: Name::new(&module.qualname(si as u32)),
                    name: scope.name,
                    is_async: scope.is_async,
                    is_generator: scope.is_generator,
                    is_method: parent_kind == Some(ScopeKind::Class),
                    in_test: module.is_test,
                    entry_point: None,
                    calls: Vec::new(),
                });
            }
        }

        let listed = started.elapsed();
        let targets: Vec<Vec<CallTarget>> = (0..index.modules.len())
            .into_par_iter()
            .map(|mi| {
                let module = &index.modules[mi];
                module.summary.calls.iter().map(|call| resolve_call(index, &func_ids, mi as ModId, call)).collect()
            })
            .collect();
        let resolved = started.elapsed();

        let callers =
            (0..index.modules.len()).map(|mi| module_callers(index, mi as ModId, &func_ids, &mut functions)).collect();

        let overridden = super::overrides::overridden(index, &func_ids, functions.len());
        let mut graph =
            CallGraph { functions, func_ids, targets, callers, closure: Vec::new(), bridges: Vec::new(), overridden };
        graph.closure = graph.backward_closure(index, |t| waits(index, t));
        graph.bridges = graph.backward_closure(index, |t| matches!(t, CallTarget::SyncBridge(_)));
        graph.mark_entry_points(index, root);
        tracing::debug!(
            list_ms = listed.as_secs_f64() * 1e3,
            resolve_calls_ms = (resolved - listed).as_secs_f64() * 1e3,
            closure_ms = (started.elapsed() - resolved).as_secs_f64() * 1e3,
            "call graph built"
        );
        graph
    }

    /// The function that makes call `ci` of module `m` (`None` at module or class level).
    pub fn caller(&self, m: ModId, ci: u32) -> Option<FuncId> {
        Some(self.callers[m as usize][ci as usize]).filter(|&f| f != NO_CALLER)
    }

    /// Resolve module `m`'s call sites again after its summary changed without
    /// changing its interface ([`super::summary::same_interface`]): function ids
    /// and every other module's call targets stay valid; the closure and entry
    /// points are recomputed.
    pub fn refresh_module(&mut self, index: &Index<'_>, root: &Path, m: ModId) {
        let module = &index.modules[m as usize];
        self.targets[m as usize] =
            module.summary.calls.iter().map(|call| resolve_call(index, &self.func_ids, m, call)).collect();
        for f in self.functions.iter_mut().filter(|f| f.at.module == m) {
            f.calls.clear();
        }
        self.callers[m as usize] = module_callers(index, m, &self.func_ids, &mut self.functions);
        self.closure = self.backward_closure(index, |t| waits(index, t));
        self.bridges = self.backward_closure(index, |t| matches!(t, CallTarget::SyncBridge(_)));
        self.mark_entry_points(index, root);
    }

    /// The function id of a scope.
    pub fn function_at(&self, at: ScopeRef) -> Option<FuncId> {
        self.func_ids.get(&at).copied()
    }

    /// The call site `call` of module `m`.
    pub fn call<'i>(&self, index: &'i Index<'_>, m: ModId, call: u32) -> &'i CallSite {
        &index.modules[m as usize].summary.calls[call as usize]
    }

    /// Sync functions that reach a call matching `is_seed` through sync calls only,
    /// each with the first step of its shortest path.
    ///
    /// A call may run any override of the method it names, so overrides count;
    /// but `super().method()` runs that very method: it counts only when the
    /// method's own body reaches the seed, which a first walk without overrides finds.
    fn backward_closure(&self, index: &Index<'_>, is_seed: impl Fn(&CallTarget) -> bool) -> Vec<Option<ClosureReason>> {
        let super_calls = self.functions.iter().any(|f| {
            let calls = &index.modules[f.at.module as usize].summary.calls;
            f.calls.iter().any(|&ci| {
                is_super_call(&calls[ci as usize])
                    && matches!(self.targets[f.at.module as usize][ci as usize], CallTarget::Repo(_))
            })
        });
        // Without a `super()` call into the repository, no call is bound to one method.
        let own = super_calls.then(|| self.walk_back(index, &is_seed, Dispatch::Named));
        self.walk_back(index, &is_seed, Dispatch::Overrides { own: own.as_deref() })
    }

    /// One backward walk, following overrides or not.
    fn walk_back(
        &self,
        index: &Index<'_>,
        is_seed: &impl Fn(&CallTarget) -> bool,
        dispatch: Dispatch<'_>,
    ) -> Vec<Option<ClosureReason>> {
        let n = self.functions.len();
        let mut reason: Vec<Option<ClosureReason>> = vec![None; n];
        let mut reverse: Vec<Vec<(FuncId, u32)>> = vec![Vec::new(); n];
        let mut queue = VecDeque::new();
        for (fi, f) in self.functions.iter().enumerate() {
            let module = &index.modules[f.at.module as usize];
            for &ci in &f.calls {
                let call = &module.summary.calls[ci as usize];
                // A lambda's body runs when the lambda is called, not here.
                if call.in_lambda {
                    continue;
                }
                let target = &self.targets[f.at.module as usize][ci as usize];
                if !f.is_async && reason[fi].is_none() && is_seed(target) {
                    reason[fi] = Some(ClosureReason::Direct { call: ci });
                    queue.push_back(fi as FuncId);
                }
                if let CallTarget::OneOf(handlers) = target {
                    for &g in handlers.iter() {
                        reverse[g as usize].push((fi as FuncId, ci));
                    }
                }
                if let CallTarget::Repo(g) = target {
                    let through_super = match dispatch {
                        Dispatch::Overrides { own: Some(own) } => is_super_call(call) && own[*g as usize].is_none(),
                        _ => false,
                    };
                    if !through_super {
                        reverse[*g as usize].push((fi as FuncId, ci));
                    }
                }
            }
        }
        let no_bases: &[FuncId] = &[];
        while let Some(g) = queue.pop_front() {
            let callers = reverse[g as usize].iter().map(|&(f, call)| (f, ClosureReason::Via { callee: g, call }));
            let overridden = match dispatch {
                Dispatch::Overrides { .. } => self.overridden.of(g),
                Dispatch::Named => no_bases,
            };
            let bases = overridden.iter().map(|&b| (b, ClosureReason::Override { by: g }));
            for (f, why) in callers.chain(bases) {
                if self.functions[f as usize].is_async || reason[f as usize].is_some() || f == g {
                    continue;
                }
                reason[f as usize] = Some(why);
                queue.push_back(f);
            }
        }
        reason
    }

    /// The functions from `f` down the shortest path of `set`, and the call target
    /// (blocking API or bridge) that puts the last of them in it.
    fn follow(&self, set: &[Option<ClosureReason>], f: FuncId) -> (Vec<FuncId>, Option<&CallTarget>) {
        let mut steps = Vec::new();
        let mut current = f;
        for _ in 0..64 {
            steps.push(current);
            match &set[current as usize] {
                Some(ClosureReason::Via { callee, .. } | ClosureReason::Override { by: callee }) => current = *callee,
                Some(ClosureReason::Direct { call }) => {
                    let m = self.functions[current as usize].at.module;
                    return (steps, Some(&self.targets[m as usize][*call as usize]));
                }
                None => break,
            }
        }
        (steps, None)
    }

    /// The chain of qualified names from `f` to the blocking API (or bridge) that puts it in `set`.
    pub fn path(&self, set: &[Option<ClosureReason>], f: FuncId) -> Vec<String> {
        let (steps, end) = self.follow(set, f);
        let mut out: Vec<String> = steps.iter().map(|&s| self.functions[s as usize].qualname.to_string()).collect();
        match end {
            Some(CallTarget::Blocking(api)) => out.push(api.name.clone()),
            Some(CallTarget::SyncBridge(name)) => out.push(name.to_string()),
            _ => {}
        }
        out
    }

    /// The override that puts method `f` in `set`, when one does: a call of `f`
    /// may run that override (followed through overrides of overrides).
    pub fn dispatched_to(&self, set: &[Option<ClosureReason>], f: FuncId) -> Option<FuncId> {
        let mut found = None;
        let mut current = f;
        for _ in 0..64 {
            match set[current as usize] {
                Some(ClosureReason::Override { by }) => {
                    found = Some(by);
                    current = by;
                }
                _ => break,
            }
        }
        found
    }

    /// The blocking API at the end of `f`'s path in `set`.
    pub fn terminal_api(&self, set: &[Option<ClosureReason>], f: FuncId) -> Option<&ApiMatch> {
        match self.follow(set, f).1 {
            Some(CallTarget::Blocking(api)) => Some(api),
            _ => None,
        }
    }

    fn mark_entry_points(&mut self, index: &Index<'_>, root: &Path) {
        let scripts = console_scripts(root);
        let mut marks: BTreeMap<FuncId, EntryPoint> = BTreeMap::new();
        // Calls from `__main__` blocks.
        for (mi, module) in index.modules.iter().enumerate() {
            for (ci, call) in module.summary.calls.iter().enumerate() {
                if call.in_main_block
                    && let CallTarget::Repo(f) = self.targets[mi][ci]
                {
                    marks.entry(f).or_insert(EntryPoint::MainBlock);
                }
            }
        }
        for (fi, f) in self.functions.iter_mut().enumerate() {
            let module = &index.modules[f.at.module as usize];
            let scopes = &module.summary.scopes;
            let scope = &scopes[f.at.scope as usize];
            let mark = if f.in_test {
                Some(EntryPoint::Test)
            } else if scripts.iter().any(|s| s == &f.qualname) {
                Some(EntryPoint::ConsoleScript)
            } else if scope.decorators.iter().any(|d| {
                let d: Vec<&str> = d.iter().map(|s| s.as_str()).filter(|s| *s != "()").collect();
                matches!(d.last(), Some(&"command") | Some(&"group")) && d.len() >= 2
            }) {
                Some(EntryPoint::CliCommand)
            } else if let Some(m) = marks.get(&(fi as FuncId)) {
                Some(*m)
            } else if is_public(module, scopes, f.at.scope) {
                Some(EntryPoint::PublicApi)
            } else {
                None
            };
            f.entry_point = mark;
        }
    }
}

/// A public name: no leading underscore on it, its classes or its module path, not nested in a function.
fn is_public(module: &super::index::Module, scopes: &[super::summary::Scope], scope: u32) -> bool {
    let private = |s: &str| s.starts_with('_') && !(s.starts_with("__") && s.ends_with("__"));
    if module.name.split('.').any(private) {
        return false;
    }
    let f = &scopes[scope as usize];
    if f.name.starts_with('_') {
        return false;
    }
    let mut parent = f.parent;
    while let Some(p) = parent {
        let ps = &scopes[p as usize];
        match ps.kind {
            ScopeKind::Module => return true,
            ScopeKind::Function => return false,
            ScopeKind::Class if ps.name.starts_with('_') => return false,
            ScopeKind::Class => {}
        }
        parent = ps.parent;
    }
    true
}

/// `[project.scripts]` (and Poetry's) targets as qualified names (`pkg.cli.main`).
fn console_scripts(root: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(root.join("pyproject.toml")) else { return Vec::new() };
    let Ok(doc) = text.parse::<toml::Table>() else { return Vec::new() };
    let tables = [
        doc.get("project").and_then(|p| p.get("scripts")),
        doc.get("tool").and_then(|t| t.get("poetry")).and_then(|p| p.get("scripts")),
    ];
    let mut out = Vec::new();
    for table in tables.into_iter().flatten() {
        if let Some(t) = table.as_table() {
            for v in t.values() {
                if let Some(s) = v.as_str() {
                    out.push(s.replace(':', ".").trim().to_string());
                }
            }
        }
    }
    out
}

/// Whether call `ci` (of a module's `calls`, resolved to `targets`) is a
/// `process.wait()` after an unconditional `process.communicate()` on the same
/// object earlier in the same function: `communicate` already waited for the
/// child, so this wait returns at once. It stays a blocking call for the closure
/// and the drafter (an async process's `wait` is still awaited); only the
/// findings about it are spared.
pub fn reaped_wait(calls: &[CallSite], targets: &[CallTarget], ci: usize) -> bool {
    let is = |t: &CallTarget, name: &str| matches!(t, CallTarget::Blocking(api) if api.name == name);
    let receiver = |c: &CallSite| c.callee.map(|c| c.as_slice()).filter(|c| c.len() >= 2).map(|c| &c[..c.len() - 1]);
    if !is(&targets[ci], "subprocess.Popen.wait") {
        return false;
    }
    let wait = &calls[ci];
    let Some(process) = receiver(wait) else { return false };
    (0..ci).any(|cj| {
        let earlier = &calls[cj];
        earlier.scope == wait.scope
            && !earlier.guarded
            && is(&targets[cj], "subprocess.Popen.communicate")
            && receiver(earlier) == Some(process)
    })
}

/// How a backward walk treats a call of a method.
#[derive(Clone, Copy)]
enum Dispatch<'a> {
    /// It runs the method named, never an override.
    Named,
    /// It may run any override; `super()` calls run the method named, so they
    /// count only when `own` (the `Named` walk) has the method.
    Overrides { own: Option<&'a [Option<ClosureReason>]> },
}

/// `super().method(...)`: runs the method named, never an override of it.
fn is_super_call(call: &CallSite) -> bool {
    call.callee.as_deref().is_some_and(|c| c.len() >= 3 && c[0] == "super" && c[1] == super::summary::CALL_SEGMENT)
}

/// A blocking call that makes its caller wait: not one the catalog calls instant.
pub fn waits(index: &Index<'_>, target: &CallTarget) -> bool {
    matches!(target, CallTarget::Blocking(api) if !index.catalog.is_instant(api))
}

fn resolve_call(
    index: &Index<'_>,
    func_ids: &rustc_hash::FxHashMap<ScopeRef, FuncId>,
    m: ModId,
    call: &CallSite,
) -> CallTarget {
    let Some(callee) = &call.callee else { return CallTarget::Unknown };
    if let Some(via) = &call.via {
        let builtin = index.resolve_chain(m, call.scope, via, call.pos.byte);
        let calls_argument = matches!(&builtin, Value::External(q)
            if ["builtins.map", "builtins.filter", "builtins.sorted", "builtins.min", "builtins.max"].contains(&q.as_str()));
        if !calls_argument {
            return CallTarget::Unknown;
        }
    }
    target_of(index, func_ids, index.resolve_chain(m, call.scope, callee, call.pos.byte))
}

/// What calling `value` calls.
fn target_of(index: &Index<'_>, func_ids: &rustc_hash::FxHashMap<ScopeRef, FuncId>, value: Value) -> CallTarget {
    match value {
        Value::OneOf(values) => {
            let mut ids = Vec::new();
            for v in values {
                match target_of(index, func_ids, v) {
                    CallTarget::Repo(id) => ids.push(id),
                    // A handler outside the repository: no closure edge to follow.
                    CallTarget::External(_) => {}
                    _ => return CallTarget::Unknown,
                }
            }
            if ids.is_empty() { CallTarget::Unknown } else { CallTarget::OneOf(ids.into_boxed_slice()) }
        }
        Value::Partial(function) => match target_of(index, func_ids, *function) {
            CallTarget::Blocking(api) => CallTarget::Blocking(Box::new(ApiMatch { bound: true, ..*api })),
            other => other,
        },
        Value::RepoFunction(f) => func_ids.get(&f).map_or(CallTarget::Unknown, |&id| CallTarget::Repo(id)),
        Value::RepoClass(c) => match index.member(c, "__init__", 0) {
            Value::RepoFunction(init) => func_ids.get(&init).map_or(CallTarget::Unknown, |&id| CallTarget::Repo(id)),
            _ => CallTarget::Unknown,
        },
        Value::RepoInstance(c) => match index.member(c, "__call__", 0) {
            Value::RepoFunction(f) => func_ids.get(&f).map_or(CallTarget::Unknown, |&id| CallTarget::Repo(id)),
            _ => CallTarget::Unknown,
        },
        Value::External(q) => {
            let catalog = index.catalog;
            if catalog.is_sync_bridge(&q) {
                CallTarget::SyncBridge(super::intern::Name::new(&q))
            } else if let Some(api) = catalog.lookup(&q) {
                CallTarget::Blocking(Box::new(api))
            } else {
                CallTarget::External(super::intern::Name::new(&q))
            }
        }
        _ => CallTarget::Unknown,
    }
}
