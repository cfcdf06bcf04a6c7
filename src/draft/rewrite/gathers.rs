//! Loops and list comprehensions of independent calls become bounded gathers:
//! `for_each_bounded` (the body up to its last await concurrently, the rest in item
//! order) and `gather_bounded`.

use super::*;

impl<'a, 'c, 't> Rewriter<'a, 'c, 't> {
    pub(super) fn gathers_here(&self) -> Vec<u32> {
        self.job
            .plans
            .iter()
            .flat_map(|p| p.gathers.iter())
            .filter(|g| g.module == self.job.module)
            .map(|g| g.loop_idx)
            .collect()
    }

    /// The list comprehensions the plans gather.
    pub(super) fn gathered_comprehensions(&self) -> Vec<Node<'t>> {
        self.gathers_here()
            .into_iter()
            .map(|li| &self.module().summary.loops[li as usize])
            .filter(|lp| lp.kind == LoopKind::Comprehension)
            .filter_map(|lp| {
                python::node_at(self.tree, lp.pos.byte as usize, lp.end_byte as usize, "list_comprehension")
            })
            .collect()
    }

    /// Comprehensions whose element is one converted call: that call makes a coroutine for `gather_bounded`.
    pub(super) fn plan_gathers_of_comprehensions(&mut self) {
        for comp in self.gathered_comprehensions() {
            let Some(element) = comp.child_by_field_name("body").filter(|b| b.kind() == "call") else { continue };
            let converted = self.module().summary.calls.iter().enumerate().find(|(ci, c)| {
                c.pos.byte as usize == element.start_byte()
                    && c.end_byte as usize == element.end_byte()
                    && self.makes_coroutine(*ci as u32)
            });
            if converted.is_some() {
                self.awaits.no_await.insert(element.start_byte());
            }
        }
    }

    pub(super) fn gather_comprehensions(&mut self) {
        for comp in self.gathered_comprehensions() {
            let Some(element) = comp.child_by_field_name("body") else { continue };
            if !self.awaits.no_await.contains(&element.start_byte()) {
                continue;
            }
            // Other awaits in the comprehension (its `if` or iterable) would run inside the gather's argument.
            if self
                .awaits
                .suspends
                .iter()
                .any(|&s| s > comp.start_byte() && s < comp.end_byte() && s != element.start_byte())
            {
                // The element was left a coroutine for the gather: it is awaited in place after all.
                self.awaits.no_await.remove(&element.start_byte());
                let (start, end) = (element.start_byte(), element.end_byte());
                if let Err(e) = self.edits.rewrite_region(self.src, start, end, |current| format!("await {current}")) {
                    self.fail(start, e.to_string());
                }
                let line = comp.start_position().row as u32 + 1;
                self.keep_sequential(line, "comprehension", "it awaits in more than its element");
                continue;
            }
            self.imports.helpers.insert("gather_bounded");
            let limit = self.job.settings.concurrency;
            let parens = Self::needs_parens(comp);
            let result = self.edits.rewrite_region(self.src, comp.start_byte(), comp.end_byte(), |current| {
                let g = format!("await gather_bounded({current}, limit={limit})");
                if parens { format!("({g})") } else { g }
            });
            if let Err(e) = result {
                self.fail(comp.start_byte(), e.to_string());
            }
            self.awaits.suspends.push(comp.start_byte());
        }
    }

    pub(super) fn gather_loops(&mut self) {
        let mut loops: Vec<u32> = self
            .gathers_here()
            .into_iter()
            .filter(|&li| self.module().summary.loops[li as usize].kind == LoopKind::For)
            .collect();
        // Inner loops first: an outer loop's rewrite takes their rewritten text.
        loops.sort_by_key(|&li| std::cmp::Reverse(self.module().summary.loops[li as usize].pos.byte));
        for li in loops {
            if let Err(why) = self.gather_loop(li, None) {
                let line = self.module().summary.loops[li as usize].pos.line;
                self.keep_sequential(line, "loop", why);
            }
        }
    }

    /// Turn a `for` loop into `for_each_bounded`: the body up to its last await runs
    /// concurrently, the rest in item order after `await _turn()`. With `spacing`
    /// (an interval as written), `for_each_spaced`: items also start that far apart.
    pub(super) fn gather_loop(&mut self, li: u32, spacing: Option<&str>) -> Result<(), String> {
        let lp = self.module().summary.loops[li as usize].clone();
        let node = python::node_at(self.tree, lp.pos.byte as usize, lp.end_byte as usize, "for_statement")
            .ok_or("the loop was not found")?;
        let (body, function) = self.loop_can_be_gathered(node, &lp)?;
        let statements = block_statements(body);
        if statements.iter().any(|s| matches!(s.kind(), "global_statement" | "nonlocal_statement")) {
            return Err("it declares `global` or `nonlocal` names".into());
        }
        if !statements.iter().any(|s| self.suspends_in(*s)) {
            return Err("nothing in it is awaited".into());
        }
        let turn = fresh_name(self.src, function, "_turn");
        let mut turns = Turns::new();
        self.continues_end_the_item(node, body, &mut turns);
        self.turn_after_last_await(body, function, &turn, &mut turns)?;
        for (at, ind) in turns {
            self.edits.insert(at, format!("await {turn}(){}{ind}", self.nl));
        }
        let body_ind = indent_at(self.src, statements[0].start_byte()).to_string();
        self.write_for_each_bounded(node, function, &body_ind, &turn, spacing)
    }

    /// Whether the rewritten code suspends inside `node`.
    fn suspends_in(&self, node: Node) -> bool {
        self.awaits.suspends.iter().any(|&p| p >= node.start_byte() && p < node.end_byte())
    }

    /// The loop's body and function, when the loop's shape allows a per-item function.
    fn loop_can_be_gathered(&self, node: Node<'t>, lp: &LoopInfo) -> Result<(Node<'t>, Node<'t>), String> {
        if node.child_by_field_name("alternative").is_some() {
            return Err("it has an `else:` clause".into());
        }
        let body = node.child_by_field_name("body").ok_or("no body")?;
        if node.start_position().row == body.start_position().row {
            return Err("its body is on the `for` line".into());
        }
        let function = enclosing_function(node).ok_or("not in a function")?;
        // Names the loop binds become locals of the per-item function: the analysis
        // says which of them code outside the loop reads, and which an item reads
        // before binding them (the value an earlier item left).
        if let Some(why) = lp.item_state_escapes() {
            return Err(why);
        }
        Ok((body, function))
    }

    /// `continue` ends this item: it becomes `return` in the per-item function, and
    /// what its branch does after its last await waits for the item's turn too.
    fn continues_end_the_item(&mut self, node: Node<'t>, body: Node<'t>, turns: &mut Turns) {
        let mut turned_blocks = BTreeSet::new();
        for c in loop_continues(node) {
            self.edits.replace(c.start_byte(), c.end_byte(), "return");
            let Some(block) = c.parent().filter(|b| b.kind() == "block") else { continue };
            if block == body || !turned_blocks.insert(block.start_byte()) {
                continue;
            }
            let stmts = block_statements(block);
            let from = stmts.iter().rposition(|s| self.suspends_in(*s)).map_or(0, |i| i + 1);
            if let Some(first) = stmts.get(from) {
                turns.insert(first.start_byte(), indent_at(self.src, first.start_byte()).to_string());
            }
        }
    }

    /// Wait for the item's turn right after the last await of `block`, on every way
    /// through it, so that everything the item does afterwards (appending its
    /// result, above all) happens in item order. The last awaiting statement may be
    /// an `if`, `try` or `with`: each of its blocks gets its own turn; when it is a
    /// loop, no single point follows its last await, and the loop is declined.
    fn turn_after_last_await(
        &mut self,
        block: Node<'t>,
        function: Node<'t>,
        turn: &str,
        turns: &mut Turns,
    ) -> Result<(), String> {
        let stmts = block_statements(block);
        let Some(last) = stmts.iter().rposition(|s| self.suspends_in(*s)) else {
            // A branch that awaits nothing: all it does waits for the turn.
            if let Some(first) = stmts.first() {
                turns.insert(first.start_byte(), indent_at(self.src, first.start_byte()).to_string());
            }
            return Ok(());
        };
        let stmt = stmts[last];
        let turned = match stmt.kind() {
            "if_statement" | "try_statement" | "with_statement" => {
                for inner in branch_blocks(stmt) {
                    self.turn_after_last_await(inner, function, turn, turns)?;
                }
                false
            }
            "for_statement" | "while_statement" => {
                return Err("its last await is inside a nested loop".into());
            }
            "match_statement" | "decorated_definition" | "function_definition" | "class_definition" => {
                return Err(format!("its last await is inside a `{}`", stmt.kind().trim_end_matches("_statement")));
            }
            _ => {
                let ind = indent_at(self.src, stmt.start_byte()).to_string();
                self.await_last_value_first(stmt, function, &ind, turn)?
            }
        };
        if !turned && let Some(next) = stmts.get(last + 1) {
            turns.insert(next.start_byte(), indent_at(self.src, next.start_byte()).to_string());
        }
        Ok(())
    }

    /// `results.append(await f(x))`: the awaited value goes to a variable first, so
    /// the append itself waits for the item's turn. Whether that was done.
    fn await_last_value_first(
        &mut self,
        last_stmt: Node<'t>,
        function: Node<'t>,
        body_ind: &str,
        turn: &str,
    ) -> Result<bool, String> {
        let nl = self.nl;
        let plain_assignment = last_stmt.named_child(0).is_some_and(|a| {
            a.kind() == "assignment"
                && a.child_by_field_name("left").is_some_and(|l| matches!(l.kind(), "identifier" | "pattern_list"))
        });
        if last_stmt.kind() != "expression_statement" || plain_assignment {
            return Ok(false);
        }
        let Some(&point) =
            self.awaits.suspends.iter().filter(|&&p| p >= last_stmt.start_byte() && p < last_stmt.end_byte()).min()
        else {
            return Ok(false);
        };
        // A call, or a property read that became one (`await client.owner_async()`).
        let Some(call) = python::node_starting(self.tree, point, "call")
            .or_else(|| python::node_starting(self.tree, point, "attribute"))
        else {
            return Ok(false);
        };
        if call.end_byte() > last_stmt.end_byte()
            || call.start_byte() <= last_stmt.start_byte()
            || Self::needs_parens(call)
        {
            return Ok(false);
        }
        let value = fresh_name(self.src, function, "_value");
        let rendered = self.edits.render(self.src, call.start_byte(), call.end_byte()).map_err(|e| e.to_string())?;
        self.edits
            .rewrite_region(self.src, call.start_byte(), call.end_byte(), |_| value.clone())
            .map_err(|e| e.to_string())?;
        self.edits
            .insert(last_stmt.start_byte(), format!("{value} = {rendered}{nl}{body_ind}await {turn}(){nl}{body_ind}"));
        Ok(true)
    }

    /// The loop itself becomes `items = list(iterable)`, the per-item function and
    /// `await for_each_bounded(len(items), each, limit=N)`.
    fn write_for_each_bounded(
        &mut self,
        node: Node<'t>,
        function: Node<'t>,
        body_ind: &str,
        turn: &str,
        spacing: Option<&str>,
    ) -> Result<(), String> {
        let nl = self.nl;
        let left = node.child_by_field_name("left").ok_or("no target")?;
        let right = node.child_by_field_name("right").ok_or("no iterable")?;
        let colon =
            (0..node.child_count()).filter_map(|i| node.child(i)).find(|c| c.kind() == ":").ok_or("no colon")?;
        let target_name = python::identifiers(self.src, left)
            .first()
            .map(|s| s.trim_start_matches('_').to_string())
            .unwrap_or_else(|| "item".into());
        let items = fresh_name(self.src, function, &format!("_{target_name}_items"));
        let each = fresh_name(self.src, function, &format!("_each_{target_name}"));
        let index = fresh_name(self.src, function, "_index");
        let ind = indent_at(self.src, node.start_byte()).to_string();
        let iterable = self.edits.render(self.src, right.start_byte(), right.end_byte()).map_err(|e| e.to_string())?;
        let target = self.edits.render(self.src, left.start_byte(), left.end_byte()).map_err(|e| e.to_string())?;
        let body_start = next_line_start(self.src, colon.end_byte());
        let body_text = self.edits.render(self.src, body_start, node.end_byte()).map_err(|e| e.to_string())?;
        let limit = self.job.settings.concurrency;
        let (helper, interval) = match spacing {
            Some(seconds) => ("for_each_spaced", format!(", interval={seconds}")),
            None => ("for_each_bounded", String::new()),
        };
        let new = format!(
            "{ind}{items} = list({iterable}){nl}{nl}{ind}async def {each}({index}: int, {turn}: Turn) -> None:{nl}{body_ind}{target} = {items}[{index}]{nl}{body_text}{nl}{nl}{ind}await {helper}(len({items}), {each}{interval}, limit={limit})"
        );
        self.edits
            .rewrite_region(self.src, line_start(self.src, node.start_byte()), node.end_byte(), |_| new)
            .map_err(|e| e.to_string())?;
        self.imports.helpers.insert("Turn");
        self.imports.helpers.insert(helper);
        self.awaits.suspends.push(node.start_byte());
        Ok(())
    }
}

