//! The shapes real projects are made of, each a small project of its own under
//! `tests/projects/<shape>/` (its package, its tests, a `Makefile` whose `test` runs
//! pytest and whose `typecheck` runs `mypy --strict`), with a benchmark in
//! `tests/projects/bench/<shape>.py` built on the examples' `benchlib` (a local
//! server with a fixed latency per request).
//!
//! Each test runs `propose` for real with the rules drafter on a git copy of the
//! project and checks that a branch was committed, that every plan the shape is
//! about was converted, that the branch passes the project's own `make test` and
//! `make typecheck` (also run by the proposal's validation, checked again here on a
//! checkout of the branch), that what the shape needs appears in the diff, and
//! that the benchmark of the branch beats the original by the shape's factor.
//!
//! Needs a Python with pytest, pytest-asyncio, mypy, httpx and ruff: run through
//! `make test` (sets `REFACTOR_ASYNC_PYTHON`) or create `.venv` with `make venv`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::Value;

mod common;
use common::*;

/// Bench latency per request, in seconds.
const LATENCY: &str = "0.05";
/// How many times to run the converted benchmark at most (the best time counts).
const CONVERTED_RUNS: usize = 3;

/// Held by each shape test for its whole run, so that one test's benchmark does
/// not compete for the CPU with another's pytest and mypy.
static HEAVY: Mutex<()> = Mutex::new(());

/// What a shape's proposal must show.
struct Shape {
    /// The project's folder under `tests/projects/`, and its bench's name.
    name: &'static str,
    /// The branch's benchmark must be at least this many times faster.
    min_speedup: f64,
    /// Text each of which the proposal's diff must contain (what the shape is about).
    in_diff: &'static [&'static str],
    /// At most this many connections in the branch's benchmark, and no more than
    /// the requests it had in flight at once (clients are pooled).
    max_connections: Option<u32>,
}

fn projects() -> PathBuf {
    manifest_dir().join("tests").join("projects")
}

/// `propose --format json` on a git copy of the shape's project, checked as the
/// module doc says. Returns the proposal's JSON document for further checks.
fn propose_shape(shape: &Shape) -> Value {
    let _heavy = HEAVY.lock().unwrap_or_else(|e| e.into_inner());
    let python = python();
    let source = projects().join(shape.name);
    let repo = tempfile::tempdir().unwrap();
    committed_copy(&source, repo.path());

    let mut cmd = bin_std(&python);
    cmd.arg("propose").arg(repo.path()).args(["--drafter", "rules", "--format", "json"]);
    let (what, out) = output(&mut cmd);
    assert_eq!(out.status.code(), Some(0), "propose failed: {}", describe(&what, &out));
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("propose printed no JSON ({e}): {}", describe(&what, &out)));
    let branch = doc["branch"].as_str().unwrap_or_else(|| panic!("no branch committed: {doc:#}")).to_string();
    let plans = doc["plans"].as_array().unwrap_or_else(|| panic!("no plans: {doc:#}"));
    let unconverted: Vec<String> = plans
        .iter()
        .filter(|p| p["status"] != "converted")
        .map(|p| format!("plan {} is {}: {:#}", p["id"], p["status"], p["reasons"]))
        .collect();
    assert!(unconverted.is_empty(), "{}: not every plan was converted:\n{}", shape.name, unconverted.join("\n"));
    let diff = doc["diff"].as_str().unwrap_or_default();
    for needle in shape.in_diff {
        assert!(diff.contains(needle), "{}: the diff lacks {needle:?}:\n{diff}", shape.name);
    }

    let checkout = tempfile::tempdir().unwrap();
    let branch_dir = checkout.path().join("branch");
    run_ok(git_cmd(repo.path()).args(["worktree", "add", "-q"]).arg(&branch_dir).arg(&branch));
    make(&branch_dir, &python, "test");
    make(&branch_dir, &python, "typecheck");

    let sync = bench(shape.name, &source).seconds;
    let mut best = f64::INFINITY;
    for _ in 0..CONVERTED_RUNS {
        let run = bench(shape.name, &branch_dir);
        if let Some(most) = shape.max_connections {
            let (connections, peak) = run.pooling(shape.name);
            let most = most.min(peak.max(1));
            assert!(connections <= most, "{}: {connections} connections, want at most {most}", shape.name);
        }
        println!(
            "{}: async run {:.2}s, {:?} connections, peak {:?} in flight",
            shape.name, run.seconds, run.connections, run.peak
        );
        best = best.min(run.seconds);
        if sync / best >= shape.min_speedup {
            break;
        }
    }
    let speedup = sync / best;
    println!("{}: sync {sync:.2}s, async {best:.2}s, speed-up {speedup:.1}x", shape.name);
    assert!(speedup >= shape.min_speedup, "{}: only {speedup:.2}x faster, want {}x", shape.name, shape.min_speedup);
    run_ok(git_cmd(repo.path()).args(["worktree", "remove", "--force"]).arg(&branch_dir));
    doc
}

