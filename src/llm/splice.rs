//! Putting checked function sources into a module: each replaces its original
//! definition (decorators included) at the original indentation, and missing
//! imports go where the module's imports end.

use tree_sitter::Node;

use super::answer::dedent;
use crate::draft::edits::{Edits, Overlap};
use crate::draft::python;

/// Why checked sources could not be put in place.
#[derive(Debug, thiserror::Error)]
pub enum SpliceError {
    #[error("no definition of `{0}` found")]
    NoDefinition(String),
    /// Which edits overlap (a bug in the splicing; `Overlap` says where).
    #[error("the replacements overlap")]
    Overlap(Overlap),
}

/// The definition of `local` (`Client.fetch`, `outer`) in `src`: its decorated
/// node's byte range.
pub fn find_definition(src: &str, local: &str) -> Option<(usize, usize)> {
    let tree = python::parse(src);
    let parts: Vec<&str> = local.split('.').collect();
    find_in(tree.root_node(), src, &parts)
}

fn find_in(scope: Node<'_>, src: &str, parts: &[&str]) -> Option<(usize, usize)> {
    let (first, rest) = parts.split_first()?;
    let mut cursor = scope.walk();
    for child in scope.named_children(&mut cursor) {
        let (outer, def) = match child.kind() {
            "decorated_definition" => (child, child.child_by_field_name("definition")?),
            "function_definition" | "class_definition" => (child, child),
            _ => continue,
        };
        let name = def.child_by_field_name("name").map(|n| python::text(src, n));
        if name != Some(*first) {
            continue;
        }
        if rest.is_empty() {
            return (def.kind() == "function_definition").then(|| (outer.start_byte(), outer.end_byte()));
        }
        let body = def.child_by_field_name("body")?;
        return find_in(body, src, rest);
    }
    None
}

/// Replace each `(local qualname, new source)` in `src` and add `imports` that the
/// module does not have yet. Fails, naming it, when a definition is not found.
pub fn splice(src: &str, replacements: &[(&str, &str)], imports: &[String]) -> Result<String, SpliceError> {
    let nl = python::newline(src);
    let mut edits = Edits::new();
    for (local, source) in replacements {
        let (start, end) = find_definition(src, local).ok_or_else(|| SpliceError::NoDefinition(local.to_string()))?;
        let indent = python::indent_at(src, start);
        let body = dedent(source);
        let text: Vec<String> =
            body.trim_end()
                .lines()
                .enumerate()
                .map(|(i, line)| {
                    if i == 0 || line.trim().is_empty() {
                        line.trim_end().to_string()
                    } else {
                        format!("{indent}{line}")
                    }
                })
                .collect();
        edits.replace(start, end, text.join(nl));
    }
    let tree = python::parse(src);
    let have: Vec<String> = {
        let root = tree.root_node();
        let mut cursor = root.walk();
        root.named_children(&mut cursor)
            .filter(|n| matches!(n.kind(), "import_statement" | "import_from_statement"))
            .map(|n| squash(python::text(src, n)))
            .collect()
    };
    let missing: Vec<&String> = imports.iter().filter(|i| !have.contains(&squash(i))).collect();
    if !missing.is_empty() {
        let at = python::import_insertion_point(&tree, src);
        let block: String = missing.iter().map(|i| format!("{}{nl}", i.trim())).collect();
        edits.insert(at, block);
    }
    edits.apply(src).map_err(SpliceError::Overlap)
}

fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODULE: &str = "\"\"\"Mod.\"\"\"\n\nimport requests\n\n\nclass Client:\n    @retry\n    def fetch(self, url: str) -> int:\n        return requests.get(url).status_code\n\n    def other(self) -> None:\n        pass\n\n\ndef fetch(url: str) -> int:\n    return 0\n";

    #[test]
    fn finds_methods_and_functions_by_qualname() {
        let (s, e) = find_definition(MODULE, "Client.fetch").unwrap();
        assert!(MODULE[s..e].starts_with("@retry\n    def fetch"), "{}", &MODULE[s..e]);
        let (s, _) = find_definition(MODULE, "fetch").unwrap();
        assert!(MODULE[s..].starts_with("def fetch(url"));
        assert!(find_definition(MODULE, "Client").is_none(), "a class is not a function");
        assert!(find_definition(MODULE, "Client.missing").is_none());
    }

    #[test]
    fn replaces_a_method_at_its_indentation_and_adds_imports_once() {
        let new = "@retry\nasync def fetch_async(self, url: str) -> int:\n    async with httpx.AsyncClient() as c:\n        return (await c.get(url)).status_code\n\n@retry\ndef fetch(self, url: str) -> int:\n    return run_sync(self.fetch_async(url), 'fetch_async')\n";
        let out = splice(MODULE, &[("Client.fetch", new)], &["import httpx".into(), "import requests".into()]).unwrap();
        assert!(out.contains("import requests\nimport httpx\n") || out.contains("import httpx\n"), "{out}");
        assert_eq!(out.matches("import requests").count(), 1);
        assert!(out.contains("    @retry\n    async def fetch_async(self, url: str) -> int:\n        async with httpx.AsyncClient() as c:\n"), "{out}");
        assert!(out.contains("\n\n    @retry\n    def fetch(self, url: str) -> int:\n"), "{out}");
        assert!(out.contains("    def other(self) -> None:"), "the rest is kept: {out}");
        assert!(!python::has_errors(&python::parse(&out)), "{out}");
    }

    #[test]
    fn an_unknown_definition_is_an_error() {
        assert!(
            splice(MODULE, &[("nope", "async def nope():\n    pass\n")], &[])
                .unwrap_err()
                .to_string()
                .contains("`nope`")
        );
    }
}
