//! What the statements and `while` loops of a file's functions say about data
//! flow, as plain data: which names an assignment reads and writes, and what a
//! `while` loop tests, checks and counts. `extract` records it in the same walk
//! as the rest of the summary; RA110 (`work-queue-loop`) and RA111
//! (`independent-consecutive-calls`) read it.
//!
//! Names are interned once per file ([`DataFlow::names`]) and referred to by
//! index, so a statement costs a few integers, not a copy of every name it reads.

use serde::{Deserialize, Serialize};

/// Index into [`DataFlow::names`].
pub type NameId = u32;

/// The data-flow facts of one file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DataFlow {
    /// Names and dotted chains (`url`, `self.session.get`) the records refer to, each once.
    pub names: Vec<super::intern::Name>,
    /// The names of every statement, one run after another ([`Statement::writes`]
    /// and [`Statement::reads`] are slices of it): one vector for the file, not one per statement.
    pub ids: Vec<NameId>,
    /// In source order: every assignment statement of a function body that makes a
    /// call, and every assignment inside a `while` loop (whose data flow RA110 follows).
    pub statements: Vec<Statement>,
    /// Every `while` loop of a function, in the order of the file's loops.
    pub while_loops: Vec<WhileLoop>,
}

/// An assignment statement (`x = ...`, `a, b = ...`, `x: T = ...`, `d[k] = ...`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Statement {
    /// The statement list it is in (a function body, an `if` branch, a loop body),
    /// named by the list's start byte: two statements are in one list iff this is equal.
    pub block: u32,
    /// Its place in that list, comments aside: consecutive statements differ by one.
    pub ordinal: u32,
    pub start_byte: u32,
    pub end_byte: u32,
    /// The call sites inside it are `first_call..end_call` of the file's calls.
    pub first_call: u32,
    pub end_call: u32,
    /// A call in it runs only under a condition (`a or fetch(b)`, `fetch(b) if c else None`).
    pub conditional: bool,
    /// Where its names start in [`DataFlow::ids`]: the written ones (targets: `x`,
    /// `self.user`, `d` for `d[k]`), then the read ones (maximal dotted chains of
    /// identifiers: `api.get_user`, `u`).
    names_at: u32,
    writes: u32,
    reads: u32,
}

impl Statement {
    /// A statement over `written` and `read` names, which go to the end of `ids`.
    pub fn new(
        block: u32,
        ordinal: u32,
        bytes: (u32, u32),
        calls: (u32, u32),
        (written, read): (&[NameId], &[NameId]),
        ids: &mut Vec<NameId>,
    ) -> Statement {
        let names_at = ids.len() as u32;
        ids.extend(written.iter().chain(read));
        Statement {
            block,
            ordinal,
            start_byte: bytes.0,
            end_byte: bytes.1,
            first_call: calls.0,
            end_call: calls.1,
            conditional: false,
            names_at,
            writes: written.len() as u32,
            reads: read.len() as u32,
        }
    }

    /// The names it assigns.
    pub fn writes<'f>(&self, flow: &'f DataFlow) -> &'f [NameId] {
        let at = self.names_at as usize;
        &flow.ids[at..at + self.writes as usize]
    }

    /// The names it reads.
    pub fn reads<'f>(&self, flow: &'f DataFlow) -> &'f [NameId] {
        let at = (self.names_at + self.writes) as usize;
        &flow.ids[at..at + self.reads as usize]
    }
}

/// A `while` loop, with what tells a work queue from pagination or a retry loop.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WhileLoop {
    /// Index of the loop in the file's loops.
    pub loop_idx: u32,
    /// The name whose truthiness or length the condition tests (`queue` in `while queue:`,
    /// `while len(queue) > 0:`, `while queue and pages < limit:`; also `cursor` in
    /// `while cursor:`, which is why RA110 asks for a pop too), and where that test starts.
    pub drains: Option<(NameId, u32)>,
    /// `x in c` and `x not in c` tests in the loop, condition included.
    pub membership: Vec<Membership>,
    /// Ordering comparisons (`<`, `<=`, `>`, `>=`) in the loop, condition included.
    pub comparisons: Vec<Comparison>,
    /// Names changed by augmented assignment in the loop (`pages += 1`).
    pub counters: Vec<NameId>,
    /// Containers whose items are assigned in the loop (`pages[url] = html`).
    pub filled: Vec<NameId>,
}

/// `element in container` or `element not in container`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Membership {
    /// The test as written, shortened, for messages.
    pub text: String,
    /// Names read by the element side.
    pub elements: Vec<NameId>,
    pub container: NameId,
}

/// An ordering comparison (`len(seen) < max_pages`, `depth >= max_depth`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    pub start_byte: u32,
    /// The comparison as written, shortened, for messages.
    pub text: String,
    /// Names read on either side.
    pub reads: Vec<NameId>,
    /// Containers whose size is compared (`seen` in `len(seen) < limit`).
    pub sizes: Vec<NameId>,
}

impl DataFlow {
    /// The text of a name.
    pub fn name(&self, id: NameId) -> &str {
        &self.names[id as usize]
    }

    /// The facts of the `while` loop with this loop index, if it is one recorded here.
    pub fn while_loop(&self, loop_idx: u32) -> Option<&WhileLoop> {
        self.while_loops.binary_search_by_key(&loop_idx, |w| w.loop_idx).ok().map(|i| &self.while_loops[i])
    }
}

/// Whether two names may denote the same value or one a part of the other:
/// equal, or one a dotted prefix of the other (`self.user` and `self.user.id`;
/// `self` and `self.api`; but not `self.user` and `self.api`).
pub fn overlap(a: &str, b: &str) -> bool {
    let prefix = |short: &str, long: &str| {
        long.len() > short.len() && long.starts_with(short) && long.as_bytes()[short.len()] == b'.'
    };
    a == b || prefix(a, b) || prefix(b, a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_overlap_by_dotted_prefix_only() {
        assert!(overlap("self.user", "self.user"));
        assert!(overlap("self", "self.api.get"));
        assert!(overlap("self.user.id", "self.user"));
        assert!(!overlap("self.user", "self.api"));
        assert!(!overlap("user", "users"));
        assert!(!overlap("self.user", "self.users"));
    }

    #[test]
    fn a_statement_keeps_writes_and_reads_apart() {
        let mut flow = DataFlow::default();
        let s = Statement::new(0, 0, (0, 10), (0, 1), (&[3], &[1, 2]), &mut flow.ids);
        assert_eq!(s.writes(&flow), [3]);
        assert_eq!(s.reads(&flow), [1, 2]);
    }
}
