//! RA110: a `while` loop drains a work queue one item at a time, waiting on remote I/O for each.

use rustc_hash::FxHashSet;

use super::{Context, Finding, RuleInfo};
use crate::analysis::callgraph::{CallGraph, CallTarget, FuncId};
use crate::analysis::effects::{self, Effects};
use crate::analysis::flow::{DataFlow, WhileLoop, overlap};
use crate::analysis::index::{Index, ModId};
use crate::analysis::summary::{CallSite, FileSummary, LoopInfo};

/// Methods that take the next item off a deque, list or set.
const POP_METHODS: &[&str] = &["popleft", "pop"];

/// Methods that put new items on a deque, list or set.
const PUSH_METHODS: &[&str] = &["append", "appendleft", "extend", "extendleft", "insert", "add", "update"];

/// Methods that grow a container, so that its size can bound a walk.
const GROW_METHODS: &[&str] =
    &["append", "appendleft", "extend", "extendleft", "insert", "add", "update", "setdefault"];

/// ## What it does
/// Flags a `while` loop, in a function that is or must become async, that works
/// through a queue of items one at a time: its condition tests that a container
/// has items (`while queue:`, `while len(queue) > 0:`, either alone or joined with
/// `and`), the body takes an item off that container (`.popleft()`, `.pop()`,
/// `.pop(0)`) into a name, waits on remote I/O for that item, and puts new items
/// on the same container (`.append`, `.appendleft`, `.extend`, `.extendleft`,
/// `.insert`, `.add`, `.update`): a breadth- or depth-first crawl, a walk over an
/// API's tree. Waiting on remote I/O for the item means a call into the async
/// closure (or an awaited call) whose arguments read the item or a name computed
/// from it, whose result is used, and that reaches HTTP, an LLM, a socket or a
/// child process, directly or through the functions it calls (an awaited call in
/// async code counts unless it replaces a local API): walks over local files are
/// not worth running concurrently.
///
/// The finding names the loop's de-duplication, a membership test (`x in c`,
/// `x not in c`) on the popped item or on the pushed items against a container
/// the loop grows (`seen.add(x)`, `seen[x] = ...`, or the queue itself), and its
/// limit, an ordering comparison on a counter the loop increments
/// (`pages < max_pages`), on the size of a container it grows
/// (`len(seen) < limit`) or on a name carried with each item
/// (`depth < max_depth`); or says that none was found.
///
/// Loops in generators are flagged too (a walk that yields what it finds, page
/// after page of an API's tree): their workers hand on each item as it is found.
/// Loops that `return` are not flagged (their result depends on the order items
/// are visited), nor are pagination and retry loops (`while cursor:`,
/// `while True:`), which take nothing off a container. `queue.Queue.get()` is not
/// a pop: a `queue.Queue` hands work between threads, so a loop draining one is
/// usually already one of several workers.
///
/// ## Why is this bad?
/// Every item waits for the one before it, although items already in the queue
/// are independent: a crawl of 200 pages at 100 ms each takes 20 seconds. Kept as
/// one loop after the conversion, it still awaits one request at a time.
///
/// ## Example
/// ```python
/// def crawl(start, max_pages):
///     queue, seen = deque([start]), {start}
///     while queue and len(seen) < max_pages:
///         url = queue.popleft()
///         for link in links_of(fetch(url)):
///             if link not in seen:
///                 seen.add(link)
///                 queue.append(link)
///     return seen
/// ```
///
/// Use instead:
/// ```python
/// async def crawl(start, max_pages, workers=8):
///     queue, seen = asyncio.Queue(), {start}
///     queue.put_nowait(start)
///
///     async def worker():
///         while True:
///             url = await queue.get()
///             try:
///                 for link in links_of(await fetch(url)):
///                     if link not in seen and len(seen) < max_pages:
///                         seen.add(link)
///                         queue.put_nowait(link)
///             finally:
///                 queue.task_done()
///
///     tasks = [asyncio.create_task(worker()) for _ in range(workers)]
///     await queue.join()
///     for task in tasks:
///         task.cancel()
///     return seen
/// ```
/// A walk by levels works too: gather each level's items with a bounded
/// `asyncio.gather`, then build the next level from their results.
///
/// ## Fix safety
/// Items are no longer processed in queue order: a limit counted per processed
/// item can admit a few more items than before unless it is checked when an item
/// is pushed, and the visiting order (and so the order of results) changes. The
/// de-duplication check must stay between the test and the push, with no `await`
/// in between, so that two workers never take the same item. A generator yields
/// its items in another order, and a caller that stops iterating early leaves
/// fetches in flight that the old code would never have started: they must be
/// cancelled when the generator is closed.
pub struct WorkQueueLoop;

