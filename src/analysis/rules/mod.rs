//! Findings: every rule, registered in one place, each in a file of its own.
//!
//! A rule reads the index and the call graph and pushes [`Finding`]s; it never
//! changes them. Codes are stable once shipped: add new rules at the end.

use serde::{Deserialize, Serialize};

use super::callgraph::{CallGraph, CallTarget, EntryPoint, FuncId};
use super::catalog::{ApiKind, ApiMatch, Strategy};
use super::index::{Index, ModId};
use super::summary::Position;
use crate::config::AnalysisConfig;

pub mod blocking_call_in_async_function;
pub mod blocking_call_in_sync_function;
pub mod blocking_call_without_timeout;
pub mod blocking_function_called_from_async;
pub mod cancelled_error_swallowed;
pub mod docs;
pub mod independent_consecutive_calls;
pub mod sequential_calls_in_loop;
pub mod sync_bridge_in_async_function;
pub mod throttled_loop;
pub mod transitively_blocking_function;
pub mod work_queue_loop;

/// A rule's identity, for output and docs.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RuleInfo {
    /// Stable code, `RA` and three digits.
    pub code: &'static str,
    /// Kebab-case name of the pattern it flags.
    pub name: &'static str,
    /// One line: what it flags.
    pub summary: &'static str,
    /// The rule's source file, whose doc comment is its documentation.
    pub source: &'static str,
}

type Check = fn(&Context<'_>, &mut Vec<Finding>);

/// Every rule, in code order.
const REGISTRY: &[(RuleInfo, Check)] = &[
    (blocking_call_in_sync_function::INFO, blocking_call_in_sync_function::check),
    (transitively_blocking_function::INFO, transitively_blocking_function::check),
    (blocking_call_in_async_function::INFO, blocking_call_in_async_function::check),
    (blocking_function_called_from_async::INFO, blocking_function_called_from_async::check),
    (sequential_calls_in_loop::INFO, sequential_calls_in_loop::check),
    (blocking_call_without_timeout::INFO, blocking_call_without_timeout::check),
    (sync_bridge_in_async_function::INFO, sync_bridge_in_async_function::check),
    (cancelled_error_swallowed::INFO, cancelled_error_swallowed::check),
    (throttled_loop::INFO, throttled_loop::check),
    (work_queue_loop::INFO, work_queue_loop::check),
    (independent_consecutive_calls::INFO, independent_consecutive_calls::check),
];

/// Every rule's identity, in code order.
pub fn all_rules() -> Vec<RuleInfo> {
    REGISTRY.iter().map(|(info, _)| *info).collect()
}

/// The rule with this code.
pub fn rule(code: &str) -> Option<RuleInfo> {
    REGISTRY.iter().map(|(info, _)| *info).find(|r| r.code == code)
}

/// What rules read.
pub struct Context<'a> {
    pub index: &'a Index<'a>,
    pub graph: &'a CallGraph,
    pub config: &'a AnalysisConfig,
}

/// How the blocking call of a finding becomes async.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Replacement {
    pub kind: ApiKind,
    pub strategy: Strategy,
    /// The async API that replaces it (`httpx.AsyncClient.get`, `asyncio.to_thread`).
    pub replacement: String,
}

/// One finding.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    pub code: &'static str,
    pub name: &'static str,
    /// Relative to the repository root, `/`-separated.
    pub path: String,
    /// 1-based.
    pub line: u32,
    /// 1-based, in characters.
    pub column: u32,
    /// The enclosing function's qualified name (`pkg.mod.Class.method`).
    pub function: Option<String>,
    /// The qualified blocking API involved (`requests.get`).
    pub api: Option<String>,
    pub message: String,
    /// For findings caused through calls: the functions from here to the API.
    pub call_path: Vec<String>,
    /// Set when the function is an entry point whose sync name must be kept.
    pub entry_point: Option<EntryPoint>,
    /// How the blocking call is replaced.
    pub fix: Option<Replacement>,
}

