//! A one-line progress display on standard error, only when it is a terminal.
//!
//! Long analyses (thousands of files) otherwise look hung. The line is redrawn
//! a few times a second from a thread of its own and erased when work ends, so
//! it never mixes with the report on standard output.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::Duration;

use crate::analysis::Progress;

/// Only draw after this long: short runs stay quiet.
const DELAY: Duration = Duration::from_millis(300);
const TICK: Duration = Duration::from_millis(100);

/// Run `work` while showing how many files of `progress` are done, if stderr is a terminal and `enabled`.
pub fn with_progress<T>(progress: &Arc<Progress>, enabled: bool, work: impl FnOnce() -> T) -> T {
    let bar = if enabled { Bar::start(Arc::clone(progress)) } else { None };
    let result = work();
    if let Some(bar) = bar {
        bar.stop();
    }
    result
}

/// The progress line, from [`Bar::start`] to [`Bar::stop`] (around a closure with
/// [`with_progress`], or between the pipeline's `Analysing` and `Analysed` events).
pub struct Bar {
    stop: Sender<()>,
    drawer: thread::JoinHandle<()>,
}

impl Bar {
    /// Start drawing, if stderr is a terminal.
    pub fn start(progress: Arc<Progress>) -> Option<Bar> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let drawer = thread::spawn(move || draw(&progress, &stopped));
        Some(Bar { stop, drawer })
    }

    /// Erase the line and wait for the drawing thread.
    pub fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.drawer.join();
    }
}

/// Redraw the line until told to stop, then erase it.
fn draw(progress: &Progress, stopped: &Receiver<()>) {
    if stopped.recv_timeout(DELAY).is_ok() {
        return;
    }
    loop {
        let total = progress.total.load(Ordering::Relaxed);
        let done = progress.done.load(Ordering::Relaxed);
        let line = if total == 0 {
            "analysing: finding Python files…".to_string()
        } else if done < total {
            format!("analysing: {done}/{total} files parsed")
        } else {
            format!("analysing: {total} files parsed; resolving calls…")
        };
        let _ = write!(std::io::stderr(), "\r\x1b[2K{line}");
        if stopped.recv_timeout(TICK).is_ok() {
            break;
        }
    }
    let _ = write!(std::io::stderr(), "\r\x1b[2K");
}
