//! setup.py's declarations: the literal lists given to the `setup(...)` call
//! (`install_requires=[...]`, `tests_require=[...]`, `extras_require={"test": [...]}`),
//! found through the syntax tree; anything computed is left for people.

use tree_sitter::Node;

use super::{Declaration, text};
use crate::draft::python;

/// What the `setup(...)` call declares under `keyword` (and `group` of `extras_require`).
pub(super) fn read(src: &str, keyword: &str, group: Option<&str>) -> Declaration {
    let tree = python::parse(src);
    let Some(value) = value(tree.root_node(), src, keyword, group) else { return Declaration::Absent };
    match literal_list(value, src) {
        Some(open) => match text::scan_list(src, open) {
            Some(list) => Declaration::Entries(list.items.into_iter().map(|i| i.value).collect()),
            None => Declaration::Unreadable(format!("`{keyword}` is not a literal list")),
        },
        None => Declaration::Unreadable(format!("`{keyword}` is not a literal list of strings")),
    }
}

/// The `[` of the literal list declared under `keyword` (and `group`).
pub(super) fn list_open(src: &str, keyword: &str, group: Option<&str>) -> Option<usize> {
    let tree = python::parse(src);
    if python::has_errors(&tree) {
        return None;
    }
    literal_list(value(tree.root_node(), src, keyword, group)?, src)
}

/// The value given to `keyword` in the `setup(...)` call (`setuptools.setup` too),
/// or to its `group` key when it is a literal dict.
fn value<'t>(root: Node<'t>, src: &str, keyword: &str, group: Option<&str>) -> Option<Node<'t>> {
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if node.kind() == "call"
            && let Some(function) = node.child_by_field_name("function")
            && matches!(python::text(src, function).rsplit('.').next(), Some("setup"))
            && let Some(found) = keyword_value(node, src, keyword)
        {
            return match group {
                None => Some(found),
                Some(group) => dict_value(found, src, group),
            };
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    None
}

fn keyword_value<'t>(call: Node<'t>, src: &str, keyword: &str) -> Option<Node<'t>> {
    let arguments = call.child_by_field_name("arguments")?;
    let mut cursor = arguments.walk();
    let found = arguments.named_children(&mut cursor).find(|a| {
        a.kind() == "keyword_argument" && a.child_by_field_name("name").is_some_and(|n| python::text(src, n) == keyword)
    });
    found?.child_by_field_name("value")
}

/// The value of the `group` key of a literal dict (`{"test": [...]}`).
fn dict_value<'t>(dict: Node<'t>, src: &str, group: &str) -> Option<Node<'t>> {
    if dict.kind() != "dictionary" {
        return None;
    }
    let mut cursor = dict.walk();
    let pair = dict.named_children(&mut cursor).find(|p| {
        p.kind() == "pair"
            && p.child_by_field_name("key")
                .is_some_and(|k| k.kind() == "string" && python::text(src, k).trim_matches(['"', '\'']) == group)
    });
    pair?.child_by_field_name("value")
}

/// The `[` of a list of plain string literals (comments allowed), else none.
fn literal_list(node: Node, src: &str) -> Option<usize> {
    if node.kind() != "list" {
        return None;
    }
    let mut cursor = node.walk();
    let plain = node.named_children(&mut cursor).all(|item| match item.kind() {
        "comment" => true,
        "string" => {
            let text = python::text(src, item);
            text.starts_with(['"', '\'']) && !text.starts_with("\"\"\"") && !text.starts_with("'''")
        }
        _ => false,
    });
    plain.then_some(node.start_byte())
}
