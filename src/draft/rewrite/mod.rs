//! The rules drafter's rewrite of one Python file for a set of plans.
//!
//! Works on a fresh tree-sitter parse of the file, guided by the analysis: the
//! plan says which functions become async and how each blocking call is replaced;
//! the call graph says what every call site calls. The phases run from small to
//! large so that a larger rewrite takes the already-edited text of what it
//! contains; each lives in a file of its own:
//!
//! - `types`: exception and type names that a native replacement renames;
//! - `functions`: `def` → `async def`, sync wrappers, async generators;
//! - `calls`: awaits, threads, and the native mappings' call edits;
//! - `clients`: client attributes, `async with` clients, `__aenter__`;
//! - `context_managers`: `__aenter__`/`__aexit__` for classes whose `__enter__` blocks;
//! - `decorators`: async twins of repository decorators' wrappers;
//! - `properties`: property getters that become async methods, and their readers;
//! - `statements`: consumers of async generators, generator expressions;
//! - `gathers`: loops and comprehensions run as bounded gathers;
//! - `call_groups`: consecutive independent reads run as one gather;
//! - `throttle`: loops that sleep on every item, their items started that far apart;
//! - `work_queue`: work queues walked by levels, each level's requests gathered;
//! - `imports`: what the edits need imported, and what they left unused.

mod align;
mod call_groups;
mod calls;
mod clients;
mod context_managers;
mod decorators;
mod functions;
mod gathers;
mod imports;
mod properties;
mod statements;
#[cfg(test)]
pub(crate) mod testing;
mod throttle;
mod types;
mod work_queue;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use tree_sitter::{Node, Tree};

use super::edits::Edits;
use super::python::{self, fresh_name, indent_at, line_start, next_line_start, text};
use super::{KeptSequential, Refusal};
use crate::analysis::Model;
use crate::analysis::callgraph::{CallTarget, FuncId};
use crate::analysis::index::{ModId, Value};
use crate::analysis::summary::{CallSite, LoopInfo, LoopKind};
use crate::plan::{CallRewrite, Plan, PlanCall, PlanClient, PlanFunction, Settings, Twin};
pub use calls::CallEdit;
use imports::ImportNeeds;

/// Everything one file's rewrite reads.
pub struct FileJob<'a, 'c> {
    pub model: &'a Model<'c>,
    pub module: ModId,
    pub src: &'a str,
    /// Every function of the plans being drafted, by id (calls cross files).
    pub functions: &'a HashMap<FuncId, &'a PlanFunction>,
    pub offloaded: &'a BTreeSet<FuncId>,
    pub plans: &'a [&'a Plan],
    /// Classes (module, scope) whose client attribute becomes async, in any file.
    pub client_owners: &'a BTreeSet<(ModId, u32)>,
    /// `pkg._async_bridge`.
    pub helper_import: &'a str,
    pub settings: &'a Settings,
    /// pytest-asyncio runs in auto mode: converted tests need no `@pytest.mark.asyncio`.
    pub asyncio_auto: bool,
}

/// A rewritten file.
pub struct FileResult {
    pub text: String,
    /// Things worth knowing that are not failures (a loop kept sequential, and why).
    pub notes: Vec<String>,
    /// The plans' loops and groups of calls this rewrite left sequential.
    pub kept: Vec<KeptSequential>,
}

/// Rewrite one file, or say why the rules drafter cannot do it safely.
pub fn rewrite_file(job: &FileJob<'_, '_>) -> Result<FileResult, Vec<Refusal>> {
    let tree = python::parse(job.src);
    let mut r = Rewriter::new(job, &tree);
    r.run();
    if !r.reasons.is_empty() {
        return Err(r.reasons);
    }
    let text = r.finish().map_err(|e| vec![Refusal::file(&r.module().rel, e)])?;
    let text = align::realign(job.src, &text);
    Ok(FileResult { text, notes: r.notes, kept: r.kept })
}

/// The renames native replacements bring (`requests.HTTPError` → `httpx.HTTPStatusError`).
#[derive(Default)]
struct Renames {
    /// Qualified names to rewrite in annotations and `except` clauses.
    map: BTreeMap<String, String>,
    /// File-wide when nothing in the file keeps using the library synchronously;
    /// otherwise only inside the plan's functions.
    file_wide: bool,
}

/// Rewrites that wait for a later phase, because they take the edited text of
/// what they contain.
#[derive(Default)]
struct Deferred {
    /// Statements (start, end) to wrap in `async with httpx.AsyncClient() as <name>`, with the name and options.
    client_statements: BTreeMap<(usize, usize), (String, String)>,
    /// `list(gen())` calls (outer start, outer end, inner start, inner end) becoming async comprehensions.
    list_consumers: Vec<(usize, usize, usize, usize)>,
    /// `yield from` statements (start, end, value start, value end, async).
    yield_froms: Vec<(usize, usize, usize, usize, bool)>,
    /// Groups of `target = call` statements whose calls make coroutines for one gather.
    call_groups: Vec<Vec<call_groups::GroupMember>>,
    /// Repository subclasses of a sync client (class scope) that get an async twin on its async class.
    twins: BTreeMap<u32, &'static crate::draft::mappings::ClientClass>,
    /// Work queues walked by levels, their requests making coroutines for the gathers.
    work_queues: Vec<work_queue::Level>,
}

/// Where the rewritten code now waits.
#[derive(Default)]
struct Awaits {
    /// Byte positions where the rewritten code now suspends (awaits, `async for`).
    suspends: Vec<usize>,
    /// Calls (start byte) that make a coroutine for a gather instead of awaiting it.
    no_await: HashSet<usize>,
    /// `with` statements that become `async with` (start bytes).
    async_withs: BTreeSet<usize>,
    /// `for` loops that become `async for` over `iterate_in_thread` (start bytes).
    async_fors: BTreeSet<usize>,
}

