//! The `refactor-async` binary end to end: real git repositories in temp dirs,
//! every output format, bad input, exit codes, and the cache.

use std::path::Path;

use serde_json::Value;

mod common;
use common::*;

/// A git repository, without commits, holding the given files.
fn repo_with(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), files.iter().copied());
    init_repo(dir.path());
    dir
}

fn analyze_json(dir: &Path, extra: &[&str]) -> Value {
    let out = bin(&python()).arg("analyze").arg(dir).args(["--format", "json"]).args(extra).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON document")
}

fn findings(doc: &Value) -> Vec<(String, String, u64, String)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["function"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// The JSON report without what changes from run to run (temp paths, timings, cache counts).
fn stable_json(mut doc: Value) -> String {
    doc["root"] = Value::String("<root>".into());
    doc["tool"]["version"] = Value::String("<version>".into());
    let stats = doc["stats"].as_object_mut().unwrap();
    stats.remove("timings");
    stats.remove("parsed");
    stats.remove("cached");
    stats.remove("reused");
    serde_json::to_string_pretty(&doc).unwrap()
}

#[test]
fn ragjudge_json_report() {
    let repo = example_repo("ragjudge");
    let doc = analyze_json(repo.path(), &["--no-cache"]);
    assert_eq!(doc["version"], 1);
    let f = findings(&doc);
    let has = |code: &str, path: &str, line: u64, function: &str| {
        f.iter().any(|(c, p, l, func)| c == code && p == path && *l == line && func == function)
    };
    assert!(has("RA101", "src/ragjudge/llm.py", 69, "ragjudge.llm.chat_completion"), "{f:#?}");
    assert!(has("RA101", "src/ragjudge/llm.py", 86, "ragjudge.llm.chat_completion"), "{f:#?}");
    assert!(has("RA102", "src/ragjudge/judge.py", 58, "ragjudge.judge.judge_case"), "{f:#?}");
    assert!(has("RA105", "src/ragjudge/evaluate.py", 27, "ragjudge.evaluate.evaluate_all"), "{f:#?}");
    // Test code is an entry point, not a finding, by default.
    assert!(f.iter().all(|(_, p, _, _)| !p.starts_with("tests/")), "{f:#?}");
    insta::assert_snapshot!("ragjudge_json", stable_json(doc));
}

#[test]
fn hubmirror_finds_the_session_calls_and_the_loop() {
    let repo = example_repo("hubmirror");
    let doc = analyze_json(repo.path(), &["--no-cache"]);
    let f = findings(&doc);
    assert!(f.iter().any(|(c, p, _, func)| c == "RA101"
        && p == "hubmirror/client.py"
        && func == "hubmirror.client.ForgeClient.request"));
    assert!(f.iter().any(|(c, _, _, func)| c == "RA105" && func == "hubmirror.sync.sync_all_repos"));
    assert!(f.iter().any(|(c, _, _, func)| c == "RA102" && func == "hubmirror.sync.sync_repo"));
    let api_of = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["function"] == "hubmirror.client.ForgeClient.request" && x["code"] == "RA101")
        .unwrap()["api"]
        .clone();
    assert_eq!(api_of, "requests.Session.request");
    insta::assert_snapshot!("hubmirror_json", stable_json(doc));
}

#[test]
fn async_reference_has_no_blocking_calls_left_in_library_code() {
    let repo = example_repo("ragjudge-async-reference");
    let doc = analyze_json(repo.path(), &["--no-cache"]);
    for f in doc["findings"].as_array().unwrap() {
        let path = f["path"].as_str().unwrap();
        let code = f["code"].as_str().unwrap();
        let expected = if path.starts_with("src/") {
            // Only the dataset helpers (plain file I/O) and the CLI that calls them stay sync.
            matches!(code, "RA101" | "RA102") && (path.ends_with("dataset.py") || path.ends_with("cli.py"))
        } else {
            // Its test deliberately calls the sync wrapper inside a running loop.
            code == "RA107" && path == "tests/test_async.py"
        };
        assert!(expected, "unexpected finding in the async reference: {f}");
    }
    // Its test deliberately calls the sync wrapper inside a running loop.
    let with_tests = analyze_json(repo.path(), &["--no-cache", "--include-tests"]);
    assert!(findings(&with_tests).iter().any(|(c, p, _, _)| c == "RA107" && p == "tests/test_async.py"));
}

