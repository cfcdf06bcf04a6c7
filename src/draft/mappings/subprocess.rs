//! `subprocess.run(args, ...)` → `await run_process(args, ...)`: an asyncio
//! subprocess behind the helper module's `run_process`, which keeps
//! `subprocess.run`'s result type, errors and timeout. The other one-shot entry
//! points are `run_process` with the arguments they imply, their value taken
//! from its result by a helper that keeps the call one awaitable expression:
//! `check_output(args, ...)` → `await process_output(run_process(args, ...,
//! stdout=subprocess.PIPE, check=True))`, `call` / `check_call` →
//! `await process_status(run_process(args, ...))` (with `check=True` for `check_call`).

use super::{CallEdit, CallFacts, Declined, Description, Mapping};

/// The `subprocess` mapping.
pub struct Subprocess;

/// One entry point of `subprocess` that has a rewrite on `run_process`.
struct EntryPoint {
    api: &'static str,
    /// Its keywords that `run_process` takes with the same meaning: any other
    /// keyword sends the call to a thread.
    keywords: &'static [&'static str],
    /// The helper that takes its value from `run_process`'s result, if any.
    value: Option<&'static str>,
    /// Keywords the entry point itself passes to `run_process`.
    implies: &'static [&'static str],
}

/// Keywords of `Popen` that `run_process` takes with the same meaning.
const POPEN_KEYWORDS: &[&str] =
    &["stdout", "stderr", "text", "universal_newlines", "encoding", "errors", "timeout", "cwd", "env", "shell"];

const ENTRY_POINTS: &[EntryPoint] = &[
    EntryPoint {
        api: "subprocess.run",
        keywords: &[
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
            "shell",
        ],
        value: None,
        implies: &[],
    },
    // `check_output` sets stdout itself (and refuses one given) and checks the status.
    EntryPoint {
        api: "subprocess.check_output",
        keywords: &[
            "input",
            "stderr",
            "text",
            "universal_newlines",
            "encoding",
            "errors",
            "timeout",
            "cwd",
            "env",
            "shell",
        ],
        value: Some("process_output"),
        implies: &["stdout=subprocess.PIPE", "check=True"],
    },
    // `call` and `check_call` take Popen's keywords (no `input`, no `capture_output`).
    EntryPoint { api: "subprocess.call", keywords: POPEN_KEYWORDS, value: Some("process_status"), implies: &[] },
    EntryPoint {
        api: "subprocess.check_call",
        keywords: POPEN_KEYWORDS,
        value: Some("process_status"),
        implies: &["check=True"],
    },
];

fn entry_point(api: &str) -> Option<&'static EntryPoint> {
    ENTRY_POINTS.iter().find(|e| e.api == api)
}

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

    /// `run`, `call`, `check_call` and `check_output` with the command as their one
    /// positional argument and keywords `run_process` takes with the same meaning.
    /// `Popen` (a live process whose pipes and methods the code uses) has no rewrite.
    fn check(&self, facts: &CallFacts<'_>) -> Result<(), Declined> {
        let Some(entry) = entry_point(facts.api) else {
            if facts.api.starts_with("subprocess.Popen") {
                return Err(Declined::new(
                    "a `subprocess.Popen` is a live process (its pipes, `poll()`, `wait()`): only the one-shot `run`, `call`, `check_call` and `check_output` are rewritten natively",
                ));
            }
            return Err(Declined::no_mapping());
        };
        let call = facts.call;
        if let Some(k) = call.keywords.iter().find(|k| !entry.keywords.contains(&k.as_str())) {
            let api = facts.api;
            return Err(Declined(format!("`{k}=` of `{api}` is not supported by the asyncio subprocess rewrite")));
        }
        if call.runs_interactive {
            return Err(Declined::new("runs the user's editor or pager, which a timeout would cut off"));
        }
        if call.has_splat || call.positional != 1 {
            return Err(Declined(format!("only `{}(args, keyword=...)` calls are rewritten natively", facts.api)));
        }
        Ok(())
    }

    fn edit(&self, edit: &mut CallEdit<'_, '_, '_, '_>) -> Result<(), Declined> {
        let entry = entry_point(edit.api()).ok_or_else(Declined::no_mapping)?;
        edit.need_helper("run_process");
        for keyword in entry.implies {
            if keyword.starts_with("stdout=subprocess.") {
                edit.need_import("subprocess");
            }
            edit.add_keyword(keyword);
        }
        match entry.value {
            Some(helper) => {
                edit.need_helper(helper);
                edit.wrap_call(&format!("{helper}(run_process"), ")");
            }
            None => edit.replace_callee("run_process"),
        }
        edit.add_timeout();
        edit.await_call();
        Ok(())
    }

    fn may_leave_unused(&self) -> &'static [&'static str] {
        &["subprocess"]
    }
}
