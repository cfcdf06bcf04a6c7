//! Declaring what a draft imports: the third-party libraries the rewritten files
//! import that the original files did not (httpx for converted HTTP calls,
//! pytest-asyncio for converted tests) are added to the dependencies the project
//! already declares, in the file and style it uses, so that the branch installs
//! and runs. Where nothing can be declared, a note says what the branch needs.
//!
//! Which import needs which distribution is declared by the mappings
//! ([`Mapping::requires`](crate::draft::mappings::Mapping::requires)); this
//! module only compares imports, finds where the project declares its
//! dependencies, and edits that text minimally ([`text`]).

pub mod text;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use tree_sitter::Node;

use super::diff::FileChange;
use super::mappings::{self, PYTEST_ASYNCIO, Requirement};
use super::python;
use text::Style;

/// A distribution name normalised as PEP 503 compares them: lowercase, runs of
/// `-`, `_` and `.` as one `-` (`Pytest_Asyncio` → `pytest-asyncio`).
pub fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// A library a draft needs, and whether only test files need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    pub requirement: Requirement,
    /// Only tests import it (it goes with the test dependencies).
    pub tests_only: bool,
}

/// What the changed Python files newly need: each library a mapping declares
/// whose module a file's new text imports and its old text did not, and
/// pytest-asyncio for test files that now have async tests. In order of first need.
pub fn needs(changes: &[FileChange]) -> Vec<Need> {
    let mut found: Vec<Need> = Vec::new();
    let mut add =
        |requirement: Requirement, tests_only: bool| match found.iter_mut().find(|n| n.requirement == requirement) {
            Some(need) => need.tests_only &= tests_only,
            None => found.push(Need { requirement, tests_only }),
        };
    for change in changes.iter().filter(|c| c.path.ends_with(".py")) {
        let Some(new) = &change.new else { continue };
        let old = change.old.as_deref().unwrap_or("");
        let tests = is_test_file(&change.path);
        let before = imported_modules(old);
        for module in imported_modules(new).difference(&before) {
            if let Some(requirement) = mappings::requirement(module) {
                add(requirement, tests);
            }
        }
        if tests && has_async_tests(new) && !has_async_tests(old) {
            add(PYTEST_ASYNCIO, true);
        }
    }
    found
}

/// A test module by pytest's conventions: under a `tests`/`test` folder, or
/// named `test_*.py`, `*_test.py` or `conftest.py`.
pub fn is_test_file(path: &str) -> bool {
    let mut parts: Vec<&str> = path.split('/').collect();
    let name = parts.pop().unwrap_or("");
    parts.iter().any(|p| *p == "tests" || *p == "test")
        || name.starts_with("test_")
        || name.ends_with("_test.py")
        || name == "conftest.py"
}

/// The top-level modules a file imports anywhere (`import a.b`, `from a import b`;
/// relative imports are the project's own).
fn imported_modules(src: &str) -> BTreeSet<String> {
    let tree = python::parse(src);
    let mut out = BTreeSet::new();
    let top = |node: Node| python::text(src, node).split('.').next().unwrap_or("").trim().to_string();
    visit(tree.root_node(), &mut |node| match node.kind() {
        "import_statement" => {
            let mut cursor = node.walk();
            for child in node.named_children(&mut cursor) {
                let name =
                    if child.kind() == "aliased_import" { child.child_by_field_name("name") } else { Some(child) };
                if let Some(name) = name.filter(|n| n.kind() == "dotted_name") {
                    out.insert(top(name));
                }
            }
        }
        "import_from_statement" => {
            if let Some(module) = node.child_by_field_name("module_name").filter(|m| m.kind() == "dotted_name") {
                out.insert(top(module));
            }
        }
        _ => {}
    });
    out
}

/// Whether a test file has async tests: `pytest.mark.asyncio`, or an
/// `async def test_...` (as pytest-asyncio's auto mode runs them).
fn has_async_tests(src: &str) -> bool {
    if src.contains("mark.asyncio") {
        return true;
    }
    let tree = python::parse(src);
    let mut found = false;
    visit(tree.root_node(), &mut |node| {
        found |= node.kind() == "function_definition"
            && node.child(0).is_some_and(|first| first.kind() == "async")
            && node.child_by_field_name("name").is_some_and(|n| python::text(src, n).starts_with("test"));
    });
    found
}

