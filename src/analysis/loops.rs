//! Loops whose iterations can run concurrently, and loops that sleep on every item
//! on purpose: found once here, reported by RA105 (`sequential-calls-in-loop`) and
//! RA109 (`throttled-loop`), and turned into bounded gathers (or kept sequential)
//! by the planner.

use std::collections::HashSet;

use super::callgraph::{CallGraph, CallTarget, FuncId};
use super::catalog::ApiKind;
use super::index::{Index, ModId, ScopeRef, Value};
use super::summary::{AccessKind, CALL_SEGMENT, CallSite, LoopInfo, LoopKind};

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
    /// Sets or dicts the loop fills and tests to skip items it has already seen
    /// (`seen`), all before its first call: each item's check runs before the item
    /// starts, in input order, so they stay exact.
    pub dedup: Vec<String>,
    /// A rate-limited function every item calls (see [`Throttled::shared`]): a
    /// gather must keep the spacing its limiter enforces, so the planner keeps
    /// such a loop sequential.
    pub limited_by: Option<FuncId>,
    /// The calls are made in loops nested in this one, which has none of its own:
    /// each item runs an inner loop. Reported, but not gathered by the planner
    /// (the inner loop is a candidate of its own).
    pub nested: bool,
}

/// A loop of independent calls that sleeps on every item: a deliberate rate limit,
/// kept sequential (RA109).
#[derive(Debug, Clone)]
pub struct Throttled {
    pub module: ModId,
    /// Index into the module's loops.
    pub loop_idx: u32,
    /// The function the loop is in.
    pub function: FuncId,
    /// The calls into the closure made once per item, sleeps aside.
    pub calls: Vec<u32>,
    /// The sleep every item makes: its module and call site.
    pub sleep: (ModId, u32),
    /// The function the loop calls that sleeps on every call, when the sleep is there.
    pub via: Option<FuncId>,
    /// The sleep is a rate limiter's: a decorator of `via` sleeps before each call
    /// of it, wherever it is called from, and every item reaches `via`. Unlike a
    /// sleep of the loop's own, it paces the calls, not the loop: the items are
    /// still independent (RA105 reports the loop too).
    pub shared: bool,
}

impl Throttled {
    /// The sleep as written, with its argument when that is a number or a name
    /// (`time.sleep(1.5)`, `sleep(self.delay)`), else just the callee (`time.sleep`).
    pub fn sleep_text(&self, index: &Index<'_>) -> String {
        let (m, c) = self.sleep;
        let site = &index.modules[m as usize].summary.calls[c as usize];
        let callee = site.callee.as_ref().map(super::index::chain_text).unwrap_or_else(|| "sleep".to_string());
        match self.sleep_arg(index) {
            Some(arg) => format!("{callee}({arg})"),
            None => callee,
        }
    }

    /// The sleep's argument as written, when it is a number or a name (`1.5`, `self.delay`).
    pub fn sleep_arg<'i>(&self, index: &'i Index<'_>) -> Option<&'i str> {
        let (m, c) = self.sleep;
        index.modules[m as usize].summary.calls[c as usize].sole_arg.map(|arg| arg.as_str())
    }

    /// The sleep's argument, when it is a plain number of seconds (`1.5`), as written.
    pub fn seconds<'i>(&self, index: &'i Index<'_>) -> Option<&'i str> {
        self.sleep_arg(index).filter(|arg| arg.parse::<f64>().is_ok())
    }
}

/// What a loop with calls into the closure is, for RA105, RA109 and the planner.
enum Verdict {
    Gather(LoopCandidate),
    Throttled(Throttled),
}

/// Every loop or comprehension, in a function that is or must become async, whose
/// independent iterations each call into the closure and do not sleep.
pub fn candidates(index: &Index<'_>, graph: &CallGraph) -> Vec<LoopCandidate> {
    classify(index, graph)
        .into_iter()
        .filter_map(|v| match v {
            Verdict::Gather(c) => Some(c),
            Verdict::Throttled(_) => None,
        })
        .collect()
}

