//! The helper module a draft adds holds only what its converted code imports.
//!
//! `async_bridge.py` is written as one module of every helper. A branch that
//! only gathers a loop does not want `run_process`'s overloads to review, nor
//! imports its code never uses: the module is cut down to the definitions the
//! draft's imports name, the definitions those use (by name, transitively), the
//! exit hooks whose every name is kept, and the imports of what is kept.

use std::collections::{BTreeMap, BTreeSet};

use tree_sitter::Node;

use super::python::{self, line_start, next_line_start, text};

/// One top-level statement of the module, with the comments right above it.
struct Item<'s> {
    /// Its text with the blank lines and comments before it.
    text: &'s str,
    kind: ItemKind,
    /// The names it binds at the top level.
    defines: Vec<&'s str>,
    /// Every identifier it uses.
    uses: BTreeSet<&'s str>,
}

#[derive(PartialEq, Eq)]
enum ItemKind {
    /// The docstring and `from __future__` imports: always kept.
    Prologue,
    /// An import statement: kept for the names it brings that kept code uses.
    Import,
    /// `__all__`: written again with the kept public names.
    All,
    /// A definition run for its effect (`@atexit.register`): kept when all it uses is.
    Hook,
    Definition,
}

/// The helper module `source` cut down to what `needed` (names the converted code
/// imports from it) requires. Names it does not define are ignored.
pub fn minimal(source: &str, needed: &BTreeSet<String>) -> String {
    let tree = python::parse(source);
    let items = items(source, tree.root_node());
    let kept = kept(&items, needed);
    let used: BTreeSet<&str> = kept.iter().flat_map(|&i| items[i].uses.iter().copied()).collect();
    let public: Vec<&str> = all_names(&items).into_iter().filter(|n| kept_defines(&items, &kept, n)).collect();
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        match item.kind {
            ItemKind::Prologue => out.push_str(item.text),
            ItemKind::Import => out.push_str(&import_of(item, &used)),
            ItemKind::All => out.push_str(&all_of(item.text, &public)),
            ItemKind::Hook | ItemKind::Definition if kept.contains(&i) => out.push_str(item.text),
            _ => {}
        }
    }
    out
}

/// The names an existing helper module exports (its `__all__`).
pub fn exported(source: &str) -> BTreeSet<String> {
    let tree = python::parse(source);
    all_names(&items(source, tree.root_node())).into_iter().map(str::to_string).collect()
}

/// The names a module imports from the helper module `helper_import` (`pkg._async_bridge`).
pub fn imported(source: &str, helper_import: &str) -> BTreeSet<String> {
    let tree = python::parse(source);
    let root = tree.root_node();
    let mut out = BTreeSet::new();
    let mut cursor = root.walk();
    for stmt in root.named_children(&mut cursor).filter(|s| s.kind() == "import_from_statement") {
        if stmt.child_by_field_name("module_name").is_none_or(|m| text(source, m) != helper_import) {
            continue;
        }
        let mut c = stmt.walk();
        for name in stmt.children_by_field_name("name", &mut c) {
            let name = if name.kind() == "aliased_import" { name.child_by_field_name("name") } else { Some(name) };
            out.extend(name.map(|n| text(source, n).to_string()));
        }
    }
    out
}

fn items<'s>(source: &'s str, root: Node) -> Vec<Item<'s>> {
    let mut items = Vec::new();
    let mut start = 0;
    let mut cursor = root.walk();
    for node in root.named_children(&mut cursor) {
        if node.kind() == "comment" {
            continue; // travels with the statement below it
        }
        let end = next_line_start(source, node.end_byte());
        let body = &source[line_start(source, node.start_byte())..end];
        items.push(Item {
            text: &source[start..end],
            kind: kind(node, body),
            defines: defines(source, node),
            uses: identifiers(source, node),
        });
        start = end;
    }
    if let Some(last) = items.last_mut() {
        // Whatever follows the last statement (a trailing comment) stays with it.
        let from = last.text.as_ptr() as usize - source.as_ptr() as usize;
        last.text = &source[from..];
    }
    items
}

fn kind(node: Node, body: &str) -> ItemKind {
    match node.kind() {
        "future_import_statement" => ItemKind::Prologue,
        "expression_statement" if node.named_child(0).is_some_and(|n| n.kind() == "string") => ItemKind::Prologue,
        "import_statement" | "import_from_statement" => ItemKind::Import,
        "expression_statement" if body.starts_with("__all__") => ItemKind::All,
        "decorated_definition" if body.lines().any(|l| l.starts_with("@atexit.")) => ItemKind::Hook,
        _ => ItemKind::Definition,
    }
}

/// The names a top-level statement binds: a definition's name, assignment
/// targets, and those of the assignments under an `if` (`if TYPE_CHECKING:`).
fn defines<'s>(source: &'s str, node: Node) -> Vec<&'s str> {
    match node.kind() {
        "function_definition" | "class_definition" => {
            node.child_by_field_name("name").map(|n| text(source, n)).into_iter().collect()
        }
        "decorated_definition" => {
            node.child_by_field_name("definition").map(|d| defines(source, d)).unwrap_or_default()
        }
        "expression_statement" => node
            .named_child(0)
            .filter(|a| a.kind() == "assignment")
            .and_then(|a| a.child_by_field_name("left"))
            .filter(|l| l.kind() == "identifier")
            .map(|l| text(source, l))
            .into_iter()
            .collect(),
        "if_statement" => {
            let mut out = Vec::new();
            let mut stack = vec![node];
            while let Some(n) = stack.pop() {
                if n.kind() == "expression_statement" {
                    out.extend(defines(source, n));
                }
                let mut c = n.walk();
                stack.extend(n.named_children(&mut c));
            }
            out
        }
        _ => Vec::new(),
    }
}

