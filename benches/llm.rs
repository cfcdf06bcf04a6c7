//! The LLM drafter's request scheduling: 64 plans' requests against a local
//! OpenAI-compatible server that answers each after 200 ms, with
//! `max_concurrency` 8. The ideal is 8 rounds of 200 ms = 1.6 s with exactly 8
//! requests in flight at the peak; the run fails if the wall time is more than 10%
//! over the ideal or the peak is not exactly 8.
//!
//! Each request is what a plan sends: the built-in system prompt and a plan
//! prompt, through the same client (async-openai over the limiting, retrying
//! transport) that `propose` uses. `cargo bench --bench llm`; `BENCH_RUNS` (default 5).
//! Under `cargo test --all-targets` (no `--bench`) it is a smoke test: one run, the
//! limit checked, the timing not judged.

#[path = "../tests/common/openai_server.rs"]
mod server;

use std::time::{Duration, Instant};

use refactor_async::config::Config;
use refactor_async::llm::client::Message;
use refactor_async::llm::run::LlmRun;
use refactor_async::llm::settings::LlmSettings;
use server::{Reply, Server};

const PLANS: usize = 64;
const CONCURRENCY: usize = 8;
const LATENCY: Duration = Duration::from_millis(200);

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` (`make test`) runs this
    // binary without it, unoptimised and beside other tests: then one run checks that
    // the bench works and the limit holds, and the timing is not judged.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let runs: usize =
        if smoke { 1 } else { std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5) };
    let answer = r#"{"functions": [], "imports": [], "notes": ""}"#;
    let ideal = LATENCY.mul_f64((PLANS / CONCURRENCY) as f64);
    let mut walls = Vec::new();
    let mut failed = false;
    for run in 0..runs {
        let server = Server::start(move |_, _| Reply::Content { content: answer.to_string(), latency: LATENCY });
        let mut settings: LlmSettings = LlmSettings::from_config(&Config::builtin()).expect("built-in [llm]");
        settings.base_url = server.base_url.clone();
        settings.model = "bench-model".into();
        settings.max_concurrency = CONCURRENCY;
        let llm = LlmRun::new(&settings).expect("client");
        let system = include_str!("../prompts/system.md").to_string();
        let requests: Vec<Vec<Message>> = (0..PLANS)
            .map(|i| vec![Message::System(system.clone()), Message::User(format!("## Plan `plan-{i}`\n..."))])
            .collect();
        let started = Instant::now();
        let results = llm.block_on_all(requests.iter().map(|m| llm.client.complete(m)));
        let wall = started.elapsed();
        let ok = results.iter().filter(|r| r.is_ok()).count();
        let client_peak = llm.client.policy.peak_in_flight();
        let server_peak = server.peak_in_flight.load(std::sync::atomic::Ordering::SeqCst);
        let over = wall.as_secs_f64() / ideal.as_secs_f64() - 1.0;
        println!(
            "run {}: {ok}/{PLANS} answered in {:.3} s (ideal {:.3} s, {:+.1}%), peak in flight: client {client_peak}, server {server_peak}",
            run + 1,
            wall.as_secs_f64(),
            ideal.as_secs_f64(),
            over * 100.0
        );
        let judged = if smoke {
            client_peak > CONCURRENCY || server_peak > CONCURRENCY
        } else {
            client_peak != CONCURRENCY || server_peak != CONCURRENCY || over > 0.10
        };
        if ok != PLANS || judged {
            failed = true;
        }
        walls.push(wall.as_secs_f64());
    }
    walls.sort_by(f64::total_cmp);
    println!(
        "median {:.3} s over {runs} runs (min {:.3}, max {:.3}); ideal {:.3} s",
        walls[walls.len() / 2],
        walls[0],
        walls[walls.len() - 1],
        ideal.as_secs_f64()
    );
    if failed {
        eprintln!("FAILED: a run was more than 10% over the ideal or its peak in flight was not exactly {CONCURRENCY}");
        std::process::exit(1);
    }
}
