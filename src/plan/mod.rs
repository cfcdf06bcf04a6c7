//! Conversion plans: which functions become async, which stay sync and are run in
//! a thread, which keep their old names as sync wrappers, which loops are gathered.
//!
//! Plans come only from the analysis (DESIGN.md): drafters carry them out and are
//! checked against them. One plan is one connected part of the async closure, so
//! independent parts can be proposed, validated and merged separately.
//!
//! [`build`] runs the phases in order: `closure` decides the async set (seeding,
//! with `concurrency` saying which concurrent work seeds it; propagation, entry
//! points, tests, async code that blocks), `group` splits it into independent
//! plans, `assemble` makes each plan (functions, calls, gathers, clients, name),
//! with `checks` saying what stops the rules drafter. When nothing is planned,
//! `unplanned` says why.

mod assemble;
mod checks;
mod closure;
mod concurrency;
mod group;
pub mod settings;
mod unplanned;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::analysis::Model;
use crate::analysis::callgraph::{CallTarget, FuncId};
use crate::analysis::catalog::Strategy;
use crate::analysis::index::Value;
use crate::analysis::index::{ModId, ScopeRef};
use crate::analysis::loops;
use crate::analysis::rules::{independent_consecutive_calls, work_queue_loop};
use crate::analysis::summary::CallSite;
use crate::analysis::summary::ScopeKind;
use crate::draft::mappings::{self, CallFacts, Description, LocalReceiver, Mapping, SubclassFacts};
pub(crate) use checks::SAFE_DECORATORS;
pub use closure::AsyncSet;
use closure::CallTable;
pub use concurrency::{ConcurrencyKind, ConcurrentWork};
pub use settings::Settings;
pub use unplanned::{NothingPlanned, Unplanned, nothing_planned};

/// How a blocking call is rewritten: by a registered native mapping, or in a thread.
#[derive(Clone, Copy)]
pub enum CallRewrite {
    /// A faithful async equivalent (`time.sleep` → `await asyncio.sleep`).
    Native(&'static dyn Mapping),
    /// `await run_in_thread(f, ...)` (the helper module's executor, sized to the
    /// gathers' limit): always behaviour-preserving.
    Thread,
}

impl CallRewrite {
    /// The kind, as `--format json` names it (`sleep`, `per-call-client`, `thread`).
    pub fn kind(&self) -> &'static str {
        match self {
            CallRewrite::Native(mapping) => mapping.kind(),
            CallRewrite::Thread => "thread",
        }
    }

    /// The rewrite in words, for plans, commit messages and PR text.
    pub fn description(&self) -> Description {
        match self {
            CallRewrite::Native(mapping) => mapping.description(),
            CallRewrite::Thread => Description::same("await run_in_thread"),
        }
    }

    /// The rewritten call stays one expression, which a gather can take as a coroutine.
    pub fn is_expression(&self) -> bool {
        match self {
            CallRewrite::Native(mapping) => mapping.is_expression(),
            CallRewrite::Thread => true,
        }
    }
}

impl PartialEq for CallRewrite {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (CallRewrite::Native(a), CallRewrite::Native(b)) => a.name() == b.name(),
            (CallRewrite::Thread, CallRewrite::Thread) => true,
            _ => false,
        }
    }
}

impl Eq for CallRewrite {}

impl std::fmt::Debug for CallRewrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallRewrite::Native(mapping) => write!(f, "Native({})", mapping.name()),
            CallRewrite::Thread => f.write_str("Thread"),
        }
    }
}

/// As `{"kind": "..."}`, the shape the JSON output has always had.
impl Serialize for CallRewrite {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = serializer.serialize_struct("CallRewrite", 1)?;
        out.serialize_field("kind", self.kind())?;
        out.end()
    }
}

