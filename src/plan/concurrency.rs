//! Concurrency as a reason to convert: a loop of independent items (RA105), a work
//! queue (RA110) or a group of independent consecutive calls (RA111) whose items do
//! blocking work makes its function async even when that work only has the thread
//! strategy. The items then run under one bounded gather, each blocking call (or
//! each sync helper holding them) in a thread of the converted code's executor.
//!
//! A function with nothing concurrent in it and only thread-strategy calls gains
//! nothing from becoming async: it stays sync, and its async callers run it in a
//! thread.

use std::collections::BTreeSet;

use super::Planner;
use crate::analysis::callgraph::{CallTarget, FuncId};
use crate::analysis::index::ModId;
use crate::analysis::loops::LoopCandidate;

/// The shapes of concurrent work the analysis reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConcurrencyKind {
    /// A loop or comprehension of independent items (RA105) that the planner gathers.
    Loop,
    /// A `while` loop draining a work queue (RA110).
    WorkQueue,
    /// Consecutive statements waiting on independent reads (RA111).
    Group,
}

impl ConcurrencyKind {
    /// In words, for reasons (`loop`, `work queue`, `group of independent calls`).
    fn noun(self) -> &'static str {
        match self {
            ConcurrencyKind::Loop => "loop",
            ConcurrencyKind::WorkQueue => "work queue",
            ConcurrencyKind::Group => "group of independent calls",
        }
    }
}

/// Work of one function that can run concurrently, where the analysis found it.
#[derive(Debug, Clone)]
pub struct ConcurrentWork {
    pub kind: ConcurrencyKind,
    pub function: FuncId,
    pub module: ModId,
    /// Where the work is (the loop, or the group's first call), 1-based.
    pub line: u32,
    /// The loop, for the loop kinds.
    pub loop_idx: Option<u32>,
    /// The calls each item (or member of the group) makes that wait.
    pub calls: Vec<u32>,
}

impl Planner<'_, '_> {
    /// Every piece of concurrent work the analysis found: the loops the planner
    /// gathers (`gathers`), and the work queues and groups it reports.
    pub(super) fn concurrent_work(&self, gathers: &[LoopCandidate]) -> Vec<ConcurrentWork> {
        let index = &self.model.index;
        let mut work: Vec<ConcurrentWork> = gathers
            .iter()
            .map(|g| ConcurrentWork {
                kind: ConcurrencyKind::Loop,
                function: g.function,
                module: g.module,
                line: index.modules[g.module as usize].summary.loops[g.loop_idx as usize].pos.line,
                loop_idx: Some(g.loop_idx),
                calls: g.calls.clone(),
            })
            .collect();
        work.extend(self.reported_work());
        work
    }

    /// The work queues (RA110) and groups of independent calls (RA111), from the
    /// analysis's findings: the function, the loop at the finding (a work queue's),
    /// and the calls there that wait.
    fn reported_work(&self) -> Vec<ConcurrentWork> {
        let graph = &self.model.graph;
        let index = &self.model.index;
        let mut out = Vec::new();
        for finding in &self.model.report.findings {
            let kind = match finding.code {
                "RA110" => ConcurrencyKind::WorkQueue,
                "RA111" => ConcurrencyKind::Group,
                _ => continue,
            };
            let Some(m) = index.modules.iter().position(|module| module.rel == finding.path) else { continue };
            let summary = &index.modules[m].summary;
            let function = graph
                .functions
                .iter()
                .position(|f| f.at.module as usize == m && finding.function.as_deref() == Some(f.qualname.as_str()));
            let Some(function) = function else { continue };
            let loop_idx = (kind == ConcurrencyKind::WorkQueue)
                .then(|| {
                    summary.loops.iter().position(|l| l.pos.line == finding.line && l.pos.column == finding.column)
                })
                .flatten()
                .map(|l| l as u32);
            // A work queue's I/O may sit in a loop nested in it (`for link in ...:`).
            let in_loop = |mut inner: Option<u32>, outer: u32| {
                while let Some(l) = inner {
                    if l == outer {
                        return true;
                    }
                    inner = summary.loops[l as usize].parent;
                }
                false
            };
            let calls = graph.functions[function].calls.iter().copied().filter(|&ci| {
                let site = &summary.calls[ci as usize];
                match loop_idx {
                    Some(l) => in_loop(site.loop_idx, l),
                    None => site.pos.line == finding.line && site.pos.column == finding.column,
                }
            });
            out.push(ConcurrentWork {
                kind,
                function: function as FuncId,
                module: m as ModId,
                line: finding.line,
                loop_idx,
                calls: calls.collect(),
            });
        }
        out
    }

