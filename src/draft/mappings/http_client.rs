//! `self.session.get(url)` where the attribute holds a `requests.Session` or an
//! `httpx.Client` → `await self.session.get(url)`, the attribute becoming an
//! `httpx.AsyncClient` (the clients phase converts its construction and gives the
//! class `aclose()` and `async with`).

use super::{
    CallEdit, CallFacts, ClientClass, Declined, Description, HTTPX, LocalReceiver, Mapping, Requirement, SubclassFacts,
    class_of, twin_name,
};
use crate::analysis::summary::{Binder, CALL_SEGMENT, CallSite, SUBSCRIPT};

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

/// Keywords of requests that httpx takes per request under the same name and
/// meaning: the ones a `**kwargs` passed on unchanged may carry.
const FORWARDABLE_KEYWORDS: &[&str] = &["params", "data", "json", "headers", "cookies", "files", "auth", "timeout"];

/// A request's keywords must all be per-request ones in httpx, and known: a
/// `**kwargs` passed on only with the keywords its function's callers put into it
/// (`forwarded`, from the planner), each one httpx takes as it is.
pub(super) fn check_request_keywords(
    call: &CallSite,
    forwarded: Option<&Result<Vec<(String, String)>, String>>,
) -> Result<(), Declined> {
    if let Some(k) = call.keywords.iter().find(|k| CLIENT_ONLY_KEYWORDS.contains(&k.as_str())) {
        return Err(Declined(format!("`{k}=` is a client setting in httpx, not a per-request one")));
    }
    if !call.has_splat {
        return Ok(());
    }
    let Some(forwards) = &call.forwards else {
        return Err(Declined::new("`*args` or `**kwargs` may carry arguments httpx does not take per request"));
    };
    match forwarded {
        None => Err(Declined(format!("`**{forwards}` may carry arguments httpx does not take per request"))),
        Some(Err(why)) => Err(Declined(format!("`**{forwards}` is passed on: {why}"))),
        Some(Ok(keywords)) => match keywords.iter().find(|(k, _)| !FORWARDABLE_KEYWORDS.contains(&k.as_str())) {
            Some((k, at)) => Err(Declined(format!(
                "`**{forwards}` is passed on with `{k}=` from {at}, which httpx does not take per request as it is"
            ))),
            None => Ok(()),
        },
    }
}

/// Calls on a client held in a `self.` attribute, which becomes the library's
/// async client: the shape the HTTP and the LLM SDK mappings share, each with its
/// own client classes.
pub struct ClientAttribute {
    pub name: &'static str,
    pub classes: &'static [ClientClass],
    /// The libraries the async clients come from.
    pub requires: &'static [Requirement],
    /// The plain imports the conversion may leave unused.
    pub leaves_unused: &'static [&'static str],
    /// The methods the sync and the async client share (same arguments, the async
    /// one awaited): a client opened by `with` whose every use is one of these
    /// becomes the async client, opened by `async with`.
    pub local_methods: &'static [&'static str],
    /// Attributes a subclass of the sync client must not set for an async twin to
    /// behave the same: settings of the sync client the async one takes only at
    /// construction or not at all, and the async client's own attributes.
    pub reserved_attributes: &'static [&'static str],
}

/// The `http_client` mapping.
pub const HTTP_CLIENT: ClientAttribute = ClientAttribute {
    name: "http_client",
    classes: CLASSES,
    requires: &[HTTPX],
    leaves_unused: &["requests"],
    local_methods: &["get", "post", "put", "patch", "delete", "head", "options", "request"],
    reserved_attributes: &[
        "verify",
        "cert",
        "proxies",
        "hooks",
        "stream",
        "trust_env",
        "max_redirects",
        "adapters",
        "base_url",
        "timeout",
        "event_hooks",
        "follow_redirects",
        "is_closed",
    ],
};

