//! A long-lived analysis for the daemon: the modules stay in memory, and a change
//! re-summarises only the files that changed, with tree-sitter's incremental
//! parsing when the file's previous tree is at hand.
//!
//! The index is patched in place (a changed module replaces its entry). When the
//! change leaves every name binding as it was (an edit inside a function body),
//! the call graph is patched too: only the changed module's calls are resolved
//! again. Otherwise the graph is rebuilt from the in-memory modules. Findings and
//! the closure are recomputed either way; added or deleted files start a full run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use tree_sitter::{InputEdit, Point, Tree};

use super::catalog::Catalog;
use super::index::{Index, Module};
use super::sources::Diagnostic;
use super::summary::same_interface;
use super::{
    AnalysisError, DiagnosticKind, Model, Progress, Report, Stats, Timings, analyze_model, compact, conclude, extract,
    ms,
};
use crate::config::Config;

/// How many recently edited files keep their syntax tree for incremental parsing.
const KEPT_TREES: usize = 32;

/// What an update did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Update {
    /// Files summarised again.
    pub reparsed: usize,
    /// Of those, parsed incrementally from their previous tree.
    pub incremental: usize,
    /// Whether the change needed a full run (a file added or deleted).
    pub full: bool,
    /// Whether the call graph was patched (only the changed modules' calls resolved
    /// again) rather than rebuilt, because no module's names changed.
    pub graph_patched: bool,
    pub ms: f64,
}

/// The analysis of a repository, kept up to date.
pub struct Session<'c> {
    path: PathBuf,
    config: Config,
    catalog: &'c Catalog,
    model: Model<'c>,
    positions: HashMap<String, usize>,
    trees: HashMap<String, (String, Tree)>,
    order: Vec<String>,
    parser: tree_sitter::Parser,
}

