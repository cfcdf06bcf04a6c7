//! Rendering `propose` results: the diff and a summary of every plan, as text or JSON.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use crate::draft::diff;
use crate::plan::PlanStatus;
use crate::propose::{DeliveryStatus, Proposal};
use crate::validate::Check;

/// The proposal as one JSON document (`version`, `branch`, `commit`, `diff`, `plans`, `validation`, ...).
pub fn json(proposal: &Proposal) -> String {
    let mut out = serde_json::to_string_pretty(proposal).expect("proposals serialise");
    out.push('\n');
    out
}

/// The diff (coloured when `color`), then what happened to each plan and each check.
pub fn text(proposal: &Proposal, color: bool) -> String {
    let mut out = String::new();
    if proposal.dry_run && !proposal.diff.is_empty() {
        out.push_str(&if color { diff::colorize(&proposal.diff) } else { proposal.diff.clone() });
        out.push('\n');
    }
    let paint = |style: Style, text: &str| if color { format!("{style}{text}{style:#}") } else { text.to_string() };
    write_plans(&mut out, proposal, &paint);
    if proposal.dry_run && !proposal.validation.is_empty() {
        let _ = writeln!(out, "{}", paint(BOLD, "Checks"));
        write_checks(&mut out, &proposal.validation, &paint, GREEN, RED);
    }
    write_branches(&mut out, proposal, &paint);
    write_summary(&mut out, proposal);
    out
}

const BOLD: Style = Style::new().bold();
const GREEN: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Green)));
const RED: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)));

/// Each plan with its status, its functions, calls, loops and clients, and why.
fn write_plans(out: &mut String, proposal: &Proposal, paint: &dyn Fn(Style, &str) -> String) {
    let _ = writeln!(out, "{}", paint(BOLD, &format!("Plans ({})", proposal.plans.len())));
    if proposal.plans.is_empty() {
        let _ = writeln!(out, "  nothing to convert: no function does blocking I/O that async code would call");
    }
    for plan in &proposal.plans {
        let (label, style) = match plan.status {
            PlanStatus::Converted => ("converted", Style::new().fg_color(Some(AnsiColor::Green.into()))),
            PlanStatus::NeedsLlm => ("needs llm", Style::new().fg_color(Some(AnsiColor::Yellow.into()))),
            PlanStatus::Failed => ("failed", Style::new().fg_color(Some(AnsiColor::Red.into()))),
            PlanStatus::Skipped => ("skipped", Style::new().dimmed()),
            PlanStatus::Planned => ("planned", Style::new()),
        };
        let _ = writeln!(out, "  {} {}  {}", paint(style, &format!("{label:<9}")), plan.id, plan.title);
        for f in &plan.functions {
            let how = if f.already_async {
                "already async; its calls converted".to_string()
            } else if f.wrapper {
                format!("async `{}`, sync wrapper `{}` kept", f.async_name, f.qualname.rsplit('.').next().unwrap_or(""))
            } else {
                "async".to_string()
            };
            let generator = if f.generator { ", async generator" } else { "" };
            let _ = writeln!(out, "      {} ({}:{}): {how}{generator}", f.qualname, f.path, f.line);
        }
        for name in &plan.offloaded {
            let _ = writeln!(out, "      {name}: stays sync, awaited through asyncio.to_thread");
        }
        for c in &plan.calls {
            let why = c.why_thread.as_ref().map(|w| format!(" ({w})")).unwrap_or_default();
            let _ = writeln!(out, "      {}:{}: `{}` → {}{why}", c.path, c.line, c.api, c.rewrite.description().plan);
        }
        for g in &plan.gathers {
            let _ = writeln!(out, "      {}:{}: loop in {} → bounded gather", g.path, g.line, g.function);
        }
        for t in &plan.throttles {
            let _ = writeln!(
                out,
                "      {}:{}: loop in {} sleeps on every item ({}), a rate limit: {}",
                t.path,
                t.line,
                t.function,
                t.sleep_where(),
                t.does
            );
        }
        for c in &plan.clients {
            let _ =
                writeln!(out, "      {}.{}: {} → {} with aclose() and async with", c.class, c.attribute, c.from, c.to);
        }
        for reason in &plan.reasons {
            let _ = writeln!(out, "      why: {reason}");
        }
    }
}

