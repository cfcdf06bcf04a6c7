//! One walk over a tree-sitter tree that turns a Python file into a [`FileSummary`].
//!
//! Parsing is the expensive part of the analysis, so this walk is a single pass
//! with one cursor, comparing node kinds by id, and keeps only what later stages
//! read: scopes, bindings, call sites, loops and `except` clauses.

use std::sync::OnceLock;

use std::num::NonZeroU16;

use tree_sitter::{Language, Node, Parser, Tree, TreeCursor};

type FieldId = NonZeroU16;

use super::loop_flow::{self, Kind as FlowKind};
use super::summary::*;

#[path = "extract_flow.rs"]
mod extract_flow;
mod flow;
mod interactive;
mod registry;

/// How deep the walk follows nesting before it skips a subtree; each level costs
/// well under 1 KiB of the analysis threads' 64 MiB stacks.
const MAX_NESTING: u32 = 4000;

/// What a call's argument list says about the call.
#[derive(Default)]
struct Arguments<'n> {
    keywords: Vec<String>,
    positional: u32,
    has_splat: bool,
    /// `**name` splats of a plain name, and how many splats in all.
    forwarded: Vec<&'n str>,
    splats: u32,
    /// Functions passed to a builtin that calls them (`map(fetch, ids)`).
    passed_functions: Vec<Node<'n>>,
}

/// Where a builtin takes a function it calls before returning.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PassedAs {
    /// The first positional argument: `map(f, xs)`.
    First,
    /// The `key=` argument: `sorted(xs, key=f)`.
    Key,
}

/// Builtins that call a function argument on the spot (`map` and `filter` lazily,
/// but their result is almost always consumed right away).
const CALLS_ARGUMENT: &[(&str, PassedAs)] = &[
    ("map", PassedAs::First),
    ("filter", PassedAs::First),
    ("sorted", PassedAs::Key),
    ("min", PassedAs::Key),
    ("max", PassedAs::Key),
];

/// How many syntax-error positions a summary keeps.
const MAX_SYNTAX_ERRORS: usize = 20;

/// Node kind ids of the Python grammar, looked up once.
struct Kinds {
    function_definition: u16,
    class_definition: u16,
    decorated_definition: u16,
    decorator: u16,
    lambda: u16,
    import_statement: u16,
    import_from_statement: u16,
    future_import_statement: u16,
    assignment: u16,
    augmented_assignment: u16,
    for_statement: u16,
    while_statement: u16,
    list_comprehension: u16,
    set_comprehension: u16,
    dictionary_comprehension: u16,
    generator_expression: u16,
    for_in_clause: u16,
    break_statement: u16,
    return_statement: u16,
    yield_: u16,
    with_statement: u16,
    call: u16,
    await_: u16,
    except_clause: u16,
    if_statement: u16,
    error: u16,
    identifier: u16,
    string: u16,
    comment: u16,
    expression_statement: u16,
    global_statement: u16,
    block: u16,
    comparison_operator: u16,
    nonlocal_statement: u16,
    attribute: u16,
    subscript: u16,
    keyword_argument: u16,
    named_expression: u16,
    as_pattern: u16,
    try_statement: u16,
    else_clause: u16,
    finally_clause: u16,
    conditional_expression: u16,
    boolean_operator: u16,
    match_statement: u16,
    integer: u16,
    float: u16,
}

fn kinds() -> &'static Kinds {
    static KINDS: OnceLock<Kinds> = OnceLock::new();
    KINDS.get_or_init(|| {
        let lang: Language = tree_sitter_python::LANGUAGE.into();
        let id = |name: &str| lang.id_for_node_kind(name, true);
        Kinds {
            function_definition: id("function_definition"),
            class_definition: id("class_definition"),
            decorated_definition: id("decorated_definition"),
            decorator: id("decorator"),
            lambda: id("lambda"),
            import_statement: id("import_statement"),
            import_from_statement: id("import_from_statement"),
            future_import_statement: id("future_import_statement"),
            assignment: id("assignment"),
            augmented_assignment: id("augmented_assignment"),
            for_statement: id("for_statement"),
            while_statement: id("while_statement"),
            list_comprehension: id("list_comprehension"),
            set_comprehension: id("set_comprehension"),
            dictionary_comprehension: id("dictionary_comprehension"),
            generator_expression: id("generator_expression"),
            for_in_clause: id("for_in_clause"),
            break_statement: id("break_statement"),
            return_statement: id("return_statement"),
            yield_: id("yield"),
            with_statement: id("with_statement"),
            call: id("call"),
            await_: id("await"),
            except_clause: id("except_clause"),
            if_statement: id("if_statement"),
            error: lang.id_for_node_kind("ERROR", true),
            identifier: id("identifier"),
            string: id("string"),
            comment: id("comment"),
            expression_statement: id("expression_statement"),
            global_statement: id("global_statement"),
            block: id("block"),
            comparison_operator: id("comparison_operator"),
            nonlocal_statement: id("nonlocal_statement"),
            attribute: id("attribute"),
            subscript: id("subscript"),
            keyword_argument: id("keyword_argument"),
            named_expression: id("named_expression"),
            as_pattern: id("as_pattern"),
            try_statement: id("try_statement"),
            else_clause: id("else_clause"),
            finally_clause: id("finally_clause"),
            conditional_expression: id("conditional_expression"),
            boolean_operator: id("boolean_operator"),
            match_statement: id("match_statement"),
            integer: id("integer"),
            float: id("float"),
        }
    })
}

/// Field ids of the Python grammar, looked up once: `child_by_field_name` would
/// compare the name against every field name of the grammar on each call.
struct Fields {
    alias: FieldId,
    alternative: FieldId,
    arguments: FieldId,
    attribute: FieldId,
    body: FieldId,
    condition: FieldId,
    consequence: FieldId,
    definition: FieldId,
    function: FieldId,
    left: FieldId,
    module_name: FieldId,
    name: FieldId,
    object: FieldId,
    parameters: FieldId,
    return_type: FieldId,
    right: FieldId,
    subscript: FieldId,
    superclasses: FieldId,
    type_: FieldId,
    value: FieldId,
}

fn fields() -> &'static Fields {
    static FIELDS: OnceLock<Fields> = OnceLock::new();
    FIELDS.get_or_init(|| {
        let lang: Language = tree_sitter_python::LANGUAGE.into();
        let id = |name: &str| lang.field_id_for_name(name).expect("the Python grammar has this field");
        Fields {
            alias: id("alias"),
            alternative: id("alternative"),
            arguments: id("arguments"),
            attribute: id("attribute"),
            body: id("body"),
            condition: id("condition"),
            consequence: id("consequence"),
            definition: id("definition"),
            function: id("function"),
            left: id("left"),
            module_name: id("module_name"),
            name: id("name"),
            object: id("object"),
            parameters: id("parameters"),
            return_type: id("return_type"),
            right: id("right"),
            subscript: id("subscript"),
            superclasses: id("superclasses"),
            type_: id("type"),
            value: id("value"),
        }
    })
}

/// A parser for Python; one per thread, since tree-sitter parsers are not `Sync`.
pub fn new_parser() -> Parser {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .expect("the bundled tree-sitter-python grammar matches the tree-sitter version");
    parser
}

/// Parse `source` and summarise it.
///
/// Invalid UTF-8 is replaced (U+FFFD) before parsing, so every node's text is a
/// `str` slice without further checks; the analysis only passes valid UTF-8.
pub fn summarize(parser: &mut Parser, source: &[u8]) -> FileSummary {
    summarize_str(parser, &String::from_utf8_lossy(source))
}

/// Parse source already known to be text and summarise it.
pub fn summarize_str(parser: &mut Parser, text: &str) -> FileSummary {
    match parser.parse(text.as_bytes(), None) {
        Some(tree) => summarize_tree(&tree, text),
        // Only happens on cancellation or timeout, neither of which is set.
        None => FileSummary::default(),
    }
}

/// Summarise an already parsed tree.
pub fn summarize_tree(tree: &Tree, source: &str) -> FileSummary {
    let root = tree.root_node();
    let mut walker = Walker {
        src: source,
        root,
        k: kinds(),
        out: FileSummary::default(),
        loop_stack: Vec::new(),
        statement_call_at: None,
        globals: Vec::new(),
        depth: 0,
        flow: flow::Recorder::default(),
        loop_flow: loop_flow::Log::default(),
        cover: (0, source.len() as u32),
        keep_cover: false,
        shadow: Vec::new(),
        interactive: Vec::new(),
        names_interactive_variable: interactive::mentions_interactive_variable(source),
        registry_aliases: Vec::new(),
    };
    walker.out.scopes.push(Scope {
        kind: ScopeKind::Module,
        name: Name::EMPTY,
        qualname: Name::EMPTY,
        parent: None,
        pos: Position { line: 1, column: 1, byte: 0 },
        end_byte: source.len() as u32,
        is_async: false,
        is_generator: false,
        decorators: Vec::new(),
        fixture_name: None,
        params: Vec::new(),
        kwargs: None,
        returns: None,
        bindings: Vec::new(),
        bases: Vec::new(),
        metaclass: None,
        attributes: Vec::new(),
        stores_by_key: false,
    });
    if root.has_error() {
        walker.collect_errors(root);
    }
    let ctx = Ctx { scope: 0, in_lambda: false, in_main_block: false, guarded: false };
    let mut cursor = root.walk();
    walker.visit_children(&mut cursor, ctx);
    let log = std::mem::take(&mut walker.loop_flow);
    loop_flow::resolve(log, &mut walker.out.loops);
    walker.out
}

#[derive(Clone, Copy)]
struct Ctx {
    scope: u32,
    in_lambda: bool,
    in_main_block: bool,
    /// Under a branch (`if`, `try`, ...) of the innermost loop body or function body.
    guarded: bool,
}