/// `continue` statements that continue `for_node` itself (not an inner loop).
pub(super) fn loop_continues(for_node: Node) -> Vec<Node> {
    let mut out = Vec::new();
    let mut cursor = for_node.walk();
    let mut stack: Vec<Node> = for_node.child_by_field_name("body").into_iter().collect();
    while let Some(n) = stack.pop() {
        match n.kind() {
            "for_statement" | "while_statement" | "function_definition" | "lambda" | "class_definition" => continue,
            "continue_statement" => out.push(n),
            _ => {}
        }
        for child in n.named_children(&mut cursor) {
            stack.push(child);
        }
    }
    out
}

/// Where `await _turn()` goes (byte → indentation of the statement there), each place once.
type Turns = BTreeMap<usize, String>;

/// The statements of a block, comments aside.
pub(super) fn block_statements(block: Node) -> Vec<Node> {
    let mut cursor = block.walk();
    block.named_children(&mut cursor).filter(|n| n.kind() != "comment").collect()
}

/// The blocks an `if`, `try` or `with` statement runs: every branch, handler,
/// `else:` and `finally:`.
fn branch_blocks(stmt: Node) -> Vec<Node> {
    let mut out = Vec::new();
    let mut stack = vec![stmt];
    while let Some(n) = stack.pop() {
        let mut cursor = n.walk();
        for child in n.named_children(&mut cursor) {
            match child.kind() {
                "block" => out.push(child),
                "elif_clause" | "else_clause" | "except_clause" | "except_group_clause" | "finally_clause" => {
                    stack.push(child)
                }
                _ => {}
            }
        }
    }
    out.sort_by_key(|b| b.start_byte());
    out
}

#[cfg(test)]
#[path = "tests/gathers.rs"]
mod tests;