pub const INFO: RuleInfo = RuleInfo {
    code: "RA110",
    name: "work-queue-loop",
    summary: "A while loop drains a work queue one item at a time, waiting on remote I/O for each",
    source: "src/analysis/rules/work_queue_loop.rs",
};

pub fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let mut effects = Effects::new(ctx.index, ctx.graph);
    for (mi, module) in ctx.index.modules.iter().enumerate() {
        for w in &module.summary.flow.while_loops {
            if let Some(finding) = work_queue(ctx, &mut effects, mi as ModId, w) {
                out.push(finding);
            }
        }
    }
}

/// A work queue for the planner: the loop, its function, and the calls that take
/// the next item and wait on I/O for it.
#[derive(Debug, Clone)]
pub struct QueueLoop {
    pub module: ModId,
    /// Index into the module's loops.
    pub loop_idx: u32,
    pub function: FuncId,
    /// The call that takes an item off the queue.
    pub pop: u32,
    /// The call that waits on I/O for the item.
    pub io: u32,
}

/// Every work queue RA110 would report in a function that is or must become async
/// (whatever the configuration says to report).
pub fn queues(index: &Index<'_>, graph: &CallGraph) -> Vec<QueueLoop> {
    let mut effects = Effects::new(index, graph);
    let mut found = Vec::new();
    for (mi, module) in index.modules.iter().enumerate() {
        let m = mi as ModId;
        for w in &module.summary.flow.while_loops {
            let Some((container, _)) = w.drains else { continue };
            if module.summary.loops[w.loop_idx as usize].has_return {
                continue;
            }
            let Some(queue) = shape(index, graph, &mut effects, m, w, module.summary.flow.name(container)) else {
                continue;
            };
            let Some(f) = graph.caller(m, queue.io) else { continue };
            if graph.functions[f as usize].is_async || graph.closure[f as usize].is_some() {
                found.push(QueueLoop { module: m, loop_idx: w.loop_idx, function: f, pop: queue.pop, io: queue.io });
            }
        }
    }
    found
}

/// What makes a `while` loop a work queue.
struct WorkQueue {
    /// The call that takes an item off the container.
    pop: u32,
    /// The calls that put items on it.
    pushes: Vec<u32>,
    /// The call that waits on I/O for the item.
    io: u32,
    /// Names the popped item is assigned to.
    popped: Vec<String>,
}

/// The finding for loop `w` of module `m`, when it is a work queue that is reported.
fn work_queue(ctx: &Context<'_>, effects: &mut Effects<'_>, m: ModId, w: &WhileLoop) -> Option<Finding> {
    let summary = &ctx.index.modules[m as usize].summary;
    let lp = &summary.loops[w.loop_idx as usize];
    let (container, _) = w.drains?;
    // A generator's `yield` hands out what the walk found; a `return` ends the
    // walk at the first match, which depends on the order of visits.
    if lp.has_return {
        return None;
    }
    let queue = shape(ctx.index, ctx.graph, effects, m, w, summary.flow.name(container))?;
    let f = ctx.graph.caller(m, queue.io)?;
    let func = &ctx.graph.functions[f as usize];
    if !(func.is_async || ctx.graph.closure[f as usize].is_some()) || !ctx.reports(f) {
        return None;
    }
    Some(finding(ctx, m, lp, w, f, &queue))
}

