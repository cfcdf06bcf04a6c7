//! The run's events as the command line shows them: one progress line each on
//! standard error, and the analysis progress bar on a terminal.

use std::sync::Mutex;

use super::progress::Bar;
use crate::event::{Event, Sink};

/// The line an event prints, if it prints one.
pub fn line(event: &Event) -> Option<String> {
    Some(match event {
        Event::Proposing { base, summary } => format!("refactor-async: proposing from {base} ({summary})"),
        Event::Analysing { .. } | Event::Analysed => return None,
        Event::DraftingWithLlm { plans, llm } => format!("drafting {plans} plan(s) with {llm}"),
        Event::Validating { proposals, commands } => format!(
            "validating {proposals} proposal{} with: {}",
            if *proposals == 1 { "" } else { "s" },
            commands.join(", ")
        ),
        Event::CheckStarted { label, name } => format!("  {label}{name} ..."),
        Event::CheckFinished { label, name, summary, seconds, .. } => {
            format!("  {label}{name}: {summary} ({seconds:.1} s)")
        }
        Event::Repairing { branch, llm, check } => format!("repairing {branch} with {llm} (`{check}` failed)"),
        Event::Pushing { branch, remote } => format!("pushing {branch} to {remote}"),
    })
}

/// Prints events to standard error; shows nothing when not `enabled` (`--format json`).
pub struct Printer {
    enabled: bool,
    bar: Mutex<Option<Bar>>,
}

impl Printer {
    /// A printer that shows events only when `enabled`.
    pub fn new(enabled: bool) -> Printer {
        Printer { enabled, bar: Mutex::new(None) }
    }
}

impl Sink for Printer {
    fn emit(&self, event: Event) {
        if !self.enabled {
            return;
        }
        let mut bar = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            Event::Analysing { progress } => *bar = Bar::start(progress),
            Event::Analysed => {
                if let Some(bar) = bar.take() {
                    bar.stop();
                }
            }
            other => {
                if let Some(line) = line(&other) {
                    eprintln!("{line}");
                }
            }
        }
    }
}

impl Drop for Printer {
    fn drop(&mut self) {
        // A run that failed mid-analysis still erases its progress line.
        if let Some(bar) = self.bar.get_mut().unwrap_or_else(|e| e.into_inner()).take() {
            bar.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_as_before() {
        let check = Event::CheckFinished {
            label: "[run 1: refactor-async/x] ".into(),
            name: "make test".into(),
            ok: true,
            summary: "passed".into(),
            seconds: 1.34,
        };
        assert_eq!(line(&check).unwrap(), "  [run 1: refactor-async/x] make test: passed (1.3 s)");
        let validating =
            Event::Validating { proposals: 2, commands: vec!["make test".into(), "make typecheck".into()] };
        assert_eq!(line(&validating).unwrap(), "validating 2 proposals with: make test, make typecheck");
    }
}
