//! Loops whose iterations can run concurrently: found once here, reported by
//! RA105 (`sequential-calls-in-loop`) and turned into bounded gathers by the planner.

use std::collections::HashSet;

use super::callgraph::{CallGraph, CallTarget, FuncId};
use super::index::{Index, ModId};
use super::summary::{CallSite, LoopInfo, LoopKind};

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
pub fn candidates(index: &Index<'_>, graph: &CallGraph) -> Vec<LoopCandidate> {
    let mut found = Vec::new();
    for (mi, module) in index.modules.iter().enumerate() {
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
                target @ CallTarget::Blocking(_) => super::callgraph::waits(index, target),
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
fn independent<'a>(lp: &LoopInfo, calls: impl Iterator<Item = &'a CallSite>) -> bool {
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
