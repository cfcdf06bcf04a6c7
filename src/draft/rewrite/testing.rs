//! Before/after tests of the rules drafter, in the manner of LibCST's
//! `assertCodemod`: a few lines of Python in, the rewritten file out. The files
//! are written to a temporary folder only because the analysis reads a folder;
//! no git, pytest or mypy is involved, and each case takes milliseconds.

use std::collections::{BTreeMap, BTreeSet};

use crate::analysis::{self, Progress, catalog::Catalog};
use crate::config::Config;
use crate::draft;
use crate::plan::{self, CallRewrite, PlanStatus, Settings};

/// What drafting a small project gave.
#[derive(Debug)]
pub(crate) struct Codemod {
    /// Every changed file's new text, the helper module left out.
    pub(crate) changed: BTreeMap<String, String>,
    pub(crate) notes: Vec<String>,
    /// The native mappings the plans used.
    pub(crate) mappings: BTreeSet<&'static str>,
}

/// The drafted project, or every reason a plan was refused.
pub(crate) type Outcome = Result<Codemod, Vec<String>>;

/// The plans made for the files (path, text) as a project of their own.
pub(crate) fn plans_of(files: &[(&str, &str)]) -> Vec<plan::Plan> {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for (path, text) in files {
        std::fs::write(dir.path().join(path), text).unwrap();
    }
    let mut config = Config::builtin();
    config.analysis.cache = false;
    let catalog = Catalog::load(&config, dir.path()).expect("the built-in catalog loads");
    let settings = Settings::from_config(&config).expect("the built-in settings are valid");
    let model = analysis::analyze_model(dir.path(), &config, &catalog, &Progress::default()).expect("analysis runs");
    plan::build(&model, &settings)
}

/// Analyse, plan and draft the files (path, text) as a project of their own.
pub(crate) fn codemod(files: &[(&str, &str)]) -> Outcome {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let mut config = Config::builtin();
    config.analysis.cache = false;
    let catalog = Catalog::load(&config, dir.path()).expect("the built-in catalog loads");
    let settings = Settings::from_config(&config).expect("the built-in settings are valid");
    let model = analysis::analyze_model(dir.path(), &config, &catalog, &Progress::default()).expect("analysis runs");
    let mut plans = plan::build(&model, &settings);
    let drafted = draft::draft_plans(&model, &mut plans, &settings);
    let refused: Vec<String> =
        plans.iter().filter(|p| p.status != PlanStatus::Converted).flat_map(|p| p.reasons.clone()).collect();
    if !refused.is_empty() || plans.is_empty() {
        return Err(refused);
    }
    let mappings = plans
        .iter()
        .flat_map(|p| &p.calls)
        .filter_map(|c| match c.rewrite {
            CallRewrite::Native(m) => Some(m.name()),
            CallRewrite::Thread => None,
        })
        .collect();
    let helper = format!("{}.py", settings.helper_module);
    let changed = drafted
        .changes
        .into_iter()
        .filter(|c| !c.path.ends_with(&helper))
        .map(|c| (c.path, c.new.unwrap_or_default()))
        .collect();
    Ok(Codemod { changed, notes: drafted.notes, mappings })
}

/// `before` as `app.py`, rewritten, must read exactly `after`.
#[track_caller]
pub(crate) fn assert_codemod(before: &str, after: &str) {
    match codemod(&[("app.py", before)]) {
        Ok(Codemod { changed, .. }) => {
            let got = changed.get("app.py").map(String::as_str).unwrap_or(before);
            assert_eq!(got, after, "\n--- got ---\n{got}\n--- want ---\n{after}");
        }
        Err(reasons) => panic!("the rewrite was refused: {reasons:#?}"),
    }
}

/// `before` as `app.py` must be refused, with a reason containing `why`.
#[track_caller]
pub(crate) fn assert_refused(before: &str, why: &str) {
    match codemod(&[("app.py", before)]) {
        Ok(Codemod { changed, .. }) => panic!("expected a refusal ({why}), got: {changed:#?}"),
        Err(reasons) => {
            assert!(reasons.iter().any(|r| r.contains(why)), "no reason contains {why:?}: {reasons:#?}")
        }
    }
}

/// `before` as `app.py`, rewritten, must keep its loops: the analysis planned no
/// gather (so the drafter has nothing to decline either).
#[track_caller]
pub(crate) fn assert_no_gather(before: &str) {
    match codemod(&[("app.py", before)]) {
        Ok(Codemod { changed, notes, .. }) => {
            let got = changed.get("app.py").map(String::as_str).unwrap_or(before);
            assert!(!got.contains("_bounded("), "a loop was gathered:\n{got}");
            assert!(!notes.iter().any(|n| n.contains("kept sequential")), "a gather was planned: {notes:#?}");
        }
        Err(reasons) => panic!("the rewrite was refused: {reasons:#?}"),
    }
}

/// `before` as `app.py`, rewritten, must give a note containing `note`.
#[track_caller]
pub(crate) fn assert_note(before: &str, note: &str) {
    match codemod(&[("app.py", before)]) {
        Ok(Codemod { notes, .. }) => {
            assert!(notes.iter().any(|n| n.contains(note)), "no note contains {note:?}: {notes:#?}")
        }
        Err(reasons) => panic!("the rewrite was refused: {reasons:#?}"),
    }
}
