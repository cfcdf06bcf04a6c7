//! End-to-end benchmark of `refactor-async analyze` on a large real corpus.
//!
//! The corpus is the `.py` files of this machine's python3 standard library
//! (`sysconfig.get_paths()['stdlib']`, site-packages excluded; about 1,800
//! files and 860k lines), so every machine has it without a download.
//! `BENCH_PYTHON` chooses the interpreter, `BENCH_CORPUS` any other folder.
//!
//! Parsing with tree-sitter is the floor of the design, so the analysis is
//! measured against a bare parse of the same files. The goals (issue text):
//!
//! - cold: the whole analysis (walk, parse, index, call graph, findings) with no
//!   cache takes at most 1.3 times the bare parse on all cores, and uses them;
//! - warm: a repeated `analyze` over unchanged files (summaries from the cache
//!   keyed by file content) is faster than `ruff check --select ASYNC --no-cache`;
//!   as an unchanged tree gets the last report back, the bench also times a warm
//!   run after one file was edited (one file parsed, everything resolved again);
//! - peak memory (max RSS of the process, what `/usr/bin/time -v` reports as
//!   "Maximum resident set size"): at most 250 MiB cold and 150 MiB warm.
//!
//! What is measured, each `BENCH_RUNS` times (default 5; median and min shown):
//!
//! 1. bare parse: every file read into memory first (not timed), then only
//!    `Parser::parse` timed, serially on one core and with rayon on all cores
//!    (one parser per thread, as the analysis does); plus, for reference, parse
//!    and summary extraction (`extract::summarize`), the analysis's per-file work;
//! 2. `analyze --no-cache` as a child process of the release binary: wall-clock
//!    of the whole process, its CPU time and max RSS (from `wait4`, in a small
//!    launcher process, see [`measure`]), and the analysis's own phase timings
//!    (`stats.timings` of the JSON report);
//! 3. `analyze` with the cache, after one untimed run that fills it, checking in
//!    every report that nothing was parsed again and the last report was reused;
//!    then the same with a comment appended to one file before each run, checking
//!    that exactly one file was parsed and nothing reused;
//! 4. `ruff check --select ASYNC --no-cache --isolated` (ruff from `PATH`, else
//!    `.venv/bin/ruff`; `make venv` installs it), when present.
//!
//! The files are first copied to a temporary folder, keeping their relative
//! paths. The analysis treats the nearest folder above its argument that holds
//! `.git` as the repository (its config, its `.gitignore`, its cache under
//! `.git/`), and a stdlib may well sit in a git checkout (pyenv installs live in
//! `~/.pyenv/versions`, inside pyenv's own clone). The copy keeps that out of
//! the figures and keeps the bench from writing into someone else's `.git`; it
//! also makes the analysis, the bare parse and ruff see exactly the same files.
//! The cache goes to a fresh `XDG_CACHE_HOME`. Runs see a warm OS page cache
//! (an untimed run precedes each series): "cold" means no analysis cache.
//!
//! Run it with `make bench` (which creates the venv with ruff and builds the
//! release binary), or `cargo bench --bench analyze` with ruff on `PATH`.
//! Under `cargo test --all-targets` (no `--bench` argument) it only runs a
//! smoke test: one run over a few files, to check that the bench still works.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use rayon::prelude::*;
use refactor_async::analysis::{extract, sources};
use refactor_async::config::Config;

/// The release binary Cargo built for this bench.
const BINARY: &str = env!("CARGO_BIN_EXE_refactor-async");
const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// How many files the smoke test (`cargo test`) uses.
const SMOKE_FILES: usize = 40;
/// Goal: cold analysis at most this many times the bare parse on all cores.
const COLD_GOAL: f64 = 1.3;
/// Goal ("using both cores"): the cold run keeps at least this share of the cores busy.
const BUSY_GOAL: f64 = 0.75;
/// Goal: peak memory of a cold analysis process.
const COLD_RSS_GOAL: u64 = 250 << 20;
/// Goal: peak memory of a warm analysis process.
const WARM_RSS_GOAL: u64 = 150 << 20;