/// Every loop that would be a [`LoopCandidate`] but sleeps on every item.
pub fn throttled(index: &Index<'_>, graph: &CallGraph) -> Vec<Throttled> {
    classify(index, graph)
        .into_iter()
        .filter_map(|v| match v {
            Verdict::Throttled(t) => Some(t),
            Verdict::Gather(_) => None,
        })
        .collect()
}

/// Every loop of independent calls into the closure, gatherable or throttled.
fn classify(index: &Index<'_>, graph: &CallGraph) -> Vec<Verdict> {
    let mut found = Vec::new();
    for (mi, module) in index.modules.iter().enumerate() {
        let m = mi as ModId;
        let summary = &module.summary;
        if summary.loops.is_empty() {
            continue;
        }
        for (li, (calls, nested)) in slow_calls_per_loop(index, graph, m).into_iter().enumerate() {
            if calls.is_empty() {
                continue;
            }
            let lp = &summary.loops[li];
            let f = graph.caller(mi as ModId, calls[0]).expect("candidate calls are in functions");
            let func = &graph.functions[f as usize];
            if !(func.is_async || graph.closure[f as usize].is_some()) {
                continue;
            }
            let (sleeps, calls): (Vec<u32>, Vec<u32>) =
                calls.into_iter().partition(|&ci| is_sleep(index, graph, m, ci));
            let throttle = sleeps
                .iter()
                .map(|&ci| ((m, ci), None))
                .chain(calls.iter().filter_map(|&ci| sleeping_callee(index, graph, m, ci)))
                .find(|&((sm, sc), via)| {
                    via.is_some() || !index.modules[sm as usize].summary.calls[sc as usize].guarded
                });
            // A sleep only on some items (a backoff after an error) still paces the
            // loop: it is neither gathered nor a rate limit to report.
            if calls.is_empty() || (!sleeps.is_empty() && throttle.is_none()) {
                continue;
            }
            let limiter = match throttle {
                Some(_) => None,
                None => calls.iter().find_map(|&ci| rate_limited_callee(index, graph, m, ci)),
            };
            let sites: Vec<&CallSite> = calls.iter().map(|&ci| &summary.calls[ci as usize]).collect();
            let inner_targets = if nested { nested_targets(summary, li as u32) } else { Vec::new() };
            let Some(dedup) = independent(lp, &sites, &inner_targets) else { continue };
            // Gathering is about results: a loop whose calls are all bare statements
            // (`f.write(line)`, `register(name)`) works by side effects, and those
            // usually depend on running in order.
            if !sites.iter().any(|c| c.result_used) {
                continue;
            }
            let loop_idx = li as u32;
            if let Some((sleep, g)) = limiter {
                let (calls, via) = (calls.clone(), Some(g));
                found.push(Verdict::Throttled(Throttled {
                    module: m,
                    loop_idx,
                    function: f,
                    calls,
                    sleep,
                    via,
                    shared: true,
                }));
            }
            let limited_by = limiter.map(|(_, g)| g);
            found.push(match throttle {
                Some((sleep, via)) => {
                    Verdict::Throttled(Throttled { module: m, loop_idx, function: f, calls, sleep, via, shared: false })
                }
                None => Verdict::Gather(LoopCandidate {
                    module: m,
                    loop_idx,
                    function: f,
                    calls,
                    dedup,
                    limited_by,
                    nested,
                }),
            });
        }
    }
    found
}

