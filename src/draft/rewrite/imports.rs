//! What the edits need imported (plain imports, names from a module, the helper
//! module's names), and the imports they leave unused.

use super::*;
use crate::analysis::summary::{Binding, BindingValue};
use crate::draft::edits::Overlap;

/// Imports the phases asked for, added in one place at the end.
#[derive(Default)]
pub(super) struct ImportNeeds {
    /// Plain imports to add (`asyncio`, `httpx`).
    pub(super) modules: BTreeSet<String>,
    /// Names to import from the helper module.
    pub(super) helpers: BTreeSet<&'static str>,
    /// Names to add to an existing `from module import ...` (module → names).
    pub(super) from_names: BTreeMap<String, BTreeSet<String>>,
    /// Functions imported by name whose async versions the module now calls: (module, old, new).
    pub(super) renamed: BTreeSet<(String, String, String)>,
    /// Modules whose plain import a native mapping may leave unused (`requests`, `time`).
    pub(super) may_drop: BTreeSet<&'static str>,
}

impl<'a, 'c, 't> Rewriter<'a, 'c, 't> {
    pub(super) fn need_import(&mut self, module: &str) {
        self.imports.modules.insert(module.to_string());
    }

    /// The module a bare name was imported from (`from typing import Iterator`), as
    /// written (`.sibling` for a relative import): read from the index's bindings.
    pub(super) fn imported_from(&self, name: &str) -> Option<String> {
        self.import_binding(name).map(|(module, _)| module)
    }

    /// The module-level `from module import name` (or `name as alias`) that binds
    /// `ident`: the module as written and the imported name.
    pub(super) fn import_binding(&self, ident: &str) -> Option<(String, String)> {
        self.top_level_imports().filter(|b| b.name == ident).find_map(|b| match &b.value {
            BindingValue::FromImport { level, module, name } => {
                Some((format!("{}{module}", ".".repeat(*level as usize)), name.to_string()))
            }
            _ => None,
        })
    }

    /// The bindings of import statements at the top level of the module. Imports
    /// under `if TYPE_CHECKING:` or `try:` are left out: a name bound only there
    /// may be missing at run time, so the rewrite imports what it needs itself.
    fn top_level_imports(&self) -> impl Iterator<Item = &'a Binding> + '_ {
        let bindings = self.module().summary.scopes.first().map(|s| s.bindings.as_slice()).unwrap_or_default();
        bindings.iter().filter(|b| {
            matches!(b.value, BindingValue::Module(_) | BindingValue::FromImport { .. })
                && ["import_statement", "import_from_statement"].iter().any(|kind| {
                    python::node_starting(self.tree, b.at as usize, kind)
                        .is_some_and(|stmt| stmt.parent().is_some_and(|p| p.kind() == "module"))
                })
        })
    }

    /// The module-level `from module import ...` statement (where names are added).
    fn import_from_statement(&self, module: &str) -> Option<Node<'t>> {
        self.top_level_imports().find_map(|b| match &b.value {
            BindingValue::FromImport { level: 0, module: m, .. } if m == module => {
                python::node_starting(self.tree, b.at as usize, "import_from_statement")
            }
            _ => None,
        })
    }

    /// Whether the module already binds `module` with a plain `import module`.
    fn imports_module(&self, module: &str) -> bool {
        self.top_level_imports().any(|b| b.name == module && matches!(b.value, BindingValue::Module(m) if m == module))
    }

    pub(super) fn finish(&mut self) -> Result<String, String> {
        let nl = self.nl;
        let mut lines = String::new();
        for module in self.imports.modules.clone() {
            let module = module.as_str();
            if self.imports_module(module) {
                continue;
            }
            // httpx takes the place of requests; others go in order among the plain imports.
            let at = if module == "httpx" && self.imports_module("requests") {
                python::plain_import_line(self.tree, self.src, |m| m == "requests")
            } else {
                python::plain_import_line(self.tree, self.src, |m| m > module)
            };
            match at {
                Some(at) => self.edits.insert(at, format!("import {module}{nl}")),
                None => lines.push_str(&format!("import {module}{nl}")),
            }
        }
        for (module, names) in std::mem::take(&mut self.imports.from_names) {
            match self.import_from_statement(&module) {
                Some(stmt) => {
                    let mut c = stmt.walk();
                    let existing: Vec<Node> = stmt.children_by_field_name("name", &mut c).collect();
                    let have: Vec<&str> = existing.iter().map(|n| text(self.src, *n)).collect();
                    let add: Vec<&String> = names.iter().filter(|n| !have.contains(&n.as_str())).collect();
                    // In isort's order (constants, classes, functions), each before the first name after it.
                    for name in add {
                        let key = import_order(name);
                        match existing.iter().find(|n| import_order(text(self.src, **n)) > key) {
                            Some(next) => self.edits.insert(next.start_byte(), format!("{name}, ")),
                            None => {
                                if let Some(last) = existing.last() {
                                    self.edits.insert(last.end_byte(), format!(", {name}"));
                                }
                            }
                        }
                    }
                }
                None => {
                    let list: Vec<&str> = names.iter().map(String::as_str).collect();
                    lines.push_str(&from_import(&module, &list, nl));
                }
            }
        }
        if !self.imports.helpers.is_empty() {
            let list: Vec<&str> = self.imports.helpers.iter().copied().collect();
            lines.push_str(&from_import(self.job.helper_import, &list, nl));
        }
        if !lines.is_empty() {
            let at = python::import_insertion_point(self.tree, self.src);
            // A blank line before the block when it follows a docstring or code, not other imports.
            self.edits.insert(at, lines);
        }
        let out = self.edits.apply(self.src).map_err(|e| e.to_string())?;
        let dropped: Vec<&str> = self.imports.may_drop.iter().copied().collect();
        tidy_imports(&out, &self.imports.renamed, &dropped).map_err(|e| format!("tidying the imports: {e}"))
    }
}

