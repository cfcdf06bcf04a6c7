//! Which functions become async: seeded by native rewrites and by concurrent
//! blocking work, propagated to their callers, settled for entry points, extended to the tests that must await them
//! and to async code that blocks. Each phase is a method that reads and updates
//! one [`AsyncSet`].

use std::collections::BTreeSet;

use super::{CallRewrite, Planner};
use crate::analysis::callgraph::{CallGraph, CallTarget, EntryPoint, FuncId};
use crate::analysis::index::ModId;
use crate::analysis::loops::LoopCandidate;

/// The functions that become (or already are) async, by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsyncSet(Vec<bool>);

impl AsyncSet {
    /// No function of `n`.
    pub fn empty(n: usize) -> AsyncSet {
        AsyncSet(vec![false; n])
    }

    pub fn contains(&self, f: FuncId) -> bool {
        self.0[f as usize]
    }

    /// Add `f`; whether it was new.
    pub fn insert(&mut self, f: FuncId) -> bool {
        !std::mem::replace(&mut self.0[f as usize], true)
    }

    pub fn remove(&mut self, f: FuncId) {
        self.0[f as usize] = false;
    }

    /// Every member, in id order.
    pub fn members(&self) -> impl Iterator<Item = FuncId> + '_ {
        self.0.iter().enumerate().filter(|(_, a)| **a).map(|(f, _)| f as FuncId)
    }
}

/// Who calls each repository function: callers inside the repository's functions
/// (with the call site), and how many calls come from module-level code.
pub struct CallTable {
    pub callers: Vec<Vec<(FuncId, ModId, u32)>>,
    pub outside: Vec<usize>,
}

impl CallTable {
    pub fn new(graph: &CallGraph) -> CallTable {
        let n = graph.functions.len();
        let mut table = CallTable { callers: vec![Vec::new(); n], outside: vec![0; n] };
        for (mi, targets) in graph.targets.iter().enumerate() {
            for (ci, target) in targets.iter().enumerate() {
                if let CallTarget::Repo(g) = target {
                    match graph.caller(mi as ModId, ci as u32) {
                        Some(f) => table.callers[*g as usize].push((f, mi as ModId, ci as u32)),
                        None => table.outside[*g as usize] += 1,
                    }
                }
            }
        }
        table
    }
}

impl Planner<'_, '_> {
    /// Library code of the blocking closure that may become async. A decorator's
    /// `functools.wraps` wrapper serves sync functions too: it is never converted
    /// itself; it gains an async twin when it decorates an async function. A cached
    /// function stays sync (its cache would hold coroutines): async callers run it
    /// in a thread, where the cache keeps working as before.
    /// A sync dunder (`__init__`, `__enter__`) is never converted either: Python
    /// calls it synchronously, so it keeps its I/O and async callers run it (the
    /// construction of the object, for `__init__`) in a thread.
    pub(super) fn candidate(&self, f: FuncId) -> bool {
        let graph = &self.model.graph;
        graph.closure[f as usize].is_some()
            && !graph.functions[f as usize].in_test
            && !self.is_wraps_wrapper(f)
            && self.cached_by(f).is_none()
            && !self.is_sync_dunder(f)
    }

    /// A sync method Python calls by its dunder name (`__init__`, `__enter__`, `__iter__`).
    pub(super) fn is_sync_dunder(&self, f: FuncId) -> bool {
        let func = &self.model.graph.functions[f as usize];
        func.is_method && !func.is_async && func.name.starts_with("__") && func.name.ends_with("__")
    }

    /// A sync pytest test function.
    fn is_test_function(&self, f: FuncId) -> bool {
        let func = &self.model.graph.functions[f as usize];
        func.in_test && func.name.starts_with("test") && !func.is_async
    }

    /// Whether a call of `f` has a native rewrite (not a thread).
    fn has_native_call(&self, f: FuncId) -> bool {
        let func = &self.model.graph.functions[f as usize];
        func.calls.iter().any(|&ci| {
            !self.call(func.at.module, ci).in_lambda
                && self.rewrite_for(func.at.module, ci).is_some_and(|(_, r, _)| r != CallRewrite::Thread)
        })
    }