/// A function the plan converts.
#[derive(Debug, Clone, Serialize)]
pub struct PlanFunction {
    pub qualname: String,
    pub path: String,
    pub line: u32,
    /// The name of the async version (the old name when no wrapper keeps it).
    pub async_name: String,
    /// The old name stays as a sync wrapper for callers outside the converted code.
    pub wrapper: bool,
    /// A generator that becomes an async generator.
    pub generator: bool,
    /// A test that becomes a pytest-asyncio test.
    pub test: bool,
    /// Already `async def`: only its calls change.
    pub already_async: bool,
    /// A method of a converted hierarchy that needs no conversion of its own: it
    /// stays as it is and gains an async twin under `async_name` returning its result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub twin: Option<Twin>,
    /// A property getter (`property` or `cached_property`): the property stays, a
    /// sync wrapper of the async method that converted readers await instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property: Option<&'static str>,
    /// Its decorators (`@click.command()`) stay on a sync shell of the old name,
    /// which runs the undecorated async version; callers keep calling the shell.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sync_shell: bool,
    #[serde(skip)]
    pub id: FuncId,
}

/// A function of the closure that stays sync because of its decorator.
#[derive(Debug, Clone, Serialize)]
pub struct PlanKeptSync {
    pub function: String,
    /// The decorator as written (`functools.lru_cache(maxsize=256)`).
    pub decorator: String,
    pub why: String,
    #[serde(skip)]
    pub id: FuncId,
}

/// How a twin gets the sync method's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Twin {
    /// Calls it directly: it does no blocking I/O.
    Direct,
    /// Runs it in a thread: it blocks, but the rules do not convert it (test code).
    Thread,
}

/// A blocking call the plan replaces.
#[derive(Debug, Clone, Serialize)]
pub struct PlanCall {
    pub path: String,
    pub line: u32,
    pub function: String,
    pub api: String,
    pub rewrite: CallRewrite,
    /// Why a native replacement was not used, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_thread: Option<String>,
    #[serde(skip)]
    pub module: ModId,
    #[serde(skip)]
    pub call: u32,
}

/// A loop or comprehension whose iterations become a bounded gather.
#[derive(Debug, Clone, Serialize)]
pub struct PlanGather {
    pub path: String,
    pub line: u32,
    pub function: String,
    #[serde(skip)]
    pub module: ModId,
    #[serde(skip)]
    pub loop_idx: u32,
}

/// A loop that sleeps on every item (RA109): a rate limit. It becomes rate-limited
/// concurrency (items start at least the interval apart, at most
/// `rewrite.concurrency` at once) when the spacing can be kept faithfully, else it
/// stays sequential.
#[derive(Debug, Clone, Serialize)]
pub struct PlanThrottle {
    pub path: String,
    pub line: u32,
    pub function: String,
    /// The sleep as written (`time.sleep(1.0)`).
    pub sleep: String,
    /// The function the loop calls that sleeps on every call, when the sleep is there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// What the sleep becomes (`await asyncio.sleep`) when the loop stays sequential.
    pub becomes: String,
    /// The interval as written (`1.0`, `delay`) that items start apart, when the
    /// loop becomes rate-limited concurrency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// What the draft does with the loop, and why.
    pub does: String,
    /// The sleep's call site (module, call).
    #[serde(skip)]
    pub sleep_call: (ModId, u32),
    #[serde(skip)]
    pub module: ModId,
    #[serde(skip)]
    pub loop_idx: u32,
}

/// A `while` loop draining a work queue (RA110): it becomes a walk by levels, each
/// level's requests awaited together (at most `rewrite.concurrency` at once) and
/// its items then handled in queue order, with the loop's de-dup and limit; or, when
/// the draft cannot show that this keeps the loop's requests, visits and results, it
/// stays sequential and moves to the plan's `sequential` list with why.
#[derive(Debug, Clone, Serialize)]
pub struct PlanWorkQueue {
    pub path: String,
    pub line: u32,
    pub function: String,
    /// What the draft does with the loop.
    pub does: String,
    #[serde(skip)]
    pub module: ModId,
    #[serde(skip)]
    pub loop_idx: u32,
    /// The call that takes the next item off the queue.
    #[serde(skip)]
    pub pop: u32,
    /// The call that waits on I/O for the item.
    #[serde(skip)]
    pub io: u32,
}

