//! Continuation lines aligned with an opening bracket stay aligned.
//!
//! `requests.get(url,\n             timeout=5)` is written in pycodestyle's visual
//! indent: the second line starts under the first argument. Once the line of the
//! bracket changes (`await client.get(url,`, `async def fetch_async(url,`), the
//! continuation lines no longer line up, which pycodestyle reports (E128, E127)
//! and a repository's own style check fails on. Only lines whose bracket line the
//! draft changed are moved, and only those that start an argument or parameter.

use std::collections::HashSet;

use tree_sitter::Node;

use crate::draft::edits::Edits;
use crate::draft::python::{self, line_start};

/// `new` with the arguments and parameters that continue a bracket line the draft
/// changed (a line not found in `old`) aligned one column after the bracket.
pub(super) fn realign(old: &str, new: &str) -> String {
    let old_lines: HashSet<&str> = old.lines().map(str::trim_end).collect();
    let tree = python::parse(new);
    let mut edits = Edits::new();
    let mut stack = vec![tree.root_node()];
    let mut cursor = tree.walk();
    while let Some(node) = stack.pop() {
        if matches!(node.kind(), "argument_list" | "parameters") {
            align_list(new, node, &old_lines, &mut edits);
        }
        stack.extend(node.named_children(&mut cursor));
    }
    edits.apply(new).unwrap_or_else(|_| new.to_string())
}

/// Align one bracketed list when it is in visual-indent style on a changed line.
fn align_list(src: &str, list: Node, old_lines: &HashSet<&str>, edits: &mut Edits) {
    let open = list.start_position();
    let mut cursor = list.walk();
    let items: Vec<Node> = list.named_children(&mut cursor).filter(|n| n.kind() != "comment").collect();
    // Visual indent: the first item on the bracket's line, later ones on lines of their own.
    let Some(first) = items.first() else { return };
    if first.start_position().row != open.row || list.end_position().row == open.row {
        return;
    }
    let bracket_line_start = line_start(src, list.start_byte());
    let bracket_line = src[bracket_line_start..].lines().next().unwrap_or_default().trim_end();
    if old_lines.contains(bracket_line) {
        return; // the draft did not change this line
    }
    let column = list.start_byte() - bracket_line_start + 1;
    let mut row = open.row;
    for item in &items[1..] {
        let start = item.start_position();
        if start.row == row {
            continue;
        }
        row = item.end_position().row;
        let at = line_start(src, item.start_byte());
        let indent = &src[at..item.start_byte()];
        if !indent.chars().all(|c| c == ' ') || indent.len() == column {
            continue;
        }
        edits.replace(at, item.start_byte(), " ".repeat(column));
    }
}

#[cfg(test)]
mod tests {
    use super::realign;

    #[test]
    fn arguments_under_a_changed_bracket_line_follow_the_bracket() {
        let old = "r = requests.get(url,\n                 timeout=5)\n";
        let new = "r = await client.get(url,\n                 timeout=5)\n";
        assert_eq!(realign(old, new), "r = await client.get(url,\n                     timeout=5)\n");
        let params_old = "def fetch(url: str,\n          timeout: float) -> None:\n    pass\n";
        let params_new = "async def fetch_async(url: str,\n          timeout: float) -> None:\n    pass\n";
        assert_eq!(
            realign(params_old, params_new),
            "async def fetch_async(url: str,\n                      timeout: float) -> None:\n    pass\n"
        );
    }

    #[test]
    fn untouched_lines_hanging_indents_and_strings_stay() {
        let same = "r = f(a,\n  b)\n";
        assert_eq!(realign(same, same), same, "a line the draft did not change");
        let hanging = "r = await g(\n    a,\n    b,\n)\n";
        assert_eq!(realign("r = f(\n    a,\n    b,\n)\n", hanging), hanging, "hanging indent");
        let string = "r = await g(\"\"\"x\n  y\"\"\",\n  b)\n";
        assert_eq!(realign("", string), "r = await g(\"\"\"x\n  y\"\"\",\n            b)\n");
    }
}
