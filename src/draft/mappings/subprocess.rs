//! `subprocess.run(args, ...)` → `await run_process(args, ...)`: an asyncio
//! subprocess behind the helper module's `run_process`, which keeps
//! `subprocess.run`'s result type, errors and timeout.

use super::{CallEdit, CallFacts, Declined, Description, Mapping};

/// The `subprocess` mapping.
pub struct Subprocess;

/// Keywords of `subprocess.run` that the helper's `run_process` takes.
const RUN_PROCESS_KEYWORDS: &[&str] = &[
    "input",
    "capture_output",
    "stdout",
    "stderr",
    "text",
    "universal_newlines",
    "encoding",
    "errors",
    "check",
    "timeout",
    "cwd",
    "env",
];

impl Mapping for Subprocess {
    fn name(&self) -> &'static str {
        "subprocess"
    }

    fn kind(&self) -> &'static str {
        "subprocess"
    }

    fn description(&self) -> Description {
        Description::same("await run_process (asyncio subprocess)")
    }

    /// Only `subprocess.run(args, keyword=...)` with keywords `run_process` knows:
    /// the other entry points (`call`, `check_output`, `Popen`) have no rewrite yet.
    fn check(&self, facts: &CallFacts<'_>) -> Result<(), Declined> {
        if facts.api != "subprocess.run" {
            return Err(Declined::no_mapping());
        }
        let call = facts.call;
        if let Some(k) = call.keywords.iter().find(|k| !RUN_PROCESS_KEYWORDS.contains(&k.as_str())) {
            return Err(Declined(format!("`{k}=` is not supported by the asyncio subprocess rewrite")));
        }
        if call.runs_interactive {
            return Err(Declined::new("runs the user's editor or pager, which a timeout would cut off"));
        }
        if call.has_splat || call.positional != 1 {
            return Err(Declined::new("only `subprocess.run(args, keyword=...)` calls are rewritten natively"));
        }
        Ok(())
    }

    fn edit(&self, edit: &mut CallEdit<'_, '_, '_, '_>) -> Result<(), Declined> {
        edit.need_helper("run_process");
        edit.replace_callee("run_process");
        edit.add_timeout();
        edit.await_call();
        Ok(())
    }

    fn may_leave_unused(&self) -> &'static [&'static str] {
        &["subprocess"]
    }
}
