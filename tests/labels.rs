//! Precision and recall of the analysis against hand-labelled findings.
//!
//! `tests/labels/corpus.toml` says, for findings `analyze` reports on the corpus
//! (seven public repositories under `../shared/corpus`), whether each is right, and
//! lists places where a finding is missing. The rule fixtures count as labels too:
//! every `# RAxxx` marker of `tests/fixtures/rules` is a right finding, and a finding
//! on a `# OK` line a wrong one.
//!
//! The test analyses every labelled project in-process, matches labels to findings by
//! (project, path, line, code), prints a table (run it with `--nocapture`, or
//! `make labels`) and fails when
//!
//! - a finding labelled right is no longer reported (a regression), unless it was an
//!   RA102 whose function now blocks by itself and is reported with RA101;
//! - precision, right findings among the labelled ones still reported, is below 95%;
//! - a labelled miss is not found, unless it is marked `open` (known, not yet
//!   found: reported only), or an `open` miss is found (the label must be closed,
//!   so the count of open misses only goes down).
//!
//! The corpus comes from `REFACTOR_ASYNC_CORPUS` (a folder holding the unpacked
//! projects, e.g. the DEST of the corpus's `run.sh`), else from the `source.tar.gz`
//! archives of `../shared/corpus` beside the repository, unpacked into a temporary
//! folder. Without either, only the fixtures are checked.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use refactor_async::analysis::catalog::Catalog;
use refactor_async::analysis::rules::{Finding, all_rules};
use refactor_async::analysis::{Report, analyze};
use refactor_async::config::Config;
use serde::Deserialize;

mod common;
use common::markers::{Marker, is_code, marker};
use common::*;

/// The precision the labelled set must reach.
const MIN_PRECISION: f64 = 0.95;

/// Where the labels are, relative to the repository.
const LABELS: &str = "tests/labels/corpus.toml";

/// The row name of the fixtures in the report.
const FIXTURES: &str = "fixtures";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Labels {
    #[serde(default)]
    finding: Vec<FindingLabel>,
    #[serde(default)]
    miss: Vec<MissLabel>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Verdict {
    Right,
    Wrong,
}

/// A finding the analysis reports (or reported), judged right or wrong.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FindingLabel {
    project: String,
    path: String,
    line: u32,
    code: String,
    /// Only where one line holds two findings of one code with different verdicts.
    api: Option<String>,
    /// RA102 only: the function that must become async.
    function: Option<String>,
    verdict: Verdict,
    why: String,
}

impl FindingLabel {
    fn matches(&self, f: &Finding) -> bool {
        f.path == self.path
            && f.line == self.line
            && f.code == self.code
            && self.api.as_ref().is_none_or(|api| f.api.as_ref() == Some(api))
    }

    fn place(&self) -> String {
        let api = self.api.as_ref().map(|api| format!(" [{api}]")).unwrap_or_default();
        format!("{}:{}:{} {}{api}", self.project, self.path, self.line, self.code)
    }
}

/// A place where a finding should be reported and is not (or was not when labelled).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MissLabel {
    project: String,
    path: String,
    line: u32,
    code: String,
    shape: String,
    why: String,
    /// Known and not found yet: reported, and the test fails once it is found.
    #[serde(default)]
    open: bool,
}

impl MissLabel {
    fn place(&self) -> String {
        format!("{}:{}:{} {}", self.project, self.path, self.line, self.code)
    }
}

fn load_labels() -> Labels {
    let path = manifest_dir().join(LABELS);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{LABELS} is not valid: {e}"))
}

