//! Work queues (RA110) walked by levels: the items in the queue are taken off
//! together (as many as the loop is sure to reach), their requests awaited with
//! `gather_until_failure`, and each item is then handled in queue order by the rest
//! of the old body, which pushes the next level; a failed request raises after the
//! items before it are handled. A loop stays sequential, saying why, when
//! its shape does not show that this makes the same requests, visits the same
//! items and records the results in the same order.

use super::gathers::block_statements;
use super::*;
use crate::plan::PlanWorkQueue;

/// A work queue that fits the walk by levels.
pub(super) struct Level {
    line: u32,
    /// The `while` statement (start, end).
    node: (usize, usize),
    /// The pop as written (`queue.popleft()`).
    pop: String,
    item: String,
    result: String,
    /// The request's call (start, end), which makes a coroutine instead of being awaited.
    call: (usize, usize),
    /// Where the statements after the request start.
    rest: usize,
    /// How many items of the queue one level takes: all of them, or as many as the
    /// loop's limit lets it reach for sure (`max(max_pages - len(pages), 1)`).
    take: String,
}

/// A break that ends the walk once a list the loop appends one item to per item is long enough.
struct Limit {
    list: String,
    bound: String,
}

impl<'a, 'c, 't> Rewriter<'a, 'c, 't> {
    /// The work queues of this file that can be walked by levels: their requests
    /// make coroutines; the rest are kept sequential, saying why.
    pub(super) fn plan_work_queues(&mut self) {
        let queues: Vec<&'a PlanWorkQueue> =
            self.job.plans.iter().flat_map(|p| p.work_queues.iter()).filter(|q| q.module == self.job.module).collect();
        for q in queues {
            match self.level_shape(q) {
                Ok(level) => {
                    self.awaits.no_await.insert(level.call.0);
                    self.deferred.work_queues.push(level);
                }
                Err(why) => self.keep_sequential(q.line, "work queue", why),
            }
        }
    }

    /// The loop as a walk by levels, or why its shape does not allow one.
    fn level_shape(&self, q: &PlanWorkQueue) -> Result<Level, String> {
        let lp = &self.module().summary.loops[q.loop_idx as usize];
        let node = python::node_at(self.tree, lp.pos.byte as usize, lp.end_byte as usize, "while_statement")
            .ok_or("the loop was not found")?;
        if node.child_by_field_name("alternative").is_some() {
            return Err("it has an `else:` clause".into());
        }
        let body = node.child_by_field_name("body").ok_or("no body")?;
        let stmts = block_statements(body);
        let pop = self.call_node(q.pop).ok_or("the pop was not found")?;
        let (queue, pop_text) = self.fifo_pop(pop)?;
        let condition = node.child_by_field_name("condition").ok_or("no condition")?;
        if text(self.src, condition) != queue {
            return Err(format!(
                "its condition `{}` tests more than whether `{queue}` has items: a level would check it once, not per item",
                text(self.src, condition)
            ));
        }
        let item = assigned_name(self.src, stmts.first().copied(), pop)
            .ok_or(format!("taking the item (`{pop_text}`) is not the first statement, as `item = {pop_text}`"))?;
        let call = self.call_node(q.io).ok_or("the request was not found")?;
        let result = assigned_name(self.src, stmts.get(1).copied(), call).ok_or(format!(
            "the item's request (`{}`) is not the whole value of the statement after the pop",
            text(self.src, call.child_by_field_name("function").unwrap_or(call))
        ))?;
        if !self.makes_coroutine(q.io) {
            return Err("the item's request is not a call the draft can start for a whole level".into());
        }
        if has_multiline_string(body) {
            return Err("a string in it spans lines, and its body moves one level in".into());
        }
        let rest = &stmts[2..];
        let writes = writes_in(self.src, body, (call.start_byte(), call.end_byte()));
        self.check_rest(rest, &queue)?;
        for read in reads_of(self.src, call) {
            if read != item
                && let Some(w) = writes.iter().find(|w| overlaps(w, &read))
            {
                return Err(format!(
                    "its request reads `{read}`, which the loop writes (`{w}`): an item's request may depend on earlier items"
                ));
            }
        }
        let limit = self.limit(node, rest, &writes, &[&item, &result])?;
        let take = match &limit {
            Some(l) => format!("min(len({queue}), max({} - len({}), 1))", l.bound, l.list),
            None => format!("len({queue})"),
        };
        Ok(Level {
            line: q.line,
            node: (node.start_byte(), node.end_byte()),
            pop: pop_text,
            item,
            result,
            call: (call.start_byte(), call.end_byte()),
            rest: next_line_start(self.src, stmts[1].end_byte()),
            take,
        })
    }

