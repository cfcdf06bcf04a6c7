//! Small facts about Python source that rewrites need: nodes by byte range,
//! indentation, line endings, where imports go, the targeted Python version.

use std::path::Path;

use tree_sitter::{Node, Tree};

/// Parse Python source.
pub fn parse(src: &str) -> Tree {
    let mut parser = crate::analysis::extract::new_parser();
    parser.parse(src, None).expect("the parser has a language and no timeout")
}

/// Whether the tree has syntax errors.
pub fn has_errors(tree: &Tree) -> bool {
    tree.root_node().has_error()
}

/// The node of `kind` spanning exactly `start..end`.
pub fn node_at<'t>(tree: &'t Tree, start: usize, end: usize, kind: &str) -> Option<Node<'t>> {
    let mut node = tree.root_node().descendant_for_byte_range(start, end)?;
    loop {
        if node.start_byte() == start && node.end_byte() == end && node.kind() == kind {
            return Some(node);
        }
        if node.start_byte() < start || node.end_byte() > end {
            return None;
        }
        node = node.parent()?;
    }
}

/// The smallest node of `kind` starting at `start`.
pub fn node_starting<'t>(tree: &'t Tree, start: usize, kind: &str) -> Option<Node<'t>> {
    let mut node = tree.root_node().descendant_for_byte_range(start, start)?;
    loop {
        if node.start_byte() == start && node.kind() == kind {
            return Some(node);
        }
        if node.start_byte() < start {
            return None;
        }
        node = node.parent()?;
    }
}

pub fn text<'s>(src: &'s str, node: Node) -> &'s str {
    &src[node.byte_range()]
}

/// The byte where the line holding `byte` starts.
pub fn line_start(src: &str, byte: usize) -> usize {
    src[..byte].rfind('\n').map_or(0, |i| i + 1)
}

/// The byte just after the line holding `byte` (after its newline, or the end of the file).
pub fn next_line_start(src: &str, byte: usize) -> usize {
    src[byte..].find('\n').map_or(src.len(), |i| byte + i + 1)
}

/// The leading whitespace of the line holding `byte`.
pub fn indent_at(src: &str, byte: usize) -> &str {
    let start = line_start(src, byte);
    let line = &src[start..];
    let len = line.len() - line.trim_start_matches([' ', '\t']).len();
    &line[..len]
}

/// One level of indentation as the file writes it (four spaces when it cannot tell).
pub fn indent_unit(tree: &Tree, src: &str) -> String {
    let mut cursor = tree.walk();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.kind() == "block" {
            let parent_indent = node.parent().map(|p| indent_at(src, p.start_byte()).len()).unwrap_or(0);
            let own = indent_at(src, node.start_byte());
            if own.len() > parent_indent
                && line_start(src, node.start_byte()) != line_start(src, node.parent().map_or(0, |p| p.start_byte()))
            {
                return own[parent_indent..].to_string();
            }
        }
        for child in node.named_children(&mut cursor) {
            if matches!(
                child.kind(),
                "function_definition"
                    | "class_definition"
                    | "decorated_definition"
                    | "block"
                    | "if_statement"
                    | "for_statement"
            ) {
                stack.push(child);
            }
        }
    }
    "    ".to_string()
}

/// `\r\n` when the file's lines end that way.
pub fn newline(src: &str) -> &'static str {
    match src.find('\n') {
        Some(i) if i > 0 && src.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// Identifiers used anywhere in `node`.
pub fn identifiers<'s>(src: &'s str, node: Node) -> Vec<&'s str> {
    let mut out = Vec::new();
    let mut cursor = node.walk();
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if n.kind() == "identifier" {
            out.push(text(src, n));
        }
        for child in n.children(&mut cursor) {
            stack.push(child);
        }
    }
    out
}

/// A name not used in `node`: `base`, else `base2`, `base3`...
pub fn fresh_name(src: &str, node: Node, base: &str) -> String {
    let used = identifiers(src, node);
    if !used.contains(&base) {
        return base.to_string();
    }
    (2..).map(|n| format!("{base}{n}")).find(|c| !used.contains(&c.as_str())).expect("some name is free")
}

/// Where new import lines go: after the module docstring, `from __future__` imports
/// and the leading block of imports.
pub fn import_insertion_point(tree: &Tree, src: &str) -> usize {
    let root = tree.root_node();
    let mut cursor = root.walk();
    let mut point = 0;
    let mut seen_code = false;
    for child in root.named_children(&mut cursor) {
        let is_docstring = !seen_code
            && child.kind() == "expression_statement"
            && child.named_child(0).is_some_and(|s| s.kind() == "string");
        let is_import =
            matches!(child.kind(), "import_statement" | "import_from_statement" | "future_import_statement");
        if child.kind() == "comment" {
            continue;
        }
        seen_code = true;
        if is_docstring || is_import {
            point = next_line_start(src, child.end_byte());
        } else {
            break;
        }
    }
    point
}