impl<'c> Session<'c> {
    /// A full analysis of `path`, kept.
    pub fn start(path: &Path, config: &Config, catalog: &'c Catalog) -> Result<Session<'c>, AnalysisError> {
        let model = analyze_model(path, config, catalog, &Progress::default())?;
        let positions = model.index.modules.iter().enumerate().map(|(i, m)| (m.rel.clone(), i)).collect();
        Ok(Session {
            path: path.to_path_buf(),
            config: config.clone(),
            catalog,
            model,
            positions,
            trees: HashMap::new(),
            order: Vec::new(),
            parser: extract::new_parser(),
        })
    }

    /// The latest report.
    pub fn report(&self) -> &Report {
        &self.model.report
    }

    /// Take in changed files (relative to the repository root).
    pub fn update(&mut self, changed: &[PathBuf]) -> Result<Update, AnalysisError> {
        let started = Instant::now();
        let root = self.model.report.root.clone();
        let python: Vec<String> = changed
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "py"))
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .collect();
        let added_or_deleted = python.iter().any(|rel| self.positions.contains_key(rel) != root.join(rel).is_file());
        if added_or_deleted {
            self.restart()?;
            return Ok(Update {
                reparsed: self.model.report.stats.parsed,
                full: true,
                ms: ms(started),
                ..Update::default()
            });
        }
        let mut update = Update::default();
        let mut refreshed: Vec<usize> = Vec::new();
        let mut interface_changed = false;
        let mut diagnostics: Vec<_> = self
            .model
            .report
            .diagnostics
            .iter()
            .filter(|d| d.kind != DiagnosticKind::UnresolvedImport)
            .cloned()
            .collect();
        for rel in &python {
            let Some(&pos) = self.positions.get(rel) else { continue };
            match self.reparse(&root, rel, pos, &mut update) {
                Reparse::Done { interface_changed: changed } => {
                    interface_changed |= changed;
                    refreshed.push(pos);
                    diagnostics.retain(|d| d.path != *rel);
                    update.reparsed += 1;
                }
                Reparse::NoTree => {}
                // Unreadable now (mid-write, not UTF-8, too large): a full run says why.
                Reparse::Unreadable => {
                    self.restart()?;
                    return Ok(Update { full: true, ms: ms(started), ..Update::default() });
                }
            }
        }
        if update.reparsed == 0 {
            update.ms = ms(started);
            return Ok(update);
        }
        self.conclude_update(&root, &refreshed, interface_changed, diagnostics, &mut update, started);
        update.ms = ms(started);
        Ok(update)
    }

    /// A fresh analysis in place of this one.
    fn restart(&mut self) -> Result<(), AnalysisError> {
        let mut fresh = Session::start(&self.path, &self.config, self.catalog)?;
        std::mem::swap(self, &mut fresh);
        Ok(())
    }

    /// Parse a changed file again (incrementally from its previous tree when kept)
    /// and put its new summary in the index.
    fn reparse(&mut self, root: &Path, rel: &str, pos: usize, update: &mut Update) -> Reparse {
        let text = match std::fs::read(root.join(rel)).map(String::from_utf8) {
            Ok(Ok(text)) if text.len() as u64 <= self.config.analysis.max_file_size => text,
            _ => return Reparse::Unreadable,
        };
        let tree = match self.trees.remove(rel) {
            Some((old_text, mut old_tree)) => {
                old_tree.edit(&edit_between(&old_text, &text));
                update.incremental += 1;
                self.parser.parse(&text, Some(&old_tree))
            }
            None => self.parser.parse(&text, None),
        };
        let Some(tree) = tree else { return Reparse::NoTree };
        let mut summary = extract::summarize_tree(&tree, &text);
        compact(&mut summary);
        let old = &self.model.index.modules[pos];
        let interface_changed = !same_interface(&old.summary, &summary);
        let module = Module::new(old.name.clone(), old.rel.clone(), old.is_package, old.is_test, Arc::new(summary));
        self.model.index.replace_module(pos, module);
        self.keep_tree(rel.to_string(), text, tree);
        Reparse::Done { interface_changed }
    }

    /// The call graph patched (or rebuilt when module-level names changed), then
    /// the closure, entry points and findings.
    fn conclude_update(
        &mut self,
        root: &Path,
        refreshed: &[usize],
        interface_changed: bool,
        diagnostics: Vec<Diagnostic>,
        update: &mut Update,
        started: Instant,
    ) {
        let stats = Stats {
            files: self.model.report.stats.files,
            parsed: update.reparsed,
            cached: self.model.report.stats.files.saturating_sub(update.reparsed),
            lines: self.model.report.stats.lines,
            call_sites: self.model.index.modules.iter().map(|m| m.summary.calls.len()).sum(),
            ..Stats::default()
        };
        let timings = Timings { parse_ms: ms(started), ..Timings::default() };
        let index = std::mem::replace(&mut self.model.index, Index::new(Vec::new(), self.catalog));
        let resolve_started = Instant::now();
        let graph = if interface_changed {
            // Names other modules resolve through changed: the whole graph again.
            // Freeing the old one's many small allocations takes milliseconds: elsewhere.
            let old_graph = std::mem::take(&mut self.model.graph);
            std::thread::spawn(move || drop(old_graph));
            None
        } else {
            update.graph_patched = true;
            let mut graph = std::mem::take(&mut self.model.graph);
            for &m in refreshed {
                graph.refresh_module(&index, root, m as u32);
            }
            Some(graph)
        };
        self.model = conclude(root, &self.config, index, graph, diagnostics, stats, timings, resolve_started, started);
    }

    fn keep_tree(&mut self, rel: String, text: String, tree: Tree) {
        self.order.retain(|r| *r != rel);
        self.order.push(rel.clone());
        self.trees.insert(rel, (text, tree));
        while self.order.len() > KEPT_TREES {
            let oldest = self.order.remove(0);
            self.trees.remove(&oldest);
        }
    }
}

/// The edit that turns `old` into `new`: the span between their common prefix and suffix.
fn edit_between(old: &str, new: &str) -> InputEdit {
    let (a, b) = (old.as_bytes(), new.as_bytes());
    let mut start = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    while !old.is_char_boundary(start) || !new.is_char_boundary(start) {
        start -= 1;
    }
    let max_suffix = (a.len() - start).min(b.len() - start);
    let mut suffix = a.iter().rev().zip(b.iter().rev()).take(max_suffix).take_while(|(x, y)| x == y).count();
    while !old.is_char_boundary(a.len() - suffix) || !new.is_char_boundary(b.len() - suffix) {
        suffix -= 1;
    }
    let (old_end, new_end) = (a.len() - suffix, b.len() - suffix);
    InputEdit {
        start_byte: start,
        old_end_byte: old_end,
        new_end_byte: new_end,
        start_position: point(old, start),
        old_end_position: point(old, old_end),
        new_end_position: point(new, new_end),
    }
}