/// `from module import a, b` on one line, or one name per line in parentheses
/// when that line would be longer than formatters allow (88, black's and ruff's default).
fn from_import(module: &str, names: &[&str], nl: &str) -> String {
    let line = format!("from {module} import {}", names.join(", "));
    if line.len() <= 88 {
        return format!("{line}{nl}");
    }
    let mut out = format!("from {module} import ({nl}");
    for name in names {
        out.push_str(&format!("    {name},{nl}"));
    }
    out.push_str(&format!("){nl}"));
    out
}

/// The imports after the rewrite, in one pass over the rewritten text: `from
/// module import old` brings in `new` too (or instead, once `old` is no longer
/// used), and plain imports of `may_drop` modules that nothing uses any more go.
/// The two touch different statements, and neither changes which names the code
/// outside the imports uses.
fn tidy_imports(src: &str, renamed: &BTreeSet<(String, String, String)>, may_drop: &[&str]) -> Result<String, Overlap> {
    if renamed.is_empty() && may_drop.is_empty() {
        return Ok(src.to_string());
    }
    let tree = python::parse(src);
    let root = tree.root_node();
    let used = names_outside_imports(src, root);
    let mut edits = Edits::new();
    let mut cursor = root.walk();
    for stmt in root.named_children(&mut cursor) {
        match stmt.kind() {
            "import_from_statement" => {
                let module = stmt.child_by_field_name("module_name").map(|m| text(src, m));
                if module.is_some_and(|m| may_drop.contains(&m)) {
                    remove_unused_names(src, stmt, &used, &mut edits);
                } else {
                    import_renamed(src, stmt, renamed, &used, &mut edits);
                }
            }
            "import_statement" => remove_if_unused(src, stmt, may_drop, &used, &mut edits),
            _ => {}
        }
    }
    edits.apply(src)
}

/// Drop an `import requests` / `import time` line once nothing uses the name.
fn remove_if_unused(src: &str, stmt: Node, modules: &[&str], used: &BTreeSet<&str>, edits: &mut Edits) {
    if stmt.named_child_count() != 1 {
        return;
    }
    let Some(name) = stmt.named_child(0).filter(|n| n.kind() == "dotted_name") else { return };
    let module = text(src, name);
    if !modules.contains(&module) || used.contains(module) {
        return;
    }
    remove_statement(src, stmt, edits);
}

/// `from subprocess import PIPE, Popen` once the rewrite left `Popen` unused (of a
/// `may_drop` module): without the names nothing uses, or gone when none is used.
fn remove_unused_names(src: &str, stmt: Node, used: &BTreeSet<&str>, edits: &mut Edits) {
    let Some(module) = stmt.child_by_field_name("module_name").map(|m| text(src, m)) else { return };
    let mut c = stmt.walk();
    let names: Vec<Node> = stmt.children_by_field_name("name", &mut c).collect();
    let bound = |n: &Node| match n.kind() {
        "aliased_import" => n.child_by_field_name("alias").map(|a| text(src, a)).unwrap_or_default(),
        _ => text(src, *n),
    };
    let kept: Vec<&str> = names.iter().filter(|n| used.contains(bound(n))).map(|n| text(src, *n)).collect();
    if names.is_empty() || kept.len() == names.len() || stmt.child_by_field_name("module_name").is_none() {
        return;
    }
    if kept.is_empty() {
        remove_statement(src, stmt, edits);
        return;
    }
    let nl = if src.contains("\r\n") { "\r\n" } else { "\n" };
    let rewritten = from_import(module, &kept, nl);
    edits.replace(stmt.start_byte(), stmt.end_byte(), rewritten.trim_end().to_string());
}

/// Remove an import statement's lines, and one of the blank lines around it when
/// it stood between two.
fn remove_statement(src: &str, stmt: Node, edits: &mut Edits) {
    let start = line_start(src, stmt.start_byte());
    let end = next_line_start(src, stmt.end_byte());
    if src[start..stmt.start_byte()].trim().is_empty() && src[stmt.end_byte()..end].trim().is_empty() {
        // Between two blank lines, take one of them along so no double gap is left.
        let before_blank = start > 0 && src[line_start(src, start - 1)..start].trim().is_empty();
        let after = next_line_start(src, end);
        let after_blank = end < src.len() && src[end..after].trim().is_empty();
        let end = if before_blank && after_blank { after } else { end };
        edits.replace(start, end, "");
    }
}

