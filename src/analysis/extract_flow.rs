//! The extraction walk's part in the loops' data flow ([`crate::analysis::loop_flow`]): reads and
//! writes logged as the walk passes them, branches that guard calls, and the
//! per-function logs handed to `loop_flow::resolve`.

use tree_sitter::{Node, TreeCursor};

use super::{Ctx, Walker, fields};
use crate::analysis::loop_flow::{self, Kind as FlowKind};
use crate::analysis::summary::{BindingValue, Name};

/// Methods that change their object in place: a loop calling one accumulates into
/// the object (`results.append(...)`, `seen.add(key)`), it does not read it.
const MUTATORS: &[&str] = &[
    "append",
    "appendleft",
    "extend",
    "extendleft",
    "insert",
    "add",
    "update",
    "setdefault",
    "discard",
    "remove",
    "clear",
];

/// The enclosing body's data-flow state while a nested function or class is walked.
pub(super) struct OuterFlow<'s> {
    log: loop_flow::Log<'s>,
    shadow: Vec<&'s str>,
    cover: (u32, u32),
}

impl<'s> Walker<'s> {
    /// Nodes that matter to the loops' data flow: attribute reads, membership tests,
    /// walrus and `nonlocal` bindings, blocks, and branches (which guard their calls).
    /// Whether `node` was one (and has been visited).
    pub(super) fn visit_flow(&mut self, node: Node, cursor: &mut TreeCursor<'_>, ctx: Ctx) -> bool {
        let kind = node.kind_id();
        let k = self.k;
        if kind == k.attribute {
            self.visit_attribute(node, cursor, ctx);
        } else if kind == k.keyword_argument {
            // `name=` names a parameter; only the value is read.
            let name = fields().name;
            self.visit_fields(cursor, |f| (f != Some(name)).then_some(ctx));
        } else if kind == k.comparison_operator {
            self.note_comparison(node);
            self.visit_comparison(node, cursor, ctx);
        } else if kind == k.named_expression {
            let name = fields().name;
            self.visit_fields(cursor, |f| (f != Some(name)).then_some(ctx));
            if let Some(name) = node.child_by_field_id(name.get()) {
                self.log_write(self.text(name), node.end_byte() as u32, FlowKind::Kill);
            }
        } else if kind == k.as_pattern {
            // `expr as name`: the alias is bound (by `with` or `case`), not read.
            let alias = fields().alias;
            self.visit_fields(cursor, |f| (f != Some(alias)).then_some(ctx));
        } else if kind == k.nonlocal_statement {
            let mut c = node.walk();
            for name in node.named_children(&mut c).filter(|n| n.kind_id() == k.identifier) {
                self.loop_flow.declared.push(self.text(name));
            }
        } else if kind == k.block {
            let saved = self.cover;
            if !std::mem::take(&mut self.keep_cover) {
                self.cover = (node.start_byte() as u32, node.end_byte() as u32);
            }
            // Numbered statement by statement, for the statements' data flow.
            self.visit_block(node, cursor, ctx);
            self.cover = saved;
        } else if kind == k.with_statement {
            self.visit_with(node, ctx);
            self.keep_cover = true;
            self.visit_children(cursor, ctx);
            self.keep_cover = false;
        } else if kind == k.try_statement {
            self.visit_try(node, ctx);
        } else if kind == k.conditional_expression || kind == k.boolean_operator || kind == k.match_statement {
            self.visit_children(cursor, Ctx { guarded: true, ..ctx });
        } else {
            return false;
        }
        true
    }

    /// `try:` runs its body, `else:` and `finally:` whenever it runs at all, as far
    /// as later writes are concerned; every part of it guards its calls.
    pub(super) fn visit_try(&mut self, node: Node, ctx: Ctx) {
        let inner = Ctx { guarded: true, ..ctx };
        let mut c = node.walk();
        for child in node.named_children(&mut c) {
            let kind = child.kind_id();
            self.keep_cover = kind == self.k.block || kind == self.k.else_clause || kind == self.k.finally_clause;
            self.visit_opt(Some(child), inner);
            self.keep_cover = false;
        }
    }

    /// `a.b.c` reads `a.b`; a method call's callee reads its object the same way.
    pub(super) fn visit_attribute(&mut self, node: Node, cursor: &mut TreeCursor<'_>, ctx: Ctx) {
        match self.path_node(node) {
            Some(path) => self.log_read(path, FlowKind::Read, ctx),
            // `f().x`, `a[i].x`: what the object reads, the attribute name aside.
            None => {
                let object = fields().object;
                self.visit_fields(cursor, |f| (f == Some(object)).then_some(ctx));
            }
        }
    }

