//! RA105: a loop or comprehension makes independent blocking calls one after another.

use super::{Context, Finding, RuleInfo};
use crate::analysis::callgraph::CallTarget;
use crate::analysis::loops::{self, LoopCandidate};
use crate::analysis::summary::{LoopInfo, LoopKind};

/// ## What it does
/// Flags a `for` loop or a comprehension, in a function that is or must become
/// async, whose body calls into the async closure once per item, where the
/// iterations do not depend on each other: each call's arguments come from the
/// item; nothing one iteration writes (a name, an attribute such as
/// `self.offset`, an entry of a dict) is read by the next before its last call,
/// directly or through other variables (`params = {"cursor": cursor}`); nothing
/// the loop assigns is read after it (the last item's value); at least one
/// call's result is used (a loop of bare statements such as `f.write(line)` works
/// by ordered side effects); and the loop has no `break`, `return` or `yield`.
/// Accumulating results (`results.append(...)`, `out[key] = value`, `total += n`)
/// is no dependence, and neither is a set or dict the loop fills to skip items it
/// has seen (`if key in seen: continue` ... `seen.add(key)`) when the check and the
/// `add` come before the first call. `while` loops (retries, pagination), loops
/// whose calls do not use the item, and loops that sleep on every item (RA109) are
/// never flagged.
///
/// A loop that makes no such call itself but runs inner loops that do (each
/// directory of a walk uploads its files, each account downloads its messages) is
/// judged the same way, over the calls of its inner loops, whose targets count as
/// bound by the item: an inner loop's own state (`done = 0` ... `done += 1`) is no
/// dependence when the outer item sets it afresh before the inner loop reads it.
/// The conversion gathers the inner loops; the outer one is only reported.
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
    for candidate in loops::candidates(ctx.index, ctx.graph) {
        if ctx.reports(candidate.function) {
            let lp = &ctx.index.modules[candidate.module as usize].summary.loops[candidate.loop_idx as usize];
            out.push(finding(ctx, &candidate, lp));
        }
    }
}

fn finding(ctx: &Context<'_>, candidate: &LoopCandidate, lp: &LoopInfo) -> Finding {
    let (m, f, calls) = (candidate.module, candidate.function, &candidate.calls);
    let graph = ctx.graph;
    let first = calls[0];
    let (callee, api, path) = match &graph.targets[m as usize][first as usize] {
        CallTarget::Repo(g) => {
            let mut path = vec![graph.functions[f as usize].qualname.to_string()];
            path.extend(graph.path(&graph.closure, *g));
            (
                graph.functions[*g as usize].qualname.to_string(),
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
    let calls_text = if candidate.nested {
        format!("runs an inner loop calling `{callee}`{more} for each item")
    } else {
        format!("calls `{callee}`{more} once per item")
    };
    let mut message = format!(
        "{what} over `{}` {calls_text}, one after another; the iterations are independent: run them concurrently with a bounded `asyncio.gather` (results keep their order)",
        lp.iter_text
    );
    if let Some(g) = candidate.limited_by {
        message.push_str(&format!(
            "; every item passes through the rate limit of `{}` (RA109): the gather must keep its spacing",
            graph.functions[g as usize].qualname
        ));
    }
    for seen in &candidate.dedup {
        message
            .push_str(&format!("; `{seen}` de-duplicates items, checked before the call, so it stays in input order"));
    }
    let mut finding = ctx.finding(&INFO, m, lp.pos, Some(f), message);
    finding.api = api;
    finding.call_path = path;
    finding
}
