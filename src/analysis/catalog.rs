//! The blocking-call catalog: which qualified APIs block, and what replaces them.
//!
//! The table is data (`config/catalog.toml`, extended by the repository's config),
//! so users add their own SDKs without recompiling. Matching is on qualified names
//! produced by import resolution, never on source text.

use std::collections::BTreeMap;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{Config, ConfigError};

/// The catalog shipped with the tool.
pub const BUILTIN_CATALOG: &str = include_str!("../../config/catalog.toml");

/// How the built-in catalog is named in errors.
const BUILTIN_ORIGIN: &str = "<built-in config/catalog.toml>";

/// What kind of I/O an API does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiKind {
    Http,
    Sleep,
    File,
    Subprocess,
    Process,
    Db,
    Socket,
    Llm,
    Input,
    Other,
}

impl ApiKind {
    /// What a call of this kind blocks on, for messages.
    pub fn blocks_on(self) -> &'static str {
        match self {
            ApiKind::Http => "the network (HTTP)",
            ApiKind::Sleep => "a sleep",
            ApiKind::File => "file I/O",
            ApiKind::Subprocess => "a child process",
            ApiKind::Process => "another process",
            ApiKind::Db => "the database",
            ApiKind::Socket => "the network (socket)",
            ApiKind::Llm => "an LLM API call",
            ApiKind::Input => "terminal input",
            ApiKind::Other => "I/O",
        }
    }

    /// The lowercase name used in config and output.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiKind::Http => "http",
            ApiKind::Sleep => "sleep",
            ApiKind::File => "file",
            ApiKind::Subprocess => "subprocess",
            ApiKind::Process => "process",
            ApiKind::Db => "db",
            ApiKind::Socket => "socket",
            ApiKind::Llm => "llm",
            ApiKind::Input => "input",
            ApiKind::Other => "other",
        }
    }
}

/// How a blocking call becomes async.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// A faithful async equivalent exists.
    Native,
    /// `await asyncio.to_thread(...)`: always behaviour-preserving.
    Thread,
}

/// One `[[api]]` entry.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiEntry {
    pub names: Vec<String>,
    pub kind: ApiKind,
    pub strategy: Strategy,
    /// With `strategy = "native"`: the rules drafter's mapping that rewrites the call
    /// (a name registered in `draft::mappings`).
    #[serde(default)]
    pub mapping: Option<String>,
    pub replacement: String,
    #[serde(default)]
    pub timeout: Option<String>,
    #[serde(default)]
    pub timeout_position: Option<u32>,
    #[serde(default)]
    pub note: Option<String>,
    /// Answers at once, from memory or one cheap system call (the working or home
    /// directory): reported inside async functions, as ruff does, but never a
    /// reason to make sync code async, to gather a loop, or to use a thread.
    #[serde(default)]
    pub instant: bool,
    /// What the call returns or acts on belongs to the thread that created it
    /// (`sqlite3` connections and cursors): calls on it must not be spread over
    /// threads, so work made of such calls never runs concurrently in threads.
    #[serde(default)]
    pub thread_affine: bool,
    #[serde(default)]
    pub exceptions: BTreeMap<String, String>,
    #[serde(default)]
    pub types: BTreeMap<String, String>,
    #[serde(default)]
    pub keywords: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default)]
    aliases: BTreeMap<String, String>,
    #[serde(default)]
    returns: BTreeMap<String, String>,
    #[serde(default)]
    api: Vec<ApiEntry>,
}

/// Index of an [`ApiEntry`] in a [`Catalog`].
pub type ApiId = u32;

/// The loaded catalog with its lookup tables.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub entries: Vec<ApiEntry>,
    by_name: HashMap<String, ApiId>,
    /// Prefix rewrites, longest first.
    aliases: Vec<(String, String)>,
    /// First segments of the alias prefixes: most names skip the alias scan.
    alias_heads: HashSet<String>,
    returns: HashMap<String, String>,
    bridges: Vec<String>,
}

/// A qualified name that matched the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiMatch {
    pub id: ApiId,
    /// The canonical qualified name that matched (`requests.Session.get`).
    pub name: String,
    /// Called through `functools.partial`: arguments were bound where the partial
    /// was made, so the call as written does not show them all.
    pub bound: bool,
}