struct Walker<'s> {
    src: &'s str,
    /// The tree's root, from which a bound local's uses are found by their position.
    root: Node<'s>,
    k: &'static Kinds,
    out: FileSummary,
    /// Loops open around the current node, innermost last; reset at each function.
    loop_stack: Vec<u32>,
    /// Start byte of a call that is a whole expression statement (its value unused).
    statement_call_at: Option<(usize, usize)>,
    /// Names declared `global` in a function scope.
    globals: Vec<(u32, String)>,
    /// How many `visit`s are open: the recursion depth of the walk.
    depth: u32,
    /// Names interned for the data-flow facts.
    flow: flow::Recorder,
    /// Reads and writes of the current function (or module or class) body.
    loop_flow: loop_flow::Log<'s>,
    /// The innermost block that runs whenever control reaches the current node, for
    /// the writes logged in `flow` (a `with` or `try` body belongs to the block around it).
    cover: (u32, u32),
    /// The next `block` visited keeps `cover`: it is a `with` or `try` body.
    keep_cover: bool,
    /// Names bound by enclosing comprehensions and lambdas: reading them reads no
    /// variable of the function.
    shadow: Vec<&'s str>,
    /// Locals holding a command from an interactive environment variable (`$EDITOR`), by scope.
    interactive: Vec<(u32, &'s str)>,
    /// Whether the file's text mentions an interactive environment variable at all:
    /// most files do not, and then no command in them can be one.
    names_interactive_variable: bool,
    /// Locals of registering methods naming an attribute (`registry = getattr(base, "plugins")`), by scope.
    registry_aliases: Vec<(u32, &'s str, Chain)>,
}

impl<'s> Walker<'s> {
    fn text(&self, node: Node) -> &'s str {
        self.src.get(node.byte_range()).unwrap_or("")
    }

    fn position(&self, node: Node) -> Position {
        let point = node.start_position();
        let byte = node.start_byte();
        let line_start = byte - point.column;
        let prefix = self.src.get(line_start..byte).unwrap_or("");
        let column = if prefix.is_ascii() { point.column } else { prefix.chars().count() };
        Position { line: point.row as u32 + 1, column: column as u32 + 1, byte: byte as u32 }
    }

    /// The first few error and missing nodes, in source order. Iterative, like every
    /// helper that follows subtrees here: nesting depth is the input's to choose.
    fn collect_errors(&mut self, root: Node) {
        let mut stack = vec![root];
        while let Some(node) = stack.pop() {
            if self.out.syntax_errors.len() >= MAX_SYNTAX_ERRORS {
                return;
            }
            if node.kind_id() == self.k.error || node.is_missing() {
                let pos = self.position(node);
                self.out.syntax_errors.push(pos);
                continue;
            }
            if node.has_error() {
                let mut cursor = node.walk();
                let children: Vec<Node> = node.children(&mut cursor).collect();
                stack.extend(children.into_iter().rev());
            }
        }
    }

    fn visit_children(&mut self, cursor: &mut TreeCursor<'_>, ctx: Ctx) {
        if cursor.goto_first_child() {
            loop {
                let node = cursor.node();
                self.visit(node, cursor, ctx);
                if !cursor.goto_next_sibling() {
                    break;
                }
            }
            cursor.goto_parent();
        }
    }

    /// Visit the children of the cursor's node, each in the context `ctx_of` gives
    /// its field (none: skip it), without a cursor of their own.
    fn visit_fields(&mut self, cursor: &mut TreeCursor<'_>, ctx_of: impl Fn(Option<FieldId>) -> Option<Ctx>) {
        if cursor.goto_first_child() {
            loop {
                if let Some(ctx) = ctx_of(cursor.field_id()) {
                    let node = cursor.node();
                    self.visit(node, cursor, ctx);
                }
                if !cursor.goto_next_sibling() {
                    break;
                }
            }
            cursor.goto_parent();
        }
    }

    /// Visit every child of `node` (which need not be the cursor's node).
    fn visit_node_children(&mut self, node: Node, ctx: Ctx) {
        let mut cursor = node.walk();
        self.visit_children(&mut cursor, ctx);
    }

    fn visit_opt(&mut self, node: Option<Node>, ctx: Ctx) {
        if let Some(node) = node {
            let mut cursor = node.walk();
            self.visit(node, &mut cursor, ctx);
        }
    }

    /// Visit `node`; `cursor` points at it.
    fn visit(&mut self, node: Node, cursor: &mut TreeCursor<'_>, ctx: Ctx) {
        if self.depth >= MAX_NESTING {
            // Deeper than any hand-written code (generated expressions with
            // thousands of terms): skip the rest of this subtree, keep the file.
            if self.out.too_deep.is_none() {
                self.out.too_deep = Some(self.position(node));
            }
            return;
        }
        self.depth += 1;
        self.visit_node(node, cursor, ctx);
        self.depth -= 1;
    }

    fn visit_node(&mut self, node: Node, cursor: &mut TreeCursor<'_>, ctx: Ctx) {
        let kind = node.kind_id();
        let k = self.k;
        if kind == k.identifier {
            self.log_read(node, FlowKind::Read, ctx);
        } else if self.visit_flow(node, cursor, ctx) {
            // Read, written or branched: logged for the loops' data flow.
        } else if kind == k.global_statement {
            let mut c = node.walk();
            for name in node.named_children(&mut c) {
                if name.kind_id() == k.identifier {
                    self.globals.push((ctx.scope, self.text(name).to_string()));
                    self.loop_flow.declared.push(self.text(name));
                }
            }
        } else if kind == k.expression_statement {
            if let Some(first) = node.named_child(0) {
                let call = if first.kind_id() == k.await_ { first.named_child(0) } else { Some(first) };
                if let Some(call) = call.filter(|c| c.kind_id() == k.call) {
                    self.statement_call_at = Some((call.start_byte(), call.end_byte()));
                }
            }
            self.visit_children(cursor, ctx);
        } else if kind == k.string || kind == k.comment {
            // Only f-strings can hold calls; plain strings (docstrings above all)
            // are many nodes that cannot matter, so they are not walked.
            if kind == k.string && self.is_f_string(node) {
                self.visit_children(cursor, ctx);
            }
        } else if kind == k.call {
            self.visit_call(node, ctx, false);
        } else if kind == k.await_ {
            match node.named_child(0) {
                Some(inner) if inner.kind_id() == k.call => self.visit_call(inner, ctx, true),
                _ => self.visit_children(cursor, ctx),
            }
        } else if kind == k.function_definition {
            self.visit_function(node, Vec::new(), ctx);
        } else if kind == k.class_definition {
            self.visit_class(node, Vec::new(), ctx);
        } else if kind == k.decorated_definition {
            self.visit_decorated(node, ctx);
        } else if kind == k.lambda {
            let mut params: Vec<&'s str> = Vec::new();
            if let Some(list) = node.child_by_field_id(fields().parameters.get()) {
                let mut c = list.walk();
                for p in list.named_children(&mut c) {
                    let name = match p.kind() {
                        "identifier" => Some(p),
                        "default_parameter" => p.child_by_field_id(fields().name.get()),
                        "list_splat_pattern" | "dictionary_splat_pattern" => p.named_child(0),
                        _ => None,
                    };
                    params.extend(name.filter(|n| n.kind_id() == k.identifier).map(|n| self.text(n)));
                }
            }
            self.bind_inside(ctx.scope, params.iter().map(|p| (p.to_string(), BindingValue::Unknown)).collect(), node);
            let inner = Ctx { in_lambda: true, ..ctx };
            // Its parameters are its own names, not the function's.
            let shadowed = self.shadow.len();
            self.shadow.extend(params);
            self.visit_children(cursor, inner);
            self.shadow.truncate(shadowed);
        } else if kind == k.import_statement {
            self.visit_import(node, ctx);
        } else if kind == k.import_from_statement {
            self.visit_import_from(node, ctx);
        } else if kind == k.future_import_statement {
            // Nothing to resolve.
        } else if kind == k.assignment {
            self.visit_assignment(node, ctx);
        } else if kind == k.augmented_assignment {
            let left = node.child_by_field_id(fields().left.get());
            if let Some(left) = left {
                // The name holds its new value only once the statement has run.
                self.record_assigned_targets(left, node.end_byte() as u32);
            }
            self.visit_opt(node.child_by_field_id(fields().right.get()), ctx);
            if let Some(left) = left {
                self.visit_target(left, node.end_byte() as u32, FlowKind::Augment, ctx);
            }
        } else if kind == k.for_statement {
            self.visit_for(node, ctx);
        } else if kind == k.while_statement {
            self.visit_while(node, ctx);
        } else if kind == k.list_comprehension
            || kind == k.set_comprehension
            || kind == k.dictionary_comprehension
            || kind == k.generator_expression
        {
            self.visit_comprehension(node, ctx);
        } else if kind == k.break_statement {
            if let Some(&innermost) = self.loop_stack.last() {
                self.out.loops[innermost as usize].has_break = true;
            }
        } else if kind == k.return_statement {
            for &l in &self.loop_stack {
                self.out.loops[l as usize].has_return = true;
            }
            self.bind_result(RETURNED, node, ctx);
            self.visit_children(cursor, ctx);
        } else if kind == k.yield_ {
            for &l in &self.loop_stack {
                self.out.loops[l as usize].has_yield = true;
            }
            if !ctx.in_lambda {
                self.out.scopes[ctx.scope as usize].is_generator = true;
            }
            self.bind_result(YIELDED, node, ctx);
            self.visit_children(cursor, ctx);
        } else if kind == k.except_clause {
            self.visit_except(node, ctx);
            let alias = node.child_by_field_id(fields().alias.get());
            if let Some(alias) = alias.filter(|a| a.kind_id() == k.identifier) {
                // Bound only while the handler runs.
                let at = alias.start_byte() as u32;
                self.loop_flow.push(self.text(alias), at, FlowKind::Kill, (at, at));
            }
            let (inner, alias) = (Ctx { guarded: true, ..ctx }, fields().alias);
            self.visit_fields(cursor, |f| (f != Some(alias)).then_some(inner));
        } else if kind == k.if_statement && ctx.scope == 0 && is_main_guard(self, node) {
            let inner = Ctx { in_main_block: true, ..ctx };
            self.visit_opt(node.child_by_field_id(fields().consequence.get()), inner);
            let mut c = node.walk();
            for alt in node.children_by_field_id(fields().alternative, &mut c) {
                self.visit_opt(Some(alt), ctx);
            }
        } else if kind == k.if_statement {
            // The condition always runs; the branches may not.
            let (inner, condition) = (Ctx { guarded: true, ..ctx }, fields().condition);
            self.visit_fields(cursor, |f| Some(if f == Some(condition) { ctx } else { inner }));
        } else if node.child_count() > 0 {
            self.visit_children(cursor, ctx);
        }
    }

    /// Whether a string literal has an `f` prefix (`f"..."`, `rf'...'`).
    fn is_f_string(&self, node: Node) -> bool {
        let start = node.start_byte();
        self.src.as_bytes()[start..node.end_byte()]
            .iter()
            .take_while(|&&b| b != b'"' && b != b'\'')
            .any(|&b| b == b'f' || b == b'F')
    }

    fn visit_call(&mut self, node: Node, ctx: Ctx, awaited: bool) {
        let function = node.child_by_field_id(fields().function.get());
        let callee = function.and_then(|f| self.chain(f));
        let arguments = node.child_by_field_id(fields().arguments.get());
        // `map(fetch, ids)` and `sorted(xs, key=fetch)` call `fetch` right here.
        let calls_its_argument = match callee.as_deref() {
            Some([name]) => CALLS_ARGUMENT.iter().find(|(n, _)| n == name).map(|(_, how)| *how),
            _ => None,
        };
        let args = arguments.map(|a| self.read_arguments(a, calls_its_argument)).unwrap_or_default();
        let sole_arg = arguments.and_then(|a| self.sole_argument(a));
        let mut arg_names = Vec::new();
        if !self.loop_stack.is_empty() {
            if let Some(a) = arguments {
                self.collect_identifiers(a, &mut arg_names);
            }
            // A method call on a loop variable (`item.fetch()`) depends on it too.
            if let Some(f) = function
                && let Some(obj) = f.child_by_field_id(fields().object.get())
            {
                self.collect_identifiers(obj, &mut arg_names);
            }
        }
        let site = CallSite {
            scope: ctx.scope,
            callee,
            pos: self.position(node),
            end_byte: node.end_byte() as u32,
            keywords: Chain::from_strs(&args.keywords),
            positional: args.positional,
            has_splat: args.has_splat,
            forwards: (args.splats == 1 && args.forwarded.len() == 1).then(|| Name::new(args.forwarded[0])),
            awaited,
            in_lambda: ctx.in_lambda,
            in_main_block: ctx.in_main_block,
            loop_idx: self.loop_stack.last().copied(),
            arg_names: Chain::from_strs(arg_names),
            result_used: self.statement_call_at != Some((node.start_byte(), node.end_byte())),
            via: None,
            guarded: ctx.guarded,
            sole_arg,
            runs_interactive: arguments.is_some_and(|a| self.names_interactive_command(a, ctx.scope)),
        };
        let via = site.callee;
        self.out.calls.push(site);
        for f in args.passed_functions {
            self.push_passed_function(f, ctx, via);
        }
        // Calls nested in the callee or the arguments are call sites too.
        match function.and_then(|f| self.mutated_object(f, ctx.scope)) {
            Some(object) => {
                self.visit_opt(arguments, ctx);
                // The object changes once the arguments are evaluated.
                let path = self.path_text(object).or_else(|| self.path_root(object));
                if let Some(path) = path.filter(|p| !self.shadow.contains(&p.split('.').next().unwrap_or(p))) {
                    self.log_write(path, node.end_byte() as u32, FlowKind::Mutate);
                }
            }
            None => {
                self.visit_opt(function, ctx);
                self.visit_opt(arguments, ctx);
            }
        }
    }

    /// The keywords, positional count and splats of a call's arguments, and the
    /// functions it passes to a builtin that calls them.
    fn read_arguments<'n>(&self, args: Node<'n>, calls_its_argument: Option<PassedAs>) -> Arguments<'n>
    where
        's: 'n,
    {
        let mut out = Arguments::default();
        let mut c = args.walk();
        for arg in args.named_children(&mut c) {
            match arg.kind() {
                "keyword_argument" => {
                    if let Some(name) = arg.child_by_field_id(fields().name.get()) {
                        let name = self.text(name);
                        if name == "key" && calls_its_argument == Some(PassedAs::Key) {
                            out.passed_functions.extend(arg.child_by_field_id(fields().value.get()));
                        }
                        out.keywords.push(name.to_string());
                    }
                }
                "list_splat" | "dictionary_splat" => {
                    out.has_splat = true;
                    out.splats += 1;
                    if arg.kind() == "dictionary_splat"
                        && let Some(name) = arg.named_child(0).filter(|n| n.kind() == "identifier")
                    {
                        out.forwarded.push(self.text(name));
                    }
                }
                "comment" => {}
                _ => {
                    if out.positional == 0 && calls_its_argument == Some(PassedAs::First) {
                        out.passed_functions.push(arg);
                    }
                    out.positional += 1
                }
            }
        }
        out
    }

    /// `map(fetch, ids)`: `fetch` is called here, by `via`.
    fn push_passed_function(&mut self, f: Node, ctx: Ctx, via: Option<Chain>) {
        let Some(chain) = self.chain(f).filter(|c| c.last().is_some_and(|l| l != CALL_SEGMENT)) else { return };
        self.out.calls.push(CallSite {
            scope: ctx.scope,
            callee: Some(chain),
            pos: self.position(f),
            end_byte: f.end_byte() as u32,
            keywords: Names::EMPTY,
            positional: 1,
            has_splat: false,
            forwards: None,
            awaited: false,
            in_lambda: ctx.in_lambda,
            in_main_block: ctx.in_main_block,
            loop_idx: self.loop_stack.last().copied(),
            arg_names: Names::EMPTY,
            result_used: true,
            via,
            guarded: ctx.guarded,
            sole_arg: None,
            runs_interactive: false,
        });
    }

    fn collect_identifiers(&self, root: Node, out: &mut Vec<String>) {
        let mut stack = vec![root];
        while let Some(node) = stack.pop() {
            if node.kind_id() == self.k.identifier {
                let name = self.text(node);
                if !out.iter().any(|n| n == name) {
                    out.push(name.to_string());
                }
            } else if node.kind() == "attribute" {
                // Only the object of `a.b` is a name that is read.
                stack.extend(node.child_by_field_id(fields().object.get()));
            } else if node.kind() == "keyword_argument" {
                stack.extend(node.child_by_field_id(fields().value.get()));
            } else {
                let mut c = node.walk();
                let children: Vec<Node> = node.named_children(&mut c).collect();
                stack.extend(children.into_iter().rev());
            }
        }
    }

    /// A dotted chain for `node`, or `None` when it is not one.
    fn chain(&self, node: Node) -> Option<Chain> {
        let mut out = Vec::new();
        self.chain_into(node, &mut out, 0).then(|| Chain::from_strs(out))
    }

    /// The segments of a dotted chain, as text of the source (interned once, by [`Self::chain`]).
    fn chain_into(&self, node: Node, out: &mut Vec<&'s str>, depth: u32) -> bool {
        if depth > 64 {
            return false;
        }
        match node.kind() {
            "identifier" => {
                out.push(self.text(node));
                true
            }
            "attribute" => {
                let (Some(obj), Some(attr)) =
                    (node.child_by_field_id(fields().object.get()), node.child_by_field_id(fields().attribute.get()))
                else {
                    return false;
                };
                if !self.chain_into(obj, out, depth + 1) {
                    return false;
                }
                out.push(self.text(attr));
                true
            }
            "call" => {
                let Some(function) = node.child_by_field_id(fields().function.get()) else {
                    return false;
                };
                if !self.chain_into(function, out, depth + 1) {
                    return false;
                }
                out.push(CALL_SEGMENT);
                true
            }
            "parenthesized_expression" => match node.named_child(0) {
                Some(inner) => self.chain_into(inner, out, depth + 1),
                None => false,
            },
            // `handlers[kind]` is an item of `handlers`; a slice (`items[1:]`) is the container again.
            "subscript" => {
                let Some(value) = node.child_by_field_id(fields().value.get()) else { return false };
                if !self.chain_into(value, out, depth + 1) {
                    return false;
                }
                let sliced = node.child_by_field_id(fields().subscript.get()).is_some_and(|i| i.kind() == "slice");
                if !sliced {
                    out.push(SUBSCRIPT);
                }
                true
            }
            // `root / "name"` is `root.__truediv__("name")`: a `Path` joined to a `Path`.
            "binary_operator" => match self.true_division(node) {
                Some(left) => {
                    if !self.chain_into(left, out, depth + 1) {
                        return false;
                    }
                    out.push(TRUE_DIVISION);
                    out.push(CALL_SEGMENT);
                    true
                }
                None => false,
            },
            _ => false,
        }
    }

    /// The left side of `left / right`.
    fn true_division<'n>(&self, node: Node<'n>) -> Option<Node<'n>> {
        let operator = node.child_by_field_name("operator")?;
        (self.text(operator) == "/").then(|| node.child_by_field_id(fields().left.get())).flatten()
    }

    /// The main type named by an annotation: `T | None`, `Optional[T]` and `"T"` give `T`.
    fn type_chain(&self, node: Node, depth: u32) -> Option<Chain> {
        if depth > 16 {
            return None;
        }
        match node.kind() {
            "type" => node.named_child(0).and_then(|n| self.type_chain(n, depth + 1)),
            "identifier" | "attribute" => {
                let chain = self.chain(node)?;
                (chain.last().map(|n| n.as_str()) != Some("None")).then_some(chain)
            }
            "none" => None,
            "string" => {
                let text = self.text(node).trim_matches(|c| c == '"' || c == '\'');
                let text = text.split('|').map(str::trim).find(|p| *p != "None")?;
                let text = text.split('[').next().unwrap_or(text).trim();
                if text.is_empty()
                    || !text.split('.').all(|s| !s.is_empty() && s.chars().all(|c| c == '_' || c.is_alphanumeric()))
                {
                    return None;
                }
                Some(Chain::from_strs(text.split('.')))
            }
            "binary_operator" => {
                // `A | None`: the first side that is not None.
                let left = node.child_by_field_id(fields().left.get());
                let right = node.child_by_field_id(fields().right.get());
                left.and_then(|l| self.type_chain(l, depth + 1))
                    .or_else(|| right.and_then(|r| self.type_chain(r, depth + 1)))
            }
            "union_type" => {
                let mut c = node.walk();
                let children: Vec<Node> = node.named_children(&mut c).collect();
                children.into_iter().find_map(|n| self.type_chain(n, depth + 1))
            }
            "generic_type" | "subscript" => {
                let base = node.child_by_field_id(fields().value.get()).or_else(|| node.named_child(0))?;
                let base_chain = self.chain(base)?;
                let last = base_chain.last().map(|n| n.as_str()).unwrap_or("");
                if let Some(marker) = container_marker(last) {
                    return self.element_type(node, marker, depth);
                }
                if last == "Optional" || last == "Union" || last == "Annotated" {
                    // The first type argument.
                    let mut c = node.walk();
                    let args: Vec<Node> = node.named_children(&mut c).skip(1).collect();
                    for arg in args {
                        if arg.kind() == "type_parameter" {
                            let mut c2 = arg.walk();
                            let inner: Vec<Node> = arg.named_children(&mut c2).collect();
                            if let Some(found) = inner.into_iter().find_map(|n| self.type_chain(n, depth + 1)) {
                                return Some(found);
                            }
                        } else if let Some(found) = self.type_chain(arg, depth + 1) {
                            return Some(found);
                        }
                    }
                    None
                } else {
                    Some(base_chain)
                }
            }
            _ => None,
        }
    }

    /// `list[T]` as the chain of `T` closed by `marker` ([`ITEMS_OF`] or
    /// [`VALUES_OF`]); the element is the last type argument (a mapping's value), or
    /// the first for `tuple[T, ...]` and generators; `None` when it is not a plain type.
    fn element_type(&self, node: Node, marker: &'static str, depth: u32) -> Option<Chain> {
        let mut c = node.walk();
        let mut args: Vec<Node> = Vec::new();
        for arg in node.named_children(&mut c).skip(1) {
            if arg.kind() == "type_parameter" {
                let mut c2 = arg.walk();
                args.extend(arg.named_children(&mut c2));
            } else {
                args.push(arg);
            }
        }
        let element = if marker == VALUES_OF { args.get(1) } else { args.first() }?;
        if marker == ITEMS_OF && args.len() > 1 && !args.iter().skip(1).all(|a| self.text(*a) == "...") {
            // `tuple[A, B]` holds different types; `Generator[Y, S, R]` yields `Y`.
            let base = node.child_by_field_id(fields().value.get()).or_else(|| node.named_child(0))?;
            if !self.text(base).ends_with("Generator") && !self.text(base).ends_with("Iterator") {
                return None;
            }
        }
        let chain = self.type_chain(*element, depth + 1)?;
        Some(extended(chain, &[marker]))
    }

    /// What an assigned expression binds, for later type resolution.
    fn value_of(&self, node: Node, depth: u32) -> BindingValue {
        if depth > 8 {
            return BindingValue::Unknown;
        }
        match node.kind() {
            "call" => match node.child_by_field_id(fields().function.get()).and_then(|f| self.chain(f)) {
                Some(callee) => match self.first_argument(node) {
                    Some(argument) if wraps_argument(&callee) => {
                        BindingValue::CallWith { callee, argument: Box::new(self.value_of(argument, depth + 1)) }
                    }
                    _ => BindingValue::Call(callee),
                },
                None => BindingValue::Unknown,
            },
            "identifier" | "attribute" | "subscript" => match self.chain(node) {
                Some(chain) => BindingValue::Alias(chain),
                None => BindingValue::Unknown,
            },
            "binary_operator" => match self.true_division(node).and_then(|left| self.chain(left)) {
                Some(chain) => {
                    let parts: Vec<Name> = chain.iter().copied().chain([Name::new(TRUE_DIVISION)]).collect();
                    BindingValue::Call(Chain::new(&parts))
                }
                None => BindingValue::Unknown,
            },
            "none" => BindingValue::NoneValue,
            // `con = self.con = connect()`: the innermost right-hand side.
            "assignment" => match node.child_by_field_id(fields().right.get()) {
                Some(right) => self.value_of(right, depth + 1),
                None => BindingValue::Unknown,
            },
            "tuple" | "expression_list" => {
                let mut c = node.walk();
                let items: Vec<Node> = node.named_children(&mut c).filter(|n| n.kind() != "comment").collect();
                if items.is_empty() || items.len() > 8 {
                    return BindingValue::Unknown;
                }
                BindingValue::Tuple(items.into_iter().map(|n| self.value_of(n, depth + 1)).collect())
            }
            "list" | "set" => {
                let mut c = node.walk();
                let items: Vec<Node> = node.named_children(&mut c).filter(|n| n.kind() != "comment").collect();
                self.display_items(&items, depth).map_or(BindingValue::Unknown, |v| BindingValue::ItemsOf(Box::new(v)))
            }
            "dictionary" => {
                let mut c = node.walk();
                let entries: Vec<Node> = node.named_children(&mut c).filter(|n| n.kind() != "comment").collect();
                if entries.iter().any(|n| n.kind() != "pair") {
                    return BindingValue::Unknown; // `**other` spreads values we do not see
                }
                let values: Vec<Node> =
                    entries.iter().filter_map(|p| p.child_by_field_id(fields().value.get())).collect();
                self.display_items(&values, depth)
                    .map_or(BindingValue::Unknown, |v| BindingValue::ValuesOf(Box::new(v)))
            }
            "list_comprehension" | "set_comprehension" | "generator_expression" => {
                match node.child_by_field_id(fields().body.get()).map(|b| self.value_of(b, depth + 1)) {
                    Some(BindingValue::Unknown) | None => BindingValue::Unknown,
                    Some(item) => BindingValue::ItemsOf(Box::new(item)),
                }
            }
            "parenthesized_expression" | "await" => match node.named_child(0) {
                Some(inner) => self.value_of(inner, depth + 1),
                None => BindingValue::Unknown,
            },
            // `session or requests.Session()`: prefer the side that constructs something.
            "boolean_operator" | "conditional_expression" => {
                let mut c = node.walk();
                let parts: Vec<Node> = node.named_children(&mut c).collect();
                let values: Vec<BindingValue> = parts.iter().map(|p| self.value_of(*p, depth + 1)).collect();
                values
                    .iter()
                    .find(|v| matches!(v, BindingValue::Call(_)))
                    .or_else(|| values.iter().find(|v| matches!(v, BindingValue::Alias(_))))
                    .cloned()
                    .unwrap_or(BindingValue::Unknown)
            }
            _ => BindingValue::Unknown,
        }
    }

    /// Record what a `return` or `yield` statement gives as the function's `name`
    /// pseudo-binding, when it is something resolution can follow.
    fn bind_result(&mut self, name: &str, node: Node, ctx: Ctx) {
        if ctx.in_lambda || self.out.scopes[ctx.scope as usize].kind != ScopeKind::Function {
            return;
        }
        let mut c = node.walk();
        let Some(expr) = node.named_children(&mut c).next() else { return };
        if node.child(1).is_some_and(|c| c.kind() == "from") {
            return; // `yield from`: the items of another iterable.
        }
        let value = self.value_of(expr, 0);
        if !matches!(value, BindingValue::Unknown | BindingValue::NoneValue) {
            self.bind(ctx.scope, name, node.start_byte() as u32, value);
        }
    }

    /// What the items of a list, set or dict display are: their value when all are
    /// the same, one of them when each is known (different handlers), else `None`.
    fn display_items(&self, items: &[Node], depth: u32) -> Option<BindingValue> {
        if items.is_empty() {
            return None;
        }
        let values: Vec<BindingValue> = items.iter().take(16).map(|n| self.value_of(*n, depth + 1)).collect();
        if values.iter().any(|v| matches!(v, BindingValue::Unknown | BindingValue::NoneValue)) {
            return None;
        }
        if values.iter().all(|v| *v == values[0]) {
            return values.into_iter().next();
        }
        Some(BindingValue::Either(values))
    }

    /// The first positional argument of a call.
    fn first_argument<'n>(&self, call: Node<'n>) -> Option<Node<'n>> {
        let args = call.child_by_field_id(fields().arguments.get())?;
        if args.kind() == "generator_expression" {
            return Some(args); // `tuple(Shard(n) for n in …)`: the generator is the argument.
        }
        let mut c = args.walk();
        let first = args.named_children(&mut c).find(|a| a.kind() != "comment")?;
        (first.kind() != "keyword_argument" && !first.kind().ends_with("splat")).then_some(first)
    }

    /// The names of a flat tuple target (`a, b` or `(a, b)`), or `None`.
    fn flat_names(&self, target: Node) -> Option<Vec<String>> {
        let mut c = target.walk();
        let items: Vec<Node> = target.named_children(&mut c).filter(|n| n.kind() != "comment").collect();
        items
            .iter()
            .all(|i| i.kind() == "identifier")
            .then(|| items.iter().map(|n| self.text(*n).to_string()).collect())
    }

    /// What each name of a flat tuple target binds when `of` is unpacked into it.
    fn unpacked(&self, target: Node, of: BindingValue) -> Vec<(String, BindingValue)> {
        let names = self.flat_names(target).unwrap_or_default();
        let of = Box::new(of);
        names
            .into_iter()
            .enumerate()
            .map(|(i, name)| (name, BindingValue::Unpacked { of: of.clone(), position: i as u32 }))
            .collect()
    }

    /// What each name of a loop target binds: an element of iterating `iterable`,
    /// or its item at a position for a flat tuple target (`for key, value in …`).
    fn target_elements(&self, target: Node, iterable: Option<Node>) -> Vec<(String, BindingValue)> {
        let of = Box::new(iterable.map_or(BindingValue::Unknown, |i| self.value_of(i, 0)));
        let element = |position| BindingValue::Element { of: of.clone(), position };
        if target.kind() == "identifier" {
            return vec![(self.text(target).to_string(), element(None))];
        }
        if matches!(target.kind(), "pattern_list" | "tuple_pattern")
            && let Some(names) = self.flat_names(target)
        {
            return names.into_iter().enumerate().map(|(i, n)| (n, element(Some(i as u32)))).collect();
        }
        let mut names = Vec::new();
        self.target_names(target, &mut names);
        names.into_iter().map(|n| (n, BindingValue::Unknown)).collect()
    }

    /// Bind the variables of a comprehension or the parameters of a lambda: they
    /// shadow outer names (an import called `r`) inside `node`, and nothing outside it.
    fn bind_inside(&mut self, scope: u32, names: Vec<(String, BindingValue)>, node: Node) {
        let (start, end) = (node.start_byte() as u32, node.end_byte() as u32);
        for (name, value) in names {
            self.out.scopes[scope as usize].bindings.push(Binding {
                name: Name::new(&name),
                byte: start,
                at: start,
                scope,
                value,
                until: Some(end),
            });
        }
    }

    fn bind(&mut self, scope: u32, name: &str, byte: u32, value: BindingValue) {
        self.bind_at(scope, name, byte, byte, value);
    }

    fn bind_at(&mut self, scope: u32, name: &str, byte: u32, at: u32, value: BindingValue) {
        self.out.scopes[scope as usize].bindings.push(Binding {
            name: Name::new(name),
            byte,
            at,
            scope,
            value,
            until: None,
        });
    }

    fn record_assigned(&mut self, name: &str, byte: u32) {
        for &l in &self.loop_stack {
            self.out.loops[l as usize].assigned.push((Name::new(name), byte));
        }
    }

    /// Names bound by an assignment target, recorded as assigned in open loops.
    fn record_assigned_targets(&mut self, target: Node, byte: u32) {
        let mut names = Vec::new();
        self.target_names(target, &mut names);
        for name in names {
            self.record_assigned(&name, byte);
        }
    }

    /// Identifiers bound by a target pattern (`a`, `a, b`, `(a, [b, *c])`); `x.y` and `x[i]`
    /// bind nothing new but count as assigning `x`.
    fn target_names(&self, root: Node, out: &mut Vec<String>) {
        let mut stack = vec![root];
        while let Some(node) = stack.pop() {
            match node.kind() {
                "identifier" => out.push(self.text(node).to_string()),
                "attribute" | "subscript" => {
                    let mut n = node;
                    while let Some(obj) =
                        n.child_by_field_id(fields().object.get()).or_else(|| n.child_by_field_id(fields().value.get()))
                    {
                        n = obj;
                    }
                    if n.kind() == "identifier" {
                        out.push(self.text(n).to_string());
                    }
                }
                _ => {
                    let mut c = node.walk();
                    let children: Vec<Node> = node.named_children(&mut c).collect();
                    stack.extend(children.into_iter().rev());
                }
            }
        }
    }

    fn visit_assignment(&mut self, node: Node, ctx: Ctx) {
        let left = node.child_by_field_id(fields().left.get());
        let right = node.child_by_field_id(fields().right.get());
        let annotation = node.child_by_field_id(fields().type_.get());
        if let Some(left) = left {
            // The name holds its new value only once the right-hand side has run.
            self.record_assigned_targets(left, node.end_byte() as u32);
            let at = node.start_byte() as u32;
            let byte = node.end_byte() as u32;
            match left.kind() {
                "identifier" => {
                    let name = self.text(left);
                    let value = match (annotation.and_then(|t| self.type_chain(t, 0)), right) {
                        (Some(ty), _) => BindingValue::Annotated(ty),
                        (None, Some(r)) => self.value_of(r, 0),
                        (None, None) => BindingValue::Unknown,
                    };
                    let scope = ctx.scope;
                    self.note_interactive_binding(scope, name, right);
                    self.note_registry_alias(scope, name, right);
                    if let (None, Some(right)) = (annotation, right) {
                        self.record_assigned_local(node, left, right, scope);
                    }
                    if self.out.scopes[scope as usize].kind == ScopeKind::Class && annotation.is_some() {
                        // `x: T` in a class body declares an instance attribute too.
                        self.out.scopes[scope as usize].attributes.push(Binding {
                            name: Name::new(name),
                            byte,
                            at,
                            scope,
                            value: value.clone(),
                            until: None,
                        });
                    }
                    if self.globals.iter().any(|(s, n)| *s == scope && n == name) {
                        // `global x` then `x = ...`: the module's `x`, its value read in this function.
                        self.out.scopes[0].bindings.push(Binding {
                            name: Name::new(name),
                            byte,
                            at,
                            scope,
                            value,
                            until: None,
                        });
                    } else {
                        self.bind_at(scope, name, byte, at, value);
                    }
                }
                "attribute" => self.bind_self_attribute(left, annotation, right, ctx),
                "pattern_list" | "tuple_pattern" if self.flat_names(left).is_some() => {
                    let of = right.map_or(BindingValue::Unknown, |r| self.value_of(r, 0));
                    for (name, value) in self.unpacked(left, of) {
                        self.bind_at(ctx.scope, &name, byte, at, value);
                    }
                }
                _ => {
                    self.note_registration(left, right, ctx);
                    self.note_store_by_key(left, ctx);
                    let mut names = Vec::new();
                    self.target_names(left, &mut names);
                    if left.kind() != "subscript" {
                        for name in names {
                            self.bind_at(ctx.scope, &name, byte, at, BindingValue::Unknown);
                        }
                    }
                }
            }
        }
        self.visit_opt(right, ctx);
        // `x: int` alone binds nothing.
        if let (Some(left), Some(_)) = (left, right) {
            self.visit_target(left, node.end_byte() as u32, FlowKind::Kill, ctx);
        }
    }

    /// `self.x = value` in a method records an attribute of the enclosing class.
    fn bind_self_attribute(&mut self, left: Node, annotation: Option<Node>, right: Option<Node>, ctx: Ctx) {
        let (Some(obj), Some(attr)) =
            (left.child_by_field_id(fields().object.get()), left.child_by_field_id(fields().attribute.get()))
        else {
            return;
        };
        let scope = &self.out.scopes[ctx.scope as usize];
        if scope.kind != ScopeKind::Function || obj.kind() != "identifier" {
            return;
        }
        let Some(first) = scope.params.first() else { return };
        if first.name != self.text(obj) {
            return;
        }
        let Some(class) = scope.parent.filter(|p| self.out.scopes[*p as usize].kind == ScopeKind::Class) else {
            return;
        };
        let value = match (annotation.and_then(|t| self.type_chain(t, 0)), right) {
            (Some(ty), _) => BindingValue::Annotated(ty),
            (None, Some(r)) => self.value_of(r, 0),
            (None, None) => BindingValue::Unknown,
        };
        let binding = Binding {
            name: Name::new(self.text(attr)),
            byte: left.start_byte() as u32,
            at: left.start_byte() as u32,
            scope: ctx.scope,
            value,
            until: None,
        };
        self.out.scopes[class as usize].attributes.push(binding);
    }

    fn visit_import(&mut self, node: Node, ctx: Ctx) {
        let mut c = node.walk();
        let byte = node.start_byte() as u32;
        for name in node.children_by_field_id(fields().name, &mut c) {
            match name.kind() {
                "dotted_name" => {
                    let module = self.text(name);
                    let top = module.split('.').next().unwrap_or(module);
                    self.bind(ctx.scope, top, byte, BindingValue::Module(Name::new(top)));
                    self.log_write(top, byte, FlowKind::Kill);
                }
                "aliased_import" => {
                    let (Some(n), Some(alias)) =
                        (name.child_by_field_id(fields().name.get()), name.child_by_field_id(fields().alias.get()))
                    else {
                        continue;
                    };
                    let module = Name::new(self.text(n));
                    self.bind(ctx.scope, self.text(alias), byte, BindingValue::Module(module));
                    self.log_write(self.text(alias), byte, FlowKind::Kill);
                }
                _ => {}
            }
        }
    }

    fn visit_import_from(&mut self, node: Node, ctx: Ctx) {
        let byte = node.start_byte() as u32;
        let Some(module_node) = node.child_by_field_id(fields().module_name.get()) else { return };
        let (level, module) = if module_node.kind() == "relative_import" {
            let mut level = 0;
            let mut module = String::new();
            let mut c = module_node.walk();
            for child in module_node.named_children(&mut c) {
                match child.kind() {
                    "import_prefix" => level = self.text(child).chars().filter(|&ch| ch == '.').count() as u32,
                    "dotted_name" => module = self.text(child).to_string(),
                    _ => {}
                }
            }
            (level, module)
        } else {
            (0, self.text(module_node).to_string())
        };
        let mut c = node.walk();
        let mut any_name = false;
        for name in node.children_by_field_id(fields().name, &mut c) {
            any_name = true;
            let (imported, bound) = match name.kind() {
                "dotted_name" => (self.text(name), self.text(name)),
                "aliased_import" => {
                    match (name.child_by_field_id(fields().name.get()), name.child_by_field_id(fields().alias.get())) {
                        (Some(n), Some(a)) => (self.text(n), self.text(a)),
                        _ => continue,
                    }
                }
                _ => continue,
            };
            let value = BindingValue::FromImport { level, module: Name::new(&module), name: Name::new(imported) };
            self.bind(ctx.scope, bound, byte, value);
            self.log_write(bound, byte, FlowKind::Kill);
        }
        if !any_name {
            let mut c = node.walk();
            if node.children(&mut c).any(|ch| ch.kind() == "wildcard_import") {
                let pos = self.position(node);
                self.out.star_imports.push((pos, level, module));
            }
        }
    }

    fn visit_decorated(&mut self, node: Node, ctx: Ctx) {
        let mut decorators = Vec::new();
        let mut c = node.walk();
        let children: Vec<Node> = node.named_children(&mut c).collect();
        for child in &children {
            if child.kind_id() == self.k.decorator {
                if let Some(expr) = child.named_child(0)
                    && let Some(chain) = self.chain(expr)
                {
                    decorators.push(chain);
                }
                // Decorator expressions run in the enclosing scope.
                self.visit_node_children(*child, ctx);
            }
        }
        if let Some(def) = node.child_by_field_id(fields().definition.get()) {
            if def.kind_id() == self.k.function_definition {
                let idx = self.out.scopes.len();
                self.visit_function(def, decorators, ctx);
                if idx < self.out.scopes.len() {
                    self.out.scopes[idx].fixture_name = self.fixture_name(&children);
                }
            } else if def.kind_id() == self.k.class_definition {
                self.visit_class(def, decorators, ctx);
            }
        }
    }

    /// The `name=` a `@…fixture(name="x")` decorator gives a fixture.
    fn fixture_name(&self, children: &[Node]) -> Option<String> {
        for decorator in children.iter().filter(|c| c.kind_id() == self.k.decorator) {
            let Some(call) = decorator.named_child(0).filter(|e| e.kind() == "call") else { continue };
            let callee = call.child_by_field_id(fields().function.get()).and_then(|f| self.chain(f));
            if callee.as_ref().and_then(|c| c.last()).is_none_or(|last| last != "fixture") {
                continue;
            }
            let args = call.child_by_field_id(fields().arguments.get())?;
            let mut c = args.walk();
            for arg in args.named_children(&mut c).filter(|a| a.kind() == "keyword_argument") {
                let key = arg.child_by_field_id(fields().name.get()).map(|n| self.text(n));
                let value = arg.child_by_field_id(fields().value.get()).filter(|v| v.kind() == "string");
                if let (Some("name"), Some(value)) = (key, value) {
                    return Some(self.text(value).trim_matches(|c| c == '"' || c == '\'').to_string());
                }
            }
        }
        None
    }

    fn new_scope(&mut self, kind: ScopeKind, node: Node, name: &str, decorators: Vec<Chain>, ctx: Ctx) -> u32 {
        let parent = &self.out.scopes[ctx.scope as usize];
        let qualname = if parent.qualname.is_empty() {
            Name::new(name)
        } else {
            Name::new(&format!("{}.{}", parent.qualname, name))
        };
        let idx = self.out.scopes.len() as u32;
        let pos = self.position(node);
        self.out.scopes.push(Scope {
            kind,
            name: Name::new(name),
            qualname,
            parent: Some(ctx.scope),
            pos,
            end_byte: node.end_byte() as u32,
            is_async: false,
            is_generator: false,
            decorators,
            fixture_name: None,
            params: Vec::new(),
            kwargs: None,
            returns: None,
            bindings: Vec::new(),
            bases: Vec::new(),
            metaclass: None,
            attributes: Vec::new(),
            stores_by_key: false,
        });
        self.bind(ctx.scope, name, pos.byte, BindingValue::Def(idx));
        idx
    }

    fn visit_function(&mut self, node: Node, decorators: Vec<Chain>, ctx: Ctx) {
        let Some(name_node) = node.child_by_field_id(fields().name.get()) else { return };
        let name = self.text(name_node).to_string();
        let idx = self.new_scope(ScopeKind::Function, node, &name, decorators, ctx);
        self.log_write(self.text(name_node), node.start_byte() as u32, FlowKind::Kill);
        let is_async = node.child(0).is_some_and(|c| c.kind() == "async");
        let returns = node.child_by_field_id(fields().return_type.get()).and_then(|t| self.type_chain(t, 0));
        let params = node.child_by_field_id(fields().parameters.get());
        let mut param_list = Vec::new();
        let mut kwargs = None;
        if let Some(params) = params {
            let mut c = params.walk();
            for p in params.named_children(&mut c) {
                let splat = if p.kind() == "typed_parameter" { p.named_child(0) } else { Some(p) };
                if let Some(name) =
                    splat.filter(|s| s.kind() == "dictionary_splat_pattern").and_then(|s| s.named_child(0))
                {
                    kwargs = Some(Name::new(self.text(name)));
                }
                let (name, annotation, default) = match p.kind() {
                    "identifier" => (Some(self.text(p).to_string()), None, None),
                    "typed_parameter" => {
                        let name =
                            p.named_child(0).filter(|n| n.kind() == "identifier").map(|n| self.text(n).to_string());
                        (name, p.child_by_field_id(fields().type_.get()), None)
                    }
                    "default_parameter" => (
                        p.child_by_field_id(fields().name.get())
                            .filter(|n| n.kind() == "identifier")
                            .map(|n| self.text(n).to_string()),
                        None,
                        p.child_by_field_id(fields().value.get()),
                    ),
                    "typed_default_parameter" => (
                        p.child_by_field_id(fields().name.get()).map(|n| self.text(n).to_string()),
                        p.child_by_field_id(fields().type_.get()),
                        p.child_by_field_id(fields().value.get()),
                    ),
                    "list_splat_pattern" | "dictionary_splat_pattern" => {
                        (p.named_child(0).map(|n| self.text(n).to_string()), None, None)
                    }
                    _ => (None, None, None),
                };
                // Defaults are evaluated where the function is defined.
                self.visit_opt(default, ctx);
                if let Some(name) = name {
                    let annotation = annotation.and_then(|t| self.type_chain(t, 0));
                    param_list.push(Param { name: Name::new(&name), annotation });
                }
            }
        }
        let byte = node.start_byte() as u32;
        {
            let scope = &mut self.out.scopes[idx as usize];
            scope.is_async = is_async;
            scope.returns = returns;
        }
        for (i, p) in param_list.iter().enumerate() {
            self.bind(idx, &p.name, byte, BindingValue::Param(i as u32));
        }
        self.out.scopes[idx as usize].params = param_list;
        self.out.scopes[idx as usize].kwargs = kwargs;

        // A function body has its own loops; the enclosing ones do not see into it.
        let saved = std::mem::take(&mut self.loop_stack);
        let outer = self.enter_flow(self.out.scopes[ctx.scope as usize].kind == ScopeKind::Function);
        let inner = Ctx { scope: idx, in_lambda: false, in_main_block: false, guarded: false };
        self.visit_opt(node.child_by_field_id(fields().body.get()), inner);
        let params: Vec<String> = self.out.scopes[idx as usize].params.iter().map(|p| p.name.to_string()).collect();
        self.leave_flow(outer, &params);
        self.loop_stack = saved;
    }

    fn visit_class(&mut self, node: Node, decorators: Vec<Chain>, ctx: Ctx) {
        let Some(name_node) = node.child_by_field_id(fields().name.get()) else { return };
        let name = self.text(name_node).to_string();
        let superclasses = node.child_by_field_id(fields().superclasses.get());
        let mut bases = Vec::new();
        let mut metaclass = None;
        if let Some(sc) = superclasses {
            let mut c = sc.walk();
            for arg in sc.named_children(&mut c) {
                if arg.kind() == "keyword_argument" {
                    let key = arg.child_by_field_id(fields().name.get()).map(|n| self.text(n));
                    if key == Some("metaclass") {
                        metaclass = arg.child_by_field_id(fields().value.get()).and_then(|v| self.chain(v));
                    }
                } else if let Some(chain) = self.chain(arg) {
                    bases.push(chain);
                }
            }
            self.visit_node_children(sc, ctx);
        }
        let idx = self.new_scope(ScopeKind::Class, node, &name, decorators, ctx);
        self.log_write(self.text(name_node), node.start_byte() as u32, FlowKind::Kill);
        self.out.scopes[idx as usize].bases = bases;
        self.out.scopes[idx as usize].metaclass = metaclass;
        let saved = std::mem::take(&mut self.loop_stack);
        let outer = self.enter_flow(self.out.scopes[ctx.scope as usize].kind == ScopeKind::Function);
        let inner = Ctx { scope: idx, in_lambda: false, in_main_block: false, guarded: false };
        self.visit_opt(node.child_by_field_id(fields().body.get()), inner);
        self.leave_flow(outer, &[]);
        self.loop_stack = saved;
    }

    fn open_loop(&mut self, kind: LoopKind, node: Node, iter: Option<Node>, ctx: Ctx) -> u32 {
        let idx = self.out.loops.len() as u32;
        // From here on, what the body reads and writes can matter to a loop.
        self.loop_flow.recording |= kind != LoopKind::Comprehension;
        let iter_text = iter.map(|n| shorten(self.text(n), 60)).unwrap_or_default();
        let pos = self.position(node);
        self.out.loops.push(LoopInfo {
            kind,
            scope: ctx.scope,
            parent: self.loop_stack.last().copied(),
            pos,
            end_byte: node.end_byte() as u32,
            targets: Vec::new(),
            iter_text,
            iter_range: iter.map_or((0, 0), |n| (n.start_byte() as u32, n.end_byte() as u32)),
            has_break: false,
            has_return: false,
            has_yield: false,
            assigned: Vec::new(),
            carried: Vec::new(),
            escaping: Vec::new(),
        });
        idx
    }

    fn visit_for(&mut self, node: Node, ctx: Ctx) {
        let right = node.child_by_field_id(fields().right.get());
        // The iterable is evaluated once, outside the loop.
        self.visit_opt(right, ctx);
        let is_async = node.child(0).is_some_and(|c| c.kind() == "async");
        let kind = if is_async { LoopKind::AsyncFor } else { LoopKind::For };
        let idx = self.open_loop(kind, node, right, ctx);
        let body = node.child_by_field_id(fields().body.get());
        if let Some(left) = node.child_by_field_id(fields().left.get()) {
            let byte = left.start_byte() as u32;
            let elements = if is_async { Vec::new() } else { self.target_elements(left, right) };
            for (name, value) in elements {
                self.bind(ctx.scope, &name, byte, value);
            }
            let mut names = Vec::new();
            self.target_names(left, &mut names);
            if is_async {
                for name in &names {
                    self.bind(ctx.scope, name, byte, BindingValue::Unknown);
                }
            }
            self.out.loops[idx as usize].targets = names.iter().map(|n| Name::new(n)).collect();
            if let Some(body) = body {
                // Bound once the iterable has been evaluated, for the body.
                let range = (body.start_byte() as u32, body.end_byte() as u32);
                let saved = std::mem::replace(&mut self.cover, range);
                let at = right.map_or(byte, |r| r.end_byte() as u32);
                self.visit_target(left, at, FlowKind::ForTarget, ctx);
                self.cover = saved;
                self.loop_flow.spans.push(loop_flow::Span { loop_idx: idx, body: range });
            }
        }
        self.loop_stack.push(idx);
        self.visit_opt(body, Ctx { guarded: false, ..ctx });
        self.loop_stack.pop();
        self.visit_opt(node.child_by_field_id(fields().alternative.get()), ctx);
    }

    fn visit_while(&mut self, node: Node, ctx: Ctx) {
        let condition = node.child_by_field_id(fields().condition.get());
        let idx = self.open_loop(LoopKind::While, node, condition, ctx);
        self.note_while(idx, condition, ctx.scope);
        self.loop_stack.push(idx);
        let inner = Ctx { guarded: false, ..ctx };
        self.visit_opt(condition, inner);
        self.visit_opt(node.child_by_field_id(fields().body.get()), inner);
        self.loop_stack.pop();
        self.visit_opt(node.child_by_field_id(fields().alternative.get()), ctx);
    }

    fn visit_comprehension(&mut self, node: Node, ctx: Ctx) {
        let mut c = node.walk();
        let children: Vec<Node> = node.named_children(&mut c).collect();
        let first_clause = children.iter().find(|n| n.kind_id() == self.k.for_in_clause).copied();
        let first_iter = first_clause.and_then(|f| f.child_by_field_id(fields().right.get()));
        // The first iterable is evaluated in the enclosing scope, once.
        self.visit_opt(first_iter, ctx);
        let idx = self.open_loop(LoopKind::Comprehension, node, first_iter, ctx);
        let mut targets = Vec::new();
        let mut elements = Vec::new();
        for clause in children.iter().filter(|n| n.kind_id() == self.k.for_in_clause) {
            if let Some(left) = clause.child_by_field_id(fields().left.get()) {
                self.target_names(left, &mut targets);
                elements.extend(self.target_elements(left, clause.child_by_field_id(fields().right.get())));
            }
        }
        // The variables live in the comprehension's own scope.
        self.bind_inside(ctx.scope, elements, node);
        self.out.loops[idx as usize].targets = targets.iter().map(|n| Name::new(n)).collect();
        self.loop_stack.push(idx);
        let shadowed = self.shadow.len();
        for clause in children.iter().filter(|n| n.kind_id() == self.k.for_in_clause) {
            if let Some(left) = clause.child_by_field_id(fields().left.get()) {
                self.shadow_names(left);
            }
        }
        // With an `if` clause, the element is computed for some items only.
        let inner = Ctx { guarded: children.iter().any(|c| c.kind() == "if_clause"), ..ctx };
        for child in &children {
            if child.kind_id() == self.k.for_in_clause {
                if Some(*child) != first_clause {
                    self.visit_opt(child.child_by_field_id(fields().right.get()), inner);
                }
            } else {
                self.visit_opt(Some(*child), inner);
            }
        }
        self.shadow.truncate(shadowed);
        self.loop_stack.pop();
    }

    fn visit_with(&mut self, node: Node, ctx: Ctx) {
        let mut c = node.walk();
        let Some(clause) = node.named_children(&mut c).find(|n| n.kind() == "with_clause") else { return };
        let mut c2 = clause.walk();
        for item in clause.named_children(&mut c2) {
            let Some(value) = item.child_by_field_id(fields().value.get()) else { continue };
            if value.kind() != "as_pattern" {
                continue;
            }
            let Some(expr) = value.named_child(0) else { continue };
            let Some(alias) = value.child_by_field_id(fields().alias.get()) else { continue };
            let mut names = Vec::new();
            self.target_names(alias, &mut names);
            let byte = alias.start_byte() as u32;
            let entered = entered(self.value_of(expr, 0));
            // The grammar wraps the target: `as_pattern_target` holds the name or tuple.
            let target =
                if alias.kind() == "as_pattern_target" { alias.named_child(0).unwrap_or(alias) } else { alias };
            let target = if target.kind() == "parenthesized_expression" {
                target.named_child(0).unwrap_or(target)
            } else {
                target
            };
            let bound: Vec<(String, BindingValue)> = match target.kind() {
                "identifier" => vec![(self.text(target).to_string(), entered)],
                "tuple" | "pattern_list" | "tuple_pattern" | "expression_list" if self.flat_names(target).is_some() => {
                    self.unpacked(target, entered)
                }
                _ => names.iter().map(|n| (n.clone(), BindingValue::Unknown)).collect(),
            };
            // Only a `with` of one item: `async with` would enter every item asynchronously.
            if target.kind() == "identifier" && expr.kind() == "call" && clause.named_child_count() == 1 {
                self.record_with_local(node, expr, target, ctx.scope);
            }
            for (name, value) in bound {
                self.bind(ctx.scope, &name, byte, value);
                self.record_assigned(&name, byte);
            }
            self.visit_target(alias, byte, FlowKind::Kill, ctx);
        }
    }

    /// Record `with <ctor> as <name>:` and every use of `name` in its function.
    fn record_with_local(&mut self, with: Node, ctor: Node, target: Node, scope: u32) {
        // A `with` in a class body has the class's scope; lambdas hold no statements.
        if self.out.scopes[scope as usize].kind == ScopeKind::Function {
            let span = (with.start_byte() as u32, with.end_byte() as u32);
            self.record_bound_local(Binder::With, span, ctor, target, scope);
        }
    }

    /// Record `<name> = <ctor>` as a statement of its own in a function, when the
    /// callee's last segment starts with an upper-case letter (a class by convention:
    /// only those are worth looking for the name's uses).
    fn record_assigned_local(&mut self, assignment: Node, target: Node, right: Node, scope: u32) {
        if right.kind_id() != self.k.call || self.out.scopes[scope as usize].kind != ScopeKind::Function {
            return;
        }
        let Some(callee) = right.child_by_field_id(fields().function.get()) else { return };
        let last = if callee.kind() == "attribute" {
            callee.child_by_field_id(fields().attribute.get())
        } else {
            Some(callee)
        };
        if !last.is_some_and(|n| {
            n.kind_id() == self.k.identifier && self.text(n).starts_with(|c: char| c.is_ascii_uppercase())
        }) {
            return;
        }
        if assignment.parent().is_none_or(|p| p.kind_id() != self.k.expression_statement) {
            return;
        }
        let span = (assignment.start_byte() as u32, self.out.scopes[scope as usize].end_byte);
        self.record_bound_local(Binder::Assigned, span, right, target, scope);
    }

    /// Record a local of function `scope` bound to `ctor`'s result and every use of
    /// its name there; a use refers to it inside `span`.
    fn record_bound_local(&mut self, binder: Binder, span: (u32, u32), ctor: Node, target: Node, scope: u32) {
        let name = self.text(target);
        let function =
            (self.out.scopes[scope as usize].pos.byte as usize, self.out.scopes[scope as usize].end_byte as usize);
        let mut local = BoundLocal {
            scope,
            name: name.into(),
            binder,
            stmt: span,
            ctor: (ctor.start_byte() as u32, ctor.end_byte() as u32),
            ctor_callee: ctor.child_by_field_name("function").and_then(|f| self.chain(f)),
            ..BoundLocal::default()
        };
        // The name's occurrences in the function's text, each found in the tree from
        // the root: far cheaper than walking every node of the function, which
        // most assignments of a class instance would cost the extraction.
        let Some(&def) = self.path_from(self.root, function.0, function.1).last() else { return };
        let is_word = |c: char| c.is_alphanumeric() || c == '_';
        for (offset, _) in self.src[function.0..function.1].match_indices(name) {
            let (start, end) = (function.0 + offset, function.0 + offset + name.len());
            if start == target.start_byte()
                || self.src[..start].chars().next_back().is_some_and(is_word)
                || self.src[end..].chars().next().is_some_and(is_word)
            {
                continue;
            }
            let path = self.path_from(def, start, end);
            let Some(&id) = path.last().filter(|n| n.kind_id() == self.k.identifier) else { continue };
            let parent = path.len().checked_sub(2).map(|i| path[i]);
            if !is_name_use_in(id, parent) {
                continue;
            }
            match bound_local_use(&path, span, self.src) {
                LocalUse::Method(m) if !local.methods.iter().any(|x| x == m) => local.methods.push(m.into()),
                LocalUse::Attribute(a) if !local.attributes.iter().any(|x| x == a) => local.attributes.push(a.into()),
                LocalUse::Method(_) | LocalUse::Attribute(_) => {}
                LocalUse::Escape => {
                    let line = id.start_position().row as u32 + 1;
                    local.escapes = Some(local.escapes.map_or(line, |l| l.min(line)));
                }
            }
        }
        local.methods.sort_by_key(|m| m.to_string());
        local.attributes.sort_by_key(|a| a.to_string());
        self.out.bound_locals.push(local);
    }

    /// The nodes from `top` down to the innermost one spanning exactly
    /// `start..end`, when there is one (else the path stops above).
    fn path_from(&self, top: Node<'s>, start: usize, end: usize) -> Vec<Node<'s>> {
        let mut cursor = top.walk();
        let mut path = vec![top];
        while cursor.goto_first_child_for_byte(start).is_some() {
            let node = cursor.node();
            if node.start_byte() > start || node.end_byte() < end {
                break;
            }
            path.push(node);
            let exact = (node.start_byte(), node.end_byte()) == (start, end);
            if exact && (node.kind_id() == self.k.function_definition || node.named_child_count() == 0) {
                break;
            }
        }
        path
    }

    fn visit_except(&mut self, node: Node, ctx: Ctx) {
        let mut catches = Vec::new();
        let mut catches_unknown = false;
        let mut alias_name: Option<String> = None;
        let mut body = None;
        let mut c = node.walk();
        for child in node.named_children(&mut c) {
            match child.kind() {
                "block" => body = Some(child),
                "comment" => {}
                "as_pattern" => {
                    if let Some(expr) = child.named_child(0) {
                        self.caught_types(expr, &mut catches, &mut catches_unknown);
                    }
                    if let Some(alias) = child.child_by_field_id(fields().alias.get()) {
                        alias_name = Some(self.text(alias).trim().to_string());
                    }
                }
                _ => {
                    if node.child_by_field_id(fields().alias.get()) == Some(child) {
                        alias_name = Some(self.text(child).to_string());
                    } else {
                        self.caught_types(child, &mut catches, &mut catches_unknown);
                    }
                }
            }
        }
        let reraises = body.is_some_and(|b| self.reraises(b, alias_name.as_deref()));
        let pos = self.position(node);
        self.out.handlers.push(Handler { scope: ctx.scope, pos, catches, catches_unknown, reraises });
    }

    fn caught_types(&self, root: Node, out: &mut Vec<Chain>, unknown: &mut bool) {
        let mut stack = vec![root];
        while let Some(node) = stack.pop() {
            match node.kind() {
                "tuple" | "parenthesized_expression" | "expression_list" => {
                    let mut c = node.walk();
                    let children: Vec<Node> = node.named_children(&mut c).collect();
                    stack.extend(children.into_iter().rev());
                }
                _ => match self.chain(node) {
                    Some(chain) => out.push(chain),
                    None => *unknown = true,
                },
            }
        }
    }

    /// Whether a handler body contains `raise` (bare or of the caught name), outside nested defs.
    fn reraises(&self, root: Node, alias: Option<&str>) -> bool {
        let mut stack = vec![root];
        while let Some(node) = stack.pop() {
            if node.kind() == "raise_statement" {
                let mut c = node.walk();
                let first = node.named_children(&mut c).next();
                match first {
                    None => return true,
                    Some(e) if alias.is_some_and(|a| self.text(e) == a) => return true,
                    Some(_) => continue,
                }
            }
            if node.kind_id() == self.k.function_definition
                || node.kind_id() == self.k.class_definition
                || node.kind_id() == self.k.lambda
            {
                continue;
            }
            let mut c = node.walk();
            stack.extend(node.named_children(&mut c));
        }
        false
    }
}

