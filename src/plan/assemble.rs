//! One plan from a group of the async set: its functions (names, wrappers, what
//! stops the rules), its calls (native, threads, offloaded helpers), its gathers
//! and clients, and its name.

use std::collections::BTreeSet;

use super::closure::{AsyncSet, CallTable};
use super::group::Clients;
use super::{
    CallRewrite, Plan, PlanCall, PlanCallGroup, PlanDecorator, PlanFunction, PlanGather, PlanKeptSync, PlanStatus,
    PlanThrottle, PlanWorkQueue, Planner, Twin, short_name, slug,
};
use crate::analysis::callgraph::{CallTarget, FuncId};
use crate::analysis::index::ModId;
use crate::analysis::loops::{LoopCandidate, Throttled};
use crate::analysis::rules::independent_consecutive_calls::CallGroup;
use crate::analysis::rules::work_queue_loop::QueueLoop;
use crate::analysis::summary::{CallSite, LoopKind};

/// Why a blocking call in a lambda of a `for` header runs in a thread.
pub const LAMBDA_IN_HEADER: &str = "called by a lambda that the `for` header iterates (`iter(lambda: ...)`): the loop becomes `async for` over `iterate_in_thread`, which iterates in a thread";

/// What a plan is made from besides its functions.
pub struct Context<'a> {
    pub set: &'a AsyncSet,
    /// Hierarchy members that only gain an async twin.
    pub twins: &'a AsyncSet,
    pub calls: &'a CallTable,
    pub clients: &'a Clients,
    pub gathers: &'a [LoopCandidate],
    pub throttles: &'a [Throttled],
    pub call_groups: &'a [CallGroup],
    pub work_queues: &'a [QueueLoop],
}

impl Planner<'_, '_> {
    pub(super) fn plan_for(&self, funcs: &[FuncId], cx: &Context<'_>) -> Plan {
        let mut plan = Plan {
            id: String::new(),
            title: String::new(),
            status: PlanStatus::Planned,
            reasons: Vec::new(),
            functions: Vec::new(),
            offloaded: Vec::new(),
            kept_sync: Vec::new(),
            calls: Vec::new(),
            gathers: Vec::new(),
            call_groups: Vec::new(),
            throttles: Vec::new(),
            work_queues: Vec::new(),
            clients: Vec::new(),
            decorators: Vec::new(),
            context_managers: Vec::new(),
            sequential: Vec::new(),
            files: Vec::new(),
            offloaded_ids: BTreeSet::new(),
        };
        for &fid in funcs {
            if cx.twins.contains(fid) {
                self.add_twin(&mut plan, fid);
                continue;
            }
            self.add_function(&mut plan, fid, cx);
            self.add_calls(&mut plan, fid, cx.set);
        }
        self.add_gathers(&mut plan, funcs, cx.gathers);
        self.add_throttles(&mut plan, funcs, cx.throttles);
        self.add_call_groups(&mut plan, funcs, cx.call_groups);
        self.add_work_queues(&mut plan, funcs, cx.work_queues);
        self.add_clients(&mut plan, funcs, cx.clients);
        self.add_context_managers(&mut plan, funcs, cx);
        let files: BTreeSet<&String> = plan
            .functions
            .iter()
            .map(|f| &f.path)
            .chain(plan.decorators.iter().map(|d| &d.path))
            .chain(plan.context_managers.iter().map(|c| &c.path))
            .collect();
        plan.files = files.into_iter().cloned().collect();
        self.name_plan(&mut plan, funcs);
        if !plan.reasons.is_empty() {
            plan.status = PlanStatus::NeedsLlm;
        }
        plan
    }

