//! Conversion plans: which functions become async, which stay sync and are run in
//! a thread, which keep their old names as sync wrappers, which loops are gathered.
//!
//! Plans come only from the analysis (DESIGN.md): drafters carry them out and are
//! checked against them. One plan is one connected part of the async closure, so
//! independent parts can be proposed, validated and merged separately.

pub mod settings;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::analysis::Model;
use crate::analysis::callgraph::{CallTarget, EntryPoint, FuncId};
use crate::analysis::catalog::Strategy;
use crate::analysis::index::{ModId, ScopeRef, Value};
use crate::analysis::rules::{Context, sequential_calls_in_loop};
use crate::analysis::summary::{CallSite, ScopeKind};
use crate::config::AnalysisConfig;
use crate::draft::mappings::{self, CallFacts, Description, Mapping};
pub use settings::Settings;

/// How a blocking call is rewritten: by a registered native mapping, or in a thread.
#[derive(Clone, Copy)]
pub enum CallRewrite {
    /// A faithful async equivalent (`time.sleep` → `await asyncio.sleep`).
    Native(&'static dyn Mapping),
    /// `await asyncio.to_thread(f, ...)`: always behaviour-preserving.
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
            CallRewrite::Thread => Description::same("await asyncio.to_thread"),
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
    #[serde(skip)]
    pub id: FuncId,
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
    /// Sync functions kept as they are and awaited through `asyncio.to_thread` (thread-only I/O).
    pub offloaded: Vec<String>,
    pub calls: Vec<PlanCall>,
    pub gathers: Vec<PlanGather>,
    pub clients: Vec<PlanClient>,
    pub decorators: Vec<PlanDecorator>,
    /// Files the plan touches.
    pub files: Vec<String>,
    #[serde(skip)]
    pub offloaded_ids: BTreeSet<FuncId>,
}

impl Plan {
    /// The planned function with this id.
    pub fn function(&self, id: FuncId) -> Option<&PlanFunction> {
        self.functions.iter().find(|f| f.id == id)
    }
}

/// Decorators a function may carry and still be converted: they do not wrap the
/// function in sync code.
const SAFE_DECORATORS: &[&str] = &["staticmethod", "classmethod", "abstractmethod", "override", "final"];

/// Build the plans for a repository from its analysis.
pub fn build(model: &Model<'_>, analysis: &AnalysisConfig, settings: &Settings) -> Vec<Plan> {
    Planner { model, analysis, settings, hierarchy: std::cell::OnceCell::new() }.plans()
}

struct Planner<'a, 'c> {
    model: &'a Model<'c>,
    analysis: &'a AnalysisConfig,
    settings: &'a Settings,
    /// Every repository class with bases → its repository bases; built on first need.
    hierarchy: std::cell::OnceCell<BTreeMap<ScopeRef, Vec<ScopeRef>>>,
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
        if entry.strategy == Strategy::Thread {
            return Some((api.name.clone(), CallRewrite::Thread, None));
        }
        // The catalog only loads native entries that name a registered mapping.
        let Some(mapping) = entry.mapping.as_deref().and_then(mappings::find) else {
            return Some((api.name.clone(), CallRewrite::Thread, Some(mappings::NO_MAPPING.to_string())));
        };
        let facts = CallFacts { api: &api.name, call: self.call(m, ci) };
        Some(match mapping.check(&facts) {
            Ok(()) => (api.name.clone(), CallRewrite::Native(mapping), None),
            Err(why) => (api.name.clone(), CallRewrite::Thread, Some(why)),
        })
    }

