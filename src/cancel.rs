//! Cancellation: Ctrl-C and SIGTERM set a flag that long work polls.
//!
//! Nothing is done inside the signal handler itself; the code that runs child
//! processes sees the flag, kills their process groups and returns, so that the
//! usual clean-up (worktree removal, logs) runs on the way out.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

fn flag() -> &'static Arc<AtomicBool> {
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Route SIGINT and SIGTERM to the cancellation flag (once per process).
pub fn install() -> std::io::Result<()> {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    if INSTALLED.get().is_some() {
        return Ok(());
    }
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(flag()))?;
    }
    let _ = INSTALLED.set(());
    Ok(())
}

/// Whether the user asked to stop.
pub fn requested() -> bool {
    flag().load(Ordering::Relaxed)
}

/// Ask every running piece of work to stop (as a signal would).
pub fn request() {
    flag().store(true, Ordering::Relaxed);
}
