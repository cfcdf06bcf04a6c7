//! Which validation runs to make: group testing over independent proposals.
//!
//! With several proposals, they are first validated together in one run; only when
//! that fails are they split in halves, and halves again, until each failing
//! proposal is found on its own. When most drafts pass, this needs one run instead
//! of one per proposal. Up to `jobs` runs go at once, each in its own worktree.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};

use serde::Serialize;

use super::{Check, ValidateError};

/// One validation run: which proposals it held and how it went.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    /// 1-based, in the order runs started.
    pub number: usize,
    /// Indexes of the proposals validated together.
    pub items: Vec<usize>,
    pub ok: bool,
    pub checks: Vec<Check>,
}

/// The runs made, and for each proposal the run that decided it.
#[derive(Debug, Clone, Default)]
pub struct Schedule {
    pub runs: Vec<RunRecord>,
    /// For each proposal: the index in `runs` of the passing run that holds it, or
    /// of the failing run that held it alone.
    pub decided_by: Vec<Option<usize>>,
}

impl Schedule {
    /// Whether proposal `item` passed: a passing run holds it.
    pub fn passed(&self, item: usize) -> bool {
        self.decided_by[item].is_some_and(|r| self.runs[r].ok)
    }
}

struct State {
    queue: VecDeque<Vec<usize>>,
    in_flight: usize,
    next_number: usize,
    runs: Vec<RunRecord>,
    error: Option<ValidateError>,
}

/// Validate `count` proposals with `run(number, items)`, `jobs` at a time.
pub fn validate_groups<F>(count: usize, jobs: usize, joint: bool, run: F) -> Result<Schedule, ValidateError>
where
    F: Fn(usize, &[usize]) -> Result<Vec<Check>, ValidateError> + Sync,
{
    let mut queue = VecDeque::new();
    if joint && count > 1 {
        queue.push_back((0..count).collect());
    } else {
        queue.extend((0..count).map(|i| vec![i]));
    }
    let state = Mutex::new(State { queue, in_flight: 0, next_number: 1, runs: Vec::new(), error: None });
    let wake = Condvar::new();
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1).min(count.max(1)) {
            scope.spawn(|| worker(&state, &wake, &run));
        }
    });
    let state = state.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(error) = state.error {
        return Err(error);
    }
    let mut runs = state.runs;
    runs.sort_by_key(|r| r.number);
    let mut decided_by = vec![None; count];
    for (i, decided) in decided_by.iter_mut().enumerate() {
        *decided = runs
            .iter()
            .position(|r| r.ok && r.items.contains(&i))
            .or_else(|| runs.iter().position(|r| !r.ok && r.items == [i]));
    }
    Ok(Schedule { runs, decided_by })
}

fn worker<F>(state: &Mutex<State>, wake: &Condvar, run: &F)
where
    F: Fn(usize, &[usize]) -> Result<Vec<Check>, ValidateError> + Sync,
{
    loop {
        let (group, number) = {
            let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if s.error.is_some() || (s.queue.is_empty() && s.in_flight == 0) {
                    return;
                }
                if let Some(group) = s.queue.pop_front() {
                    s.in_flight += 1;
                    s.next_number += 1;
                    break (group, s.next_number - 1);
                }
                s = wake.wait(s).unwrap_or_else(|e| e.into_inner());
            }
        };
        let result = run(number, &group);
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        s.in_flight -= 1;
        match result {
            Ok(checks) => {
                let ok = checks.iter().all(|c| c.ok);
                if !ok && group.len() > 1 {
                    let (left, right) = group.split_at(group.len() / 2);
                    s.queue.push_back(left.to_vec());
                    s.queue.push_back(right.to_vec());
                }
                s.runs.push(RunRecord { number, items: group, ok, checks });
            }
            Err(error) => {
                s.error.get_or_insert(error);
                s.queue.clear();
            }
        }
        wake.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(ok: bool) -> Vec<Check> {
        vec![Check::internal("make test", ok, 1.0, None)]
    }

    #[test]
    fn all_passing_needs_one_joint_run() {
        let s = validate_groups(8, 2, true, |_, _| Ok(check(true))).unwrap();
        assert_eq!(s.runs.len(), 1);
        assert!((0..8).all(|i| s.passed(i)));
    }

    #[test]
    fn one_failure_is_found_by_bisection() {
        let s = validate_groups(8, 3, true, |_, items| Ok(check(!items.contains(&5)))).unwrap();
        assert!((0..8).all(|i| s.passed(i) == (i != 5)));
        // 1 joint + 2 halves + 2 quarters + 2 eighths.
        assert_eq!(s.runs.len(), 7);
        let failing = &s.runs[s.decided_by[5].unwrap()];
        assert_eq!(failing.items, vec![5]);
    }

    #[test]
    fn without_joint_runs_each_alone() {
        let s = validate_groups(3, 1, false, |_, _| Ok(check(true))).unwrap();
        assert_eq!(s.runs.len(), 3);
    }

    #[test]
    fn an_error_stops_everything() {
        let err = validate_groups(4, 2, false, |_, _| Err(ValidateError::Cancelled)).unwrap_err();
        assert!(matches!(err, ValidateError::Cancelled));
    }
}
