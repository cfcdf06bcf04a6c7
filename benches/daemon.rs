//! The daemon's reaction to an edit, on a corpus of about 100k lines (files of the
//! Python standard library copied into a temporary folder):
//!
//! - **update**: from a batch leaving the debouncer to updated findings, for a
//!   one-line edit of a typical (~500-line) file, through the daemon's in-memory
//!   analysis session (incremental re-parse of the file, the index patched, call
//!   graph and findings recomputed); p50 and p90 over the edits;
//! - **debounce**: from a file write to its batch leaving the debouncer, at the
//!   default window, to show it is the window plus notify's latency;
//! - **memory**: resident memory of the process once the session holds the corpus.
//!
//! `cargo bench --bench daemon`; `BENCH_EDITS` (default 50), `BENCH_LINES` (default
//! 100000). Under `cargo test` (no `--bench`) a small smoke run.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use refactor_async::analysis::catalog::Catalog;
use refactor_async::analysis::session::Session;
use refactor_async::config::Config;
use refactor_async::daemon::watch;

fn stdlib() -> PathBuf {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"])
        .output()
        .expect("python3 runs");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Copy standard-library modules (not its tests) until `lines` lines.
fn corpus(to: &Path, lines: usize) -> (usize, usize) {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut stack = vec![stdlib()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if p.is_dir() {
                if !["test", "tests", "site-packages", "idlelib", "__pycache__", "lib2to3", "tkinter", "turtledemo"]
                    .contains(&name.as_str())
                {
                    stack.push(p);
                }
            } else if name.ends_with(".py") {
                files.push(p);
            }
        }
    }
    files.sort();
    let base = stdlib();
    let (mut total, mut count) = (0, 0);
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else { continue };
        let rel = f.strip_prefix(&base).unwrap();
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(&dest, &text).unwrap();
        total += text.lines().count();
        count += 1;
        if total >= lines {
            break;
        }
    }
    (count, total)
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    if std::env::var_os("BENCH_TRACE").is_some() {
        tracing_subscriber::fmt().with_env_filter("refactor_async=debug").with_writer(std::io::stderr).init();
    }
    let smoke = !std::env::args().any(|a| a == "--bench");
    let edits: usize =
        if smoke { 3 } else { std::env::var("BENCH_EDITS").ok().and_then(|v| v.parse().ok()).unwrap_or(50) };
    let want: usize =
        if smoke { 5_000 } else { std::env::var("BENCH_LINES").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000) };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join(".git")).unwrap();
    let (files, lines) = corpus(root, want);
    let mut config = Config::builtin();
    config.analysis.cache = false;
    let catalog = Catalog::load(&config, root).unwrap();

    let before = rss_kb();
    let started = Instant::now();
    let mut session = Session::start(root, &config, &catalog).unwrap();
    let start_ms = started.elapsed().as_secs_f64() * 1000.0;
    let held = rss_kb();
    println!(
        "corpus: {files} files, {lines} lines; first analysis {start_ms:.0} ms; {} findings; resident memory {} MB (+{} MB for the session)",
        session.report().findings.len(),
        held / 1024,
        held.saturating_sub(before) / 1024
    );

    // A typical file: the one closest to 500 lines.
    let mut candidates: Vec<(usize, PathBuf)> = walk(root)
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(&p).ok().map(|t| (t.lines().count().abs_diff(500), p)))
        .collect();
    candidates.sort();
    let target = candidates[0].1.clone();
    let rel = target.strip_prefix(root).unwrap().to_path_buf();
    let original = std::fs::read_to_string(&target).unwrap();
    println!("edited file: {} ({} lines)", rel.display(), original.lines().count());

    let mut times = Vec::new();
    let mut incremental = 0;
    for i in 0..edits {
        // A one-line edit: a comment line changed in the middle of the file.
        let mut text: Vec<String> = original.lines().map(str::to_string).collect();
        let mid = text.len() / 2;
        text.insert(mid, format!("# edit {i}"));
        std::fs::write(&target, text.join("\n") + "\n").unwrap();
        let update = session.update(std::slice::from_ref(&rel)).unwrap();
        incremental += update.incremental;
        times.push(update.ms);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "update after a one-line edit ({edits} edits, {incremental} parsed incrementally): p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        percentile(&times, 0.5),
        percentile(&times, 0.9),
        times[times.len() - 1]
    );
    let report = &session.report().stats.timings;
    println!(
        "  of the last: parse {:.1} ms, graph {:.1} ms, rules {:.1} ms",
        report.parse_ms, report.resolve_ms, report.rules_ms
    );

    let window = Duration::from_millis(300);
    let watcher = watch::watch(root, &root.join(".git"), window).unwrap();
    let mut waits = Vec::new();
    for i in 0..(if smoke { 1 } else { 5 }) {
        let written = Instant::now();
        std::fs::write(&target, format!("{original}\n# again {i}\n")).unwrap();
        let batch = watcher.batches.recv_timeout(Duration::from_secs(10)).expect("a batch");
        waits.push(batch.debounced_at.unwrap().duration_since(written).as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_millis(50));
    }
    waits.sort_by(f64::total_cmp);
    println!(
        "debounce: a write reaches the daemon as a batch after {:.0} ms at a {} ms window (median of {})",
        percentile(&waits, 0.5),
        window.as_millis(),
        waits.len()
    );
    println!("idle memory (session + watcher): {} MB resident", rss_kb() / 1024);
    if smoke {
        println!("(smoke run under cargo test: the figures mean nothing)");
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != ".git") {
                out.extend(walk(&p));
            }
        } else if p.extension().is_some_and(|x| x == "py") {
            out.push(p);
        }
    }
    out
}
