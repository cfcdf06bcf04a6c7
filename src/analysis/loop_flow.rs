//! Data flow through `for` loops: what one item hands to the next, and which names
//! a loop binds that code outside it can read.
//!
//! The extraction walk logs reads and writes of one function (or module or class
//! body) as [`Event`]s; when that body ends, [`resolve`] turns the log into each
//! loop's [`LoopInfo::carried`] and [`LoopInfo::escaping`] and the log is dropped,
//! so the summary keeps only the few accesses that matter. Order is byte order: a
//! write earlier in the body counts as done when a later read runs, as the loop
//! analysis has always assumed; after the loop, a write counts only where it runs
//! whenever the read does (directly in a block around the read).

use rustc_hash::FxHashMap as HashMap;

use super::summary::{Access, AccessKind, Escape, LoopInfo, Name};

/// What an [`Event`] does to its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// The value is read.
    Read,
    /// Only tested for membership (`x in seen`).
    Membership,
    /// Read in a lambda or a nested function, which may run at any time.
    ClosureRead,
    /// `x = ...`: the old value is gone from here on, within `cover`.
    Kill,
    /// `x op= ...`: a binding that builds on the old value.
    Augment,
    /// `x.append(...)`, `x[k] = ...`: changed in place.
    Mutate,
    /// A `for` target: bound afresh for the loop's body (`cover`), if it runs at all.
    ForTarget,
}

/// One read or write, in the order of the walk.
#[derive(Debug, Clone, Copy)]
pub(super) struct Event<'s> {
    /// A name or `name.attribute` (see [`Access`]).
    pub path: &'s str,
    pub byte: u32,
    pub kind: Kind,
    /// For a kill, the block it runs in whenever control passes its byte; for a
    /// `for` target, the loop's body.
    pub cover: (u32, u32),
}

/// A `for` loop of the logged body: its index and the byte range of its body.
#[derive(Debug, Clone, Copy)]
pub(super) struct Span {
    pub loop_idx: u32,
    pub body: (u32, u32),
}

/// The reads and writes of one function, module or class body.
#[derive(Debug, Default)]
pub(super) struct Log<'s> {
    pub events: Vec<Event<'s>>,
    pub spans: Vec<Span>,
    /// Names declared `global` or `nonlocal`: bound outside this function.
    pub declared: Vec<&'s str>,
    /// Whether reads and writes are logged. A body whose closure nobody asks for
    /// (a module, a class, a function not nested in a function) starts logging at
    /// its first loop: what comes before matters to no loop, closures aside.
    pub recording: bool,
}

impl<'s> Log<'s> {
    pub fn push(&mut self, path: &'s str, byte: u32, kind: Kind, cover: (u32, u32)) {
        // A closure may run after any loop, wherever it is made.
        if self.recording || kind == Kind::ClosureRead {
            self.events.push(Event { path, byte, kind, cover });
        }
    }

    /// What a nested function's log shows its enclosing function: the names it reads
    /// but does not bind itself (its closure), and its `nonlocal` names, as reads
    /// that may happen at any time.
    pub fn free_reads(&self) -> Vec<Event<'s>> {
        let bound: Vec<&str> = self
            .events
            .iter()
            .filter(|e| matches!(e.kind, Kind::Kill | Kind::Augment | Kind::ForTarget))
            .map(|e| root(e.path))
            .filter(|name| !self.declared.contains(name))
            .collect();
        self.events
            .iter()
            .filter(|e| matches!(e.kind, Kind::Read | Kind::Membership | Kind::ClosureRead))
            .filter(|e| !bound.contains(&root(e.path)))
            .map(|e| Event { kind: Kind::ClosureRead, ..*e })
            .collect()
    }
}

/// `self` of `self.offset`.
fn root(path: &str) -> &str {
    path.split('.').next().unwrap_or(path)
}

