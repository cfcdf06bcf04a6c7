//! RA101: a sync function calls a blocking API directly.

use super::{Context, Finding, RuleInfo, conversion_note, fix_sentence};

/// ## What it does
/// Flags each call of a blocking API from the catalog (HTTP with `requests` or a
/// sync `httpx.Client`, `time.sleep`, `subprocess`, file and socket I/O, `sqlite3`,
/// the sync OpenAI and Anthropic clients, ...) inside a sync function. The
/// function has to become `async def` for the call to stop blocking. Calls that
/// return at once are not flagged: catalog entries marked `instant` (`Path.cwd()`,
/// `os.path.abspath`) and `process.wait()` after an unconditional
/// `process.communicate()` on the same process in the same function.
///
/// ## Why is this bad?
/// While the call waits on the network, a disk or a child process, the whole
/// thread waits with it. A batch of such calls runs strictly one after another, so
/// ten 200 ms requests take two seconds instead of a little over 200 ms.
///
/// ## Example
/// ```python
/// import requests
///
/// def fetch(url: str) -> bytes:
///     return requests.get(url, timeout=10).content
/// ```
///
/// Use instead:
/// ```python
/// import httpx
///
/// async def fetch(url: str) -> bytes:
///     async with httpx.AsyncClient(timeout=10) as client:
///         return (await client.get(url)).content
/// ```
///
/// ## Fix safety
/// A native replacement (`httpx.AsyncClient`, `asyncio.sleep`,
/// `asyncio.create_subprocess_exec`) changes response and exception types, which
/// the rewrite maps too; where no faithful mapping is known the call runs in
/// `await asyncio.to_thread(...)`, which keeps its behaviour exactly.
pub struct BlockingCallInSyncFunction;

pub const INFO: RuleInfo = RuleInfo {
    code: "RA101",
    name: "blocking-call-in-sync-function",
    summary: "A sync function calls a blocking API directly",
    source: "src/analysis/rules/blocking_call_in_sync_function.rs",
};

pub fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    for (fi, f, m, ci, call) in ctx.calls_in_functions(false) {
        if !ctx.reports(fi) {
            continue;
        }
        let Some(api) = ctx.blocking_target(m, ci).filter(|api| !ctx.index.catalog.is_instant(api)) else {
            continue;
        };
        if ctx.reaped_wait(m, ci) {
            continue;
        }
        let fix = ctx.replacement(api);
        let mut message = format!(
            "{} blocks on {}; `{}` must become async: {}",
            ctx.call_description(m, ci, api),
            fix.kind.blocks_on(),
            f.qualname,
            fix_sentence(&fix)
        );
        if let Some(note) = conversion_note(ctx, fi) {
            message.push_str(&format!(" ({note})"));
        }
        let mut finding = ctx.finding(&INFO, m, call.pos, Some(fi), message);
        finding.api = Some(api.name.clone());
        finding.fix = Some(fix);
        out.push(finding);
    }
}
