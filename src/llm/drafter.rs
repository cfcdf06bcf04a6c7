//! The LLM drafter: a plan in, checked file changes out.
//!
//! The prompt carries the plan (which functions become what, which calls become
//! what), the functions' code, the signatures of their callers and callees, the
//! modules' imports and the repository's Python version. The answer is read and
//! checked ([`super::answer`]), spliced in ([`super::splice`]), re-parsed and
//! re-analysed; any failure goes back to the model with the error, up to
//! `repair_attempts` times, stopping early when the same failure comes back twice
//! in a row. Nothing the model says is ever run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::answer::{self, Expected};
use super::client::{CallUsage, LlmClient, Message};
use super::settings::LlmSettings;
use super::splice::{self, SpliceError};
use crate::analysis::Model;
use crate::analysis::catalog::Catalog;
use crate::config::Config;
use crate::draft::diff::FileChange;
use crate::draft::{self, Draft, python};
use crate::plan::{Plan, PlanStatus, Settings};
use crate::validate::verify;

/// The built-in prompt templates (`prompts/` in the sources).
const SYSTEM: &str = include_str!("../../prompts/system.md");
const PLAN: &str = include_str!("../../prompts/plan.md");
const REPAIR: &str = include_str!("../../prompts/repair.md");

/// A prompt template of the repository that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the prompt {}: {source}", path.display())]
pub struct PromptError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Why a plan's functions could not be read for the prompt.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("{rel}: {source}")]
    Read { rel: String, source: std::io::Error },
    #[error("cannot find `{qualname}` in {rel}")]
    NotFound { qualname: String, rel: String },
}

/// Why accepted answers could not be put into the modules.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("`{0}` has no place")]
    NoPlace(String),
    #[error("{rel}: {source}")]
    Read { rel: String, source: std::io::Error },
    #[error("{rel}: {source}")]
    Splice { rel: String, source: SpliceError },
    #[error("module left the index")]
    ModuleGone,
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Helper(Vec<draft::Refusal>),
}

/// The templates in use: built-in, or the repository's own (`[llm] prompts`).
#[derive(Debug, Clone)]
pub struct Prompts {
    pub system: String,
    pub plan: String,
    pub repair: String,
}

impl Prompts {
    /// The built-in templates, each replaced by `<root>/<folder>/<name>.md` when that exists.
    pub fn load(root: &Path, folder: &str) -> Result<Prompts, PromptError> {
        let read = |name: &str, builtin: &str| -> Result<String, PromptError> {
            if folder.trim().is_empty() {
                return Ok(builtin.to_string());
            }
            let path = root.join(folder).join(format!("{name}.md"));
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok(text),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(builtin.to_string()),
                Err(source) => Err(PromptError { path, source }),
            }
        };
        Ok(Prompts { system: read("system", SYSTEM)?, plan: read("plan", PLAN)?, repair: read("repair", REPAIR)? })
    }
}

/// Fill `{{name}}` placeholders.
fn render(template: &str, values: &[(&str, String)]) -> String {
    let mut out = template.to_string();
    for (name, value) in values {
        out = out.replace(&format!("{{{{{name}}}}}"), value);
    }
    out
}

/// What drafting a plan needs besides the client.
pub struct Context<'a, 'c> {
    pub model: &'a Model<'c>,
    pub config: &'a Config,
    pub catalog: &'a Catalog,
    pub settings: &'a Settings,
    pub llm: &'a LlmSettings,
    pub prompts: &'a Prompts,
}

/// A failed validation to repair: which check failed and its output.
#[derive(Debug, Clone)]
pub struct Failure {
    pub stage: String,
    pub error: String,
    /// The draft that failed, as a diff.
    pub diff: String,
}

/// How drafting a plan went.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The plan's id.
    pub plan: String,
    /// The checked answer, when one passed.
    #[serde(skip)]
    pub accepted: Option<Accepted>,
    /// Why it gave up, when it did.
    pub reasons: Vec<String>,
    /// Answers asked for (the first draft and repairs).
    pub attempts: u32,
    /// Every call, in order.
    pub calls: Vec<CallUsage>,
    /// The calls together.
    pub usage: CallUsage,
}