/// `a` is `b` or a prefix of it: `self` of `self.offset`.
fn within(a: &str, b: &str) -> bool {
    b.strip_prefix(a).is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// Reading one path can see a write of the other.
fn overlap(a: &str, b: &str) -> bool {
    within(a, b) || within(b, a)
}

/// Fill in the data flow of every `for` loop of a finished body.
pub(super) fn resolve(mut log: Log<'_>, loops: &mut [LoopInfo]) {
    if log.spans.is_empty() {
        return;
    }
    // Writes are logged once their statement is done, after the reads in it.
    log.events.sort_by_key(|e| e.byte);
    let mut by_root: HashMap<&str, Vec<usize>> = HashMap::default();
    for (i, e) in log.events.iter().enumerate() {
        by_root.entry(root(e.path)).or_default().push(i);
    }
    for span in &log.spans {
        let (lo, hi) = (span.body.0, span.body.1);
        let start = log.events.partition_point(|e| e.byte < lo);
        // A write at the end of the body's last statement is still in the body.
        let end = log.events.partition_point(|e| e.byte <= hi);
        let body = &log.events[start..end];
        let lp = &loops[span.loop_idx as usize];
        let carried = carried(body, &lp.targets);
        let escaping = escaping(&log, &by_root, span, loops);
        let lp = &mut loops[span.loop_idx as usize];
        lp.carried = carried;
        lp.escaping = escaping;
    }
}

/// Reads in the body of what an earlier item wrote, and the writes they can see.
fn carried(body: &[Event<'_>], targets: &[Name]) -> Vec<Access> {
    let mut written: Vec<&str> = Vec::new();
    for e in body {
        if matches!(e.kind, Kind::Kill | Kind::Augment | Kind::Mutate | Kind::ForTarget) && !written.contains(&e.path) {
            written.push(e.path);
        }
    }
    if written.is_empty() {
        return Vec::new();
    }
    // Paths assigned afresh so far in this item: the loop's targets first.
    let mut killed: Vec<&str> = targets.iter().map(|n| n.as_str()).collect();
    let mut reads = Vec::new();
    let mut carried_paths: Vec<&str> = Vec::new();
    for e in body {
        match e.kind {
            Kind::Kill | Kind::ForTarget => killed.push(e.path),
            Kind::Read | Kind::Membership | Kind::ClosureRead => {
                for &w in written.iter().filter(|w| overlap(w, e.path)) {
                    if killed.iter().any(|k| within(k, w) || within(k, e.path)) {
                        continue;
                    }
                    let kind = if e.kind == Kind::Membership { AccessKind::Membership } else { AccessKind::Read };
                    reads.push(Access { path: Name::new(w), byte: e.byte, kind });
                    if !carried_paths.contains(&w) {
                        carried_paths.push(w);
                    }
                }
            }
            Kind::Augment | Kind::Mutate => {}
        }
    }
    let writes = body.iter().filter(|e| carried_paths.contains(&e.path)).filter_map(|e| {
        let kind = match e.kind {
            Kind::Kill | Kind::Augment | Kind::ForTarget => AccessKind::Bind,
            Kind::Mutate => AccessKind::Mutate,
            _ => return None,
        };
        Some(Access { path: Name::new(e.path), byte: e.byte, kind })
    });
    let mut out: Vec<Access> = reads.into_iter().chain(writes).collect();
    out.sort_by_key(|a| a.byte);
    out
}

/// Names the loop binds (its targets, and names bound in its body) that code outside
/// the body can read while they still hold the loop's value.
fn escaping(log: &Log<'_>, by_root: &HashMap<&str, Vec<usize>>, span: &Span, loops: &[LoopInfo]) -> Vec<Escape> {
    let lp = &loops[span.loop_idx as usize];
    let (lo, hi) = span.body;
    // (name, bound only by `op=`)
    let mut bound: Vec<(&str, bool)> = lp.targets.iter().map(|t| (t.as_str(), false)).collect();
    for e in log.events.iter().filter(|e| e.byte >= lo && e.byte <= hi && !e.path.contains('.')) {
        let accumulates = match e.kind {
            Kind::Kill | Kind::ForTarget => false,
            Kind::Augment => true,
            _ => continue,
        };
        match bound.iter_mut().find(|(n, _)| *n == e.path) {
            Some((_, acc)) => *acc &= accumulates,
            None => bound.push((e.path, accumulates)),
        }
    }
    bound
        .into_iter()
        .filter(|(name, _)| {
            log.declared.contains(name)
                || by_root.get(name).is_some_and(|events| {
                    events.iter().map(|&i| &log.events[i]).any(|r| read_outside(log, by_root, r, span, loops))
                })
        })
        .map(|(name, accumulates)| Escape { name: Name::new(name), accumulates })
        .collect()
}

/// `r` reads, outside the loop's body, a value the loop may have left behind.
fn read_outside(
    log: &Log<'_>,
    by_root: &HashMap<&str, Vec<usize>>,
    r: &Event<'_>,
    span: &Span,
    loops: &[LoopInfo],
) -> bool {
    let (lo, hi) = span.body;
    if r.byte >= lo && r.byte <= hi {
        return false;
    }
    match r.kind {
        // A closure made outside the loop may be called after it.
        Kind::ClosureRead => return true,
        Kind::Read | Kind::Membership => {}
        _ => return false,
    }
    // Before the loop, its value arrives only around an enclosing loop.
    let around = if r.byte < lo {
        match enclosing(loops, span.loop_idx, r.byte) {
            Some(outer) => Some(outer),
            None => return false,
        }
    } else {
        None
    };
    let name = root(r.path);
    let covered = by_root[name].iter().map(|&i| &log.events[i]).any(|k| {
        if k.path != name {
            return false;
        }
        // Inclusive: an assignment's own reads may sit at its block's last byte.
        let covers = k.cover.0 <= r.byte && r.byte <= k.cover.1;
        match k.kind {
            // Another loop binding the name for its own body (not around this loop).
            Kind::ForTarget => covers && !(k.cover.0 <= lo && lo <= k.cover.1),
            Kind::Kill => {
                let from = around.map_or(hi, |outer| loops[outer as usize].pos.byte);
                covers && k.byte >= from && k.byte <= r.byte
            }
            _ => false,
        }
    });
    !covered
}

/// The innermost loop around loop `li` whose extent holds `byte`.
fn enclosing(loops: &[LoopInfo], li: u32, byte: u32) -> Option<u32> {
    let mut up = loops[li as usize].parent;
    while let Some(p) = up {
        let outer = &loops[p as usize];
        if outer.pos.byte <= byte && byte < outer.end_byte {
            return Some(p);
        }
        up = outer.parent;
    }
    None
}

#[cfg(test)]
mod tests {
    use crate::analysis::extract::{new_parser, summarize};
    use crate::analysis::summary::FileSummary;

    fn summary(src: &str) -> FileSummary {
        summarize(&mut new_parser(), src.as_bytes())
    }

    /// The carried accesses of the loop on `line` (1-based), as `path:kind`.
    fn carried(s: &FileSummary, line: u32) -> Vec<String> {
        let lp = s.loops.iter().find(|l| l.pos.line == line).expect("a loop on that line");
        lp.carried.iter().map(|a| format!("{}:{:?}", a.path, a.kind)).collect()
    }

    fn escaping(s: &FileSummary, line: u32) -> Vec<String> {
        let lp = s.loops.iter().find(|l| l.pos.line == line).expect("a loop on that line");
        lp.escaping.iter().map(|e| if e.accumulates { format!("{}+", e.name) } else { e.name.to_string() }).collect()
    }

    #[test]
    fn reads_before_the_item_writes_are_carried() {
        let s = summary(
            "def f(self, xs):\n    for x in xs:\n        page = get(x, self.offset, cursor)\n        cursor = page.next\n        self.offset += 1\n",
        );
        assert_eq!(carried(&s, 2), ["self.offset:Read", "cursor:Read", "cursor:Bind", "self.offset:Bind"]);
    }

    #[test]
    fn reads_after_the_item_writes_are_not_carried() {
        let s = summary(
            "def f(xs):\n    for x in xs:\n        value = get(x)\n        out.append(value)\n        out[x] = value\n",
        );
        assert!(carried(&s, 2).is_empty());
    }

    #[test]
    fn membership_tests_are_told_apart() {
        let s = summary("def f(xs):\n    for x in xs:\n        if x.key not in seen:\n            seen[x.key] = 1\n");
        assert_eq!(carried(&s, 2), ["seen:Membership", "seen:Mutate"]);
    }

    #[test]
    fn names_read_after_the_loop_escape_unless_bound_again() {
        let s = summary(
            "def f(xs, ys):\n    n = 0\n    for x in xs:\n        v = get(x)\n        w = get(x)\n        n += 1\n    for v in ys:\n        print(v)\n    w = 0\n    return n, w, x\n",
        );
        assert_eq!(escaping(&s, 3), ["x", "n+"]);
    }

    #[test]
    fn around_an_enclosing_loop_only_reads_of_that_value_escape() {
        let src = "def f(rows):\n    for row in rows:\n        print(v)\n        for x in row:\n            v = get(x)\n        for v in row:\n            print(v)\n";
        assert_eq!(escaping(&summary(src), 4), ["v"]);
        let fresh = "def f(rows):\n    for row in rows:\n        v = 0\n        print(v)\n        for x in row:\n            v = get(x)\n";
        assert!(escaping(&summary(fresh), 5).is_empty());
    }

    #[test]
    fn closures_outside_the_loop_see_its_names() {
        let s = summary("def f(xs):\n    show = lambda: print(v)\n    for x in xs:\n        v = get(x)\n    show()\n");
        assert_eq!(escaping(&s, 3), ["v"]);
        let own = summary(
            "def f(xs):\n    key = lambda v: v.id\n    for x in xs:\n        v = get(x)\n    def g(v):\n        return v\n",
        );
        assert!(escaping(&own, 3).is_empty());
    }

    #[test]
    fn comprehension_variables_are_their_own() {
        let s = summary("def f(xs):\n    for x in xs:\n        v = get(x)\n    return [v for v in xs]\n");
        assert!(escaping(&s, 2).is_empty());
    }
}