    /// Whether concurrent work makes its function a seed of the async set: the
    /// function may become async, its items do blocking work (a blocking call, or a
    /// call of a function of the blocking closure), and a loop's items can each run
    /// in a function of their own (as the gather's drafting needs). Otherwise why not.
    pub(super) fn concurrency_seed(&self, work: &ConcurrentWork) -> Result<(), String> {
        let graph = &self.model.graph;
        let summary = &self.model.index.modules[work.module as usize].summary;
        let what = format!("its {} at line {}", work.kind.noun(), work.line);
        if !self.candidate(work.function) {
            return Err(format!("{what} is in code that does not become async"));
        }
        let blocks = work.calls.iter().any(|&ci| {
            let site = &summary.calls[ci as usize];
            !site.in_lambda
                && site.via.is_none()
                && match &graph.targets[work.module as usize][ci as usize] {
                    CallTarget::Blocking(_) => self.rewrite_for(work.module, ci).is_some(),
                    CallTarget::Repo(g) => graph.closure[*g as usize].is_some(),
                    _ => false,
                }
        });
        if !blocks {
            return Err(format!("{what} does no blocking work of its own"));
        }
        if let Some(api) = self.thread_affine_api(work) {
            return Err(format!(
                "{what} uses `{api}`, bound to the thread that created it: its items cannot run in threads of their own"
            ));
        }
        if work.kind == ConcurrencyKind::Loop
            && let Some(l) = work.loop_idx
            && let Some(why) = summary.loops[l as usize].item_state_escapes()
        {
            return Err(format!("{what} stays sequential: {why}"));
        }
        Ok(())
    }

    /// A thread-affine API (see the catalog's `thread_affine`) that the work's calls
    /// make, themselves or down the closure functions they call.
    fn thread_affine_api(&self, work: &ConcurrentWork) -> Option<String> {
        let calls = work.calls.iter().map(|&ci| (work.module, ci));
        self.model.graph.thread_affine_api(self.model.index.catalog, calls)
    }

