//! `propose` without `--dry-run`: from a base commit to validated commits on branches.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use git2::Oid;
use serde::Serialize;

use super::{BaseInfo, DiffStat, Proposal, ProposeError, message};
use crate::analysis::{self, catalog::Catalog};
use crate::config::Config;
use crate::draft::diff::{self, FileChange};
use crate::draft::{self};
use crate::event::{Event, Sink};
use crate::git::branch::{self, BranchState};
use crate::git::worktree::{self, Worktree};
use crate::git::{self, GitError, Repo, commit, push};
use crate::llm::client::CallUsage;
use crate::llm::drafter::{self as llm_drafter, Accepted, Failure, Outcome, Prompts};
use crate::llm::run::LlmRun;
use crate::llm::settings::LlmSettings;
use crate::plan::{Plan, PlanStatus, Settings};
use crate::validate::schedule::{self, Schedule};
use crate::validate::settings::GitSettings;
use crate::validate::verify;
use crate::validate::{self, Check, HookMode, ValidateSettings, hooks};

/// Asked before each commit: is the base still what the user has? (The daemon's
/// way of never committing a draft of code that changed while it was validated.)
pub type StillCurrent = std::sync::Arc<dyn Fn() -> bool + Send + Sync>;

/// What `propose` was asked to do.
#[derive(Clone, Default)]
pub struct Options {
    /// The commit to start from (default HEAD).
    pub base: Option<String>,
    /// One branch with every plan, instead of a branch per plan.
    pub branch: Option<String>,
    /// Validation runs at once.
    pub jobs: usize,
    pub push: Option<String>,
    pub no_cache: bool,
    pub drafter: Drafter,
    /// `--llm-*` flags, over `[llm]`.
    pub llm: LlmOverrides,
    /// At most this many new branches (the daemon's limits); existing ones are still updated.
    pub max_new_branches: Option<usize>,
    pub still_current: Option<StillCurrent>,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("base", &self.base)
            .field("branch", &self.branch)
            .field("jobs", &self.jobs)
            .field("push", &self.push)
            .field("drafter", &self.drafter)
            .field("max_new_branches", &self.max_new_branches)
            .finish_non_exhaustive()
    }
}

/// Which drafter writes the code (`--drafter`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Drafter {
    /// Rules first; the LLM for plans that need it and to repair failed drafts, when configured.
    #[default]
    Auto,
    /// Never call an LLM.
    Rules,
    /// Every plan through the LLM.
    Llm,
}

/// Flags that override `[llm]`.
#[derive(Debug, Clone, Default)]
pub struct LlmOverrides {
    pub base_url: Option<String>,
    pub model: Option<String>,
    pub max_concurrency: Option<usize>,
    pub timeout_s: Option<f64>,
}

impl LlmOverrides {
    fn apply(&self, s: &mut LlmSettings) {
        if let Some(v) = &self.base_url {
            s.base_url = v.clone();
        }
        if let Some(v) = &self.model {
            s.model = v.clone();
        }
        if let Some(v) = self.max_concurrency {
            s.max_concurrency = v;
        }
        if let Some(v) = self.timeout_s {
            s.timeout_s = v;
        }
    }
}

/// What the LLM did in a run, for `--format json`.
#[derive(Debug, Clone, Serialize)]
pub struct LlmReport {
    pub model: String,
    pub base_url: String,
    /// Every call of every plan, together.
    pub usage: CallUsage,
    /// The most requests in flight at once.
    pub peak_in_flight: usize,
    /// Per plan (drafts and repairs): attempts, calls, tokens, retries, time, and why it gave up.
    pub plans: Vec<Outcome>,
}

/// What happened to a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryStatus {
    /// Validated and committed on its branch.
    Committed,
    /// Its branch already holds this very change on this base: nothing to do.
    UpToDate,
    /// A check failed; nothing was committed.
    Failed,
    /// Left alone: its branch belongs to someone else.
    Skipped,
}