/// A checked answer and where its functions go; it can be spliced onto any
/// version of the modules that still holds those definitions.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub answer: answer::Answer,
    /// qualname → (module path, qualname within the module).
    pub places: BTreeMap<String, (String, String)>,
}

/// One function of the plan, located in its module.
struct Target {
    qualname: String,
    module_rel: String,
    local: String,
    async_name: String,
    wrapper: Option<String>,
    parameters: String,
    source: String,
}

/// Locate the plan's functions and read their code.
fn targets(ctx: &Context<'_, '_>, plan: &Plan) -> Result<Vec<Target>, TargetError> {
    let root = &ctx.model.report.root;
    let mut out = Vec::new();
    for f in &plan.functions {
        let function = &ctx.model.graph.functions[f.id as usize];
        let module = &ctx.model.index.modules[function.at.module as usize];
        let src = std::fs::read_to_string(root.join(&module.rel))
            .map_err(|source| TargetError::Read { rel: module.rel.clone(), source })?;
        let local = f.qualname.strip_prefix(&format!("{}.", module.name)).unwrap_or(&f.qualname).to_string();
        let (start, end) = splice::find_definition(&src, &local)
            .ok_or_else(|| TargetError::NotFound { qualname: f.qualname.clone(), rel: module.rel.clone() })?;
        let source = src[start..end].to_string();
        let tree = python::parse(&source);
        let parameters = first_definition_parameters(&tree, &source).unwrap_or_else(|| "()".to_string());
        let name = local.rsplit('.').next().unwrap_or(&local).to_string();
        out.push(Target {
            qualname: f.qualname.clone(),
            module_rel: module.rel.clone(),
            local,
            async_name: if f.already_async { name.clone() } else { f.async_name.clone() },
            wrapper: (f.wrapper && !f.already_async).then_some(name),
            parameters,
            source,
        });
    }
    Ok(out)
}

fn first_definition_parameters(tree: &tree_sitter::Tree, src: &str) -> Option<String> {
    let root = tree.root_node();
    let node = root.named_child(0)?;
    let def = if node.kind() == "decorated_definition" { node.child_by_field_name("definition")? } else { node };
    def.child_by_field_name("parameters").map(|p| python::text(src, p).to_string())
}

/// The plan in words: what becomes what.
fn describe(plan: &Plan, targets: &[Target]) -> String {
    let mut out = String::new();
    for t in targets {
        let how = match (&t.wrapper, t.async_name == t.local.rsplit('.').next().unwrap_or("")) {
            (Some(old), _) => format!("becomes `async def {}`; a sync wrapper `{old}` is kept", t.async_name),
            (None, true) => {
                "is already async or becomes async under its own name; await its blocking calls".to_string()
            }
            (None, false) => format!("becomes `async def {}` (no wrapper)", t.async_name),
        };
        out.push_str(&format!("- `{}` ({}) {how}\n", t.qualname, t.module_rel));
    }
    for c in &plan.calls {
        let why = c.why_thread.as_ref().map(|w| format!(" ({w})")).unwrap_or_default();
        out.push_str(&format!("- call `{}` at {}:{} → {}{why}\n", c.api, c.path, c.line, c.rewrite.description().plan));
    }
    for g in &plan.gathers {
        out.push_str(&format!(
            "- loop at {}:{} in `{}` → bounded concurrent gather, results in order\n",
            g.path, g.line, g.function
        ));
    }
    for t in &plan.throttles {
        out.push_str(&format!(
            "- loop at {}:{} in `{}` sleeps on every item ({}), a rate limit: {}\n",
            t.path,
            t.line,
            t.function,
            t.sleep_where(),
            t.does
        ));
    }
    for c in &plan.clients {
        out.push_str(&format!("- `{}.{}`: {} → {}\n", c.class, c.attribute, c.from, c.to));
    }
    for name in &plan.offloaded {
        out.push_str(&format!("- `{name}` stays sync: await it through `asyncio.to_thread`\n"));
    }
    for reason in &plan.reasons {
        out.push_str(&format!("- note: {reason}\n"));
    }
    out
}

