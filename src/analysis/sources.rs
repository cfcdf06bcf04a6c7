//! Finding the Python files of a repository and naming their modules.
//!
//! The walk honours `.gitignore` (and hidden folders, and the configured
//! excludes); every file it cannot use becomes a [`Diagnostic`] instead of an
//! error, so one bad file never stops the run.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::AnalysisConfig;

/// Why a file, or part of it, could not be analysed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiagnosticKind {
    SyntaxError,
    TooDeep,
    NotUtf8,
    Binary,
    TooLarge,
    Unreadable,
    Walk,
    UnresolvedImport,
}

/// A problem with one input file; the rest of the run goes on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Diagnostic {
    pub kind: DiagnosticKind,
    /// Relative to the repository root, `/`-separated.
    pub path: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
}

/// A Python file to analyse.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub abs: PathBuf,
    /// Relative to the repository root, `/`-separated.
    pub rel: String,
}

/// The repository root for a path: the nearest folder above it with `.git`, else the path.
pub fn repository_root(path: &Path) -> PathBuf {
    let start = if path.is_file() { path.parent().unwrap_or(path) } else { path };
    let mut dir = Some(start);
    while let Some(d) = dir {
        if d.join(".git").exists() {
            return d.to_path_buf();
        }
        dir = d.parent();
    }
    start.to_path_buf()
}

/// Every `.py` file under `scan` (or `scan` itself), with diagnostics for what the walk could not read.
pub fn discover(root: &Path, scan: &Path, config: &AnalysisConfig) -> (Vec<SourceFile>, Vec<Diagnostic>) {
    let mut files = Vec::new();
    let mut diagnostics = Vec::new();
    let excluded: HashSet<String> = config.exclude.iter().cloned().collect();
    let walker = ignore::WalkBuilder::new(scan)
        .follow_links(true)
        .require_git(false)
        .filter_entry(move |entry| {
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            !(is_dir && entry.depth() > 0 && excluded.contains(entry.file_name().to_string_lossy().as_ref()))
        })
        .build();
    for entry in walker {
        match entry {
            Ok(entry) => {
                let is_file = entry.file_type().is_some_and(|t| t.is_file());
                if is_file && entry.path().extension().is_some_and(|e| e == "py") {
                    let abs = entry.path().to_path_buf();
                    let rel = relative(root, &abs);
                    files.push(SourceFile { abs, rel });
                }
            }
            Err(err) => {
                let path = walk_error_path(&err).map(|p| relative(root, &p)).unwrap_or_default();
                diagnostics.push(Diagnostic {
                    kind: DiagnosticKind::Walk,
                    path,
                    line: None,
                    column: None,
                    message: walk_error_message(&err),
                });
            }
        }
    }
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    // Symlinks can make one file appear twice; analyse it once.
    files.dedup_by(|a, b| a.rel == b.rel);
    (files, diagnostics)
}

fn walk_error_path(err: &ignore::Error) -> Option<PathBuf> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => walk_error_path(err),
        ignore::Error::Loop { child, .. } => Some(child.clone()),
        _ => None,
    }
}

fn walk_error_message(err: &ignore::Error) -> String {
    match err {
        ignore::Error::Loop { ancestor, child } => {
            format!("symlink loop: {} points back to {}", child.display(), ancestor.display())
        }
        ignore::Error::WithPath { err, .. } | ignore::Error::WithDepth { err, .. } => walk_error_message(err),
        other => other.to_string(),
    }
}

/// `path` relative to `root`, `/`-separated.
pub fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<String> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    parts.join("/")
}

/// Module names for files, from packages (`__init__.py`) and the src layout.
pub struct ModuleNamer {
    package_dirs: HashSet<String>,
    /// The repository root, to look for `__init__.py` above a partial scan.
    root: Option<PathBuf>,
}

impl ModuleNamer {
    /// Learn the package folders from the discovered files.
    pub fn new(files: &[SourceFile]) -> ModuleNamer {
        Self::with_root(files, None)
    }

    /// Like [`ModuleNamer::new`], also checking the disk below `root` for packages the
    /// scan did not cover (when only a file or a subfolder is analysed).
    pub fn with_root(files: &[SourceFile], root: Option<&Path>) -> ModuleNamer {
        let package_dirs =
            files.iter().filter_map(|f| f.rel.strip_suffix("/__init__.py").map(str::to_string)).collect();
        ModuleNamer { package_dirs, root: root.map(Path::to_path_buf) }
    }

    /// The dotted module name of a file and whether it is a package (`__init__.py`).
    ///
    /// The name starts below the first folder (walking up) that is not a package,
    /// so `src/pkg/mod.py` with `src/pkg/__init__.py` is `pkg.mod`; below a `src/`
    /// folder every folder counts, which covers namespace packages there.
    pub fn name(&self, rel: &str) -> (String, bool) {
        let parts: Vec<&str> = rel.split('/').collect();
        let (dirs, file) = parts.split_at(parts.len() - 1);
        let stem = file[0].strip_suffix(".py").unwrap_or(file[0]);
        let is_package = stem == "__init__";
        let mut start = dirs.len();
        let is_package_dir = |dir: &str| {
            self.package_dirs.contains(dir)
                || self.root.as_ref().is_some_and(|r| r.join(dir).join("__init__.py").is_file())
        };
        while start > 0 && is_package_dir(&dirs[..start].join("/")) {
            start -= 1;
        }
        if let Some(src) = dirs.iter().position(|d| *d == "src")
            && src < start
        {
            start = src + 1;
        }
        let mut name: Vec<&str> = dirs[start..].to_vec();
        if !is_package {
            name.push(stem);
        }
        (name.join("."), is_package)
    }
}

/// Whether a file holds tests (pytest's conventions).
pub fn is_test_file(rel: &str) -> bool {
    let file = rel.rsplit('/').next().unwrap_or(rel);
    file.starts_with("test_")
        || file.ends_with("_test.py")
        || file == "conftest.py"
        || rel.split('/').rev().skip(1).any(|d| d == "tests" || d == "test" || d == "testing")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn namer(paths: &[&str]) -> ModuleNamer {
        let files: Vec<SourceFile> =
            paths.iter().map(|p| SourceFile { abs: PathBuf::from(p), rel: p.to_string() }).collect();
        ModuleNamer::new(&files)
    }

    #[test]
    fn module_names_follow_packages_and_src_layout() {
        let n = namer(&["src/pkg/__init__.py", "src/pkg/sub/__init__.py", "hub/__init__.py"]);
        assert_eq!(n.name("src/pkg/mod.py"), ("pkg.mod".into(), false));
        assert_eq!(n.name("src/pkg/sub/__init__.py"), ("pkg.sub".into(), true));
        assert_eq!(n.name("hub/client.py"), ("hub.client".into(), false));
        assert_eq!(n.name("tests/test_x.py"), ("test_x".into(), false));
        assert_eq!(n.name("src/ns/mod.py"), ("ns.mod".into(), false));
        assert_eq!(n.name("script.py"), ("script".into(), false));
    }

    #[test]
    fn test_files() {
        assert!(is_test_file("tests/helpers.py"));
        assert!(is_test_file("pkg/test_api.py"));
        assert!(is_test_file("conftest.py"));
        assert!(!is_test_file("pkg/testing_tools.py"));
        assert!(is_test_file("pkg/tests/fixtures/data.py"));
        assert!(!is_test_file("pkg/api.py"));
    }
}