#[test]
fn sarif_output_is_sarif_2_1_0() {
    let repo = example_repo("ragjudge");
    let out =
        bin(&python()).arg("analyze").arg(repo.path()).args(["--format", "sarif", "--no-cache"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules.iter().all(|r| r["id"].as_str().unwrap().starts_with("RA")
        && r["help"]["markdown"].as_str().unwrap().contains("## What it does")));
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], r["ruleId"]);
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert!(!loc["artifactLocation"]["uri"].as_str().unwrap().starts_with('/'));
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
        assert!(loc["region"]["startColumn"].as_u64().unwrap() >= 1);
    }
    let mut stable = sarif.clone();
    stable["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] = Value::String("file:///<root>/".into());
    stable["runs"][0]["tool"]["driver"]["version"] = Value::String("<version>".into());
    stable["runs"][0]["tool"]["driver"]["semanticVersion"] = Value::String("<version>".into());
    // Rule help is the rule docs, checked elsewhere; keep the snapshot to the results.
    stable["runs"][0]["tool"]["driver"]["rules"] = Value::Array(vec![]);
    insta::assert_snapshot!("ragjudge_sarif", serde_json::to_string_pretty(&stable).unwrap());
}

#[test]
fn text_output_groups_by_file_and_shows_call_paths() {
    let repo = example_repo("ragjudge");
    let out = bin(&python()).arg("analyze").arg(repo.path()).arg("--no-cache").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\u{1b}'), "no colours when not on a terminal");
    assert!(text.contains("src/ragjudge/llm.py\n"));
    assert!(text.contains("call path: ragjudge.judge.judge_case → ragjudge.judge.score_metric → ragjudge.llm.chat_completion → requests.post"));
    assert!(text.contains("13 findings in 5 files"), "{text}");
}

#[test]
fn output_file_receives_the_report() {
    let repo = example_repo("ragjudge");
    let out_file = repo.path().join("report.json");
    bin(&python())
        .arg("analyze")
        .arg(repo.path())
        .args(["--format", "json", "--output"])
        .arg(&out_file)
        .assert()
        .success()
        .stdout("");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(out_file).unwrap()).unwrap();
    assert_eq!(doc["version"], 1);
}

#[test]
fn bad_files_are_diagnostics_and_the_rest_is_analysed() {
    let mut big = b"import time\n".to_vec();
    big.extend(std::iter::repeat_n(b'#', 700_000));
    let repo = repo_with(&[
        ("good.py", b"import time\n\ndef nap():\n    time.sleep(1)\n"),
        ("broken.py", b"import time\n\ndef f(:\n    pass\n\ndef g():\n    time.sleep(2)\n"),
        ("latin1.py", b"# caf\xe9\nimport time\n"),
        ("blob.py", b"\x00\x01\x02binary"),
        ("big.py", &big),
        ("refactor-async.toml", b"[analysis]\nmax_file_size = 600000\n"),
    ]);
    std::os::unix::fs::symlink(repo.path(), repo.path().join("loop")).unwrap();
    // A generated expression with 100,000 terms: deeper than the walk follows.
    let deep = format!("y = {}\n\nimport time\n\ndef later():\n    time.sleep(3)\n", vec!["a"; 100_000].join(" + "));
    std::fs::write(repo.path().join("generated.py"), deep).unwrap();
    let doc = analyze_json(repo.path(), &["--no-cache"]);
    let kinds: Vec<(String, String)> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["kind"].as_str().unwrap().to_string(), d["path"].as_str().unwrap().to_string()))
        .collect();
    for expected in [
        ("too-deep", "generated.py"),
        ("syntax-error", "broken.py"),
        ("not-utf8", "latin1.py"),
        ("binary", "blob.py"),
        ("too-large", "big.py"),
        ("walk", "loop"),
    ] {
        assert!(kinds.iter().any(|(k, p)| k == expected.0 && p == expected.1), "missing {expected:?} in {kinds:?}");
    }
    let f = findings(&doc);
    assert!(f.iter().any(|(c, p, l, _)| c == "RA101" && p == "good.py" && *l == 4), "{f:?}");
    // What parsed in the broken file is still analysed.
    assert!(f.iter().any(|(c, p, l, _)| c == "RA101" && p == "broken.py" && *l == 7), "{f:?}");
    assert!(f.iter().any(|(c, p, l, _)| c == "RA101" && p == "generated.py" && *l == 6), "{f:?}");
}