/// Consecutive statements that each wait on one independent read (RA111): they
/// become one gather assigning the same names.
#[derive(Debug, Clone, Serialize)]
pub struct PlanCallGroup {
    pub path: String,
    /// The line of the first call.
    pub line: u32,
    pub function: String,
    /// Each call as written, with its line (`client.get_user` (line 12)).
    pub calls: Vec<String>,
    #[serde(skip)]
    pub module: ModId,
    /// Each statement's byte range, in order.
    #[serde(skip)]
    pub statements: Vec<(u32, u32)>,
    /// Each statement's one I/O call, in order.
    #[serde(skip)]
    pub call_ids: Vec<u32>,
}

/// A loop or group of calls the plan found but the draft runs as before, and why.
#[derive(Debug, Clone, Serialize)]
pub struct PlanSequential {
    pub path: String,
    pub line: u32,
    pub function: String,
    /// `loop`, `throttled loop`, `work queue` or `calls`.
    pub kind: &'static str,
    pub why: String,
}

/// An attribute holding a sync client that becomes an async one (`self._session`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PlanClient {
    /// The owning class (`pkg.client.ForgeClient`).
    pub class: String,
    pub attribute: String,
    /// `requests.Session`.
    pub from: String,
    /// `httpx.AsyncClient`.
    pub to: String,
    #[serde(skip)]
    pub module: ModId,
    #[serde(skip)]
    pub class_scope: u32,
}

/// A class whose `__enter__` or `__exit__` blocks, constructed by converted code:
/// it gains `__aenter__`/`__aexit__` running them (in a thread when they block),
/// and converted code enters it with `async with`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanContextManager {
    /// `pkg.db.Session`.
    pub class: String,
    pub path: String,
    pub line: u32,
    /// `__enter__` blocks (it runs in a thread); otherwise `__aenter__` calls it.
    pub enter_blocks: bool,
    /// `__exit__` blocks (it runs in a thread); otherwise `__aexit__` calls it.
    pub exit_blocks: bool,
    #[serde(skip)]
    pub module: ModId,
    #[serde(skip)]
    pub class_scope: u32,
}

/// A repository decorator (a `functools.wraps` wrapper) that learns coroutine functions.
#[derive(Debug, Clone, Serialize)]
pub struct PlanDecorator {
    /// The decorator as applied (`pkg.retry.retry`).
    pub decorator: String,
    /// Its wrapper function, which gains an async twin.
    pub wrapper: String,
    pub path: String,
    pub line: u32,
    #[serde(skip)]
    pub wrapper_id: FuncId,
}

/// What happened to a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlanStatus {
    /// Ready to draft.
    Planned,
    /// Drafted by the rules drafter.
    Converted,
    /// The rules drafter cannot do it safely; an LLM drafter may.
    NeedsLlm,
    /// Drafted but the draft failed its checks.
    Failed,
    /// Nothing to do, or not attempted.
    Skipped,
}

/// One independent conversion.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Stable slug made from what it converts (`ragjudge-evaluate-all`).
    pub id: String,
    pub title: String,
    pub status: PlanStatus,
    /// Why it needs an LLM, failed or was skipped.
    pub reasons: Vec<String>,
    pub functions: Vec<PlanFunction>,
    /// Sync functions kept as they are and awaited in a thread (`run_in_thread`, thread-only I/O).
    pub offloaded: Vec<String>,
    /// Offloaded functions that stay sync although they have native rewrites, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept_sync: Vec<PlanKeptSync>,
    pub calls: Vec<PlanCall>,
    pub gathers: Vec<PlanGather>,
    /// Groups of consecutive independent reads that become one gather.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub call_groups: Vec<PlanCallGroup>,
    /// Loops that stay sequential because they sleep on every item.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub throttles: Vec<PlanThrottle>,
    /// Work queues walked level by level.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub work_queues: Vec<PlanWorkQueue>,
    pub clients: Vec<PlanClient>,
    pub decorators: Vec<PlanDecorator>,
    /// Context-manager classes that gain `__aenter__`/`__aexit__`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub context_managers: Vec<PlanContextManager>,
    /// Loops and groups of calls found but kept sequential, each with why; the
    /// draft moves here what it could not run concurrently after all.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sequential: Vec<PlanSequential>,
    /// Files the plan touches.
    pub files: Vec<String>,
    #[serde(skip)]
    pub offloaded_ids: BTreeSet<FuncId>,
}

