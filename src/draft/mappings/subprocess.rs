//! `subprocess.run(args, ...)` → `await run_process(args, ...)`: an asyncio
//! subprocess behind the helper module's `run_process`, which keeps
//! `subprocess.run`'s result type, errors and timeout. The other one-shot entry
//! points are `run_process` with the arguments they imply, their value taken
//! from its result by a helper that keeps the call one awaitable expression:
//! `check_output(args, ...)` → `await process_output(run_process(args, ...,
//! stdout=subprocess.PIPE, check=True))`, `call` / `check_call` →
//! `await process_status(run_process(args, ...))` (with `check=True` for `check_call`).
//!
//! A `subprocess.Popen` bound to a local name (`proc = subprocess.Popen(...)` or
//! `with subprocess.Popen(...) as proc:`) that the function uses only through
//! `communicate()`, `wait()`, `poll()`, `kill()`, `terminate()`, `send_signal()`
//! and reads of `returncode`, `pid` and `args` → `await open_process(...)`, the
//! helper module's `AsyncProcess`, which has those with Popen's meaning;
//! `communicate()` and `wait()` are awaited (`with` becomes `async with`). A
//! process used any other way (its pipes read, passed on, returned) stays a
//! `Popen`, every call on it in a thread.

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

/// The class whose local processes `open_process` replaces.
const POPEN: &str = "subprocess.Popen";

/// Keywords of `Popen` that `open_process` takes with the same meaning.
const OPEN_PROCESS_KEYWORDS: &[&str] =
    &["stdin", "stdout", "stderr", "text", "universal_newlines", "encoding", "errors", "cwd", "env", "shell"];

/// A method of `Popen` that `AsyncProcess` has, with the positional arguments and
/// the keywords it takes. (`communicate` and `wait`, blocking in the catalog, are
/// awaited; the others answer at once and are left as they are.)
struct ProcessMethod {
    name: &'static str,
    positional: u32,
    keywords: &'static [&'static str],
}

const PROCESS_METHODS: &[ProcessMethod] = &[
    ProcessMethod { name: "communicate", positional: 2, keywords: &["input", "timeout"] },
    ProcessMethod { name: "wait", positional: 1, keywords: &["timeout"] },
    ProcessMethod { name: "poll", positional: 0, keywords: &[] },
    ProcessMethod { name: "kill", positional: 0, keywords: &[] },
    ProcessMethod { name: "terminate", positional: 0, keywords: &[] },
    ProcessMethod { name: "send_signal", positional: 1, keywords: &["sig"] },
];

/// Attributes of `Popen` that `AsyncProcess` has with the same meaning.
const PROCESS_ATTRIBUTES: &[&str] = &["returncode", "pid", "args"];

/// Whether the call constructs the process or is one of its methods.
fn is_process_api(api: &str) -> bool {
    api == POPEN || api.strip_prefix(POPEN).is_some_and(|m| m.starts_with('.'))
}

/// A `Popen` and the calls on it are native together or not at all: the checks
/// see the whole local (its constructor, every use, every call), whichever of its
/// calls asks, so they answer alike.
fn check_process(facts: &CallFacts<'_>) -> Result<(), Declined> {
    let Some(receiver) = &facts.local else {
        return Err(Declined::new(
            "a `subprocess.Popen` is converted only when bound to a local name (`proc = subprocess.Popen(...)` or `with subprocess.Popen(...) as proc:`) that the function uses itself",
        ));
    };
    let local = receiver.local;
    let name = &local.name;
    let stays = |why: String| Err(Declined(format!("the process `{name}` stays a `subprocess.Popen`: {why}")));
    if receiver.class.as_deref() != Some(POPEN) {
        let class = receiver.class.as_deref().unwrap_or("an unknown class");
        return stays(format!("it is made by `{class}`, not by `{POPEN}` itself"));
    }
    let Some(ctor) = receiver.ctor else { return stays("its construction is not a call the analysis saw".into()) };
    if let Some(k) = ctor.keywords.iter().find(|k| !OPEN_PROCESS_KEYWORDS.contains(&k.as_str())) {
        return stays(format!("`{k}=` (line {}) is not supported by `open_process`", ctor.pos.line));
    }
    if ctor.has_splat || ctor.positional != 1 {
        return stays(format!("only `{POPEN}(args, keyword=...)` is rewritten natively (line {})", ctor.pos.line));
    }
    if ctor.runs_interactive {
        return stays("it runs the user's editor or pager, which a timeout would cut off".into());
    }
    if let Some(line) = local.escapes {
        return stays(format!("it is used other than through its methods and attributes (line {line})"));
    }
    if let Some(m) = local.methods.iter().find(|m| !PROCESS_METHODS.iter().any(|p| p.name == m.as_str())) {
        return stays(format!("`{name}.{m}()` has no async equivalent in `AsyncProcess`"));
    }
    if let Some(a) = local.attributes.iter().find(|a| !PROCESS_ATTRIBUTES.contains(&a.as_str())) {
        return stays(format!("`{name}.{a}` (a pipe or setting of the live process) has no async equivalent"));
    }
    for call in &receiver.calls {
        let Some(method) = call.callee.as_ref().and_then(|c| c.last()) else { continue };
        let Some(spec) = PROCESS_METHODS.iter().find(|p| p.name == method.as_str()) else { continue };
        let extra = call.keywords.iter().find(|k| !spec.keywords.contains(&k.as_str()));
        if call.has_splat || call.positional > spec.positional || extra.is_some() {
            return stays(format!(
                "`{name}.{method}(...)` at line {} passes arguments `AsyncProcess.{method}` does not take as written",
                call.pos.line
            ));
        }
    }
    Ok(())
}

impl Mapping for Subprocess {
    fn name(&self) -> &'static str {
        "subprocess"
    }

    fn kind(&self) -> &'static str {
        "subprocess"
    }

    fn description(&self) -> Description {
        Description::same("await run_process / open_process (asyncio subprocess)")
    }

    /// `run`, `call`, `check_call` and `check_output` with the command as their one
    /// positional argument and keywords `run_process` takes with the same meaning;
    /// a `Popen` local and its methods as [`check_process`] says.
    fn check(&self, facts: &CallFacts<'_>) -> Result<(), Declined> {
        if is_process_api(facts.api) {
            return check_process(facts);
        }
        let Some(entry) = entry_point(facts.api) else { return Err(Declined::no_mapping()) };
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
        if edit.api() == POPEN {
            edit.need_helper("open_process");
            edit.replace_callee("open_process");
            edit.enter_local_asynchronously();
            edit.await_call();
            return Ok(());
        }
        if is_process_api(edit.api()) {
            edit.add_timeout();
            edit.await_call();
            return Ok(());
        }
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
