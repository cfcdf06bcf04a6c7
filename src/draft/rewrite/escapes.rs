//! Whether a name the loop body assigns escapes the loop: the per-item function a
//! gathered loop becomes makes it a local of that function, so code outside the
//! loop must never see it. Decided by where the name occurs, not only by whether
//! it occurs: a name reused by unrelated code before the loop does not escape, nor
//! one that is assigned again after the loop before anything reads it.

use super::*;

/// Whether `name`, assigned in the loop `for_node` (its target or its body),
/// is read outside it, or could be.
pub(super) fn escapes(src: &str, function: Node, for_node: Node, name: &str) -> bool {
    let outside = occurrences(src, function, name, Some((for_node.start_byte(), for_node.end_byte())));
    if outside.is_empty() {
        return false;
    }
    // Inside an outer loop, code before this loop runs again after it; a closure
    // runs whenever it is called.
    if within_loop(for_node, function) || outside.iter().any(|&n| in_nested_scope(n, function)) {
        return true;
    }
    let before = outside.iter().any(|n| n.end_byte() <= for_node.start_byte());
    if before && !stored_first_in_each_item(src, for_node, name) {
        return true;
    }
    let after = outside.iter().filter(|n| n.start_byte() >= for_node.end_byte()).min_by_key(|n| n.start_byte());
    after.is_some_and(|first| !reassigns(src, *first, for_node, name))
}

/// Every identifier `name` in `scope` (outside `skip`), attribute and keyword names aside.
fn occurrences<'t>(src: &str, scope: Node<'t>, name: &str, skip: Option<(usize, usize)>) -> Vec<Node<'t>> {
    let mut out = Vec::new();
    let mut cursor = scope.walk();
    let mut stack = vec![scope];
    while let Some(n) = stack.pop() {
        if skip.is_some_and(|(s, e)| n.start_byte() >= s && n.end_byte() <= e) {
            continue;
        }
        if n.kind() == "identifier" && text(src, n) == name && !is_member_name(n) {
            out.push(n);
        }
        for child in n.named_children(&mut cursor) {
            stack.push(child);
        }
    }
    out.sort_by_key(|n| n.start_byte());
    out
}

/// `obj.name` and `f(name=...)`: a name of something else, not the variable.
fn is_member_name(n: Node) -> bool {
    n.parent().is_some_and(|p| {
        (p.kind() == "attribute" && p.child_by_field_name("attribute") == Some(n))
            || (p.kind() == "keyword_argument" && p.child_by_field_name("name") == Some(n))
    })
}

fn within_loop(node: Node, function: Node) -> bool {
    let mut up = node.parent();
    while let Some(p) = up.filter(|p| *p != function) {
        if matches!(p.kind(), "for_statement" | "while_statement") {
            return true;
        }
        up = p.parent();
    }
    false
}

fn in_nested_scope(node: Node, function: Node) -> bool {
    let mut up = node.parent();
    while let Some(p) = up.filter(|p| *p != function) {
        if matches!(p.kind(), "function_definition" | "lambda" | "class_definition") {
            return true;
        }
        up = p.parent();
    }
    false
}

/// Each item binds `name` before reading it: it is the loop's target, or the
/// body's first mention of it is a plain `name = value` at the top of the body.
fn stored_first_in_each_item(src: &str, for_node: Node, name: &str) -> bool {
    let targets = for_node.child_by_field_name("left").map(|l| python::identifiers(src, l)).unwrap_or_default();
    if targets.contains(&name) {
        return true;
    }
    let Some(body) = for_node.child_by_field_name("body") else { return false };
    occurrences(src, body, name, None).first().is_some_and(|&first| plain_store(src, first, body, name))
}

/// The first mention of `name` after the loop assigns it afresh, at the loop's own
/// level (not in a branch that may not run).
fn reassigns(src: &str, first: Node, for_node: Node, name: &str) -> bool {
    for_node.parent().is_some_and(|block| plain_store(src, first, block, name))
}

/// `name = value` as a statement directly in `block`, with `value` not reading `name`.
fn plain_store(src: &str, ident: Node, block: Node, name: &str) -> bool {
    let Some(assignment) = ident.parent().filter(|p| p.kind() == "assignment") else { return false };
    let is_left = assignment.child_by_field_name("left") == Some(ident);
    let statement = assignment.parent().filter(|s| s.kind() == "expression_statement");
    let in_block = statement.and_then(|s| s.parent()).is_some_and(|b| b == block);
    let right_reads =
        assignment.child_by_field_name("right").is_some_and(|r| !occurrences(src, r, name, None).is_empty());
    is_left && in_block && !right_reads
}