    /// A function of the plan: its async name and wrapper, and what stops the rules
    /// from converting it (a name taken, a decorator, a sync override).
    fn add_function(&self, plan: &mut Plan, fid: FuncId, cx: &Context<'_>) {
        let graph = &self.model.graph;
        let index = &self.model.index;
        let f = &graph.functions[fid as usize];
        let module = &index.modules[f.at.module as usize];
        let scope = &module.summary.scopes[f.at.scope as usize];
        let keeps_name = !f.is_async && self.keeps_sync_wrapper(fid, cx.set, cx.calls);
        let async_name = if keeps_name { self.settings.async_name(&f.name) } else { f.name.to_string() };
        plan.functions.push(PlanFunction {
            qualname: f.qualname.to_string(),
            path: module.rel.clone(),
            line: scope.pos.line,
            async_name: async_name.clone(),
            wrapper: keeps_name,
            generator: f.is_generator,
            test: f.in_test && !f.is_async,
            already_async: f.is_async,
            twin: None,
            property: self.property_kind(fid),
            sync_shell: !f.is_async && self.is_shell(fid),
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
        if let Some(other) = self.sync_override(fid, cx.set) {
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
                plan.decorators.push(PlanDecorator {
                    decorator: graph.functions[d as usize].qualname.to_string(),
                    wrapper: wf.qualname.to_string(),
                    path: wm.rel.clone(),
                    line: wm.summary.scopes[wf.at.scope as usize].pos.line,
                    wrapper_id: w,
                });
            }
        }
    }

    /// A hierarchy member that stays as it is and gains an async twin returning its
    /// result: in a thread when it blocks (a test double the rules do not convert).
    fn add_twin(&self, plan: &mut Plan, fid: FuncId) {
        let graph = &self.model.graph;
        let f = &graph.functions[fid as usize];
        let module = &self.model.index.modules[f.at.module as usize];
        let scope = &module.summary.scopes[f.at.scope as usize];
        let async_name = self.settings.async_name(&f.name);
        let twin = if graph.closure[fid as usize].is_some() { Twin::Thread } else { Twin::Direct };
        plan.functions.push(PlanFunction {
            qualname: f.qualname.to_string(),
            path: module.rel.clone(),
            line: scope.pos.line,
            async_name: async_name.clone(),
            wrapper: false,
            generator: f.is_generator,
            test: false,
            already_async: false,
            twin: Some(twin),
            property: self.property_kind(fid),
            sync_shell: false,
            id: fid,
        });
        if let Some(parent) = scope.parent
            && module.summary.scopes[parent as usize].bindings.iter().any(|b| b.name == async_name)
        {
            plan.reasons.push(format!("{}: the name `{async_name}` for its async twin is already taken", f.qualname));
        }
        if f.is_generator {
            plan.reasons.push(format!("{}: a generator's async twin would have to be an async generator", f.qualname));
        }
    }

    /// The plan function's calls: blocking ones with their rewrite, sync helpers run
    /// in a thread, and calls the rules cannot convert (lambdas, builtins calling back).
    fn add_calls(&self, plan: &mut Plan, fid: FuncId, set: &AsyncSet) {
        let graph = &self.model.graph;
        let index = &self.model.index;
        let f = &graph.functions[fid as usize];
        let module = &index.modules[f.at.module as usize];
        for &ci in &f.calls {
            let call = self.call(f.at.module, ci);
            match &graph.targets[f.at.module as usize][ci as usize] {
                CallTarget::Repo(g) if call.in_lambda && set.contains(*g) && !self.is_shell(*g) => {
                    plan.reasons.push(format!(
                        "{}: a lambda calls `{}`, which becomes async (line {})",
                        f.qualname, graph.functions[*g as usize].qualname, call.pos.line
                    ))
                }
                CallTarget::Repo(g) if call.via.is_some() && set.contains(*g) && !self.is_shell(*g) => {
                    plan.reasons.push(format!(
                        "{}: `{}` is passed to a builtin that calls it synchronously (line {})",
                        f.qualname, graph.functions[*g as usize].qualname, call.pos.line
                    ))
                }
                CallTarget::Repo(g)
                    if graph.closure[*g as usize].is_some() && (!set.contains(*g) || self.is_shell(*g)) =>
                {
                    let callee = &graph.functions[*g as usize];
                    if plan.offloaded_ids.insert(*g) {
                        plan.offloaded.push(callee.qualname.to_string());
                        if let Some(decorator) = self.cached_by(*g) {
                            plan.kept_sync.push(PlanKeptSync {
                                function: callee.qualname.to_string(),
                                decorator,
                                why: "a cache of its async version would hold coroutine objects, which a second \
                                      caller would get already awaited; it stays sync and is awaited through a thread \
                                      (`to_thread_cached`: concurrent calls with the same arguments take turns, so \
                                      the later ones hit its cache as before)"
                                    .to_string(),
                                id: *g,
                            });
                        }
                    }
                }
                CallTarget::Blocking(_) if call.in_lambda => match self.rewrite_for(f.at.module, ci) {
                    Some((api, _, _)) if self.in_for_header(f.at.module, call) => plan.calls.push(PlanCall {
                        path: module.rel.clone(),
                        line: call.pos.line,
                        function: f.qualname.to_string(),
                        api,
                        rewrite: CallRewrite::Thread,
                        why_thread: Some(LAMBDA_IN_HEADER.to_string()),
                        module: f.at.module,
                        call: ci,
                    }),
                    Some(_) => plan.reasons.push(format!(
                        "{}: a lambda makes a blocking call (line {}) outside a `for` header, where whatever calls it may do so from sync code at any time",
                        f.qualname, call.pos.line
                    )),
                    None => {}
                },
                CallTarget::Blocking(_) => {
                    if let Some((api, rewrite, why_thread)) = self.rewrite_for(f.at.module, ci) {
                        plan.calls.push(PlanCall {
                            path: module.rel.clone(),
                            line: call.pos.line,
                            function: f.qualname.to_string(),
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

    /// Whether a call is in the iterable of a `for` statement of its own scope.
    fn in_for_header(&self, m: ModId, call: &CallSite) -> bool {
        self.model.index.modules[m as usize].summary.loops.iter().any(|lp| {
            lp.kind == LoopKind::For
                && lp.scope == call.scope
                && lp.iter_range.0 <= call.pos.byte
                && call.end_byte <= lp.iter_range.1
        })
    }

    /// The planned functions' loops that become bounded gathers.
    fn add_gathers(&self, plan: &mut Plan, funcs: &[FuncId], gathers: &[LoopCandidate]) {
        let graph = &self.model.graph;
        let index = &self.model.index;
        for g in gathers.iter().filter(|g| funcs.contains(&g.function)) {
            let module = &index.modules[g.module as usize];
            plan.gathers.push(PlanGather {
                path: module.rel.clone(),
                line: module.summary.loops[g.loop_idx as usize].pos.line,
                function: graph.functions[g.function as usize].qualname.to_string(),
                module: g.module,
                loop_idx: g.loop_idx,
            });
        }
    }

    /// The planned functions' groups of consecutive independent reads: one gather each.
    fn add_call_groups(&self, plan: &mut Plan, funcs: &[FuncId], groups: &[CallGroup]) {
        let graph = &self.model.graph;
        let index = &self.model.index;
        for g in groups.iter().filter(|g| funcs.contains(&g.function)) {
            let module = &index.modules[g.module as usize];
            let site = |ci: u32| &module.summary.calls[ci as usize];
            let calls = g
                .calls
                .iter()
                .map(|&ci| {
                    let callee = site(ci).callee.as_ref().map(crate::analysis::index::chain_text).unwrap_or_default();
                    format!("`{callee}` (line {})", site(ci).pos.line)
                })
                .collect();
            plan.call_groups.push(PlanCallGroup {
                path: module.rel.clone(),
                line: site(g.calls[0]).pos.line,
                function: graph.functions[g.function as usize].qualname.to_string(),
                calls,
                module: g.module,
                statements: g.statements.clone(),
                call_ids: g.calls.clone(),
            });
        }
    }

    /// The planned functions' work queues: walked by levels, unless the draft finds
    /// that this would not keep what the loop does (then it says why).
    fn add_work_queues(&self, plan: &mut Plan, funcs: &[FuncId], queues: &[QueueLoop]) {
        let graph = &self.model.graph;
        let index = &self.model.index;
        for q in queues.iter().filter(|q| funcs.contains(&q.function)) {
            let module = &index.modules[q.module as usize];
            plan.work_queues.push(PlanWorkQueue {
                path: module.rel.clone(),
                line: module.summary.loops[q.loop_idx as usize].pos.line,
                function: graph.functions[q.function as usize].qualname.to_string(),
                does: format!(
                    "walked by levels: each level's requests awaited together (at most {} at once), its items then \
                     handled in queue order with the de-dup and the limit, fetching no item the loop would not reach",
                    self.settings.concurrency
                ),
                module: q.module,
                loop_idx: q.loop_idx,
                pop: q.pop,
                io: q.io,
            });
        }
    }

    /// The planned functions' loops that sleep on every item: they stay sequential,
    /// and the plan says what their sleep becomes.
    fn add_throttles(&self, plan: &mut Plan, funcs: &[FuncId], throttles: &[Throttled]) {
        let graph = &self.model.graph;
        let index = &self.model.index;
        for t in throttles.iter().filter(|t| funcs.contains(&t.function)) {
            let module = &index.modules[t.module as usize];
            let becomes = match self.rewrite_for(t.sleep.0, t.sleep.1) {
                Some((_, rewrite, _)) => rewrite.description().plan.to_string(),
                // Already async (`await asyncio.sleep`): it stays as it is.
                None => "already async, unchanged".to_string(),
            };
            let (interval, does) = match self.spacing(t) {
                Ok(interval) => {
                    let does = format!(
                        "rate-limited: items start at least `{interval}` s apart, at most {} at once",
                        self.settings.concurrency
                    );
                    (Some(interval), does)
                }
                Err(why) => (None, format!("kept sequential ({why}); its sleep becomes `{becomes}`")),
            };
            plan.throttles.push(PlanThrottle {
                path: module.rel.clone(),
                line: module.summary.loops[t.loop_idx as usize].pos.line,
                function: graph.functions[t.function as usize].qualname.to_string(),
                sleep: t.sleep_text(index),
                via: t.via.map(|g| graph.functions[g as usize].qualname.to_string()),
                becomes,
                interval,
                does,
                sleep_call: t.sleep,
                module: t.module,
                loop_idx: t.loop_idx,
            });
        }
    }

    /// The interval a throttled loop's items can start apart, or why its spacing
    /// cannot be kept by starting them concurrently.
    fn spacing(&self, t: &Throttled) -> Result<String, String> {
        let index = &self.model.index;
        if let Some(via) = t.via {
            return Err(format!(
                "the sleep is in `{}`, which paces every call of it, wherever it comes from",
                self.model.graph.functions[via as usize].qualname
            ));
        }
        let lp = &index.modules[t.module as usize].summary.loops[t.loop_idx as usize];
        if lp.kind != LoopKind::For {
            return Err("only a `for` loop's items can be started apart".into());
        }
        let Some(arg) = t.sleep_arg(index) else {
            return Err("the interval is an expression, which may depend on the item".into());
        };
        if t.seconds(index).is_some() {
            return Ok(arg.to_string());
        }
        if arg.contains('.') {
            return Err(format!("the interval `{arg}` is an attribute, which the loop's calls may change"));
        }
        let bound_in_loop =
            lp.targets.iter().any(|n| n.as_str() == arg) || lp.assigned.iter().any(|(n, _)| n.as_str() == arg);
        if bound_in_loop {
            return Err(format!("the interval `{arg}` is assigned in the loop: it depends on the item"));
        }
        Ok(arg.to_string())
    }

    /// Client attributes of the plan's classes; every blocking use of one must go
    /// native, since the attribute becomes async.
    fn add_clients(&self, plan: &mut Plan, funcs: &[FuncId], clients: &Clients) {
        let graph = &self.model.graph;
        let index = &self.model.index;
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
    }

    /// Classes the plan's functions construct whose `__enter__` or `__exit__`
    /// blocks: they gain `__aenter__`/`__aexit__` for `async with` in converted code.
    /// One that has `__aenter__` already, or whose client attribute the plan
    /// converts (that gives it its own), is left alone.
    fn add_context_managers(&self, plan: &mut Plan, funcs: &[FuncId], cx: &Context<'_>) {
        let graph = &self.model.graph;
        let index = &self.model.index;
        for &fid in funcs.iter().filter(|&&f| !cx.twins.contains(f)) {
            let f = &graph.functions[fid as usize];
            for &ci in &f.calls {
                let CallTarget::Repo(init) = graph.targets[f.at.module as usize][ci as usize] else { continue };
                let init = &graph.functions[init as usize];
                let scopes = &index.modules[init.at.module as usize].summary.scopes;
                let Some(class) = scopes[init.at.scope as usize].parent.filter(|_| init.name == "__init__") else {
                    continue;
                };
                let method = |name: &str| {
                    graph.functions.iter().position(|g| {
                        g.at.module == init.at.module
                            && g.name == name
                            && scopes[g.at.scope as usize].parent == Some(class)
                    })
                };
                let blocks = |name: &str| method(name).is_some_and(|g| graph.closure[g].is_some());
                let (enter_blocks, exit_blocks) = (blocks("__enter__"), blocks("__exit__"));
                let owned = cx.clients.keys().any(|(m, c, _)| *m == init.at.module && *c == class);
                if !(enter_blocks || exit_blocks)
                    || method("__enter__").is_none()
                    || method("__exit__").is_none()
                    || method("__aenter__").is_some()
                    || owned
                    || plan.context_managers.iter().any(|c| c.module == init.at.module && c.class_scope == class)
                {
                    continue;
                }
                let module = &index.modules[init.at.module as usize];
                plan.context_managers.push(super::PlanContextManager {
                    class: module.qualname(class),
                    path: module.rel.clone(),
                    line: scopes[class as usize].pos.line,
                    enter_blocks,
                    exit_blocks,
                    module: init.at.module,
                    class_scope: class,
                });
            }
        }
    }

    /// Name the plan after its outermost functions: those no other planned function calls.
    fn name_plan(&self, plan: &mut Plan, funcs: &[FuncId]) {
        let graph = &self.model.graph;
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
        let product: Vec<&PlanFunction> =
            roots.iter().copied().filter(|f| !f.test && !f.already_async && f.twin.is_none()).collect();
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
    }
}