thread_local! {
    /// One parser per rayon thread, created on first use (outside the timed runs).
    static PARSER: RefCell<tree_sitter::Parser> = RefCell::new(extract::new_parser());
}

/// The files analysed, copied to a temporary folder, and those the parse baseline reads.
struct Corpus {
    /// The folder the files came from.
    origin: PathBuf,
    /// What `origin` is, for the heading.
    label: String,
    /// Keeps the temporary folder (copy, reports, cache) alive.
    _temp: tempfile::TempDir,
    /// The copy that the analysis and ruff run on.
    dir: PathBuf,
    /// Where reports and the analysis cache go.
    work: PathBuf,
    /// `.py` files found by the analysis's own walk.
    found: usize,
    /// Contents of the files the analysis parses (not too large, no NUL bytes, UTF-8).
    sources: Vec<Vec<u8>>,
    /// Lines of `sources`, counted as the analysis counts them.
    lines: usize,
    /// Why the other files are skipped, as "count reason" items.
    skipped: Vec<String>,
    /// The file the "one file edited" series edits (in the copy).
    edited: PathBuf,
}

/// Which cache an `analyze` series runs with.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// `--no-cache`.
    Cold,
    /// The cache, over unchanged files (the last report is reused).
    Unchanged,
    /// The cache, after one file was edited (it alone is parsed; all is resolved).
    Edited,
}

/// Wall-clock time, CPU time and peak memory of one child process.
#[derive(Clone, Copy)]
struct Run {
    wall: Duration,
    cpu: Duration,
    max_rss: u64,
}

/// The `stats` of one JSON report that the bench reads.
#[derive(Clone, Copy, Default)]
struct ReportStats {
    files: u64,
    parsed: u64,
    cached: u64,
    reused: bool,
    lines: u64,
    walk_ms: f64,
    parse_ms: f64,
    resolve_ms: f64,
    rules_ms: f64,
    total_ms: f64,
}

/// A series of runs of one kind.
struct Series {
    runs: Vec<Run>,
    reports: Vec<ReportStats>,
}

/// Prepare the corpus, run every series, print the table.
// The same allocator set-up as the binary, so the bare parse is measured the way
// the analysis parses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    if let Some(out) = std::env::var_os(LAUNCHER) {
        return launch(PathBuf::from(out));
    }
    refactor_async::alloc::use_mimalloc_for_tree_sitter();
    // `cargo bench` passes `--bench`; `cargo test --all-targets` (`make test`) runs this
    // binary without it, unoptimised: then only check that the bench works, on a few files.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let runs = match std::env::var("BENCH_RUNS") {
        _ if smoke => 1,
        Ok(v) => v
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .with_context(|| format!("BENCH_RUNS={v} is not a positive number"))?,
        Err(_) => 5,
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let corpus = prepare_corpus(smoke.then_some(SMOKE_FILES))?;
    let ruff = find_ruff();

    if smoke {
        println!(
            "smoke test (not `cargo bench`): {SMOKE_FILES} files, 1 run, unoptimised build; the figures mean nothing"
        );
    }
    println!("refactor-async analyze benchmark: {runs} runs of each, {cores} cores; median and min of wall-clock time");
    println!("corpus: {} ({})", corpus.origin.display(), corpus.label);
    println!(
        "        {} files, {} lines; {} parsed{}",
        thousands(corpus.found as u64),
        thousands(corpus.lines as u64),
        thousands(corpus.sources.len() as u64),
        if corpus.skipped.is_empty() {
            String::new()
        } else {
            format!(" (skipped like the analysis does: {})", corpus.skipped.join(", "))
        },
    );
    println!("        copied to {}", corpus.dir.display());
    println!("binary: {BINARY}");
    match &ruff {
        Some((path, version)) => println!("ruff:   {} ({version})", path.display()),
        None => println!("ruff:   not found (run make venv)"),
    }
    println!();

    // For work on the summary walk: parse alone vs parse + extract, one core, nothing else.
    if std::env::var_os("BENCH_PARSE_ONLY").is_some() {
        let parse = bare_parse(&corpus.sources, 1, runs, false)?;
        let walk = parse_series(&corpus.sources, 1, runs, Work::Walk)?;
        let extract = bare_parse(&corpus.sources, 1, runs, true)?;
        let w = median(walk.iter().map(Duration::as_secs_f64));
        let (p, e) =
            (median(parse.iter().map(Duration::as_secs_f64)), median(extract.iter().map(Duration::as_secs_f64)));
        println!(
            "1 core: bare parse {p:.2} s; parse + walk every node {w:.2} s (+{:.0}%); parse + extract {e:.2} s (+{:.0}%)",
            (w / p - 1.0) * 100.0,
            (e / p - 1.0) * 100.0
        );
        return Ok(());
    }
    let mut interference = Vec::new();
    let parse_1 = watched("bare parse 1 core", &mut interference, || bare_parse(&corpus.sources, 1, runs, false))?;
    let parse_n = watched(&format!("bare parse {cores} cores"), &mut interference, || {
        bare_parse(&corpus.sources, cores, runs, false)
    })?;
    let extract_n = watched("parse + extract", &mut interference, || bare_parse(&corpus.sources, cores, runs, true))?;
    let cold = watched("cold", &mut interference, || analyze_series(&corpus, runs, Mode::Cold))?;
    let warm = watched("warm", &mut interference, || analyze_series(&corpus, runs, Mode::Unchanged))?;
    let edited = watched("edited", &mut interference, || analyze_series(&corpus, runs, Mode::Edited))?;
    let ruff = match &ruff {
        Some((path, _)) => Some(watched("ruff", &mut interference, || ruff_series(path, &corpus, runs))?),
        None => None,
    };
    let results = Results { cores, parse_1, parse_n, extract_n, cold, warm, edited, ruff, interference };
    print!("{}", table(&corpus, &results));
    Ok(())
}