/// One benchmark run of `tests/projects/bench/<name>.py` on `project`, checked
/// to have printed `ok=1`.
fn bench(name: &str, project: &Path) -> BenchRun {
    bench_run(&projects().join("bench").join(format!("{name}.py")), project, LATENCY)
}

// One test per shape, each with its project under tests/projects/<name>/.

/// A click command holding the batch loop: the command stays a click command (a
/// sync shell carrying its decorators and help text) that runs the async body.
#[test]
fn click_command() {
    let doc = propose_shape(&Shape {
        name: "click_command",
        min_speedup: 2.5,
        in_diff: &[
            "+@click.command()\n",
            "+async def check_async(",
            "+    run_sync(check_async(codes, api, as_json, timeout), \"check_async\")",
            "for_each_bounded(",
        ],
        max_connections: None,
    });
    let functions = doc["plans"][0]["functions"].as_array().unwrap();
    assert!(
        functions.iter().any(|f| f["qualname"] == "stockcheck.cli.check" && f["sync_shell"] == true),
        "the command is not planned as a sync shell: {functions:#?}"
    );
}

/// An `lru_cache`d fetcher called from a batch loop: it stays sync (a cache of its
/// async version would hold coroutines) and the gathered loop awaits it through a
/// thread, concurrent calls with the same arguments taking turns on its cache.
#[test]
fn cached_fetch() {
    let doc = propose_shape(&Shape {
        name: "cached_fetch",
        min_speedup: 1.8,
        in_diff: &["to_thread_cached(exchange_rate, api, shipment.currency)", "for_each_bounded("],
        max_connections: None,
    });
    let diff = doc["diff"].as_str().unwrap_or_default();
    assert!(!diff.contains("def exchange_rate"), "the cached function changed:\n{diff}");
    let kept = &doc["plans"][0]["kept_sync"];
    assert_eq!(kept[0]["function"], "ratecard.pricing.exchange_rate", "{doc:#}");
    assert!(kept[0]["why"].as_str().unwrap_or_default().contains("coroutine"), "{kept:#}");
}