/// A proposal: one branch, one commit.
#[derive(Debug, Clone, Serialize)]
pub struct Delivered {
    pub branch: String,
    pub status: DeliveryStatus,
    pub title: String,
    /// The ids of the plans it carries out.
    pub plans: Vec<String>,
    pub commit: Option<String>,
    /// Why it failed or was skipped; what happened to its branch.
    pub reasons: Vec<String>,
    pub diff: String,
    pub stat: DiffStat,
    /// The checks of the run that decided it.
    pub validation: Vec<Check>,
    /// How many proposals that run validated together (1: alone).
    pub validated_with: usize,
    /// The number of that run.
    pub run: Option<usize>,
    pub pull_request: Option<PullRequest>,
    pub push: Option<PushResult>,
    /// `rules`, `llm:<model>`, or `rules+llm:<model>` when both drafted parts of it.
    pub drafter: String,
    /// The LLM calls that drafted it, together (absent for the rules drafter).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm_usage: Option<CallUsage>,
}

/// A pull-request description, also written to `path`.
#[derive(Debug, Clone, Serialize)]
pub struct PullRequest {
    pub title: String,
    pub body: String,
    pub path: PathBuf,
}

/// How a push went.
#[derive(Debug, Clone, Serialize)]
pub struct PushResult {
    pub remote: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A proposal before validation.
struct Item {
    plans: Vec<usize>,
    branch: String,
    changes: Vec<FileChange>,
    tree: Oid,
    /// The branch tip it may replace (the tool's own commit), if any.
    expected: Option<Oid>,
    /// Still to be validated (not up to date, not someone else's branch).
    pending: bool,
    delivered: Delivered,
}

/// Analyse and draft at the base commit, validate, commit what passes on branches.
pub fn run(path: &Path, options: &Options, events: &dyn Sink) -> Result<Proposal, ProposeError> {
    let repo = Repo::open(path).map_err(|e| match e {
        GitError::NotGit(p) => ProposeError::NotGit(p),
        e => ProposeError::Git(e),
    })?;
    let base = repo.base(options.base.as_deref())?;
    if let Some(name) = &options.branch
        && !branch::valid_name(name)
    {
        return Err(ProposeError::BranchName(name.clone()));
    }
    if let Some(remote) = &options.push
        && repo.git.find_remote(remote).is_err()
    {
        return Err(ProposeError::NoRemote(remote.clone()));
    }
    let common = repo.git.commondir().to_path_buf();
    let mut notes = repo.situation(&base);
    let stale = worktree::clean_stale(&common);
    if !stale.is_empty() {
        notes.push(format!("removed {} worktree(s) left behind by an earlier run that was stopped", stale.len()));
    }
    events.emit(Event::Proposing { base: base.short(), summary: base.summary.clone() });

    // Everything is read from the base commit, checked out beside the user's tree.
    let source = Worktree::create(&common, base.oid)?;
    let mut config = Config::load(&source.path)?;
    if options.no_cache {
        config.analysis.cache = false;
    }
    let catalog = Catalog::load(&config, &source.path).map_err(ProposeError::Catalog)?;
    let settings = Settings::from_config(&config)?;
    let checks = ValidateSettings::from_config(&config)?;
    let git_settings = GitSettings::from_config(&config)?;
    let scan = source.path.join(relative_to_workdir(&repo, path));
    if !scan.exists() {
        return Err(ProposeError::NotInBase { path: path.to_path_buf(), base: base.short() });
    }
    let model = super::analyse(&scan, &config, &catalog, events)?;
    if crate::cancel::requested() {
        return Err(ProposeError::Cancelled);
    }
    let super::Drafted { mut plans, draft: _, checks: internal, notes: drafting_notes } =
        super::plan_and_draft(&model, &config, &catalog, &settings);
    notes.extend(drafting_notes);

    // The LLM: for plans the rules cannot do (auto), or for every plan (llm).
    let mut llm_settings = LlmSettings::from_config(&config)?;
    options.llm.apply(&mut llm_settings);
    llm_settings.check().map_err(ProposeError::LlmSettings)?;
    let llm_run = match options.drafter {
        Drafter::Rules => None,
        _ if llm_settings.configured() => Some(LlmRun::new(&llm_settings).map_err(ProposeError::LlmClient)?),
        Drafter::Llm => return Err(ProposeError::NoLlm),
        Drafter::Auto => None,
    };
    let prompts = Prompts::load(&source.path, &llm_settings.prompts).map_err(ProposeError::Prompts)?;
    let llm_label = format!("llm:{}", llm_settings.model);
    let mut accepted: BTreeMap<usize, Accepted> = BTreeMap::new();
    let mut outcomes: Vec<Outcome> = Vec::new();
    let llm_ctx = llm_drafter::Context {
        model: &model,
        config: &config,
        catalog: &catalog,
        settings: &settings,
        llm: &llm_settings,
        prompts: &prompts,
    };
    match &llm_run {
        Some(run) => {
            let selected: Vec<usize> = (0..plans.len())
                .filter(|&i| match options.drafter {
                    Drafter::Llm => {
                        matches!(plans[i].status, PlanStatus::Converted | PlanStatus::NeedsLlm | PlanStatus::Failed)
                    }
                    _ => plans[i].status == PlanStatus::NeedsLlm,
                })
                .collect();
            if !selected.is_empty() {
                events.emit(Event::DraftingWithLlm { plans: selected.len(), llm: llm_label.clone() });
                let refs: Vec<&Plan> = selected.iter().map(|&i| &plans[i]).collect();
                let drafted = run.draft_all(&llm_ctx, &refs).map_err(|_| ProposeError::Cancelled)?;
                for (&i, outcome) in selected.iter().zip(drafted) {
                    match &outcome.accepted {
                        Some(a) => {
                            accepted.insert(i, a.clone());
                            plans[i].status = PlanStatus::Converted;
                            plans[i].reasons.clear();
                        }
                        None => {
                            plans[i].status = PlanStatus::Failed;
                            plans[i].reasons.extend(outcome.reasons.iter().map(|r| format!("{llm_label}: {r}")));
                        }
                    }
                    outcomes.push(outcome);
                }
            }
        }
        None if !plans.is_empty() => {
            let waiting = plans.iter().filter(|p| p.status == PlanStatus::NeedsLlm).count();
            let left = if waiting > 0 {
                format!("; {waiting} plan(s) that need an LLM were left as they are")
            } else {
                String::new()
            };
            notes.push(match options.drafter {
                Drafter::Rules => format!("--drafter rules: the rules drafter worked alone{left}"),
                _ => format!(
                    "no LLM is configured ([llm] base_url and model): the rules drafter worked alone, and failed validations are not repaired{left}"
                ),
            });
        }
        None => {}
    }
    if crate::cancel::requested() {
        return Err(ProposeError::Cancelled);
    }
    // One proposal per independent plan, or one with all of them on --branch.
    let converted: Vec<usize> = (0..plans.len()).filter(|&i| plans[i].status == PlanStatus::Converted).collect();
    let whole = group_changes(&model, &settings, &plans, &accepted, &converted).unwrap_or_default();
    let groups: Vec<Vec<usize>> = match &options.branch {
        Some(_) if !converted.is_empty() => vec![converted.clone()],
        Some(_) => Vec::new(),
        None => converted.iter().map(|&i| vec![i]).collect(),
    };
    let mut items = Vec::new();
    for group in groups {
        let changes = match group_changes(&model, &settings, &plans, &accepted, &group) {
            Ok(changes) => changes,
            Err(reasons) => {
                for &i in &group {
                    plans[i].status = PlanStatus::Failed;
                    plans[i].reasons = reasons.clone();
                }
                continue;
            }
        };
        let refs: Vec<&Plan> = group.iter().map(|&i| &plans[i]).collect();
        let name = match &options.branch {
            Some(name) => name.clone(),
            None => unique_branch(&items, &format!("{}{}", git_settings.branch_prefix, refs[0].id)),
        };
        let mut item = prepare(&repo, &base, &refs, group.clone(), name, changes)?;
        item.delivered.drafter = drafter_of(&accepted, &group, &llm_label);
        item.delivered.llm_usage = usage_of(&outcomes, &refs);
        items.push(item);
    }

    if let Some(limit) = options.max_new_branches {
        let mut new = 0;
        for item in items.iter_mut().filter(|i| i.pending && i.expected.is_none()) {
            new += 1;
            if new > limit {
                item.pending = false;
                item.delivered.status = DeliveryStatus::Skipped;
                item.delivered
                    .reasons
                    .push(format!("not proposed now: the limit of {limit} new branch(es) is reached"));
            }
        }
    }

    // Only now is it known that checks will run: a missing program or target is named before any does.
    if items.iter().any(|i| i.pending) {
        validate::preflight(&checks, &source.path).map_err(ProposeError::Checks)?;
    }
    if crate::cancel::requested() {
        return Err(ProposeError::Cancelled);
    }

    // A remote copy with someone's commits on it is theirs too: leave the branch alone.
    if let Some(remote) = &options.push {
        let ms = (git_settings.network_timeout_s * 1000.0).clamp(1.0, i32::MAX as f64) as i32;
        push::set_network_timeouts(ms, ms);
        for item in items.iter_mut().filter(|i| i.pending || i.delivered.status == DeliveryStatus::UpToDate) {
            let Some(tip) = push::remote_tip(&repo.git, remote, &item.branch)? else { continue };
            let local = repo.git.refname_to_id(&format!("refs/heads/{}", item.branch)).ok();
            if Some(tip) != local && !matches!(branch::classify(&repo.git, tip), BranchState::Ours { .. }) {
                item.pending = false;
                item.delivered.status = DeliveryStatus::Skipped;
                item.delivered.reasons.push(format!(
                    "{remote}/{} has commits someone else pushed on top of refactor-async's; it is no longer rewritten",
                    item.branch
                ));
            }
        }
    }

    // Validate what is not already on its branch: together first, bisecting on failure.
    let pending: Vec<usize> = (0..items.len()).filter(|&i| items[i].pending).collect();
    let run_id = run_id();
    let log_dir = common.join("refactor-async").join("logs").join(&run_id);
    prune_logs(&log_dir, checks.keep_logs);
    let hooks_dir = hooks::hooks_dir(&repo);
    if !pending.is_empty() {
        events.emit(Event::Validating { proposals: pending.len(), commands: checks.commands.clone() });
    }
    // One validation run: a fresh worktree at the base, the draft written in, the checks.
    let validate_run =
        |number: usize, label: String, changes: &[FileChange]| -> Result<Vec<Check>, validate::ValidateError> {
            let worktree = Worktree::create(&common, base.oid)?;
            validate::Run {
                hooks_dir: &hooks_dir,
                worktree: &worktree,
                settings: &checks,
                log_dir: log_dir.join(format!("run-{number:02}")),
                label,
                events,
            }
            .validate(changes)
        };
    let mut schedule = {
        let items = &items;
        let plans = &plans;
        let model = &model;
        let settings = &settings;
        let (config, catalog, internal, accepted) = (&config, &catalog, &internal, &accepted);
        let validate_one = |number: usize, members: &[usize]| -> Result<Vec<Check>, validate::ValidateError> {
            let group: Vec<usize> = members.iter().flat_map(|&m| items[pending[m]].plans.iter().copied()).collect();
            let changes = if members.len() == 1 {
                items[pending[members[0]]].changes.clone()
            } else {
                match group_changes(model, settings, plans, accepted, &group) {
                    Ok(changes) => changes,
                    Err(reasons) => {
                        return Ok(vec![Check::internal("draft together", false, 0.0, Some(reasons.join("; ")))]);
                    }
                }
            };
            // Re-parse and re-analysis of exactly this draft (already done when it is the whole rules draft).
            let mut results = if group.len() == converted.len() && accepted.is_empty() {
                internal.clone()
            } else {
                let owned: Vec<Plan> = group.iter().map(|&i| plans[i].clone()).collect();
                let draft = draft::Draft { changes: changes.clone(), notes: Vec::new() };
                verify::verify(model, &draft, &owned, config, catalog)
            };
            if results.iter().any(|c| !c.ok) {
                return Ok(results);
            }
            let label = if members.len() == 1 {
                format!("[run {number}: {}] ", items[pending[members[0]]].branch)
            } else {
                format!("[run {number}: {} proposals together] ", members.len())
            };
            results.extend(validate_run(number, label, &changes)?);
            Ok(results)
        };
        schedule::validate_groups(pending.len(), options.jobs.max(1), checks.joint, validate_one)?
    };

    // Repair: a proposal that failed validation goes back to the LLM with the failing
    // check's output, and the new draft is validated again, a bounded number of times.
    if let Some(run) = &llm_run {
        for (k, &i) in pending.iter().enumerate() {
            if schedule.passed(k) || items[i].plans.len() != 1 {
                continue;
            }
            let Some(r) = schedule.decided_by[k] else { continue };
            let plan_index = items[i].plans[0];
            let mut failing = schedule.runs[r].checks.iter().find(|c| !c.ok).cloned();
            let helper = format!("{}.py", settings.helper_module);
            let without_helper = |changes: &[FileChange]| -> String {
                let shown: Vec<FileChange> = changes.iter().filter(|c| !c.path.ends_with(&helper)).cloned().collect();
                diff::unified_diff(&shown)
            };
            let mut previous = without_helper(&items[i].changes);
            let mut last_detail: Option<String> = None;
            for _ in 0..llm_settings.repair_attempts {
                let Some(check) = failing.take() else { break };
                let detail = check.detail.clone().unwrap_or_default();
                if last_detail.as_deref() == Some(detail.as_str()) {
                    items[i]
                        .delivered
                        .reasons
                        .push(format!("repair stopped: `{}` failed the same way twice in a row", check.name));
                    break;
                }
                last_detail = Some(detail.clone());
                events.emit(Event::Repairing {
                    branch: items[i].branch.clone(),
                    llm: llm_label.clone(),
                    check: check.name.clone(),
                });
                let failure = Failure {
                    stage: format!("`{}` failed during validation", check.name),
                    error: detail,
                    diff: previous.clone(),
                };
                let outcome =
                    run.repair(&llm_ctx, &plans[plan_index], &failure).map_err(|_| ProposeError::Cancelled)?;
                let answer = outcome.accepted.clone();
                if answer.is_none() {
                    items[i]
                        .delivered
                        .reasons
                        .extend(outcome.reasons.iter().map(|r| format!("repair by {llm_label}: {r}")));
                }
                outcomes.push(outcome);
                let Some(answer) = answer else { break };
                let changes = match llm_drafter::compose(&model, &settings, Vec::new(), &[&answer]) {
                    Ok(changes) => changes,
                    Err(e) => {
                        items[i].delivered.reasons.push(format!("repair by {llm_label}: {e}"));
                        break;
                    }
                };
                let number = schedule.runs.iter().map(|r| r.number).max().unwrap_or(0) + 1;
                let results =
                    validate_run(number, format!("[run {number}: {} as repaired] ", items[i].branch), &changes)?;
                let ok = results.iter().all(|c| c.ok);
                failing = results.iter().find(|c| !c.ok).cloned();
                schedule.runs.push(schedule::RunRecord { number, items: vec![k], ok, checks: results });
                schedule.decided_by[k] = Some(schedule.runs.len() - 1);
                previous = without_helper(&changes);
                if ok {
                    accepted.insert(plan_index, answer);
                    let refs = [&plans[plan_index]];
                    let item = &mut items[i];
                    item.tree = commit::tree_with(&repo.git, base.oid, &changes)?;
                    item.delivered.diff = diff::unified_diff(&changes);
                    let (files, insertions, deletions) = diff::stat(&item.delivered.diff);
                    item.delivered.stat = DiffStat { files, insertions, deletions };
                    item.delivered.drafter = llm_label.clone();
                    item.delivered.llm_usage = usage_of(&outcomes, &refs);
                    item.delivered.reasons.push(format!("repaired by {llm_label} after validation failed"));
                    item.changes = changes;
                    break;
                }
            }
        }
    }
    drop(source);

    let signature = {
        let (name, email) = git_settings.author();
        git::signature(&repo.git, name, email)
    };
    // The whole draft's own checks, then every command of every run.
    let mut validation = internal.clone();
    for run in &schedule.runs {
        validation.extend(run.checks.iter().filter(|c| c.log.is_some()).cloned());
    }
    for (k, &i) in pending.iter().enumerate() {
        let item = &mut items[i];
        if schedule.passed(k) && options.still_current.as_ref().is_some_and(|current| !current()) {
            item.delivered.status = DeliveryStatus::Skipped;
            item.delivered
                .reasons
                .push("the code changed while this was validated; not committed, it will be redone".into());
            continue;
        }
        finish(item, k, &schedule, &mut plans, &repo, &base, &checks, &signature, &log_dir)?;
    }
    for item in &mut items {
        if let Some(remote) = &options.push
            && matches!(item.delivered.status, DeliveryStatus::Committed | DeliveryStatus::UpToDate)
        {
            events.emit(Event::Pushing { branch: item.branch.clone(), remote: remote.clone() });
            let result = push::push(&repo.git, remote, &item.branch);
            item.delivered.push = Some(PushResult {
                remote: remote.clone(),
                ok: result.is_ok(),
                error: result.err().map(|e| e.to_string()),
            });
        }
    }

    let whole = group_changes(&model, &settings, &plans, &accepted, &converted).unwrap_or(whole);
    let delivered: Vec<Delivered> = items.into_iter().map(|i| i.delivered).collect();
    let llm = llm_run.as_ref().map(|run| {
        let mut usage = CallUsage::default();
        for o in &outcomes {
            usage.add(&o.usage);
        }
        LlmReport {
            model: llm_settings.model.clone(),
            base_url: llm_settings.base_url.clone(),
            usage,
            peak_in_flight: run.client.policy.peak_in_flight(),
            plans: outcomes.clone(),
        }
    });
    let first = delivered.iter().find(|d| matches!(d.status, DeliveryStatus::Committed | DeliveryStatus::UpToDate));
    let diff_text = diff::unified_diff(&whole);
    let (files, insertions, deletions) = diff::stat(&diff_text);
    Ok(Proposal {
        version: 1,
        root: repo.workdir.clone(),
        dry_run: false,
        drafter: drafter_of(&accepted, &converted, &llm_label),
        branch: first.map(|d| d.branch.clone()),
        commit: first.and_then(|d| d.commit.clone()),
        diff: diff_text,
        stat: DiffStat { files, insertions, deletions },
        plans,
        validation,
        notes,
        base: Some(BaseInfo { rev: base.rev.clone(), commit: base.oid.to_string() }),
        proposals: delivered,
        validation_runs: schedule.runs.len(),
        llm,
        log_dir: (!schedule.runs.is_empty()).then_some(log_dir),
    })
}

/// The changes of a set of plans: the rules drafter's for its plans, then the
/// LLM's accepted answers spliced on top.
fn group_changes(
    model: &analysis::Model<'_>,
    settings: &Settings,
    plans: &[Plan],
    accepted: &BTreeMap<usize, Accepted>,
    group: &[usize],
) -> Result<Vec<FileChange>, Vec<String>> {
    let rules: Vec<&Plan> = group.iter().filter(|i| !accepted.contains_key(i)).map(|&i| &plans[i]).collect();
    let base = if rules.is_empty() { Vec::new() } else { draft::draft(model, &rules, settings)?.changes };
    let llm: Vec<&Accepted> = group.iter().filter_map(|i| accepted.get(i)).collect();
    if llm.is_empty() {
        Ok(base)
    } else {
        llm_drafter::compose(model, settings, base, &llm).map_err(|e| vec![e.to_string()])
    }
}

/// Who drafted a set of plans.
fn drafter_of(accepted: &BTreeMap<usize, Accepted>, group: &[usize], llm_label: &str) -> String {
    let llm = group.iter().filter(|i| accepted.contains_key(i)).count();
    match (llm, group.len() - llm) {
        (0, _) => "rules".to_string(),
        (_, 0) => llm_label.to_string(),
        _ => format!("rules+{llm_label}"),
    }
}

/// The LLM calls that drafted these plans, together; none when the LLM drafted none of them.
fn usage_of(outcomes: &[Outcome], plans: &[&Plan]) -> Option<CallUsage> {
    let mut total = CallUsage::default();
    for o in outcomes.iter().filter(|o| plans.iter().any(|p| p.id == o.plan)) {
        total.add(&o.usage);
    }
    (total.calls > 0).then_some(total)
}

/// Work out what a proposal's branch holds: absent or the tool's (to be validated;
/// marked `Failed` until it passes), already up to date, or someone else's (skipped).
fn prepare(
    repo: &Repo,
    base: &git::Base,
    plans: &[&Plan],
    group: Vec<usize>,
    name: String,
    changes: Vec<FileChange>,
) -> Result<Item, ProposeError> {
    let tree = commit::tree_with(&repo.git, base.oid, &changes)?;
    let diff_text = diff::unified_diff(&changes);
    let (files, insertions, deletions) = diff::stat(&diff_text);
    // Failed until validation passes.
    let mut delivered = Delivered {
        branch: name.clone(),
        status: DeliveryStatus::Failed,
        title: message::title(plans),
        plans: plans.iter().map(|p| p.id.clone()).collect(),
        commit: None,
        reasons: Vec::new(),
        diff: diff_text,
        stat: DiffStat { files, insertions, deletions },
        validation: Vec::new(),
        validated_with: 0,
        run: None,
        pull_request: None,
        push: None,
        drafter: "rules".to_string(),
        llm_usage: None,
    };
    let mut expected = None;
    match branch::state(&repo.git, &name) {
        BranchState::Absent => {}
        BranchState::Ours { tip, parent, .. } => {
            let same_tree = repo.git.find_commit(tip).is_ok_and(|c| c.tree_id() == tree);
            if parent == Some(base.oid) && same_tree {
                delivered.status = DeliveryStatus::UpToDate;
                delivered.commit = Some(tip.to_string());
                delivered.reasons.push(format!("{name} already holds this change on {}", base.short()));
            } else {
                expected = Some(tip);
                delivered.reasons.push(if parent == Some(base.oid) {
                    format!("{name} is refactor-async's own branch; its commit is replaced by the new draft")
                } else {
                    format!("{name} is refactor-async's own branch on an older base; it is rebuilt on {}", base.short())
                });
            }
        }
        BranchState::Extended { theirs, .. } => {
            delivered.status = DeliveryStatus::Skipped;
            delivered.reasons.push(format!(
                "{name} has {theirs} commit{} made by someone else on top of refactor-async's; it is no longer rewritten",
                if theirs == 1 { "" } else { "s" }
            ));
        }
        BranchState::Foreign { .. } => {
            delivered.status = DeliveryStatus::Skipped;
            delivered.reasons.push(format!(
                "branch {name} exists and was not made by refactor-async; it is left alone (choose another name with --branch)"
            ));
        }
    }
    let pending = delivered.status == DeliveryStatus::Failed;
    Ok(Item { plans: group, branch: name, changes, tree, expected, pending, delivered })
}

/// Record the outcome of a validated proposal; commit it when it passed.
#[allow(clippy::too_many_arguments)]
fn finish(
    item: &mut Item,
    k: usize,
    schedule: &Schedule,
    plans: &mut [Plan],
    repo: &Repo,
    base: &git::Base,
    checks: &ValidateSettings,
    signature: &git2::Signature<'_>,
    log_dir: &Path,
) -> Result<(), ProposeError> {
    let Some(r) = schedule.decided_by[k] else {
        item.delivered.reasons.push("not validated".to_string());
        return Ok(());
    };
    let run = &schedule.runs[r];
    item.delivered.run = Some(run.number);
    item.delivered.validated_with = run.items.len();
    item.delivered.validation = run.checks.clone();
    if !run.ok {
        item.delivered.status = DeliveryStatus::Failed;
        let failing = run.checks.iter().find(|c| !c.ok);
        let reason = match failing {
            Some(c) => format!(
                "`{}` {}{}",
                c.name,
                c.detail.as_deref().and_then(|d| d.lines().next()).unwrap_or("failed"),
                c.log.as_ref().map(|l| format!(" (log: {})", l.display())).unwrap_or_default()
            ),
            None => "validation failed".to_string(),
        };
        item.delivered.reasons.push(reason.clone());
        for &i in &item.plans {
            plans[i].status = PlanStatus::Failed;
            plans[i].reasons.push(reason.clone());
        }
        return Ok(());
    }
    let refs: Vec<&Plan> = item.plans.iter().map(|&i| &plans[i]).collect();
    let facts = message::Facts {
        plans: &refs,
        checks: &item.delivered.validation,
        base,
        drafter: &item.delivered.drafter,
        validated_with: run.items.len(),
        hooks_skipped: checks.hooks == HookMode::Off,
        llm_usage: item.delivered.llm_usage,
    };
    let text = message::commit_message(&facts);
    let oid = commit::commit(&repo.git, base.oid, item.tree, &text, signature)?;
    branch::update(&repo.git, &item.branch, oid, item.expected, "refactor-async: validated proposal")?;
    let stat = format!(
        "{} file{} changed, +{} −{}",
        item.delivered.stat.files,
        if item.delivered.stat.files == 1 { "" } else { "s" },
        item.delivered.stat.insertions,
        item.delivered.stat.deletions
    );
    let (title, body) = message::pull_request(&facts, &item.branch, &stat);
    let pr_path = log_dir.join(format!("{}.pr.md", item.branch.replace('/', "-")));
    let written =
        std::fs::create_dir_all(log_dir).and_then(|_| std::fs::write(&pr_path, format!("# {title}\n\n{body}")));
    if let Err(e) = written {
        item.delivered.reasons.push(format!("could not write the pull-request description: {e}"));
    }
    item.delivered.pull_request = Some(PullRequest { title, body, path: pr_path });
    item.delivered.status = DeliveryStatus::Committed;
    item.delivered.commit = Some(oid.to_string());
    Ok(())
}

/// `path` relative to the top of the user's working tree.
fn relative_to_workdir(repo: &Repo, path: &Path) -> PathBuf {
    let workdir = std::fs::canonicalize(&repo.workdir).unwrap_or_else(|_| repo.workdir.clone());
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    path.strip_prefix(&workdir).map(Path::to_path_buf).unwrap_or_default()
}

/// A branch name not used by an earlier proposal of this run.
fn unique_branch(items: &[Item], wanted: &str) -> String {
    let mut name = wanted.to_string();
    let mut n = 2;
    while items.iter().any(|i| i.branch == name) {
        name = format!("{wanted}-{n}");
        n += 1;
    }
    name
}

/// A name for this run's log folder that sorts by time.
fn run_id() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    format!("{secs:012}-{}", std::process::id())
}

/// Keep the newest `keep` runs' logs (this run's included), removing older ones.
fn prune_logs(this_run: &Path, keep: usize) {
    let Some(dir) = this_run.parent() else { return };
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut runs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    runs.sort();
    let excess = (runs.len() + 1).saturating_sub(keep.max(1));
    for old in runs.into_iter().take(excess) {
        let _ = std::fs::remove_dir_all(old);
    }
}