    /// Functions with a native rewrite of their own, or with concurrent blocking
    /// work (see `concurrency`), become async. The rest of the closure blocks only
    /// in ways a thread handles: it stays sync, and its async callers run it in a thread.
    pub(super) fn seed(&self) -> AsyncSet {
        let n = self.model.graph.functions.len();
        let mut set = AsyncSet::empty(n);
        let seeds = (0..n as FuncId).filter(|&f| self.candidate(f) && self.has_native_call(f));
        for f in seeds.chain(self.concurrent.iter().copied()) {
            set.insert(f);
        }
        set
    }

    /// Propagate to callers and join class hierarchies until neither adds a function.
    pub(super) fn grow(&self, set: &mut AsyncSet, twins: &mut AsyncSet, calls: &CallTable) {
        loop {
            self.propagate(set, twins, calls);
            if !self.join_hierarchies(set, twins) {
                break;
            }
        }
    }

    /// Every candidate caller of an async function becomes async too, except the
    /// callers of a sync shell: they keep calling the decorated sync name (in a
    /// thread when they are async), so that its decorators still run. A twin's
    /// callers do not either: its sync method stays as it was.
    pub(super) fn propagate(&self, set: &mut AsyncSet, twins: &AsyncSet, calls: &CallTable) {
        let mut queue: Vec<FuncId> = set.members().filter(|&g| !twins.contains(g)).collect();
        while let Some(g) = queue.pop() {
            if self.is_shell(g) {
                continue;
            }
            for &(f, _, _) in &calls.callers[g as usize] {
                if self.candidate(f) && set.insert(f) {
                    queue.push(f);
                }
            }
        }
    }

    /// A class hierarchy converts together: when a method of the set overrides or
    /// is overridden by others, callers through the base may run any of them, so
    /// every one gains its async version under the same name. Members of the
    /// closure are converted; the rest (no I/O, or test doubles) become twins: an
    /// async method beside the sync one that returns its result. Whether anything
    /// was added.
    pub(super) fn join_hierarchies(&self, set: &mut AsyncSet, twins: &mut AsyncSet) -> bool {
        let mut added = false;
        let methods: Vec<FuncId> = set.members().filter(|&f| !twins.contains(f)).collect();
        for f in methods {
            for g in self.family(f) {
                if set.contains(g) || self.model.graph.functions[g as usize].is_async || self.is_sync_dunder(g) {
                    continue;
                }
                set.insert(g);
                if !self.candidate(g) {
                    twins.insert(g);
                }
                added = true;
            }
        }
        added
    }

    /// The methods `f` overrides or is overridden by, through any number of steps
    /// in either direction (siblings included), without `f`.
    pub(super) fn family(&self, f: FuncId) -> Vec<FuncId> {
        let graph = &self.model.graph;
        let overriders = self.overriders.get_or_init(|| {
            let mut by_base = vec![Vec::new(); graph.functions.len()];
            for g in 0..graph.functions.len() as FuncId {
                for &b in graph.overridden.of(g) {
                    by_base[b as usize].push(g);
                }
            }
            by_base
        });
        let mut seen = BTreeSet::from([f]);
        let mut queue = vec![f];
        while let Some(g) = queue.pop() {
            for &h in graph.overridden.of(g).iter().chain(&overriders[g as usize]) {
                if seen.insert(h) {
                    queue.push(h);
                }
            }
        }
        seen.remove(&f);
        seen.into_iter().collect()
    }