    /// `x in seen` and `x not in seen` test membership of `seen`; other comparisons read.
    pub(super) fn visit_comparison(&mut self, node: Node, cursor: &mut TreeCursor<'_>, ctx: Ctx) {
        let (Some(left), Some(right)) = (node.named_child(0), node.named_child(1)) else {
            return self.visit_children(cursor, ctx);
        };
        let operator = self.src.get(left.end_byte()..right.start_byte()).unwrap_or("");
        let operator: Vec<&str> = operator.split_whitespace().collect();
        let membership = node.named_child_count() == 2 && matches!(operator.as_slice(), ["in"] | ["not", "in"]);
        match self.path_node(right).filter(|_| membership) {
            Some(path) => {
                self.visit_opt(Some(left), ctx);
                self.log_read(path, FlowKind::Membership, ctx);
            }
            None => self.visit_children(cursor, ctx),
        }
    }

    /// The node naming the path an expression reads: `x`, or `a.b` of `a.b.c`; none
    /// for anything but a dotted name.
    pub(super) fn path_node<'n>(&self, node: Node<'n>) -> Option<Node<'n>> {
        // Walk down the objects, remembering the node just above the current one:
        // when the root identifier is reached, that node is `root.first`.
        let (mut above, mut n) = (None, node);
        while n.kind_id() == self.k.attribute {
            above = Some(n);
            n = n.child_by_field_id(fields().object.get())?;
        }
        (n.kind_id() == self.k.identifier).then_some(above.unwrap_or(n))
    }

    /// The text of a path node, when it is written without spaces or comments.
    pub(super) fn path_text(&self, node: Node) -> Option<&'s str> {
        let text = self.text(node);
        text.bytes().all(|b| b == b'.' || b == b'_' || b.is_ascii_alphanumeric() || b >= 0x80).then_some(text)
    }

    /// Log a read of the path `node` names (an identifier or `a.b`).
    pub(super) fn log_read(&mut self, node: Node, kind: FlowKind, ctx: Ctx) {
        self.log_read_at(node, node.start_byte() as u32, kind, ctx);
    }

    /// Log a read of the path `node` names, made at `byte`.
    pub(super) fn log_read_at(&mut self, node: Node, byte: u32, kind: FlowKind, ctx: Ctx) {
        let path = match self.path_text(node) {
            Some(p) => p,
            // `a . b` spelled oddly: read the whole object.
            None => match self.path_root(node) {
                Some(r) => r,
                None => return,
            },
        };
        if self.shadow.contains(&path.split('.').next().unwrap_or(path)) {
            return;
        }
        let kind = if ctx.in_lambda { FlowKind::ClosureRead } else { kind };
        self.loop_flow.push(path, byte, kind, (0, 0));
    }

    /// The identifier a dotted name starts with.
    pub(super) fn path_root(&self, node: Node) -> Option<&'s str> {
        let mut n = node;
        while n.kind_id() == self.k.attribute {
            n = n.child_by_field_id(fields().object.get())?;
        }
        (n.kind_id() == self.k.identifier).then(|| self.text(n))
    }

    /// Log a write of `path` taking effect at `byte`, in the current block.
    pub(super) fn log_write(&mut self, path: &'s str, byte: u32, kind: FlowKind) {
        self.loop_flow.push(path, byte, kind, self.cover);
    }

    /// The writes an assignment target makes once its statement has run at `byte`:
    /// names and `a.b` are bound (`kind`), `a.b.c` and `a[k]` change `a.b` and `a`
    /// in place; what a subscript's index reads is read then too. The calls in an
    /// augmented assignment's target are call sites (they always were); those of
    /// other targets are not walked.
    pub(super) fn visit_target(&mut self, target: Node, byte: u32, kind: FlowKind, ctx: Ctx) {
        let read = |w: &mut Self, part: Option<Node>| match part {
            Some(part) if kind == FlowKind::Augment => w.visit_opt(Some(part), ctx),
            Some(part) => w.log_reads_at(part, byte, ctx),
            None => {}
        };
        let mut stack = vec![target];
        while let Some(node) = stack.pop() {
            let k = node.kind_id();
            if k == self.k.identifier {
                self.log_write(self.text(node), byte, kind);
            } else if k == self.k.attribute {
                match self.path_node(node) {
                    Some(path) => {
                        let text = self.path_text(path).or_else(|| self.path_root(path));
                        let whole = path == node;
                        if let Some(text) = text {
                            self.log_write(text, byte, if whole { kind } else { FlowKind::Mutate });
                        }
                    }
                    None => read(self, node.child_by_field_id(fields().object.get())),
                }
            } else if k == self.k.subscript {
                let value = node.child_by_field_id(fields().value.get());
                match value.and_then(|v| self.path_node(v)) {
                    Some(path) => {
                        if let Some(text) = self.path_text(path).or_else(|| self.path_root(path)) {
                            self.log_write(text, byte, FlowKind::Mutate);
                        }
                    }
                    None => read(self, value),
                }
                let mut c = node.walk();
                let indexes: Vec<Node> = node.children_by_field_name("subscript", &mut c).collect();
                for index in indexes {
                    read(self, Some(index));
                }
            } else {
                let mut c = node.walk();
                let children: Vec<Node> = node.named_children(&mut c).collect();
                stack.extend(children.into_iter().rev());
            }
        }
    }

    /// Log every name `root` reads as read at `byte` (an assignment's index, read once
    /// the value is ready).
    pub(super) fn log_reads_at(&mut self, root: Node, byte: u32, ctx: Ctx) {
        let mut stack = vec![root];
        while let Some(node) = stack.pop() {
            let named = node.kind_id() == self.k.identifier || node.kind_id() == self.k.attribute;
            if let Some(path) = self.path_node(node).filter(|_| named) {
                self.log_read_at(path, byte, FlowKind::Read, ctx);
                continue;
            }
            let mut c = node.walk();
            let children: Vec<Node> = node.named_children(&mut c).collect();
            stack.extend(children);
        }
    }

    /// The path a method call changes in place (`results` of `results.append(x)`,
    /// `self.seen` of `self.seen.add(key)`), for the methods lists, sets, dicts and
    /// deques change themselves with.
    /// A module's function of the same name (`os.remove(path)`) changes no object.
    pub(super) fn mutated_object<'n>(&self, function: Node<'n>, scope: u32) -> Option<Node<'n>> {
        if function.kind_id() != self.k.attribute {
            return None;
        }
        let method = self.text(function.child_by_field_id(fields().attribute.get())?);
        if !MUTATORS.contains(&method) {
            return None;
        }
        let object = self.path_node(function.child_by_field_id(fields().object.get())?)?;
        let root = self.path_root(object)?;
        let is_module = |s: u32| {
            self.out.scopes[s as usize]
                .bindings
                .iter()
                .any(|b| b.name == root && matches!(b.value, BindingValue::Module(_)))
        };
        (!is_module(scope) && !is_module(0)).then_some(object)
    }

    /// The only argument's text, when it is a number or a short dotted name.
    pub(super) fn sole_argument(&self, args: Node) -> Option<Name> {
        if args.named_child_count() != 1 {
            return None;
        }
        let arg = args.named_child(0)?;
        let simple = arg.kind_id() == self.k.integer
            || arg.kind_id() == self.k.float
            || (self.path_root(arg).is_some() && arg.byte_range().len() <= 40);
        self.path_text(arg).filter(|_| simple).map(Name::new)
    }

    /// Start the data-flow log of a nested function or class body; returns the
    /// enclosing body's, for [`Self::leave_flow`]. A function nested in a function
    /// logs from its start: its enclosing function needs its closure.
    pub(super) fn enter_flow(&mut self, nested_in_function: bool) -> OuterFlow<'s> {
        let log = loop_flow::Log { recording: nested_in_function, ..loop_flow::Log::default() };
        OuterFlow {
            log: std::mem::replace(&mut self.loop_flow, log),
            shadow: std::mem::take(&mut self.shadow),
            cover: self.cover,
        }
    }

    /// Resolve the nested body's loops, and hand its enclosing body the names it
    /// reads from there (closures, which may run at any time).
    pub(super) fn leave_flow(&mut self, outer: OuterFlow<'s>, params: &[String]) {
        let log = std::mem::replace(&mut self.loop_flow, outer.log);
        let free: Vec<_> = log
            .free_reads()
            .into_iter()
            .filter(|e| !params.iter().any(|p| e.path.split('.').next() == Some(p)))
            .collect();
        loop_flow::resolve(log, &mut self.out.loops);
        self.loop_flow.events.extend(free);
        self.shadow = outer.shadow;
        self.cover = outer.cover;
        self.keep_cover = false;
    }

    /// The identifiers a comprehension's target binds, shadowed inside it.
    pub(super) fn shadow_names(&mut self, target: Node) {
        let mut stack = vec![target];
        while let Some(node) = stack.pop() {
            if node.kind_id() == self.k.identifier {
                self.shadow.push(self.text(node));
            } else if node.kind_id() != self.k.attribute && node.kind_id() != self.k.subscript {
                let mut c = node.walk();
                stack.extend(node.named_children(&mut c));
            }
        }
    }
}
