//! Recall against ruff's flake8-async rules, and the catalog resolved end to end.
//!
//! From the catalog itself, a Python file is generated with one `async def` per
//! blocking API, calling it the way user code does (`import requests;
//! requests.get(...)`, `s = requests.Session(); s.get(...)`, `open(...)`). Then:
//! every such call must be reported as RA103 (each catalog name resolves), and
//! every line real `ruff check --select ASYNC` flags must be one of ours.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use refactor_async::analysis::{self, catalog::Catalog};
use refactor_async::config::Config;

/// The generated fixture and the line of each API's call.
fn generate(catalog: &Catalog) -> (String, Vec<(usize, String)>) {
    let mut imports = BTreeSet::new();
    let mut body = String::new();
    let mut calls = Vec::new();
    let mut line = 0usize;
    let mut lines_of_body: Vec<String> = Vec::new();
    for (i, name) in catalog.names().into_iter().enumerate() {
        let segments: Vec<&str> = name.split('.').collect();
        let class_at = segments.iter().position(|s| s.starts_with(|c: char| c.is_ascii_uppercase()));
        let (prefix, call) = match class_at {
            _ if segments[0] == "builtins" => (None, format!("{}(\"x\")", segments[1..].join("."))),
            None => {
                let module = segments[..segments.len() - 1].join(".");
                imports.insert(format!("import {module}"));
                (None, format!("{name}(\"x\")"))
            }
            Some(c) if c == segments.len() - 1 => {
                // A class whose constructor itself blocks (`subprocess.Popen`, `smtplib.SMTP`).
                imports.insert(format!("import {}", segments[..c].join(".")));
                (None, format!("{name}(\"x\")"))
            }
            Some(c) => {
                let module = segments[..c].join(".");
                imports.insert(format!("import {module}"));
                let class = segments[..=c].join(".");
                (Some(format!("obj = {class}()")), format!("obj.{}(\"x\")", segments[c + 1..].join(".")))
            }
        };
        lines_of_body.push(String::new());
        lines_of_body.push(format!("async def case_{i}() -> None:"));
        if let Some(p) = prefix {
            lines_of_body.push(format!("    {p}"));
        }
        lines_of_body.push(format!("    {call}"));
        calls.push((lines_of_body.len(), name.to_string()));
    }
    let header: Vec<String> = imports.into_iter().collect();
    line += header.len();
    for l in &lines_of_body {
        body.push_str(l);
        body.push('\n');
    }
    let calls = calls.into_iter().map(|(l, n)| (l + line, n)).collect();
    (format!("{}\n{}", header.join("\n"), body), calls)
}

fn ruff() -> Option<PathBuf> {
    if let Some(python) = std::env::var_os("REFACTOR_ASYNC_PYTHON") {
        let candidate = Path::new(&python).with_file_name("ruff");
        if candidate.is_file() {
            return Some(candidate);
        }
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/ruff");
    if venv.is_file() {
        return Some(venv);
    }
    Command::new("ruff").arg("--version").output().ok().filter(|o| o.status.success()).map(|_| PathBuf::from("ruff"))
}

#[test]
fn every_catalog_api_is_found_and_ruff_finds_nothing_we_miss() {
    let config = Config::builtin();
    let catalog = Catalog::load(&config, Path::new(".")).unwrap();
    let (source, calls) = generate(&catalog);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("apis.py");
    std::fs::write(&file, &source).unwrap();

    let mut config = config;
    config.analysis.cache = false;
    let report = analysis::analyze(dir.path(), &config, &catalog).unwrap();
    let ours: BTreeSet<usize> = report.findings.iter().filter(|f| f.code == "RA103").map(|f| f.line as usize).collect();
    let missed: Vec<&(usize, String)> = calls.iter().filter(|(line, _)| !ours.contains(line)).collect();
    assert!(missed.is_empty(), "catalog APIs not resolved when called: {missed:?}\n{source}");
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);

    let Some(ruff) = ruff() else {
        if std::env::var_os("CI").is_some() || std::env::var_os("REFACTOR_ASYNC_PYTHON").is_some() {
            panic!("ruff is not installed: run `make venv`");
        }
        eprintln!("ruff not found; run the tests through `make test` for the comparison");
        return;
    };
    let out = Command::new(&ruff)
        .args([
            "check",
            "--isolated",
            "--no-cache",
            "--select",
            "ASYNC",
            "--preview",
            "--exit-zero",
            "--output-format",
            "json",
        ])
        .arg(&file)
        .output()
        .expect("ruff runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let results: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let theirs: BTreeSet<(usize, String)> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["location"]["row"].as_u64().unwrap() as usize, r["code"].as_str().unwrap_or("").to_string()))
        .collect();
    assert!(theirs.len() > 20, "ruff should flag many of these calls: {theirs:?}");
    let only_ruff: Vec<&(usize, String)> = theirs.iter().filter(|(line, _)| !ours.contains(line)).collect();
    assert!(only_ruff.is_empty(), "ruff flags lines we do not: {only_ruff:?}");
}
