//! What one parsed Python file contributes to the analysis, as plain data.
//!
//! A summary depends only on the file's bytes, never on other files or on the
//! catalog, so it can be cached by content hash and rebuilt one file at a time.
//! Names are kept as written (`Chain`s of identifiers); resolving them to
//! qualified names happens later, in `index`, once every module is known.

use serde::{Deserialize, Serialize};

// Identifiers and dotted expressions are interned: summaries hold millions of them.
pub use super::intern::{Chain, Name};

/// A list of names (the keywords a call gives, the identifiers it reads), interned as a [`Chain`] is.
pub type Names = Chain;

/// The segment that stands for a call inside a [`Chain`].
pub const CALL_SEGMENT: &str = "()";

/// The method `left / right` calls, as a chain segment: `root / "x"` is the chain of
/// `root.__truediv__()`, so the catalog's `[returns]` types it (`pathlib.Path`).
pub const TRUE_DIVISION: &str = "__truediv__";

/// The segment for `x[key]`: an item of a container, a value of a mapping.
pub const SUBSCRIPT: &str = "[]";

/// The segment for one element of an iteration over the preceding value (a `for`
/// or comprehension target): an item of a list, a key of a mapping.
pub const ITERATED: &str = "<iter>";

/// The segment for entering a context manager: `with expr as name` binds
/// `expr` then [`ENTERED`], what its `__enter__` returns (itself when unknown).
pub const ENTERED: &str = "<enter>";

/// Pseudo-names a function binds to what it returns and yields, so a call of a
/// function without a return annotation is typed by its `return` statements
/// (a generator's by its `yield`s). Never valid Python names, so never looked up
/// by code.
pub const RETURNED: &str = "<return>";
pub const YIELDED: &str = "<yield>";

/// Type-only segments closing an annotation's chain: `list[T]` (and `Iterable[T]`,
/// `Sequence[T]`, `set[T]`, `tuple[T, ...]`…) is the chain of `T` then
/// [`ITEMS_OF`]; `dict[K, V]` (and `Mapping[K, V]`…) is the chain of `V` then
/// [`VALUES_OF`]. Keys are not kept: nothing is looked up on them.
pub const ITEMS_OF: &str = "<list>";
pub const VALUES_OF: &str = "<dict>";

/// A place in a source file: 1-based line and column (column counted in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Position {
    pub line: u32,
    pub column: u32,
    /// Byte offset of the position, for ordering and for edits.
    pub byte: u32,
}

/// Module, class or function: the units names are bound in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScopeKind {
    Module,
    Class,
    Function,
}

/// A module, class or function definition and what it binds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scope {
    pub kind: ScopeKind,
    pub name: Name,
    /// Dotted name within the module (`Client.fetch`, `outer.inner`); empty for the module.
    pub qualname: Name,
    pub parent: Option<u32>,
    pub pos: Position,
    pub end_byte: u32,
    pub is_async: bool,
    /// The function body contains `yield`.
    pub is_generator: bool,
    /// Decorator expressions as chains (`functools.wraps`, `app.command`, `()` for calls).
    pub decorators: Vec<Chain>,
    /// `@pytest.fixture(name="client")`: the name tests request the fixture by.
    pub fixture_name: Option<String>,
    /// Parameters in order (functions only).
    pub params: Vec<Param>,
    /// The `**name` parameter collecting extra keywords (functions only).
    #[serde(default)]
    pub kwargs: Option<Name>,
    /// The return annotation's main type (functions only).
    pub returns: Option<Chain>,
    /// Names bound in this scope, in source order.
    pub bindings: Vec<Binding>,
    /// Base classes (classes only).
    pub bases: Vec<Chain>,
    /// The `metaclass=` keyword of a class statement (classes only).
    pub metaclass: Option<Chain>,
    /// Instance attributes (`self.x = ...` in any method, `x: T` in the class body).
    pub attributes: Vec<Binding>,
    /// The function stores by key into a container it does not bind itself
    /// (`cache[key] = result` on an enclosing function's or the module's dict, or on
    /// an attribute): in a decorator's wrapper, the mark of a memoiser.
    pub stores_by_key: bool,
}

/// A function parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    pub name: Name,
    pub annotation: Option<Chain>,
}

/// One binding of a name: an assignment, import, definition, parameter or loop target.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Binding {
    pub name: Name,
    /// Where the binding takes effect (after the right-hand side of an assignment).
    pub byte: u32,
    /// Where its value is evaluated (the start of the statement).
    pub at: u32,
    /// The scope in which `value` has to be resolved.
    pub scope: u32,
    pub value: BindingValue,
    /// A comprehension's variable or a lambda's parameter: seen only from `byte` up
    /// to this byte (the comprehension's or lambda's end), never by the rest of the scope.
    pub until: Option<u32>,
}

