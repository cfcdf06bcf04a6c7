//! Deterministic analysis: files → summaries → index → call graph → findings.
//!
//! Reading and parsing run in parallel across cores (each file on its own);
//! everything after works on the small per-file summaries. Per-file problems
//! become diagnostics; only a path that cannot be analysed at all is an error.

pub mod cache;
pub mod callgraph;
pub mod catalog;
pub mod effects;
pub mod extract;
pub mod flow;
pub mod index;
pub mod intern;
mod loop_flow;
pub mod loops;
mod memo;
pub mod overrides;
mod registry;
pub mod report_cache;
pub mod rules;
pub mod session;
pub mod sources;
pub mod summary;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use cache::Cache;
use callgraph::{CallGraph, ClosureReason, EntryPoint};
use catalog::Catalog;
use index::{Index, Module};
use rules::{Context, Finding};
use sources::{Diagnostic, DiagnosticKind, ModuleNamer, SourceFile};

/// Why an analysis could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("{0} does not exist")]
    NotFound(PathBuf),
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cannot start the worker threads: {0}")]
    Threads(String),
}

/// Where time went, for `--format json` and the benchmark.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Timings {
    pub walk_ms: f64,
    pub parse_ms: f64,
    pub resolve_ms: f64,
    pub rules_ms: f64,
    pub total_ms: f64,
}

/// Counts of what was analysed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Stats {
    /// Python files found.
    pub files: usize,
    /// Files parsed in this run.
    pub parsed: usize,
    /// Files whose summary came from the cache.
    pub cached: usize,
    pub lines: usize,
    pub functions: usize,
    pub call_sites: usize,
    /// Sync functions outside test code that must become async.
    pub closure: usize,
    /// Test functions that reach blocking code (entry points; they keep calling sync wrappers).
    pub closure_tests: usize,
    /// Nothing the report depends on had changed since the last run: its report was reused.
    #[serde(default)]
    pub reused: bool,
    pub timings: Timings,
}

/// A function of the async closure, for reports and plans.
#[derive(Debug, Clone, Serialize)]
pub struct ClosureFunction {
    pub function: String,
    pub path: String,
    pub line: u32,
    /// Blocks itself (`direct`), through a call (`propagated`) or through an
    /// override (`override`): one of [`CLOSURE_REASONS`].
    pub reason: &'static str,
    pub entry_point: Option<EntryPoint>,
    pub call_path: Vec<String>,
}

/// The reasons a [`ClosureFunction`] can give.
pub const CLOSURE_REASONS: [&str; 3] = ["direct", "propagated", "override"];

/// The result of analysing a repository.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The repository root; finding paths are relative to it.
    pub root: PathBuf,
    pub findings: Vec<Finding>,
    pub closure: Vec<ClosureFunction>,
    pub diagnostics: Vec<Diagnostic>,
    pub stats: Stats,
}

/// A Python file read, checked and summarised.
struct Loaded {
    file: SourceFile,
    /// The indexed module, built here so indexing runs in parallel too.
    module: Option<Module>,
    diagnostics: Vec<Diagnostic>,
    key: Option<u128>,
    /// The file's bytes, between reading and parsing (only when not cached).
    bytes: Option<Vec<u8>>,
    fresh_blob: Option<Vec<u8>>,
    /// Parsed in this run (not taken from the cache).
    parsed: bool,
    lines: usize,
}

/// The thread pool analysis runs on: big stacks, since deeply nested Python
/// expressions mean deep recursion in the tree walk.
fn pool() -> Result<&'static rayon::ThreadPool, AnalysisError> {
    static POOL: OnceLock<Result<rayon::ThreadPool, String>> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .stack_size(64 * 1024 * 1024)
            .thread_name(|i| format!("analysis-{i}"))
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| AnalysisError::Threads(e.clone()))
}

/// How far an analysis has got, readable from another thread (for progress display).
#[derive(Debug, Default)]
pub struct Progress {
    /// Files found by the walk (0 until the walk is done).
    pub total: AtomicUsize,
    /// Files read and summarised so far.
    pub done: AtomicUsize,
}