impl Context<'_> {
    /// Every call made directly in a sync (`is_async == false`) or async function,
    /// outside lambdas, as (function id, function, its module, call index, call site).
    pub fn calls_in_functions(
        &self,
        is_async: bool,
    ) -> impl Iterator<Item = (FuncId, &super::callgraph::Function, ModId, u32, &super::summary::CallSite)> {
        self.graph.functions.iter().enumerate().filter(move |(_, f)| f.is_async == is_async).flat_map(move |(fi, f)| {
            let m = f.at.module;
            f.calls.iter().filter_map(move |&ci| {
                let call = self.graph.call(self.index, m, ci);
                // A lambda's body runs when the lambda is called, not here.
                (!call.in_lambda).then_some((fi as FuncId, f, m, ci, call))
            })
        })
    }

    /// Whether findings in this function are reported (test code is opt-in).
    pub fn reports(&self, f: FuncId) -> bool {
        self.config.include_tests || !self.graph.functions[f as usize].in_test
    }

    /// A finding at `pos` in module `m`.
    pub fn finding(
        &self,
        rule: &RuleInfo,
        m: ModId,
        pos: Position,
        function: Option<FuncId>,
        message: String,
    ) -> Finding {
        let f = function.map(|f| &self.graph.functions[f as usize]);
        Finding {
            code: rule.code,
            name: rule.name,
            path: self.index.modules[m as usize].rel.clone(),
            line: pos.line,
            column: pos.column,
            function: f.map(|f| f.qualname.to_string()),
            api: None,
            message,
            call_path: Vec::new(),
            entry_point: f.and_then(|f| f.entry_point),
            fix: None,
        }
    }

    /// The replacement the catalog gives for an API.
    pub fn replacement(&self, api: &ApiMatch) -> Replacement {
        let entry = self.index.catalog.entry(api.id);
        Replacement { kind: entry.kind, strategy: entry.strategy, replacement: self.index.catalog.replacement(api) }
    }

    /// The blocking API a call site targets, if it does.
    pub fn blocking_target(&self, m: ModId, call: u32) -> Option<&ApiMatch> {
        match &self.graph.targets[m as usize][call as usize] {
            CallTarget::Blocking(api) => Some(api),
            _ => None,
        }
    }

    /// A `process.wait()` that an earlier `process.communicate()` already reaped.
    pub fn reaped_wait(&self, m: ModId, call: u32) -> bool {
        let calls = &self.index.modules[m as usize].summary.calls;
        super::callgraph::reaped_wait(calls, &self.graph.targets[m as usize], call as usize)
    }

    /// "`self.session.get` (`requests.Session.get`)", or just "`requests.get`" when the two agree.
    pub fn call_description(&self, m: ModId, call: u32, api: &ApiMatch) -> String {
        let written = self.callee_text(m, call);
        if written == api.name { format!("`{written}`") } else { format!("`{written}` (`{}`)", api.name) }
    }

    /// The call's callee as written (`self.session.get`).
    pub fn callee_text(&self, m: ModId, call: u32) -> String {
        let site = &self.index.modules[m as usize].summary.calls[call as usize];
        site.callee.as_ref().map(super::index::chain_text).unwrap_or_else(|| "<expression>".to_string())
    }
}

/// Why a function cannot simply become `async def`, when that is so.
pub fn conversion_note(ctx: &Context<'_>, f: FuncId) -> Option<String> {
    let func = &ctx.graph.functions[f as usize];
    let scope = &ctx.index.modules[func.at.module as usize].summary.scopes[func.at.scope as usize];
    let name = func.name.as_str();
    let is_property = scope
        .decorators
        .iter()
        .any(|d| d.last().is_some_and(|l| l == "property" || l == "cached_property" || l == "setter"));
    let note = match name {
        "__enter__" => "`__enter__` cannot be async: add `__aenter__` for `async with`".to_string(),
        "__exit__" => "`__exit__` cannot be async: add `__aexit__` for `async with`".to_string(),
        "__iter__" => "`__iter__` cannot be async: add `__aiter__` for `async for`".to_string(),
        "__next__" => "`__next__` cannot be async: add `__anext__` for `async for`".to_string(),
        "__init__" | "__new__" => format!("`{name}` cannot be async: move the I/O to an async factory or `__aenter__`"),
        _ if name.starts_with("__") && name.ends_with("__") => {
            format!("`{name}` cannot be async: Python calls it synchronously")
        }
        _ if is_property => "a property cannot be awaited: turn it into an async method".to_string(),
        _ if func.is_generator => "a generator becomes an async generator: callers switch to `async for`".to_string(),
        _ => return None,
    };
    Some(note)
}

/// How to say what replaces a blocking call.
pub fn fix_sentence(fix: &Replacement) -> String {
    match fix.strategy {
        Strategy::Native => format!("use `{}`", fix.replacement),
        Strategy::Thread => "run it in a worker thread with `await asyncio.to_thread(...)`".to_string(),
    }
}

/// Run every rule; findings come out sorted by path, line, column and code.
pub fn check_all(ctx: &Context<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (_, check) in REGISTRY {
        check(ctx, &mut findings);
    }
    findings.sort_by(|a, b| (&a.path, a.line, a.column, a.code).cmp(&(&b.path, b.line, b.column, b.code)));
    findings.dedup();
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let rules = all_rules();
        for (i, r) in rules.iter().enumerate() {
            assert!(
                r.code.len() == 5 && r.code.starts_with("RA") && r.code[2..].chars().all(|c| c.is_ascii_digit()),
                "{}",
                r.code
            );
            assert!(rules[..i].iter().all(|o| o.code != r.code && o.name != r.name), "duplicate {}", r.code);
            assert!(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(r.source).is_file(),
                "{} has no source file {}",
                r.code,
                r.source
            );
        }
    }
}
