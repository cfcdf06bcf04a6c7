//! `self.session.get(url)` where the attribute holds a `requests.Session` or an
//! `httpx.Client` → `await self.session.get(url)`, the attribute becoming an
//! `httpx.AsyncClient` (the clients phase converts its construction and gives the
//! class `aclose()` and `async with`).

use super::{CallEdit, CallFacts, ClientClass, Declined, Description, LocalReceiver, Mapping, class_of};
use crate::analysis::summary::{CALL_SEGMENT, CallSite, SUBSCRIPT};

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
pub(super) fn check_request_keywords(call: &CallSite) -> Result<(), Declined> {
    if let Some(k) = call.keywords.iter().find(|k| CLIENT_ONLY_KEYWORDS.contains(&k.as_str())) {
        return Err(Declined(format!("`{k}=` is a client setting in httpx, not a per-request one")));
    }
    if call.has_splat {
        return Err(Declined::new("`**kwargs` may carry arguments httpx does not take per request"));
    }
    Ok(())
}

/// Calls on a client held in a `self.` attribute, which becomes the library's
/// async client: the shape the HTTP and the LLM SDK mappings share, each with its
/// own client classes.
pub struct ClientAttribute {
    pub name: &'static str,
    pub classes: &'static [ClientClass],
    /// The plain imports the conversion may leave unused.
    pub leaves_unused: &'static [&'static str],
    /// The methods the sync and the async client share (same arguments, the async
    /// one awaited): a client opened by `with` whose every use is one of these
    /// becomes the async client, opened by `async with`.
    pub local_methods: &'static [&'static str],
}

/// The `http_client` mapping.
pub const HTTP_CLIENT: ClientAttribute = ClientAttribute {
    name: "http_client",
    classes: CLASSES,
    leaves_unused: &["requests"],
    local_methods: &["get", "post", "put", "patch", "delete", "head", "options", "request"],
};

impl ClientAttribute {
    /// A call on a client opened by `with`: the client must be the library's own
    /// class, used only through methods the async client has, every call of them
    /// convertible (the client becomes async for all of them or for none).
    fn check_local(&self, facts: &CallFacts<'_>, receiver: &LocalReceiver<'_>) -> Result<(), Declined> {
        let local = receiver.local;
        let name = &local.name;
        let class = receiver.class.as_deref().unwrap_or("an unknown class");
        if receiver.repo_class {
            return Err(Declined(format!(
                "`{name}` is a `{class}`, a subclass of the client: its methods would have to become async too"
            )));
        }
        if !self.classes.iter().any(|c| c.sync == class) {
            return Err(Declined(format!("`{name}` is opened as `{class}`, not as the client class itself")));
        }
        if let Some(line) = local.escapes {
            return Err(Declined(format!(
                "the client `{name}` is used other than by calling its methods (line {line}), so it stays sync"
            )));
        }
        if let Some(m) = local.methods.iter().find(|m| !self.local_methods.contains(&m.as_str())) {
            return Err(Declined(format!("`{name}.{m}()` has no async client equivalent, so `{name}` stays sync")));
        }
        for call in &receiver.calls {
            if let Err(why) = check_request_keywords(call) {
                let line = call.pos.line;
                let here = call.pos.byte == facts.call.pos.byte;
                return Err(if here { why } else { Declined(format!("`{name}` stays sync: line {line}: {why}")) });
            }
        }
        Ok(())
    }
}

impl Mapping for ClientAttribute {
    fn name(&self) -> &'static str {
        self.name
    }

    fn kind(&self) -> &'static str {
        "client-attribute"
    }

    fn description(&self) -> Description {
        Description::same("await on the async client attribute")
    }

    /// Only a plain `self.<attribute>` receiver, with keywords httpx takes per
    /// request (the SDK clients are built on httpx too).
    fn check(&self, facts: &CallFacts<'_>) -> Result<(), Declined> {
        if self.client(facts.api).is_none() {
            return Err(Declined::no_mapping());
        }
        if let Some(local) = &facts.local {
            return self.check_local(facts, local);
        }
        let Some(callee) = &facts.call.callee else { return Err(Declined::new("the client is not a plain attribute")) };
        if callee.len() < 3 || callee[0] != "self" || callee.iter().any(|s| s == CALL_SEGMENT || s == SUBSCRIPT) {
            return Err(Declined::new("only clients held in a `self.` attribute are converted natively"));
        }
        check_request_keywords(facts.call)
    }

    /// Its keywords renamed, a timeout, an await: the attribute itself is converted
    /// by the clients phase, a `with` local's construction here.
    fn edit(&self, edit: &mut CallEdit<'_, '_, '_, '_>) -> Result<(), Declined> {
        if let Some(class) = self.client(edit.api()) {
            edit.open_local_client(class);
        }
        edit.rename_keywords();
        edit.add_timeout();
        edit.await_call();
        Ok(())
    }

    fn client(&self, api: &str) -> Option<&'static ClientClass> {
        class_of(self.classes, api)
    }

    fn may_leave_unused(&self) -> &'static [&'static str] {
        self.leaves_unused
    }
}