/// What is wrong with the label file itself: unknown codes, duplicates, empty reasons.
fn label_problems(labels: &Labels) -> Vec<String> {
    let known: BTreeSet<&str> = all_rules().iter().map(|r| r.code).collect();
    let mut problems = Vec::new();
    let mut keys = BTreeSet::new();
    for l in &labels.finding {
        if !known.contains(l.code.as_str()) {
            problems.push(format!("{}: finding of an unknown code", l.place()));
        }
        if !keys.insert((&l.project, &l.path, l.line, &l.code, &l.api)) {
            problems.push(format!("{}: labelled twice", l.place()));
        }
        if (l.code == "RA102") != l.function.is_some() {
            problems.push(format!("{}: `function` is given on RA102 labels, and only there", l.place()));
        }
        if l.why.trim().is_empty() {
            problems.push(format!("{}: no reason", l.place()));
        }
    }
    let mut miss_keys = BTreeSet::new();
    for m in &labels.miss {
        // Misses may name codes that are still being written (RA109 ...).
        if !is_code(&m.code) {
            problems.push(format!("{}: not a finding code", m.place()));
        }
        if !miss_keys.insert((&m.project, &m.path, m.line, &m.code)) {
            problems.push(format!("{}: miss listed twice", m.place()));
        }
        if labels
            .finding
            .iter()
            .any(|l| (&l.project, &l.path, l.line, &l.code) == (&m.project, &m.path, m.line, &m.code))
        {
            problems.push(format!("{}: both a finding and a miss", m.place()));
        }
        if m.why.trim().is_empty() || m.shape.trim().is_empty() {
            problems.push(format!("{}: no shape or reason", m.place()));
        }
    }
    problems
}

/// The unpacked corpus: a folder with one subfolder per project.
struct Corpus {
    dir: PathBuf,
    /// Keeps the temporary folder alive when the archives were unpacked here.
    _tmp: Option<tempfile::TempDir>,
    origin: String,
}

/// `REFACTOR_ASYNC_CORPUS`, else `../shared/corpus` unpacked, else none.
fn locate_corpus(projects: &BTreeSet<&str>) -> Option<Corpus> {
    if let Some(dir) = std::env::var_os("REFACTOR_ASYNC_CORPUS").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        for project in projects {
            assert!(
                dir.join(project).is_dir(),
                "REFACTOR_ASYNC_CORPUS={}: no project `{project}` there",
                dir.display()
            );
        }
        let origin = format!("{} (REFACTOR_ASYNC_CORPUS)", dir.display());
        return Some(Corpus { dir, _tmp: None, origin });
    }
    let shared = manifest_dir().join("../shared/corpus");
    if !shared.is_dir() {
        return None;
    }
    let tmp = tempfile::Builder::new().prefix("labels-corpus-").tempdir().unwrap();
    for project in projects {
        let archive = shared.join(project).join("source.tar.gz");
        assert!(archive.is_file(), "{} is missing: the labels name project `{project}`", archive.display());
        let to = tmp.path().join(project);
        std::fs::create_dir_all(&to).unwrap();
        // As the corpus's setup.sh unpacks it: files owned by us, modes from the umask.
        run_ok(
            Command::new("tar")
                .arg("-xzf")
                .arg(&archive)
                .arg("-C")
                .arg(&to)
                .args(["--no-same-permissions", "--no-same-owner"]),
        );
    }
    let origin = format!("{} (unpacked into a temporary folder)", shared.display());
    Some(Corpus { dir: tmp.path().to_path_buf(), _tmp: Some(tmp), origin })
}

/// Analyse `root` as `refactor-async analyze` does there (its own configuration, no cache).
fn analyse(root: &Path, include_tests: bool) -> Report {
    let mut config = Config::load(root).unwrap_or_else(|e| panic!("{}: {e}", root.display()));
    config.analysis.cache = false;
    config.analysis.include_tests |= include_tests;
    let catalog = Catalog::load(&config, root).expect("the catalog loads");
    let report = analyze(root, &config, &catalog).expect("the analysis runs");
    // Paths must be relative to the project: not to a repository around it.
    assert_eq!(
        report.root.canonicalize().unwrap(),
        root.canonicalize().unwrap(),
        "{} was analysed as part of the repository at {}",
        root.display(),
        report.root.display()
    );
    report
}

/// The figures of one project (or of the fixtures).
#[derive(Default)]
struct Row {
    labels: usize,
    right: usize,
    wrong: usize,
    /// Labelled right and no longer reported.
    lost: Vec<String>,
    /// Labelled right as RA102, gone because the function now blocks by itself.
    superseded: Vec<String>,
    /// Labelled wrong and no longer reported.
    fixed: Vec<String>,
    /// Labelled wrong and still reported.
    wrong_places: Vec<String>,
    unlabelled: Vec<String>,
    misses: usize,
    found: Vec<String>,
    /// Misses that must be found and are not: place and why.
    not_found: Vec<String>,
    /// Misses marked open, still not found: (shape, place, why).
    open: Vec<(String, String, String)>,
    /// Misses marked open that are found now: their labels must be closed.
    closed: Vec<String>,
}