/// Everything measured, for the table.
struct Results {
    cores: usize,
    parse_1: Vec<Duration>,
    parse_n: Vec<Duration>,
    extract_n: Vec<Duration>,
    cold: Series,
    warm: Series,
    edited: Series,
    ruff: Option<Series>,
    /// Per series, how many cores other processes kept busy on average.
    interference: Vec<(String, f64)>,
}

/// Run `measure` and note in `interference` how much CPU other processes took meanwhile.
fn watched<T>(
    name: &str,
    interference: &mut Vec<(String, f64)>,
    measure: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let before = Load::now();
    let out = measure()?;
    if let (Some(before), Some(after)) = (before, Load::now()) {
        interference.push((name.to_string(), after.others_since(&before)));
    }
    Ok(out)
}

/// A snapshot of the whole machine's CPU time (`/proc/stat`) and of this process's and its reaped children's.
#[derive(Clone, Copy)]
struct Load {
    at: Instant,
    /// Non-idle CPU time of the machine, stolen time included.
    machine: f64,
    /// CPU time of the bench and of the children it has waited for.
    own: f64,
}

impl Load {
    /// The current snapshot; `None` where `/proc/stat` is not available.
    fn now() -> Option<Load> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let ticks: Vec<f64> = stat.lines().next()?.split_whitespace().skip(1).filter_map(|t| t.parse().ok()).collect();
        // user nice system idle iowait irq softirq steal (guest time is already in user).
        let busy: f64 = ticks.iter().take(8).enumerate().filter(|(i, _)| *i != 3 && *i != 4).map(|(_, t)| t).sum();
        // SAFETY: sysconf and getrusage only write the plain-data result.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        let cpu = |who| {
            let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
            unsafe { libc::getrusage(who, &mut usage) };
            let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
            t(usage.ru_utime) + t(usage.ru_stime)
        };
        Some(Load { at: Instant::now(), machine: busy / hz, own: cpu(libc::RUSAGE_SELF) + cpu(libc::RUSAGE_CHILDREN) })
    }

    /// Cores busy with other work since `earlier`, on average.
    fn others_since(&self, earlier: &Load) -> f64 {
        let others = (self.machine - earlier.machine) - (self.own - earlier.own);
        (others / (self.at - earlier.at).as_secs_f64()).max(0.0)
    }
}