/// What `with <value> as name` binds: what entering the value gives.
fn entered(value: BindingValue) -> BindingValue {
    match value {
        BindingValue::Call(chain) => BindingValue::Alias(extended(chain, &[CALL_SEGMENT, ENTERED])),
        BindingValue::Alias(chain) => BindingValue::Alias(extended(chain, &[ENTERED])),
        other => other,
    }
}

/// `chain` followed by `segments`.
fn extended(chain: Chain, segments: &[&str]) -> Chain {
    let mut parts = chain.to_vec();
    parts.extend(segments.iter().map(|s| Name::new(s)));
    Chain::new(&parts)
}

/// The annotation names of containers: the marker closing the chain of their element type.
fn container_marker(name: &str) -> Option<&'static str> {
    const ITEMS: &[&str] = &[
        "list",
        "List",
        "Sequence",
        "MutableSequence",
        "Iterable",
        "Iterator",
        "Collection",
        "Reversible",
        "set",
        "Set",
        "AbstractSet",
        "MutableSet",
        "frozenset",
        "FrozenSet",
        "deque",
        "Deque",
        "tuple",
        "Tuple",
        "Generator",
        "KeysView",
        "ValuesView",
    ];
    const MAPPINGS: &[&str] =
        &["dict", "Dict", "Mapping", "MutableMapping", "defaultdict", "DefaultDict", "OrderedDict", "ChainMap"];
    if ITEMS.contains(&name) {
        Some(ITEMS_OF)
    } else if MAPPINGS.contains(&name) {
        Some(VALUES_OF)
    } else {
        None
    }
}