impl Row {
    fn add(&mut self, other: &Row) {
        self.labels += other.labels;
        self.right += other.right;
        self.wrong += other.wrong;
        self.lost.extend(other.lost.iter().cloned());
        self.superseded.extend(other.superseded.iter().cloned());
        self.fixed.extend(other.fixed.iter().cloned());
        self.wrong_places.extend(other.wrong_places.iter().cloned());
        self.unlabelled.extend(other.unlabelled.iter().cloned());
        self.misses += other.misses;
        self.found.extend(other.found.iter().cloned());
        self.not_found.extend(other.not_found.iter().cloned());
        self.open.extend(other.open.iter().cloned());
        self.closed.extend(other.closed.iter().cloned());
    }
}

fn unlabelled_line(project: &str, f: &Finding) -> String {
    format!("{project}:{}:{} {} {}", f.path, f.line, f.code, f.message)
}

/// Match the labels of one corpus project against its report.
fn score_project(project: &str, root: &Path, report: &Report, labels: &Labels, problems: &mut Vec<String>) -> Row {
    let mut row = Row::default();
    let mut covered = vec![false; report.findings.len()];
    for l in labels.finding.iter().filter(|l| l.project == project) {
        check_place(root, &l.place(), &l.path, l.line, problems);
        row.labels += 1;
        let mut produced = false;
        for (i, f) in report.findings.iter().enumerate() {
            if l.matches(f) {
                covered[i] = true;
                produced = true;
            }
        }
        match (produced, l.verdict) {
            (true, Verdict::Right) => row.right += 1,
            (true, Verdict::Wrong) => {
                row.wrong += 1;
                row.wrong_places.push(format!("{}  ({})", l.place(), l.why));
            }
            (false, Verdict::Right) => {
                let blocks_itself = l.function.as_ref().is_some_and(|function| {
                    report.closure.iter().any(|c| &c.function == function && c.reason == "direct")
                });
                if blocks_itself {
                    row.superseded.push(l.place());
                } else {
                    row.lost.push(format!("{}  ({})", l.place(), l.why));
                }
            }
            (false, Verdict::Wrong) => row.fixed.push(l.place()),
        }
    }
    for m in labels.miss.iter().filter(|m| m.project == project) {
        check_place(root, &m.place(), &m.path, m.line, problems);
        row.misses += 1;
        let at_miss = |f: &Finding| f.path == m.path && f.line == m.line && f.code == m.code;
        let found = report.findings.iter().any(at_miss);
        // A found miss labels the findings at its place.
        for (i, f) in report.findings.iter().enumerate() {
            covered[i] |= at_miss(f);
        }
        match (found, m.open) {
            (true, false) => row.found.push(m.place()),
            (true, true) => row.closed.push(m.place()),
            (false, true) => row.open.push((m.shape.clone(), m.place(), m.why.clone())),
            (false, false) => row.not_found.push(format!("{}  ({})", m.place(), m.why)),
        }
    }
    for (f, covered) in report.findings.iter().zip(covered) {
        if !covered {
            row.unlabelled.push(unlabelled_line(project, f));
        }
    }
    row
}

/// A label must point at an existing line of an existing file.
fn check_place(root: &Path, place: &str, path: &str, line: u32, problems: &mut Vec<String>) {
    match std::fs::read_to_string(root.join(path)) {
        Ok(text) if line >= 1 && (line as usize) <= text.lines().count() => {}
        Ok(_) => problems.push(format!("{place}: the file has no line {line}")),
        Err(e) => problems.push(format!("{place}: cannot read the file: {e}")),
    }
}

