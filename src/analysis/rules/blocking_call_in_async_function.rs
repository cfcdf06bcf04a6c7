//! RA103: an `async def` calls a blocking API.

use super::{Context, Finding, RuleInfo, fix_sentence};

/// ## What it does
/// Flags each call of a blocking API from the catalog made directly inside an
/// `async def`.
///
/// ## Why is this bad?
/// An event loop runs one thing at a time. A blocking call inside a coroutine stops
/// every other task on the loop until it returns: timeouts fire late, servers stop
/// answering, and "concurrent" work runs one item at a time.
///
/// ## Example
/// ```python
/// async def refresh(url: str) -> dict:
///     time.sleep(1)
///     return requests.get(url, timeout=5).json()
/// ```
///
/// Use instead:
/// ```python
/// async def refresh(url: str) -> dict:
///     await asyncio.sleep(1)
///     async with httpx.AsyncClient(timeout=5) as client:
///         return (await client.get(url)).json()
/// ```
///
/// ## Fix safety
/// As for RA101: native replacements map types and exceptions, and otherwise the
/// call moves to `await asyncio.to_thread(...)`.
pub struct BlockingCallInAsyncFunction;

pub const INFO: RuleInfo = RuleInfo {
    code: "RA103",
    name: "blocking-call-in-async-function",
    summary: "An async function calls a blocking API",
    source: "src/analysis/rules/blocking_call_in_async_function.rs",
};

pub fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    for (fi, f, m, ci, call) in ctx.calls_in_functions(true) {
        let Some(api) = ctx.blocking_target(m, ci) else { continue };
        let fix = ctx.replacement(api);
        let message = format!(
            "{} blocks the event loop on {} inside async `{}`: {}",
            ctx.call_description(m, ci, api),
            fix.kind.blocks_on(),
            f.qualname,
            fix_sentence(&fix)
        );
        let mut finding = ctx.finding(&INFO, m, call.pos, Some(fi), message);
        finding.api = Some(api.name.clone());
        finding.fix = Some(fix);
        out.push(finding);
    }
}