/// Builtins whose result is made from their first argument: copies and views of an
/// iterable, `functools.partial`, and `super(Class, self)`. Written names only; the index checks what
/// the name really is where it is called.
fn wraps_argument(callee: &Chain) -> bool {
    const WRAPPERS: &[&str] = &[
        "list",
        "tuple",
        "set",
        "frozenset",
        "sorted",
        "reversed",
        "iter",
        "enumerate",
        "deque",
        "partial",
        "next",
        "super",
    ];
    callee.last().is_some_and(|last| WRAPPERS.contains(&last.as_str()))
}

/// `if __name__ == "__main__":` (either operand order, either quote).
fn is_main_guard(w: &Walker<'_>, node: Node) -> bool {
    let Some(cond) = node.child_by_field_id(fields().condition.get()) else { return false };
    if cond.kind() != "comparison_operator" {
        return false;
    }
    let text: String = w.text(cond).chars().filter(|c| !c.is_whitespace()).collect();
    let text = text.replace('\'', "\"");
    text == "__name__==\"__main__\"" || text == "\"__main__\"==__name__"
}

fn shorten(text: &str, max: usize) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// An identifier that reads or binds a variable: not an attribute's name (`x.name`)
/// nor a keyword argument's (`f(name=1)`); `parent` is the identifier's.
fn is_name_use_in(id: Node, parent: Option<Node>) -> bool {
    parent.is_none_or(|p| match p.kind() {
        "attribute" => p.child_by_field_name("attribute") != Some(id),
        "keyword_argument" => p.child_by_field_name("name") != Some(id),
        _ => true,
    })
}