/// The fixture set of one rule, copied out of `tests/` (which the analysis treats as
/// test code) into a neutral folder, analysed, and scored by its markers.
fn score_fixture_set(code: &str) -> Row {
    let tmp = tempfile::Builder::new().prefix("labels-fixture-").tempdir().unwrap();
    let root = tmp.path().join("fixture");
    std::fs::create_dir_all(&root).unwrap();
    let main = fixtures("rules").join(format!("{code}.py"));
    std::fs::copy(&main, root.join(format!("{code}.py"))).unwrap();
    let extra = fixtures("rules").join(code);
    if extra.is_dir() {
        copy_dir(&extra, &root);
    }
    // As in the rule fixture tests: a fixture set's test code is reported too.
    let report = analyse(&root, true);
    let mut row = Row::default();
    let project = format!("{FIXTURES}/{code}");
    let files = list_files(&root, is_cache);
    let mut covered = vec![false; report.findings.len()];
    for rel in files.iter().filter(|rel| rel.extension().is_some_and(|e| e == "py")) {
        let rel = rel.to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(root.join(&rel)).unwrap();
        for (i, line) in text.lines().enumerate() {
            let n = i as u32 + 1;
            let here: Vec<usize> = (0..report.findings.len())
                .filter(|&j| report.findings[j].path == rel && report.findings[j].line == n)
                .collect();
            match marker(line) {
                Some(Marker::Codes(codes)) => {
                    for c in codes {
                        row.labels += 1;
                        let hits: Vec<usize> = here.iter().copied().filter(|&j| report.findings[j].code == c).collect();
                        if hits.is_empty() {
                            row.lost.push(format!("{project}:{rel}:{n} {c}  (fixture marker)"));
                        } else {
                            row.right += 1;
                            hits.iter().for_each(|&j| covered[j] = true);
                        }
                    }
                }
                Some(Marker::Ok) => {
                    row.labels += 1;
                    let codes: BTreeSet<&str> = here.iter().map(|&j| report.findings[j].code).collect();
                    for c in codes {
                        row.wrong += 1;
                        row.wrong_places.push(format!("{project}:{rel}:{n} {c}  (on a `# OK` line)"));
                    }
                    here.iter().for_each(|&j| covered[j] = true);
                }
                None => {}
            }
        }
    }
    for (f, covered) in report.findings.iter().zip(covered) {
        if !covered {
            row.unlabelled.push(unlabelled_line(&project, f));
        }
    }
    row
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 { "-".to_string() } else { format!("{:.1}%", 100.0 * part as f64 / whole as f64) }
}

fn table(rows: &[(String, Row)], total: &Row) -> String {
    let mut out = String::new();
    let header =
        ["project", "labels", "right", "wrong", "lost", "superseded", "fixed", "unlabelled", "misses", "found"];
    writeln!(
        out,
        "{:<12}{:>7}{:>7}{:>7}{:>6}{:>11}{:>7}{:>11}{:>8}{:>7}  precision",
        header[0], header[1], header[2], header[3], header[4], header[5], header[6], header[7], header[8], header[9]
    )
    .unwrap();
    for (name, r) in rows.iter().map(|(n, r)| (n.as_str(), r)).chain([("all", total)]) {
        writeln!(
            out,
            "{:<12}{:>7}{:>7}{:>7}{:>6}{:>11}{:>7}{:>11}{:>8}{:>7}  {}",
            name,
            r.labels,
            r.right,
            r.wrong,
            r.lost.len(),
            r.superseded.len(),
            r.fixed.len(),
            r.unlabelled.len(),
            r.misses,
            r.found.len(),
            percent(r.right, r.right + r.wrong)
        )
        .unwrap();
    }
    out
}

fn section(out: &mut String, title: &str, lines: &[String], limit: usize) {
    if lines.is_empty() {
        return;
    }
    writeln!(out, "{title} ({}):", lines.len()).unwrap();
    for line in lines.iter().take(limit) {
        writeln!(out, "  {line}").unwrap();
    }
    if lines.len() > limit {
        writeln!(out, "  ... and {} more", lines.len() - limit).unwrap();
    }
}