fn identifiers<'s>(source: &'s str, node: Node) -> BTreeSet<&'s str> {
    let mut out = BTreeSet::new();
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if n.kind() == "identifier" {
            out.insert(text(source, n));
        }
        if n.kind() == "string" {
            out.extend(quoted_type_names(text(source, n)));
        }
        let mut c = n.walk();
        stack.extend(n.named_children(&mut c));
    }
    out
}

/// The names a quoted annotation uses (`"os.PathLike[str]"` uses `os`, `str`);
/// nothing for a string that is not a dotted or subscripted type expression.
fn quoted_type_names(quoted: &str) -> Vec<&str> {
    let inner = quoted.trim_matches(|c| c == '"' || c == '\'');
    // A dotted or subscripted name: a bare word is a string like `"httpx"`.
    let is_type = inner.contains(['.', '['])
        && inner.chars().all(|c| c.is_alphanumeric() || "_.[], |".contains(c))
        && inner.starts_with(|c: char| c.is_alphabetic() || c == '_');
    if !is_type {
        return Vec::new();
    }
    inner
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .filter_map(|w| w.split('.').next())
        .filter(|w| !w.is_empty())
        .collect()
}

/// The items to keep: those defining `needed`, what they use, and the hooks all
/// of whose module names are kept.
fn kept(items: &[Item<'_>], needed: &BTreeSet<String>) -> BTreeSet<usize> {
    let mut by_name: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, item) in items.iter().enumerate().filter(|(_, it)| matches!(it.kind, ItemKind::Definition)) {
        for name in &item.defines {
            by_name.entry(name).or_default().push(i);
        }
    }
    let mut kept = BTreeSet::new();
    let mut todo: Vec<usize> =
        needed.iter().flat_map(|n| by_name.get(n.as_str()).into_iter().flatten().copied()).collect();
    loop {
        while let Some(i) = todo.pop() {
            if kept.insert(i) {
                for name in &items[i].uses {
                    todo.extend(by_name.get(name).into_iter().flatten().filter(|j| !kept.contains(*j)));
                }
            }
        }
        let names: BTreeSet<&str> = kept.iter().flat_map(|&i| items[i].defines.iter().copied()).collect();
        let hooks = items.iter().enumerate().filter(|(i, it)| {
            it.kind == ItemKind::Hook
                && !kept.contains(i)
                && it.uses.iter().filter(|n| by_name.contains_key(*n)).all(|n| names.contains(n))
                && it.uses.iter().any(|n| by_name.contains_key(n))
        });
        todo.extend(hooks.map(|(i, _)| i));
        if todo.is_empty() {
            return kept;
        }
    }
}

fn kept_defines(items: &[Item<'_>], kept: &BTreeSet<usize>, name: &str) -> bool {
    kept.iter().any(|&i| items[i].defines.contains(&name))
}

/// The names listed in `__all__`, in order.
fn all_names<'s>(items: &[Item<'s>]) -> Vec<&'s str> {
    let Some(all) = items.iter().find(|i| i.kind == ItemKind::All) else { return Vec::new() };
    all.text
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_alphanumeric() || c == '_'))
        .collect()
}

/// `__all__` listing `names`, one per line as formatters write a list that long.
fn all_of(item: &str, names: &[&str]) -> String {
    let start = item.find("__all__").unwrap_or(0);
    let mut out = item[..start].to_string();
    out.push_str("__all__ = [\n");
    for name in names {
        out.push_str(&format!("    \"{name}\",\n"));
    }
    out.push_str("]\n");
    out
}

/// An import statement keeping only the names that kept code uses (nothing when none).
fn import_of(item: &Item<'_>, used: &BTreeSet<&str>) -> String {
    let keep: Vec<&str> = item.defines_imported().into_iter().filter(|n| used.contains(n)).collect();
    let all = item.defines_imported();
    if keep.len() == all.len() {
        return item.text.to_string();
    }
    if keep.is_empty() {
        return String::new();
    }
    let head = item.text.find("import").map(|i| &item.text[..i + "import".len()]).unwrap_or("");
    if keep.len() == 1 || !item.text.contains('(') {
        return format!("{head} {}\n", keep.join(", "));
    }
    let mut out = format!("{head} (\n");
    for name in keep {
        out.push_str(&format!("    {name},\n"));
    }
    out.push_str(")\n");
    out
}

impl Item<'_> {
    /// The names an import statement binds: `asyncio` for `import asyncio`,
    /// `concurrent` for `import concurrent.futures`, each name of a `from` import.
    fn defines_imported(&self) -> Vec<&str> {
        let statement = self.text.trim_start();
        if let Some(rest) = statement.strip_prefix("import ") {
            return rest.split(',').filter_map(|m| m.trim().split('.').next()).collect();
        }
        let Some((_, names)) = statement.split_once(" import ") else { return Vec::new() };
        names
            .split([',', '(', ')', '\n'])
            .map(|n| n.split(" as ").last().unwrap_or(n).trim())
            .filter(|n| !n.is_empty() && !n.starts_with('#'))
            .collect()
    }
}
