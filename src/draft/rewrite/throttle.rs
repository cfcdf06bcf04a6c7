//! Throttled loops (RA109) whose plan gives an interval become rate-limited
//! concurrency: the per-item sleep goes, and `for_each_spaced` starts the items at
//! least that interval apart, at most `rewrite.concurrency` at once, with what
//! follows each item's last await still in item order. A loop the rewrite cannot
//! carry out that way stays sequential, its sleep awaited.

use super::gathers::block_statements;
use super::*;
use crate::plan::PlanThrottle;

impl<'a, 'c, 't> Rewriter<'a, 'c, 't> {
    pub(super) fn space_throttled_loops(&mut self) {
        let throttles: Vec<&'a PlanThrottle> = self
            .job
            .plans
            .iter()
            .flat_map(|p| p.throttles.iter())
            .filter(|t| t.module == self.job.module && t.interval.is_some())
            .collect();
        let mut spaced = false;
        for t in throttles {
            let interval = t.interval.as_deref().unwrap_or_default();
            match self.space_loop(t, interval) {
                Ok(()) => spaced = true,
                Err(why) => self.keep_sequential(t.line, "throttled loop", why),
            }
        }
        // The sleep's rewrite asked for `asyncio`, which the dropped sleep may have
        // been the only use of (later phases add no `asyncio.` calls).
        if spaced && self.edits.apply(self.src).is_ok_and(|text| !text.contains("asyncio.")) {
            self.imports.modules.remove("asyncio");
        }
    }

    /// Drop the loop's sleep statement and run the loop as `for_each_spaced`; on
    /// failure, every edit of the attempt is undone, so the sleep stays.
    fn space_loop(&mut self, t: &PlanThrottle, interval: &str) -> Result<(), String> {
        let lp = &self.module().summary.loops[t.loop_idx as usize];
        let node = python::node_at(self.tree, lp.pos.byte as usize, lp.end_byte as usize, "for_statement")
            .ok_or("the loop was not found")?;
        let body = node.child_by_field_name("body").ok_or("no body")?;
        let sleep = self.call_site(t.sleep_call.1);
        let statements = block_statements(body);
        let at = statements
            .iter()
            .position(|s| {
                s.kind() == "expression_statement"
                    && s.named_child(0).is_some_and(|c| {
                        c.kind() == "call"
                            && c.start_byte() == sleep.pos.byte as usize
                            && c.end_byte() == sleep.end_byte as usize
                    })
            })
            .ok_or("the sleep is not a statement of the loop's own body")?;
        // From the end of the statement before it (or to the start of the one after
        // it), so that the loop's own end does not move.
        let (start, end) = match (at.checked_sub(1).map(|i| statements[i]), statements.get(at + 1)) {
            (Some(before), _) => (before.end_byte(), statements[at].end_byte()),
            (None, Some(after)) => (statements[at].start_byte(), after.start_byte()),
            (None, None) => return Err("the sleep is all the loop does".into()),
        };
        let (edits, suspends) = (self.edits.clone(), self.awaits.suspends.clone());
        let removed = self.edits.rewrite_region(self.src, start, end, |_| String::new());
        self.awaits.suspends.retain(|&p| p < start || p >= end);
        let result = removed.map_err(|e| e.to_string()).and_then(|()| self.gather_loop(t.loop_idx, Some(interval)));
        if result.is_err() {
            self.edits = edits;
            self.awaits.suspends = suspends;
        }
        result
    }
}