/// Find the corpus, copy the files the analysis would walk to a temporary folder, and read those it parses;
/// `limit` keeps only the first files (for the smoke test).
fn prepare_corpus(limit: Option<usize>) -> anyhow::Result<Corpus> {
    let (origin, label) = match std::env::var_os("BENCH_CORPUS") {
        Some(dir) => (PathBuf::from(dir), "BENCH_CORPUS".to_string()),
        None => {
            let python = std::env::var("BENCH_PYTHON").unwrap_or_else(|_| "python3".to_string());
            let out = Command::new(&python)
                .args([
                    "-c",
                    "import sys, sysconfig; print(sysconfig.get_paths()['stdlib']); print(sys.version.split()[0])",
                ])
                .output()
                .with_context(|| {
                    format!("cannot run `{python}` to find the standard library (set BENCH_PYTHON or BENCH_CORPUS)")
                })?;
            if !out.status.success() {
                bail!("`{python}` failed: {}", String::from_utf8_lossy(&out.stderr).trim());
            }
            let text = String::from_utf8(out.stdout).context("the stdlib path is not UTF-8")?;
            let mut lines = text.lines();
            let dir = lines.next().context("no stdlib path printed")?.trim().to_string();
            let version = lines.next().unwrap_or("?").trim().to_string();
            (PathBuf::from(dir), format!("standard library of {python} {version}, site-packages excluded"))
        }
    };
    let origin =
        std::fs::canonicalize(&origin).with_context(|| format!("corpus {} does not exist", origin.display()))?;
    let config = Config::builtin();
    // The analysis's own walk, so both sides see the same files; paths relative to the corpus.
    let (mut files, _) = sources::discover(&origin, &origin, &config.analysis);
    files.truncate(limit.unwrap_or(usize::MAX));
    if files.is_empty() {
        bail!("no .py files under {}", origin.display());
    }

    let temp = tempfile::Builder::new().prefix("refactor-async-bench-").tempdir()?;
    let dir = temp.path().join("corpus");
    let work = temp.path().join("work");
    std::fs::create_dir_all(&work)?;
    let max_size = config.analysis.max_file_size;
    let (mut too_large, mut binary, mut not_utf8) = (0, 0, 0);
    let mut parsed = Vec::with_capacity(files.len());
    let mut lines = 0;
    for file in &files {
        let target = dir.join(&file.rel);
        std::fs::create_dir_all(target.parent().expect("a file has a parent folder"))?;
        std::fs::copy(&file.abs, &target).with_context(|| format!("cannot copy {}", file.abs.display()))?;
        // The same checks, in the same order, as the analysis's `load`.
        if std::fs::metadata(&target)?.len() > max_size {
            too_large += 1;
            continue;
        }
        let bytes = std::fs::read(&target)?;
        if bytes[..bytes.len().min(8192)].contains(&0) {
            binary += 1;
        } else if std::str::from_utf8(&bytes).is_err() {
            not_utf8 += 1;
        } else {
            lines += count_lines(&bytes);
            parsed.push(bytes);
        }
    }
    let skipped = [(too_large, "over max_file_size"), (binary, "binary"), (not_utf8, "not UTF-8")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, why)| format!("{n} {why}"))
        .collect();
    let edited = dir.join(&files[0].rel);
    Ok(Corpus { origin, label, _temp: temp, dir, work, found: files.len(), sources: parsed, lines, skipped, edited })
}

/// Lines as the analysis counts them: newlines, plus an unterminated last line.
fn count_lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count() + usize::from(!bytes.is_empty() && !bytes.ends_with(b"\n"))
}

/// Time parsing every source on `threads` threads, `runs` times after one warm-up;
/// with `extract`, also build each file's summary as the analysis does.
fn bare_parse(sources: &[Vec<u8>], threads: usize, runs: usize, extract: bool) -> anyhow::Result<Vec<Duration>> {
    parse_series(sources, threads, runs, if extract { Work::Extract } else { Work::Parse })
}