/// The start of the line of the first top-level plain import (`import x`) whose module matches.
pub fn plain_import_line(tree: &Tree, src: &str, matches: impl Fn(&str) -> bool) -> Option<usize> {
    let root = tree.root_node();
    let mut cursor = root.walk();
    root.named_children(&mut cursor)
        .filter(|child| child.kind() == "import_statement")
        .find(|child| {
            let mut c = child.walk();
            child.named_children(&mut c).any(|n| n.kind() == "dotted_name" && matches(text(src, n)))
        })
        .map(|child| line_start(src, child.start_byte()))
}

/// The lowest Python version `requires-python` in `root/pyproject.toml` allows, as (major, minor).
pub fn requires_python(root: &Path) -> Option<(u32, u32)> {
    let text = std::fs::read_to_string(root.join("pyproject.toml")).ok()?;
    let doc: toml::Table = text.parse().ok()?;
    let spec = doc.get("project").and_then(|p| p.get("requires-python")).and_then(|v| v.as_str()).or_else(|| {
        doc.get("tool")
            .and_then(|t| t.get("poetry"))
            .and_then(|p| p.get("dependencies"))
            .and_then(|d| d.get("python"))
            .and_then(|v| v.as_str())
    })?;
    minimum_version(spec)
}

/// Whether pytest-asyncio runs in auto mode (`asyncio_mode = "auto"` in
/// `[tool.pytest.ini_options]` of pyproject.toml, or `asyncio_mode = auto` in the
/// pytest section of pytest.ini, tox.ini or setup.cfg): async tests then need no
/// `@pytest.mark.asyncio`.
pub fn asyncio_auto_mode(root: &Path) -> bool {
    let pyproject =
        std::fs::read_to_string(root.join("pyproject.toml")).ok().and_then(|t| t.parse::<toml::Table>().ok());
    let in_pyproject = pyproject.as_ref().and_then(|doc| {
        doc.get("tool")?.get("pytest")?.get("ini_options")?.get("asyncio_mode")?.as_str().map(|m| m == "auto")
    });
    if let Some(auto) = in_pyproject {
        return auto;
    }
    [("pytest.ini", "[pytest]"), ("tox.ini", "[pytest]"), ("setup.cfg", "[tool:pytest]")].iter().any(
        |(file, section)| {
            let Ok(text) = std::fs::read_to_string(root.join(file)) else { return false };
            let mut inside = false;
            text.lines().any(|line| {
                let line = line.trim();
                if line.starts_with('[') {
                    inside = line == *section;
                    return false;
                }
                inside && line.split_once('=').is_some_and(|(k, v)| k.trim() == "asyncio_mode" && v.trim() == "auto")
            })
        },
    )
}

/// The lowest version a specifier allows: `>=3.11` → 3.11, `^3.10` → 3.10, `~=3.9,<4` → 3.9.
pub fn minimum_version(spec: &str) -> Option<(u32, u32)> {
    spec.split(',')
        .filter_map(|clause| {
            let clause = clause.trim();
            let version = ["~=", ">=", "==", "^", "~", ">"].iter().find_map(|op| clause.strip_prefix(op))?;
            let mut parts = version.trim().trim_end_matches(".*").split('.');
            let major = parts.next()?.trim().parse().ok()?;
            let minor = parts.next().and_then(|m| m.trim().parse().ok()).unwrap_or(0);
            let bump = u32::from(clause.starts_with('>') && !clause.starts_with(">="));
            Some((major, minor + bump))
        })
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(minimum_version(">=3.11"), Some((3, 11)));
        assert_eq!(minimum_version("^3.10"), Some((3, 10)));
        assert_eq!(minimum_version("~=3.9, <4"), Some((3, 9)));
        assert_eq!(minimum_version(">=3.8,!=3.9.*"), Some((3, 8)));
        assert_eq!(minimum_version(">3.10"), Some((3, 11)));
        assert_eq!(minimum_version("<4"), None);
    }

    #[test]
    fn imports_go_after_docstring_future_and_imports() {
        let src = "\"\"\"Doc.\"\"\"\n\nfrom __future__ import annotations\n\nimport os\n# c\nimport sys\n\nX = 1\n";
        let tree = parse(src);
        let at = import_insertion_point(&tree, src);
        assert_eq!(&src[at..], "\nX = 1\n");
        assert_eq!(plain_import_line(&tree, src, |m| m > "os"), Some(src.find("import sys").unwrap()));
    }

    #[test]
    fn indentation_and_newlines() {
        let src = "def f():\r\n  if x:\r\n    pass\r\n";
        let tree = parse(src);
        assert_eq!(indent_unit(&tree, src), "  ");
        assert_eq!(newline(src), "\r\n");
        assert_eq!(newline("a\nb"), "\n");
    }
}