    /// The queue's name and the pop as written, when it takes the oldest item.
    fn fifo_pop(&self, pop: Node) -> Result<(String, String), String> {
        let function = pop.child_by_field_name("function").filter(|f| f.kind() == "attribute").ok_or("no pop")?;
        let queue = text(self.src, function.child_by_field_name("object").ok_or("no queue")?).to_string();
        let method = text(self.src, function.child_by_field_name("attribute").ok_or("no method")?);
        let args = pop.child_by_field_name("arguments").map_or("", |a| text(self.src, a));
        let pop_text = text(self.src, pop).to_string();
        match (method, args.replace(' ', "").as_str()) {
            ("popleft", "()") | ("pop", "(0)") => Ok((queue, pop_text)),
            _ => Err(format!(
                "it takes the newest item (`{pop_text}`), depth-first: which item comes next depends on what the one before pushed"
            )),
        }
    }

    /// What the statements after the request may do: push on the queue (at its
    /// end), but not read it otherwise, raise, or yield.
    fn check_rest(&self, rest: &[Node], queue: &str) -> Result<(), String> {
        for stmt in rest {
            let mut stack = vec![*stmt];
            while let Some(n) = stack.pop() {
                match n.kind() {
                    "raise_statement" => {
                        return Err("it raises for some items, after which the loop fetched nothing more".into());
                    }
                    "yield" => return Err("it yields what it finds, as it finds it".into()),
                    "identifier" if text(self.src, n) == queue && !pushes_at_end(self.src, n) => {
                        return Err(format!("it reads or reorders `{queue}` besides appending to it"));
                    }
                    _ => {}
                }
                let mut cursor = n.walk();
                stack.extend(n.children(&mut cursor));
            }
        }
        Ok(())
    }

    /// The loop's one `break`, when it ends the walk at a limit a level can honour:
    /// `if len(pages) >= max_pages: break`, at the top of the body, after the one
    /// `pages.append(...)` the loop makes per item, with a bound the loop does not write.
    fn limit(&self, node: Node, rest: &[Node], writes: &[String], own: &[&str]) -> Result<Option<Limit>, String> {
        let breaks = loop_breaks(node);
        let Some(brk) = breaks.first() else { return Ok(None) };
        if breaks.len() > 1 {
            return Err("it breaks in more than one place".into());
        }
        let guard = brk.parent().and_then(|b| b.parent()).filter(|i| i.kind() == "if_statement");
        let Some(guard) = guard.filter(|g| rest.contains(g) && g.child_by_field_name("alternative").is_none()) else {
            return Err("its `break` is not the only statement of an `if` at the top of its body".into());
        };
        let condition = guard.child_by_field_name("condition").ok_or("no condition")?;
        let cond = text(self.src, condition);
        let (list, bound) = size_at_least(self.src, condition)
            .ok_or(format!("it stops on `{cond}`, which is not `len(<list>) >= <bound>`"))?;
        if reads_of(self.src, condition)
            .iter()
            .any(|r| own.iter().any(|o| overlaps(o, r)) || (r != &list && writes.iter().any(|w| overlaps(w, r))))
        {
            return Err(format!(
                "it stops on `{cond}`, which reads what the loop computes: the responses may decide where the walk ends"
            ));
        }
        let appends = self.appends_to(&list, rest, guard.start_byte());
        let other = writes.iter().filter(|w| overlaps(w, &list)).count();
        if appends != 1 || other != 1 {
            return Err(format!(
                "it stops on `{cond}`, but `{list}` does not grow by exactly one `{list}.append(...)` per item before that test"
            ));
        }
        Ok(Some(Limit { list, bound }))
    }

    /// Statements of `rest` before `before` that are `list.append(...)`.
    fn appends_to(&self, list: &str, rest: &[Node], before: usize) -> usize {
        let target = format!("{list}.append");
        rest.iter()
            .filter(|s| s.start_byte() < before && s.kind() == "expression_statement")
            .filter_map(|s| s.named_child(0).filter(|c| c.kind() == "call"))
            .filter(|c| c.child_by_field_name("function").is_some_and(|f| text(self.src, f) == target))
            .count()
    }