/// What a binding binds, as far as a syntactic pass can tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BindingValue {
    /// `import a.b` binds `a` to module `a`; `import a.b as c` binds `c` to `a.b`.
    Module(Name),
    /// `from .mod import name`: `level` leading dots.
    FromImport { level: u32, module: Name, name: Name },
    /// `x = f(...)`: the result of calling the chain.
    Call(Chain),
    /// `x = a.b`: another name for the chain.
    Alias(Chain),
    /// `x: T`: an instance of the annotated type.
    Annotated(Chain),
    /// `x = list(items)`, `sorted(items, key=…)`, `enumerate(items)`,
    /// `functools.partial(f, …)`: a call whose value depends on its first argument
    /// when the callee is one of the builtins that copy or wrap it.
    CallWith { callee: Chain, argument: Box<BindingValue> },
    /// A `for` or comprehension target: an element of iterating `of`; with
    /// `position`, that element's item at this index (`for key, value in …`).
    Element { of: Box<BindingValue>, position: Option<u32> },
    /// `a, b = value` (or `with cm as (a, b)`): the item of `of` at `position`.
    Unpacked { of: Box<BindingValue>, position: u32 },
    /// A tuple display: `(session, timeout)`, `yield sql, cleanup`.
    Tuple(Vec<BindingValue>),
    /// A list, set or generator whose items are all this value (`[Shard(n) for n in …]`).
    ItemsOf(Box<BindingValue>),
    /// A dict display whose values are all this value.
    ValuesOf(Box<BindingValue>),
    /// One of these values, each known: the items of a list or the values of a dict
    /// of different handlers (`{"a": self.fetch_a, "b": self.fetch_b}`).
    Either(Vec<BindingValue>),
    /// `def x` / `class x`: the scope with this index.
    Def(u32),
    /// A parameter: its index in the parameter list.
    Param(u32),
    /// Anything else; it still shadows outer bindings of the name.
    Unknown,
    /// `x = None`: a placeholder, never what code reading `x` later expects.
    NoneValue,
}

/// A call site.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CallSite {
    /// The innermost scope the call runs in.
    pub scope: u32,
    /// The called expression, when it is a plain dotted chain.
    pub callee: Option<Chain>,
    pub pos: Position,
    pub end_byte: u32,
    /// Names of the keyword arguments given.
    pub keywords: Names,
    /// Number of positional arguments given.
    pub positional: u32,
    /// `*args` or `**kwargs` present: any parameter may be set.
    pub has_splat: bool,
    /// The splats are exactly one `**name` of a plain name: the keywords it forwards.
    #[serde(default)]
    pub forwards: Option<Name>,
    /// Directly under `await`.
    pub awaited: bool,
    /// Inside a lambda: it runs whenever the lambda is called, not here.
    pub in_lambda: bool,
    /// Module-level code under `if __name__ == "__main__":`.
    pub in_main_block: bool,
    /// The innermost loop or comprehension around the call, within its scope.
    pub loop_idx: Option<u32>,
    /// Identifiers read by the arguments (recorded for calls inside loops only).
    pub arg_names: Names,
    /// The call's value is used (assigned, passed on, tested, returned), not a bare statement.
    pub result_used: bool,
    /// A function passed to a builtin that calls it (`map(fetch, ids)`): the call is
    /// made by `via` (as written), and only counts when `via` really is that builtin.
    pub via: Option<Chain>,
    /// Under an `if`, `try`, `match`, a conditional expression or the right side of
    /// `and`/`or`, within its innermost loop body (or its function body, outside
    /// loops): it may not run every time that body runs.
    pub guarded: bool,
    /// The text of the only argument, when it is a number or a dotted name
    /// (`1.5`, `self.delay`): messages quote it (`time.sleep(1.5)`).
    pub sole_arg: Option<Name>,
    /// The arguments compute a command from `$EDITOR`, `$VISUAL` or `$PAGER`: the
    /// user works in what it starts, and waiting for them is the point.
    pub runs_interactive: bool,
}

/// The kind of a loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoopKind {
    For,
    AsyncFor,
    While,
    Comprehension,
}