/// An ABC whose `send` two subclasses implement with HTTP and one with a list:
/// the base, every override (a twin for the one without I/O) and the dispatcher
/// convert together, and the dispatcher's loop becomes a bounded gather.
#[test]
fn hierarchy() {
    let doc = propose_shape(&Shape {
        name: "hierarchy",
        min_speedup: 3.0,
        in_diff: &[
            // The abstract method's async version keeps its docstring.
            "+    async def send_async(self, message: str) -> bool:\n         \"\"\"Deliver `message`",
            "+    async def send_async(self, message: str) -> bool:\n+        \"\"\"Async twin of `send`",
            "+        accepted = await notifier.send_async(message)",
        ],
        max_connections: None,
    });
    let twins: Vec<&str> = doc["plans"][0]["functions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["twin"] == "direct")
        .map(|f| f["qualname"].as_str().unwrap())
        .collect();
    assert_eq!(twins, ["notify.notifiers.MemoryNotifier.send"], "{doc:#}");
}

/// A client whose `__init__` signs in over HTTP, with a property and a cached
/// property that fetch: construction stays sync and runs in a thread, the
/// properties gain async methods that the batch loop awaits (the cached one
/// sharing its cache), and a property without I/O stays as it is.
#[test]
fn init_property() {
    let doc = propose_shape(&Shape {
        name: "init_property",
        min_speedup: 3.0,
        in_diff: &[
            "+        client = await run_in_thread(AccountClient, base_url, account, secret)",
            "+    async def balance_async(self) -> int:",
            "+    @property\n+    def balance(self) -> int:",
            "+        if \"owner\" in self.__dict__:",
            "+    @cached_property\n+    def owner(self) -> str:",
            "+        owner = await client.owner_async()",
        ],
        max_connections: None,
    });
    let plan = &doc["plans"][0];
    assert_eq!(doc["plans"].as_array().unwrap().len(), 1, "the properties join their reader's plan: {doc:#}");
    assert_eq!(plan["offloaded"][0], "accounts.client.AccountClient.__init__", "{doc:#}");
    let diff = doc["diff"].as_str().unwrap();
    assert!(!diff.contains("label_async"), "a property without I/O stays as it is:\n{diff}");
}

/// Three independent reads per user, in a function a batch loop calls: they become
/// one gather assigning the same names.
#[test]
fn independent_calls() {
    let doc = propose_shape(&Shape {
        name: "independent_calls",
        min_speedup: 2.5,
        in_diff: &["user, teams, keys = await gather_all(", "client.get_keys_async(login),"],
        max_connections: None,
    });
    let groups = &doc["plans"][0]["call_groups"];
    assert_eq!(groups.as_array().map(Vec::len), Some(1), "one group of calls: {doc:#}");
    assert_eq!(groups[0]["function"], "profiles.directory.fetch_profile");
}

/// A batch whose blocking work only has the thread strategy (a file read and
/// `urllib.request.urlopen` per page): the loop is reason enough to convert. It
/// becomes a bounded gather whose items run in threads of the helper module's own
/// executor, sized to the gather's limit.
#[test]
fn thread_batch() {
    let doc = propose_shape(&Shape {
        name: "thread_batch",
        min_speedup: 3.0,
        in_diff: &[
            "+async def check_all_async(pages: list[Page]) -> Summary:",
            "_value = await run_in_thread(check_page, page)",
            "await for_each_bounded(",
            "+THREADS = 8",
            "+def check_all(pages: list[Page]) -> Summary:",
            // The package re-exports the twin beside the wrapper.
            r#""check_all", "check_all_async""#,
        ],
        max_connections: None,
    });
    let plan = &doc["plans"][0];
    assert_eq!(plan["gathers"][0]["function"], "pagecheck.check.check_all", "{plan:#}");
    assert!(plan["offloaded"].as_array().unwrap().iter().any(|o| o == "pagecheck.check.check_page"), "{plan:#}");
}

/// A loop running `subprocess.check_output` per item, and one running a
/// `subprocess.Popen` and its `communicate()` per item: the checks run as asyncio
/// subprocesses under bounded gathers, a failing command still raises
/// `CalledProcessError` with its fields and a timed-out `communicate()` still
/// raises `TimeoutExpired` (the project's tests check them).
#[test]
fn subprocess_loop() {
    let doc = propose_shape(&Shape {
        name: "subprocess_loop",
        min_speedup: 3.0,
        in_diff: &[
            "await process_output(run_process(",
            "stdout=subprocess.PIPE, check=True",
            "await process_status(run_process(",
            "await open_process(",
            "for_each_bounded(",
        ],
        max_connections: None,
    });
    let calls: Vec<&Value> =
        doc["plans"].as_array().unwrap().iter().flat_map(|p| p["calls"].as_array().unwrap()).collect();
    assert!(
        calls.iter().all(|c| c["rewrite"]["kind"] == "subprocess"),
        "every subprocess call goes native: {calls:#?}"
    );
}

/// A `requests.Session` subclass adding a root URL and a bearer token, opened by
/// `with` around a batch loop: converted code opens its async twin on
/// `httpx.AsyncClient` (the class itself stays for sync callers) and gathers the
/// requests; the project's tests run against a local HTTP server.
#[test]
fn session_subclass() {
    let doc = propose_shape(&Shape {
        name: "session_subclass",
        min_speedup: 3.0,
        in_diff: &[
            "class AsyncCatalogSession(httpx.AsyncClient):",
            "return await super().request(",
            "async with AsyncCatalogSession(root, token) as session:",
            "await session.get(",
        ],
        max_connections: None,
    });
    let calls: Vec<&Value> =
        doc["plans"].as_array().unwrap().iter().flat_map(|p| p["calls"].as_array().unwrap()).collect();
    assert!(calls.iter().all(|c| c["rewrite"]["kind"] != "thread"), "every request goes native: {calls:#?}");
}

/// A loop that sleeps a fixed interval per item to respect a rate limit: the items
/// start at least that interval apart (measured where the requests arrive, by the
/// project's tests and its bench), the slow parts overlapping.
#[test]
fn throttled() {
    let doc = propose_shape(&Shape {
        name: "throttled",
        min_speedup: 1.5,
        in_diff: &[
            "await for_each_spaced(len(_symbol_items), _each_symbol, interval=INTERVAL, limit=8)",
            "-        time.sleep(INTERVAL)",
        ],
        max_connections: None,
    });
    let throttles = &doc["plans"][0]["throttles"];
    assert_eq!(throttles.as_array().map(Vec::len), Some(1), "one throttled loop: {doc:#}");
    assert_eq!(throttles[0]["function"], "tickers.feed.fetch_quotes");
    assert!(throttles[0]["does"].as_str().unwrap_or_default().starts_with("rate-limited"), "{throttles:#}");
}

/// A breadth-first crawl with a seen set and a page limit: walked by levels, each
/// level's pages fetched together, the same pages visited in the same order and no
/// page fetched beyond the limit (the project's tests and bench count the requests).
#[test]
fn work_queue() {
    let doc = propose_shape(&Shape {
        name: "work_queue",
        min_speedup: 2.5,
        in_diff: &[
            "_path_level = [queue.popleft() for _ in range(min(len(queue), max(max_pages - len(pages), 1)))]",
            "_page_results, _page_error = await gather_until_failure([fetch_page_async(base_url, path) for path in _path_level], limit=8)",
        ],
        max_connections: None,
    });
    let queues = &doc["plans"][0]["work_queues"];
    assert_eq!(queues.as_array().map(Vec::len), Some(1), "one work queue: {doc:#}");
    assert_eq!(queues[0]["function"], "sitewalk.crawl.crawl");
    assert!(doc["plans"][0]["sequential"].is_null(), "nothing kept sequential: {doc:#}");
}

/// Module-level `requests.get` calls in a batch loop: each statement's client is
/// the one the gather shares (`http_client`), so the branch opens no more
/// connections than requests run at once (`rewrite.concurrency`, 8), where the
/// original opened one per request.
#[test]
fn module_requests() {
    propose_shape(&Shape {
        name: "module_requests",
        min_speedup: 3.0,
        in_diff: &["async with http_client(", "for_each_bounded(", "\"httpx>=0.27\""],
        max_connections: Some(8),
    });
}

/// A class holding a `sqlite3` connection, made and used per item of a gathered
/// HTTP batch: all of the connection's work (construction, writes, close) runs on
/// the one thread-affine thread (`run_in_affine_thread`), never on two threads,
/// while the requests overlap.
#[test]
fn sqlite_store() {
    propose_shape(&Shape {
        name: "sqlite_store",
        min_speedup: 2.5,
        in_diff: &[
            "await run_in_affine_thread(PriceStore, db_path)",
            "await run_in_affine_thread(store.save, sku, price)",
            "await run_in_affine_thread(store.close)",
        ],
        max_connections: Some(8),
    });
}