/// The absolute path to scan and the repository root it belongs to (where
/// configuration is read and paths are made relative).
pub fn locate(path: &Path) -> Result<(PathBuf, PathBuf), AnalysisError> {
    if !path.exists() {
        return Err(AnalysisError::NotFound(path.to_path_buf()));
    }
    let scan = std::fs::canonicalize(path).map_err(|source| AnalysisError::Io { path: path.to_path_buf(), source })?;
    let root = sources::repository_root(&scan);
    Ok((scan, root))
}

/// Analyse the repository containing `path` (only files under `path` are read).
pub fn analyze(path: &Path, config: &Config, catalog: &Catalog) -> Result<Report, AnalysisError> {
    analyze_with_progress(path, config, catalog, &Progress::default())
}

/// A finished analysis with the index and call graph kept: what planning reads.
pub struct Model<'c> {
    pub report: Report,
    pub index: Index<'c>,
    pub graph: CallGraph,
}

/// [`analyze`], keeping the index and call graph for planning.
pub fn analyze_model<'c>(
    path: &Path,
    config: &Config,
    catalog: &'c Catalog,
    progress: &Progress,
) -> Result<Model<'c>, AnalysisError> {
    let (scan, root) = locate(path)?;
    let cache = open_cache(&root, config);
    pool()?.install(|| {
        let inputs = read_inputs(&root, &scan, config, &cache, progress);
        Ok(build_model(&root, config, catalog, cache, inputs, progress))
    })
}

/// [`analyze`], counting files into `progress` as they are done. When nothing
/// the report depends on has changed since the last run, that run's report is
/// given back ([`report_cache`]).
pub fn analyze_with_progress(
    path: &Path,
    config: &Config,
    catalog: &Catalog,
    progress: &Progress,
) -> Result<Report, AnalysisError> {
    let (scan, root) = locate(path)?;
    let cache = open_cache(&root, config);
    let stored = cache.location().map(report_cache::location);
    pool()?.install(|| {
        let inputs = read_inputs(&root, &scan, config, &cache, progress);
        let fingerprint = stored.as_ref().map(|_| fingerprint(&root, &scan, config, catalog, &inputs));
        if let (Some(path), Some(fingerprint)) = (&stored, fingerprint)
            && let Some(report) = report_cache::load(path, fingerprint)
        {
            progress.done.store(inputs.files.len(), Ordering::Relaxed);
            return Ok(reused(report, &inputs));
        }
        let Model { report, index, graph } = build_model(&root, config, catalog, cache, inputs, progress);
        if let (Some(path), Some(fingerprint)) = (&stored, fingerprint)
            && let Err(err) = report_cache::save(path, fingerprint, &report)
        {
            tracing::warn!("could not store the report for the next run: {err}");
        }
        // Freeing hundreds of thousands of small allocations takes a while; the report
        // does not need them, so let another thread do it (a CLI exits before it matters).
        let Index { modules, .. } = index;
        std::thread::spawn(move || drop((modules, graph)));
        Ok(report)
    })
}

/// The summary cache of `root`, or a disabled one.
fn open_cache(root: &Path, config: &Config) -> Cache {
    if config.analysis.cache {
        cache::default_location(root).map(Cache::load).unwrap_or_default()
    } else {
        Cache::disabled()
    }
}

/// The Python files found under the scanned folder, each read and keyed:
/// what a report depends on that is read from the repository's files.
struct Inputs {
    files: Vec<Loaded>,
    /// Problems found by the walk.
    diagnostics: Vec<Diagnostic>,
    namer: ModuleNamer,
    timings: Timings,
    started: Instant,
}

/// Walk the folder and read every Python file (in parallel), keeping the bytes
/// of those the summary cache does not have.
fn read_inputs(root: &Path, scan: &Path, config: &Config, cache: &Cache, progress: &Progress) -> Inputs {
    let started = Instant::now();
    let mut timings = Timings::default();
    let (found, diagnostics) = sources::discover(root, scan, &config.analysis);
    timings.walk_ms = ms(started);
    // Only a partial scan needs the disk to find packages above what was walked.
    let namer = ModuleNamer::with_root(&found, (scan != root).then_some(root));
    progress.total.store(found.len(), Ordering::Relaxed);
    let max_size = config.analysis.max_file_size;
    let files = found.into_par_iter().map(|file| read(file, max_size, cache)).collect();
    Inputs { files, diagnostics, namer, timings, started }
}

