//! RA102: a sync function must become async because of what it calls.

use super::{Context, Finding, RuleInfo};
use crate::analysis::callgraph::ClosureReason;

/// ## What it does
/// Flags a sync function that does no blocking I/O itself but calls, directly or
/// through other functions of the repository, one that does. The finding points at
/// its call into the async closure and shows the whole call path down to the
/// blocking API.
///
/// Calls through a base class reach its overrides: when the receiver is typed as a
/// base (an ABC, a plain base class, or a `typing.Protocol` a repository class
/// implements) and an override in the repository blocks, the caller must become
/// async too, and the finding names that override. The base method and the
/// overrides that do no I/O are not flagged themselves.
///
/// ## Why is this bad?
/// Once the function it calls becomes `async def`, this call returns a coroutine
/// instead of a result; the caller has to become async and `await` it, all the way
/// up to an entry point that keeps a sync wrapper. Seeing the path tells you how far
/// the conversion reaches before you start.
///
/// ## Example
/// ```python
/// def judge(case):
///     return score(chat_completion(case.prompt))  # chat_completion calls requests.post
/// ```
///
/// Use instead:
/// ```python
/// async def judge(case):
///     return score(await chat_completion(case.prompt))
/// ```
///
/// ## Fix safety
/// Public functions, `__main__` blocks, console scripts and tests are entry points:
/// they keep their sync names as thin wrappers around the async version, so
/// existing callers keep working.
pub struct TransitivelyBlockingFunction;

pub const INFO: RuleInfo = RuleInfo {
    code: "RA102",
    name: "transitively-blocking-function",
    summary: "A sync function must become async because a function it calls blocks",
    source: "src/analysis/rules/transitively_blocking_function.rs",
};

pub fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let graph = ctx.graph;
    for (fi, f) in graph.functions.iter().enumerate() {
        let Some(ClosureReason::Via { callee, call }) = &graph.closure[fi] else { continue };
        if !ctx.reports(fi as u32) {
            continue;
        }
        let m = f.at.module;
        let site = graph.call(ctx.index, m, *call);
        let path = graph.path(&graph.closure, fi as u32);
        let api = graph.terminal_api(&graph.closure, fi as u32);
        let mut callee_name = graph.functions[*callee as usize].qualname.to_string();
        if let Some(by) = graph.dispatched_to(&graph.closure, *callee) {
            callee_name =
                format!("{callee_name}`, which may run the override `{}", graph.functions[by as usize].qualname);
        }
        let message = match api {
            Some(api) => format!(
                "`{}` must become async: it calls `{}`, which blocks on `{}`",
                f.qualname, callee_name, api.name
            ),
            None => format!("`{}` must become async: it calls `{}`, which blocks", f.qualname, callee_name),
        };
        let mut message = message;
        if let Some(note) = super::conversion_note(ctx, fi as u32) {
            message.push_str(&format!(" ({note})"));
        }
        let mut finding = ctx.finding(&INFO, m, site.pos, Some(fi as u32), message);
        finding.api = api.map(|a| a.name.clone());
        finding.call_path = path;
        out.push(finding);
    }
}