    /// Each fitting work queue becomes: take a level off the queue, gather its
    /// requests, handle its items in order (a `break` there ends the walk).
    pub(super) fn walk_work_queues(&mut self) {
        for level in std::mem::take(&mut self.deferred.work_queues) {
            if let Err(why) = self.write_level_walk(&level) {
                // The request was left a coroutine for the gather: it is awaited in place after all.
                self.awaits.no_await.remove(&level.call.0);
                let (start, end) = level.call;
                if let Err(e) = self.edits.rewrite_region(self.src, start, end, |current| format!("await {current}")) {
                    self.fail(start, e.to_string());
                }
                self.keep_sequential(level.line, "work queue", why);
            }
        }
    }

    fn write_level_walk(&mut self, level: &Level) -> Result<(), String> {
        let (nl, unit) = (self.nl, self.unit.clone());
        let node = python::node_at(self.tree, level.node.0, level.node.1, "while_statement").ok_or("no loop")?;
        let function = enclosing_function(node).ok_or("not in a function")?;
        let body = node.child_by_field_name("body").ok_or("no body")?;
        let first = block_statements(body)[0];
        let ind = indent_at(self.src, first.start_byte()).to_string();
        let name = level.item.trim_start_matches('_');
        let batch = fresh_name(self.src, function, &format!("_{name}_level"));
        let stem = level.result.trim_start_matches('_');
        let results = fresh_name(self.src, function, &format!("_{stem}_results"));
        let error = fresh_name(self.src, function, &format!("_{stem}_error"));
        let request = self.edits.render(self.src, level.call.0, level.call.1).map_err(|e| e.to_string())?;
        let rest = if level.rest < level.node.1 {
            self.edits.render(self.src, level.rest, level.node.1).map_err(|e| e.to_string())?
        } else {
            format!("{ind}pass")
        };
        let rest: String = rest
            .split_inclusive('\n')
            .map(|l| if l.trim().is_empty() { l.to_string() } else { format!("{unit}{l}") })
            .collect();
        let limit = self.job.settings.concurrency;
        let (pop, item, result, take) = (&level.pop, &level.item, &level.result, &level.take);
        // A failed request raises once the items before it are handled, as in the loop.
        let new = format!(
            "{batch} = [{pop} for _ in range({take})]{nl}\
             {ind}{results}, {error} = await gather_until_failure([{request} for {item} in {batch}], limit={limit}){nl}\
             {ind}for {item}, {result} in zip({batch}, {results}):{nl}{rest}{nl}\
             {ind}else:{nl}{ind}{unit}if {error} is not None:{nl}{ind}{unit}{unit}raise {error}{nl}\
             {ind}{unit}continue{nl}{ind}break"
        );
        self.edits.rewrite_region(self.src, first.start_byte(), level.node.1, |_| new).map_err(|e| e.to_string())?;
        self.imports.helpers.insert("gather_until_failure");
        self.awaits.suspends.push(level.node.0);
        Ok(())
    }
}

/// The name `stmt` assigns `value` to, when it is exactly `name = value`.
fn assigned_name(src: &str, stmt: Option<Node>, value: Node) -> Option<String> {
    let assignment = stmt?.named_child(0).filter(|a| a.kind() == "assignment")?;
    if assignment.child_by_field_name("type").is_some() {
        return None;
    }
    let left = assignment.child_by_field_name("left").filter(|l| l.kind() == "identifier")?;
    let right = assignment.child_by_field_name("right")?;
    (right.start_byte() == value.start_byte() && right.end_byte() == value.end_byte())
        .then(|| text(src, left).to_string())
}

/// `len(X) >= N` (or `N <= len(X)`): X and N as written.
fn size_at_least(src: &str, condition: Node) -> Option<(String, String)> {
    if condition.kind() != "comparison_operator" || condition.named_child_count() != 2 {
        return None;
    }
    let op = condition.child_by_field_name("operators").map(|o| text(src, o))?;
    let (a, b) = (condition.named_child(0)?, condition.named_child(1)?);
    let (size, bound) = match op {
        ">=" => (a, b),
        "<=" => (b, a),
        _ => return None,
    };
    if size.kind() != "call" || size.child_by_field_name("function").map(|f| text(src, f)) != Some("len") {
        return None;
    }
    let args = size.child_by_field_name("arguments")?;
    let list = args.named_child(0).filter(|l| args.named_child_count() == 1 && is_path(l))?;
    is_path(&bound)
        .then(|| (text(src, list).to_string(), text(src, bound).to_string()))
        .or_else(|| (bound.kind() == "integer").then(|| (text(src, list).to_string(), text(src, bound).to_string())))
}