#[test]
fn usage_and_configuration_errors_exit_2() {
    bin(&python())
        .args(["analyze", "/definitely/not/here"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("does not exist"));
    bin(&python()).args(["analyze", "--format", "xml"]).assert().code(2);
    bin(&python()).arg("frobnicate").assert().code(2);
    let repo = repo_with(&[("a.py", b"x = 1\n"), ("refactor-async.toml", b"[analysis]\ncache = \"yes\"\n")]);
    bin(&python())
        .arg("analyze")
        .arg(repo.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("refactor-async.toml"));
    let repo = repo_with(&[("a.py", b"x = 1\n"), ("pyproject.toml", b"[tool.refactor-async.analysis\n")]);
    bin(&python()).arg("analyze").arg(repo.path()).assert().code(2).stderr(predicates::str::contains("pyproject.toml"));
}

#[test]
fn repository_catalog_entries_extend_the_builtin_catalog() {
    let repo = repo_with(&[
        ("pyproject.toml", b"[[tool.refactor-async.catalog.api]]\nnames = [\"acme.Client.{fetch,upload}\"]\nkind = \"http\"\nstrategy = \"thread\"\nreplacement = \"asyncio.to_thread\"\ntimeout = \"timeout\"\n"),
        ("app.py", b"from acme import Client\n\ndef sync_all(c: Client):\n    return c.fetch('x')\n\ndef other():\n    return Client().upload(1, timeout=3)\n"),
    ]);
    let doc = analyze_json(repo.path(), &["--no-cache"]);
    let f = findings(&doc);
    assert!(f.iter().any(|(c, _, l, _)| c == "RA101" && *l == 4), "{f:?}");
    assert!(f.iter().any(|(c, _, l, _)| c == "RA106" && *l == 4), "{f:?}");
    assert!(f.iter().any(|(c, _, l, _)| c == "RA101" && *l == 7), "{f:?}");
    assert!(!f.iter().any(|(c, _, l, _)| c == "RA106" && *l == 7), "{f:?}");
}

/// A native entry must name a registered mapping; a repository's entry naming none,
/// or an unknown one, is a configuration error that names the entry (exit 2), for
/// `analyze` and `propose --dry-run` alike.
#[test]
fn a_native_catalog_entry_without_a_registered_mapping_is_a_configuration_error() {
    let entry = "[[catalog.api]]\nnames = [\"acme.Client.fetch\"]\nkind = \"http\"\nstrategy = \"native\"\nreplacement = \"acme.AsyncClient.fetch\"\n";
    for (config, says) in [
        (entry.to_string(), "names no mapping"),
        (format!("{entry}mapping = \"acme\"\n"), "names mapping \"acme\", which is not registered"),
    ] {
        let repo = repo_with(&[("app.py", b"x = 1\n"), ("refactor-async.toml", config.as_bytes())]);
        for args in [&["analyze"][..], &["propose", "--dry-run"][..]] {
            bin(&python())
                .args(args)
                .arg(repo.path())
                .assert()
                .code(2)
                .stderr(predicates::str::contains("the entry for `acme.Client.fetch`"))
                .stderr(predicates::str::contains(says));
        }
    }
    let named = format!("{entry}mapping = \"http_client\"\n");
    let repo = repo_with(&[("app.py", b"x = 1\n"), ("refactor-async.toml", named.as_bytes())]);
    bin(&python()).arg("analyze").arg(repo.path()).assert().code(0);
}

#[test]
fn warm_runs_reuse_the_cache_and_reparse_only_changed_files() {
    let repo = example_repo("hubmirror");
    let cold = analyze_json(repo.path(), &[]);
    assert_eq!(cold["stats"]["cached"], 0);
    assert!(repo.path().join(".git/refactor-async/cache/analysis.bin").is_file());
    let warm = analyze_json(repo.path(), &[]);
    assert_eq!(warm["stats"]["parsed"], 0);
    assert_eq!(warm["stats"]["cached"], warm["stats"]["files"]);
    assert_eq!(cold["stats"]["reused"], false);
    assert_eq!(warm["stats"]["reused"], true, "nothing changed: the last report is reused");
    assert_eq!(stable_json(cold.clone()), stable_json(warm), "the cache never changes results");
    // Console scripts are entry points: pyproject.toml is an input of the report too.
    std::fs::write(repo.path().join("pyproject.toml"), "[project]\nname = \"hubmirror\"\n").unwrap();
    let configured = analyze_json(repo.path(), &[]);
    assert_eq!(configured["stats"]["reused"], false);
    assert_eq!(configured["stats"]["parsed"], 0);
    let sync = repo.path().join("hubmirror/sync.py");
    let text = std::fs::read_to_string(&sync).unwrap() + "\n\ndef nap():\n    import time\n    time.sleep(1)\n";
    std::fs::write(&sync, text).unwrap();
    let edited = analyze_json(repo.path(), &[]);
    assert_eq!(edited["stats"]["parsed"], 1);
    assert_eq!(edited["stats"]["reused"], false);
    assert!(findings(&edited).iter().any(|(c, _, _, f)| c == "RA101" && f == "hubmirror.sync.nap"));
    // A corrupt cache is ignored, not an error: the stored report, then the summaries.
    std::fs::write(repo.path().join(".git/refactor-async/cache/analysis.report"), b"junk").unwrap();
    let recovered = analyze_json(repo.path(), &[]);
    assert_eq!((recovered["stats"]["reused"].clone(), recovered["stats"]["parsed"].clone()), (false.into(), 0.into()));
    std::fs::write(repo.path().join(".git/refactor-async/cache/analysis.report"), b"junk").unwrap();
    std::fs::write(repo.path().join(".git/refactor-async/cache/analysis.bin"), b"junk").unwrap();
    let recovered = analyze_json(repo.path(), &[]);
    assert_eq!(recovered["stats"]["cached"], 0);
    assert_eq!(stable_json(recovered), stable_json(edited));
}

#[test]
fn gitignored_and_excluded_folders_are_not_walked() {
    let repo = repo_with(&[
        (".gitignore", b"generated/\n"),
        ("generated/client.py", b"import time\ndef f():\n    time.sleep(1)\n"),
        ("venv/lib/x.py", b"import time\ndef f():\n    time.sleep(1)\n"),
        ("app.py", b"import time\ndef f():\n    time.sleep(1)\n"),
    ]);
    let doc = analyze_json(repo.path(), &["--no-cache"]);
    let paths: Vec<String> = findings(&doc).into_iter().map(|f| f.1).collect();
    assert_eq!(paths, ["app.py"]);
}

#[test]
fn a_single_file_or_subfolder_keeps_package_names_and_repository_paths() {
    let repo = example_repo("hubmirror");
    let doc = analyze_json(&repo.path().join("hubmirror/client.py"), &["--no-cache"]);
    let f = findings(&doc);
    assert!(!f.is_empty());
    assert!(f.iter().all(|(_, p, _, _)| p == "hubmirror/client.py"), "{f:?}");
    assert!(f.iter().any(|(c, _, _, func)| c == "RA101" && func == "hubmirror.client.ForgeClient.request"), "{f:?}");
    let sub = analyze_json(&repo.path().join("hubmirror"), &["--no-cache"]);
    assert!(
        findings(&sub)
            .iter()
            .any(|(c, p, _, func)| c == "RA105" && p == "hubmirror/sync.py" && func == "hubmirror.sync.sync_all_repos")
    );
}

/// The bundled examples are copies of the shared ones (kept in the repository so a
/// clean clone has them); when the shared folder is at hand, they must not drift.
#[test]
fn bundled_examples_match_the_shared_ones() {
    let shared = manifest_dir().join("../shared/examples");
    if !shared.is_dir() {
        eprintln!("../shared/examples is not here; nothing to compare");
        return;
    }
    let files = |root: &Path| {
        list_files(root, |name| {
            name == "__pycache__" || name.to_string_lossy().starts_with('.') && name != ".gitignore"
        })
    };
    for example in ["ragjudge", "hubmirror", "ragjudge-async-reference", "bench"] {
        let ours = files(&examples().join(example));
        let theirs = files(&shared.join(example));
        assert_eq!(ours, theirs, "{example}: file lists differ");
        for rel in ours {
            let a = std::fs::read(examples().join(example).join(&rel)).unwrap();
            let b = std::fs::read(shared.join(example).join(&rel)).unwrap();
            assert!(a == b, "examples/{example}/{} differs from ../shared/examples", rel.display());
        }
    }
}