/// What is done with each file in a parse series.
#[derive(Clone, Copy)]
enum Work {
    /// Parse only.
    Parse,
    /// Parse, then visit every node with one cursor and do nothing: the floor of any full walk.
    Walk,
    /// Parse and build the summary, as the analysis does.
    Extract,
}

/// Visit every node of `tree` with a single cursor; returns the node count.
fn walk_all(tree: &tree_sitter::Tree) -> usize {
    let mut cursor = tree.walk();
    let mut count = 1;
    loop {
        if cursor.goto_first_child() || cursor.goto_next_sibling() {
            count += 1;
            continue;
        }
        loop {
            if !cursor.goto_parent() {
                return count;
            }
            if cursor.goto_next_sibling() {
                count += 1;
                break;
            }
        }
    }
}

fn parse_series(sources: &[Vec<u8>], threads: usize, runs: usize, work: Work) -> anyhow::Result<Vec<Duration>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        // The summary walk recurses deeply on nested expressions; the analysis uses the same.
        .stack_size(64 * 1024 * 1024)
        .build()?;
    let one = |source: &Vec<u8>| {
        PARSER.with(|p| {
            let mut parser = p.borrow_mut();
            match work {
                Work::Extract => {
                    black_box(extract::summarize(&mut parser, source));
                }
                Work::Parse => {
                    black_box(parser.parse(source, None).expect("no timeout or cancellation is set"));
                }
                Work::Walk => {
                    let tree = parser.parse(source, None).expect("no timeout or cancellation is set");
                    black_box(walk_all(&tree));
                }
            }
        })
    };
    let mut times = Vec::with_capacity(runs);
    for i in 0..=runs {
        let started = Instant::now();
        pool.install(|| sources.par_iter().for_each(one));
        // Run 0 warms up: creates the parsers, faults in the memory.
        if i > 0 {
            times.push(started.elapsed());
        }
    }
    Ok(times)
}

/// Run `analyze` on the corpus: cold (`--no-cache`) or warm (after one untimed run
/// filling the cache), with one file edited before each run or not.
fn analyze_series(corpus: &Corpus, runs: usize, mode: Mode) -> anyhow::Result<Series> {
    let cache = corpus.work.join(if mode == Mode::Cold { "cache-cold" } else { "cache-warm" });
    std::fs::create_dir_all(&cache)?;
    let report = corpus.work.join(match mode {
        Mode::Cold => "cold.json",
        Mode::Unchanged => "warm.json",
        Mode::Edited => "edited.json",
    });
    let edits = std::cell::Cell::new(0);
    let command = || {
        if mode == Mode::Edited {
            edits.set(edits.get() + 1);
            let mut file = std::fs::OpenOptions::new().append(true).open(&corpus.edited).expect("the copy is writable");
            std::io::Write::write_all(&mut file, format!("\n# edit {}\n", edits.get()).as_bytes())
                .expect("the copy is writable");
        }
        let mut cmd = Command::new(BINARY);
        cmd.arg("analyze").arg(&corpus.dir).args(["--format", "json", "--output"]).arg(&report);
        if mode == Mode::Cold {
            cmd.arg("--no-cache");
        }
        cmd.env("XDG_CACHE_HOME", &cache).stdin(Stdio::null()).stdout(Stdio::null());
        cmd
    };
    // Untimed: loads the binary and the files into the page cache, and fills the analysis cache.
    measure(&mut command())?;
    let first = read_report(&report)?;
    if first.files != corpus.found as u64 {
        eprintln!("warning: the analysis found {} files, the bench {}", first.files, corpus.found);
    }
    let mut series = Series { runs: Vec::new(), reports: Vec::new() };
    for _ in 0..runs {
        series.runs.push(measure(&mut command())?);
        series.reports.push(read_report(&report)?);
    }
    Ok(series)
}