/// The first line of each caller's and callee's definition.
fn signatures(ctx: &Context<'_, '_>, plan: &Plan) -> String {
    let graph = &ctx.model.graph;
    let root = &ctx.model.report.root;
    let planned: Vec<u32> = plan.functions.iter().map(|f| f.id).collect();
    let mut related: BTreeMap<u32, &str> = BTreeMap::new();
    // Call sites whose target is a planned function, made in a function outside the plan.
    for (m, targets) in graph.targets.iter().enumerate() {
        for (ci, target) in targets.iter().enumerate() {
            let crate::analysis::callgraph::CallTarget::Repo(callee) = target else { continue };
            if !planned.contains(callee) {
                continue;
            }
            if let Some(caller) = graph.caller(m as crate::analysis::index::ModId, ci as u32)
                && !planned.contains(&caller)
            {
                related.insert(caller, "caller");
            }
        }
    }
    for f in &plan.functions {
        if let Some(Some(crate::analysis::callgraph::ClosureReason::Via { callee, .. })) =
            graph.closure.get(f.id as usize)
            && !planned.contains(callee)
        {
            related.insert(*callee, "callee");
        }
    }
    for id in &plan.offloaded_ids {
        related.insert(*id, "callee that stays sync (await it through asyncio.to_thread)");
    }
    let mut out = String::new();
    for (id, role) in related.into_iter().take(40) {
        let function = &graph.functions[id as usize];
        let module = &ctx.model.index.modules[function.at.module as usize];
        let local = function.qualname.strip_prefix(&format!("{}.", module.name)).unwrap_or(&function.qualname);
        let signature = std::fs::read_to_string(root.join(&module.rel)).ok().and_then(|src| {
            let (start, end) = splice::find_definition(&src, local)?;
            let text = &src[start..end];
            let def = text.find("def ").map(|i| &text[i..]).unwrap_or(text);
            Some(def.split(":\n").next().unwrap_or(def).trim().to_string())
        });
        out.push_str(&format!("- {role} `{}`: `{}`\n", function.qualname, signature.unwrap_or_default()));
    }
    if out.is_empty() { "(none outside the plan)\n".to_string() } else { out }
}

fn module_imports(ctx: &Context<'_, '_>, targets: &[Target]) -> String {
    let root = &ctx.model.report.root;
    let mut out = String::new();
    let mut seen = Vec::new();
    for t in targets {
        if seen.contains(&t.module_rel) {
            continue;
        }
        seen.push(t.module_rel.clone());
        let Ok(src) = std::fs::read_to_string(root.join(&t.module_rel)) else { continue };
        let tree = python::parse(&src);
        let root_node = tree.root_node();
        let mut cursor = root_node.walk();
        let lines: Vec<&str> = root_node
            .named_children(&mut cursor)
            .filter(|n| matches!(n.kind(), "import_statement" | "import_from_statement" | "future_import_statement"))
            .map(|n| python::text(&src, n))
            .collect();
        out.push_str(&format!("{}:\n```python\n{}\n```\n", t.module_rel, lines.join("\n")));
    }
    out
}

/// The plan's prompt.
fn plan_prompt(ctx: &Context<'_, '_>, plan: &Plan, targets: &[Target]) -> String {
    let root = &ctx.model.report.root;
    let version = python::requires_python(root).map(|(a, b)| format!("{a}.{b}")).unwrap_or_else(|| "3.9".to_string());
    let first = &ctx.model.index.modules[ctx.model.graph.functions[plan.functions[0].id as usize].at.module as usize];
    let (_, helper_import) =
        draft::helper_location(&first.rel, &first.name, first.is_package, &ctx.settings.helper_module);
    let functions: String = targets
        .iter()
        .map(|t| {
            format!("`{}` in {}:\n```python\n{}\n```\n", t.qualname, t.module_rel, answer::dedent(&t.source).trim_end())
        })
        .collect();
    render(
        &ctx.prompts.plan,
        &[
            ("python_version", version),
            ("plan_id", plan.id.clone()),
            ("plan_title", plan.title.clone()),
            ("plan", describe(plan, targets)),
            ("helper_import", helper_import),
            ("concurrency", ctx.settings.concurrency.to_string()),
            ("timeout", format!("{}", ctx.settings.timeout)),
            ("signatures", signatures(ctx, plan)),
            ("imports", module_imports(ctx, targets)),
            ("functions", functions),
        ],
    )
}

