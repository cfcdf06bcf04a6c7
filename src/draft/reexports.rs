//! A module that re-exports a converted function re-exports its async twin too.
//!
//! `pkg/__init__.py` saying `from pkg.check import check_all` (or any module
//! listing `check_all` in `__all__`) is how callers reach `check_all`; once the
//! draft adds `check_all_async` beside its sync wrapper, converted callers import
//! `from pkg import check_all_async`, which must then work. The twin is added to
//! the same import statement and, when the module lists the old name in `__all__`,
//! to `__all__` in the list's own layout.

use tree_sitter::Node;

use super::edits::Edits;
use super::python::{self, line_start, text};

/// A converted function whose old name stays as a sync wrapper: where it is
/// defined (`pkg.check`), its name and its async twin's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Twin {
    pub module: String,
    pub old: String,
    pub new: String,
}

/// A module of the repository, as far as re-exports are concerned.
pub struct Reexporter<'a> {
    /// Its dotted name (`pkg` for `pkg/__init__.py`).
    pub name: &'a str,
    /// A package's `__init__`: relative imports start from the package itself.
    pub is_package: bool,
}

/// `src` with each twin re-exported where `src` re-exports the old name: imported
/// by name from the twin's module (absolutely or relatively, not under an alias),
/// in a package `__init__` or a module listing the old name in `__all__`.
pub fn add_twins(src: &str, module: &Reexporter<'_>, twins: &[Twin]) -> String {
    let tree = python::parse(src);
    let root = tree.root_node();
    let all = dunder_all(src, root);
    let mut edits = Edits::new();
    let mut cursor = root.walk();
    for stmt in root.named_children(&mut cursor).filter(|s| s.kind() == "import_from_statement") {
        let Some(from) = stmt.child_by_field_name("module_name") else { continue };
        let Some(from) = absolute(text(src, from), module) else { continue };
        let mut c = stmt.walk();
        let names: Vec<Node> = stmt.children_by_field_name("name", &mut c).collect();
        let imported: Vec<&str> = names.iter().map(|n| text(src, *n)).collect();
        for twin in twins.iter().filter(|t| t.module == from && !imported.contains(&t.new.as_str())) {
            let Some(old) = names.iter().find(|n| n.kind() == "dotted_name" && text(src, **n) == twin.old) else {
                continue;
            };
            let listed = all.as_ref().and_then(|list| listed_string(src, *list, &twin.old));
            if !module.is_package && listed.is_none() {
                continue; // imported for its own use, not re-exported
            }
            edits.insert(old.end_byte(), format!(", {}", twin.new));
            if let Some(element) = listed {
                add_to_list(src, element, &twin.new, &mut edits);
            }
        }
    }
    edits.apply(src).unwrap_or_else(|_| src.to_string())
}

/// The dotted module an import's `from` names, relative ones resolved against `module`.
fn absolute(from: &str, module: &Reexporter<'_>) -> Option<String> {
    let dots = from.len() - from.trim_start_matches('.').len();
    if dots == 0 {
        return Some(from.to_string());
    }
    let mut package: Vec<&str> = module.name.split('.').collect();
    if !module.is_package {
        package.pop();
    }
    for _ in 1..dots {
        package.pop()?;
    }
    let rest = &from[dots..];
    if !rest.is_empty() {
        package.push(rest);
    }
    (!package.is_empty()).then(|| package.join("."))
}

/// The list or tuple assigned to `__all__` at the top level.
fn dunder_all<'t>(src: &str, root: Node<'t>) -> Option<Node<'t>> {
    let mut cursor = root.walk();
    root.named_children(&mut cursor).filter(|s| s.kind() == "expression_statement").find_map(|stmt| {
        let assignment = stmt.named_child(0).filter(|a| a.kind() == "assignment")?;
        let left = assignment.child_by_field_name("left")?;
        let right = assignment.child_by_field_name("right").filter(|r| matches!(r.kind(), "list" | "tuple"))?;
        (text(src, left) == "__all__").then_some(right)
    })
}

