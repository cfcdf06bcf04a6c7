//! RA104: an `async def` calls a repository function that blocks.

use super::{Context, Finding, RuleInfo};
use crate::analysis::callgraph::CallTarget;

/// ## What it does
/// Flags a call from an `async def` to a sync function of the repository that does
/// blocking I/O, directly or through its own calls. The call path shows where the
/// blocking happens.
///
/// ## Why is this bad?
/// It blocks the event loop exactly like a blocking call written inline (RA103),
/// but is harder to spot: the coroutine looks clean and the I/O is a few calls down.
///
/// ## Example
/// ```python
/// def load_config(path):
///     with open(path) as fh:
///         return json.load(fh)
///
/// async def handler(request):
///     config = load_config("app.json")
/// ```
///
/// Use instead:
/// ```python
/// async def handler(request):
///     config = await asyncio.to_thread(load_config, "app.json")
/// ```
/// or make `load_config` async as well and `await` it.
pub struct BlockingFunctionCalledFromAsync;

pub const INFO: RuleInfo = RuleInfo {
    code: "RA104",
    name: "blocking-function-called-from-async",
    summary: "An async function calls a repository function that blocks",
    source: "src/analysis/rules/blocking_function_called_from_async.rs",
};

pub fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let graph = ctx.graph;
    for (fi, f, m, ci, call) in ctx.calls_in_functions(true) {
        let CallTarget::Repo(g) = graph.targets[m as usize][ci as usize] else { continue };
        if graph.closure[g as usize].is_none() {
            continue;
        }
        let api = graph.terminal_api(&graph.closure, g);
        let mut path = vec![f.qualname.to_string()];
        path.extend(graph.path(&graph.closure, g));
        let callee = &graph.functions[g as usize].qualname;
        let message = format!(
            "async `{}` calls `{}`, which blocks{}: make it async and await it, or run it with `await asyncio.to_thread(...)`",
            f.qualname,
            callee,
            api.map(|a| format!(" on `{}`", a.name)).unwrap_or_default()
        );
        let mut finding = ctx.finding(&INFO, m, call.pos, Some(fi), message);
        finding.api = api.map(|a| a.name.clone());
        finding.call_path = path;
        out.push(finding);
    }
}