/// A loop or comprehension, with what decides whether its iterations are independent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoopInfo {
    pub kind: LoopKind,
    pub scope: u32,
    pub parent: Option<u32>,
    pub pos: Position,
    pub end_byte: u32,
    /// Names bound by the loop target(s).
    pub targets: Vec<Name>,
    /// Source text of the iterable, shortened, for messages.
    pub iter_text: String,
    /// Where the iterable is (start and end bytes).
    #[serde(default)]
    pub iter_range: (u32, u32),
    pub has_break: bool,
    pub has_return: bool,
    pub has_yield: bool,
    /// Names assigned in the body, with the byte where each assignment starts.
    pub assigned: Vec<(Name, u32)>,
    /// What one item may hand to the next (`for` loops only): every read in the body
    /// of a path the body writes (`cursor`, `self.offset`, `seen`) made before the
    /// same item has assigned it afresh, and every write of such a path.
    pub carried: Vec<Access>,
    /// Names the loop binds (`for` loops only) whose value code outside the body can
    /// read: after the loop, around an enclosing loop, or from a nested function.
    pub escaping: Vec<Escape>,
}

impl LoopInfo {
    /// Why the items of this loop cannot each run in a function of their own (as a
    /// gathered loop's do): a name it binds is read outside it, or an item reads a
    /// local an earlier item assigned. `None` when they can.
    pub fn item_state_escapes(&self) -> Option<String> {
        if let Some(escape) = self.escaping.first() {
            return Some(format!("`{}` is assigned in the loop and used outside it", escape.name));
        }
        self.carried
            .iter()
            .find(|a| a.kind == AccessKind::Bind && !a.path.contains('.'))
            .map(|carried| format!("`{}` is read in the loop before it is assigned there", carried.path))
    }
}

/// One read or write of a name, or of an attribute of a local object, in a loop body.
/// Paths have at most two segments: `self.offset.value` is `self.offset`, and
/// `state["next"]` reads or writes `state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    pub path: Name,
    /// Where the read happens, or where the write takes effect.
    pub byte: u32,
    pub kind: AccessKind,
}

/// How a loop body touches a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccessKind {
    /// Its value is read.
    Read,
    /// Only tested for membership: `x in seen`, `key not in self.done`.
    Membership,
    /// Assigned (`x = ...`, `x += ...`, `self.offset = ...`).
    Bind,
    /// Changed in place (`results.append(...)`, `seen.add(...)`, `out[k] = v`).
    Mutate,
}

/// A name a loop binds whose value escapes the loop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escape {
    pub name: Name,
    /// The body only accumulates into it (`total += n`): a result of every item,
    /// not a value one item hands the next.
    pub accumulates: bool,
}

/// A registering method (a metaclass's `__init__` or `__new__`, a base's
/// `__init_subclass__`) storing the class being created in a dict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// The registering method's scope.
    pub method: u32,
    /// The dict is this attribute of the hierarchy being created (`cls.registry`,
    /// `getattr(base, "registry")`).
    pub attribute: Option<Name>,
    /// The dict is this chain, resolved in the method (`REGISTRY`, `Plugin.registry`).
    pub registry: Option<Chain>,
}

/// An `except` clause.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Handler {
    pub scope: u32,
    pub pos: Position,
    /// Caught types; empty for a bare `except:`.
    pub catches: Vec<Chain>,
    /// A caught expression that is not a plain name (e.g. a variable tuple).
    pub catches_unknown: bool,
    /// The handler re-raises (`raise`, or `raise <alias>`).
    pub reraises: bool,
}

/// Everything the analysis needs from one file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FileSummary {
    /// Index 0 is the module scope.
    pub scopes: Vec<Scope>,
    pub calls: Vec<CallSite>,
    pub loops: Vec<LoopInfo>,
    pub handlers: Vec<Handler>,
    /// Where classes register themselves as they are created.
    pub registrations: Vec<Registration>,
    /// `from x import *` statements: (position, level, module).
    pub star_imports: Vec<(Position, u32, String)>,
    /// Where the parser found errors (the first few).
    pub syntax_errors: Vec<Position>,
    /// Where nesting got too deep to follow; the subtree there was skipped.
    pub too_deep: Option<Position>,
    /// Statements and `while` loops of its functions, for RA110 and RA111.
    pub flow: super::flow::DataFlow,
    /// `with Ctor(...) as name:` and `name = Ctor(...)` in functions, and how `name` is used.
    #[serde(default)]
    pub bound_locals: Vec<BoundLocal>,
}

/// How a [`BoundLocal`]'s name is bound to the object its constructor makes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Binder {
    /// `with C(...) as name:`: the object is entered, and exited at the block's end.
    #[default]
    With,
    /// `name = C(...)`, a statement of its own: the object lives on to the function's end.
    Assigned,
}