    /// Whether an async function keeps its sync name as a wrapper: it is an entry
    /// point, or something that stays sync calls it, or nothing visibly calls it
    /// (a callback, `getattr`, an override), so the old name has to keep working.
    /// A method of a hierarchy always does: every member's async version has to
    /// have the same name, and its twins keep theirs. So does a property: reading
    /// it is no call the analysis sees, so code outside the plan may read it.
    /// A test that becomes async is collected by pytest under its own name: it
    /// never keeps a sync one (pytest would run both).
    pub(super) fn keeps_sync_wrapper(&self, g: FuncId, set: &AsyncSet, calls: &CallTable) -> bool {
        if self.is_test_function(g) {
            return false;
        }
        let f = &self.model.graph.functions[g as usize];
        let callers = &calls.callers[g as usize];
        self.is_shell(g)
            || (f.is_method && !self.family(g).is_empty())
            || self.property_kind(g).is_some()
            || matches!(
                f.entry_point,
                Some(
                    EntryPoint::PublicApi | EntryPoint::MainBlock | EntryPoint::ConsoleScript | EntryPoint::CliCommand
                )
            )
            || calls.outside[g as usize] > 0
            || callers.iter().any(|&(c, _, _)| !set.contains(c) && !self.is_test_function(c))
            || (callers.is_empty() && calls.outside[g as usize] == 0)
    }

    /// Entry points such as a CLI `main` gain nothing from being async: when they
    /// only call functions that keep sync wrappers and hold no loop to gather, they
    /// stay as they are (unless their own work runs concurrently).
    pub(super) fn settle_entry_points(&self, set: &mut AsyncSet, calls: &CallTable, gathers: &[LoopCandidate]) {
        let graph = &self.model.graph;
        for fi in 0..graph.functions.len() as FuncId {
            let f = &graph.functions[fi as usize];
            let entry = matches!(
                f.entry_point,
                Some(EntryPoint::MainBlock | EntryPoint::ConsoleScript | EntryPoint::CliCommand)
            );
            if !set.contains(fi) || !entry {
                continue;
            }
            let called_from_async = calls.callers[fi as usize].iter().any(|&(c, _, _)| set.contains(c));
            let own_native = f
                .calls
                .iter()
                .any(|&ci| self.rewrite_for(f.at.module, ci).is_some_and(|(_, r, _)| r != CallRewrite::Thread));
            let callees_wrapped = f.calls.iter().all(|&ci| match &graph.targets[f.at.module as usize][ci as usize] {
                CallTarget::Repo(g) => !set.contains(*g) || self.keeps_sync_wrapper(*g, set, calls),
                _ => true,
            });
            let gathers_loop = gathers.iter().any(|g| g.function == fi);
            if !called_from_async && !own_native && callees_wrapped && !gathers_loop && !self.concurrent.contains(&fi) {
                set.remove(fi);
            }
        }
    }

    /// Tests calling a function that keeps no sync wrapper become pytest-asyncio tests.
    pub(super) fn convert_tests(&self, set: &mut AsyncSet, calls: &CallTable) {
        let mut tests = BTreeSet::new();
        for g in set.members() {
            if !self.keeps_sync_wrapper(g, set, calls) {
                tests
                    .extend(calls.callers[g as usize].iter().map(|&(c, _, _)| c).filter(|&c| self.is_test_function(c)));
            }
        }
        for t in tests {
            set.insert(t);
        }
    }

    /// Code that is already async but calls blocking code (RA103, RA104): its calls
    /// are converted with the rest; its callers already await it.
    pub(super) fn include_blocking_async_code(&self, set: &mut AsyncSet) {
        let graph = &self.model.graph;
        for (fi, f) in graph.functions.iter().enumerate() {
            if !f.is_async {
                continue;
            }
            let blocks = f.calls.iter().any(|&ci| {
                !self.call(f.at.module, ci).in_lambda
                    && match &graph.targets[f.at.module as usize][ci as usize] {
                        CallTarget::Blocking(_) => true,
                        CallTarget::Repo(g) => {
                            set.contains(*g)
                                || self.candidate(*g)
                                || (self.is_sync_dunder(*g) && graph.closure[*g as usize].is_some())
                        }
                        _ => false,
                    }
            });
            if blocks {
                set.insert(fi as FuncId);
            }
        }
    }
}
