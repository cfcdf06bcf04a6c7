//! Native mappings: how a blocking call becomes a faithful async call, one file
//! per mapping, all listed in [`REGISTRY`].
//!
//! A catalog entry with `strategy = "native"` names the mapping that rewrites its
//! calls (`mapping = "http_module"`). The planner asks the mapping whether a call
//! can be rewritten natively where it stands, or why not (which sends the call to
//! a thread); the rules drafter asks it for the edit. Everything particular to one
//! library lives in its mapping: the keywords it supports, the client classes it
//! converts, the imports it adds and may leave unused, how it is described.
//!
//! Adding a mapping: a file here implementing [`Mapping`], a line in
//! [`REGISTRY`], a fixture in `tests/fixtures/mappings/<name>/` (see
//! docs/contributing.md).

pub mod http_client;
pub mod http_module;
pub mod llm_client;
pub mod sleep;
pub mod subprocess;

use crate::analysis::catalog::ApiEntry;
use crate::analysis::summary::{BoundLocal, CallSite};
pub use crate::draft::rewrite::CallEdit;

/// Every native mapping. A catalog entry names one of these by [`Mapping::name`].
pub static REGISTRY: &[&dyn Mapping] = &[
    &sleep::Sleep,
    &http_module::HttpModule,
    &http_client::HTTP_CLIENT,
    &llm_client::LLM_CLIENT,
    &subprocess::Subprocess,
];

/// Why a native catalog entry's call still goes to a thread when its mapping has
/// no rewrite for this particular API of the entry.
pub const NO_MAPPING: &str = "the rules drafter has no faithful native mapping for this API";

/// Why a mapping does not rewrite a call (natively, or at all), in words shown to
/// people: in the plan beside a call sent to a thread, or as the reason a draft
/// needs an LLM.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Declined(pub String);

impl Declined {
    pub fn new(why: impl Into<String>) -> Declined {
        Declined(why.into())
    }

    /// The call's API has no rewrite in the mapping its catalog entry names.
    pub fn no_mapping() -> Declined {
        Declined(NO_MAPPING.to_string())
    }
}

/// What a mapping is told about a call when deciding whether it can rewrite it.
pub struct CallFacts<'a> {
    /// The canonical qualified API (`requests.Session.get`).
    pub api: &'a str,
    /// The call as the analysis summarised it: keywords, splats, the callee chain.
    pub call: &'a CallSite,
    /// When the call is a method call on a bound local (`s.get(u)` inside
    /// `with requests.Session() as s:`), or the call constructing one
    /// (`proc = subprocess.Popen(...)`): that local.
    pub local: Option<LocalReceiver<'a>>,
    /// When the call forwards its function's `**kwargs`: the keywords the callers in
    /// the repository pass into them, each with where (`pkg/a.py:12`), or why they
    /// cannot all be known (a caller passing `**options` itself).
    pub forwarded: Option<Result<Vec<(String, String)>, String>>,
}

/// A bound local that calls are made on, and what the planner knows of it.
pub struct LocalReceiver<'a> {
    pub local: &'a BoundLocal,
    /// The call that constructs it.
    pub ctor: Option<&'a CallSite>,
    /// What its constructor resolves to: the canonical name of an external class
    /// (`requests.Session`), or the repository class's qualified name.
    pub class: Option<String>,
    /// Every call on the local, this one included.
    pub calls: Vec<&'a CallSite>,
    /// When `class` is a repository class: what the planner knows of it.
    pub subclass: Option<SubclassFacts>,
}

/// A repository class that a `with` local is an instance of: whether an async twin
/// of it can be made on the library's async client.
#[derive(Debug, Clone, Default)]
pub struct SubclassFacts {
    /// The library client among its direct bases (`requests.Session`), if any.
    pub base: Option<String>,
    /// Its other direct bases, as written.
    pub other_bases: Vec<String>,
    /// The names of the methods it defines.
    pub methods: Vec<String>,
    /// The attributes it assigns on `self`.
    pub attributes: Vec<String>,
    /// `super().__init__(...)` is given arguments (the async client's differ).
    pub init_args: bool,
    /// A decorator wraps the class.
    pub decorated: bool,
    /// Defined in another module than the `with` (its twin would have to be imported).
    pub elsewhere: bool,
    /// [`twin_name`] is already bound in its module.
    pub twin_taken: bool,
}

/// The name of the async twin of a repository subclass of a client (`CatalogSession` → `AsyncCatalogSession`).
pub fn twin_name(class: &str) -> String {
    format!("Async{class}")
}

/// How a rewrite is described to people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Description {
    /// In the plan output (`propose` text): `await asyncio.sleep`.
    pub plan: &'static str,
    /// In commit messages and pull-request text, where space is shorter.
    pub message: &'static str,
}

impl Description {
    /// The same words everywhere.
    pub const fn same(text: &'static str) -> Description {
        Description { plan: text, message: text }
    }
}