    /// The functions that concurrent work makes seeds of the async set.
    pub(super) fn concurrency_seeds(&self, work: &[ConcurrentWork]) -> BTreeSet<FuncId> {
        work.iter().filter(|w| self.concurrency_seed(w).is_ok()).map(|w| w.function).collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::{self, Progress, catalog::Catalog};
    use crate::config::Config;
    use crate::draft::rewrite::testing::plans_of;
    use crate::plan::{NothingPlanned, Settings, nothing_planned};

    /// Why `app.py` gets no plan.
    fn why_nothing(text: &str) -> NothingPlanned {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.py"), text).unwrap();
        let mut config = Config::builtin();
        config.analysis.cache = false;
        let catalog = Catalog::load(&config, dir.path()).unwrap();
        let settings = Settings::from_config(&config).unwrap();
        let model = analysis::analyze_model(dir.path(), &config, &catalog, &Progress::default()).unwrap();
        nothing_planned(&model, &settings)
    }

    const READ: &str = "from pathlib import Path\n\n\ndef read(p: Path) -> str:\n    return p.read_text()\n\n\n";

    #[test]
    fn a_loop_of_thread_only_work_is_a_reason_to_convert() {
        let src = format!(
            "{READ}def sizes(ps: list[Path]) -> list[int]:\n    out = []\n    for p in ps:\n        out.append(len(read(p)))\n    return out\n"
        );
        let plans = plans_of(&[("app.py", &src)]);
        assert_eq!(plans.len(), 1, "{plans:#?}");
        let names: Vec<&str> = plans[0].functions.iter().map(|f| f.qualname.as_str()).collect();
        assert_eq!(names, ["app.sizes"]);
        assert_eq!(plans[0].offloaded, ["app.read"]);
        assert_eq!(plans[0].gathers.len(), 1);
    }

    #[test]
    fn an_entry_point_with_a_concurrent_loop_stays_converted() {
        let src = format!(
            "import sys\n{READ}def main() -> None:\n    for p in sys.argv[1:]:\n        print(len(read(Path(p))))\n\n\nif __name__ == \"__main__\":\n    main()\n"
        );
        let plans = plans_of(&[("app.py", &src)]);
        assert_eq!(plans.len(), 1, "{plans:#?}");
        assert_eq!(plans[0].functions[0].qualname, "app.main");
    }

    #[test]
    fn thread_only_work_with_nothing_concurrent_plans_nothing_and_says_why() {
        let single = format!("{READ}def first(ps: list[Path]) -> str:\n    return read(ps[0])\n");
        assert!(plans_of(&[("app.py", &single)]).is_empty());
        let why = why_nothing(&single);
        assert_eq!(why.functions.len(), 2, "{why:#?}");
        assert!(why.reason.contains("none of the 2 functions"), "{}", why.reason);
        assert!(why.functions[0].why.contains("`pathlib.Path.read_text`"), "{why:#?}");
        assert!(why.functions[1].why.contains("it calls `app.read`, which stays sync"), "{why:#?}");

        // The accumulator is read after the loop: a per-item function could not assign it.
        let total = format!(
            "{READ}def total(ps: list[Path]) -> int:\n    n = 0\n    for p in ps:\n        n += len(read(p))\n    return n\n"
        );
        assert!(plans_of(&[("app.py", &total)]).is_empty());
        let why = why_nothing(&total);
        let total_why = &why.functions.iter().find(|f| f.qualname == "app.total").unwrap().why;
        assert!(total_why.contains("its loop at line 10 stays sequential: `n` is assigned in the loop"), "{total_why}");
    }

    #[test]
    fn work_queues_and_groups_of_thread_only_calls_are_reasons_too() {
        // The queue's I/O is in a nested loop that is no reason of its own (it
        // accumulates into `text`): the work queue is.
        let src = "import urllib.request\nfrom collections import deque\n\nimport requests\n\n\ndef fetch(url: str) -> str:\n    with urllib.request.urlopen(url, timeout=5) as r:\n        return r.read().decode()\n\n\ndef crawl(start: str, limit: int) -> set[str]:\n    queue = deque([start])\n    seen = {start}\n    while queue and len(seen) < limit:\n        url = queue.popleft()\n        text = ''\n        for part in ('a', 'b'):\n            text += fetch(url + part)\n        for link in text.split():\n            if link not in seen:\n                seen.add(link)\n                queue.append(link)\n    return seen\n\n\ndef profile(base: str) -> tuple[str, str]:\n    user = requests.get(base + '/user', verify=False, timeout=5)\n    teams = requests.get(base + '/teams', verify=False, timeout=5)\n    return user.text, teams.text\n";
        let plans = plans_of(&[("app.py", src)]);
        let mut names: Vec<&str> = plans.iter().flat_map(|p| &p.functions).map(|f| f.qualname.as_str()).collect();
        names.sort();
        assert_eq!(names, ["app.crawl", "app.profile"], "{plans:#?}");
    }

    #[test]
    fn work_on_a_thread_bound_connection_is_no_reason() {
        let src = "import sqlite3\n\n\ndef counts(db: sqlite3.Connection, tables: list[str]) -> list[int]:\n    out = []\n    for t in tables:\n        out.append(db.execute(t).fetchone()[0])\n    return out\n";
        assert!(plans_of(&[("app.py", src)]).is_empty());
        let why = why_nothing(src);
        assert!(why.functions[0].why.contains("uses `sqlite3.Connection.execute`, bound to the thread"), "{why:#?}");
    }

    #[test]
    fn no_blocking_io_says_so() {
        let why = why_nothing("def f(x: int) -> int:\n    return x + 1\n");
        assert!(why.functions.is_empty() && why.tests == 0);
        assert_eq!(why.reason, "no function does blocking I/O that async code would call");
    }
}
