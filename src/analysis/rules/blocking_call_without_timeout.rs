//! RA106: an external call that can wait forever.

use super::{Context, Finding, RuleInfo};
use crate::analysis::callgraph::CallTarget;
use crate::analysis::index::{ModId, Value};
use crate::analysis::summary::CallSite;

/// ## What it does
/// Flags a call of a catalog API that has no default timeout (`requests`,
/// `urllib.request.urlopen`, `subprocess.run`, `socket.create_connection`, ...)
/// made without its timeout argument. The catalog names, per API, the keyword (and
/// position) that bounds the call; APIs with a default timeout (`httpx`, `openai`)
/// are not flagged, and neither are calls through `functools.partial` (which may
/// bind the timeout) or on an instance of a repository class that overrides the
/// method every call of the API goes through (a `requests.Session` subclass whose
/// `request` sets the timeout), nor `process.wait()` after an unconditional
/// `process.communicate()` in the same function (the child is already reaped),
/// nor a command computed from `$EDITOR`, `$VISUAL` or `$PAGER` (the user's
/// editor or pager: it waits for the person at the terminal, as it should).
///
/// ## Why is this bad?
/// Without a timeout a dead server or a hung child process blocks the caller
/// forever. After an async conversion the same call holds a task, a semaphore
/// permit or a connection from the pool forever, and `asyncio.gather` never
/// returns.
///
/// ## Example
/// ```python
/// response = requests.get(url)
/// ```
///
/// Use instead:
/// ```python
/// response = requests.get(url, timeout=30)
/// ```
pub struct BlockingCallWithoutTimeout;

pub const INFO: RuleInfo = RuleInfo {
    code: "RA106",
    name: "blocking-call-without-timeout",
    summary: "An external call has no timeout and can wait forever",
    source: "src/analysis/rules/blocking_call_without_timeout.rs",
};

pub fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let graph = ctx.graph;
    for (mi, module) in ctx.index.modules.iter().enumerate() {
        if module.is_test && !ctx.config.include_tests {
            continue;
        }
        for (ci, call) in module.summary.calls.iter().enumerate() {
            let CallTarget::Blocking(api) = &graph.targets[mi][ci] else { continue };
            let entry = ctx.index.catalog.entry(api.id);
            let Some(keyword) = &entry.timeout else { continue };
            let given_by_position = entry.timeout_position.is_some_and(|p| call.positional > p);
            // A partial may have bound the timeout already.
            // The user's editor or pager is meant to run as long as they work in it.
            let waits_for_user = call.runs_interactive;
            if call.keywords.iter().any(|k| k == keyword)
                || call.has_splat
                || given_by_position
                || api.bound
                || waits_for_user
            {
                continue;
            }
            if funnels_through_override(ctx, mi as ModId, call, &api.name) || ctx.reaped_wait(mi as ModId, ci as u32) {
                continue;
            }
            let message = format!(
                "{} has no timeout and can wait forever: pass `{keyword}=`",
                ctx.call_description(mi as ModId, ci as u32, api)
            );
            let mut finding = ctx.finding(&INFO, mi as ModId, call.pos, graph.caller(mi as ModId, ci as u32), message);
            finding.api = Some(api.name.clone());
            out.push(finding);
        }
    }
}

/// Every verb of a `requests.Session` goes through `Session.request`: when the
/// receiver is an instance of a repository subclass that overrides `request`,
/// that override decides the timeout, not the call.
fn funnels_through_override(ctx: &Context<'_>, m: ModId, call: &CallSite, api: &str) -> bool {
    let Some(callee) = call.callee.as_deref().filter(|c| c.len() >= 2) else { return false };
    if !api.starts_with("requests.Session.") {
        return false;
    }
    let receiver = &callee[..callee.len() - 1];
    match ctx.index.resolve_chain(m, call.scope, receiver, call.pos.byte) {
        Value::RepoInstance(class) => matches!(ctx.index.member(class, "request", 0), Value::RepoFunction(_)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::{analyze, catalog::Catalog};
    use crate::config::Config;

    fn messages(src: &str) -> Vec<String> {
        let dir = tempfile::Builder::new().prefix("ra106-").tempdir().unwrap();
        std::fs::write(dir.path().join("app.py"), src).unwrap();
        let mut config = Config::builtin();
        config.analysis.cache = false;
        let catalog = Catalog::load(&config, dir.path()).unwrap();
        let report = analyze(dir.path(), &config, &catalog).unwrap();
        report.findings.into_iter().filter(|f| f.code == "RA106").map(|f| f.message).collect()
    }

    #[test]
    fn names_the_api_once_unless_written_differently() {
        let got =
            messages("import requests\n\ndef f(u):\n    s = requests.Session()\n    requests.get(u)\n    s.get(u)\n");
        assert_eq!(
            got,
            [
                "`requests.get` has no timeout and can wait forever: pass `timeout=`",
                "`s.get` (`requests.Session.get`) has no timeout and can wait forever: pass `timeout=`",
            ]
        );
    }
}