/// The pop, pushes and I/O call of a loop draining `container`, when it has all three.
fn shape(
    index: &Index<'_>,
    graph: &CallGraph,
    effects: &mut Effects<'_>,
    m: ModId,
    w: &WhileLoop,
    container: &str,
) -> Option<WorkQueue> {
    let summary = &index.modules[m as usize].summary;
    let inside: Vec<u32> = (0..summary.calls.len() as u32)
        .filter(|&ci| {
            let call = &summary.calls[ci as usize];
            !call.in_lambda && within(summary, call.loop_idx, w.loop_idx)
        })
        .collect();
    let site = |ci: &u32| &summary.calls[*ci as usize];
    let pop = *inside.iter().find(|ci| {
        let call = site(ci);
        method_on(call, container, POP_METHODS) && call.positional <= 1 && call.keywords.is_empty() && !call.has_splat
    })?;
    let pushes: Vec<u32> = inside.iter().copied().filter(|ci| method_on(site(ci), container, PUSH_METHODS)).collect();
    if pushes.is_empty() {
        return None;
    }
    let pop_byte = summary.calls[pop as usize].pos.byte;
    let popped = popped_names(&summary.flow, pop_byte);
    let derived = derived_names(&summary.flow, &summary.loops[w.loop_idx as usize], &popped, pop_byte);
    let io = *inside.iter().find(|&&ci| {
        let call = site(&ci);
        ci != pop
            && call.result_used
            && call.arg_names.iter().any(|a| derived.contains(a.as_str()))
            && effects::waits(index, graph, m, ci)
            && effects.waits_remotely(m, ci)
    })?;
    Some(WorkQueue { pop, pushes, io, popped })
}

/// Whether a call in loop `inner` runs inside loop `outer` (in it, or in a loop nested in it).
fn within(summary: &FileSummary, inner: Option<u32>, outer: u32) -> bool {
    let mut current = inner;
    while let Some(l) = current {
        if l == outer {
            return true;
        }
        current = summary.loops[l as usize].parent;
    }
    false
}

/// Whether the call is `container.<one of methods>(...)`.
fn method_on(call: &CallSite, container: &str, methods: &[&str]) -> bool {
    let Some(callee) = &call.callee else { return false };
    let Some((method, receiver)) = callee.split_last() else { return false };
    methods.contains(&method.as_str())
        && receiver.len() == container.split('.').count()
        && receiver.iter().zip(container.split('.')).all(|(a, b)| a == b)
}

/// The plain names assigned by the statement holding the call at `byte` (`url` in `url = queue.popleft()`).
fn popped_names(flow: &DataFlow, byte: u32) -> Vec<String> {
    flow.statements
        .iter()
        .find(|s| s.start_byte <= byte && byte < s.end_byte)
        .map(|s| {
            s.writes(flow).iter().map(|&n| flow.name(n)).filter(|n| !n.contains('.')).map(str::to_string).collect()
        })
        .unwrap_or_default()
}

/// The popped names, and the names assigned (in the loop, after the pop) from
/// anything that reads one of them: `page = fetch(url)` makes `page` the item's too.
fn derived_names<'f>(flow: &'f DataFlow, lp: &LoopInfo, popped: &'f [String], pop_byte: u32) -> FxHashSet<&'f str> {
    let mut derived: FxHashSet<&str> = popped.iter().map(String::as_str).collect();
    let in_loop = flow.statements.iter().filter(|s| s.start_byte >= lp.pos.byte && s.start_byte < lp.end_byte);
    for s in in_loop.filter(|s| s.end_byte > pop_byte) {
        if s.reads(flow).iter().any(|&n| derived.contains(first_segment(flow.name(n)))) {
            derived.extend(s.writes(flow).iter().map(|&n| flow.name(n)).filter(|n| !n.contains('.')));
        }
    }
    derived
}

fn first_segment(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

/// The membership test that de-duplicates the popped or pushed items, if any:
/// one against a container the loop grows (a test against a fixed set filters, it
/// does not de-duplicate).
fn dedup<'w>(w: &'w WhileLoop, flow: &DataFlow, items: &FxHashSet<&str>, grown: &[&str]) -> Option<&'w str> {
    w.membership
        .iter()
        .filter(|t| grown.contains(&flow.name(t.container)))
        .find(|t| t.elements.iter().any(|&e| items.contains(first_segment(flow.name(e)))))
        .map(|t| t.text.as_str())
}

/// The comparison that bounds the walk, if any: on a counter the loop increments,
/// on the size of a container it grows, or on a name carried with each item.
fn limit<'w>(w: &'w WhileLoop, flow: &DataFlow, grown: &[&str], carried: &FxHashSet<&str>) -> Option<&'w str> {
    let drain_test = w.drains.map(|(_, at)| at);
    w.comparisons
        .iter()
        .filter(|c| Some(c.start_byte) != drain_test)
        .find(|c| {
            let counts = c.reads.iter().any(|&r| w.counters.iter().any(|&k| overlap(flow.name(r), flow.name(k))));
            let sizes = c.sizes.iter().any(|&s| grown.contains(&flow.name(s)));
            let depth = c.reads.iter().any(|&r| carried.contains(first_segment(flow.name(r))));
            counts || sizes || depth
        })
        .map(|c| c.text.as_str())
}