/// Run `ruff check --select ASYNC` on the corpus, once untimed and then `runs` times.
fn ruff_series(ruff: &Path, corpus: &Corpus, runs: usize) -> anyhow::Result<Series> {
    let command = || {
        let mut cmd = Command::new(ruff);
        cmd.args(["check", "--select", "ASYNC", "--no-cache", "--exit-zero", "--quiet", "--isolated"])
            .arg(&corpus.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        cmd
    };
    measure(&mut command())?;
    let runs = (0..runs).map(|_| measure(&mut command())).collect::<anyhow::Result<_>>()?;
    Ok(Series { runs, reports: Vec::new() })
}

/// Set when this binary runs as the launcher of one measured command: where to write its figures.
const LAUNCHER: &str = "REFACTOR_ASYNC_BENCH_LAUNCHER";

/// Run `cmd` through a launcher (this binary, started afresh) and read back its
/// wall-clock time, CPU time and peak memory.
///
/// Linux carries a process's peak RSS across `exec`, and a child starts from the
/// memory of the process that spawned it: spawned from the bench, which holds the
/// corpus and has parsed it, every command's "max RSS" would be at least the
/// bench's own. The launcher is small when it spawns the command, so the figure is
/// the command's own, as `/usr/bin/time -v` reports it.
fn measure(cmd: &mut Command) -> anyhow::Result<Run> {
    let out = tempfile::NamedTempFile::new()?;
    let mut launcher = Command::new(std::env::current_exe()?);
    launcher.env(LAUNCHER, out.path()).arg(cmd.get_program()).args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => launcher.env(key, value),
            None => launcher.env_remove(key),
        };
    }
    let status = launcher.stdin(Stdio::null()).stdout(Stdio::null()).status()?;
    let figures = std::fs::read_to_string(out.path())?;
    let n: Vec<u64> = figures.split_whitespace().filter_map(|f| f.parse().ok()).collect();
    let &[wall_ns, cpu_ns, max_rss, code] = n.as_slice() else {
        bail!("{:?} could not be measured ({status}): {figures:?}", cmd.get_program());
    };
    if code != 0 {
        bail!("{:?} failed (wait status {code})", cmd.get_program());
    }
    Ok(Run { wall: Duration::from_nanos(wall_ns), cpu: Duration::from_nanos(cpu_ns), max_rss })
}

/// The launcher: run the command in the arguments, reap it with `wait4` (which
/// reports its own CPU time and max RSS), and write the figures to `out`.
fn launch(out: PathBuf) -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let program = args.next().context("the launcher needs a command")?;
    let started = Instant::now();
    let child = Command::new(&program)
        .args(args)
        .env_remove(LAUNCHER)
        .spawn()
        .with_context(|| format!("cannot run {program:?}"))?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child, which nothing else reaps
    // (the `Child` is dropped without `wait`, which neither waits nor kills).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err).context("wait4");
        }
    }
    let wall = started.elapsed();
    drop(child);
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    let cpu = time(usage.ru_utime) + time(usage.ru_stime);
    let code = if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 { 0 } else { status.max(1) as u64 };
    // Linux reports ru_maxrss in KiB.
    let figures = format!("{} {} {} {code}", wall.as_nanos(), cpu.as_nanos(), usage.ru_maxrss as u64 * 1024);
    std::fs::write(&out, figures).with_context(|| format!("cannot write {}", out.display()))
}

/// The `stats` of a JSON report.
fn read_report(path: &Path) -> anyhow::Result<ReportStats> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let doc: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let stats = &doc["stats"];
    let n = |key: &str| stats[key].as_u64().unwrap_or(0);
    let ms = |key: &str| stats["timings"][key].as_f64().unwrap_or(f64::NAN);
    Ok(ReportStats {
        files: n("files"),
        parsed: n("parsed"),
        cached: n("cached"),
        reused: stats["reused"].as_bool().unwrap_or(false),
        lines: n("lines"),
        walk_ms: ms("walk_ms"),
        parse_ms: ms("parse_ms"),
        resolve_ms: ms("resolve_ms"),
        rules_ms: ms("rules_ms"),
        total_ms: ms("total_ms"),
    })
}