/// A name bound in a function to a constructor call's result, once, and how the
/// function uses it: a client opened for a block (`with requests.Session() as s:`)
/// can become an async client when every use is a method call on it, a process
/// (`proc = subprocess.Popen(...)`) an async process when its methods and
/// attributes are ones the async process has.
///
/// Assigned locals are recorded only for a callee whose last segment starts with an
/// upper-case letter (a class, by convention): looking through the function for
/// the uses of every assigned name would cost the analysis a walk per assignment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoundLocal {
    /// The function scope.
    pub scope: u32,
    pub name: Name,
    pub binder: Binder,
    /// Where a use of the name refers to this object: the `with` statement, or from
    /// the assignment to the function's end.
    pub stmt: (u32, u32),
    /// The call (`requests.Session()`): its bytes and callee chain.
    pub ctor: (u32, u32),
    pub ctor_callee: Option<Chain>,
    /// Methods called on the name (`get` for `name.get(...)`), sorted, each once.
    pub methods: Vec<Name>,
    /// Attributes read on the name other than to call them (`returncode` for
    /// `name.returncode`), sorted, each once.
    pub attributes: Vec<Name>,
    /// The first line where the name is used other than as `name.method(...)` or a
    /// read of `name.attribute` in this function's own code (passed on, stored,
    /// returned, an attribute set, read by a nested function or lambda, used outside
    /// `stmt`, bound again).
    pub escapes: Option<u32>,
}

impl FileSummary {
    /// The bound local a call is a method call on (`s.get(u)` inside
    /// `with requests.Session() as s:`), when the name is bound only there.
    pub fn bound_local_of(&self, call: &CallSite) -> Option<&BoundLocal> {
        let callee = call.callee.as_ref().filter(|c| c.len() == 2)?;
        let local = self.bound_locals.iter().find(|w| {
            w.scope == call.scope && w.name == callee[0] && w.stmt.0 <= call.pos.byte && call.end_byte <= w.stmt.1
        })?;
        self.bound_once(local).then_some(local)
    }

    /// The bound local whose constructor a call is (`subprocess.Popen(...)` in
    /// `proc = subprocess.Popen(...)`), when the name is bound only there.
    pub fn local_constructed_by(&self, call: &CallSite) -> Option<&BoundLocal> {
        let local = self.bound_locals.iter().find(|w| w.ctor == (call.pos.byte, call.end_byte))?;
        self.bound_once(local).then_some(local)
    }

    /// Whether the local's function binds its name nowhere else.
    fn bound_once(&self, local: &BoundLocal) -> bool {
        self.scopes[local.scope as usize].bindings.iter().filter(|b| b.name == local.name).count() == 1
    }
}

/// Whether a function binds what it returns or yields: callers elsewhere resolve through it.
fn gives_result(scope: &Scope) -> bool {
    scope.bindings.iter().any(|b| b.name == RETURNED || b.name == YIELDED)
}

/// Whether two summaries of one module define and bind the same names the same
/// way, positions aside: then what other modules resolve through it is unchanged
/// (an edit inside a function body), and only its own call sites need resolving again.
pub fn same_interface(a: &FileSummary, b: &FileSummary) -> bool {
    fn same_bindings(a: &[Binding], b: &[Binding]) -> bool {
        a.len() == b.len()
            && a.iter().zip(b).all(|(x, y)| {
                x.name == y.name && x.scope == y.scope && x.value == y.value && x.until.is_some() == y.until.is_some()
            })
    }
    a.scopes.len() == b.scopes.len()
        && a.registrations == b.registrations
        && a.star_imports.len() == b.star_imports.len()
        && a.scopes.iter().zip(&b.scopes).all(|(x, y)| {
            x.kind == y.kind
                && x.name == y.name
                && x.qualname == y.qualname
                && x.parent == y.parent
                && x.is_async == y.is_async
                && x.is_generator == y.is_generator
                && x.decorators == y.decorators
                && x.fixture_name == y.fixture_name
                && x.params == y.params
                && x.returns == y.returns
                && x.bases == y.bases
                && x.metaclass == y.metaclass
                // A function's local names only resolve its own calls, which are
                // resolved again anyway; module and class names are what others see,
                // and so is what a function returns, with the locals it returns.
                && ((x.kind == ScopeKind::Function && !gives_result(x)) || same_bindings(&x.bindings, &y.bindings))
                && same_bindings(&x.attributes, &y.attributes)
        })
}
