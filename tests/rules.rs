//! Fixture-based tests for every rule code.
//!
//! Each rule has a fixture `tests/fixtures/rules/RAxxx.py`, plus optionally a
//! folder `tests/fixtures/rules/RAxxx/` whose contents (packages, more modules)
//! are analysed together with it. A line where a finding must be reported ends
//! with a marker comment naming the code(s) (`# RA101` or `# RA101 RA106`); a
//! line where nothing may fire is marked `# OK`. For every fixture the test
//! checks that the (line, code) pairs of the markers are exactly the (line, code)
//! pairs of the findings, in both directions, and snapshots the findings.
//!
//! The fixtures live under `tests/`, which the analysis treats as test code, so
//! each fixture set is copied to a neutral folder in a temporary directory first.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use refactor_async::analysis::catalog::Catalog;
use refactor_async::analysis::rules::{Finding, all_rules};
use refactor_async::analysis::{Report, analyze};
use refactor_async::config::Config;

mod common;
use common::markers::{Marker, marker};
use common::*;

/// The codes that have a fixture test below; must match `all_rules()`.
const CODES: &[&str] =
    &["RA101", "RA102", "RA103", "RA104", "RA105", "RA106", "RA107", "RA108", "RA109", "RA110", "RA111"];

/// A Python file of a fixture set: its path relative to the analysed root, and its text.
struct SourceText {
    rel: String,
    text: String,
}

/// The fixture set of one rule, copied to `<tmp>/fixture/`.
struct Staged {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    files: Vec<SourceText>,
}

fn stage(code: &str) -> Staged {
    let tmp = tempfile::Builder::new().prefix("rules-").tempdir().unwrap();
    let root = tmp.path().join("fixture");
    std::fs::create_dir_all(&root).unwrap();
    let main = fixtures("rules").join(format!("{code}.py"));
    assert!(main.is_file(), "missing fixture {}", main.display());
    std::fs::copy(&main, root.join(format!("{code}.py"))).unwrap();
    let mut files = vec![SourceText { rel: format!("{code}.py"), text: std::fs::read_to_string(&main).unwrap() }];
    let extra = fixtures("rules").join(code);
    if extra.is_dir() {
        copy_dir(&extra, &root);
        for rel in list_files(&extra, is_cache).into_iter().filter(|rel| rel.extension().is_some_and(|e| e == "py")) {
            let text = std::fs::read_to_string(extra.join(&rel)).unwrap();
            files.push(SourceText { rel: rel.to_string_lossy().into_owned(), text });
        }
    }
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    Staged { _tmp: tmp, root, files }
}

/// Test code a fixture set holds (a `tests/` folder with a `conftest.py`) is
/// reported too, so its markers can show what tests reach.
fn run(root: &Path) -> Report {
    let mut config = Config::builtin();
    config.analysis.cache = false;
    config.analysis.include_tests = true;
    let catalog = Catalog::load(&config, root).expect("the built-in catalog loads");
    analyze(root, &config, &catalog).expect("the analysis runs")
}

/// (line, code) pairs the markers of a file expect, and the lines marked `# OK`.
fn expectations(file: &SourceText) -> (BTreeSet<(u32, String)>, Vec<u32>) {
    let known: Vec<&str> = all_rules().iter().map(|r| r.code).collect();
    let mut expected = BTreeSet::new();
    let mut ok = Vec::new();
    for (i, line) in file.text.lines().enumerate() {
        let n = i as u32 + 1;
        match marker(line) {
            Some(Marker::Codes(codes)) => {
                for code in codes {
                    assert!(known.contains(&code.as_str()), "{}:{n}: marker names unknown code {code}", file.rel);
                    assert!(expected.insert((n, code.clone())), "{}:{n}: {code} marked twice", file.rel);
                }
            }
            Some(Marker::Ok) => ok.push(n),
            None => {}
        }
    }
    (expected, ok)
}

/// One finding per line, stable across machines (no absolute paths, no timings).
fn render(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        write!(
            out,
            "{}:{}:{} {} {} {} {}",
            f.path,
            f.line,
            f.column,
            f.code,
            f.function.as_deref().unwrap_or("-"),
            f.api.as_deref().unwrap_or("-"),
            f.message
        )
        .unwrap();
        if !f.call_path.is_empty() {
            write!(out, " [call path: {}]", f.call_path.join(" -> ")).unwrap();
        }
        out.push('\n');
    }
    out
}