impl ClientAttribute {
    /// A call on a client opened by `with`: the client must be the library's own
    /// class, used only through methods the async client has, every call of them
    /// convertible (the client becomes async for all of them or for none).
    fn check_local(&self, facts: &CallFacts<'_>, receiver: &LocalReceiver<'_>) -> Result<(), Declined> {
        let local = receiver.local;
        let name = &local.name;
        if local.binder == Binder::Assigned {
            return Err(Declined(format!(
                "the client `{name}` is assigned, not opened by `with`: nothing would close the async client, so it stays sync"
            )));
        }
        let class = receiver.class.as_deref().unwrap_or("an unknown class");
        if let Some(sub) = &receiver.subclass {
            self.check_subclass(class, sub)?;
        } else if !self.classes.iter().any(|c| c.sync == class) {
            return Err(Declined(format!("`{name}` is opened as `{class}`, not as the client class itself")));
        }
        if let Some(line) = local.escapes {
            return Err(Declined(format!(
                "the client `{name}` is used other than by calling its methods (line {line}), so it stays sync"
            )));
        }
        if let Some(a) = local.attributes.first() {
            return Err(Declined(format!(
                "the client `{name}` has its attribute `{a}` read, which the async client may not have or mean the same, so it stays sync"
            )));
        }
        if let Some(m) = local.methods.iter().find(|m| !self.local_methods.contains(&m.as_str())) {
            return Err(Declined(format!("`{name}.{m}()` has no async client equivalent, so `{name}` stays sync")));
        }
        for call in &receiver.calls {
            let forwarded = if call.pos.byte == facts.call.pos.byte { facts.forwarded.as_ref() } else { None };
            if let Err(why) = check_request_keywords(call, forwarded) {
                let line = call.pos.line;
                let here = call.pos.byte == facts.call.pos.byte;
                return Err(if here { why } else { Declined(format!("`{name}` stays sync: line {line}: {why}")) });
            }
        }
        Ok(())
    }

    /// A repository subclass of the client gets an async twin on the async client
    /// (`class AsyncApi(httpx.AsyncClient)`): its `__init__` and its overrides of the
    /// request methods (awaiting `super()`), nothing the async client lacks or
    /// means differently.
    fn check_subclass(&self, class: &str, sub: &SubclassFacts) -> Result<(), Declined> {
        let Some(base) = sub.base.as_deref().and_then(|b| class_of(self.classes, b)) else {
            return Err(Declined(format!("`{class}` does not subclass the client class directly")));
        };
        let why = if !sub.other_bases.is_empty() {
            Some(format!("it has other bases ({})", sub.other_bases.join(", ")))
        } else if sub.decorated {
            Some("a decorator wraps it".to_string())
        } else if sub.elsewhere {
            Some("it is defined in another module".to_string())
        } else if sub.twin_taken {
            Some(format!(
                "the name `{}` of its async twin is taken",
                twin_name(class.rsplit('.').next().unwrap_or(class))
            ))
        } else if sub.init_args {
            Some(format!("its `super().__init__(...)` passes arguments meant for `{}`", base.sync))
        } else if let Some(m) =
            sub.methods.iter().find(|m| m.as_str() != "__init__" && !self.local_methods.contains(&m.as_str()))
        {
            Some(format!("its method `{m}` is not a request method its twin could await"))
        } else {
            sub.attributes
                .iter()
                .find(|a| self.reserved_attributes.contains(&a.as_str()))
                .map(|a| format!("it sets `self.{a}`, which `{}` does not have or means differently", base.async_))
        };
        match why {
            Some(why) => Err(Declined(format!("`{class}` subclasses `{}` but has no async twin: {why}", base.sync))),
            None => Ok(()),
        }
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
        check_request_keywords(facts.call, facts.forwarded.as_ref())
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

    fn requires(&self) -> &'static [Requirement] {
        self.requires
    }

    fn may_leave_unused(&self) -> &'static [&'static str] {
        self.leaves_unused
    }
}
