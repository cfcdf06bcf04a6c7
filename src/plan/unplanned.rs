//! Why nothing was planned: the functions of the blocking closure that were seen,
//! and why none of them started a plan, for `propose --format json`.

use serde::Serialize;

use super::concurrency::ConcurrentWork;
use super::{CallRewrite, Planner, Settings, async_set, gathered_loops};
use crate::analysis::Model;
use crate::analysis::callgraph::{CallTarget, FuncId};

/// Why a repository got no plan.
#[derive(Debug, Clone, Serialize)]
pub struct NothingPlanned {
    /// In one sentence.
    pub reason: String,
    /// The library functions of the blocking closure, each with why it started no plan.
    pub functions: Vec<Unplanned>,
    /// How many test functions are in the blocking closure (tests never start a plan).
    pub tests: usize,
}

/// A function of the blocking closure that did not start a plan.
#[derive(Debug, Clone, Serialize)]
pub struct Unplanned {
    pub qualname: String,
    pub path: String,
    pub line: u32,
    pub why: String,
}

/// Why the analysis of `model` gives no plan (meant for when [`super::build`] gave none).
pub fn nothing_planned(model: &Model<'_>, settings: &Settings) -> NothingPlanned {
    let gathers = gathered_loops(model);
    let (planner, _, _, _) = async_set(model, settings, &gathers);
    let work = planner.concurrent_work(&gathers);
    let graph = &model.graph;
    let in_closure = || (0..graph.functions.len() as FuncId).filter(|&f| graph.closure[f as usize].is_some());
    let tests = in_closure().filter(|&f| graph.functions[f as usize].in_test).count();
    let functions: Vec<Unplanned> =
        in_closure().filter(|&f| !graph.functions[f as usize].in_test).map(|f| planner.unplanned(f, &work)).collect();
    let reason = match (functions.len(), tests) {
        (0, 0) => "no function does blocking I/O that async code would call".to_string(),
        (0, _) => "only test code does blocking I/O; tests follow converted code but never start a plan".to_string(),
        (n, _) => format!(
            "none of the {n} function{} of the blocking closure has a native rewrite or blocking work that could run concurrently: each blocks only in ways a thread handles, so it stays sync (async callers would run it in a thread)",
            if n == 1 { "" } else { "s" }
        ),
    };
    NothingPlanned { reason, functions, tests }
}

impl Planner<'_, '_> {
    /// A closure function that started no plan, and why.
    fn unplanned(&self, f: FuncId, work: &[ConcurrentWork]) -> Unplanned {
        let graph = &self.model.graph;
        let func = &graph.functions[f as usize];
        let module = &self.model.index.modules[func.at.module as usize];
        let why = if self.is_wraps_wrapper(f) {
            "a decorator's `functools.wraps` wrapper: it gains an async twin only when it decorates a function that becomes async".to_string()
        } else {
            self.why_not_seeded(f, work)
        };
        Unplanned {
            qualname: func.qualname.to_string(),
            path: module.rel.clone(),
            line: module.summary.scopes[func.at.scope as usize].pos.line,
            why,
        }
    }

    /// What a candidate blocks on, and why its concurrent work (if any) did not seed it.
    fn why_not_seeded(&self, f: FuncId, work: &[ConcurrentWork]) -> String {
        let graph = &self.model.graph;
        let func = &graph.functions[f as usize];
        let threads = self.thread_calls(f);
        let mut callees: Vec<String> = Vec::new();
        for &ci in &func.calls {
            if let CallTarget::Repo(g) = graph.targets[func.at.module as usize][ci as usize]
                && graph.closure[g as usize].is_some()
            {
                let name = format!("`{}`", graph.functions[g as usize].qualname);
                if !callees.contains(&name) {
                    callees.push(name);
                }
            }
        }
        let mut parts = Vec::new();
        if !threads.is_empty() {
            parts.push(format!("its blocking calls only have the thread strategy: {}", threads.join(", ")));
        }
        if !callees.is_empty() {
            let stay = if callees.len() == 1 { "stays" } else { "stay" };
            parts.push(format!("it calls {}, which {stay} sync", callees.join(", ")));
        }
        let refused: Vec<String> =
            work.iter().filter(|w| w.function == f).filter_map(|w| self.concurrency_seed(w).err()).collect();
        if refused.is_empty() {
            parts.push("nothing in it runs concurrently".to_string());
        } else {
            parts.extend(refused);
        }
        parts.join("; ")
    }

    /// The blocking calls `f` makes itself that run in a thread (no native rewrite),
    /// as "`api`", or "`api` (why not natively)".
    fn thread_calls(&self, f: FuncId) -> Vec<String> {
        let func = &self.model.graph.functions[f as usize];
        func.calls
            .iter()
            .filter_map(|&ci| match self.rewrite_for(func.at.module, ci) {
                Some((api, CallRewrite::Thread, why)) => {
                    Some(why.map_or_else(|| format!("`{api}`"), |why| format!("`{api}` ({why})")))
                }
                _ => None,
            })
            .collect()
    }
}
