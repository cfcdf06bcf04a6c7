//! Why a function cannot simply become `async def`: dunder methods, properties,
//! decorators that need the function's body, sync overrides in its class hierarchy;
//! which decorators can learn coroutine functions instead, which stay on a sync
//! shell around the async body, and which cache results (the function stays sync).

use std::collections::BTreeMap;

use super::Planner;
use super::closure::AsyncSet;
use crate::analysis::callgraph::FuncId;
use crate::analysis::index::{ModId, ScopeRef, Value};
use crate::analysis::summary::{Name, ScopeKind};

/// Decorators a function may carry and still be converted: they do not wrap the
/// function in sync code.
pub(crate) const SAFE_DECORATORS: &[&str] = &["staticmethod", "classmethod", "abstractmethod", "override", "final"];

/// Decorators that cache what the function returns. On an async function they
/// would cache the coroutine object, which the second caller gets already awaited.
const CACHING_DECORATORS: &[&str] = &["functools.lru_cache", "functools.cache", "cachetools.cached"];

/// Decorators that read the function's code rather than call it (a context manager
/// drives a generator step by step; a JIT compiles the body): a sync shell around
/// an async body would hand them the shell's code instead.
const BODY_DECORATORS: &[&str] = &["contextmanager", "asynccontextmanager", "jit", "njit", "vectorize", "overload"];

/// Calls by which a repository decorator reads the decorated function's code.
const BODY_READERS: &[&str] = &["getsource", "getsourcelines", "isgeneratorfunction", "getclosurevars"];

/// What a decorator means for converting the function it decorates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum DecoratorRole {
    /// Describes the function (`staticmethod`, `abstractmethod`, a pytest mark): it
    /// stays on the async version.
    Describes,
    /// A repository decorator whose `functools.wraps` wrapper gains an async twin.
    CoroutineAware,
    /// Caches results: the function stays sync and async callers run it in a thread.
    Caches,
    /// Registers or wraps the function as a sync callable (`@click.command()`): it
    /// stays on a sync shell of the same name whose body runs the async version.
    Shell,
    /// Cannot be kept on either: why.
    Blocks(String),
}

impl Planner<'_, '_> {
    /// A method of a related class (base or derived, in the repository) with the same
    /// name that does not become async with this one.
    pub(super) fn sync_override(&self, fid: FuncId, set: &AsyncSet) -> Option<String> {
        let graph = &self.model.graph;
        let index = &self.model.index;
        let f = &graph.functions[fid as usize];
        if !f.is_method || f.is_async {
            return None;
        }
        let scopes = &index.modules[f.at.module as usize].summary.scopes;
        let class = ScopeRef { module: f.at.module, scope: scopes[f.at.scope as usize].parent? };
        let hierarchy = self.hierarchy.get_or_init(|| {
            let mut bases = BTreeMap::new();
            for (mi, module) in index.modules.iter().enumerate() {
                for (si, scope) in module.summary.scopes.iter().enumerate() {
                    if scope.kind == ScopeKind::Class && !scope.bases.is_empty() {
                        let c = ScopeRef { module: mi as ModId, scope: si as u32 };
                        bases.insert(c, index.repo_bases(c));
                    }
                }
            }
            bases
        });
        let mut related: Vec<ScopeRef> = hierarchy.get(&class).cloned().unwrap_or_default();
        related.extend(hierarchy.iter().filter(|(_, bases)| bases.contains(&class)).map(|(c, _)| *c));
        graph.functions.iter().enumerate().find_map(|(gi, g)| {
            let gs = &index.modules[g.at.module as usize].summary.scopes;
            let owner = ScopeRef { module: g.at.module, scope: gs[g.at.scope as usize].parent? };
            (g.name == f.name && related.contains(&owner) && !set.contains(gi as FuncId) && !g.is_async)
                .then(|| g.qualname.to_string())
        })
    }