fn is_path(node: &Node) -> bool {
    match node.kind() {
        "identifier" => true,
        "attribute" => node.child_by_field_name("object").is_some_and(|o| is_path(&o)),
        _ => false,
    }
}

/// Whether two dotted paths overlap (one is the other or lies inside it).
fn overlaps(a: &str, b: &str) -> bool {
    let inside = |x: &str, y: &str| x == y || (x.starts_with(y) && x.as_bytes().get(y.len()) == Some(&b'.'));
    inside(a, b) || inside(b, a)
}

/// The names and attribute paths `node` reads (`self.session`, `url`); a method
/// call reads its object (`self` for `self.fetch(url)`).
fn reads_of(src: &str, node: Node) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if is_path(&n) {
            let path = match n.parent() {
                Some(p) if p.kind() == "call" && p.child_by_field_name("function") == Some(n) => {
                    n.child_by_field_name("object").map(|o| text(src, o)).unwrap_or_default()
                }
                _ => text(src, n),
            };
            if !path.is_empty() {
                out.push(path.to_string());
            }
            continue;
        }
        if n.kind() == "keyword_argument" {
            stack.extend(n.child_by_field_name("value"));
            continue;
        }
        let mut cursor = n.walk();
        stack.extend(n.named_children(&mut cursor));
    }
    out
}

/// The paths the loop writes: assigned names and attributes (a subscript's
/// container), loop and `with` targets, and the objects of method calls (which may
/// change them), the item's own request (`request`: start, end) aside.
fn writes_in(src: &str, body: Node, request: (usize, usize)) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![body];
    let root = |n: Node| -> Option<String> {
        let mut n = n;
        while n.kind() == "subscript" {
            n = n.child_by_field_name("value")?;
        }
        is_path(&n).then(|| text(src, n).to_string())
    };
    while let Some(n) = stack.pop() {
        let targets: Vec<Node> = match n.kind() {
            "assignment" | "augmented_assignment" => n.child_by_field_name("left").into_iter().collect(),
            "for_statement" | "for_in_clause" => n.child_by_field_name("left").into_iter().collect(),
            "named_expression" => n.child_by_field_name("name").into_iter().collect(),
            "as_pattern" => n.child_by_field_name("alias").into_iter().collect(),
            "delete_statement" => n.named_children(&mut n.walk()).collect(),
            "call" if (n.start_byte(), n.end_byte()) == request => Vec::new(),
            "call" => n
                .child_by_field_name("function")
                .filter(|f| f.kind() == "attribute")
                .and_then(|f| f.child_by_field_name("object"))
                .into_iter()
                .collect(),
            _ => Vec::new(),
        };
        for t in targets {
            match t.kind() {
                "pattern_list" | "tuple_pattern" | "list_pattern" | "expression_list" | "tuple" => {
                    out.extend(t.named_children(&mut t.walk()).filter_map(root))
                }
                _ => out.extend(root(t)),
            }
        }
        let mut cursor = n.walk();
        stack.extend(n.named_children(&mut cursor));
    }
    out
}

/// Whether the identifier `n` (the queue) is the object of `.append(...)` or `.extend(...)`.
fn pushes_at_end(src: &str, n: Node) -> bool {
    n.parent().is_some_and(|attr| {
        attr.kind() == "attribute"
            && attr.child_by_field_name("object") == Some(n)
            && attr.child_by_field_name("attribute").is_some_and(|a| matches!(text(src, a), "append" | "extend"))
            && attr.parent().is_some_and(|c| c.kind() == "call")
    })
}

/// `break` statements that end `loop_node` itself (not an inner loop).
fn loop_breaks(loop_node: Node) -> Vec<Node> {
    let mut out = Vec::new();
    let mut stack: Vec<Node> = loop_node.child_by_field_name("body").into_iter().collect();
    while let Some(n) = stack.pop() {
        match n.kind() {
            "for_statement" | "while_statement" | "function_definition" | "lambda" | "class_definition" => continue,
            "break_statement" => out.push(n),
            _ => {}
        }
        let mut cursor = n.walk();
        stack.extend(n.named_children(&mut cursor));
    }
    out
}

/// Whether a string literal in `node` spans lines (re-indenting would change it).
fn has_multiline_string(node: Node) -> bool {
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if n.kind() == "string" && n.start_position().row != n.end_position().row {
            return true;
        }
        let mut cursor = n.walk();
        stack.extend(n.named_children(&mut cursor));
    }
    false
}

#[cfg(test)]
#[path = "tests/work_queue.rs"]
mod tests;