impl PlanThrottle {
    /// "`time.sleep(1.0)`", or "`time.sleep(1.0)` in `pkg.polite_get`".
    pub fn sleep_where(&self) -> String {
        match &self.via {
            Some(f) => format!("`{}` in `{f}`", self.sleep),
            None => format!("`{}`", self.sleep),
        }
    }
}

impl Plan {
    /// The planned function with this id.
    pub fn function(&self, id: FuncId) -> Option<&PlanFunction> {
        self.functions.iter().find(|f| f.id == id)
    }
}

/// Build the plans for a repository from its analysis, in phases: seed the async
/// set with functions that have a native rewrite or concurrent blocking work,
/// propagate it to callers, settle entry points, add the tests that must await,
/// add async code that blocks, group the set into independent plans, and
/// assemble each plan.
pub fn build(model: &Model<'_>, settings: &Settings) -> Vec<Plan> {
    let gathers = gathered_loops(model);
    let (planner, set, twins, calls) = async_set(model, settings, &gathers);
    let groups = planner.group(&set, &twins);
    let throttles = loops::throttled(&model.index, &model.graph);
    let call_groups = independent_consecutive_calls::groups(&model.index, &model.graph, &|_| true);
    let work_queues = work_queue_loop::queues(&model.index, &model.graph);
    let cx = assemble::Context {
        set: &set,
        twins: &twins,
        calls: &calls,
        clients: &groups.clients,
        gathers: &gathers,
        throttles: &throttles,
        call_groups: &call_groups,
        work_queues: &work_queues,
    };
    let mut plans = Vec::new();
    for funcs in &groups.members {
        let mut plan = planner.plan_for(funcs, &cx);
        plan.id = unique_name(&plan.id, |id| plans.iter().any(|p: &Plan| p.id == id));
        plans.push(plan);
    }
    plans
}

/// The planner and the async set its phases decide, with the call table they used.
fn async_set<'a, 'c>(
    model: &'a Model<'c>,
    settings: &'a Settings,
    gathers: &[loops::LoopCandidate],
) -> (Planner<'a, 'c>, AsyncSet, AsyncSet, CallTable) {
    let mut planner = Planner {
        model,
        settings,
        hierarchy: std::cell::OnceCell::new(),
        overriders: std::cell::OnceCell::new(),
        concurrent: BTreeSet::new(),
    };
    planner.concurrent = planner.concurrency_seeds(&planner.concurrent_work(gathers));
    let calls = CallTable::new(&model.graph);
    let mut set = planner.seed();
    let mut twins = AsyncSet::empty(model.graph.functions.len());
    planner.grow(&mut set, &mut twins, &calls);
    planner.settle_entry_points(&mut set, &calls, gathers);
    planner.convert_tests(&mut set, &calls);
    planner.include_blocking_async_code(&mut set);
    (planner, set, twins, calls)
}

/// The loops the plans gather: RA105's candidates, except those whose items all
/// pass through a rate limiter (they stay sequential: the throttle keeps the
/// spacing, which a gather of the async limiter would not) and those whose work is
/// all in an inner loop (the inner loop is a candidate of its own).
fn gathered_loops(model: &Model<'_>) -> Vec<loops::LoopCandidate> {
    let mut gathers = loops::candidates(&model.index, &model.graph);
    gathers.retain(|g| g.limited_by.is_none() && !g.nested);
    gathers
}

