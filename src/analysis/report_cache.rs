//! The last report, kept for a run whose inputs have not changed.
//!
//! The summary cache saves parsing, but the analysis is of the whole repository:
//! every run still decodes every summary, resolves every call and walks the call
//! graph. When nothing it reads has changed since the last run (the files'
//! contents and paths, `pyproject.toml`, the configuration, the catalog, this
//! binary), the report is the same, so it is stored beside the summary cache and
//! given back as it was: a second `analyze` of an unchanged tree (a pre-commit
//! hook, a CI job run again) only reads and hashes the files.
//!
//! Like the summary cache it may only save time: a report file that cannot be
//! read, or that was made for other inputs, is ignored and replaced.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::callgraph::EntryPoint;
use super::rules::{self, Finding, Replacement};
use super::sources::Diagnostic;
use super::{CLOSURE_REASONS, ClosureFunction, Report, Stats};

/// Bump when [`Report`] or anything in it changes shape.
const REPORT_SCHEMA: u32 = 1;

/// Where the report of the summary cache at `cache` is kept.
pub fn location(cache: &Path) -> PathBuf {
    cache.with_extension("report")
}

/// Everything a report depends on, hashed as it is fed in.
pub struct Fingerprint(xxhash_rust::xxh3::Xxh3);

impl Default for Fingerprint {
    /// A fingerprint of this binary's analysis, to which the inputs are added.
    fn default() -> Fingerprint {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
        hasher.update(&REPORT_SCHEMA.to_le_bytes());
        Fingerprint(hasher)
    }
}

impl Fingerprint {
    /// Add one input, delimited so that `("ab", "c")` and `("a", "bc")` differ.
    pub fn add(&mut self, part: &[u8]) {
        self.0.update(&(part.len() as u64).to_le_bytes());
        self.0.update(part);
    }

    pub fn finish(&self) -> u128 {
        self.0.digest128()
    }
}

/// The stored report, if it was made from inputs with this fingerprint.
pub fn load(path: &Path, fingerprint: u128) -> Option<Report> {
    let bytes = std::fs::read(path).ok()?;
    let (stored, rest) = bytes.split_first_chunk::<16>()?;
    if u128::from_le_bytes(*stored) != fingerprint {
        return None;
    }
    postcard::from_bytes::<Stored>(rest).ok()?.into_report()
}

/// Store `report` as the one for these inputs, replacing the file atomically.
/// Encoded straight into the file: the analysis is still in memory meanwhile.
pub fn save(path: &Path, fingerprint: u128, report: &Report) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let written = std::fs::File::create(&tmp).and_then(|file| {
        let mut out = std::io::BufWriter::new(file);
        out.write_all(&fingerprint.to_le_bytes())?;
        let out = postcard::to_io(report, out).map_err(std::io::Error::other)?;
        out.into_inner().map_err(|e| e.into_error()).map(drop)
    });
    if let Err(err) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(err);
    }
    Ok(())
}

/// A report as stored: what [`Report`] serialises, field for field, with owned
/// text where the report holds the rules' own (`&'static str`), which cannot be
/// read back from a file directly.
#[derive(Deserialize)]
struct Stored {
    root: PathBuf,
    findings: Vec<StoredFinding>,
    closure: Vec<StoredClosure>,
    diagnostics: Vec<Diagnostic>,
    stats: Stats,
}

/// A [`Finding`] as stored.
#[derive(Deserialize)]
struct StoredFinding {
    code: String,
    name: String,
    path: String,
    line: u32,
    column: u32,
    function: Option<String>,
    api: Option<String>,
    message: String,
    call_path: Vec<String>,
    entry_point: Option<EntryPoint>,
    fix: Option<Replacement>,
}

/// A [`ClosureFunction`] as stored.
#[derive(Deserialize)]
struct StoredClosure {
    function: String,
    path: String,
    line: u32,
    reason: String,
    entry_point: Option<EntryPoint>,
    call_path: Vec<String>,
}

impl Stored {
    /// The report, when every rule and reason it names is one this binary has.
    fn into_report(self) -> Option<Report> {
        let findings = self.findings.into_iter().map(StoredFinding::into_finding).collect::<Option<_>>()?;
        let closure = self.closure.into_iter().map(StoredClosure::into_closure).collect::<Option<_>>()?;
        Some(Report { root: self.root, findings, closure, diagnostics: self.diagnostics, stats: self.stats })
    }
}

impl StoredFinding {
    fn into_finding(self) -> Option<Finding> {
        let rule = rules::rule(&self.code).filter(|r| r.name == self.name)?;
        Some(Finding {
            code: rule.code,
            name: rule.name,
            path: self.path,
            line: self.line,
            column: self.column,
            function: self.function,
            api: self.api,
            message: self.message,
            call_path: self.call_path,
            entry_point: self.entry_point,
            fix: self.fix,
        })
    }
}

impl StoredClosure {
    fn into_closure(self) -> Option<ClosureFunction> {
        Some(ClosureFunction {
            reason: CLOSURE_REASONS.into_iter().find(|r| *r == self.reason)?,
            function: self.function,
            path: self.path,
            line: self.line,
            entry_point: self.entry_point,
            call_path: self.call_path,
        })
    }
}

/// Make sure the types stay storable: a report made of them must come back equal.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_comes_back_only_for_the_same_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let path = location(&dir.path().join("analysis.bin"));
        let rule = rules::all_rules()[0];
        let report = Report {
            root: dir.path().to_path_buf(),
            findings: vec![Finding {
                code: rule.code,
                name: rule.name,
                path: "a.py".into(),
                line: 3,
                column: 5,
                function: Some("a.f".into()),
                api: Some("requests.get".into()),
                message: "m".into(),
                call_path: vec!["a.f".into()],
                entry_point: None,
                fix: None,
            }],
            closure: vec![ClosureFunction {
                function: "a.f".into(),
                path: "a.py".into(),
                line: 1,
                reason: "override",
                entry_point: Some(EntryPoint::PublicApi),
                call_path: Vec::new(),
            }],
            diagnostics: Vec::new(),
            stats: Default::default(),
        };
        let mut inputs = Fingerprint::default();
        inputs.add(b"a.py");
        let fingerprint = inputs.finish();
        save(&path, fingerprint, &report).unwrap();
        let back = load(&path, fingerprint).expect("same inputs");
        assert_eq!(back.findings, report.findings);
        assert_eq!(back.closure[0].reason, "override");
        assert!(load(&path, fingerprint ^ 1).is_none(), "other inputs");
        std::fs::write(&path, b"torn").unwrap();
        assert!(load(&path, fingerprint).is_none());
    }
}