fn visit<'t>(root: Node<'t>, f: &mut dyn FnMut(Node<'t>)) {
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        f(node);
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
}

/// The dependency files as the draft leaves them: a changed file's new text,
/// else the file on disk; edits are kept here until written into the changes.
struct Files<'a> {
    root: &'a Path,
    texts: BTreeMap<String, Option<String>>,
    edited: BTreeSet<String>,
}

impl<'a> Files<'a> {
    fn new(root: &'a Path, changes: &[FileChange]) -> Files<'a> {
        let texts = changes.iter().map(|c| (c.path.clone(), c.new.clone())).collect();
        Files { root, texts, edited: BTreeSet::new() }
    }

    fn text(&mut self, rel: &str) -> Option<String> {
        let root = self.root;
        self.texts.entry(rel.to_string()).or_insert_with(|| std::fs::read_to_string(root.join(rel)).ok()).clone()
    }

    fn set(&mut self, rel: &str, text: String) {
        self.texts.insert(rel.to_string(), Some(text));
        self.edited.insert(rel.to_string());
    }

    /// The edited files written into `changes` (a new change, or the new text of one).
    fn write_into(self, changes: &mut Vec<FileChange>) {
        for rel in self.edited {
            let Some(Some(new)) = self.texts.get(&rel).cloned() else { continue };
            match changes.iter_mut().find(|c| c.path == rel) {
                Some(change) => change.new = Some(new),
                None => {
                    let old = std::fs::read_to_string(self.root.join(&rel)).ok();
                    changes.push(FileChange { path: rel, old, new: Some(new) });
                }
            }
        }
    }
}

/// Where a project declares dependencies.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    /// A TOML array of requirement strings: `key = [...]` in `[section]`.
    TomlList { file: &'static str, section: &'static str, key: &'static str },
    /// A TOML table of `name = version` (Poetry).
    TomlTable { file: &'static str, section: &'static str },
    /// A keyword of the `setup(...)` call in setup.py; `group` names an `extras_require` key.
    SetupPy { keyword: &'static str, group: Option<&'static str> },
    /// An INI value of one requirement per line in setup.cfg.
    SetupCfg { section: &'static str, key: &'static str },
    /// A requirements file.
    Requirements { file: &'static str },
}

/// What a place holds in a project.
enum Declaration {
    /// Not there.
    Absent,
    /// There, but not something to read or edit safely; why.
    Unreadable(String),
    /// Its requirement strings (Poetry: its names).
    Entries(Vec<String>),
}

/// Test groups, by the names projects give them.
const TEST_GROUPS: &[&str] = &["test", "tests", "testing", "dev"];

/// Where runtime dependencies go, in order: the first the project has.
fn runtime_places() -> Vec<Place> {
    let mut places = vec![
        Place::TomlList { file: "pyproject.toml", section: "project", key: "dependencies" },
        Place::TomlTable { file: "pyproject.toml", section: "tool.poetry.dependencies" },
        Place::SetupPy { keyword: "install_requires", group: None },
        Place::SetupCfg { section: "options", key: "install_requires" },
    ];
    for file in [
        "requirements.txt",
        "requirements/base.txt",
        "requirements/prod.txt",
        "requirements/production.txt",
        "requirements/main.txt",
    ] {
        places.push(Place::Requirements { file });
    }
    places
}

/// Where test dependencies go, in order: the first the project has.
fn test_places() -> Vec<Place> {
    let mut places = Vec::new();
    for key in TEST_GROUPS {
        places.push(Place::TomlList { file: "pyproject.toml", section: "project.optional-dependencies", key });
    }
    for key in TEST_GROUPS {
        places.push(Place::TomlList { file: "pyproject.toml", section: "dependency-groups", key });
    }
    for section in [
        "tool.poetry.group.test.dependencies",
        "tool.poetry.group.tests.dependencies",
        "tool.poetry.group.dev.dependencies",
        "tool.poetry.dev-dependencies",
    ] {
        places.push(Place::TomlTable { file: "pyproject.toml", section });
    }
    for key in TEST_GROUPS {
        places.push(Place::TomlList { file: "pyproject.toml", section: "tool.pdm.dev-dependencies", key });
    }
    places.push(Place::TomlList { file: "pyproject.toml", section: "tool.uv", key: "dev-dependencies" });
    for group in TEST_GROUPS {
        places.push(Place::SetupPy { keyword: "extras_require", group: Some(group) });
    }
    places.push(Place::SetupPy { keyword: "tests_require", group: None });
    for key in TEST_GROUPS {
        places.push(Place::SetupCfg { section: "options.extras_require", key });
    }
    for file in [
        "requirements-test.txt",
        "requirements-tests.txt",
        "requirements_test.txt",
        "requirements/test.txt",
        "requirements/tests.txt",
        "test-requirements.txt",
        "requirements-dev.txt",
        "requirements_dev.txt",
        "requirements/dev.txt",
        "dev-requirements.txt",
    ] {
        places.push(Place::Requirements { file });
    }
    places
}

impl Place {
    fn file(&self) -> &'static str {
        match self {
            Place::TomlList { file, .. } | Place::TomlTable { file, .. } | Place::Requirements { file } => file,
            Place::SetupPy { .. } => "setup.py",
            Place::SetupCfg { .. } => "setup.cfg",
        }
    }

    /// In words, for notes: `pyproject.toml [project] dependencies`.
    fn describe(&self) -> String {
        match self {
            Place::TomlList { file, section, key } => format!("{file} [{section}] {key}"),
            Place::TomlTable { file, section } => format!("{file} [{section}]"),
            Place::SetupPy { keyword, group: Some(group) } => format!("setup.py {keyword}[{group:?}]"),
            Place::SetupPy { keyword, group: None } => format!("setup.py {keyword}"),
            Place::SetupCfg { section, key } => format!("setup.cfg [{section}] {key}"),
            Place::Requirements { file } => file.to_string(),
        }
    }

    fn read(&self, text: &str) -> Declaration {
        match self {
            Place::TomlList { section, key, .. } => match toml_at(text, section).map(|t| t.get(*key).cloned()) {
                Some(Some(toml::Value::Array(items))) => {
                    Declaration::Entries(items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect())
                }
                Some(Some(_)) => Declaration::Unreadable(format!("`{key}` is not a list")),
                _ => Declaration::Absent,
            },
            Place::TomlTable { section, .. } => match toml_at(text, section) {
                Some(table) => Declaration::Entries(table.keys().filter(|k| *k != "python").cloned().collect()),
                None => Declaration::Absent,
            },
            Place::SetupPy { keyword, group } => setup_py::read(text, keyword, *group),
            Place::SetupCfg { section, key } => {
                match text::find_section(text, section).and_then(|s| text::ini_requirements(text, s, key)) {
                    Some(entries) => Declaration::Entries(entries),
                    None => Declaration::Absent,
                }
            }
            Place::Requirements { .. } => Declaration::Entries(text::requirements_lines(text).0),
        }
    }

    /// `text` with `requirement` declared here, or why the text cannot be edited.
    fn add(&self, text: &str, requirement: &Requirement) -> Result<String, String> {
        let name = requirement.distribution;
        let cannot = || format!("{} is not written in a layout this tool edits", self.describe());
        let new = match self {
            Place::TomlList { section, key, .. } => {
                let open = text::find_section(text, section).and_then(|s| text::key_list(text, s, key));
                open.and_then(|open| add_to_list(text, open, requirement))
            }
            Place::TomlTable { section, .. } => {
                text::find_section(text, section).map(|s| text::add_to_table(text, s, name, requirement.floor))
            }
            Place::SetupPy { keyword, group } => {
                setup_py::list_open(text, keyword, *group).and_then(|open| add_to_list(text, open, requirement))
            }
            Place::SetupCfg { section, key } => text::find_section(text, section).and_then(|s| {
                let entries = text::ini_requirements(text, s, key)?;
                let entry = Style::of(entries.iter().map(String::as_str), '"').requirement(name, requirement.floor);
                text::add_to_ini_value(text, s, key, &entry)
            }),
            Place::Requirements { .. } => Some(text::add_to_requirements(text, name, requirement.floor)),
        }
        .ok_or_else(cannot)?;
        // The edit must leave a file that reads, and declares the requirement here.
        match self.read(&new) {
            Declaration::Entries(entries) if declares(&entries, name) => Ok(new),
            _ => Err(cannot()),
        }
    }
}

/// A requirement added to the list at `open`, styled like the list's entries.
fn add_to_list(text: &str, open: usize, requirement: &Requirement) -> Option<String> {
    let list = text::scan_list(text, open)?;
    if list.not_literal {
        return None;
    }
    let quote = list.items.first().map_or('"', |i| i.quote);
    let style = Style::of(list.items.iter().map(|i| i.value.as_str()), quote);
    text::add_to_list(text, open, &style.requirement(requirement.distribution, requirement.floor))
}

/// The table at a dotted section path of a TOML text (`tool.poetry.dependencies`).
fn toml_at(text: &str, section: &str) -> Option<toml::Table> {
    let doc: toml::Table = text.parse().ok()?;
    let mut table = &doc;
    for part in section.split('.') {
        table = table.get(part)?.as_table()?;
    }
    Some(table.clone())
}

/// Whether these requirement strings (or Poetry names) declare `name`.
fn declares(entries: &[String], name: &str) -> bool {
    let name = normalise(name);
    entries.iter().any(|e| text::requirement_name(e) == name)
}

/// Add the draft's libraries to the project's declared dependencies (the
/// dependency files' edits join `changes`), and configure pytest-asyncio's
/// fixture loop scope when tests were converted. Returns notes: what could not
/// be declared, and what the branch then needs installed.
pub fn declare(root: &Path, changes: &mut Vec<FileChange>) -> Vec<String> {
    let needs = needs(changes);
    if needs.is_empty() {
        return Vec::new();
    }
    let mut files = Files::new(root, changes);
    let mut notes = Vec::new();
    let runtime: Vec<Requirement> = needs.iter().filter(|n| !n.tests_only).map(|n| n.requirement).collect();
    let tests: Vec<Requirement> = needs.iter().filter(|n| n.tests_only).map(|n| n.requirement).collect();
    if !runtime.is_empty() {
        declare_runtime(&mut files, &runtime, &mut notes);
    }
    if !tests.is_empty() {
        declare_tests(&mut files, &tests, &mut notes);
    }
    if needs.iter().any(|n| n.requirement == PYTEST_ASYNCIO) {
        pytest_config::set_loop_scope(&mut files);
    }
    files.write_into(changes);
    notes
}

/// The first of `places` the project has, with what it holds.
fn first_place(files: &mut Files<'_>, places: Vec<Place>) -> Option<(Place, Result<Vec<String>, String>)> {
    places.into_iter().find_map(|place| {
        let text = files.text(place.file())?;
        match place.read(&text) {
            Declaration::Absent => None,
            Declaration::Unreadable(why) => Some((place, Err(why))),
            Declaration::Entries(entries) => Some((place, Ok(entries))),
        }
    })
}

/// Runtime libraries go where the package's own dependencies are declared (what
/// installing it installs); what that place already declares is left alone.
fn declare_runtime(files: &mut Files<'_>, needed: &[Requirement], notes: &mut Vec<String>) {
    let Some((place, held)) = first_place(files, runtime_places()) else {
        notes.push(format!(
            "the draft imports {}, and the project declares its dependencies nowhere this tool edits \
             (pyproject.toml, setup.py, setup.cfg, requirements.txt): the branch needs {} installed",
            listed(needed, |r| r.distribution.to_string()),
            listed(needed, |r| format!("{}>={}", r.distribution, r.floor)),
        ));
        return;
    };
    let entries = match held {
        Ok(entries) => entries,
        Err(why) => {
            notes.push(format!(
                "the draft imports {}: add it to {} ({why}; left as it is)",
                listed(needed, |r| r.distribution.to_string()),
                place.describe()
            ));
            return;
        }
    };
    for requirement in needed.iter().filter(|r| !declares(&entries, r.distribution)) {
        add(files, &place, requirement, notes);
    }
}

/// Test libraries go with the test dependencies, unless declared anywhere
/// (runtime dependencies are installed for the tests too).
fn declare_tests(files: &mut Files<'_>, needed: &[Requirement], notes: &mut Vec<String>) {
    let declared = every_declared(files);
    let missing: Vec<Requirement> =
        needed.iter().filter(|r| !declared.contains(&normalise(r.distribution))).copied().collect();
    if missing.is_empty() {
        return;
    }
    match first_place(files, test_places()) {
        Some((place, Ok(_))) => {
            for requirement in &missing {
                add(files, &place, requirement, notes);
            }
        }
        Some((place, Err(why))) => notes.push(format!(
            "the converted tests need {}: add it to {} ({why}; left as it is)",
            listed(&missing, |r| r.distribution.to_string()),
            place.describe()
        )),
        None => notes.push(format!(
            "the converted tests need {}, and the project declares no test dependencies this tool edits \
             (a test or dev group in pyproject.toml, setup.py or setup.cfg, requirements-test.txt, \
             requirements-dev.txt): install {} where the tests run",
            listed(&missing, |r| r.distribution.to_string()),
            listed(&missing, |r| format!("{}>={}", r.distribution, r.floor)),
        )),
    }
}

fn add(files: &mut Files<'_>, place: &Place, requirement: &Requirement, notes: &mut Vec<String>) {
    let Some(text) = files.text(place.file()) else { return };
    match place.add(&text, requirement) {
        Ok(new) => files.set(place.file(), new),
        Err(why) => notes.push(format!(
            "the draft needs `{}`, not added to the declared dependencies: {why}",
            requirement.distribution
        )),
    }
}

/// Every distribution the project declares anywhere this module reads, normalised.
fn every_declared(files: &mut Files<'_>) -> BTreeSet<String> {
    let mut places = runtime_places();
    places.extend(test_places());
    let mut names = BTreeSet::new();
    for place in places {
        let Some(text) = files.text(place.file()) else { continue };
        if let Declaration::Entries(entries) = place.read(&text) {
            names.extend(entries.iter().map(|e| text::requirement_name(e)));
        }
    }
    if let Some(doc) = files.text("pyproject.toml").and_then(|t| t.parse::<toml::Table>().ok()) {
        names.extend(every_group_in_pyproject(&doc));
    }
    names
}

/// Names in every group of pyproject.toml, whatever the groups are called.
fn every_group_in_pyproject(doc: &toml::Table) -> Vec<String> {
    let mut names = Vec::new();
    let strings = |v: &toml::Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().filter_map(|i| i.as_str()).map(text::requirement_name).collect())
            .unwrap_or_default()
    };
    let tables = [
        doc.get("project").and_then(|p| p.get("optional-dependencies")),
        doc.get("dependency-groups"),
        doc.get("tool").and_then(|t| t.get("pdm")).and_then(|p| p.get("dev-dependencies")),
    ];
    for table in tables.into_iter().flatten().filter_map(toml::Value::as_table) {
        names.extend(table.values().flat_map(strings));
    }
    let groups = doc.get("tool").and_then(|t| t.get("poetry")).and_then(|p| p.get("group")).and_then(|g| g.as_table());
    for group in groups.into_iter().flat_map(|g| g.values()) {
        if let Some(deps) = group.get("dependencies").and_then(|d| d.as_table()) {
            names.extend(deps.keys().map(|k| normalise(k)));
        }
    }
    names
}

/// `` `httpx` and `pytest-asyncio` ``.
fn listed(requirements: &[Requirement], show: impl Fn(&Requirement) -> String) -> String {
    let items: Vec<String> = requirements.iter().map(|r| format!("`{}`", show(r))).collect();
    match items.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

mod pytest_config;
mod setup_py;

#[cfg(test)]
mod tests;