/// What the report of these inputs depends on: the files read (paths and
/// contents), what could not be read, `pyproject.toml` (console scripts), the
/// analysis settings and the catalog.
fn fingerprint(root: &Path, scan: &Path, config: &Config, catalog: &Catalog, inputs: &Inputs) -> u128 {
    let mut fp = report_cache::Fingerprint::default();
    fp.add(root.as_os_str().as_encoded_bytes());
    fp.add(scan.as_os_str().as_encoded_bytes());
    fp.add(format!("{:?}", config.analysis).as_bytes());
    fp.add(format!("{catalog:?}").as_bytes());
    fp.add(&std::fs::read(root.join("pyproject.toml")).unwrap_or_default());
    for d in inputs.diagnostics.iter().chain(inputs.files.iter().flat_map(|f| &f.diagnostics)) {
        fp.add(format!("{d:?}").as_bytes());
    }
    for f in &inputs.files {
        fp.add(f.file.rel.as_bytes());
        fp.add(&f.key.unwrap_or_default().to_le_bytes());
    }
    fp.finish()
}

/// A stored report given back for unchanged inputs, with this run's timings.
fn reused(mut report: Report, inputs: &Inputs) -> Report {
    let stats = &mut report.stats;
    // Every summary the report was made from is the cached one of an unchanged file.
    stats.cached += std::mem::take(&mut stats.parsed);
    stats.reused = true;
    let total = ms(inputs.started);
    stats.timings = Timings { parse_ms: total - inputs.timings.walk_ms, total_ms: total, ..inputs.timings.clone() };
    report
}

/// Summarise the inputs (from the cache, or parsed), index them and analyse.
fn build_model<'c>(
    root: &Path,
    config: &Config,
    catalog: &'c Catalog,
    mut cache: Cache,
    inputs: Inputs,
    progress: &Progress,
) -> Model<'c> {
    let Inputs { files, mut diagnostics, namer, mut timings, started } = inputs;
    let loaded: Vec<Loaded> = files
        .into_par_iter()
        .map(|file| {
            let loaded = summarise(file, &cache, &namer);
            progress.done.fetch_add(1, Ordering::Relaxed);
            loaded
        })
        .collect();
    timings.parse_ms = ms(started) - timings.walk_ms;

    let t = Instant::now();
    let mut stats = Stats { files: loaded.len(), ..Stats::default() };
    let mut modules = Vec::with_capacity(loaded.len());
    let mut keys = Vec::with_capacity(loaded.len());
    let mut fresh = Vec::new();
    for l in loaded {
        diagnostics.extend(l.diagnostics);
        if let Some(key) = l.key {
            keys.push(key);
        }
        if l.parsed {
            stats.parsed += 1;
        } else if l.module.is_some() {
            stats.cached += 1;
        }
        if let (Some(blob), Some(key)) = (l.fresh_blob, l.key) {
            fresh.push((key, blob));
        }
        let Some(module) = l.module else { continue };
        stats.lines += l.lines;
        stats.call_sites += module.summary.calls.len();
        modules.push(module);
    }
    let index = Index::new(modules, catalog);
    if let Err(err) = cache.save(&keys, fresh) {
        tracing::warn!("could not write the analysis cache: {err}");
    }
    conclude(root, config, index, None, diagnostics, stats, timings, t, started)
}

