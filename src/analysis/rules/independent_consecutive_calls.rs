//! RA111: consecutive statements wait on independent reads one after another.

use rustc_hash::FxHashSet;

use super::{Context, Finding, RuleInfo};
use crate::analysis::callgraph::{CallGraph, CallTarget, FuncId};
use crate::analysis::effects::{self, Effects};
use crate::analysis::flow::{DataFlow, Statement, overlap};
use crate::analysis::index::{Index, ModId};
use crate::analysis::loops;

/// ## What it does
/// Flags two or more consecutive assignment statements of one statement list (a
/// function body, one branch of an `if`, one loop body; nothing else in between),
/// in a function that is or must become async, that each wait on exactly one I/O
/// call (a call into the async closure, or an awaited call) and use its result,
/// when the calls are independent:
///
/// - no statement reads a name an earlier one of the group assigns, assigns a
///   name an earlier one reads, or assigns the same name (`token = login()` then
///   `data = get(token)` is a chain, not a group); names are compared as dotted
///   chains, so `self.user = ...` does not conflict with reading `self.api`;
/// - every call only reads, by the catalog: an HTTP `GET`, `HEAD` or `OPTIONS`, an
///   LLM call that generates, embeds or lists, or a repository function whose
///   every I/O call, down the call graph, is one of those. Writes (`POST`, `PUT`,
///   `DELETE`, file writes, databases, subprocesses, sleeps) depend on their order
///   when they act on one resource, which the analysis cannot see, so a group
///   never holds one; bare call statements (`f.write(a)`) never join a group either;
/// - no call runs only under a condition (`cached or fetch(u)`, `fetch(u) if c else None`)
///   or in a comprehension of the statement;
/// - the calls are not those of a loop RA105 already reports: its bounded gather
///   over the items already runs them concurrently.
///
/// In async code, consecutive awaited calls count the same way: an awaited call of
/// the native async replacement of a catalog read (`await client.get(url)` on an
/// `httpx.AsyncClient`) or of an async function that only reads. The finding is
/// reported once, at the first call, naming every call of the group and its line.
///
/// ## Why is this bad?
/// Each call waits for the previous one although none needs the other's result:
/// three 150 ms requests take 450 ms where 150 ms would do.
///
/// ## Example
/// ```python
/// def profile(api, user_id):
///     user = api.get_user(user_id)
///     teams = api.get_teams(user_id)
///     keys = api.get_keys(user_id)
///     return user, teams, keys
/// ```
///
/// Use instead:
/// ```python
/// async def profile(api, user_id):
///     user, teams, keys = await asyncio.gather(
///         api.get_user(user_id), api.get_teams(user_id), api.get_keys(user_id)
///     )
///     return user, teams, keys
/// ```
/// On Python 3.11 and later an `asyncio.TaskGroup` does the same and cancels the
/// other calls as soon as one fails.
///
/// ## Fix safety
/// The calls' arguments are still evaluated in order, and results are assigned
/// once all have arrived. When one call fails, `asyncio.gather` raises its error
/// while the others keep running (a `TaskGroup` cancels them), and a call that
/// used to be skipped because an earlier one raised is now made.
pub struct IndependentConsecutiveCalls;

pub const INFO: RuleInfo = RuleInfo {
    code: "RA111",
    name: "independent-consecutive-calls",
    summary: "Consecutive statements wait on independent reads one after another",
    source: "src/analysis/rules/independent_consecutive_calls.rs",
};

/// A statement of a group: the statement and its one I/O call.
struct Member<'s> {
    statement: &'s Statement,
    call: u32,
    function: FuncId,
}

/// A group of two or more consecutive independent reads (what RA111 reports), for
/// the planner to turn into one gather.
#[derive(Debug, Clone)]
pub struct CallGroup {
    pub module: ModId,
    pub function: FuncId,
    /// Each statement's byte range, in order.
    pub statements: Vec<(u32, u32)>,
    /// Each statement's one I/O call, in order.
    pub calls: Vec<u32>,
}

pub fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    for group in groups(ctx.index, ctx.graph, &|f| ctx.reports(f)) {
        report(ctx, &group, out);
    }
}