/// How an identifier naming a bound local uses it.
enum LocalUse<'s> {
    /// `name.method(...)`.
    Method(&'s str),
    /// `name.attribute`, read.
    Attribute(&'s str),
    /// Anything else, or a use outside the local's span or in a nested function or lambda.
    Escape,
}

/// How the identifier at the end of `path` (from the local's function down) uses
/// the bound local: only as the object of a method call or of an attribute read,
/// inside `span` and in the function's own code (not a nested function, lambda or
/// class), is it not an escape.
fn bound_local_use<'s>(path: &[Node], span: (u32, u32), src: &'s str) -> LocalUse<'s> {
    let Some((&id, above)) = path.split_last() else { return LocalUse::Escape };
    if (id.start_byte() as u32) < span.0 || id.end_byte() as u32 > span.1 {
        return LocalUse::Escape;
    }
    let nested =
        above.iter().skip(1).any(|n| matches!(n.kind(), "function_definition" | "lambda" | "class_definition"));
    if nested {
        return LocalUse::Escape;
    }
    let up = |i: usize| above.len().checked_sub(i).map(|k| above[k]);
    let Some(attribute) = up(1).filter(|p| p.kind() == "attribute" && p.child_by_field_name("object") == Some(id))
    else {
        return LocalUse::Escape;
    };
    let Some(name) = attribute.child_by_field_name("attribute").and_then(|m| src.get(m.start_byte()..m.end_byte()))
    else {
        return LocalUse::Escape;
    };
    let parent = up(2);
    if parent.is_some_and(|c| c.kind() == "call" && c.child_by_field_name("function") == Some(attribute)) {
        LocalUse::Method(name)
    } else if parent.is_some_and(|p| is_store_target(attribute, p, up(3))) {
        LocalUse::Escape
    } else {
        LocalUse::Attribute(name)
    }
}

