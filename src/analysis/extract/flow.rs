//! Recording the data-flow facts of [`DataFlow`] during the one walk: the names
//! each assignment of a function body reads and writes, where it stands in its
//! statement list, and what each `while` loop tests, checks and counts.

use rustc_hash::FxHashMap;
use tree_sitter::{Node, TreeCursor};

use super::{Ctx, Walker, fields, shorten};
use crate::analysis::flow::{Comparison, Membership, NameId, Statement, WhileLoop};
use crate::analysis::summary::{CALL_SEGMENT, LoopKind, ScopeKind, TRUE_DIVISION};

/// How long the text of a test kept for messages may be.
const TEST_TEXT: usize = 60;

/// The walk's interning table: each name once per file.
#[derive(Default)]
pub(super) struct Recorder {
    ids: FxHashMap<String, NameId>,
}

/// What the names of an expression are: read, written (`:=`), and whether a call
/// in it runs only under a condition.
#[derive(Default)]
struct Refs {
    reads: Vec<NameId>,
    writes: Vec<NameId>,
    conditional: bool,
}

impl Refs {
    fn read(&mut self, id: NameId) {
        if !self.reads.contains(&id) {
            self.reads.push(id);
        }
    }

    fn write(&mut self, id: NameId) {
        if !self.writes.contains(&id) {
            self.writes.push(id);
        }
    }
}

