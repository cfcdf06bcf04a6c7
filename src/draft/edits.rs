//! Byte-range edits to one source file.
//!
//! Rewrites compose: a statement is first edited in place (an `await` here, a
//! renamed call there), and a later, larger rewrite (wrapping the statement in
//! `async with`, turning a loop into a gather) takes the edited text of its region
//! and replaces the region as a whole. Edits either nest or do not touch; any other
//! overlap is a bug in a rewrite, reported instead of producing broken code.

use std::fmt;

/// One replacement of `start..end` by `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Edit {
    start: usize,
    end: usize,
    text: String,
    /// Insertion order, so several insertions at one byte keep the order they were made in.
    seq: usize,
}

/// Two edits that overlap without one containing the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    pub first: (usize, usize),
    pub second: (usize, usize),
}

impl fmt::Display for Overlap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "two rewrites overlap (bytes {}..{} and {}..{})",
            self.first.0, self.first.1, self.second.0, self.second.1
        )
    }
}

/// The edits made to one file so far.
#[derive(Debug, Default, Clone)]
pub struct Edits {
    items: Vec<Edit>,
    seq: usize,
}

impl Edits {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Replace `start..end` by `text`.
    pub fn replace(&mut self, start: usize, end: usize, text: impl Into<String>) {
        self.seq += 1;
        self.items.push(Edit { start, end, text: text.into(), seq: self.seq });
    }

    /// Replace `start..end` unless an edit of exactly that range was already made.
    pub fn replace_once(&mut self, start: usize, end: usize, text: impl Into<String>) {
        if !self.items.iter().any(|e| e.start == start && e.end == end && start != end) {
            self.replace(start, end, text);
        }
    }

    /// Insert `text` at `at`.
    pub fn insert(&mut self, at: usize, text: impl Into<String>) {
        self.replace(at, at, text);
    }

    /// Whether an edit already starts at `at` or covers it.
    pub fn touches(&self, start: usize, end: usize) -> bool {
        self.items.iter().any(|e| e.start < end && start < e.end || (e.start == e.end && e.start == start))
    }

    fn inside(e: &Edit, start: usize, end: usize) -> bool {
        // An insertion at the region's end belongs after it, unless the region is empty.
        if e.start == e.end && e.start == end && start != end {
            return false;
        }
        start <= e.start && e.end <= end
    }

    /// `src[start..end]` with the edits inside it applied.
    pub fn render(&self, src: &str, start: usize, end: usize) -> Result<String, Overlap> {
        let mut inner: Vec<&Edit> = self.items.iter().filter(|e| Self::inside(e, start, end)).collect();
        inner.sort_by_key(|e| (e.start, e.end > e.start, e.seq));
        apply_sorted(src, start, end, &inner)
    }

    /// Replace the region `start..end`, given its current (edited) text, by what `f` makes of it.
    pub fn rewrite_region(
        &mut self,
        src: &str,
        start: usize,
        end: usize,
        f: impl FnOnce(String) -> String,
    ) -> Result<(), Overlap> {
        let current = self.render(src, start, end)?;
        self.items.retain(|e| !Self::inside(e, start, end));
        self.replace(start, end, f(current));
        Ok(())
    }

    /// The whole file with every edit applied.
    pub fn apply(&self, src: &str) -> Result<String, Overlap> {
        self.render(src, 0, src.len())
    }
}

fn apply_sorted(src: &str, start: usize, end: usize, edits: &[&Edit]) -> Result<String, Overlap> {
    let mut out = String::with_capacity(end - start + 64);
    let mut at = start;
    let mut last: Option<&Edit> = None;
    for e in edits {
        if e.start < at {
            let prev = last.expect("an edit before `at` was applied");
            return Err(Overlap { first: (prev.start, prev.end), second: (e.start, e.end) });
        }
        out.push_str(&src[at..e.start]);
        out.push_str(&e.text);
        at = e.end;
        last = Some(e);
    }
    out.push_str(&src[at..end]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_edits_compose() {
        let src = "x = fetch(a)\n";
        let mut edits = Edits::new();
        edits.insert(4, "await ");
        edits.replace(4, 9, "fetch_async");
        edits.rewrite_region(src, 0, 12, |text| format!("async with c:\n    {text}")).unwrap();
        assert_eq!(edits.apply(src).unwrap(), "async with c:\n    x = await fetch_async(a)\n");
    }

    #[test]
    fn insertions_keep_their_order_and_the_region_end_is_outside() {
        let src = "def f():\n    pass\n";
        let mut edits = Edits::new();
        edits.insert(0, "async ");
        edits.insert(17, "\n\ndef g(): ...");
        edits.rewrite_region(src, 0, 17, |text| text.to_uppercase()).unwrap();
        assert_eq!(edits.apply(src).unwrap(), "ASYNC DEF F():\n    PASS\n\ndef g(): ...\n");
    }

    #[test]
    fn crossing_edits_are_refused() {
        let src = "abcdef";
        let mut edits = Edits::new();
        edits.replace(0, 3, "x");
        edits.replace(2, 5, "y");
        assert!(edits.apply(src).is_err());
    }
}