/// What every planning phase reads.
struct Planner<'a, 'c> {
    model: &'a Model<'c>,
    settings: &'a Settings,
    /// Every repository class with bases → its repository bases; built on first need.
    hierarchy: std::cell::OnceCell<BTreeMap<ScopeRef, Vec<ScopeRef>>>,
    /// Functions whose concurrent blocking work makes them async (see `concurrency`).
    concurrent: BTreeSet<FuncId>,
    /// Per method, the methods that override it; built on first need.
    overriders: std::cell::OnceCell<Vec<Vec<FuncId>>>,
}

impl<'a, 'c> Planner<'a, 'c> {
    fn call(&self, m: ModId, ci: u32) -> &CallSite {
        &self.model.index.modules[m as usize].summary.calls[ci as usize]
    }

    /// How a blocking call at `ci` in module `m` would be rewritten, and why not natively:
    /// its catalog entry's strategy, and for a native one, what its mapping says of this call.
    fn rewrite_for(&self, m: ModId, ci: u32) -> Option<(String, CallRewrite, Option<String>)> {
        let CallTarget::Blocking(api) = &self.model.graph.targets[m as usize][ci as usize] else { return None };
        let entry = self.model.index.catalog.entry(api.id);
        if entry.instant {
            return None;
        }
        if entry.strategy == Strategy::Thread {
            return Some((api.name.clone(), CallRewrite::Thread, None));
        }
        // The catalog only loads native entries that name a registered mapping.
        let Some(mapping) = entry.mapping.as_deref().and_then(mappings::find) else {
            return Some((api.name.clone(), CallRewrite::Thread, Some(mappings::NO_MAPPING.to_string())));
        };
        if api.bound {
            let why = "called through `functools.partial`, whose bound arguments the call does not show";
            return Some((api.name.clone(), CallRewrite::Thread, Some(why.to_string())));
        }
        let facts = CallFacts {
            api: &api.name,
            call: self.call(m, ci),
            local: self.local_receiver(m, ci),
            forwarded: self.forwarded_keywords(m, ci),
        };
        Some(match mapping.check(&facts) {
            Ok(()) => (api.name.clone(), CallRewrite::Native(mapping), None),
            Err(why) => (api.name.clone(), CallRewrite::Thread, Some(why.0)),
        })
    }
}