/// Analyse the fixture set of `code`, compare findings with markers, and snapshot them.
fn check(code: &str) {
    let staged = stage(code);
    let report = run(&staged.root);

    let diagnostics: Vec<String> =
        report.diagnostics.iter().map(|d| format!("{}:{:?}: {:?} {}", d.path, d.line, d.kind, d.message)).collect();
    assert!(diagnostics.is_empty(), "fixture {code} must analyse cleanly:\n{}", diagnostics.join("\n"));

    let known: BTreeSet<&str> = staged.files.iter().map(|f| f.rel.as_str()).collect();
    let stray: Vec<&Finding> = report.findings.iter().filter(|f| !known.contains(f.path.as_str())).collect();
    assert!(stray.is_empty(), "findings outside the fixture files: {stray:#?}");

    let mut problems = String::new();
    for file in &staged.files {
        let (expected, _) = expectations(file);
        let findings: Vec<&Finding> = report.findings.iter().filter(|f| f.path == file.rel).collect();
        let actual: BTreeSet<(u32, String)> = findings.iter().map(|f| (f.line, f.code.to_string())).collect();
        let lines: Vec<&str> = file.text.lines().collect();
        let source = |n: u32| lines.get(n as usize - 1).map(|l| l.trim()).unwrap_or("");
        for (n, c) in expected.difference(&actual) {
            writeln!(problems, "  missing    {}:{n} {c}  (marked, not reported)\n      | {}", file.rel, source(*n))
                .unwrap();
        }
        for (n, c) in actual.difference(&expected) {
            let messages: Vec<&str> =
                findings.iter().filter(|f| f.line == *n && f.code == c).map(|f| f.message.as_str()).collect();
            writeln!(
                problems,
                "  unexpected {}:{n} {c}  (reported, not marked): {}\n      | {}",
                file.rel,
                messages.join(" / "),
                source(*n)
            )
            .unwrap();
        }
    }
    assert!(problems.is_empty(), "fixture {code}: findings differ from the markers\n{problems}");

    insta::assert_snapshot!(code.to_lowercase(), render(&report.findings));
}

macro_rules! fixture_tests {
    ($($name:ident => $code:literal),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check($code);
            }
        )*
    };
}

fixture_tests! {
    ra101 => "RA101",
    ra102 => "RA102",
    ra103 => "RA103",
    ra104 => "RA104",
    ra105 => "RA105",
    ra106 => "RA106",
    ra107 => "RA107",
    ra108 => "RA108",
    ra109 => "RA109",
    ra110 => "RA110",
    ra111 => "RA111",
}

#[test]
fn every_rule_has_a_fixture_with_markers_and_ok_lines() {
    let codes: Vec<&str> = all_rules().iter().map(|r| r.code).collect();
    assert_eq!(codes, CODES, "add a fixture and a `fixture_tests!` entry for every rule");
    for code in codes {
        let staged = stage(code);
        let mut marked = 0;
        let mut ok = 0;
        for file in &staged.files {
            let (expected, ok_lines) = expectations(file);
            marked += expected.iter().filter(|(_, c)| c == code).count();
            ok += ok_lines.len();
        }
        assert!(marked > 0, "fixture {code} has no `# {code}` marker");
        assert!(ok > 0, "fixture {code} has no `# OK` line");
    }
    // Every fixture file belongs to a rule.
    for entry in std::fs::read_dir(fixtures("rules")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let stem = name.strip_suffix(".py").unwrap_or(&name);
        assert!(CODES.contains(&stem), "tests/fixtures/rules/{name} belongs to no rule");
    }
}

#[test]
fn markers_parse() {
    assert_eq!(marker("    x = get(u)  # RA101"), Some(Marker::Codes(vec!["RA101".into()])));
    assert_eq!(marker("get(u)  # RA101 RA106: no timeout"), Some(Marker::Codes(vec!["RA101".into(), "RA106".into()])));
    assert_eq!(marker("get('#')  # OK"), Some(Marker::Ok));
    assert_eq!(marker("get(u)  # not resolved: RA102 would need map()"), None);
    assert_eq!(marker("# plain comment"), None);
}