/// From an index to the report: star-import diagnostics, the call graph (built
/// here unless an updated one is given), the rules and the closure. Shared by a
/// full run and an incremental update.
#[allow(clippy::too_many_arguments)]
fn conclude<'c>(
    root: &Path,
    config: &Config,
    index: Index<'c>,
    graph: Option<CallGraph>,
    mut diagnostics: Vec<Diagnostic>,
    mut stats: Stats,
    mut timings: Timings,
    resolve_started: Instant,
    started: Instant,
) -> Model<'c> {
    for m in &index.modules {
        for (pos, level, module) in &m.summary.star_imports {
            diagnostics.push(Diagnostic {
                kind: DiagnosticKind::UnresolvedImport,
                path: m.rel.clone(),
                line: Some(pos.line),
                column: Some(pos.column),
                message: format!(
                    "`from {}{} import *`: the names it brings in are not resolved",
                    ".".repeat(*level as usize),
                    module
                ),
            });
        }
    }
    let graph = graph.unwrap_or_else(|| CallGraph::build(&index, root));
    index.forget_members();
    timings.resolve_ms = ms(resolve_started);

    let t = Instant::now();
    let ctx = Context { index: &index, graph: &graph, config: &config.analysis };
    let findings = rules::check_all(&ctx);
    let closure = closure_report(&ctx);
    timings.rules_ms = ms(t);

    stats.functions = graph.functions.len();
    stats.closure_tests = closure.iter().filter(|c| c.entry_point == Some(EntryPoint::Test)).count();
    stats.closure = closure.len() - stats.closure_tests;
    diagnostics.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    timings.total_ms = ms(started);
    stats.timings = timings;
    Model { report: Report { root: root.to_path_buf(), findings, closure, diagnostics, stats }, index, graph }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

thread_local! {
    static PARSER: RefCell<tree_sitter::Parser> = RefCell::new(extract::new_parser());
}

/// Phase one for a file: read it, count its lines and key its content; the
/// bytes are kept only when the summary cache lacks them (they are parsed later).
fn read(file: SourceFile, max_size: u64, cache: &Cache) -> Loaded {
    let mut out = Loaded {
        file,
        module: None,
        diagnostics: Vec::new(),
        key: None,
        bytes: None,
        fresh_blob: None,
        parsed: false,
        lines: 0,
    };
    let Some(bytes) = read_source(&mut out, max_size) else { return out };
    out.lines = bytecount_lines(&bytes);
    // No cache, no key: hashing is then wasted work.
    out.key = cache.is_enabled().then(|| cache::content_key(&bytes));
    if !out.key.is_some_and(|key| cache.has(key)) {
        out.bytes = Some(bytes);
    }
    out
}

/// Phase two for a file read: its summary, decoded from the cache or parsed, indexed.
fn summarise(mut out: Loaded, cache: &Cache, namer: &ModuleNamer) -> Loaded {
    let summary = match (out.bytes.take(), out.key) {
        (Some(bytes), _) => summarize_fresh(&mut out, &bytes),
        // Only valid UTF-8 is ever cached, so a cache hit needs no second check.
        (None, Some(key)) => match cache.get(key) {
            Some(summary) => Some(summary),
            // Listed in the cache, but the entry would not decode: read the file again.
            None => read_source(&mut out, u64::MAX).and_then(|bytes| summarize_fresh(&mut out, &bytes)),
        },
        // It could not be read (a diagnostic says why).
        (None, None) => None,
    };
    let Some(summary) = summary else { return out };
    out.diagnostics.extend(summary_diagnostics(&summary, &out.file.rel));
    let (name, is_package) = namer.name(&out.file.rel);
    let is_test = sources::is_test_file(&out.file.rel);
    out.module = Some(Module::new(name, out.file.rel.clone(), is_package, is_test, Arc::new(summary)));
    out
}

/// The file's bytes, unless it cannot be read, is over the size limit or is binary
/// (each a diagnostic).
fn read_source(out: &mut Loaded, max_size: u64) -> Option<Vec<u8>> {
    let diag = |kind, message: String, rel: &str| Diagnostic {
        kind,
        path: rel.to_string(),
        line: None,
        column: None,
        message,
    };
    let size = match std::fs::metadata(&out.file.abs) {
        Ok(meta) => meta.len(),
        Err(err) => {
            out.diagnostics.push(diag(DiagnosticKind::Unreadable, format!("cannot read: {err}"), &out.file.rel));
            return None;
        }
    };
    if size > max_size {
        out.diagnostics.push(diag(
            DiagnosticKind::TooLarge,
            format!("skipped: {size} bytes is over the limit of {max_size} (analysis.max_file_size)"),
            &out.file.rel,
        ));
        return None;
    }
    let bytes = match std::fs::read(&out.file.abs) {
        Ok(bytes) => bytes,
        Err(err) => {
            out.diagnostics.push(diag(DiagnosticKind::Unreadable, format!("cannot read: {err}"), &out.file.rel));
            return None;
        }
    };
    if bytes[..bytes.len().min(8192)].contains(&0) {
        out.diagnostics.push(diag(DiagnosticKind::Binary, "skipped: binary content (NUL bytes)".into(), &out.file.rel));
        return None;
    }
    Some(bytes)
}

