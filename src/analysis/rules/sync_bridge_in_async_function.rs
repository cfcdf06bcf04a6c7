//! RA107: `asyncio.run` (or a sync wrapper around it) reached from async code.

use super::{Context, Finding, RuleInfo};
use crate::analysis::callgraph::CallTarget;

/// ## What it does
/// Flags a call, inside an `async def`, of `asyncio.run`,
/// `loop.run_until_complete` or another sync bridge from the configuration, or of a
/// sync function of the repository that reaches one (a sync wrapper around async
/// code).
///
/// ## Why is this bad?
/// `asyncio.run` refuses to start inside a running event loop ("asyncio.run()
/// cannot be called from a running event loop"); other bridges block the loop
/// until the inner coroutine finishes, or deadlock when it needs the outer loop.
/// Async code should await the async version directly.
///
/// ## Example
/// ```python
/// def fetch(url):
///     return asyncio.run(fetch_async(url))
///
/// async def refresh(url):
///     return fetch(url)
/// ```
///
/// Use instead:
/// ```python
/// async def refresh(url):
///     return await fetch_async(url)
/// ```
pub struct SyncBridgeInAsyncFunction;

pub const INFO: RuleInfo = RuleInfo {
    code: "RA107",
    name: "sync-bridge-in-async-function",
    summary: "Async code runs a coroutine to completion through asyncio.run or a sync wrapper",
    source: "src/analysis/rules/sync_bridge_in_async_function.rs",
};

pub fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let graph = ctx.graph;
    for (fi, f, m, ci, call) in ctx.calls_in_functions(true) {
        let (message, path) = match &graph.targets[m as usize][ci as usize] {
            CallTarget::SyncBridge(name) => (
                format!(
                    "async `{}` calls `{name}`, which cannot run inside a running event loop: await the coroutine instead",
                    f.qualname
                ),
                vec![f.qualname.to_string(), name.to_string()],
            ),
            CallTarget::Repo(g) if graph.bridges[*g as usize].is_some() => {
                let mut path = vec![f.qualname.to_string()];
                path.extend(graph.path(&graph.bridges, *g));
                let bridge = path.last().cloned().unwrap_or_default();
                (
                    format!(
                        "async `{}` calls `{}`, a sync wrapper that reaches `{bridge}`: await the async version instead",
                        f.qualname, graph.functions[*g as usize].qualname
                    ),
                    path,
                )
            }
            _ => continue,
        };
        let mut finding = ctx.finding(&INFO, m, call.pos, Some(fi), message);
        finding.call_path = path;
        out.push(finding);
    }
}