/// Per loop of module `m`: the calls into the closure (or awaited calls in async code)
/// made directly in its body; for a loop with none, those made in the loops nested
/// in it (in the same function), flagged `true`: each item runs an inner loop.
fn slow_calls_per_loop(index: &Index<'_>, graph: &CallGraph, m: ModId) -> Vec<(Vec<u32>, bool)> {
    let loops = &index.modules[m as usize].summary.loops;
    let direct = direct_slow_calls(index, graph, m);
    let mut out: Vec<(Vec<u32>, bool)> = direct.iter().map(|calls| (calls.clone(), false)).collect();
    for (inner, calls) in direct.iter().enumerate().filter(|(_, calls)| !calls.is_empty()) {
        let scope = loops[inner].scope;
        let mut up = loops[inner].parent;
        while let Some(outer) = up.filter(|&o| loops[o as usize].scope == scope) {
            if direct[outer as usize].is_empty() {
                let (all, nested) = &mut out[outer as usize];
                all.extend(calls);
                *nested = true;
            }
            up = loops[outer as usize].parent;
        }
    }
    for (calls, _) in &mut out {
        calls.sort_unstable();
    }
    out
}

/// The targets of the loops nested in loop `li`: bound afresh by each of its items.
fn nested_targets(summary: &super::summary::FileSummary, li: u32) -> Vec<&str> {
    let inside = |mut l: u32| {
        while let Some(p) = summary.loops[l as usize].parent {
            if p == li {
                return true;
            }
            l = p;
        }
        false
    };
    (0..summary.loops.len() as u32)
        .filter(|&l| inside(l))
        .flat_map(|l| summary.loops[l as usize].targets.iter().map(|t| t.as_str()))
        .collect()
}

