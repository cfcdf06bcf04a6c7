//! `requests.get(url)` / `httpx.post(url)` (the module-level functions) → the
//! statement wrapped in `async with http_client(...) as client:` and
//! `await client.get(url)`, with requests' redirect behaviour and a timeout. The
//! helper's `http_client` is the `httpx.AsyncClient` the batch shares (a wrapper's
//! call, a gather), else one of the statement's own.

use super::http_client::check_request_keywords;
use super::{CallEdit, CallFacts, Declined, Description, HTTPX, Mapping, Requirement};

/// The `http_module` mapping.
pub struct HttpModule;

/// The module-level functions that have an `httpx.AsyncClient` method of the same name.
const VERBS: &[&str] = &["get", "post", "put", "patch", "delete", "head", "options", "request"];

impl Mapping for HttpModule {
    fn name(&self) -> &'static str {
        "http_module"
    }

    fn kind(&self) -> &'static str {
        "per-call-client"
    }

    fn description(&self) -> Description {
        Description {
            plan: "await on the batch's shared httpx.AsyncClient (async with http_client)",
            message: "await on the batch's shared httpx.AsyncClient",
        }
    }

    fn check(&self, facts: &CallFacts<'_>) -> Result<(), Declined> {
        let module_function = facts
            .api
            .split_once('.')
            .is_some_and(|(lib, verb)| (lib == "requests" || lib == "httpx") && VERBS.contains(&verb));
        if !module_function {
            return Err(Declined::no_mapping());
        }
        check_request_keywords(facts.call, facts.forwarded.as_ref())
    }

    fn edit(&self, edit: &mut CallEdit<'_, '_, '_, '_>) -> Result<(), Declined> {
        let api = edit.api().to_string();
        let method = api.rsplit('.').next().unwrap_or("request");
        // requests follows redirects for every method but HEAD; httpx for none.
        let follow = api.starts_with("requests.") && method != "head";
        let options = if follow { "follow_redirects=True" } else { "" };
        let client = edit.statement_client(options)?;
        edit.replace_callee(&format!("{client}.{method}"));
        edit.rename_keywords();
        edit.add_timeout();
        edit.await_call();
        Ok(())
    }

    fn requires(&self) -> &'static [Requirement] {
        &[HTTPX]
    }

    fn may_leave_unused(&self) -> &'static [&'static str] {
        &["requests"]
    }

    fn is_expression(&self) -> bool {
        false
    }
}
