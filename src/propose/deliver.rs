//! `propose` without `--dry-run`: from a base commit to validated commits on branches.

use std::path::{Path, PathBuf};

use git2::Oid;
use serde::Serialize;

use super::schedule::{self, Schedule};
use super::{BaseInfo, DiffStat, Proposal, ProposeError, message};
use crate::analysis::{self, Progress, catalog::Catalog};
use crate::config::Config;
use crate::draft::diff::{self, FileChange};
use crate::draft::verify::{self, Check};
use crate::draft::{self};
use crate::git::branch::{self, BranchState};
use crate::git::worktree::{self, Worktree};
use crate::git::{self, GitError, Repo, commit, push};
use crate::plan::{Plan, PlanStatus, Settings};
use crate::validate::settings::GitSettings;
use crate::validate::{self, HookMode, ValidateSettings, hooks};

/// What `propose` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The commit to start from (default HEAD).
    pub base: Option<String>,
    /// One branch with every plan, instead of a branch per plan.
    pub branch: Option<String>,
    /// Validation runs at once.
    pub jobs: usize,
    pub push: Option<String>,
    pub no_cache: bool,
    /// Progress lines on standard error.
    pub show_progress: bool,
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

fn progress_line(show: bool, line: &str) {
    if show {
        eprintln!("{line}");
    }
}