    /// `property` or `cached_property` when `fid` is a getter decorated so (the
    /// decorator's last name as written, which the drafter moves to the wrapper).
    pub(super) fn property_kind(&self, fid: FuncId) -> Option<&'static str> {
        let f = &self.model.graph.functions[fid as usize];
        let scope = &self.model.index.modules[f.at.module as usize].summary.scopes[f.at.scope as usize];
        scope.decorators.iter().find_map(|d| match d.iter().rev().find(|s| *s != "()").map(|s| s.as_str()) {
            Some("property") if f.is_method => Some("property"),
            Some("cached_property") if f.is_method => Some("cached_property"),
            _ => None,
        })
    }

    /// A nested function decorated with `functools.wraps(...)`: a decorator's wrapper.
    pub(super) fn is_wraps_wrapper(&self, fid: FuncId) -> bool {
        let f = &self.model.graph.functions[fid as usize];
        let scopes = &self.model.index.modules[f.at.module as usize].summary.scopes;
        let scope = &scopes[f.at.scope as usize];
        let nested = scope.parent.is_some_and(|p| scopes[p as usize].kind == ScopeKind::Function);
        nested
            && scope.decorators.iter().any(|d| d.iter().rev().find(|s| *s != "()").is_some_and(|last| last == "wraps"))
    }

    /// For a decorator applied to `fid` that is a repository decorator built on a
    /// `functools.wraps` wrapper: (the decorator, its wrapper).
    pub(super) fn coroutine_aware(&self, fid: FuncId, decorator: &[Name]) -> Option<(FuncId, FuncId)> {
        let graph = &self.model.graph;
        let index = &self.model.index;
        let f = &graph.functions[fid as usize];
        let module = &index.modules[f.at.module as usize];
        let scope = &module.summary.scopes[f.at.scope as usize];
        let mut chain = decorator.to_vec();
        while chain.last().is_some_and(|s| s == "()") {
            chain.pop();
        }
        if chain.iter().any(|s| s == "()") {
            return None;
        }
        let Value::RepoFunction(d) =
            index.resolve_chain(f.at.module, scope.parent.unwrap_or(0), &chain, scope.pos.byte)
        else {
            return None;
        };
        let d_id = graph.function_at(d)?;
        let scopes = &index.modules[d.module as usize].summary.scopes;
        let wrapper = graph.functions.iter().enumerate().find(|(gi, g)| {
            g.at.module == d.module && self.is_wraps_wrapper(*gi as FuncId) && {
                let mut parent = scopes[g.at.scope as usize].parent;
                let mut inside = false;
                while let Some(p) = parent {
                    if p == d.scope {
                        inside = true;
                        break;
                    }
                    parent = scopes[p as usize].parent;
                }
                inside
            }
        })?;
        Some((d_id, wrapper.0 as FuncId))
    }

    /// What `decorator`, applied to `fid`, means for converting it.
    pub(super) fn decorator_role(&self, fid: FuncId, decorator: &[Name]) -> DecoratorRole {
        let f = &self.model.graph.functions[fid as usize];
        let scope = &self.model.index.modules[f.at.module as usize].summary.scopes[f.at.scope as usize];
        let last = decorator.iter().rev().find(|s| *s != "()").map(|s| s.as_str()).unwrap_or("");
        let written = decorator.join(".").replace(".()", "()");
        if (f.in_test && decorator.len() >= 3 && decorator[0] == "pytest" && decorator[1] == "mark")
            || SAFE_DECORATORS.contains(&last)
        {
            return DecoratorRole::Describes;
        }
        if self.caches(fid, decorator) {
            return DecoratorRole::Caches;
        }
        if self.coroutine_aware(fid, decorator).is_some() {
            return DecoratorRole::CoroutineAware;
        }
        // A getter becomes an async method under the async name, and the property
        // a sync wrapper of it; setters and deleters cannot be awaited at all.
        if matches!(last, "property" | "cached_property") && f.is_method && !scope.is_generator {
            return DecoratorRole::Describes;
        }
        if matches!(last, "property" | "cached_property" | "setter" | "getter" | "deleter") {
            return DecoratorRole::Blocks("a property cannot be awaited: it has to become an async method".to_string());
        }
        if scope.is_generator {
            return DecoratorRole::Blocks(format!(
                "decorator `@{written}` relies on the function being a generator, which a sync shell around an async body is not"
            ));
        }
        if BODY_DECORATORS.contains(&last) || self.reads_body(fid, decorator) {
            return DecoratorRole::Blocks(format!(
                "decorator `@{written}` reads the function's code, which a sync shell around an async body would hide"
            ));
        }
        DecoratorRole::Shell
    }

    /// The repository function a decorator names, without the call of a factory
    /// (`@retry(3)` → `retry`).
    fn repo_decorator(&self, fid: FuncId, decorator: &[Name]) -> Option<ScopeRef> {
        let f = &self.model.graph.functions[fid as usize];
        let scope = &self.model.index.modules[f.at.module as usize].summary.scopes[f.at.scope as usize];
        let mut chain = decorator.to_vec();
        while chain.last().is_some_and(|s| s == "()") {
            chain.pop();
        }
        match self.model.index.resolve_chain(f.at.module, scope.parent.unwrap_or(0), &chain, scope.pos.byte) {
            Value::RepoFunction(d) => Some(d),
            _ => None,
        }
    }

    /// Functions defined inside repository function `d`, at any depth.
    fn nested_in(&self, d: ScopeRef) -> impl Iterator<Item = &crate::analysis::summary::Scope> + '_ {
        let scopes = &self.model.index.modules[d.module as usize].summary.scopes;
        scopes.iter().filter(move |s| {
            let mut parent = s.parent;
            while let Some(p) = parent {
                if p == d.scope {
                    return true;
                }
                parent = scopes[p as usize].parent;
            }
            false
        })
    }

    /// A caching decorator: `functools.lru_cache`, `functools.cache`,
    /// `cachetools.cached` and the `cachetools.func` caches, or a repository memoiser
    /// (a decorator with a function inside that stores by key into a container it
    /// does not bind itself: `cache[key] = func(*args)` on the decorator's dict).
    pub(super) fn caches(&self, fid: FuncId, decorator: &[Name]) -> bool {
        let f = &self.model.graph.functions[fid as usize];
        let scope = &self.model.index.modules[f.at.module as usize].summary.scopes[f.at.scope as usize];
        let mut chain = decorator.to_vec();
        while chain.last().is_some_and(|s| s == "()") {
            chain.pop();
        }
        if chain.iter().any(|s| s == "()") {
            return false;
        }
        match self.model.index.resolve_chain(f.at.module, scope.parent.unwrap_or(0), &chain, scope.pos.byte) {
            Value::External(name) => {
                CACHING_DECORATORS.contains(&name.as_str()) || name.as_str().starts_with("cachetools.func.")
            }
            Value::RepoFunction(d) => self.nested_in(d).any(|s| s.kind == ScopeKind::Function && s.stores_by_key),
            _ => false,
        }
    }

    /// A repository decorator that reads the decorated function's code
    /// (`inspect.getsource(func)`) instead of only calling it.
    fn reads_body(&self, fid: FuncId, decorator: &[Name]) -> bool {
        let Some(d) = self.repo_decorator(fid, decorator) else { return false };
        let summary = &self.model.index.modules[d.module as usize].summary;
        let inside = |mut s: u32| loop {
            if s == d.scope {
                return true;
            }
            match summary.scopes[s as usize].parent {
                Some(p) => s = p,
                None => return false,
            }
        };
        summary.calls.iter().any(|c| {
            inside(c.scope)
                && c.callee.as_ref().and_then(|c| c.last()).is_some_and(|l| BODY_READERS.contains(&l.as_str()))
        })
    }

    /// The caching decorator (as written) that keeps `fid` sync, if any.
    pub(super) fn cached_by(&self, fid: FuncId) -> Option<String> {
        let f = &self.model.graph.functions[fid as usize];
        let scope = &self.model.index.modules[f.at.module as usize].summary.scopes[f.at.scope as usize];
        scope.decorators.iter().find(|d| self.caches(fid, d)).map(|d| d.join(".").replace(".()", "()"))
    }

    /// Whether `fid` converts as a sync shell: a decorator of it registers or wraps
    /// it as a sync callable, and none stops the conversion.
    pub(super) fn is_shell(&self, fid: FuncId) -> bool {
        let f = &self.model.graph.functions[fid as usize];
        let scope = &self.model.index.modules[f.at.module as usize].summary.scopes[f.at.scope as usize];
        let roles: Vec<DecoratorRole> = scope.decorators.iter().map(|d| self.decorator_role(fid, d)).collect();
        roles.contains(&DecoratorRole::Shell) && !roles.iter().any(|r| matches!(r, DecoratorRole::Blocks(_)))
    }

    /// Why a function cannot simply become `async def`, when that is so.
    pub(super) fn cannot_convert(&self, fid: FuncId) -> Option<String> {
        let graph = &self.model.graph;
        let f = &graph.functions[fid as usize];
        let scope = &self.model.index.modules[f.at.module as usize].summary.scopes[f.at.scope as usize];
        if f.name.starts_with("__") && f.name.ends_with("__") {
            return Some(format!("`{}` cannot be async: Python calls it synchronously", f.name));
        }
        scope.decorators.iter().find_map(|d| match self.decorator_role(fid, d) {
            DecoratorRole::Blocks(why) => Some(why),
            _ => None,
        })
    }
}