impl Walker<'_> {
    /// Visit a statement list, numbering its statements so that consecutive ones
    /// can be told apart from ones with something in between.
    pub(super) fn visit_block(&mut self, block: Node, cursor: &mut TreeCursor<'_>, ctx: Ctx) {
        let in_function = self.out.scopes[ctx.scope as usize].kind == ScopeKind::Function;
        if !cursor.goto_first_child() {
            return;
        }
        let mut ordinal = 0;
        loop {
            let child = cursor.node();
            let statement = child.is_named() && child.kind_id() != self.k.comment;
            let first_call = self.out.calls.len() as u32;
            self.visit(child, cursor, ctx);
            if statement {
                if in_function {
                    self.record_statement(child, block.start_byte() as u32, ordinal, first_call);
                }
                ordinal += 1;
            }
            if !cursor.goto_next_sibling() {
                break;
            }
        }
        cursor.goto_parent();
    }

    /// Record an assignment that makes calls or sits in a `while` loop, and the
    /// counters (`n += 1`) of a `while` loop. Runs after the statement was visited,
    /// so its calls are `first_call..` of the file's calls.
    fn record_statement(&mut self, statement: Node, block: u32, ordinal: u32, first_call: u32) {
        if statement.kind_id() != self.k.expression_statement {
            return;
        }
        let Some(inner) = statement.named_child(0) else { return };
        let in_while = self.innermost_while();
        if inner.kind_id() == self.k.augmented_assignment {
            if let (Some(w), Some(left)) = (in_while, inner.child_by_field_id(fields().left.get()))
                && let Some(name) = self.dotted(left)
            {
                let id = self.intern(&name);
                self.out.flow.while_loops[w].counters.push(id);
            }
            return;
        }
        let end_call = self.out.calls.len() as u32;
        if inner.kind_id() != self.k.assignment || (end_call == first_call && in_while.is_none()) {
            return;
        }
        let mut refs = Refs::default();
        let mut node = inner;
        loop {
            if let Some(left) = node.child_by_field_id(fields().left.get()) {
                self.target_refs(left, &mut refs, in_while);
            }
            match node.child_by_field_id(fields().right.get()) {
                // `a = b = f()`: both are targets.
                Some(right) if right.kind_id() == self.k.assignment => node = right,
                Some(right) => {
                    self.expression_refs(right, &mut refs);
                    break;
                }
                None => break,
            }
        }
        let bytes = (statement.start_byte() as u32, statement.end_byte() as u32);
        let names = (refs.writes.as_slice(), refs.reads.as_slice());
        let mut record = Statement::new(block, ordinal, bytes, (first_call, end_call), names, &mut self.out.flow.ids);
        record.conditional = refs.conditional;
        self.out.flow.statements.push(record);
    }

    /// The names an assignment target writes (`x`, `self.user`, the container
    /// `d` of `d[k]`) and reads (the key `k`).
    fn target_refs(&mut self, target: Node, refs: &mut Refs, in_while: Option<usize>) {
        let mut stack = vec![target];
        while let Some(node) = stack.pop() {
            match node.kind() {
                "identifier" | "attribute" => match self.dotted(node) {
                    Some(name) => {
                        let id = self.intern(&name);
                        refs.write(id);
                    }
                    None => self.expression_refs(node, refs),
                },
                "subscript" => {
                    let container = node.child_by_field_id(fields().value.get());
                    match container.and_then(|c| self.dotted(c)) {
                        Some(name) => {
                            let id = self.intern(&name);
                            refs.write(id);
                            if let Some(w) = in_while {
                                self.out.flow.while_loops[w].filled.push(id);
                            }
                        }
                        None => stack.extend(container),
                    }
                    let mut c = node.walk();
                    let keys: Vec<Node> = node.named_children(&mut c).filter(|n| Some(*n) != container).collect();
                    for key in keys {
                        self.expression_refs(key, refs);
                    }
                }
                "pattern_list"
                | "tuple_pattern"
                | "list_pattern"
                | "list_splat_pattern"
                | "parenthesized_expression"
                | "tuple"
                | "list"
                | "expression_list" => {
                    let mut c = node.walk();
                    let parts: Vec<Node> = node.named_children(&mut c).collect();
                    stack.extend(parts.into_iter().rev());
                }
                _ => self.expression_refs(node, refs),
            }
        }
    }

    /// The names an expression reads, as maximal dotted chains (`api.get_user`),
    /// the names it binds with `:=`, and whether a call in it is conditional.
    fn expression_refs(&mut self, root: Node, refs: &mut Refs) {
        let mut stack = vec![(root, false)];
        while let Some((node, conditional)) = stack.pop() {
            let kind = node.kind();
            if kind == "identifier" || kind == "attribute" {
                if let Some(name) = self.dotted(node) {
                    let id = self.intern(&name);
                    refs.read(id);
                    continue;
                }
                // `f().x`: only the object is read.
                stack.extend(node.child_by_field_id(fields().object.get()).map(|o| (o, conditional)));
                continue;
            }
            if node.kind_id() == self.k.call && conditional {
                refs.conditional = true;
            }
            match kind {
                "keyword_argument" => {
                    stack.extend(node.child_by_field_id(fields().value.get()).map(|v| (v, conditional)));
                }
                "named_expression" => {
                    if let Some(name) = node.child_by_field_id(fields().name.get()) {
                        let id = self.intern(self.text(name));
                        refs.write(id);
                    }
                    stack.extend(node.child_by_field_id(fields().value.get()).map(|v| (v, conditional)));
                }
                "boolean_operator" => {
                    // The left side always runs; the right side only sometimes.
                    stack.extend(node.child_by_field_id(fields().right.get()).map(|r| (r, true)));
                    stack.extend(node.child_by_field_id(fields().left.get()).map(|l| (l, conditional)));
                }
                _ => {
                    let inner = conditional || kind == "conditional_expression";
                    let mut c = node.walk();
                    let children: Vec<Node> = node.named_children(&mut c).collect();
                    // In source order, so names are interned (and listed) as written.
                    stack.extend(children.into_iter().rev().map(|n| (n, inner)));
                }
            }
        }
    }

    /// `a.b.c` as text when `node` is a dotted chain of plain names (no calls, no `/`).
    fn dotted(&self, node: Node) -> Option<String> {
        let chain = self.chain(node)?;
        if chain.iter().any(|s| s == CALL_SEGMENT || s == TRUE_DIVISION) {
            return None;
        }
        Some(chain.join("."))
    }

    fn intern(&mut self, name: &str) -> NameId {
        if let Some(&id) = self.flow.ids.get(name) {
            return id;
        }
        let id = self.out.flow.names.len() as NameId;
        self.out.flow.names.push(crate::analysis::intern::Name::new(name));
        self.flow.ids.insert(name.to_string(), id);
        id
    }

    /// Index (into the file's `while` facts) of the innermost `while` loop open here.
    fn innermost_while(&self) -> Option<usize> {
        let l = self.loop_stack.iter().rev().find(|&&l| self.out.loops[l as usize].kind == LoopKind::While)?;
        self.out.flow.while_loops.binary_search_by_key(l, |w| w.loop_idx).ok()
    }

    /// Start the facts of a `while` loop of a function: what its condition drains.
    pub(super) fn note_while(&mut self, loop_idx: u32, condition: Option<Node>, scope: u32) {
        if self.out.scopes[scope as usize].kind != ScopeKind::Function {
            return;
        }
        let drains =
            condition.and_then(|c| self.drained(c)).map(|(test, name)| (self.intern(&name), test.start_byte() as u32));
        self.out.flow.while_loops.push(WhileLoop {
            loop_idx,
            drains,
            membership: Vec::new(),
            comparisons: Vec::new(),
            counters: Vec::new(),
            filled: Vec::new(),
        });
    }

    /// The test of a `while` condition that holds while a container has items, and
    /// the container: `q`, `len(q)`, `len(q) > 0`, `len(q) != 0`, `len(q) >= 1`
    /// (either way round), alone or as one operand of `and`.
    fn drained<'n>(&self, condition: Node<'n>) -> Option<(Node<'n>, String)> {
        let mut stack = vec![condition];
        while let Some(node) = stack.pop() {
            match node.kind() {
                "parenthesized_expression" => stack.extend(node.named_child(0)),
                "boolean_operator" => {
                    let operator = node.child_by_field_name("operator");
                    if operator.is_some_and(|o| o.kind() == "and") {
                        stack.extend(node.child_by_field_id(fields().right.get()));
                        stack.extend(node.child_by_field_id(fields().left.get()));
                    }
                }
                "identifier" | "attribute" => return self.dotted(node).map(|n| (node, n)),
                "call" => return self.length_of(node).map(|n| (node, n)),
                "comparison_operator" => return self.nonempty_test(node).map(|n| (node, n)),
                _ => {}
            }
        }
        None
    }

    /// `len(x)` with `x` a dotted name: that name.
    fn length_of(&self, call: Node) -> Option<String> {
        let function = call.child_by_field_id(fields().function.get())?;
        if function.kind_id() != self.k.identifier || self.text(function) != "len" {
            return None;
        }
        let args = call.child_by_field_id(fields().arguments.get())?;
        let mut c = args.walk();
        let named: Vec<Node> = args.named_children(&mut c).filter(|n| n.kind_id() != self.k.comment).collect();
        match named.as_slice() {
            [only] => self.dotted(*only),
            _ => None,
        }
    }

    /// `len(x) > 0`, `len(x) != 0`, `len(x) >= 1`, or the same written the other way round: `x`.
    fn nonempty_test(&self, comparison: Node) -> Option<String> {
        let mut c = comparison.walk();
        let children: Vec<Node> = comparison.children(&mut c).filter(|n| n.kind_id() != self.k.comment).collect();
        let [left, op, right] = children.as_slice() else { return None };
        let (op, literal) = (op.kind(), |n: &Node| (n.kind() == "integer").then(|| self.text(*n)));
        match (self.length_of_node(*left), literal(right), literal(left), self.length_of_node(*right)) {
            (Some(name), Some(value), _, _) if matches!((op, value), (">" | "!=", "0") | (">=", "1")) => Some(name),
            (_, _, Some(value), Some(name)) if matches!((op, value), ("<" | "!=", "0") | ("<=", "1")) => Some(name),
            _ => None,
        }
    }

    fn length_of_node(&self, node: Node) -> Option<String> {
        (node.kind_id() == self.k.call).then(|| self.length_of(node)).flatten()
    }

    /// Record a comparison inside a `while` loop of a function: a membership test
    /// (`x not in seen`) or an ordering one (`len(seen) < limit`).
    pub(super) fn note_comparison(&mut self, node: Node) {
        let Some(w) = self.innermost_while() else { return };
        let mut c = node.walk();
        let children: Vec<Node> = node.children(&mut c).filter(|n| n.kind_id() != self.k.comment).collect();
        let text = shorten(self.text(node), TEST_TEXT);
        let mut ordering = false;
        for (i, op) in children.iter().enumerate().filter(|(_, n)| !n.is_named()) {
            let (Some(left), Some(right)) = (i.checked_sub(1).map(|l| children[l]), children.get(i + 1)) else {
                continue;
            };
            match op.kind() {
                "in" | "not in" => {
                    let Some(container) = self.dotted(*right) else { continue };
                    let container = self.intern(&container);
                    let mut refs = Refs::default();
                    self.expression_refs(left, &mut refs);
                    let test = Membership { text: text.clone(), elements: refs.reads, container };
                    self.out.flow.while_loops[w].membership.push(test);
                }
                "<" | "<=" | ">" | ">=" => ordering = true,
                _ => {}
            }
        }
        if ordering {
            let mut refs = Refs::default();
            self.expression_refs(node, &mut refs);
            let sizes = self.sizes_in(node);
            let start_byte = node.start_byte() as u32;
            let comparison = Comparison { start_byte, text, reads: refs.reads, sizes };
            self.out.flow.while_loops[w].comparisons.push(comparison);
        }
    }

    /// The containers measured with `len(...)` inside `node`.
    fn sizes_in(&mut self, node: Node) -> Vec<NameId> {
        let mut names = Vec::new();
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            if let Some(name) = self.length_of_node(n) {
                names.push(name);
                continue;
            }
            let mut c = n.walk();
            stack.extend(n.named_children(&mut c));
        }
        names.iter().map(|n| self.intern(n)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{new_parser, summarize};
    use crate::analysis::flow::DataFlow;

    fn flow(src: &str) -> DataFlow {
        summarize(&mut new_parser(), src.as_bytes()).flow
    }

    fn names(flow: &DataFlow, ids: &[u32]) -> Vec<String> {
        ids.iter().map(|&id| flow.name(id).to_string()).collect()
    }

    #[test]
    fn assignments_with_calls_record_their_place_reads_and_writes() {
        let f = flow(
            "x = top()\n\ndef f(api, u):\n    user = api.get_user(u)\n    # a comment\n    teams = api.get_teams(user.id)\n    if u:\n        d[k] = g(u)\n    y = 1\n    z = h(a or k(u))\n    w = m(a) if u else None\n",
        );
        let s = &f.statements;
        assert_eq!(s.len(), 5, "module-level and call-free statements are not recorded");
        assert_eq!((s[0].ordinal, s[1].ordinal, s[2].ordinal, s[3].ordinal), (0, 1, 0, 4));
        assert_eq!(s[0].block, s[1].block);
        assert_ne!(s[0].block, s[2].block);
        assert_eq!(names(&f, s[0].writes(&f)), ["user"]);
        assert_eq!(names(&f, s[0].reads(&f)), ["api.get_user", "u"]);
        assert_eq!(names(&f, s[1].reads(&f)), ["api.get_teams", "user.id"]);
        assert_eq!(names(&f, s[2].writes(&f)), ["d"]);
        assert_eq!(names(&f, s[2].reads(&f)), ["k", "g", "u"]);
        assert_eq!((s[1].end_call - s[1].first_call, s[3].end_call - s[3].first_call), (1, 2));
        assert!(!s[0].conditional && s[3].conditional && s[4].conditional);
    }

    #[test]
    fn while_loops_record_what_they_drain_check_and_count() {
        let f = flow(
            "def crawl(start, max_pages):\n    queue = deque([start])\n    seen = {start}\n    while queue and len(seen) < max_pages:\n        url = queue.popleft()\n        pages += 1\n        html = fetch(url)\n        for link in parse(html):\n            if link not in seen:\n                seen.add(link)\n                queue.append(link)\n        results[url] = html\n    while len(q) > 0:\n        pass\n    while 0 < len(q.items):\n        pass\n    while True:\n        pass\n    while q or r:\n        pass\n",
        );
        assert_eq!(f.while_loops.len(), 5);
        let w = &f.while_loops[0];
        let drained = |i: usize| f.while_loops[i].drains.map(|(n, _)| f.name(n).to_string());
        assert_eq!(drained(0).as_deref(), Some("queue"));
        assert_eq!(drained(1).as_deref(), Some("q"));
        assert_eq!(drained(2).as_deref(), Some("q.items"));
        assert_eq!((drained(3), drained(4)), (None, None));
        assert_eq!(w.membership.len(), 1);
        assert_eq!(names(&f, &w.membership[0].elements), ["link"]);
        assert_eq!(f.name(w.membership[0].container), "seen");
        assert_eq!(w.comparisons.len(), 1);
        assert_eq!(w.comparisons[0].text, "len(seen) < max_pages");
        assert_eq!(names(&f, &w.comparisons[0].sizes), ["seen"]);
        assert_eq!(names(&f, &w.counters), ["pages"]);
        assert_eq!(names(&f, &w.filled), ["results"]);
        let popped = f.statements.iter().find(|s| names(&f, s.reads(&f)) == ["queue.popleft"]).unwrap();
        assert_eq!(names(&f, popped.writes(&f)), ["url"]);
        assert!(
            f.statements.iter().any(|s| names(&f, s.writes(&f)) == ["results"]),
            "call-free assignments in while loops count"
        );
    }
}
