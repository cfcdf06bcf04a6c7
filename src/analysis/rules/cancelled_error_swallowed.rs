//! RA108: async code catches `CancelledError` and does not re-raise it.

use super::{Context, Finding, RuleInfo};
use crate::analysis::index::{ModId, Value};
use crate::analysis::summary::ScopeKind;

/// Names under which `asyncio.CancelledError` (or a base of it) is caught.
const SWALLOWING: &[&str] = &[
    "builtins.BaseException",
    "asyncio.CancelledError",
    "asyncio.exceptions.CancelledError",
    "concurrent.futures.CancelledError",
    "trio.Cancelled",
];

/// ## What it does
/// Flags an `except` clause inside an `async def` that catches
/// `asyncio.CancelledError`, either by name, through `BaseException`, or with a bare
/// `except:`, and whose body does not re-raise it.
///
/// ## Why is this bad?
/// Cancellation is how asyncio stops a task: on timeouts, on Ctrl-C, when a task
/// group fails. A handler that swallows `CancelledError` turns "stop now" into
/// "carry on": `asyncio.timeout` stops working, `TaskGroup` and `gather` cannot
/// cancel the task, and shutdown hangs. (`except Exception` is fine:
/// `CancelledError` is a `BaseException` since Python 3.8.)
///
/// ## Example
/// ```python
/// async def poll(client):
///     try:
///         await client.get("/health")
///     except BaseException:
///         log.warning("health check failed")
/// ```
///
/// Use instead:
/// ```python
/// async def poll(client):
///     try:
///         await client.get("/health")
///     except Exception:
///         log.warning("health check failed")
/// ```
pub struct CancelledErrorSwallowed;

pub const INFO: RuleInfo = RuleInfo {
    code: "RA108",
    name: "cancelled-error-swallowed",
    summary: "Async code catches CancelledError (bare except, BaseException) without re-raising it",
    source: "src/analysis/rules/cancelled_error_swallowed.rs",
};

pub fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let graph = ctx.graph;
    for (mi, module) in ctx.index.modules.iter().enumerate() {
        let m = mi as ModId;
        let scopes = &module.summary.scopes;
        for handler in &module.summary.handlers {
            let scope = &scopes[handler.scope as usize];
            if scope.kind != ScopeKind::Function || !scope.is_async || handler.reraises {
                continue;
            }
            let caught = if handler.catches.is_empty() && !handler.catches_unknown {
                Some("a bare `except:`".to_string())
            } else {
                handler.catches.iter().find_map(|chain| {
                    match ctx.index.resolve_chain(m, handler.scope, chain, handler.pos.byte) {
                        Value::External(q) if SWALLOWING.contains(&q.as_str()) => Some(format!("`except {q}`")),
                        _ => None,
                    }
                })
            };
            let Some(caught) = caught else { continue };
            let f = graph.function_at(crate::analysis::index::ScopeRef { module: m, scope: handler.scope });
            let message = format!(
                "{caught} in async `{}` swallows `asyncio.CancelledError`: re-raise it (`raise`), or catch `Exception` instead",
                module.qualname(handler.scope)
            );
            out.push(ctx.finding(&INFO, m, handler.pos, f, message));
        }
    }
}