/// Per loop of module `m`: the calls into the closure (or awaited calls in async
/// code) made directly in its body.
fn direct_slow_calls(index: &Index<'_>, graph: &CallGraph, m: ModId) -> Vec<Vec<u32>> {
    let mi = m as usize;
    let summary = &index.modules[mi].summary;
    let mut per_loop: Vec<Vec<u32>> = vec![Vec::new(); summary.loops.len()];
    for (ci, call) in summary.calls.iter().enumerate() {
        let (Some(l), Some(f)) = (call.loop_idx, graph.caller(mi as ModId, ci as u32)) else { continue };
        if call.in_lambda {
            continue;
        }
        let func = &graph.functions[f as usize];
        let into_closure = match &graph.targets[mi][ci] {
            // In async code too: once the call is awaited (RA103), the loop still runs one at a time.
            target @ CallTarget::Blocking(_) => super::callgraph::waits(index, target),
            // Calling a generator function (a `@contextmanager` too) runs none of its
            // body: the I/O happens where it is iterated or entered, not here.
            CallTarget::Repo(g) if graph.functions[*g as usize].is_generator => false,
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
    per_loop
}

/// The sleeps of async code, which the catalog does not list (they do not block).
const ASYNC_SLEEPS: &[&str] = &["asyncio.sleep", "anyio.sleep", "trio.sleep"];

/// The call sleeps: a blocking sleep (`time.sleep`, or what the catalog calls a
/// sleep), or an async one awaited in async code.
fn is_sleep(index: &Index<'_>, graph: &CallGraph, m: ModId, ci: u32) -> bool {
    match &graph.targets[m as usize][ci as usize] {
        CallTarget::Blocking(api) => index.catalog.entry(api.id).kind == ApiKind::Sleep,
        CallTarget::External(name) => ASYNC_SLEEPS.contains(&name.as_str()),
        _ => false,
    }
}

/// For a call of a repository function that sleeps every time it runs (its own body
/// sleeps outside any branch, loop or `try`): that sleep, and the function.
fn sleeping_callee(index: &Index<'_>, graph: &CallGraph, m: ModId, ci: u32) -> Option<((ModId, u32), Option<FuncId>)> {
    let CallTarget::Repo(g) = graph.targets[m as usize][ci as usize] else { return None };
    if index.modules[m as usize].summary.calls[ci as usize].guarded {
        return None;
    }
    let callee = &graph.functions[g as usize];
    let gm = callee.at.module;
    let calls = &index.modules[gm as usize].summary.calls;
    callee
        .calls
        .iter()
        .find(|&&sc| {
            let site = &calls[sc as usize];
            site.loop_idx.is_none() && !site.guarded && !site.in_lambda && is_sleep(index, graph, gm, sc)
        })
        .map(|&sc| ((gm, sc), Some(g)))
}

/// How many calls deep [`rate_limited_callee`] looks for a rate-limited function.
const LIMITER_DEPTH: usize = 8;

/// For a call that reaches, every time it runs, a repository function whose
/// decorator sleeps before calling it (a rate limiter, [`limiter_sleep`]): that
/// sleep and the decorated function. The calls on the way are made every time
/// their function runs (not in a branch, a loop or a lambda), and none is the
/// call of a generator function, whose body runs only when it is iterated.
fn rate_limited_callee(index: &Index<'_>, graph: &CallGraph, m: ModId, ci: u32) -> Option<((ModId, u32), FuncId)> {
    let always = |m: ModId, ci: u32| {
        let site = &index.modules[m as usize].summary.calls[ci as usize];
        !site.guarded && !site.in_lambda
    };
    if !always(m, ci) {
        return None;
    }
    let CallTarget::Repo(first) = graph.targets[m as usize][ci as usize] else { return None };
    let mut seen: HashSet<FuncId> = HashSet::new();
    let mut level = vec![first];
    for _ in 0..LIMITER_DEPTH {
        let mut next = Vec::new();
        for g in level {
            let callee = &graph.functions[g as usize];
            if callee.is_generator || !seen.insert(g) {
                continue;
            }
            if let Some(sleep) = limiter_sleep(index, graph, g) {
                return Some((sleep, g));
            }
            let gm = callee.at.module;
            let calls = &index.modules[gm as usize].summary.calls;
            let every_time = callee.calls.iter().filter(|&&sc| calls[sc as usize].loop_idx.is_none() && always(gm, sc));
            next.extend(every_time.filter_map(|&sc| match graph.targets[gm as usize][sc as usize] {
                CallTarget::Repo(h) => Some(h),
                _ => None,
            }));
        }
        level = next;
    }
    None
}

/// The sleep of a rate limiter around function `g`: a decorator of `g`, defined in
/// the repository (called or not: `@throttle`, `@throttle(2)`), with a function
/// nested in it (the wrapper) that sleeps outside any loop, under a condition or
/// not (a limiter sleeps only when the last call was too recent). A sleep in a
/// loop is a retry's backoff, not a rate limit.
fn limiter_sleep(index: &Index<'_>, graph: &CallGraph, g: FuncId) -> Option<(ModId, u32)> {
    let at = graph.functions[g as usize].at;
    let scopes = &index.modules[at.module as usize].summary.scopes;
    let scope = &scopes[at.scope as usize];
    let outer = scope.parent.unwrap_or(0);
    scope.decorators.iter().find_map(|decorator| {
        let segments = decorator.as_slice();
        let named = segments.iter().position(|s| s == CALL_SEGMENT).unwrap_or(segments.len());
        let Value::RepoFunction(def) = index.resolve_chain(at.module, outer, &segments[..named], scope.pos.byte) else {
            return None;
        };
        wrapper_sleep(index, graph, def)
    })
}

/// A sleep, outside loops and lambdas, in a function nested in the decorator `def`.
fn wrapper_sleep(index: &Index<'_>, graph: &CallGraph, def: ScopeRef) -> Option<(ModId, u32)> {
    let dm = def.module;
    let summary = &index.modules[dm as usize].summary;
    let nested = |mut s: u32| {
        while let Some(p) = summary.scopes[s as usize].parent {
            if p == def.scope {
                return true;
            }
            s = p;
        }
        false
    };
    (def.scope + 1..summary.scopes.len() as u32)
        .filter(|&s| nested(s))
        .filter_map(|s| graph.function_at(ScopeRef { module: dm, scope: s }))
        .find_map(|w| {
            graph.functions[w as usize].calls.iter().copied().find(|&sc| {
                let site = &summary.calls[sc as usize];
                site.loop_idx.is_none() && !site.in_lambda && is_sleep(index, graph, dm, sc)
            })
        })
        .map(|sc| (dm, sc))
}

/// Whether every slow call uses the item and reads nothing an earlier item left
/// behind for it, and nothing the loop leaves behind is read after it; the
/// de-duplicating sets that keep it exact when it is, or `None`.
///
/// A value one item hands to the next counts when it is read before the last slow
/// call: a gathered loop runs everything after that call in item order. The one
/// exception is a membership test of a set or dict the loop fills (`if key in seen:
/// continue` ... `seen.add(key)`), done entirely before the first slow call: the
/// items start in input order, so each check sees exactly the items before it.
/// When the calls are those of inner loops, `inner_targets` are those loops'
/// targets: bound afresh for each item, as the item itself is.
fn independent(lp: &LoopInfo, calls: &[&CallSite], inner_targets: &[&str]) -> Option<Vec<String>> {
    if matches!(lp.kind, LoopKind::While | LoopKind::AsyncFor) || lp.has_break || lp.has_return || lp.has_yield {
        return None;
    }
    let targets: HashSet<&str> = lp.targets.iter().map(|n| n.as_str()).chain(inner_targets.iter().copied()).collect();
    for call in calls {
        let at = call.pos.byte;
        let fresh = |name: &str| targets.contains(name) || lp.assigned.iter().any(|(n, b)| n == name && *b <= at);
        if !call.arg_names.iter().any(|n| fresh(n)) {
            return None;
        }
    }
    // The last item's value of a name read after the loop would be lost;
    // an accumulator's (`total += n`) is the same whatever the order.
    if lp.escaping.iter().any(|e| !e.accumulates) {
        return None;
    }
    let first = calls.iter().map(|c| c.pos.byte).min()?;
    let cut = calls.iter().map(|c| c.end_byte).max()?;
    let mut dedup: Vec<String> = Vec::new();
    for access in lp.carried.iter().filter(|a| a.byte < cut && is_read(a.kind)) {
        let path = access.path.as_str();
        if dedup.iter().any(|d| d == path) {
            continue;
        }
        let same = || lp.carried.iter().filter(|a| a.path == path);
        let checked_first =
            same().filter(|a| a.byte < cut && is_read(a.kind)).all(|a| a.kind == AccessKind::Membership)
                && same().all(|a| a.byte < first || (is_read(a.kind) && a.byte >= cut));
        if !checked_first {
            return None;
        }
        dedup.push(path.to_string());
    }
    Some(dedup)
}

fn is_read(kind: AccessKind) -> bool {
    matches!(kind, AccessKind::Read | AccessKind::Membership)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::extract::{new_parser, summarize};
    use crate::analysis::summary::FileSummary;

    fn summary(src: &str) -> FileSummary {
        summarize(&mut new_parser(), src.as_bytes())
    }

    /// `independent` for the loop on `line`, taking every call to `fetch` in it as slow.
    fn verdict(src: &str, line: u32) -> Option<Vec<String>> {
        let s = summary(src);
        let (li, lp) = s.loops.iter().enumerate().find(|(_, l)| l.pos.line == line).expect("a loop on that line");
        let calls: Vec<&CallSite> = s
            .calls
            .iter()
            .filter(|c| c.loop_idx == Some(li as u32) && c.callee.as_ref().is_some_and(|c| c.join(".") == "fetch"))
            .collect();
        independent(lp, &calls, &[])
    }

    #[test]
    fn a_cursor_carried_to_the_next_call_is_a_dependence() {
        let src = "def f(xs):\n    cursor = None\n    for x in xs:\n        page = fetch(x, cursor)\n        cursor = page['next']\n";
        assert_eq!(verdict(src, 3), None);
        let via_local = "def f(xs):\n    cursor = None\n    for x in xs:\n        params = {'cursor': cursor}\n        page = fetch(x, params)\n        cursor = page['next']\n";
        assert_eq!(verdict(via_local, 3), None);
        let in_state = "def f(xs):\n    state = {}\n    for x in xs:\n        page = fetch(x, state.get('next'))\n        state['next'] = page\n";
        assert_eq!(verdict(in_state, 3), None);
    }

    #[test]
    fn an_attribute_written_and_read_across_items_is_a_dependence() {
        let src = "def f(self, xs):\n    for x in xs:\n        page = fetch(x, offset=self.offset)\n        self.offset += len(page)\n";
        assert_eq!(verdict(src, 2), None);
        // Read only after the call, in the part that runs in item order.
        let after = "def f(self, xs):\n    out = []\n    for x in xs:\n        out.append(fetch(x))\n        self.done += 1\n        log(self.done)\n";
        assert_eq!(verdict(after, 3), Some(vec![]));
    }

    #[test]
    fn a_seen_set_checked_before_the_call_is_gatherable() {
        let src = "def f(xs):\n    seen = set()\n    out = []\n    for x in xs:\n        if x in seen:\n            continue\n        seen.add(x)\n        out.append(fetch(x))\n";
        assert_eq!(verdict(src, 4), Some(vec!["seen".to_string()]));
        let dict = "def f(xs):\n    seen = {}\n    out = []\n    for x in xs:\n        if x.key not in seen:\n            seen[x.key] = True\n            out.append(fetch(x))\n";
        assert_eq!(verdict(dict, 4), Some(vec!["seen".to_string()]));
    }

    #[test]
    fn a_seen_set_filled_after_the_call_or_passed_to_it_is_a_dependence() {
        let after = "def f(xs):\n    seen = set()\n    out = []\n    for x in xs:\n        if x in seen:\n            continue\n        out.append(fetch(x))\n        seen.add(x)\n";
        assert_eq!(verdict(after, 4), None);
        let passed = "def f(xs):\n    seen = set()\n    out = []\n    for x in xs:\n        if x in seen:\n            continue\n        seen.add(x)\n        out.append(fetch(x, seen))\n";
        assert_eq!(verdict(passed, 4), None);
    }

    #[test]
    fn a_name_reused_by_another_loop_is_no_dependence() {
        let earlier = "def f(xs, ys):\n    for x in ys:\n        print(x)\n    out = []\n    for x in xs:\n        out.append(fetch(x))\n    return out\n";
        assert_eq!(verdict(earlier, 5), Some(vec![]));
        let later = "def f(xs, ys):\n    out = []\n    for x in xs:\n        out.append(fetch(x))\n    for x in ys:\n        print(x)\n    return out\n";
        assert_eq!(verdict(later, 3), Some(vec![]));
        let sibling = "def f(groups):\n    out = []\n    for g in groups:\n        for x in g.a:\n            print(x)\n        for x in g.b:\n            out.append(fetch(x))\n    return out\n";
        assert_eq!(verdict(sibling, 6), Some(vec![]));
    }

    #[test]
    fn the_last_value_read_after_the_loop_is_a_dependence() {
        let src = "def f(xs):\n    out = []\n    for x in xs:\n        value = fetch(x)\n        out.append(value)\n    return value\n";
        assert_eq!(verdict(src, 3), None);
        let reassigned = "def f(xs):\n    out = []\n    for x in xs:\n        value = fetch(x)\n        out.append(value)\n    value = 0\n    return value\n";
        assert_eq!(verdict(reassigned, 3), Some(vec![]));
        let counted = "def f(xs):\n    n = 0\n    out = []\n    for x in xs:\n        out.append(fetch(x))\n        n += 1\n    return out, n\n";
        assert_eq!(verdict(counted, 4), Some(vec![]));
    }
}