impl Catalog {
    /// The built-in catalog (when enabled) plus the repository's files and inline entries.
    pub fn load(config: &Config, root: &Path) -> Result<Catalog, ConfigError> {
        let mut catalog = Catalog::default();
        if config.catalog.builtin {
            catalog.add_text(BUILTIN_CATALOG, BUILTIN_ORIGIN)?;
        }
        for file in &config.catalog.files {
            let path: PathBuf = root.join(file);
            let text =
                std::fs::read_to_string(&path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
            catalog.add_text(&text, &path.display().to_string())?;
        }
        for (i, value) in config.catalog.api.iter().enumerate() {
            let entry: ApiEntry = value.clone().try_into().map_err(|e: toml::de::Error| ConfigError::Invalid {
                origin: format!("catalog.api[{i}]"),
                message: e.message().to_string(),
            })?;
            check_mapping(&entry, &format!("catalog.api[{i}]"))?;
            catalog.add_entry(entry);
        }
        for (from, to) in &config.catalog.aliases {
            catalog.aliases.push((from.clone(), to.clone()));
        }
        for (from, to) in &config.catalog.returns {
            catalog.returns.insert(from.clone(), to.clone());
        }
        catalog.bridges = config.analysis.sync_bridges.clone();
        catalog.aliases.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        catalog.alias_heads = catalog.aliases.iter().map(|(from, _)| head(from).to_string()).collect();
        Ok(catalog)
    }

    /// Add the entries of one catalog document.
    fn add_text(&mut self, text: &str, origin: &str) -> Result<(), ConfigError> {
        let file: CatalogFile = toml::from_str(text)
            .map_err(|e| ConfigError::Invalid { origin: origin.to_string(), message: e.message().to_string() })?;
        self.aliases.extend(file.aliases);
        self.returns.extend(file.returns);
        for entry in file.api {
            check_mapping(&entry, origin)?;
            self.add_entry(entry);
        }
        Ok(())
    }

    /// Later entries override earlier ones for the same name, so a repository can
    /// change how a built-in API is handled.
    fn add_entry(&mut self, entry: ApiEntry) {
        let id = self.entries.len() as ApiId;
        for pattern in &entry.names {
            for name in expand_braces(pattern) {
                self.by_name.insert(name, id);
            }
        }
        self.entries.push(entry);
    }

    /// Rewrite a qualified name through the alias table (longest matching prefix).
    /// An owned name that needs no rewrite is returned as it is, without a copy:
    /// resolution calls this for every attribute of an external name.
    pub fn canonical(&self, name: impl AsRef<str> + Into<String>) -> String {
        let text = name.as_ref();
        if self.alias_heads.contains(head(text)) {
            for (from, to) in &self.aliases {
                if text == from {
                    return to.clone();
                }
                if text.len() > from.len() && text.starts_with(from.as_str()) && text.as_bytes()[from.len()] == b'.' {
                    return format!("{to}{}", &text[from.len()..]);
                }
            }
        }
        name.into()
    }

    /// Whether a matched API answers at once ([`ApiEntry::instant`]).
    pub fn is_instant(&self, api: &ApiMatch) -> bool {
        self.entry(api.id).instant
    }

    /// The catalog entry for a canonical qualified name.
    pub fn lookup(&self, canonical: &str) -> Option<ApiMatch> {
        self.by_name.get(canonical).map(|&id| ApiMatch { id, name: canonical.to_string(), bound: false })
    }

    /// The entry with this id.
    pub fn entry(&self, id: ApiId) -> &ApiEntry {
        &self.entries[id as usize]
    }

    /// The type a call to the canonical name returns, when known.
    pub fn returns(&self, canonical: &str) -> Option<&str> {
        self.returns.get(canonical).map(String::as_str)
    }

    /// Whether the canonical name runs a coroutine to completion from sync code.
    pub fn is_sync_bridge(&self, canonical: &str) -> bool {
        self.bridges.iter().any(|b| b == canonical)
    }

    /// The async replacement for a matched name, with `{name}` filled in.
    pub fn replacement(&self, m: &ApiMatch) -> String {
        let last = m.name.rsplit('.').next().unwrap_or(&m.name);
        self.entry(m.id).replacement.replace("{name}", last)
    }

    /// Number of distinct qualified names covered.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether the catalog covers nothing.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Every covered name, sorted (for docs and tests).
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.by_name.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}

/// A native entry must name a registered mapping: without one the rules drafter
/// would silently fall back to threads for an API the catalog calls native.
fn check_mapping(entry: &ApiEntry, origin: &str) -> Result<(), ConfigError> {
    let first = entry.names.first().map(String::as_str).unwrap_or("?");
    let registered = || crate::draft::mappings::names().join(", ");
    let message = match (&entry.strategy, &entry.mapping) {
        (Strategy::Native, None) => format!(
            "the entry for `{first}` has strategy = \"native\" but names no mapping (mapping = \"...\", one of: {})",
            registered()
        ),
        (Strategy::Native, Some(name)) if crate::draft::mappings::find(name).is_none() => {
            format!(
                "the entry for `{first}` names mapping {name:?}, which is not registered (one of: {})",
                registered()
            )
        }
        (Strategy::Thread, Some(name)) => {
            format!("the entry for `{first}` has strategy = \"thread\" but names mapping {name:?}")
        }
        _ => return Ok(()),
    };
    Err(ConfigError::Invalid { origin: origin.to_string(), message })
}

/// The first dotted segment of a name.
fn head(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

/// Expand `{a,b}` groups: `requests.{get,post}` gives `requests.get`, `requests.post`.
pub fn expand_braces(pattern: &str) -> Vec<String> {
    let Some(open) = pattern.find('{') else {
        return vec![pattern.to_string()];
    };
    let Some(close_rel) = pattern[open..].find('}') else {
        return vec![pattern.to_string()];
    };
    let close = open + close_rel;
    let (head, options, tail) = (&pattern[..open], &pattern[open + 1..close], &pattern[close + 1..]);
    let mut out = Vec::new();
    for option in options.split(',') {
        for rest in expand_braces(tail) {
            out.push(format!("{head}{}{rest}", option.trim()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_origin_and_message(toml_text: &str) -> String {
        let mut catalog = Catalog::default();
        match catalog.add_text(toml_text, "extra.toml") {
            Err(ConfigError::Invalid { origin, message }) => format!("{origin}: {message}"),
            other => panic!("expected a configuration error, got {other:?}"),
        }
    }

    #[test]
    fn a_native_entry_must_name_a_registered_mapping() {
        let none = "[[api]]\nnames = [\"sdk.fetch\"]\nkind = \"http\"\nstrategy = \"native\"\nreplacement = \"x\"\n";
        let error = entry_origin_and_message(none);
        assert!(error.starts_with("extra.toml: the entry for `sdk.fetch`"), "{error}");
        assert!(error.contains("names no mapping") && error.contains("http_module"), "{error}");
        let unknown = none.replace("strategy = \"native\"", "strategy = \"native\"\nmapping = \"redis\"");
        let error = entry_origin_and_message(&unknown);
        assert!(error.contains("names mapping \"redis\", which is not registered"), "{error}");
        let thread = none.replace("\"native\"", "\"thread\"\nmapping = \"sleep\"");
        assert!(entry_origin_and_message(&thread).contains("strategy = \"thread\" but names mapping"));
        let named = none.replace("strategy = \"native\"", "strategy = \"native\"\nmapping = \"http_module\"");
        Catalog::default().add_text(&named, "extra.toml").expect("a native entry naming a mapping loads");
    }

    #[test]
    fn braces_expand() {
        assert_eq!(expand_braces("a.{b,c}.{d,e}"), ["a.b.d", "a.b.e", "a.c.d", "a.c.e"]);
        assert_eq!(expand_braces("plain"), ["plain"]);
    }

    #[test]
    fn builtin_catalog_loads_and_covers_the_basics() {
        let c = Catalog::load(&Config::builtin(), Path::new(".")).unwrap();
        for name in [
            "requests.get",
            "requests.Session.get",
            "time.sleep",
            "builtins.open",
            "subprocess.run",
            "sqlite3.connect",
            "urllib.request.urlopen",
            "openai.OpenAI.chat.completions.create",
            "anthropic.Anthropic.messages.create",
            "socket.socket.recv",
            "builtins.input",
            "os.system",
            "httpx.Client.get",
        ] {
            assert!(c.lookup(&c.canonical(name)).is_some(), "{name} missing from the catalog");
        }
        for name in ["asyncio.sleep", "httpx.AsyncClient.get", "openai.AsyncOpenAI.chat.completions.create"] {
            assert!(c.lookup(&c.canonical(name)).is_none(), "{name} must not be in the catalog");
        }
        assert_eq!(c.canonical("requests.sessions.Session.get"), "requests.Session.get");
        let m = c.lookup("requests.post").unwrap();
        assert_eq!(c.replacement(&m), "httpx.AsyncClient.post");
    }
}