#[test]
fn labelled_findings_keep_their_precision_and_misses_get_found() {
    let labels = load_labels();
    let problems = label_problems(&labels);
    assert!(problems.is_empty(), "{LABELS}:\n  {}", problems.join("\n  "));

    let projects: BTreeSet<&str> = labels
        .finding
        .iter()
        .map(|l| l.project.as_str())
        .chain(labels.miss.iter().map(|m| m.project.as_str()))
        .collect();
    let corpus = locate_corpus(&projects);
    let mut problems = Vec::new();
    let mut rows: Vec<(String, Row)> = Vec::new();
    let mut corpus_total = Row::default();
    match &corpus {
        Some(corpus) => {
            for project in &projects {
                let root = corpus.dir.join(project);
                let report = analyse(&root, false);
                let row = score_project(project, &root, &report, &labels, &mut problems);
                corpus_total.add(&row);
                rows.push((project.to_string(), row));
            }
        }
        None => eprintln!(
            "labels: no corpus (neither REFACTOR_ASYNC_CORPUS nor ../shared/corpus): checking the fixtures only, \
             {} corpus labels and {} misses skipped",
            labels.finding.len(),
            labels.miss.len()
        ),
    }
    assert!(problems.is_empty(), "{LABELS} points at places that do not exist:\n  {}", problems.join("\n  "));

    let mut fixtures_row = Row::default();
    for rule in all_rules() {
        fixtures_row.add(&score_fixture_set(rule.code));
    }
    rows.push((FIXTURES.to_string(), fixtures_row));
    let mut total = Row::default();
    rows.iter().for_each(|(_, r)| total.add(r));

    let precision = total.right as f64 / (total.right + total.wrong).max(1) as f64;
    let mut out = String::new();
    writeln!(out, "labels: {LABELS}").unwrap();
    if let Some(corpus) = &corpus {
        writeln!(out, "corpus: {}", corpus.origin).unwrap();
    }
    out.push_str(&table(&rows, &total));
    writeln!(
        out,
        "precision {} ({} right of {} labelled findings reported; corpus alone {}), \
         recall of labelled misses {} ({} of {})",
        percent(total.right, total.right + total.wrong),
        total.right,
        total.right + total.wrong,
        percent(corpus_total.right, corpus_total.right + corpus_total.wrong),
        percent(total.found.len() + total.closed.len(), total.misses),
        total.found.len() + total.closed.len(),
        total.misses
    )
    .unwrap();
    section(&mut out, "wrong findings still reported", &total.wrong_places, usize::MAX);
    section(&mut out, "REGRESSIONS: labelled right, no longer reported", &total.lost, usize::MAX);
    section(&mut out, "superseded: RA102 labels whose function now blocks by itself", &total.superseded, usize::MAX);
    section(&mut out, "fixed: labelled wrong, no longer reported", &total.fixed, usize::MAX);
    section(&mut out, "misses found", &total.found, usize::MAX);
    section(&mut out, "MISSES NOT FOUND", &total.not_found, usize::MAX);
    section(&mut out, "OPEN MISSES NOW FOUND: remove `open = true` from their labels", &total.closed, usize::MAX);
    let mut by_shape: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (shape, place, why) in &total.open {
        by_shape.entry(shape).or_default().push(format!("{place}  ({why})"));
    }
    if !by_shape.is_empty() {
        writeln!(out, "open misses, not found yet ({}), by shape:", total.open.len()).unwrap();
        for (shape, places) in &by_shape {
            writeln!(out, "  {shape}:").unwrap();
            places.iter().for_each(|p| writeln!(out, "    {p}").unwrap());
        }
    }
    section(&mut out, "unlabelled findings (label them in tests/labels/corpus.toml)", &total.unlabelled, 40);
    eprint!("{out}");

    assert!(total.lost.is_empty(), "{} labelled-right findings are no longer reported (see above)", total.lost.len());
    assert!(
        precision >= MIN_PRECISION,
        "precision {:.1}% is below {:.0}% (see the wrong findings above)",
        100.0 * precision,
        100.0 * MIN_PRECISION
    );
    assert!(total.not_found.is_empty(), "{} labelled misses are not found (see above)", total.not_found.len());
    assert!(
        total.closed.is_empty(),
        "{} open misses are found now: remove `open = true` from their labels (see above)",
        total.closed.len()
    );
}
