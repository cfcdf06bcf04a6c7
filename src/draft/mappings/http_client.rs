//! `self.session.get(url)` where the attribute holds a `requests.Session` or an
//! `httpx.Client` → `await self.session.get(url)`, the attribute becoming an
//! `httpx.AsyncClient` (the clients phase converts its construction and gives the
//! class `aclose()` and `async with`).

use super::{CallEdit, CallFacts, ClientClass, Description, Mapping, NO_MAPPING, class_of};
use crate::analysis::summary::CallSite;

/// The `http_client` mapping.
pub struct HttpClient;

/// The HTTP clients converted when held in an attribute.
const CLASSES: &[ClientClass] = &[
    ClientClass {
        sync: "requests.Session",
        async_: "httpx.AsyncClient",
        close: "aclose",
        httpx: true,
        follows_redirects: true,
    },
    ClientClass {
        sync: "httpx.Client",
        async_: "httpx.AsyncClient",
        close: "aclose",
        httpx: true,
        follows_redirects: false,
    },
];

/// Keywords of `requests` calls that httpx takes on the client, not per request.
const CLIENT_ONLY_KEYWORDS: &[&str] = &["verify", "cert", "proxies", "stream", "hooks"];

/// A request's keywords must all be per-request ones in httpx, and known.
pub(super) fn check_request_keywords(call: &CallSite) -> Result<(), String> {
    if let Some(k) = call.keywords.iter().find(|k| CLIENT_ONLY_KEYWORDS.contains(&k.as_str())) {
        return Err(format!("`{k}=` is a client setting in httpx, not a per-request one"));
    }
    if call.has_splat {
        return Err("`**kwargs` may carry arguments httpx does not take per request".to_string());
    }
    Ok(())
}

/// A call on a client held in a plain `self.<attribute>`, with per-request keywords.
pub(super) fn check_client_attribute(facts: &CallFacts<'_>) -> Result<(), String> {
    let Some(callee) = &facts.call.callee else { return Err("the client is not a plain attribute".to_string()) };
    if callee.len() < 3 || callee[0] != "self" || callee.iter().any(|s| s == "()") {
        return Err("only clients held in a `self.` attribute are converted natively".to_string());
    }
    check_request_keywords(facts.call)
}

/// The edit of a call on a client attribute: its keywords renamed, a timeout, an await.
pub(super) fn edit_client_attribute(edit: &mut CallEdit<'_, '_, '_, '_>) -> Result<(), String> {
    edit.rename_keywords();
    edit.add_timeout();
    edit.await_call();
    Ok(())
}

impl Mapping for HttpClient {
    fn name(&self) -> &'static str {
        "http_client"
    }

    fn kind(&self) -> &'static str {
        "client-attribute"
    }

    fn description(&self) -> Description {
        Description::same("await on the async client attribute")
    }

    fn check(&self, facts: &CallFacts<'_>) -> Result<(), String> {
        if self.client(facts.api).is_none() {
            return Err(NO_MAPPING.to_string());
        }
        check_client_attribute(facts)
    }

    fn edit(&self, edit: &mut CallEdit<'_, '_, '_, '_>) -> Result<(), String> {
        edit_client_attribute(edit)
    }

    fn client(&self, api: &str) -> Option<&'static ClientClass> {
        class_of(CLASSES, api)
    }

    fn may_leave_unused(&self) -> &'static [&'static str] {
        &["requests"]
    }
}