/// One file's rewrite in progress: the edits made so far and what the phases
/// tell each other.
struct Rewriter<'a, 'c, 't> {
    job: &'a FileJob<'a, 'c>,
    tree: &'t Tree,
    src: &'a str,
    /// The file's newline and indentation unit, which every inserted line follows.
    nl: &'static str,
    unit: String,
    edits: Edits,
    /// Why the rules cannot rewrite this file safely.
    reasons: Vec<Refusal>,
    notes: Vec<String>,
    kept: Vec<KeptSequential>,
    imports: ImportNeeds,
    renames: Renames,
    deferred: Deferred,
    awaits: Awaits,
    /// Client constructions already made async (start bytes): every call on a
    /// `with` local asks for its client, which is converted once.
    constructions: BTreeSet<usize>,
}

impl<'a, 'c, 't> Rewriter<'a, 'c, 't> {
    fn new(job: &'a FileJob<'a, 'c>, tree: &'t Tree) -> Self {
        Rewriter {
            job,
            tree,
            src: job.src,
            nl: python::newline(job.src),
            unit: python::indent_unit(tree, job.src),
            edits: Edits::new(),
            reasons: Vec::new(),
            notes: Vec::new(),
            kept: Vec::new(),
            imports: ImportNeeds::default(),
            renames: Renames::default(),
            deferred: Deferred::default(),
            awaits: Awaits::default(),
            constructions: BTreeSet::new(),
        }
    }

    /// The phases, from small rewrites to the larger ones that contain them.
    fn run(&mut self) {
        self.collect_renames();
        self.rename_types();
        self.plan_gathers_of_comprehensions();
        self.plan_call_groups();
        self.plan_work_queues();
        let functions = self.local_functions();
        for &(id, pf) in &functions {
            self.add_wrapper(id, pf);
        }
        for &(id, pf) in &functions {
            self.convert_header(id, pf);
        }
        for &(id, _) in &functions {
            self.convert_calls(id);
        }
        for (id, pf) in self.local_plan_functions(true) {
            self.add_twin(id, pf);
        }
        self.convert_properties();
        self.convert_context_managers();
        self.convert_clients();
        self.add_twins();
        self.convert_decorators();
        self.mark_async_withs();
        if !self.reasons.is_empty() {
            return;
        }
        self.convert_list_consumers();
        self.convert_yield_froms();
        self.gather_call_groups();
        self.wrap_client_statements();
        self.space_throttled_loops();
        self.gather_loops();
        self.gather_comprehensions();
        self.walk_work_queues();
        self.check_generator_expressions();
    }

    fn module(&self) -> &'a crate::analysis::index::Module {
        &self.job.model.index.modules[self.job.module as usize]
    }

    fn call_site(&self, ci: u32) -> &'a CallSite {
        &self.module().summary.calls[ci as usize]
    }

    fn target(&self, ci: u32) -> &'a CallTarget {
        &self.job.model.graph.targets[self.job.module as usize][ci as usize]
    }

    /// Plan functions defined in this file that are converted, in source order.
    fn local_functions(&self) -> Vec<(FuncId, &'a PlanFunction)> {
        self.local_plan_functions(false)
    }

    /// Plan functions defined in this file, in source order: the converted ones, or the twins.
    fn local_plan_functions(&self, twins: bool) -> Vec<(FuncId, &'a PlanFunction)> {
        let graph = &self.job.model.graph;
        let mut out: Vec<(FuncId, &PlanFunction)> = self
            .job
            .functions
            .iter()
            .filter(|(id, pf)| {
                graph.functions[**id as usize].at.module == self.job.module && pf.twin.is_some() == twins
            })
            .map(|(id, pf)| (*id, *pf))
            .collect();
        out.sort_by_key(|(id, _)| graph.functions[*id as usize].at.scope);
        out
    }

    fn plan_call(&self, ci: u32) -> Option<&'a PlanCall> {
        self.job.plans.iter().flat_map(|p| p.calls.iter()).find(|c| c.module == self.job.module && c.call == ci)
    }

    fn function_node(&self, id: FuncId) -> Option<Node<'t>> {
        let f = &self.job.model.graph.functions[id as usize];
        let scope = &self.module().summary.scopes[f.at.scope as usize];
        python::node_at(self.tree, scope.pos.byte as usize, scope.end_byte as usize, "function_definition")
    }

    fn call_node(&self, ci: u32) -> Option<Node<'t>> {
        let call = self.call_site(ci);
        python::node_at(self.tree, call.pos.byte as usize, call.end_byte as usize, "call")
    }

    /// A loop or group of calls of the plans (at `line`) that stays sequential: a
    /// note, and a record the plan moves from its gathers to `sequential`.
    fn keep_sequential(&mut self, line: u32, kind: &'static str, why: impl Into<String>) {
        let why = why.into();
        let path = self.module().rel.clone();
        self.notes.push(format!("{path}:{line}: {kind} kept sequential: {why}"));
        self.kept.push(KeptSequential { path, line, kind, why });
    }

    /// Record why the file cannot be rewritten, at the line holding byte `line_of`.
    fn fail(&mut self, line_of: usize, why: impl Into<String>) {
        let line = self.src[..line_of].matches('\n').count() as u32 + 1;
        self.reasons.push(Refusal { path: self.module().rel.clone(), line: Some(line), reason: why.into() });
    }
}

/// The innermost function definition around `node`.
fn enclosing_function(node: Node) -> Option<Node> {
    let mut current = node.parent();
    while let Some(p) = current {
        if p.kind() == "function_definition" {
            return Some(p);
        }
        current = p.parent();
    }
    None
}
