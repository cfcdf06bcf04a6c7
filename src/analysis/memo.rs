//! Remembered resolutions, and the bookkeeping that makes remembering them safe.
//!
//! Resolution recurses with a depth limit and gives up on cycles (`a = b; b = a`,
//! a function whose result is being worked out already). A result worked out
//! without giving up anywhere beneath it is the same whoever asks first and from
//! how deep, so only those are remembered: the answers, and the analysis, do not
//! depend on which thread resolved what first.
//!
//! Call sites throughout a repository ask the same few questions (`self.session`
//! in every method of a class, a module's `requests` import in every function):
//! remembering them is most of what makes a warm run fast.

use std::cell::{Cell, RefCell};
use std::hash::Hash;
use std::sync::RwLock;

use rustc_hash::FxHashMap;

/// How deep resolution may recurse before giving up (import cycles, `a = b; b = a`).
pub(super) const MAX_DEPTH: u32 = 24;

thread_local! {
    /// How many times resolution on this thread gave up (too deep, or a result
    /// that was being worked out already).
    static GAVE_UP: Cell<u64> = const { Cell::new(0) };
}

/// Count one giving up on this thread.
pub(super) fn give_up() {
    GAVE_UP.with(|g| g.set(g.get() + 1));
}

/// Whether resolution has gone too deep, counting it as giving up.
pub(super) fn too_deep(depth: u32) -> bool {
    let deep = depth > MAX_DEPTH;
    if deep {
        give_up();
    }
    deep
}

/// Run `work`, telling whether it (or anything beneath it) gave up.
pub(super) fn watching<T>(work: impl FnOnce() -> T) -> (T, bool) {
    let before = GAVE_UP.with(Cell::get);
    let value = work();
    (value, GAVE_UP.with(Cell::get) != before)
}

/// Answers worked out in full, shared by the resolving threads.
pub(super) struct Memo<K, V> {
    known: RwLock<FxHashMap<K, V>>,
}

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Memo { known: RwLock::new(FxHashMap::default()) }
    }
}

impl<K: Hash + Eq, V: Clone> Memo<K, V> {
    /// The remembered answer for `key`, if any.
    pub(super) fn get(&self, key: &K) -> Option<V> {
        self.known.read().unwrap_or_else(|e| e.into_inner()).get(key).cloned()
    }

    /// Remember `value` for `key`.
    pub(super) fn insert(&self, key: K, value: V) {
        self.known.write().unwrap_or_else(|e| e.into_inner()).insert(key, value);
    }

    /// The answer for `key`: remembered, or worked out by `work` and remembered
    /// when nothing beneath it gave up.
    pub(super) fn get_or(&self, key: K, work: impl FnOnce() -> V) -> V {
        if let Some(known) = self.get(&key) {
            return known;
        }
        let (value, gave_up) = watching(work);
        if !gave_up {
            self.insert(key, value.clone());
        }
        value
    }

    /// Forget everything (the daemon's edits change what names mean), giving the
    /// memory back.
    pub(super) fn clear(&self) {
        *self.known.write().unwrap_or_else(|e| e.into_inner()) = FxHashMap::default();
    }
}

thread_local! {
    /// Keys being worked out on this thread, innermost last (see [`InProgress`]).
    static IN_PROGRESS: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// Marks a key as being worked out on this thread until dropped, so a question
/// that leads back to itself gives up instead of recursing to the depth limit.
pub(super) struct InProgress(());

impl InProgress {
    /// Enter `key` (a hash of the question), or `None` (counted as giving up)
    /// when it is being worked out already or `max` questions are nested.
    pub(super) fn enter(key: u64, max: usize) -> Option<InProgress> {
        let busy = IN_PROGRESS.with(|p| {
            let p = p.borrow();
            p.contains(&key) || p.len() >= max
        });
        if busy {
            give_up();
            return None;
        }
        IN_PROGRESS.with(|p| p.borrow_mut().push(key));
        Some(InProgress(()))
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        IN_PROGRESS.with(|p| p.borrow_mut().pop());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_only_answers_that_did_not_give_up() {
        let memo: Memo<u32, u32> = Memo::default();
        assert_eq!(memo.get_or(1, || 10), 10);
        assert_eq!(memo.get_or(1, || 11), 10, "remembered");
        assert_eq!(
            memo.get_or(2, || {
                assert!(too_deep(MAX_DEPTH + 1));
                20
            }),
            20
        );
        assert_eq!(memo.get(&2), None, "gave up beneath: not remembered");
        memo.clear();
        assert_eq!(memo.get(&1), None);
    }

    #[test]
    fn a_question_leading_back_to_itself_gives_up() {
        let outer = InProgress::enter(7, 4).expect("first entry");
        let (inner, gave_up) = watching(|| InProgress::enter(7, 4).is_none());
        assert!(inner && gave_up);
        drop(outer);
        assert!(InProgress::enter(7, 4).is_some(), "left when dropped");
    }
}