fn finding(ctx: &Context<'_>, m: ModId, lp: &LoopInfo, w: &WhileLoop, f: FuncId, queue: &WorkQueue) -> Finding {
    let summary = &ctx.index.modules[m as usize].summary;
    let flow = &summary.flow;
    let container = w.drains.map(|(n, _)| flow.name(n)).unwrap_or_default();
    let site = |ci: u32| &summary.calls[ci as usize];
    // What is pushed, and what the loop grows besides the queue.
    let pushed: FxHashSet<&str> = queue
        .pushes
        .iter()
        .flat_map(|&ci| site(ci).arg_names.iter().map(|n| n.as_str()))
        .filter(|n| *n != first_segment(container))
        .collect();
    let mut items = pushed.clone();
    items.extend(queue.popped.iter().map(String::as_str));
    let carried: FxHashSet<&str> = queue.popped.iter().map(String::as_str).filter(|n| pushed.contains(n)).collect();
    let grown: Vec<String> = (0..summary.calls.len() as u32)
        .filter(|&ci| within(summary, site(ci).loop_idx, w.loop_idx))
        .filter_map(|ci| {
            let callee = site(ci).callee.as_ref()?;
            let (method, receiver) = callee.split_last()?;
            GROW_METHODS.contains(&method.as_str()).then(|| receiver.join("."))
        })
        .collect();
    let mut grown: Vec<&str> = grown.iter().map(String::as_str).collect();
    grown.extend(w.filled.iter().map(|&n| flow.name(n)));

    let (callee, api, path) = describe_io(ctx, m, f, queue.io);
    let mut push_methods: Vec<String> = Vec::new();
    for text in queue.pushes.iter().map(|&ci| ctx.callee_text(m, ci)) {
        if !push_methods.contains(&text) {
            push_methods.push(text);
        }
    }
    let dedup = dedup(w, flow, &items, &grown);
    let limit = limit(w, flow, &grown, &carried);
    let keep = match (dedup, limit) {
        (Some(_), Some(_)) => ", keeping the de-dup check and the limit",
        (Some(_), None) => ", keeping the de-dup check",
        (None, Some(_)) => ", keeping the limit",
        (None, None) => "",
    };
    let message = format!(
        "`while` loop drains `{container}` one item at a time: it pops an item (`{}({})`), calls `{callee}` for it and pushes new items (`{}`); de-dup: {}; limit: {}. Drain it with a bounded pool of workers on an `asyncio.Queue` (or gather each level of the walk with a bounded `asyncio.gather`){keep}",
        ctx.callee_text(m, queue.pop),
        if site(queue.pop).positional > 0 { "…" } else { "" },
        push_methods.join("`, `"),
        dedup.map_or("none found".to_string(), |d| format!("`{d}`")),
        limit.map_or("none found".to_string(), |l| format!("`{l}`")),
    );
    let mut message = message;
    if ctx.graph.functions[f as usize].is_generator {
        message.push_str(
            "; in a generator, yield each item as a worker finds it, and cancel the workers when the caller stops iterating",
        );
    }
    let mut finding = ctx.finding(&INFO, m, lp.pos, Some(f), message);
    finding.api = api;
    finding.call_path = path;
    finding
}

/// The I/O call's callee, its blocking API and the call path from `f` down to it.
fn describe_io(ctx: &Context<'_>, m: ModId, f: FuncId, ci: u32) -> (String, Option<String>, Vec<String>) {
    let graph = ctx.graph;
    match &graph.targets[m as usize][ci as usize] {
        CallTarget::Repo(g) => {
            let mut path = vec![graph.functions[f as usize].qualname.to_string()];
            path.extend(graph.path(&graph.closure, *g));
            let api = graph.terminal_api(&graph.closure, *g).map(|a| a.name.clone());
            (graph.functions[*g as usize].qualname.to_string(), api, path)
        }
        CallTarget::Blocking(a) => (a.name.clone(), Some(a.name.clone()), Vec::new()),
        _ => (ctx.callee_text(m, ci), None, Vec::new()),
    }
}
