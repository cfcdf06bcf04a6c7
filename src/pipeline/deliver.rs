//! The delivery stage: each validated candidate committed on its branch, with a
//! message that says what changed and what validated it and a pull-request
//! description beside the logs; failures recorded on their plans; then pushes.
//! Commits go to the object database only; no checkout, index or HEAD moves.

use std::path::Path;

use super::Context;
use super::group::Candidate;
use super::validation::Validation;
use crate::event::Event;
use crate::git::{self, branch, commit, push};
use crate::plan::{Plan, PlanStatus};
use crate::propose::{DeliveryStatus, ProposeError, PullRequest, PushResult, message};
use crate::validate::HookMode;
use crate::validate::schedule::RunRecord;

/// Record how validation went for each candidate, committing the ones that passed
/// (unless the daemon says the code changed meanwhile: then they are redone later).
pub fn commit_all(
    cx: &Context<'_, '_>,
    candidates: &mut [Candidate],
    validation: &Validation,
    plans: &mut [Plan],
) -> Result<(), ProposeError> {
    let signature = {
        let (name, email) = cx.setup.settings.git.author();
        git::signature(&cx.prepared.repo.git, name, email)
    };
    let schedule = &validation.schedule;
    for (k, &i) in validation.pending.iter().enumerate() {
        let candidate = &mut candidates[i];
        if schedule.passed(k) && cx.options.still_current.as_ref().is_some_and(|current| !current()) {
            candidate.delivered.status = DeliveryStatus::Skipped;
            candidate
                .delivered
                .reasons
                .push("the code changed while this was validated; not committed, it will be redone".into());
            continue;
        }
        let Some(r) = schedule.decided_by[k] else {
            candidate.delivered.reasons.push("not validated".to_string());
            continue;
        };
        let run = &schedule.runs[r];
        candidate.delivered.run = Some(run.number);
        candidate.delivered.validated_with = run.items.len();
        candidate.delivered.validation = run.checks.clone();
        if run.ok {
            commit_one(cx, candidate, run, plans, &signature, &validation.log_dir)?;
        } else {
            record_failure(candidate, run, plans);
        }
    }
    Ok(())
}

/// A candidate whose run failed: the failing check, on it and on its plans.
fn record_failure(candidate: &mut Candidate, run: &RunRecord, plans: &mut [Plan]) {
    candidate.delivered.status = DeliveryStatus::Failed;
    let reason = match run.checks.iter().find(|c| !c.ok) {
        Some(c) => format!(
            "`{}` {}{}",
            c.name,
            c.detail.as_deref().and_then(|d| d.lines().next()).unwrap_or("failed"),
            c.log.as_ref().map(|l| format!(" (log: {})", l.display())).unwrap_or_default()
        ),
        None => "validation failed".to_string(),
    };
    candidate.delivered.reasons.push(reason.clone());
    for &i in &candidate.plans {
        plans[i].status = PlanStatus::Failed;
        plans[i].reasons.push(reason.clone());
    }
}

/// Commit a validated candidate on its branch and write its pull-request description.
fn commit_one(
    cx: &Context<'_, '_>,
    candidate: &mut Candidate,
    run: &RunRecord,
    plans: &[Plan],
    signature: &git2::Signature<'_>,
    log_dir: &Path,
) -> Result<(), ProposeError> {
    let (repo, base) = (&cx.prepared.repo.git, &cx.prepared.base);
    let refs: Vec<&Plan> = candidate.plans.iter().map(|&i| &plans[i]).collect();
    let facts = message::Facts {
        plans: &refs,
        checks: &candidate.delivered.validation,
        base,
        drafter: &candidate.delivered.drafter,
        validated_with: run.items.len(),
        hooks_skipped: cx.setup.settings.validate.hooks == HookMode::Off,
        llm_usage: candidate.delivered.llm_usage,
    };
    let text = message::commit_message(&facts);
    let oid = commit::commit(repo, base.oid, candidate.tree, &text, signature)?;
    branch::update(repo, &candidate.branch, oid, candidate.expected, "refactor-async: validated proposal")?;
    let stat = &candidate.delivered.stat;
    let stat = format!(
        "{} file{} changed, +{} −{}",
        stat.files,
        if stat.files == 1 { "" } else { "s" },
        stat.insertions,
        stat.deletions
    );
    let (title, body) = message::pull_request(&facts, &candidate.branch, &stat);
    let pr_path = log_dir.join(format!("{}.pr.md", candidate.branch.replace('/', "-")));
    let written =
        std::fs::create_dir_all(log_dir).and_then(|_| std::fs::write(&pr_path, format!("# {title}\n\n{body}")));
    if let Err(e) = written {
        candidate.delivered.reasons.push(format!("could not write the pull-request description: {e}"));
    }
    candidate.delivered.pull_request = Some(PullRequest { title, body, path: pr_path });
    candidate.delivered.status = DeliveryStatus::Committed;
    candidate.delivered.commit = Some(oid.to_string());
    Ok(())
}

/// With `--push`: push every branch that holds its proposal, recording how it went.
pub fn push_all(cx: &Context<'_, '_>, candidates: &mut [Candidate]) {
    let Some(remote) = &cx.options.push else { return };
    for candidate in candidates {
        if !matches!(candidate.delivered.status, DeliveryStatus::Committed | DeliveryStatus::UpToDate) {
            continue;
        }
        cx.events.emit(Event::Pushing { branch: candidate.branch.clone(), remote: remote.clone() });
        let result = push::push(&cx.prepared.repo.git, remote, &candidate.branch);
        candidate.delivered.push =
            Some(PushResult { remote: remote.clone(), ok: result.is_ok(), error: result.err().map(|e| e.to_string()) });
    }
}