/// Row and byte column of `byte` in `text`.
fn point(text: &str, byte: usize) -> Point {
    let before = &text.as_bytes()[..byte];
    let row = before.iter().filter(|&&c| c == b'\n').count();
    let column = byte - before.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
    Point { row, column }
}

/// How re-parsing one changed file went.
enum Reparse {
    /// Its summary is in the index; whether its module- or class-level names changed.
    Done { interface_changed: bool },
    /// The parser gave no tree (cancelled); the file keeps its old summary.
    NoTree,
    /// It cannot be read as source now.
    Unreadable,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_span_the_changed_bytes() {
        let e = edit_between("a = 1\nb = 2\n", "a = 1\nb = 22\n");
        assert_eq!((e.start_byte, e.old_end_byte, e.new_end_byte), (11, 11, 12));
        assert_eq!(e.start_position, Point { row: 1, column: 5 });
    }

    #[test]
    fn an_edit_updates_findings_as_a_fresh_analysis_would() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::write(
            root.join("app.py"),
            "def fetch(url):\n    return url\n\n\ndef main():\n    return fetch('x')\n",
        )
        .unwrap();
        let mut config = Config::builtin();
        config.analysis.cache = false;
        let catalog = Catalog::load(&config, root).unwrap();
        let mut session = Session::start(root, &config, &catalog).unwrap();
        assert!(session.report().findings.is_empty());
        // Touch it once so that the next edit has a tree to reuse.
        session.update(&[PathBuf::from("app.py")]).unwrap();
        std::fs::write(
            root.join("app.py"),
            "import requests\n\ndef fetch(url):\n    return requests.get(url)\n\n\ndef main():\n    return fetch('x')\n",
        )
        .unwrap();
        let update = session.update(&[PathBuf::from("app.py")]).unwrap();
        assert_eq!((update.reparsed, update.incremental, update.full), (1, 1, false));
        let fresh = crate::analysis::analyze(root, &config, &catalog).unwrap();
        let codes = |r: &Report| r.findings.iter().map(|f| (f.code, f.line, f.function.clone())).collect::<Vec<_>>();
        assert!(!session.report().findings.is_empty());
        assert_eq!(codes(session.report()), codes(&fresh));
        // A body-only edit keeps every binding: the graph is patched, not rebuilt,
        // and the findings are still those of a fresh analysis.
        std::fs::write(root.join("util.py"), "import requests\n\n\ndef ping(url):\n    return url\n").unwrap();
        session.update(&[PathBuf::from("util.py")]).unwrap();
        std::fs::write(
            root.join("util.py"),
            "import requests\n\n\ndef ping(url):\n    requests.head(url.strip())\n    return url\n",
        )
        .unwrap();
        let update = session.update(&[PathBuf::from("util.py")]).unwrap();
        assert!(update.graph_patched && !update.full, "{update:?}");
        let fresh = crate::analysis::analyze(root, &config, &catalog).unwrap();
        assert_eq!(codes(session.report()), codes(&fresh));
        // What a function returns is seen by its callers elsewhere: changing it is
        // an interface change, and the graph is rebuilt.
        std::fs::write(
            root.join("util.py"),
            "import requests\n\n\ndef ping(url):\n    requests.head(url.strip())\n    return requests.Session()\n",
        )
        .unwrap();
        let update = session.update(&[PathBuf::from("util.py")]).unwrap();
        assert!(!update.graph_patched && !update.full, "{update:?}");
        let fresh = crate::analysis::analyze(root, &config, &catalog).unwrap();
        assert_eq!(codes(session.report()), codes(&fresh));
        assert!(session.report().findings.iter().any(|f| f.function.as_deref() == Some("util.ping")));
        // A new file: a full run.
        std::fs::write(root.join("more.py"), "x = 1\n").unwrap();
        assert!(session.update(&[PathBuf::from("more.py")]).unwrap().full);
        assert_eq!(session.report().stats.files, 3);
    }
}