/// Splice accepted answers onto `base` (changes already made, e.g. by the rules
/// drafter; files it does not change are read from the repository), adding the
/// helper module where the new code imports it.
pub fn compose(
    model: &Model<'_>,
    settings: &Settings,
    base: Vec<FileChange>,
    accepted: &[&Accepted],
) -> Result<Vec<FileChange>, ComposeError> {
    let root = &model.report.root;
    let mut changes = base;
    for a in accepted {
        let mut by_module: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
        for f in &a.answer.functions {
            let (rel, local) = a.places.get(&f.qualname).ok_or_else(|| ComposeError::NoPlace(f.qualname.clone()))?;
            by_module.entry(rel.as_str()).or_default().push((local.as_str(), f.source.as_str()));
        }
        for (rel, replacements) in by_module {
            let index = changes.iter().position(|c| c.path == rel);
            let current = match index.and_then(|i| changes[i].new.clone()) {
                Some(text) => text,
                None => read(root, rel)?,
            };
            let new = splice::splice(&current, &replacements, &a.answer.imports)
                .map_err(|source| ComposeError::Splice { rel: rel.to_string(), source })?;
            model.index.modules.iter().find(|m| m.rel == rel).ok_or(ComposeError::ModuleGone)?;
            match index {
                Some(i) => changes[i].new = Some(new),
                None => {
                    let old = read(root, rel)?;
                    changes.push(FileChange { path: rel.to_string(), old: Some(old), new: Some(new) });
                }
            }
        }
    }
    // The helper module holds what the rules' and the answers' code imports, together.
    let helper_file = format!("{}.py", settings.helper_module);
    changes.retain(|c| Path::new(&c.path).file_name().is_none_or(|f| f.to_str() != Some(helper_file.as_str())));
    let helper_changes = draft::helper_modules(model, &changes, settings).map_err(ComposeError::Helper)?;
    for h in helper_changes {
        match changes.iter().position(|c| c.path == h.path) {
            Some(i) => changes[i] = h,
            None => changes.push(h),
        }
    }
    // What the answers import is declared too; what cannot be is in the proposal's
    // validation (the libraries check), so the notes are not needed here.
    let _ = draft::dependencies::declare(root, &mut changes);
    changes.retain(|c| c.old != c.new);
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(changes)
}

fn read(root: &Path, rel: &str) -> Result<String, ComposeError> {
    std::fs::read_to_string(root.join(rel)).map_err(|source| ComposeError::Read { rel: rel.to_string(), source })
}

/// One answer through every check: read, checked against the plan, spliced,
/// re-parsed and re-analysed. Err is (stage, error) for the repair prompt.
fn accept(ctx: &Context<'_, '_>, plan: &Plan, targets: &[Target], content: &str) -> Result<Accepted, (String, String)> {
    let parsed = answer::parse(content).map_err(|e| ("reading the answer".to_string(), e.to_string()))?;
    let expected: Vec<Expected<'_>> = targets
        .iter()
        .map(|t| Expected {
            qualname: &t.qualname,
            async_name: &t.async_name,
            wrapper: t.wrapper.as_deref(),
            parameters: &t.parameters,
        })
        .collect();
    answer::check(&parsed, &expected).map_err(|r| {
        let reasons: Vec<String> = r.iter().map(ToString::to_string).collect();
        ("checking the answer against the plan".to_string(), reasons.join("\n"))
    })?;
    let places = targets.iter().map(|t| (t.qualname.clone(), (t.module_rel.clone(), t.local.clone()))).collect();
    let accepted = Accepted { answer: parsed, places };
    let changes = compose(ctx.model, ctx.settings, Vec::new(), &[&accepted])
        .map_err(|e| ("putting the code in place".to_string(), e.to_string()))?;
    let mut converted = plan.clone();
    converted.status = PlanStatus::Converted;
    let draft = Draft { changes, notes: Vec::new(), kept: Vec::new() };
    let checks = verify::verify(ctx.model, &draft, std::slice::from_ref(&converted), ctx.config, ctx.catalog);
    if let Some(failed) = checks.iter().find(|c| !c.ok) {
        return Err((failed.name.clone(), failed.detail.clone().unwrap_or_default()));
    }
    Ok(accepted)
}