/// Make `from module import old` bring in `new` too, or instead when `old` is no longer used.
fn import_renamed(
    src: &str,
    stmt: Node,
    renamed: &BTreeSet<(String, String, String)>,
    used: &BTreeSet<&str>,
    edits: &mut Edits,
) {
    let Some(module) = stmt.child_by_field_name("module_name").map(|m| text(src, m)) else { return };
    let mut c = stmt.walk();
    let names: Vec<Node> = stmt.children_by_field_name("name", &mut c).collect();
    let have: Vec<&str> = names.iter().map(|n| text(src, *n)).collect();
    for (_, old, new) in renamed.iter().filter(|(m, _, _)| m == module) {
        if have.contains(&new.as_str()) {
            continue;
        }
        let Some(node) = names.iter().find(|n| text(src, **n) == old) else { continue };
        if used.contains(old.as_str()) {
            edits.insert(node.end_byte(), format!(", {new}"));
        } else {
            edits.replace(node.start_byte(), node.end_byte(), new.clone());
        }
    }
}

/// isort's default order of imported names: CONSTANTS, then Classes, then functions.
pub(super) fn import_order(name: &str) -> (u8, String) {
    let kind = if name.len() > 1 && name.chars().all(|c| !c.is_ascii_lowercase()) {
        0
    } else if name.starts_with(|c: char| c.is_ascii_uppercase()) {
        1
    } else {
        2
    };
    (kind, name.to_lowercase())
}

/// Every name the module reads from its global scope, outside its import
/// statements: an identifier inside a function counts only when the function does
/// not bind that name itself (a parameter named `time` is not a use of `import time`).
pub(super) fn names_outside_imports<'s>(src: &'s str, root: Node) -> BTreeSet<&'s str> {
    let mut out = BTreeSet::new();
    let mut c = root.walk();
    let mut stack: Vec<(Node, std::rc::Rc<BTreeSet<&'s str>>)> = vec![(root, Default::default())];
    while let Some((n, local)) = stack.pop() {
        if matches!(n.kind(), "import_statement" | "import_from_statement") {
            continue;
        }
        if n.kind() == "identifier" && !local.contains(text(src, n)) && !is_member_or_keyword(n) {
            out.insert(text(src, n));
        }
        let local = if matches!(n.kind(), "function_definition" | "lambda") {
            let mut inner = (*local).clone();
            inner.extend(bound_locally(src, n));
            std::rc::Rc::new(inner)
        } else {
            local
        };
        for child in n.named_children(&mut c) {
            stack.push((child, local.clone()));
        }
    }
    out
}

/// `sleep` in `asyncio.sleep` or `stdout=` in a call: a name that reads no variable.
fn is_member_or_keyword(id: Node) -> bool {
    id.parent().is_some_and(|p| match p.kind() {
        "attribute" => p.child_by_field_name("attribute") == Some(id),
        "keyword_argument" => p.child_by_field_name("name") == Some(id),
        _ => false,
    })
}

/// The names a function binds in its own scope: its parameters and the plain
/// names it assigns, minus those it declares `global` or `nonlocal`.
fn bound_locally<'s>(src: &'s str, function: Node) -> BTreeSet<&'s str> {
    let mut bound = BTreeSet::new();
    let mut declared = BTreeSet::new();
    if let Some(params) = function.child_by_field_name("parameters") {
        let mut c = params.walk();
        for p in params.named_children(&mut c) {
            let name =
                if p.kind() == "identifier" { Some(p) } else { p.child_by_field_name("name").or(p.named_child(0)) };
            if let Some(name) = name.filter(|n| n.kind() == "identifier") {
                bound.insert(text(src, name));
            }
        }
    }
    let mut stack: Vec<Node> = function.child_by_field_name("body").into_iter().collect();
    let mut c = function.walk();
    while let Some(n) = stack.pop() {
        match n.kind() {
            "function_definition" | "class_definition" => {
                bound.extend(n.child_by_field_name("name").map(|name| text(src, name)));
                continue; // its own scope
            }
            "lambda" => continue,
            "global_statement" | "nonlocal_statement" => {
                let mut c2 = n.walk();
                declared.extend(n.named_children(&mut c2).map(|name| text(src, name)));
            }
            "assignment" | "augmented_assignment" | "for_statement" | "for_in_clause" => {
                let target = n.child_by_field_name("left");
                bound.extend(target.filter(|t| t.kind() == "identifier").map(|t| text(src, t)));
            }
            "as_pattern_target" => {
                bound.extend(n.named_child(0).filter(|t| t.kind() == "identifier").map(|t| text(src, t)))
            }
            _ => {}
        }
        stack.extend(n.named_children(&mut c));
    }
    bound.retain(|name| !declared.contains(name));
    bound
}

#[cfg(test)]
#[path = "tests/imports.rs"]
mod tests;
