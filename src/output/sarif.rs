//! SARIF 2.1.0, as GitHub code scanning accepts it.

use serde_json::{Value, json};

use crate::analysis::Report;
use crate::analysis::rules::{Finding, RuleInfo, all_rules, docs::rule_doc};
use crate::analysis::sources::Diagnostic;

/// One SARIF log with a single run.
pub fn render(report: &Report) -> String {
    let rules = all_rules();
    let rule_objects: Vec<Value> = rules.iter().map(rule_object).collect();
    let results: Vec<Value> = report.findings.iter().map(|f| result_object(f, &rules)).collect();
    let notifications: Vec<Value> = report.diagnostics.iter().map(notification).collect();
    let root_uri = format!("file://{}/", report.root.display().to_string().trim_end_matches('/'));
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": env!("CARGO_PKG_NAME"),
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": rule_objects
                }
            },
            "originalUriBaseIds": { "%SRCROOT%": { "uri": root_uri } },
            "invocations": [{ "executionSuccessful": true, "toolExecutionNotifications": notifications }],
            "results": results
        }]
    });
    let mut out = serde_json::to_string_pretty(&log).expect("SARIF serialises");
    out.push('\n');
    out
}

/// A rule, with its documentation as the help text.
fn rule_object(r: &RuleInfo) -> Value {
    let doc = rule_doc(r);
    json!({
        "id": r.code,
        "name": r.name,
        "shortDescription": { "text": r.summary },
        "fullDescription": { "text": first_paragraph(&doc) },
        "help": { "text": doc, "markdown": doc },
        "defaultConfiguration": { "level": "warning" },
        "properties": { "tags": ["async", "performance"] }
    })
}

/// A finding as a result: its rule, message (with the call path), location and function.
fn result_object(f: &Finding, rules: &[RuleInfo]) -> Value {
    let index = rules.iter().position(|r| r.code == f.code).unwrap_or(0);
    let mut text = f.message.clone();
    if !f.call_path.is_empty() {
        text.push_str(&format!(" (call path: {})", f.call_path.join(" → ")));
    }
    let mut result = json!({
        "ruleId": f.code,
        "ruleIndex": index,
        "level": "warning",
        "message": { "text": text },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": f.path, "uriBaseId": "%SRCROOT%" },
                "region": { "startLine": f.line, "startColumn": f.column }
            }
        }]
    });
    let mut props = serde_json::Map::new();
    if let Some(function) = &f.function {
        props.insert("function".into(), json!(function));
        result["logicalLocations"] = json!([{ "fullyQualifiedName": function, "kind": "function" }]);
    }
    if let Some(api) = &f.api {
        props.insert("api".into(), json!(api));
    }
    if !props.is_empty() {
        result["properties"] = Value::Object(props);
    }
    result
}

/// A diagnostic (a file that could not be analysed) as a tool notification.
fn notification(d: &Diagnostic) -> Value {
    let mut region = serde_json::Map::new();
    if let Some(line) = d.line {
        region.insert("startLine".into(), json!(line));
    }
    if let Some(column) = d.column {
        region.insert("startColumn".into(), json!(column));
    }
    let mut location = json!({ "artifactLocation": { "uri": d.path, "uriBaseId": "%SRCROOT%" } });
    if !region.is_empty() {
        location["region"] = Value::Object(region);
    }
    json!({
        "level": "warning",
        "message": { "text": d.message },
        "locations": [{ "physicalLocation": location }]
    })
}

fn first_paragraph(doc: &str) -> String {
    doc.lines()
        .skip_while(|l| l.starts_with("## ") || l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