/// Each branch with its status, checks, reasons, pull request and push.
fn write_branches(out: &mut String, proposal: &Proposal, paint: &dyn Fn(Style, &str) -> String) {
    let (green, red) = (GREEN, RED);
    if !proposal.proposals.is_empty() {
        let _ = writeln!(out, "{}", paint(BOLD, &format!("Branches ({})", proposal.proposals.len())));
    }
    for p in &proposal.proposals {
        let (label, style) = match p.status {
            DeliveryStatus::Committed => ("committed", green),
            DeliveryStatus::UpToDate => ("up to date", green),
            DeliveryStatus::Failed => ("FAILED", red),
            DeliveryStatus::Skipped => ("skipped", Style::new().dimmed()),
        };
        let commit = p.commit.as_deref().map(|c| format!(" {}", &c[..c.len().min(10)])).unwrap_or_default();
        let _ = writeln!(out, "  {} {}{commit}  {}", paint(style, &format!("{label:<10}")), p.branch, p.title);
        if p.validated_with > 1 {
            let _ = writeln!(
                out,
                "      validated in run {} together with {} other proposals",
                p.run.unwrap_or(0),
                p.validated_with - 1
            );
        }
        write_checks(out, &p.validation, paint, green, red);
        for reason in &p.reasons {
            let _ = writeln!(out, "      {reason}");
        }
        if let Some(pr) = &p.pull_request {
            let _ = writeln!(out, "      pull-request description: {}", pr.path.display());
        }
        if let Some(push) = &p.push {
            match &push.error {
                None => {
                    let _ = writeln!(out, "      pushed to {}", push.remote);
                }
                Some(e) => {
                    let _ = writeln!(out, "      {} {e}", paint(red, "push failed:"));
                }
            }
        }
    }
}

/// The validation runs, the notes and the diff's size.
fn write_summary(out: &mut String, proposal: &Proposal) {
    if !proposal.dry_run && proposal.validation_runs > 0 {
        let _ = writeln!(
            out,
            "{} validation run{}; logs in {}",
            proposal.validation_runs,
            if proposal.validation_runs == 1 { "" } else { "s" },
            proposal.log_dir.as_ref().map(|d| d.display().to_string()).unwrap_or_default()
        );
    }
    for note in &proposal.notes {
        let _ = writeln!(out, "note: {note}");
    }
    let s = &proposal.stat;
    let _ = writeln!(
        out,
        "{} file{} changed, {} insertion{}(+), {} deletion{}(-){}",
        s.files,
        if s.files == 1 { "" } else { "s" },
        s.insertions,
        if s.insertions == 1 { "" } else { "s" },
        s.deletions,
        if s.deletions == 1 { "" } else { "s" },
        if proposal.dry_run { " (dry run: nothing written)" } else { " in all proposals" }
    );
}

/// Each check with its result and duration; a failure's detail (its output's tail) below it.
fn write_checks(out: &mut String, checks: &[Check], paint: &dyn Fn(Style, &str) -> String, green: Style, red: Style) {
    for check in checks {
        let mark = if check.ok { paint(green, "ok") } else { paint(red, "FAILED") };
        let took = if check.duration_ms >= 1000.0 {
            format!("{:.1} s", check.duration_ms / 1000.0)
        } else {
            format!("{:.0} ms", check.duration_ms)
        };
        let _ = writeln!(out, "      {:<16} {mark} ({took})", check.name);
        if let Some(detail) = &check.detail {
            for line in detail.lines() {
                let _ = writeln!(out, "        {line}");
            }
        }
        if !check.ok
            && let Some(log) = &check.log
        {
            let _ = writeln!(out, "        full output: {}", log.display());
        }
    }
}