    fn plans(&self) -> Vec<Plan> {
        let graph = &self.model.graph;
        let index = &self.model.index;
        let n = graph.functions.len();
        // A decorator's `functools.wraps` wrapper serves sync functions too: it is never
        // converted itself; it gains an async twin when it decorates an async function.
        let candidate =
            |f: usize| graph.closure[f].is_some() && !graph.functions[f].in_test && !self.is_wraps_wrapper(f as FuncId);
        let is_test_function = |f: usize| {
            let func = &graph.functions[f];
            func.in_test && func.name.starts_with("test") && !func.is_async
        };

        // Functions with a native rewrite of their own become async; so does every
        // caller of an async one. The rest of the closure blocks only in ways a
        // thread handles: it stays sync and its async callers run it in a thread.
        let mut is_async = vec![false; n];
        let mut queue = Vec::new();
        for (fi, f) in graph.functions.iter().enumerate() {
            if !candidate(fi) {
                continue;
            }
            let native = f.calls.iter().any(|&ci| {
                !self.call(f.at.module, ci).in_lambda
                    && self.rewrite_for(f.at.module, ci).is_some_and(|(_, r, _)| r != CallRewrite::Thread)
            });
            if native {
                is_async[fi] = true;
                queue.push(fi as FuncId);
            }
        }
        let mut callers: Vec<Vec<(FuncId, ModId, u32)>> = vec![Vec::new(); n];
        let mut outside_callers: Vec<Vec<Option<FuncId>>> = vec![Vec::new(); n];
        for (mi, targets) in graph.targets.iter().enumerate() {
            for (ci, target) in targets.iter().enumerate() {
                if let CallTarget::Repo(g) = target {
                    match graph.callers[mi][ci] {
                        Some(f) => callers[*g as usize].push((f, mi as ModId, ci as u32)),
                        None => outside_callers[*g as usize].push(None),
                    }
                }
            }
        }
        while let Some(g) = queue.pop() {
            for &(f, _, _) in &callers[g as usize] {
                if candidate(f as usize) && !is_async[f as usize] {
                    is_async[f as usize] = true;
                    queue.push(f);
                }
            }
        }

        // Which async functions keep their sync name as a wrapper.
        let wrapper = |g: usize, is_async: &[bool]| {
            let f = &graph.functions[g];
            matches!(
                f.entry_point,
                Some(
                    EntryPoint::PublicApi | EntryPoint::MainBlock | EntryPoint::ConsoleScript | EntryPoint::CliCommand
                )
            ) || !outside_callers[g].is_empty()
                || callers[g].iter().any(|&(c, _, _)| !is_async[c as usize] && !is_test_function(c as usize))
                // Never called where the analysis can see: called some other way (a
                // callback, `getattr`, an override), so the old name has to keep working.
                || (callers[g].is_empty() && outside_callers[g].is_empty())
        };
        // Entry points such as a CLI `main` gain nothing from being async: when they
        // only call functions that keep sync wrappers, they stay as they are.
        for fi in 0..n {
            let f = &graph.functions[fi];
            if !is_async[fi]
                || !matches!(
                    f.entry_point,
                    Some(EntryPoint::MainBlock | EntryPoint::ConsoleScript | EntryPoint::CliCommand)
                )
            {
                continue;
            }
            let called_from_async = callers[fi].iter().any(|&(c, _, _)| is_async[c as usize]);
            let own_native = f
                .calls
                .iter()
                .any(|&ci| self.rewrite_for(f.at.module, ci).is_some_and(|(_, r, _)| r != CallRewrite::Thread));
            let callees_wrapped = f.calls.iter().all(|&ci| match &graph.targets[f.at.module as usize][ci as usize] {
                CallTarget::Repo(g) => !is_async[*g as usize] || wrapper(*g as usize, &is_async),
                _ => true,
            });
            if !called_from_async && !own_native && callees_wrapped {
                is_async[fi] = false;
            }
        }

        // Tests calling a function that keeps no sync wrapper become pytest-asyncio tests.
        let mut tests = BTreeSet::new();
        for g in 0..n {
            if is_async[g] && !wrapper(g, &is_async) {
                tests.extend(callers[g].iter().map(|&(c, _, _)| c as usize).filter(|&c| is_test_function(c)));
            }
        }
        for &t in &tests {
            is_async[t] = true;
        }
        // Code that is already async but calls blocking code (RA103, RA104): its calls
        // are converted with the rest; its callers already await it.
        for (fi, f) in graph.functions.iter().enumerate() {
            if !f.is_async {
                continue;
            }
            let blocks = f.calls.iter().any(|&ci| {
                !self.call(f.at.module, ci).in_lambda
                    && match &graph.targets[f.at.module as usize][ci as usize] {
                        CallTarget::Blocking(_) => true,
                        CallTarget::Repo(g) => is_async[*g as usize] || candidate(*g as usize),
                        _ => false,
                    }
            });
            if blocks {
                is_async[fi] = true;
            }
        }

        // Group the async functions into independent plans: connected by calls, and
        // by sharing a client attribute of one class.
        let mut groups = UnionFind::new(n);
        let mut clients: BTreeMap<(ModId, u32, String), PlanClient> = BTreeMap::new();
        for fi in 0..n {
            if !is_async[fi] {
                continue;
            }
            let f = &graph.functions[fi];
            for &ci in &f.calls {
                if let CallTarget::Repo(g) = graph.targets[f.at.module as usize][ci as usize]
                    && is_async[g as usize]
                {
                    groups.union(fi, g as usize);
                }
            }
            if let Some(client) = self.client_of(fi) {
                clients.entry((client.module, client.class_scope, client.attribute.clone())).or_insert(client);
            }
        }
        // Methods of a class whose client attribute changes belong together.
        let mut by_class: BTreeMap<(ModId, u32), usize> = BTreeMap::new();
        for (fi, f) in graph.functions.iter().enumerate() {
            if !is_async[fi] {
                continue;
            }
            let scopes = &index.modules[f.at.module as usize].summary.scopes;
            let Some(parent) = scopes[f.at.scope as usize].parent else { continue };
            if scopes[parent as usize].kind != ScopeKind::Class
                || !clients.keys().any(|(m, c, _)| *m == f.at.module && *c == parent)
            {
                continue;
            }
            match by_class.get(&(f.at.module, parent)) {
                Some(&first) => groups.union(first, fi),
                None => {
                    by_class.insert((f.at.module, parent), fi);
                }
            }
        }

        let gathers = {
            let ctx = Context { index, graph, config: self.analysis };
            sequential_calls_in_loop::candidates(&ctx)
        };

        let mut members: BTreeMap<usize, Vec<FuncId>> = BTreeMap::new();
        for (fi, _) in is_async.iter().enumerate().filter(|(_, a)| **a) {
            members.entry(groups.find(fi)).or_default().push(fi as FuncId);
        }
        let mut plans = Vec::new();
        for funcs in members.into_values() {
            let mut plan = self.plan_for(&funcs, &is_async, &wrapper, &clients, &gathers);
            plan.id = unique_slug(&plan.id, &plans);
            plans.push(plan);
        }
        plans
    }

