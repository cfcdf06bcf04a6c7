//! The pipeline of DESIGN.md, the one way from a repository to validated
//! branches, shared by `propose`, `propose --dry-run` and the daemon's cycles.
//!
//! [`run`] calls the stages in order; each is a function in a file of its own
//! that takes plain data and returns plain data (printable with `{:?}`, most of
//! it serialisable), so a stage can be read, tested and replaced alone:
//!
//! | stage                    | gives                                              |
//! |--------------------------|----------------------------------------------------|
//! | [`prepare`]              | [`prepare::Prepared`]: repository, base, notes     |
//! | [`setup`]                | [`setup::Setup`]: configuration, catalog, settings |
//! | [`analyse`]              | the analysis [`Model`]                             |
//! | [`rules`]                | [`rules::RulesDraft`]: plans, rules draft, checks  |
//! | [`llm`]                  | [`llm::LlmDraft`]: the LLM's accepted answers      |
//! | [`group`]                | [`group::Grouped`]: one candidate per branch       |
//! | [`limit`]                | candidates over the limits, or owned elsewhere, set aside |
//! | [`validation`]           | [`validation::Validation`]: the runs and who passed |
//! | [`repair`]               | failed candidates redrafted by the LLM, revalidated |
//! | [`deliver`]              | commits on branches, pushes                        |
//! | [`report`]               | the [`Proposal`]                                   |
//!
//! A dry run stops after the rules draft and its checks, on the files as they are
//! on disk. The stages report progress as [`Event`]s to the caller's sink and never
//! print; the user's working tree, index, HEAD and branches are only ever read.

pub mod analyse;
pub mod deliver;
pub mod group;
pub mod limit;
pub mod llm;
pub mod prepare;
pub mod repair;
pub mod report;
pub mod rules;
pub mod setup;
pub mod validation;

use std::path::{Path, PathBuf};

use crate::analysis::{self, Model};
use crate::event::{Event, Sink};
use crate::git::worktree::Worktree;
use crate::propose::{Options, Proposal, ProposeError};
use prepare::Prepared;
use setup::{Delivering, Setup};

/// Run `propose` on `path` as `options` say, reporting progress to `events`.
pub fn run(path: &Path, options: &Options, events: &dyn Sink) -> Result<Proposal, ProposeError> {
    if options.dry_run { dry_run(path, options, events) } else { deliver(path, options, events) }
}

/// Analyse, plan, draft with the rules drafter and check the draft; changes nothing.
fn dry_run(path: &Path, options: &Options, events: &dyn Sink) -> Result<Proposal, ProposeError> {
    let (_, root) = analysis::locate(path)?;
    let setup = setup::load::<()>(&root, &options.overrides)?;
    if !root.join(".git").exists() {
        return Err(ProposeError::NotGit(path.to_path_buf()));
    }
    let setup = setup.read::<setup::Drafting>(&options.overrides)?;
    let model = analyse::analyse(path, &setup.config, &setup.catalog, events)?;
    let drafted = rules::draft(&model, &setup.config, &setup.catalog, &setup.settings.plan);
    Ok(report::dry_run(&model, drafted))
}

/// What the stages after the analysis read; nothing in it changes.
pub struct Context<'a, 'c> {
    pub prepared: &'a Prepared,
    pub setup: &'a Setup<Delivering>,
    pub model: &'a Model<'c>,
    pub options: &'a Options,
    /// The checkout of the base commit that was analysed (gone once validation is over).
    pub root: PathBuf,
    pub events: &'a dyn Sink,
}

/// From the base commit to validated commits on branches.
fn deliver(path: &Path, options: &Options, events: &dyn Sink) -> Result<Proposal, ProposeError> {
    let prepared = prepare::prepare(path, options)?;
    events.emit(Event::Proposing { base: prepared.base.short(), summary: prepared.base.summary.clone() });
    // Everything is read from the base commit, checked out beside the user's tree.
    let source = Worktree::create(&prepared.common, prepared.base.oid)?;
    let setup = setup::load::<Delivering>(&source.path, &options.overrides).map_err(ProposeError::at_base)?;
    let scan = prepare::scan_path(&prepared, path, &source.path)?;
    let model = analyse::analyse(&scan, &setup.config, &setup.catalog, events)?;
    cancelled()?;
    let mut drafted = rules::draft(&model, &setup.config, &setup.catalog, &setup.settings.plan);
    let cx = Context { prepared: &prepared, setup: &setup, model: &model, options, root: source.path.clone(), events };
    let drafter = llm::LlmDrafter::start(&cx)?;
    let mut llm = llm::draft(&cx, &drafter, &mut drafted.plans)?;
    cancelled()?;
    let mut grouped = group::group(&cx, &mut drafted.plans, &llm, &drafter.label)?;
    limit::new_branches(&mut grouped.candidates, options.max_new_branches);
    validation::preflight(&cx, &grouped.candidates)?;
    cancelled()?;
    limit::owned_remotely(&cx, &mut grouped.candidates)?;
    let validator = validation::Validator::new(&cx);
    let mut validation = validation::validate(&cx, &validator, &grouped, &drafted, &llm)?;
    let candidates = &mut grouped.candidates;
    repair::repair(&cx, &drafter, &validator, candidates, &mut validation, &mut llm, &drafted.plans)?;
    drop(source);
    deliver::commit_all(&cx, candidates, &validation, &mut drafted.plans)?;
    deliver::push_all(&cx, candidates);
    Ok(report::report(&cx, &drafter, drafted, llm, grouped, validation))
}

/// Stop here if the user asked to.
fn cancelled() -> Result<(), ProposeError> {
    if crate::cancel::requested() { Err(ProposeError::Cancelled) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::plan::PlanStatus;

    #[test]
    fn a_dry_run_drafts_the_files_on_disk_and_tells_its_progress() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
        std::fs::write(dir.path().join("pkg/__init__.py"), "").unwrap();
        std::fs::write(
            dir.path().join("pkg/mod.py"),
            "import time\n\n\ndef pause(s: float) -> float:\n    time.sleep(s)\n    return s\n",
        )
        .unwrap();
        let seen = Mutex::new(Vec::new());
        let events = |e: Event| seen.lock().unwrap().push(format!("{e:?}"));
        let overrides = setup::Overrides { no_cache: true, ..Default::default() };
        let options = Options { dry_run: true, overrides, ..Default::default() };
        let proposal = run(dir.path(), &options, &events).unwrap();
        assert!(proposal.dry_run && proposal.commit.is_none());
        assert_eq!(proposal.plans.len(), 1);
        assert_eq!(proposal.plans[0].status, PlanStatus::Converted);
        assert!(proposal.diff.contains("+async def pause_async(s: float) -> float:"), "{}", proposal.diff);
        assert!(proposal.validation.iter().all(|c| c.ok), "{:?}", proposal.validation);
        let seen = seen.into_inner().unwrap();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(seen[0].starts_with("Analysing") && seen[1] == "Analysed", "{seen:?}");
    }
}
