//! What a call does, as far as running it concurrently is concerned: whether it
//! waits on I/O, and whether it only reads, so that it may run in either order
//! with other reads (RA110 `work-queue-loop`, RA111 `independent-consecutive-calls`).
//!
//! "Only reads" is decided from the catalog, never from how a call is spelled:
//! an HTTP `GET`, `HEAD` or `OPTIONS` request, or an LLM call that generates,
//! embeds or lists (not one that uploads, deletes or manages batches); a
//! repository function reads only when every I/O call it makes, down the call
//! graph, reads only. Everything else — file, database, socket and subprocess
//! calls, sleeps, other HTTP methods, unknown awaited calls — is treated as if it
//! wrote: it may depend on running in order.

use rustc_hash::FxHashMap;

use super::callgraph::{CallGraph, CallTarget, FuncId};
use super::catalog::{ApiKind, Strategy, expand_braces};
use super::index::{Index, ModId};

/// How deep the read-only test follows calls before it gives up (and says "writes").
const MAX_DEPTH: u32 = 32;

/// HTTP methods that do not change anything on the server, by the method's name in the API.
const HTTP_READS: &[&str] = &["get", "head", "options"];

/// Kinds of I/O whose waiting concurrency hides: another machine or process does
/// the work. Local file and database access, sleeps and terminal input are not.
const REMOTE: &[ApiKind] = &[ApiKind::Http, ApiKind::Llm, ApiKind::Socket, ApiKind::Subprocess];

/// LLM API resources whose calls create, change or delete stored objects.
const LLM_STORES: &[&str] = &["files", "batches"];

/// LLM API methods that change or delete what they name.
const LLM_CHANGES: &[&str] = &["delete", "cancel"];

/// Whether call `ci` of module `m` waits on I/O: a call into the async closure (a
/// blocking API, a function that must become async), or an awaited call in async
/// code. Calls in lambdas run elsewhere and never count.
pub fn waits(index: &Index<'_>, graph: &CallGraph, m: ModId, ci: u32) -> bool {
    let call = graph.call(index, m, ci);
    let Some(f) = graph.caller(m, ci) else { return false };
    if call.in_lambda {
        return false;
    }
    match &graph.targets[m as usize][ci as usize] {
        CallTarget::Blocking(_) => true,
        CallTarget::Repo(g) => {
            graph.closure[*g as usize].is_some() || (graph.functions[*g as usize].is_async && call.awaited)
        }
        _ => graph.functions[f as usize].is_async && call.awaited,
    }
}

/// Whether an API of this kind and qualified name only reads.
fn api_reads(kind: ApiKind, name: &str) -> bool {
    let method = name.rsplit('.').next().unwrap_or(name);
    match kind {
        ApiKind::Http => HTTP_READS.contains(&method),
        ApiKind::Llm => !LLM_CHANGES.contains(&method) && !name.split('.').any(|s| LLM_STORES.contains(&s)),
        _ => false,
    }
}

/// The read-only test over the call graph, remembered per function.
pub struct Effects<'a> {
    index: &'a Index<'a>,
    graph: &'a CallGraph,
    /// The native async replacements of catalog APIs (`httpx.AsyncClient.get`), with
    /// the kind of the API they replace: how awaited calls in async code are judged.
    replacements: FxHashMap<String, ApiKind>,
    /// Per function: whether it only reads (and does I/O at all), once known.
    reads_only: Vec<Option<bool>>,
    /// Per function: whether it waits on remote I/O, once known.
    remote: Vec<Option<bool>>,
}

