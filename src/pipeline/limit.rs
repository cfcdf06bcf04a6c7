//! The limiting stages: candidates set aside before validation, because the
//! daemon's limit on new branches is reached, or because the remote copy of
//! their branch carries someone else's commits (that branch is theirs too).

use super::Context;
use super::group::Candidate;
use crate::git::branch::{self, BranchState};
use crate::git::push;
use crate::propose::{DeliveryStatus, ProposeError};

/// Skip new branches beyond `limit`; branches that exist are still updated.
pub fn new_branches(candidates: &mut [Candidate], limit: Option<usize>) {
    let Some(limit) = limit else { return };
    let mut new = 0;
    for candidate in candidates.iter_mut().filter(|c| c.pending && c.expected.is_none()) {
        new += 1;
        if new > limit {
            candidate.pending = false;
            candidate.delivered.status = DeliveryStatus::Skipped;
            candidate
                .delivered
                .reasons
                .push(format!("not proposed now: the limit of {limit} new branch(es) is reached"));
        }
    }
}

/// With `--push`: skip a candidate whose remote branch has commits the tool did not make.
pub fn owned_remotely(cx: &Context<'_, '_>, candidates: &mut [Candidate]) -> Result<(), ProposeError> {
    let Some(remote) = &cx.options.push else { return Ok(()) };
    let git = &cx.prepared.repo.git;
    let ms = (cx.setup.settings.git.network_timeout_s * 1000.0).clamp(1.0, i32::MAX as f64) as i32;
    push::set_network_timeouts(ms, ms);
    for candidate in candidates.iter_mut().filter(|c| c.pending || c.delivered.status == DeliveryStatus::UpToDate) {
        let Some(tip) = push::remote_tip(git, remote, &candidate.branch)? else { continue };
        let local = git.refname_to_id(&format!("refs/heads/{}", candidate.branch)).ok();
        if Some(tip) != local && !matches!(branch::classify(git, tip), BranchState::Ours { .. }) {
            candidate.pending = false;
            candidate.delivered.status = DeliveryStatus::Skipped;
            candidate.delivered.reasons.push(format!(
                "{remote}/{} has commits someone else pushed on top of refactor-async's; it is no longer rewritten",
                candidate.branch
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::propose::Delivered;

    fn candidate(name: &str, expected: Option<git2::Oid>) -> Candidate {
        Candidate {
            plans: vec![0],
            branch: name.to_string(),
            changes: Vec::new(),
            tree: git2::Oid::zero(),
            expected,
            pending: true,
            delivered: Delivered::unvalidated(name, String::new(), Vec::new(), String::new()),
        }
    }

    #[test]
    fn only_new_branches_count_against_the_limit() {
        let mut candidates = vec![candidate("a", None), candidate("b", Some(git2::Oid::zero())), candidate("c", None)];
        new_branches(&mut candidates, Some(1));
        let pending: Vec<bool> = candidates.iter().map(|c| c.pending).collect();
        assert_eq!(pending, [true, true, false]);
        assert_eq!(candidates[2].delivered.status, DeliveryStatus::Skipped);
        assert!(candidates[2].delivered.reasons[0].contains("limit of 1 new branch(es)"));
    }
}