    /// The client attribute a function's native client calls go through, if any.
    fn client_of(&self, fi: usize) -> Option<PlanClient> {
        let graph = &self.model.graph;
        let index = &self.model.index;
        let f = &graph.functions[fi];
        let module = &index.modules[f.at.module as usize];
        let scopes = &module.summary.scopes;
        let class_scope = scopes[f.at.scope as usize].parent?;
        if scopes[class_scope as usize].kind != ScopeKind::Class {
            return None;
        }
        for &ci in &f.calls {
            let Some((api, CallRewrite::Native(mapping), _)) = self.rewrite_for(f.at.module, ci) else { continue };
            let Some(class) = mapping.client(&api) else { continue };
            let callee = self.call(f.at.module, ci).callee.as_ref()?;
            return Some(PlanClient {
                class: index.modules[f.at.module as usize].qualname(class_scope),
                attribute: callee[1].clone(),
                from: class.sync.to_string(),
                to: class.async_.to_string(),
                module: f.at.module,
                class_scope,
            });
        }
        None
    }

    fn plan_for(
        &self,
        funcs: &[FuncId],
        is_async: &[bool],
        wrapper: &dyn Fn(usize, &[bool]) -> bool,
        clients: &BTreeMap<(ModId, u32, String), PlanClient>,
        gathers: &[sequential_calls_in_loop::LoopCandidate],
    ) -> Plan {
        let graph = &self.model.graph;
        let index = &self.model.index;
        let mut plan = Plan {
            id: String::new(),
            title: String::new(),
            status: PlanStatus::Planned,
            reasons: Vec::new(),
            functions: Vec::new(),
            offloaded: Vec::new(),
            calls: Vec::new(),
            gathers: Vec::new(),
            clients: Vec::new(),
            decorators: Vec::new(),
            files: Vec::new(),
            offloaded_ids: BTreeSet::new(),
        };
        let mut files = BTreeSet::new();
        for &fid in funcs {
            let f = &graph.functions[fid as usize];
            let module = &index.modules[f.at.module as usize];
            let scope = &module.summary.scopes[f.at.scope as usize];
            files.insert(module.rel.clone());
            let keeps_name = !f.is_async && wrapper(fid as usize, is_async);
            let async_name = if keeps_name { self.settings.async_name(&f.name) } else { f.name.clone() };
            plan.functions.push(PlanFunction {
                qualname: f.qualname.clone(),
                path: module.rel.clone(),
                line: scope.pos.line,
                async_name: async_name.clone(),
                wrapper: keeps_name,
                generator: f.is_generator,
                test: f.in_test && !f.is_async,
                already_async: f.is_async,
                id: fid,
            });
            if keeps_name
                && let Some(parent) = scope.parent
                && module.summary.scopes[parent as usize].bindings.iter().any(|b| b.name == async_name)
            {
                plan.reasons
                    .push(format!("{}: the name `{async_name}` for its async version is already taken", f.qualname));
            }
            if let Some(reason) = self.cannot_convert(fid) {
                plan.reasons.push(format!("{}: {reason}", f.qualname));
            }
            if let Some(other) = self.sync_override(fid, is_async) {
                plan.reasons.push(format!(
                    "{}: `{other}` overrides it or is overridden by it and stays sync; callers through the base class would mix the two",
                    f.qualname
                ));
            }
            for decorator in &scope.decorators {
                if let Some((d, w)) = self.coroutine_aware(fid, decorator)
                    && !plan.decorators.iter().any(|pd| pd.wrapper_id == w)
                {
                    let wf = &graph.functions[w as usize];
                    let wm = &index.modules[wf.at.module as usize];
                    files.insert(wm.rel.clone());
                    plan.decorators.push(PlanDecorator {
                        decorator: graph.functions[d as usize].qualname.clone(),
                        wrapper: wf.qualname.clone(),
                        path: wm.rel.clone(),
                        line: wm.summary.scopes[wf.at.scope as usize].pos.line,
                        wrapper_id: w,
                    });
                }
            }
            for &ci in &f.calls {
                let call = self.call(f.at.module, ci);
                match &graph.targets[f.at.module as usize][ci as usize] {
                    CallTarget::Repo(g) if call.in_lambda && is_async[*g as usize] => plan.reasons.push(format!(
                        "{}: a lambda calls `{}`, which becomes async (line {})",
                        f.qualname, graph.functions[*g as usize].qualname, call.pos.line
                    )),
                    CallTarget::Repo(g) if call.via.is_some() && is_async[*g as usize] => plan.reasons.push(format!(
                        "{}: `{}` is passed to a builtin that calls it synchronously (line {})",
                        f.qualname, graph.functions[*g as usize].qualname, call.pos.line
                    )),
                    CallTarget::Repo(g) if !is_async[*g as usize] && graph.closure[*g as usize].is_some() => {
                        let callee = &graph.functions[*g as usize];
                        if plan.offloaded_ids.insert(*g) {
                            plan.offloaded.push(callee.qualname.clone());
                        }
                    }
                    CallTarget::Blocking(_) if call.in_lambda => plan
                        .reasons
                        .push(format!("{}: a lambda makes a blocking call (line {})", f.qualname, call.pos.line)),
                    CallTarget::Blocking(_) => {
                        if let Some((api, rewrite, why_thread)) = self.rewrite_for(f.at.module, ci) {
                            plan.calls.push(PlanCall {
                                path: module.rel.clone(),
                                line: call.pos.line,
                                function: f.qualname.clone(),
                                api,
                                rewrite,
                                why_thread,
                                module: f.at.module,
                                call: ci,
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
        for g in gathers.iter().filter(|g| funcs.contains(&g.function)) {
            let module = &index.modules[g.module as usize];
            plan.gathers.push(PlanGather {
                path: module.rel.clone(),
                line: module.summary.loops[g.loop_idx as usize].pos.line,
                function: graph.functions[g.function as usize].qualname.clone(),
                module: g.module,
                loop_idx: g.loop_idx,
            });
        }
        for client in clients.values() {
            let owns = funcs.iter().any(|&fid| {
                let f = &graph.functions[fid as usize];
                f.at.module == client.module
                    && index.modules[f.at.module as usize].summary.scopes[f.at.scope as usize].parent
                        == Some(client.class_scope)
            });
            if owns {
                plan.clients.push(client.clone());
                // Every blocking use of the attribute must go native: the attribute becomes async.
                let summary = &index.modules[client.module as usize].summary;
                for (ci, call) in summary.calls.iter().enumerate() {
                    let on_attribute = call
                        .callee
                        .as_ref()
                        .is_some_and(|c| c.len() >= 3 && c[0] == "self" && c[1] == client.attribute)
                        && summary.scopes[call.scope as usize].parent == Some(client.class_scope);
                    if !on_attribute {
                        continue;
                    }
                    if let Some((api, CallRewrite::Thread, why)) = self.rewrite_for(client.module, ci as u32) {
                        plan.reasons.push(format!(
                            "{}:{}: `{api}` on `self.{}` cannot go native ({}), but the attribute becomes `{}`",
                            index.modules[client.module as usize].rel,
                            call.pos.line,
                            client.attribute,
                            why.unwrap_or_default(),
                            client.to
                        ));
                    }
                }
            }
        }
        plan.files = files.into_iter().collect();
        plan.functions.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
        // Name the plan after its outermost functions: those no other planned function calls.
        let roots: Vec<&PlanFunction> = plan
            .functions
            .iter()
            .filter(|pf| {
                !funcs.iter().any(|&other| {
                    other != pf.id
                        && graph.functions[other as usize].calls.iter().any(|&ci| {
                            graph.targets[graph.functions[other as usize].at.module as usize][ci as usize]
                                == CallTarget::Repo(pf.id)
                        })
                })
            })
            .collect();
        let product: Vec<&PlanFunction> = roots.iter().copied().filter(|f| !f.test && !f.already_async).collect();
        let roots = if product.is_empty() { roots } else { product };
        let named: Vec<&PlanFunction> = if roots.is_empty() { plan.functions.iter().take(1).collect() } else { roots };
        let only_calls = named.iter().all(|f| f.already_async);
        let short: Vec<String> = named.iter().map(|pf| short_name(&pf.qualname)).collect();
        plan.id = slug(&short.join("-"));
        plan.title = format!(
            "{} {}{}",
            if only_calls { "Await blocking work in" } else { "Make" },
            short.iter().take(2).map(|s| format!("`{s}`")).collect::<Vec<_>>().join(" and "),
            if short.len() > 2 { format!(" (and {} more)", short.len() - 2) } else { String::new() }
        );
        if !only_calls {
            plan.title.push_str(" async");
        }
        if !plan.reasons.is_empty() {
            plan.status = PlanStatus::NeedsLlm;
        }
        plan
    }

    /// A method of a related class (base or derived, in the repository) with the same
    /// name that does not become async with this one.
    fn sync_override(&self, fid: FuncId, is_async: &[bool]) -> Option<String> {
        let graph = &self.model.graph;
        let index = &self.model.index;
        let f = &graph.functions[fid as usize];
        if !f.is_method || f.is_async {
            return None;
        }
        let scopes = &index.modules[f.at.module as usize].summary.scopes;
        let class = ScopeRef { module: f.at.module, scope: scopes[f.at.scope as usize].parent? };
        let hierarchy = self.hierarchy.get_or_init(|| {
            let mut bases = BTreeMap::new();
            for (mi, module) in index.modules.iter().enumerate() {
                for (si, scope) in module.summary.scopes.iter().enumerate() {
                    if scope.kind == ScopeKind::Class && !scope.bases.is_empty() {
                        let c = ScopeRef { module: mi as ModId, scope: si as u32 };
                        bases.insert(c, index.repo_bases(c));
                    }
                }
            }
            bases
        });
        let mut related: Vec<ScopeRef> = hierarchy.get(&class).cloned().unwrap_or_default();
        related.extend(hierarchy.iter().filter(|(_, bases)| bases.contains(&class)).map(|(c, _)| *c));
        graph.functions.iter().enumerate().find_map(|(gi, g)| {
            let gs = &index.modules[g.at.module as usize].summary.scopes;
            let owner = ScopeRef { module: g.at.module, scope: gs[g.at.scope as usize].parent? };
            (g.name == f.name && related.contains(&owner) && !is_async[gi] && !g.is_async).then(|| g.qualname.clone())
        })
    }

    /// A nested function decorated with `functools.wraps(...)`: a decorator's wrapper.
    fn is_wraps_wrapper(&self, fid: FuncId) -> bool {
        let f = &self.model.graph.functions[fid as usize];
        let scopes = &self.model.index.modules[f.at.module as usize].summary.scopes;
        let scope = &scopes[f.at.scope as usize];
        let nested = scope.parent.is_some_and(|p| scopes[p as usize].kind == ScopeKind::Function);
        nested
            && scope.decorators.iter().any(|d| d.iter().rev().find(|s| *s != "()").is_some_and(|last| last == "wraps"))
    }

    /// For a decorator applied to `fid` that is a repository decorator built on a
    /// `functools.wraps` wrapper: (the decorator, its wrapper).
    fn coroutine_aware(&self, fid: FuncId, decorator: &[String]) -> Option<(FuncId, FuncId)> {
        let graph = &self.model.graph;
        let index = &self.model.index;
        let f = &graph.functions[fid as usize];
        let module = &index.modules[f.at.module as usize];
        let scope = &module.summary.scopes[f.at.scope as usize];
        let mut chain = decorator.to_vec();
        while chain.last().is_some_and(|s| s == "()") {
            chain.pop();
        }
        if chain.iter().any(|s| s == "()") {
            return None;
        }
        let Value::RepoFunction(d) =
            index.resolve_chain(f.at.module, scope.parent.unwrap_or(0), &chain, scope.pos.byte)
        else {
            return None;
        };
        let d_id = graph.function_at(d)?;
        let scopes = &index.modules[d.module as usize].summary.scopes;
        let wrapper = graph.functions.iter().enumerate().find(|(gi, g)| {
            g.at.module == d.module && self.is_wraps_wrapper(*gi as FuncId) && {
                let mut parent = scopes[g.at.scope as usize].parent;
                let mut inside = false;
                while let Some(p) = parent {
                    if p == d.scope {
                        inside = true;
                        break;
                    }
                    parent = scopes[p as usize].parent;
                }
                inside
            }
        })?;
        Some((d_id, wrapper.0 as FuncId))
    }

    /// Why a function cannot simply become `async def`, when that is so.
    fn cannot_convert(&self, fid: FuncId) -> Option<String> {
        let graph = &self.model.graph;
        let f = &graph.functions[fid as usize];
        let scope = &self.model.index.modules[f.at.module as usize].summary.scopes[f.at.scope as usize];
        if f.name.starts_with("__") && f.name.ends_with("__") {
            return Some(format!("`{}` cannot be async: Python calls it synchronously", f.name));
        }
        for decorator in &scope.decorators {
            if f.in_test && decorator.len() >= 3 && decorator[0] == "pytest" && decorator[1] == "mark" {
                continue;
            }
            if self.coroutine_aware(fid, decorator).is_some() {
                continue;
            }
            let last = decorator.iter().rev().find(|s| *s != "()").map(String::as_str).unwrap_or("");
            if matches!(last, "property" | "cached_property" | "setter" | "getter" | "deleter") {
                return Some("a property cannot be awaited: it has to become an async method".to_string());
            }
            if !SAFE_DECORATORS.contains(&last) {
                let written = decorator.join(".").replace(".()", "()");
                return Some(format!(
                    "decorator `@{written}` wraps the function in sync code; it has to learn coroutine functions"
                ));
            }
        }
        None
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

fn unique_slug(base: &str, plans: &[Plan]) -> String {
    let mut candidate = base.to_string();
    let mut n = 2;
    while plans.iter().any(|p| p.id == candidate) {
        candidate = format!("{base}-{n}");
        n += 1;
    }
    candidate
}

/// Disjoint sets over function ids.
struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind { parent: (0..n).collect() }
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[ra.max(rb)] = ra.min(rb);
        }
    }
}
