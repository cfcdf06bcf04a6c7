//! RA109: a loop of independent calls sleeps on every item, a deliberate rate limit.

use super::{Context, Finding, RuleInfo};
use crate::analysis::callgraph::CallTarget;
use crate::analysis::loops::{self, Throttled};
use crate::analysis::summary::LoopKind;

/// ## What it does
/// Flags a `for` loop or a comprehension, in a function that is or must become
/// async, whose iterations are independent (as RA105 judges them) but which
/// sleeps on every item: a `time.sleep` (in async code, an awaited
/// `asyncio.sleep`) directly in the loop body, outside any `if` or `try`, or a
/// call of a repository function whose own body sleeps that way on every call. Such a sleep is a deliberate rate limit, so RA105 does not
/// report the loop and the conversion keeps it sequential, its sleep becoming
/// `await asyncio.sleep`. A sleep only on some items (a backoff after an error)
/// is neither: that loop is left alone.
///
/// It also flags such a loop when every item reaches, through calls made every
/// time (outside any `if`, `try` or loop, and not the call of a generator), a
/// repository function wrapped by a rate limiter: a decorator of the repository
/// (`@rate_limit`, `@throttle(2)`) whose wrapper sleeps outside any loop, under a
/// condition or not (a limiter sleeps only when the last call was too recent; a
/// sleep in a loop is a retry's backoff). That limiter paces the calls wherever
/// they come from, not the loop: the items stay independent and RA105 reports
/// the loop too, saying that a gather must keep the limiter's spacing; the
/// conversion keeps it sequential.
///
/// ## Why is this bad?
/// Sleeping after each item makes the loop take the sum of every call and every
/// pause, one after another. What the remote side limits is usually how often
/// requests start: spacing the starts of the items by the same delay keeps that
/// rate while the calls themselves overlap, so a loop of slow calls finishes in
/// about the number of items times the delay.
///
/// ## Example
/// ```python
/// def crawl(urls):
///     pages = []
///     for url in urls:
///         pages.append(fetch(url))
///         time.sleep(1.0)  # at most one request a second
///     return pages
/// ```
///
/// Use instead:
/// ```python
/// class StartSpacing:
///     """Lets one caller start every `interval` seconds."""
///
///     def __init__(self, interval: float) -> None:
///         self.interval = interval
///         self.next_start = 0.0
///
///     async def wait(self) -> None:
///         now = asyncio.get_running_loop().time()
///         start = max(now, self.next_start)
///         self.next_start = start + self.interval
///         await asyncio.sleep(start - now)
///
///
/// async def crawl(urls):
///     spacing = StartSpacing(1.0)
///
///     async def one(url):
///         await spacing.wait()
///         return await fetch(url)
///
///     return await asyncio.gather(*(one(url) for url in urls))
/// ```
///
/// ## Fix safety
/// Not rewritten into concurrency: the rules drafter keeps the loop sequential and
/// turns its sleep into `await asyncio.sleep`, which keeps the rate exactly.
/// Spacing the starts instead lets several calls run at once when a call takes
/// longer than the delay; whether the service allows that is for a person to
/// decide.
pub struct ThrottledLoop;

pub const INFO: RuleInfo = RuleInfo {
    code: "RA109",
    name: "throttled-loop",
    summary: "A loop of independent calls sleeps on every item to limit their rate",
    source: "src/analysis/rules/throttled_loop.rs",
};

pub fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    for throttled in loops::throttled(ctx.index, ctx.graph) {
        if ctx.reports(throttled.function) {
            out.push(finding(ctx, &throttled));
        }
    }
}

fn finding(ctx: &Context<'_>, t: &Throttled) -> Finding {
    let graph = ctx.graph;
    let lp = &ctx.index.modules[t.module as usize].summary.loops[t.loop_idx as usize];
    let what = if lp.kind == LoopKind::Comprehension { "comprehension" } else { "loop" };
    let sleep = t.sleep_text(ctx.index);
    let api = match &graph.targets[t.sleep.0 as usize][t.sleep.1 as usize] {
        CallTarget::Blocking(api) => Some(api.name.clone()),
        _ => None,
    };
    let how = match t.via {
        Some(g) if t.shared => format!(
            "reaches `{}` on every item, whose decorator sleeps before each call to space them (`{sleep}`)",
            graph.functions[g as usize].qualname
        ),
        Some(g) => format!("calls `{}`, which sleeps on every call (`{sleep}`)", graph.functions[g as usize].qualname),
        None => format!("sleeps on every item (`{sleep}`)"),
    };
    let spacing = match (t.seconds(ctx.index), t.sleep_arg(ctx.index)) {
        (Some(seconds), _) => format!("one item every {seconds} s"),
        (None, Some(name)) => format!("one item every `{name}` seconds"),
        (None, None) => "items as far apart as the sleep".to_string(),
    };
    let message = format!(
        "{what} over `{}` {how}: a deliberate rate limit, so the conversion keeps it sequential; as async code its independent items could run concurrently at the same rate: start {spacing} (an `asyncio` start limiter) instead of sleeping after each",
        lp.iter_text
    );
    let mut finding = ctx.finding(&INFO, t.module, lp.pos, Some(t.function), message);
    finding.api = api;
    if let Some(g) = t.via {
        finding.call_path = vec![
            graph.functions[t.function as usize].qualname.to_string(),
            graph.functions[g as usize].qualname.to_string(),
        ];
        finding.call_path.extend(finding.api.clone());
    }
    finding
}
