//! Commit messages and pull-request descriptions: what changed, and what validated it.

use std::fmt::Write as _;

use crate::git::Base;
use crate::git::branch::PLAN_TRAILER;
use crate::llm::client::CallUsage;
use crate::plan::Plan;
use crate::validate::Check;

/// Titles stay under this many characters (git's and forges' convention).
const TITLE_MAX: usize = 72;

/// Everything a message says.
pub struct Facts<'a> {
    pub plans: &'a [&'a Plan],
    /// The checks of the run that validated the change (re-parse and re-analysis included).
    pub checks: &'a [Check],
    pub base: &'a Base,
    pub drafter: &'a str,
    /// How many proposals were validated in the same run (1: alone).
    pub validated_with: usize,
    /// Set when the repository's hooks were skipped by configuration.
    pub hooks_skipped: bool,
    /// The LLM calls that drafted it, when an LLM did.
    pub llm_usage: Option<CallUsage>,
}

/// The title: the plan's own, or a summary of several; always under 72 characters.
pub fn title(plans: &[&Plan]) -> String {
    let text = match plans {
        [one] => one.title.clone(),
        _ => {
            let functions: usize = plans.iter().map(|p| p.functions.len()).sum();
            format!("Make {functions} functions async ({} independent conversions)", plans.len())
        }
    };
    shorten(&text, TITLE_MAX - 1)
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max - 1).collect();
    format!("{}…", cut.trim_end())
}

fn seconds(ms: f64) -> String {
    if ms < 1000.0 { format!("{ms:.0} ms") } else { format!("{:.1} s", ms / 1000.0) }
}

/// The lists of what changed, with `bullet` before each item.
fn changes(facts: &Facts<'_>, bullet: &str, code: &dyn Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut section = |heading: &str, items: Vec<String>| {
        if !items.is_empty() {
            let _ = writeln!(out, "{heading}");
            for item in items {
                let _ = writeln!(out, "{bullet}{item}");
            }
            out.push('\n');
        }
    };
    let plans = facts.plans;
    section(
        "Functions made async:",
        plans
            .iter()
            .flat_map(|p| &p.functions)
            .filter(|f| !f.already_async)
            .map(|f| {
                let name = f.qualname.rsplit('.').next().unwrap_or(&f.qualname);
                if f.wrapper {
                    format!("{} → {} (sync wrapper {} kept)", code(&f.qualname), code(&f.async_name), code(name))
                } else {
                    code(&f.qualname)
                }
            })
            .collect(),
    );
    section(
        "Async functions whose blocking calls are now awaited:",
        plans.iter().flat_map(|p| &p.functions).filter(|f| f.already_async).map(|f| code(&f.qualname)).collect(),
    );
    section(
        "Blocking calls replaced:",
        plans
            .iter()
            .flat_map(|p| &p.calls)
            .map(|c| {
                let why = c.why_thread.as_ref().map(|w| format!(" ({w})")).unwrap_or_default();
                format!("{}:{} {} → {}{why}", c.path, c.line, code(&c.api), c.rewrite.description().message)
            })
            .collect(),
    );
    section(
        "Loops turned into bounded gathers (results in the original order):",
        plans
            .iter()
            .flat_map(|p| &p.gathers)
            .map(|g| format!("{}:{} in {}", g.path, g.line, code(&g.function)))
            .collect(),
    );
    section(
        "Loops that sleep on every item (rate limits):",
        plans
            .iter()
            .flat_map(|p| &p.throttles)
            .map(|t| {
                let via = t.via.as_ref().map(|f| format!(" in {}", code(f))).unwrap_or_default();
                format!("{}:{} in {} ({}{via}): {}", t.path, t.line, code(&t.function), code(&t.sleep), t.does)
            })
            .collect(),
    );
    section(
        "Clients:",
        plans
            .iter()
            .flat_map(|p| &p.clients)
            .map(|c| {
                format!(
                    "{}.{}: {} → {} (closed with aclose(), usable with async with)",
                    c.class, c.attribute, c.from, c.to
                )
            })
            .collect(),
    );
    section(
        "Sync wrappers kept for existing callers:",
        plans
            .iter()
            .flat_map(|p| &p.functions)
            .filter(|f| f.wrapper)
            .map(|f| format!("{} runs {} to completion", code(&f.qualname), code(&f.async_name)))
            .collect(),
    );
    section(
        "Kept sync, awaited through asyncio.to_thread:",
        plans.iter().flat_map(|p| &p.offloaded).map(|o| code(o)).collect(),
    );
    out
}