/// `ruff` on `PATH`, else in the project's `.venv`, with its version.
fn find_ruff() -> Option<(PathBuf, String)> {
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|d| d.join("ruff")).collect::<Vec<_>>())
        .unwrap_or_default();
    let venv = Path::new(MANIFEST_DIR).join(".venv/bin/ruff");
    on_path.into_iter().chain([venv]).filter(|p| p.is_file()).find_map(|path| {
        let out = Command::new(&path).arg("--version").output().ok()?;
        out.status.success().then(|| (path, String::from_utf8_lossy(&out.stdout).trim().to_string()))
    })
}

/// The median of some values (mean of the middle two for an even count).
fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.into_iter().collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The smallest of some values.
fn min(values: impl IntoIterator<Item = f64>) -> f64 {
    values.into_iter().fold(f64::INFINITY, f64::min)
}

/// Seconds of some durations.
fn secs(times: &[Duration]) -> Vec<f64> {
    times.iter().map(Duration::as_secs_f64).collect()
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let groups: Vec<&str> =
        digits.as_bytes().rchunks(3).rev().map(|g| std::str::from_utf8(g).expect("ASCII digits")).collect();
    groups.join(",")
}

/// Bytes as MiB.
fn mib(bytes: f64) -> String {
    format!("{:.0} MiB", bytes / (1024.0 * 1024.0))
}

/// PASS or MISS.
fn verdict(pass: bool) -> &'static str {
    if pass { "PASS" } else { "MISS" }
}