impl Planner<'_, '_> {
    /// The bound local the call at `ci` is made on, or constructs, with its class, its
    /// constructor call and every call on it.
    fn local_receiver(&self, m: ModId, ci: u32) -> Option<LocalReceiver<'_>> {
        let module = &self.model.index.modules[m as usize];
        let summary = &module.summary;
        let call = &summary.calls[ci as usize];
        let local = summary.bound_local_of(call).or_else(|| summary.local_constructed_by(call))?;
        let resolved = local
            .ctor_callee
            .as_ref()
            .map(|chain| self.model.index.resolve_chain(m, local.scope, chain, local.ctor.0))
            .unwrap_or(Value::Unknown);
        let (class, subclass) = match resolved {
            Value::External(name) => (Some(name.to_string()), None),
            Value::RepoClass(c) => {
                let owner = &self.model.index.modules[c.module as usize];
                let scope = &owner.summary.scopes[c.scope as usize];
                (Some(format!("{}.{}", owner.name, scope.qualname)), Some(self.subclass_facts(c, m)))
            }
            _ => (None, None),
        };
        let calls = summary.calls.iter().filter(|c| summary.bound_local_of(c) == Some(local)).collect();
        let ctor = summary.calls.iter().find(|c| (c.pos.byte, c.end_byte) == local.ctor);
        Some(LocalReceiver { local, ctor, class, calls, subclass })
    }

    /// For a call passing on its function's own `**kwargs`: the keywords that the
    /// function's callers in the repository put into them (those not naming one of
    /// its parameters), with where; an error names a caller whose keywords cannot
    /// be known.
    fn forwarded_keywords(&self, m: ModId, ci: u32) -> Option<Result<Vec<(String, String)>, String>> {
        let index = &self.model.index;
        let graph = &self.model.graph;
        let summary = &index.modules[m as usize].summary;
        let call = &summary.calls[ci as usize];
        let forwards = call.forwards.as_ref()?;
        let scope = &summary.scopes[call.scope as usize];
        if scope.kwargs.as_ref() != Some(forwards) {
            return None;
        }
        let fid = graph.function_at(ScopeRef { module: m, scope: call.scope })?;
        let mut keywords = Vec::new();
        for (m2, targets) in graph.targets.iter().enumerate() {
            let module = &index.modules[m2];
            for (ci2, target) in targets.iter().enumerate() {
                if *target != CallTarget::Repo(fid) {
                    continue;
                }
                let site = &module.summary.calls[ci2];
                let at = format!("{}:{}", module.rel, site.pos.line);
                if site.has_splat || site.via.is_some() {
                    return Some(Err(format!("the caller at {at} passes arguments the analysis cannot list")));
                }
                for k in site.keywords.iter().filter(|k| !scope.params.iter().any(|p| &p.name == *k)) {
                    keywords.push((k.to_string(), at.clone()));
                }
            }
        }
        Some(Ok(keywords))
    }

    /// What a client mapping needs to know of a repository class to make its async twin.
    fn subclass_facts(&self, c: ScopeRef, used_in: ModId) -> SubclassFacts {
        let index = &self.model.index;
        let summary = &index.modules[c.module as usize].summary;
        let scope = &summary.scopes[c.scope as usize];
        let mut facts = SubclassFacts {
            decorated: !scope.decorators.is_empty(),
            elsewhere: c.module != used_in,
            attributes: scope.attributes.iter().map(|a| a.name.to_string()).collect(),
            ..SubclassFacts::default()
        };
        let outer = scope.parent.unwrap_or(0);
        for base in &scope.bases {
            match index.resolve_chain(c.module, outer, base, scope.pos.byte) {
                Value::External(q) if mappings::client_class(q.as_str()).is_some() && facts.base.is_none() => {
                    facts.base = Some(q.to_string());
                }
                _ => facts.other_bases.push(base.join(".")),
            }
        }
        let twin = mappings::twin_name(&scope.name);
        facts.twin_taken = summary.scopes[outer as usize].bindings.iter().any(|b| b.name == twin);
        for (si, method) in summary.scopes.iter().enumerate() {
            if method.parent != Some(c.scope) || method.kind != ScopeKind::Function {
                continue;
            }
            facts.methods.push(method.name.to_string());
            if method.name == "__init__" {
                facts.init_args |= summary.calls.iter().any(|call| {
                    call.scope == si as u32
                        && call.callee.as_ref().is_some_and(|ch| ch.join(".") == "super.().__init__")
                        && (call.positional > 0 || !call.keywords.is_empty() || call.has_splat)
                });
            }
        }
        facts
    }
}

/// `pkg.mod.Class.method` → `Class.method`; `pkg.mod.func` → `func`.
fn short_name(qualname: &str) -> String {
    let parts: Vec<&str> = qualname.split('.').collect();
    match parts.as_slice() {
        [.., class, method] if class.starts_with(|c: char| c.is_ascii_uppercase()) => format!("{class}.{method}"),
        [.., last] => last.to_string(),
        [] => String::new(),
    }
}

/// Lower-case, `-`-separated, at most 48 characters.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let mut out = out.trim_matches('-').to_string();
    if out.len() > 48 {
        out.truncate(48);
        out = out.trim_end_matches('-').to_string();
    }
    if out.is_empty() { "async".to_string() } else { out }
}

/// `base`, or the first of `base-2`, `base-3`, ... that is not `taken`.
pub fn unique_name(base: &str, taken: impl Fn(&str) -> bool) -> String {
    let mut candidate = base.to_string();
    let mut n = 2;
    while taken(&candidate) {
        candidate = format!("{base}-{n}");
        n += 1;
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_count_up_from_two() {
        assert_eq!(unique_name("a", |n| n == "b"), "a");
        assert_eq!(unique_name("a", |n| ["a", "a-2"].contains(&n)), "a-3");
        assert_eq!(slug("Make `evaluate_all` async!"), "make-evaluate-all-async");
    }
}