/// The validation lines: each check with its result and duration.
fn validation(facts: &Facts<'_>, bullet: &str) -> String {
    let mut out = String::new();
    let together = if facts.validated_with > 1 {
        format!(", together with {} other independent conversions", facts.validated_with - 1)
    } else {
        String::new()
    };
    let _ = writeln!(out, "Validated on {} ({}){together}:", facts.base.short(), facts.base.summary);
    for check in facts.checks {
        let _ = writeln!(
            out,
            "{bullet}{}: {} ({})",
            check.name,
            if check.ok { "passed" } else { "FAILED" },
            seconds(check.duration_ms)
        );
    }
    if facts.hooks_skipped {
        let _ = writeln!(out, "{bullet}commit hooks: skipped ([validate] hooks = \"off\")");
    }
    out
}

/// The commit message: title, what changed, what validated it, trailers.
pub fn commit_message(facts: &Facts<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}\n", title(facts.plans));
    let _ = writeln!(
        out,
        "Turns sequential blocking I/O into async/await (drafted by refactor-async: {}).\n",
        facts.drafter
    );
    out.push_str(&changes(facts, "- ", &|s| s.to_string()));
    out.push_str(&validation(facts, "- "));
    out.push('\n');
    let ids: Vec<&str> = facts.plans.iter().map(|p| p.id.as_str()).collect();
    let _ = writeln!(out, "{PLAN_TRAILER}: {}", ids.join(", "));
    let _ = writeln!(out, "Refactor-Async-Drafter: {}", facts.drafter);
    let _ = writeln!(out, "Refactor-Async-Base: {}", facts.base.oid);
    if let Some(u) = &facts.llm_usage {
        let _ = writeln!(out, "Refactor-Async-LLM-Usage: {}", usage_line(u));
    }
    out
}

/// `3 calls, 5120 tokens in, 1432 out, 1 retry, 12.4 s`.
pub fn usage_line(u: &CallUsage) -> String {
    format!(
        "{} call{}, {} tokens in, {} out, {} retr{}, {:.1} s",
        u.calls,
        if u.calls == 1 { "" } else { "s" },
        u.prompt_tokens,
        u.completion_tokens,
        u.retries,
        if u.retries == 1 { "y" } else { "ies" },
        u.duration_ms / 1000.0
    )
}

/// The pull-request title and markdown body.
pub fn pull_request(facts: &Facts<'_>, branch: &str, stat: &str) -> (String, String) {
    let mut body = String::new();
    let _ = writeln!(body, "## What this changes\n");
    let _ = writeln!(
        body,
        "Sequential blocking I/O becomes async/await, so independent calls run concurrently. \
         Existing sync callers keep working through the sync wrappers. Drafted by refactor-async ({}) \
         on branch `{branch}` ({stat}).\n",
        facts.drafter
    );
    body.push_str(&changes(facts, "- ", &|s| format!("`{s}`")));
    let _ = writeln!(body, "## Validation\n");
    body.push_str(&validation(facts, "- "));
    if let Some(u) = &facts.llm_usage {
        let _ = writeln!(body, "\nLLM: {}.", usage_line(u));
    }
    let _ = writeln!(
        body,
        "\n## Reviewing\n\nThe async functions keep the behaviour of the sync ones: same results in the same order, \
         the same exceptions, a timeout on every external call. Nothing in this branch was written by hand; \
         close it to drop the proposal, or push your own commits to take it over (refactor-async then leaves the branch alone)."
    );
    (title(facts.plans), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_stay_short() {
        let long = "Make `a_very_long_function_name_indeed` and `another_quite_long_function_name` (and 3 more) async";
        let t = shorten(long, TITLE_MAX - 1);
        assert!(t.chars().count() < TITLE_MAX, "{t}");
        assert!(t.ends_with('…'));
        assert_eq!(shorten("Make `x` async", 71), "Make `x` async");
    }
}