/// Parse and summarise source the cache did not have; none when it is not UTF-8 (a diagnostic).
fn summarize_fresh(out: &mut Loaded, bytes: &[u8]) -> Option<summary::FileSummary> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            let line = bytes[..err.valid_up_to()].iter().filter(|&&b| b == b'\n').count() as u32 + 1;
            out.diagnostics.push(Diagnostic {
                kind: DiagnosticKind::NotUtf8,
                path: out.file.rel.clone(),
                line: Some(line),
                column: None,
                message: format!("skipped: not valid UTF-8 (first bad byte at offset {})", err.valid_up_to()),
            });
            out.lines = 0;
            return None;
        }
    };
    let mut summary = PARSER.with(|p| extract::summarize_str(&mut p.borrow_mut(), text));
    compact(&mut summary);
    out.parsed = true;
    // Encoding only pays off when the cache will be written.
    if out.key.is_some() {
        out.fresh_blob = Some(Cache::encode(&summary));
    }
    Some(summary)
}

/// Give back the room the extraction's growing vectors left spare: summaries live
/// as long as the analysis (a decoded one is exact already), and their call sites
/// and bindings are most of its memory.
fn compact(summary: &mut summary::FileSummary) {
    summary.scopes.shrink_to_fit();
    summary.calls.shrink_to_fit();
    summary.loops.shrink_to_fit();
    summary.handlers.shrink_to_fit();
    for scope in &mut summary.scopes {
        scope.bindings.shrink_to_fit();
        scope.attributes.shrink_to_fit();
        scope.params.shrink_to_fit();
    }
}

/// What a summary says went wrong in its file: nesting too deep, syntax errors.
fn summary_diagnostics(summary: &summary::FileSummary, rel: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if let Some(pos) = summary.too_deep {
        out.push(Diagnostic {
            kind: DiagnosticKind::TooDeep,
            path: rel.to_string(),
            line: Some(pos.line),
            column: Some(pos.column),
            message: "nesting too deep to follow (generated code?); the expression here was skipped, the rest of the file analysed".to_string(),
        });
    }
    if let Some(first) = summary.syntax_errors.first() {
        let more = summary.syntax_errors.len() - 1;
        out.push(Diagnostic {
            kind: DiagnosticKind::SyntaxError,
            path: rel.to_string(),
            line: Some(first.line),
            column: Some(first.column),
            message: if more == 0 {
                "syntax error; the rest of the file was analysed".to_string()
            } else {
                format!("syntax error (and {more} more); the rest of the file was analysed")
            },
        });
    }
    out
}

fn bytecount_lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count() + usize::from(!bytes.is_empty() && !bytes.ends_with(b"\n"))
}

fn closure_report(ctx: &Context<'_>) -> Vec<ClosureFunction> {
    let graph = ctx.graph;
    let mut out = Vec::new();
    for (fi, f) in graph.functions.iter().enumerate() {
        let Some(reason) = &graph.closure[fi] else { continue };
        let module = &ctx.index.modules[f.at.module as usize];
        out.push(ClosureFunction {
            function: f.qualname.to_string(),
            path: module.rel.clone(),
            line: module.summary.scopes[f.at.scope as usize].pos.line,
            reason: match reason {
                ClosureReason::Direct { .. } => CLOSURE_REASONS[0],
                ClosureReason::Via { .. } => CLOSURE_REASONS[1],
                ClosureReason::Override { .. } => CLOSURE_REASONS[2],
            },
            entry_point: f.entry_point,
            call_path: graph.path(&graph.closure, fi as u32),
        });
    }
    out.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    out
}
