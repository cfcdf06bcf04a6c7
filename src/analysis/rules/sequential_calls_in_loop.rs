//! RA105: a loop or comprehension makes independent blocking calls one after another.

use std::collections::HashSet;

use super::{Context, Finding, RuleInfo};
use crate::analysis::callgraph::{CallTarget, FuncId};
use crate::analysis::index::ModId;
use crate::analysis::summary::{LoopInfo, LoopKind};

/// ## What it does
/// Flags a `for` loop or a comprehension, in a function that is or must become
/// async, whose body calls into the async closure once per item, where the
/// iterations do not depend on each other: each call's arguments come from the
/// item, nothing computed by one iteration feeds the next, at least one call's
/// result is used (a loop of bare statements such as `f.write(line)` works by
/// ordered side effects), and the loop has no `break`, `return` or `yield`. `while` loops (retries, pagination) and loops whose
/// calls do not use the item are never flagged.
///
/// ## Why is this bad?
/// Converted naively, the loop awaits each call before starting the next, so forty
/// 50 ms requests still take two seconds. Run concurrently with a bounded
/// `asyncio.gather`, they take about as long as the slowest batch.
///
/// ## Example
/// ```python
/// def evaluate_all(cases):
///     results = []
///     for case in cases:
///         results.append(judge_case(case))
///     return results
/// ```
///
/// Use instead:
/// ```python
/// async def evaluate_all(cases, limit=8):
///     semaphore = asyncio.Semaphore(limit)
///
///     async def one(case):
///         async with semaphore:
///             return await judge_case(case)
///
///     return await asyncio.gather(*(one(case) for case in cases))
/// ```
///
/// ## Fix safety
/// `asyncio.gather` keeps the results in input order. Side effects of different
/// items (log lines, callbacks) may interleave, and when one item fails the others
/// are cancelled; the rewrite is validated by the repository's tests before it is
/// proposed.
pub struct SequentialCallsInLoop;

pub const INFO: RuleInfo = RuleInfo {
    code: "RA105",
    name: "sequential-calls-in-loop",
    summary: "A loop makes independent blocking calls one after another",
    source: "src/analysis/rules/sequential_calls_in_loop.rs",
};

pub fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    for candidate in candidates(ctx) {
        if ctx.reports(candidate.function) {
            let lp = &ctx.index.modules[candidate.module as usize].summary.loops[candidate.loop_idx as usize];
            out.push(finding(ctx, candidate.module, lp, candidate.function, &candidate.calls));
        }
    }
}

/// A loop whose iterations can run concurrently: what RA105 reports and what a
/// conversion plan turns into a bounded gather.
#[derive(Debug, Clone)]
pub struct LoopCandidate {
    pub module: ModId,
    /// Index into the module's loops.
    pub loop_idx: u32,
    /// The function the loop is in.
    pub function: FuncId,
    /// The calls into the closure (or awaited calls) made once per item.
    pub calls: Vec<u32>,
}

/// Every loop or comprehension, in a function that is or must become async, whose
/// independent iterations each call into the closure.
pub fn candidates(ctx: &Context<'_>) -> Vec<LoopCandidate> {
    let graph = ctx.graph;
    let mut found = Vec::new();
    for (mi, module) in ctx.index.modules.iter().enumerate() {
        let m = mi as ModId;
        let summary = &module.summary;
        if summary.loops.is_empty() {
            continue;
        }
        // Candidate calls per loop: calls into the closure (or awaited calls in async code).
        let mut per_loop: Vec<Vec<u32>> = vec![Vec::new(); summary.loops.len()];
        for (ci, call) in summary.calls.iter().enumerate() {
            let (Some(l), Some(f)) = (call.loop_idx, graph.callers[mi][ci]) else { continue };
            if call.in_lambda {
                continue;
            }
            let func = &graph.functions[f as usize];
            let into_closure = match &graph.targets[mi][ci] {
                // In async code too: once the call is awaited (RA103), the loop still runs one at a time.
                CallTarget::Blocking(_) => true,
                CallTarget::Repo(g) => {
                    let callee = &graph.functions[*g as usize];
                    graph.closure[*g as usize].is_some() || (callee.is_async && call.awaited)
                }
                _ => func.is_async && call.awaited,
            };
            if into_closure {
                per_loop[l as usize].push(ci as u32);
            }
        }
        for (li, calls) in per_loop.into_iter().enumerate() {
            if calls.is_empty() {
                continue;
            }
            let lp = &summary.loops[li];
            let f = graph.callers[mi][calls[0] as usize].expect("candidate calls are in functions");
            let func = &graph.functions[f as usize];
            if !(func.is_async || graph.closure[f as usize].is_some()) {
                continue;
            }
            if !independent(lp, calls.iter().map(|&ci| &summary.calls[ci as usize])) {
                continue;
            }
            // Gathering is about results: a loop whose calls are all bare statements
            // (`f.write(line)`, `register(name)`) works by side effects, and those
            // usually depend on running in order.
            if !calls.iter().any(|&ci| summary.calls[ci as usize].result_used) {
                continue;
            }
            found.push(LoopCandidate { module: m, loop_idx: li as u32, function: f, calls });
        }
    }
    found
}

/// Whether every candidate call uses the item and reads nothing carried over from an earlier iteration.
fn independent<'a>(lp: &LoopInfo, calls: impl Iterator<Item = &'a crate::analysis::summary::CallSite>) -> bool {
    if matches!(lp.kind, LoopKind::While | LoopKind::AsyncFor) || lp.has_break || lp.has_return || lp.has_yield {
        return false;
    }
    let targets: HashSet<&str> = lp.targets.iter().map(String::as_str).collect();
    for call in calls {
        let at = call.pos.byte;
        let fresh = |name: &str| targets.contains(name) || lp.assigned.iter().any(|(n, b)| n == name && *b <= at);
        let carried = |name: &str| !fresh(name) && lp.assigned.iter().any(|(n, _)| n == name);
        if call.arg_names.iter().any(|n| carried(n)) {
            return false;
        }
        if !call.arg_names.iter().any(|n| fresh(n)) {
            return false;
        }
    }
    true
}

fn finding(ctx: &Context<'_>, m: ModId, lp: &LoopInfo, f: FuncId, calls: &[u32]) -> Finding {
    let graph = ctx.graph;
    let first = calls[0];
    let (callee, api, path) = match &graph.targets[m as usize][first as usize] {
        CallTarget::Repo(g) => {
            let mut path = vec![graph.functions[f as usize].qualname.clone()];
            path.extend(graph.path(&graph.closure, *g));
            (
                graph.functions[*g as usize].qualname.clone(),
                graph.terminal_api(&graph.closure, *g).map(|a| a.name.clone()),
                path,
            )
        }
        CallTarget::Blocking(a) => (a.name.clone(), Some(a.name.clone()), Vec::new()),
        _ => (ctx.callee_text(m, first), None, Vec::new()),
    };
    let what = if lp.kind == LoopKind::Comprehension { "comprehension" } else { "loop" };
    let more = if calls.len() > 1 {
        format!(" (and {} more call{})", calls.len() - 1, if calls.len() > 2 { "s" } else { "" })
    } else {
        String::new()
    };
    let message = format!(
        "{what} over `{}` calls `{callee}`{more} once per item, one after another; the iterations are independent: run them concurrently with a bounded `asyncio.gather` (results keep their order)",
        lp.iter_text
    );
    let mut finding = ctx.finding(&INFO, m, lp.pos, Some(f), message);
    finding.api = api;
    finding.call_path = path;
    finding
}