/// The string element of `list` whose value is `name`.
fn listed_string<'t>(src: &str, list: Node<'t>, name: &str) -> Option<Node<'t>> {
    let mut cursor = list.walk();
    list.named_children(&mut cursor).find(|e| {
        e.kind() == "string" && {
            let quoted = text(src, *e);
            quoted.len() >= 2 && &quoted[1..quoted.len() - 1] == name
        }
    })
}

/// Add `"new"` after `element` in its list: on a line of its own when the
/// elements stand one per line, else on the same line; in the element's quotes.
fn add_to_list(src: &str, element: Node, new: &str, edits: &mut Edits) {
    let quoted = text(src, element);
    let quote = &quoted[..1];
    let start = line_start(src, element.start_byte());
    let indent = &src[start..element.start_byte()];
    let comma = element.next_sibling().filter(|n| n.kind() == ",");
    match (indent.trim().is_empty(), comma) {
        (true, Some(comma)) => edits.insert(comma.end_byte(), format!("\n{indent}{quote}{new}{quote},")),
        (true, None) => edits.insert(element.end_byte(), format!(",\n{indent}{quote}{new}{quote}")),
        (false, _) => edits.insert(element.end_byte(), format!(", {quote}{new}{quote}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn twin() -> Vec<Twin> {
        vec![Twin { module: "pkg.check".into(), old: "check_all".into(), new: "check_all_async".into() }]
    }

    const PACKAGE: Reexporter<'static> = Reexporter { name: "pkg", is_package: true };

    #[test]
    fn a_package_reexports_the_twin_beside_the_old_name_and_in_all() {
        let src = "from pkg.check import Page, check_all, load\n\n__all__ = [\"Page\", \"check_all\", \"load\"]\n";
        assert_eq!(
            add_twins(src, &PACKAGE, &twin()),
            "from pkg.check import Page, check_all, check_all_async, load\n\n__all__ = [\"Page\", \"check_all\", \"check_all_async\", \"load\"]\n"
        );
    }

    #[test]
    fn relative_imports_and_one_name_per_line_lists() {
        let src = "from .check import (\n    check_all,\n)\n\n__all__ = (\n    'check_all',\n    'x'\n)\n";
        assert_eq!(
            add_twins(src, &PACKAGE, &twin()),
            "from .check import (\n    check_all, check_all_async,\n)\n\n__all__ = (\n    'check_all',\n    'check_all_async',\n    'x'\n)\n"
        );
        let last = "from .check import check_all\n__all__ = [\n    'check_all'\n]\n";
        assert_eq!(
            add_twins(last, &PACKAGE, &twin()),
            "from .check import check_all, check_all_async\n__all__ = [\n    'check_all',\n    'check_all_async'\n]\n"
        );
    }

    #[test]
    fn a_module_importing_for_its_own_use_an_alias_or_another_module_is_left_alone() {
        let user = Reexporter { name: "pkg.cli", is_package: false };
        let own_use = "from pkg.check import check_all\n\nprint(check_all)\n";
        assert_eq!(add_twins(own_use, &user, &twin()), own_use);
        let aliased = "from pkg.check import check_all as run\n";
        assert_eq!(add_twins(aliased, &PACKAGE, &twin()), aliased);
        let other = "from pkg.other import check_all\n";
        assert_eq!(add_twins(other, &PACKAGE, &twin()), other);
        let done = "from pkg.check import check_all, check_all_async\n";
        assert_eq!(add_twins(done, &PACKAGE, &twin()), done);
    }

    #[test]
    fn a_module_listing_the_name_in_all_reexports_it() {
        let api = Reexporter { name: "pkg.api", is_package: false };
        let src = "from .check import check_all\n__all__ = ['check_all']\n";
        assert_eq!(
            add_twins(src, &api, &twin()),
            "from .check import check_all, check_all_async\n__all__ = ['check_all', 'check_all_async']\n"
        );
    }

    #[test]
    fn relative_imports_resolve_from_the_package() {
        assert_eq!(absolute("..util", &Reexporter { name: "pkg.sub.mod", is_package: false }).unwrap(), "pkg.util");
        assert_eq!(absolute(".", &Reexporter { name: "pkg.sub", is_package: true }).unwrap(), "pkg.sub");
        assert_eq!(absolute("...x", &Reexporter { name: "pkg", is_package: true }), None);
    }
}