/// Every group of consecutive independent reads in functions `include` accepts.
pub fn groups(index: &Index<'_>, graph: &CallGraph, include: &dyn Fn(FuncId) -> bool) -> Vec<CallGroup> {
    let gathered: FxHashSet<(ModId, u32)> = loops::candidates(index, graph)
        .into_iter()
        .flat_map(|c| c.calls.into_iter().map(move |ci| (c.module, ci)))
        .collect();
    let mut effects = Effects::new(index, graph);
    let mut found = Vec::new();
    for (mi, module) in index.modules.iter().enumerate() {
        let m = mi as ModId;
        let flow = &module.summary.flow;
        if flow.statements.len() < 2 {
            continue;
        }
        let mut order: Vec<&Statement> = flow.statements.iter().collect();
        order.sort_by_key(|s| (s.block, s.ordinal));
        let mut group: Vec<Member<'_>> = Vec::new();
        let finish = |group: &[Member<'_>], found: &mut Vec<CallGroup>| {
            if let [first, _, ..] = group {
                found.push(CallGroup {
                    module: m,
                    function: first.function,
                    statements: group.iter().map(|g| (g.statement.start_byte, g.statement.end_byte)).collect(),
                    calls: group.iter().map(|g| g.call).collect(),
                });
            }
        };
        for s in order {
            let member = member(index, graph, include, &mut effects, &gathered, m, s);
            let follows = group
                .last()
                .is_some_and(|last| last.statement.block == s.block && last.statement.ordinal + 1 == s.ordinal);
            match member {
                Some(next) if follows && independent(flow, &group, s) => group.push(next),
                next => {
                    finish(&group, &mut found);
                    group = next.into_iter().collect();
                }
            }
        }
        finish(&group, &mut found);
    }
    found
}

/// The statement as a member of a group: one I/O call that only reads, used,
/// unconditional, in a function that is or must become async and is included.
fn member<'s>(
    index: &Index<'_>,
    graph: &CallGraph,
    include: &dyn Fn(FuncId) -> bool,
    effects: &mut Effects<'_>,
    gathered: &FxHashSet<(ModId, u32)>,
    m: ModId,
    s: &'s Statement,
) -> Option<Member<'s>> {
    if s.conditional {
        return None;
    }
    let summary = &index.modules[m as usize].summary;
    let mut io = (s.first_call..s.end_call).filter(|&ci| effects::waits(index, graph, m, ci));
    let call = io.next()?;
    if io.next().is_some() {
        return None;
    }
    // A call in a comprehension of the statement runs once per item: RA105's business.
    let in_comprehension =
        summary.calls[call as usize].loop_idx.is_some_and(|l| summary.loops[l as usize].pos.byte >= s.start_byte);
    if in_comprehension || gathered.contains(&(m, call)) {
        return None;
    }
    let function = graph.caller(m, call)?;
    let func = &graph.functions[function as usize];
    if !(func.is_async || graph.closure[function as usize].is_some()) || !include(function) {
        return None;
    }
    effects.call_reads_only(m, call).then_some(Member { statement: s, call, function })
}

/// Whether `s` neither reads nor assigns what the group's statements assign, nor assigns what they read.
fn independent(flow: &DataFlow, group: &[Member<'_>], s: &Statement) -> bool {
    let meets = |a: &[u32], b: &[u32]| a.iter().any(|&x| b.iter().any(|&y| overlap(flow.name(x), flow.name(y))));
    group.iter().all(|g| {
        let earlier = g.statement;
        !meets(s.reads(flow), earlier.writes(flow))
            && !meets(s.writes(flow), earlier.reads(flow))
            && !meets(s.writes(flow), earlier.writes(flow))
    })
}

/// Report a group at its first call.
fn report(ctx: &Context<'_>, group: &CallGroup, out: &mut Vec<Finding>) {
    let m = group.module;
    let first = group.calls[0];
    let summary = &ctx.index.modules[m as usize].summary;
    let named: Vec<String> = group
        .calls
        .iter()
        .map(|&ci| format!("`{}` (line {})", ctx.callee_text(m, ci), summary.calls[ci as usize].pos.line))
        .collect();
    let (last, rest) = named.split_last().expect("a group has two or more calls");
    let message = format!(
        "{} and {last} wait one after another, though each only reads and none uses another's result: run them concurrently with `asyncio.gather` (or an `asyncio.TaskGroup`)",
        rest.join(", ")
    );
    let pos = summary.calls[first as usize].pos;
    let mut finding = ctx.finding(&INFO, m, pos, Some(group.function), message);
    finding.api = match &ctx.graph.targets[m as usize][first as usize] {
        CallTarget::Blocking(api) => Some(api.name.clone()),
        CallTarget::Repo(g) => ctx.graph.terminal_api(&ctx.graph.closure, *g).map(|a| a.name.clone()),
        _ => None,
    };
    out.push(finding);
}