/// A sync client class and its async counterpart, converted when a class holds
/// one in an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientClass {
    pub sync: &'static str,
    pub async_: &'static str,
    /// The async client's close coroutine method.
    pub close: &'static str,
    /// Built on httpx: takes `timeout=`, `follow_redirects=` and `verify=` at construction.
    pub httpx: bool,
    /// The sync client follows redirects by default (requests does, httpx does not).
    pub follows_redirects: bool,
}

/// A third-party library the rewritten code imports: the project that the draft
/// converts must declare it, and the checks' Python must be able to import it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    /// The top-level module the code imports (`pytest_asyncio`).
    pub import: &'static str,
    /// The distribution that provides it, as declared and installed (`pytest-asyncio`).
    pub distribution: &'static str,
    /// The lowest version with what the rewrite uses, written only where the
    /// project's own entries carry versions.
    pub floor: &'static str,
}

/// httpx: the async client the HTTP mappings convert to (`AsyncClient` with the
/// `follow_redirects` keyword, as the rewrites write it).
pub const HTTPX: Requirement = Requirement { import: "httpx", distribution: "httpx", floor: "0.27" };

/// pytest-asyncio: what runs converted tests (`@pytest.mark.asyncio`, async test
/// functions) and reads `asyncio_default_fixture_loop_scope`.
pub const PYTEST_ASYNCIO: Requirement =
    Requirement { import: "pytest_asyncio", distribution: "pytest-asyncio", floor: "0.23" };

/// One native rewrite of a family of blocking APIs.
pub trait Mapping: Sync {
    /// The name a catalog entry gives in `mapping = "..."`.
    fn name(&self) -> &'static str;
    /// The kind of rewrite, as `--format json` names it (`"kind": "sleep"`).
    fn kind(&self) -> &'static str;
    /// The rewrite in words, for the plan output, commit messages and PR text.
    fn description(&self) -> Description;
    /// Whether this call can be rewritten natively where it stands; the error says
    /// why not, and the call then runs in a thread.
    fn check(&self, facts: &CallFacts<'_>) -> Result<(), Declined>;
    /// The call's edit: callee, keywords, timeout, await, and the imports it needs.
    /// An error makes the file need an LLM, with the reason.
    fn edit(&self, edit: &mut CallEdit<'_, '_, '_, '_>) -> Result<(), Declined>;
    /// The client class an attribute holding the API's receiver becomes, if any.
    fn client(&self, _api: &str) -> Option<&'static ClientClass> {
        None
    }
    /// The exceptions and types (qualified name → replacement) the rewrite renames
    /// in annotations and `except` clauses: by default the catalog entry's tables.
    fn renames<'e>(&self, entry: &'e ApiEntry) -> Vec<(&'e str, &'e str)> {
        entry.exceptions.iter().chain(entry.types.iter()).map(|(from, to)| (from.as_str(), to.as_str())).collect()
    }
    /// The third-party libraries the rewritten code may import that the original
    /// did not need: declared in the project's dependencies when a draft adds an
    /// import of one of them.
    fn requires(&self) -> &'static [Requirement] {
        &[]
    }
    /// Plain imports (`import time`) the rewrite may leave unused, removed when nothing uses them.
    fn may_leave_unused(&self) -> &'static [&'static str] {
        &[]
    }
    /// The rewritten call is one expression (a coroutine a gather can take); false
    /// when the rewrite also wraps the statement around it.
    fn is_expression(&self) -> bool {
        true
    }
}

/// The registered mapping with this name.
pub fn find(name: &str) -> Option<&'static dyn Mapping> {
    REGISTRY.iter().copied().find(|m| m.name() == name)
}

/// The names of every registered mapping, in registry order (for errors and docs).
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|m| m.name()).collect()
}

/// The library imported as `module` (its top-level name) that some mapping's
/// rewrites need, or pytest-asyncio for converted tests.
pub fn requirement(module: &str) -> Option<Requirement> {
    REGISTRY
        .iter()
        .flat_map(|m| m.requires().iter())
        .chain(std::iter::once(&PYTEST_ASYNCIO))
        .find(|r| r.import == module)
        .copied()
}

/// The client class with this sync or async name, of any mapping.
pub fn client_class(name: &str) -> Option<&'static ClientClass> {
    REGISTRY.iter().flat_map(|m| m.client(name).into_iter()).find(|c| c.sync == name || c.async_ == name)
}

/// The client class of `classes` that an API belongs to (`requests.Session.get` → requests.Session),
/// or with this very sync or async name.
pub fn class_of(classes: &'static [ClientClass], api: &str) -> Option<&'static ClientClass> {
    classes.iter().find(|c| {
        c.sync == api || c.async_ == api || api.strip_prefix(c.sync).is_some_and(|rest| rest.starts_with('.'))
    })
}

#[cfg(test)]
mod tests;