/// Whether `node`, a child of `parent` (itself a child of `grandparent`), is
/// assigned or deleted there (`x.a = 1`, `x.a += 1`, `x.a, y = t`, `for x.a in xs`,
/// `del x.a`) rather than read.
fn is_store_target(node: Node, parent: Node, grandparent: Option<Node>) -> bool {
    match parent.kind() {
        "assignment" | "augmented_assignment" | "for_statement" | "for_in_clause" => {
            parent.child_by_field_name("left") == Some(node)
        }
        "pattern_list" | "tuple_pattern" | "list_pattern" | "as_pattern_target" | "delete_statement" => true,
        "expression_list" => grandparent.is_some_and(|p| p.kind() == "delete_statement"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(src: &str) -> FileSummary {
        summarize(&mut new_parser(), src.as_bytes())
    }

    #[test]
    fn records_with_locals_and_how_they_are_used() {
        let s = summary(
            "def f(u, p):\n    with S() as s:\n        s.get(u, s=1)\n        s.post(u)\n    with S() as t:\n        t.get(u)\n        g(t)\n    with S() as v, open(p) as w:\n        v.get(u)\n",
        );
        let locals: Vec<(&str, Vec<&str>, Option<u32>)> = s
            .bound_locals
            .iter()
            .map(|w| (w.name.as_str(), w.methods.iter().map(|m| m.as_str()).collect(), w.escapes))
            .collect();
        assert_eq!(locals, [("s", vec!["get", "post"], None), ("t", vec!["get"], Some(7))]);
        let get = s.calls.iter().find(|c| c.pos.line == 3).unwrap();
        assert_eq!(s.bound_local_of(get).map(|w| w.name.as_str()), Some("s"));
    }

    #[test]
    fn records_assigned_locals_of_classes_with_their_attribute_reads() {
        let s = summary(
            "@d\ndef f(c):\n    p = sp.Popen(c)\n    p.wait()\n    print(p.returncode, p.pid)\n    q = Popen(c)\n    q.x = 1\n    r = make(c)\n    r.wait()\n    t: T = T()\n    u = U()\n    u.wait()\n    def g():\n        return u.pid\n    v = (V())\n    w, x = W(), 1\n\nclass K:\n    k = K()\n",
        );
        type Uses<'a> = (&'a str, Binder, Vec<&'a str>, Vec<&'a str>, Option<u32>);
        let locals: Vec<Uses> = s
            .bound_locals
            .iter()
            .map(|w| {
                let names = |v: &[Name]| v.iter().map(|m| m.as_str()).collect::<Vec<_>>();
                (w.name.as_str(), w.binder, names(&w.methods), names(&w.attributes), w.escapes)
            })
            .collect();
        assert_eq!(
            locals,
            [
                ("p", Binder::Assigned, vec!["wait"], vec!["pid", "returncode"], None),
                ("q", Binder::Assigned, vec![], vec![], Some(7)),
                ("u", Binder::Assigned, vec!["wait"], vec![], Some(14)),
            ]
        );
        let ctor = s.calls.iter().find(|c| c.callee.as_ref().is_some_and(|c| c.join(".") == "sp.Popen")).unwrap();
        assert_eq!(s.local_constructed_by(ctor).map(|w| w.name.as_str()), Some("p"));
        let wait = s.calls.iter().find(|c| c.pos.line == 4).unwrap();
        assert_eq!(s.bound_local_of(wait).map(|w| w.name.as_str()), Some("p"));
    }

    #[test]
    fn records_scopes_calls_and_bindings() {
        let s = summary(
            "import requests as r\nfrom .x import y as z\n\nclass C:\n    def __init__(self, s: r.Session | None = None) -> None:\n        self.s = s or r.Session()\n\n    async def go(self):\n        await self.s.get('u', timeout=3)\n",
        );
        let names: Vec<&str> = s.scopes.iter().map(|s| s.qualname.as_str()).collect();
        assert_eq!(names, ["", "C", "C.__init__", "C.go"]);
        assert!(s.scopes[3].is_async);
        let class = &s.scopes[1];
        assert_eq!(class.attributes.len(), 1);
        assert!(matches!(&class.attributes[0].value, BindingValue::Call(c) if c == &["r", "Session"]));
        assert_eq!(s.scopes[2].params[1].annotation, Some(Chain::from_strs(["r", "Session"])));
        let get = s.calls.iter().find(|c| c.callee.as_ref().is_some_and(|c| c.last().unwrap() == "get")).unwrap();
        assert!(get.awaited);
        assert_eq!(get.keywords, ["timeout"]);
        assert_eq!((get.pos.line, get.pos.column), (9, 15));
        assert!(
            matches!(&s.scopes[0].bindings[1].value, BindingValue::FromImport { level: 1, module, name } if module == "x" && name == "y")
        );
    }

    #[test]
    fn loops_record_dependencies() {
        let s = summary(
            "def f(xs):\n    out = []\n    for x in xs:\n        if x: break\n        out.append(g(x))\n    return [h(y) for y in xs]\n",
        );
        assert_eq!(s.loops.len(), 2);
        assert!(s.loops[0].has_break);
        assert_eq!(s.loops[0].targets, ["x"]);
        assert_eq!(s.loops[1].kind, LoopKind::Comprehension);
        let g = s.calls.iter().find(|c| c.callee.is_some_and(|c| c == ["g"])).unwrap();
        assert_eq!(g.loop_idx, Some(0));
        assert_eq!(g.arg_names, ["x"]);
    }

    #[test]
    fn calls_inside_f_strings_are_found_and_plain_strings_skipped() {
        let s = summary("def f(x):\n    \"\"\"docs mention g(x)\"\"\"\n    return f\"{g(x)}\" + 'h(x)' + rf'{k(x)}'\n");
        let names: Vec<String> = s.calls.iter().filter_map(|c| c.callee.as_ref().map(|c| c.join("."))).collect();
        assert_eq!(names, ["g", "k"]);
    }

    #[test]
    fn bare_call_statements_do_not_use_their_result() {
        let s = summary("def f(x):\n    g(x).h()\n    y = k(x)\n    await m(x)\n");
        let used: Vec<(String, bool)> =
            s.calls.iter().map(|c| (c.callee.as_ref().unwrap().join("."), c.result_used)).collect();
        assert_eq!(
            used,
            [("g.().h".to_string(), false), ("g".to_string(), true), ("k".to_string(), true), ("m".to_string(), false)]
        );
    }

    #[test]
    fn handlers_and_syntax_errors() {
        let s = summary(
            "async def f():\n    try:\n        pass\n    except BaseException as e:\n        log(e)\n    except:\n        raise\n",
        );
        assert_eq!(s.handlers.len(), 2);
        assert!(!s.handlers[0].reraises);
        assert!(s.handlers[1].reraises && s.handlers[1].catches.is_empty());
        let broken = summary("def f(:\n    pass\ndef g():\n    h()\n");
        assert!(!broken.syntax_errors.is_empty());
        assert!(broken.calls.iter().any(|c| c.callee.is_some_and(|c| c == ["h"])));
    }
}