/// Analyse and draft at the base commit, validate, commit what passes on branches.
pub fn run(path: &Path, options: &Options, progress: &Progress) -> Result<Proposal, ProposeError> {
    let show = options.show_progress;
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
        return Err(ProposeError::Preflight(format!("--push {remote}: the repository has no remote named `{remote}`")));
    }
    let common = repo.git.commondir().to_path_buf();
    let mut notes = repo.situation(&base);
    let stale = worktree::clean_stale(&common);
    if !stale.is_empty() {
        notes.push(format!("removed {} worktree(s) left behind by an earlier run that was stopped", stale.len()));
    }
    progress_line(show, &format!("refactor-async: proposing from {} ({})", base.short(), base.summary));

    // Everything is read from the base commit, checked out beside the user's tree.
    let source = Worktree::create(&common, base.oid)?;
    let mut config = Config::load(&source.path)?;
    if options.no_cache {
        config.analysis.cache = false;
    }
    let catalog = Catalog::load(&config, &source.path).map_err(|e| ProposeError::Catalog(e.to_string()))?;
    let settings = Settings::from_config(&config)?;
    let checks = ValidateSettings::from_config(&config)?;
    let git_settings = GitSettings::from_config(&config)?;
    let scan = source.path.join(relative_to_workdir(&repo, path));
    if !scan.exists() {
        return Err(ProposeError::Preflight(format!("{} is not in the base commit {}", path.display(), base.short())));
    }
    let model = crate::output::progress::with_progress(progress, show, || {
        analysis::analyze_model(&scan, &config, &catalog, progress)
    })?;
    if crate::cancel::requested() {
        return Err(ProposeError::Cancelled);
    }
    let super::Drafted { mut plans, draft: drafted, checks: internal, notes: drafting_notes } =
        super::plan_and_draft(&model, &config, &catalog, &settings);
    notes.extend(drafting_notes);

    // One proposal per independent plan, or one with all of them on --branch.
    let converted: Vec<usize> = (0..plans.len()).filter(|&i| plans[i].status == PlanStatus::Converted).collect();
    let groups: Vec<Vec<usize>> = match &options.branch {
        Some(_) if !converted.is_empty() => vec![converted.clone()],
        Some(_) => Vec::new(),
        None => converted.iter().map(|&i| vec![i]).collect(),
    };
    let mut items = Vec::new();
    for group in groups {
        let refs: Vec<&Plan> = group.iter().map(|&i| &plans[i]).collect();
        let changes = if group.len() == converted.len() {
            drafted.changes.clone()
        } else {
            match draft::draft(&model, &refs, &settings) {
                Ok(d) => d.changes,
                Err(reasons) => {
                    for &i in &group {
                        plans[i].status = PlanStatus::Failed;
                        plans[i].reasons = reasons.clone();
                    }
                    continue;
                }
            }
        };
        let name = match &options.branch {
            Some(name) => name.clone(),
            None => unique_branch(&items, &format!("{}{}", git_settings.branch_prefix, refs[0].id)),
        };
        items.push(prepare(&repo, &base, &refs, group, name, changes)?);
    }

    // Only now is it known that checks will run: a missing program or target is named before any does.
    if items.iter().any(|i| i.pending) {
        validate::preflight(&checks, &source.path).map_err(ProposeError::Preflight)?;
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
        progress_line(
            show,
            &format!(
                "validating {} proposal{} with: {}",
                pending.len(),
                if pending.len() == 1 { "" } else { "s" },
                checks.commands.join(", ")
            ),
        );
    }
    let schedule = {
        let items = &items;
        let plans = &plans;
        let model = &model;
        let settings = &settings;
        let (config, catalog, internal) = (&config, &catalog, &internal);
        let validate_one = |number: usize, members: &[usize]| -> Result<Vec<Check>, validate::ValidateError> {
            let together: Vec<&Plan> =
                members.iter().flat_map(|&m| items[pending[m]].plans.iter().map(|&i| &plans[i])).collect();
            let changes = if members.len() == 1 {
                items[pending[members[0]]].changes.clone()
            } else {
                match draft::draft(model, &together, settings) {
                    Ok(d) => d.changes,
                    Err(reasons) => {
                        return Ok(vec![Check::internal("draft together", false, 0.0, Some(reasons.join("; ")))]);
                    }
                }
            };
            // Re-parse and re-analysis of exactly this draft (already done when it is the whole one).
            let mut results = if together.len() == converted.len() {
                internal.clone()
            } else {
                let owned: Vec<Plan> = together.iter().map(|p| (*p).clone()).collect();
                let draft = draft::Draft { changes: changes.clone(), notes: Vec::new() };
                verify::verify(model, &draft, &owned, config, catalog)
            };
            if results.iter().any(|c| !c.ok) {
                return Ok(results);
            }
            let worktree = Worktree::create(&common, base.oid)?;
            let label = if members.len() == 1 {
                format!("[run {number}: {}] ", items[pending[members[0]]].branch)
            } else {
                format!("[run {number}: {} proposals together] ", members.len())
            };
            let run = validate::Run {
                hooks_dir: &hooks_dir,
                worktree: &worktree,
                settings: &checks,
                log_dir: log_dir.join(format!("run-{number:02}")),
                label,
                show_progress: show,
            };
            results.extend(run.validate(&changes)?);
            Ok(results)
        };
        schedule::validate_groups(pending.len(), options.jobs.max(1), checks.joint, validate_one)?
    };
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
        finish(item, k, &schedule, &mut plans, &repo, &base, &checks, &signature, &log_dir)?;
    }
    for item in &mut items {
        if let Some(remote) = &options.push
            && matches!(item.delivered.status, DeliveryStatus::Committed | DeliveryStatus::UpToDate)
        {
            progress_line(show, &format!("pushing {} to {remote}", item.branch));
            let result = push::push(&repo.git, remote, &item.branch);
            item.delivered.push = Some(PushResult {
                remote: remote.clone(),
                ok: result.is_ok(),
                error: result.err().map(|e| e.to_string()),
            });
        }
    }

    let delivered: Vec<Delivered> = items.into_iter().map(|i| i.delivered).collect();
    let first = delivered.iter().find(|d| matches!(d.status, DeliveryStatus::Committed | DeliveryStatus::UpToDate));
    let diff_text = diff::unified_diff(&drafted.changes);
    let (files, insertions, deletions) = diff::stat(&diff_text);
    Ok(Proposal {
        version: 1,
        root: repo.workdir.clone(),
        dry_run: false,
        drafter: "rules".to_string(),
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
        log_dir: (!schedule.runs.is_empty()).then_some(log_dir),
    })
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
        drafter: "rules",
        validated_with: run.items.len(),
        hooks_skipped: checks.hooks == HookMode::Off,
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