/// The result table, with the goals and how the analysis's own phases split its time.
fn table(corpus: &Corpus, results: &Results) -> String {
    let Results { cores, parse_1, parse_n, extract_n, cold, warm, edited, ruff, interference } = results;
    let (cores, ruff) = (*cores, ruff.as_ref());
    let mut out = String::new();
    let wall = |s: &Series| s.runs.iter().map(|r| r.wall.as_secs_f64()).collect::<Vec<_>>();
    let row = |out: &mut String, label: &str, values: &[f64], note: &str| {
        let _ = writeln!(
            out,
            "{label:<42}{:>7.2} s{:>8.2} s   {note}",
            median(values.iter().copied()),
            min(values.iter().copied())
        );
    };
    let (p1, pn) = (median(secs(parse_1)), median(secs(parse_n)));
    let cold_wall = median(wall(cold));
    let warm_wall = median(wall(warm));

    let _ = writeln!(out, "{:<42}{:>9}{:>10}", "", "median", "min");
    row(&mut out, "bare parse, 1 core", &secs(parse_1), "");
    row(&mut out, &format!("bare parse, {cores} cores"), &secs(parse_n), &format!("= {:.2}x speed-up", p1 / pn));
    row(
        &mut out,
        &format!("parse + extract summaries, {cores} cores"),
        &secs(extract_n),
        &format!("= {:.2}x bare parse ({cores} cores); for reference", median(secs(extract_n)) / pn),
    );

    let cold_ratio = cold_wall / pn;
    let cold_cores = median(cold.runs.iter().map(|r| r.cpu.as_secs_f64() / r.wall.as_secs_f64()));
    row(
        &mut out,
        &format!("analyze cold (--no-cache), {cores} cores"),
        &wall(cold),
        &format!(
            "= {cold_ratio:.2}x bare parse ({cores} cores), {:.2}x (1 core)   goal <= {COLD_GOAL}x   {}",
            cold_wall / p1,
            verdict(cold_ratio <= COLD_GOAL)
        ),
    );
    let _ = writeln!(
        out,
        "{:<42}{:>7.2} s   = {cold_cores:.2} of {cores} cores busy on average   goal >= {:.2}   {}",
        "  cold: CPU time (user + sys)",
        median(cold.runs.iter().map(|r| r.cpu.as_secs_f64())),
        BUSY_GOAL * cores as f64,
        verdict(cold_cores >= BUSY_GOAL * cores as f64),
    );

    let ruff_wall = ruff.map(|r| median(wall(r)));
    let against_ruff = |wall: f64| match ruff_wall {
        Some(rw) => format!("= {:.2}x ruff   goal < 1.0x   {}", wall / rw, verdict(wall < rw)),
        None => "ruff not found: goal not checked".to_string(),
    };
    row(&mut out, "analyze warm, unchanged (report reused)", &wall(warm), &against_ruff(warm_wall));
    row(&mut out, "analyze warm, one file edited", &wall(edited), &against_ruff(median(wall(edited))));
    match ruff {
        Some(r) => row(&mut out, "ruff check --select ASYNC --no-cache", &wall(r), ""),
        None => {
            let _ = writeln!(out, "ruff: not found (run make venv)");
        }
    }

    // The largest of the runs: memory hardly varies between runs, and a goal is about the worst case.
    let rss = |s: &Series| s.runs.iter().map(|r| r.max_rss).max().unwrap_or(0);
    let (cold_rss, warm_rss) = (rss(cold), rss(warm).max(rss(edited)));
    let _ = writeln!(
        out,
        "{:<42}{:>9}   goal <= {}   {}",
        "peak RSS cold (max of runs)",
        mib(cold_rss as f64),
        mib(COLD_RSS_GOAL as f64),
        verdict(cold_rss <= COLD_RSS_GOAL),
    );
    let _ = writeln!(
        out,
        "{:<42}{:>9}   goal <= {}   {}{}",
        "peak RSS warm (max of both series)",
        mib(warm_rss as f64),
        mib(WARM_RSS_GOAL as f64),
        verdict(warm_rss <= WARM_RSS_GOAL),
        ruff.map(|r| format!("   (ruff {})", mib(rss(r) as f64))).unwrap_or_default(),
    );

    let _ = writeln!(out);
    for (name, series) in [("cold", cold), ("warm", warm), ("edited", edited)] {
        let phase = |f: fn(&ReportStats) -> f64| median(series.reports.iter().map(f));
        let _ = writeln!(
            out,
            "phases ({name}, median ms): walk {:.0}, parse {:.0}, resolve {:.0}, rules {:.0}; total {:.0} of {:.0} ms process wall-clock",
            phase(|r| r.walk_ms),
            phase(|r| r.parse_ms),
            phase(|r| r.resolve_ms),
            phase(|r| r.rules_ms),
            phase(|r| r.total_ms),
            median(wall(series)) * 1000.0,
        );
    }
    let last_cold = cold.reports.last().copied().unwrap_or_default();
    let _ = writeln!(
        out,
        "report stats: files {}, parsed {}, lines {} (bench: {} files, {} parsed, {} lines)",
        last_cold.files,
        last_cold.parsed,
        last_cold.lines,
        corpus.found,
        corpus.sources.len(),
        corpus.lines,
    );
    let hits_ok = warm.reports.iter().all(|r| r.parsed == 0 && r.cached == last_cold.parsed && r.reused)
        && edited.reports.iter().all(|r| r.parsed == 1 && r.cached + 1 == last_cold.parsed && !r.reused);
    let warm_last = warm.reports.last().copied().unwrap_or_default();
    let _ = writeln!(
        out,
        "cache (warm runs): cached {} of {} files, parsed {} (the other {} are not parseable); edited runs parse 1   {}",
        warm_last.cached,
        warm_last.files,
        warm_last.parsed,
        warm_last.files.saturating_sub(warm_last.cached + warm_last.parsed),
        if hits_ok { "OK" } else { "NOT ALL FROM CACHE" },
    );
    if !interference.is_empty() {
        let parts: Vec<String> = interference.iter().map(|(name, busy)| format!("{name} {busy:.2}")).collect();
        let _ = writeln!(out, "other processes' CPU (cores busy on average): {}", parts.join(", "));
        if interference.iter().any(|(_, busy)| *busy > 0.1) {
            let _ = writeln!(
                out,
                "WARNING: the machine was busy with other work during some series; their figures are pessimistic, run again when it is idle"
            );
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "reproduce: make bench   (= make venv release, then PATH=\"{MANIFEST_DIR}/.venv/bin:$PATH\" cargo bench --bench analyze;\n           BENCH_RUNS, BENCH_PYTHON, BENCH_CORPUS override runs, interpreter, corpus)"
    );
    out
}