/// Draft `plan` through the LLM, repairing until the draft passes its checks, the
/// attempts run out, the loop is stuck, or the plan's deadline passes. With
/// `prior`, start from a draft that failed validation.
pub async fn draft_plan(client: &LlmClient, ctx: &Context<'_, '_>, plan: &Plan, prior: Option<&Failure>) -> Outcome {
    let deadline = Duration::from_secs_f64(ctx.llm.plan_timeout_s);
    let mut outcome = Outcome {
        plan: plan.id.clone(),
        accepted: None,
        reasons: Vec::new(),
        attempts: 0,
        calls: Vec::new(),
        usage: CallUsage::default(),
    };
    let work = draft_loop(client, ctx, plan, prior, &mut outcome);
    if tokio::time::timeout(deadline, work).await.is_err() {
        outcome
            .reasons
            .push(format!("the plan's deadline of {:.0} s passed (llm.plan_timeout_s)", ctx.llm.plan_timeout_s));
    }
    outcome
}

async fn draft_loop(
    client: &LlmClient,
    ctx: &Context<'_, '_>,
    plan: &Plan,
    prior: Option<&Failure>,
    outcome: &mut Outcome,
) {
    let targets = match targets(ctx, plan) {
        Ok(t) => t,
        Err(e) => {
            outcome.reasons.push(e.to_string());
            return;
        }
    };
    let mut messages =
        vec![Message::System(ctx.prompts.system.clone()), Message::User(plan_prompt(ctx, plan, &targets))];
    if let Some(failure) = prior {
        let mut text = repair_prompt(ctx, &failure.stage, &failure.error);
        let diff: String = failure.diff.chars().take(8000).collect();
        text.push_str(&format!("\nThe draft that failed, as a diff against the current code:\n```diff\n{diff}\n```\n"));
        messages.push(Message::User(text));
    }
    let mut last: Option<(String, String)> = None;
    for _ in 0..=ctx.llm.repair_attempts {
        outcome.attempts += 1;
        let completion = match client.complete(&messages).await {
            Ok(c) => c,
            Err(e) => {
                outcome.reasons.push(e.to_string());
                return;
            }
        };
        outcome.usage.add(&completion.usage);
        outcome.calls.push(completion.usage);
        match accept(ctx, plan, &targets, &completion.content) {
            Ok(accepted) => {
                outcome.accepted = Some(accepted);
                return;
            }
            Err((stage, error)) => {
                if last.as_ref() == Some(&(stage.clone(), error.clone())) {
                    outcome
                        .reasons
                        .push(format!("stopped: the same failure twice in a row ({stage}): {}", truncate(&error, 600)));
                    return;
                }
                messages.push(Message::Assistant(completion.content));
                messages.push(Message::User(repair_prompt(ctx, &stage, &error)));
                last = Some((stage, error));
            }
        }
    }
    if let Some((stage, error)) = last {
        outcome.reasons.push(format!(
            "no acceptable draft after {} attempts; last failure ({stage}): {}",
            outcome.attempts,
            truncate(&error, 600)
        ));
    }
}

fn repair_prompt(ctx: &Context<'_, '_>, stage: &str, error: &str) -> String {
    render(&ctx.prompts.repair, &[("stage", stage.to_string()), ("error", truncate(error, 4000))])
}

/// At most `max` bytes of `text`, its end kept (where errors usually are).
fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("[...]\n{}", &text[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_and_can_be_overridden() {
        assert_eq!(render("a {{x}} b {{y}}", &[("x", "1".into()), ("y", "2".into())]), "a 1 b 2");
        let dir = tempfile::tempdir().unwrap();
        assert!(Prompts::load(dir.path(), "").unwrap().system.contains("JSON object"));
        std::fs::create_dir_all(dir.path().join("my-prompts")).unwrap();
        std::fs::write(dir.path().join("my-prompts/plan.md"), "custom {{plan_id}}").unwrap();
        let p = Prompts::load(dir.path(), "my-prompts").unwrap();
        assert_eq!(p.plan, "custom {{plan_id}}");
        assert!(p.repair.contains("did not pass"), "missing files fall back to the built-in ones");
    }

    #[test]
    fn truncation_keeps_the_end() {
        assert_eq!(truncate("short", 10), "short");
        assert!(truncate(&"x".repeat(100), 10).ends_with("xxxxxxxxxx"));
    }
}
