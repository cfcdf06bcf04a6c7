//! Consecutive statements that each wait on one independent read (RA111) become
//! one `await gather_all(...)` assigning the same names: the calls start together,
//! in order, and the names are bound once all have arrived.

use super::*;
use crate::plan::PlanCallGroup;

/// One statement of a group that fits: `target = call`.
#[derive(Clone, Copy)]
pub(super) struct GroupMember {
    statement: (usize, usize),
    left: (usize, usize),
    right: (usize, usize),
}

impl<'a, 'c, 't> Rewriter<'a, 'c, 't> {
    /// A call at `ci` that the rewrite turns into one expression making a coroutine
    /// (a converted function, an offloaded helper, or a native rewrite that stays an
    /// expression), which a gather can take instead of awaiting it in place.
    pub(super) fn makes_coroutine(&self, ci: u32) -> bool {
        match self.target(ci) {
            CallTarget::Repo(g) => {
                self.job.functions.get(g).is_some_and(|pf| !pf.generator) || self.job.offloaded.contains(g)
            }
            CallTarget::Blocking(_) => self.plan_call(ci).is_some_and(|c| c.rewrite.is_expression()),
            _ => false,
        }
    }

    /// The groups of this file that can be gathered: their calls make coroutines
    /// instead of being awaited; the rest are kept sequential, saying why.
    pub(super) fn plan_call_groups(&mut self) {
        let groups: Vec<&'a PlanCallGroup> =
            self.job.plans.iter().flat_map(|p| p.call_groups.iter()).filter(|g| g.module == self.job.module).collect();
        for g in groups {
            let (line, calls) = (self.call_site(g.call_ids[0]).pos.line, &g.call_ids);
            match self.group_members(&g.statements, calls) {
                Ok(members) => {
                    for &ci in calls {
                        self.awaits.no_await.insert(self.call_site(ci).pos.byte as usize);
                    }
                    self.deferred.call_groups.push(members);
                }
                Err(why) => self.keep_sequential(line, "calls", why),
            }
        }
    }

    /// Each statement as `target = call`, or why the group does not fit that shape.
    fn group_members(&self, statements: &[(u32, u32)], calls: &[u32]) -> Result<Vec<GroupMember>, String> {
        let mut members: Vec<GroupMember> = Vec::new();
        for (&(start, end), &ci) in statements.iter().zip(calls) {
            let (start, end) = (start as usize, end as usize);
            let stmt =
                python::node_at(self.tree, start, end, "expression_statement").ok_or("a statement was not found")?;
            let assignment = stmt.named_child(0).filter(|a| a.kind() == "assignment").ok_or("not an assignment")?;
            if assignment.child_by_field_name("type").is_some() {
                return Err("an annotated assignment would lose its annotation".into());
            }
            let left = assignment.child_by_field_name("left").ok_or("no target")?;
            let right = assignment.child_by_field_name("right").ok_or("no value")?;
            if !matches!(left.kind(), "identifier" | "attribute" | "subscript") {
                return Err(format!("the target `{}` is not one name", text(self.src, left)));
            }
            let site = self.call_site(ci);
            if (right.start_byte(), right.end_byte()) != (site.pos.byte as usize, site.end_byte as usize) {
                return Err("a value is more than its one call".into());
            }
            if !self.makes_coroutine(ci) {
                return Err("a call's rewrite is more than one expression".into());
            }
            if let Some(prev) = members.last()
                && !self.src[prev.statement.1..start].trim().is_empty()
            {
                return Err("a comment between the statements would be lost".into());
            }
            members.push(GroupMember {
                statement: (start, end),
                left: (left.start_byte(), left.end_byte()),
                right: (right.start_byte(), right.end_byte()),
            });
        }
        Ok(members)
    }

    /// `a = f(x)` / `b = g(x)` → `a, b = await gather_all(f(x), g(x))`, with the
    /// calls' rewritten text.
    pub(super) fn gather_call_groups(&mut self) {
        for members in std::mem::take(&mut self.deferred.call_groups) {
            let (start, end) = (members[0].statement.0, members[members.len() - 1].statement.1);
            let ind = indent_at(self.src, start).to_string();
            let rendered: Result<Vec<(String, String)>, _> = members
                .iter()
                .map(|m| {
                    Ok((
                        self.edits.render(self.src, m.left.0, m.left.1)?,
                        self.edits.render(self.src, m.right.0, m.right.1)?,
                    ))
                })
                .collect();
            let parts = match rendered {
                Ok(parts) => parts,
                Err(e) => {
                    let e: crate::draft::edits::Overlap = e;
                    self.fail(start, e.to_string());
                    continue;
                }
            };
            let (nl, unit) = (self.nl, self.unit.clone());
            let targets: Vec<&str> = parts.iter().map(|(l, _)| l.as_str()).collect();
            let values: String = parts.iter().map(|(_, r)| format!("{ind}{unit}{r},{nl}")).collect();
            let new = format!("{} = await gather_all({nl}{values}{ind})", targets.join(", "));
            if let Err(e) = self.edits.rewrite_region(self.src, start, end, |_| new) {
                self.fail(start, e.to_string());
                continue;
            }
            self.imports.helpers.insert("gather_all");
            self.awaits.suspends.push(start);
        }
    }
}