impl<'a> Effects<'a> {
    pub fn new(index: &'a Index<'a>, graph: &'a CallGraph) -> Effects<'a> {
        let mut replacements = FxHashMap::default();
        for entry in index.catalog.entries.iter().filter(|e| e.strategy == Strategy::Native) {
            for name in entry.names.iter().flat_map(|p| expand_braces(p)) {
                let last = name.rsplit('.').next().unwrap_or(&name);
                replacements.insert(entry.replacement.replace("{name}", last), entry.kind);
            }
        }
        let n = graph.functions.len();
        Effects { index, graph, replacements, reads_only: vec![None; n], remote: vec![None; n] }
    }

    /// Whether call `ci` of module `m` waits on another machine or process (HTTP, an
    /// LLM, a socket, a child process), directly or down the call graph; an awaited
    /// call in async code counts unless it is the replacement of a local API.
    pub fn waits_remotely(&mut self, m: ModId, ci: u32) -> bool {
        self.remote_at(m, ci, 0)
    }

    fn remote_at(&mut self, m: ModId, ci: u32, depth: u32) -> bool {
        let graph = self.graph;
        let call = graph.call(self.index, m, ci);
        if call.in_lambda {
            return false;
        }
        let in_async = graph.caller(m, ci).is_some_and(|f| graph.functions[f as usize].is_async);
        match &graph.targets[m as usize][ci as usize] {
            CallTarget::Blocking(api) => REMOTE.contains(&self.index.catalog.entry(api.id).kind),
            CallTarget::Repo(g)
                if graph.closure[*g as usize].is_some() || (graph.functions[*g as usize].is_async && call.awaited) =>
            {
                self.function_remote(*g, depth + 1)
            }
            CallTarget::External(q) if in_async && call.awaited => {
                self.replacements.get(q.as_str()).is_none_or(|kind| REMOTE.contains(kind))
            }
            _ => in_async && call.awaited,
        }
    }

    /// Whether function `g` makes a call that waits remotely.
    fn function_remote(&mut self, g: FuncId, depth: u32) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        if let Some(known) = self.remote[g as usize] {
            return known;
        }
        self.remote[g as usize] = Some(false);
        let func = &self.graph.functions[g as usize];
        let m = func.at.module;
        let found = func.calls.iter().any(|&ci| self.remote_at(m, ci, depth));
        self.remote[g as usize] = Some(found);
        found
    }

    /// Whether call `ci` of module `m` does I/O that only reads.
    pub fn call_reads_only(&mut self, m: ModId, ci: u32) -> bool {
        self.reads_at(m, ci, 0) == Some(true)
    }

    /// For an I/O call: whether it only reads; `None` for a call that does no I/O.
    fn reads_at(&mut self, m: ModId, ci: u32, depth: u32) -> Option<bool> {
        let graph = self.graph;
        let call = graph.call(self.index, m, ci);
        if call.in_lambda {
            return None;
        }
        let in_async = graph.caller(m, ci).is_some_and(|f| graph.functions[f as usize].is_async);
        match &graph.targets[m as usize][ci as usize] {
            CallTarget::Blocking(api) => Some(api_reads(self.index.catalog.entry(api.id).kind, &api.name)),
            CallTarget::Repo(g)
                if graph.closure[*g as usize].is_some() || (graph.functions[*g as usize].is_async && call.awaited) =>
            {
                Some(self.function_reads_only(*g, depth + 1))
            }
            CallTarget::External(q) if in_async && call.awaited => {
                Some(self.replacements.get(q.as_str()).is_some_and(|&kind| api_reads(kind, q)))
            }
            _ if in_async && call.awaited => Some(false),
            _ => None,
        }
    }

    /// Whether function `g` does I/O and every I/O call it makes only reads.
    fn function_reads_only(&mut self, g: FuncId, depth: u32) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        if let Some(known) = self.reads_only[g as usize] {
            return known;
        }
        // Provisionally no: a recursive call reached again while this one is open writes.
        self.reads_only[g as usize] = Some(false);
        let graph = self.graph;
        let func = &graph.functions[g as usize];
        let m = func.at.module;
        let mut io = false;
        for &ci in &func.calls {
            match self.reads_at(m, ci, depth) {
                Some(true) => io = true,
                Some(false) => return false,
                None => {}
            }
        }
        self.reads_only[g as usize] = Some(io);
        io
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_safe_http_methods_and_llm_generation() {
        assert!(api_reads(ApiKind::Http, "requests.get"));
        assert!(api_reads(ApiKind::Http, "httpx.AsyncClient.head"));
        assert!(!api_reads(ApiKind::Http, "requests.Session.post"));
        assert!(!api_reads(ApiKind::Http, "requests.request"));
        assert!(api_reads(ApiKind::Llm, "openai.OpenAI.chat.completions.create"));
        assert!(api_reads(ApiKind::Llm, "openai.OpenAI.models.list"));
        assert!(!api_reads(ApiKind::Llm, "openai.OpenAI.files.create"));
        assert!(!api_reads(ApiKind::Llm, "anthropic.Anthropic.messages.batches.cancel"));
        assert!(!api_reads(ApiKind::File, "pathlib.Path.read_text"));
        assert!(!api_reads(ApiKind::Db, "sqlite3.Cursor.fetchall"));
    }
}
