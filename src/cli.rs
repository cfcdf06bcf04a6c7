//! The command line: argument definitions and the commands they run.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::analysis;
use crate::output::{self, AnalyzeFormat, ProposeFormat};
use crate::pipeline::{
    self,
    setup::{self, LlmOverrides, Overrides, Setup},
};
use crate::propose::{Drafter, Options, ProposeError};

/// Turn synchronous, I/O-bound Python into correct, faster async/await code.
#[derive(Debug, Parser)]
#[command(name = "refactor-async", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Report what should become async and why (changes nothing).
    Analyze(AnalyzeArgs),
    /// Stay on a repository and keep proposing validated branches as it changes.
    Daemon(DaemonArgs),
    /// Show what the repository's daemon is doing and has done.
    Status(StatusArgs),
    /// Analyse, draft the async conversion, validate it with the repository's checks
    /// and commit it on a branch; with --dry-run, print the diff instead.
    Propose(ProposeArgs),
}

/// Which drafter writes the async code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DrafterChoice {
    /// Rules first; an LLM for what rules cannot do, when one is configured.
    Auto,
    /// The deterministic rules drafter only.
    Rules,
    /// Every plan through the LLM drafter.
    Llm,
}

/// `refactor-async propose`.
#[derive(Debug, clap::Args)]
pub struct ProposeArgs {
    /// Folder inside the git repository to convert.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Print the diff and the plans instead of committing them on a branch.
    #[arg(long)]
    pub dry_run: bool,
    /// The commit to start from (default HEAD).
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// Name of the branch to create (default refactor-async/<slug>).
    #[arg(long, value_name = "NAME")]
    pub branch: Option<String>,
    /// Which drafter writes the code.
    #[arg(long, value_enum, default_value_t = DrafterChoice::Auto)]
    pub drafter: DrafterChoice,
    /// Validate up to N proposals at once.
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Push the branch to this remote.
    #[arg(long, value_name = "REMOTE")]
    pub push: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ProposeFormat::Text)]
    pub format: ProposeFormat,
    /// Do not read or write the analysis cache.
    #[arg(long)]
    pub no_cache: bool,
    /// The OpenAI-compatible endpoint (over `[llm] base_url`), e.g. http://localhost:11434/v1.
    #[arg(long, value_name = "URL")]
    pub llm_base_url: Option<String>,
    /// The model (over `[llm] model`).
    #[arg(long, value_name = "NAME")]
    pub llm_model: Option<String>,
    /// Requests in flight at once, at most (over `[llm] max_concurrency`).
    #[arg(long, value_name = "N")]
    pub llm_max_concurrency: Option<usize>,
    /// Seconds one request may take (over `[llm] timeout_s`).
    #[arg(long, value_name = "SECONDS")]
    pub llm_timeout: Option<f64>,
}

/// How the daemon logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `refactor-async daemon`.
#[derive(Debug, clap::Args)]
pub struct DaemonArgs {
    /// Folder inside the git repository to watch.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Log lines as text or JSON (to standard error).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// `refactor-async status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Folder inside the git repository.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ProposeFormat::Text)]
    pub format: ProposeFormat,
}

/// `refactor-async analyze`.
#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Folder or single file to analyse.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = AnalyzeFormat::Text)]
    pub format: AnalyzeFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Do not read or write the analysis cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Also report blocking I/O, propagation, loops and timeouts in test code.
    #[arg(long)]
    pub include_tests: bool,
}

/// How a command ended, as the process exit code (DESIGN.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// The work ran and succeeded.
    Success = 0,
    /// The work ran but found or validated nothing acceptable.
    Failure = 1,
    /// Usage, configuration or environment error.
    Error = 2,
    /// Stopped by Ctrl-C or SIGTERM (the shell's convention, 128 + SIGINT).
    Cancelled = 130,
}

/// The causes to print under an error, outermost first. An error of this crate
/// whose message already quotes its cause (`cannot load the blocking-call
/// catalog: <cause>`) keeps the cause as its `source()` for callers, but the
/// chain stops there, so that nothing is said twice.
pub fn causes(err: &anyhow::Error) -> Vec<String> {
    let mut out = Vec::new();
    let mut chain = err.chain();
    while let Some(error) = chain.next() {
        if quotes_its_cause(error) {
            break;
        }
        if let Some(cause) = chain.clone().next() {
            out.push(cause.to_string());
        }
    }
    out
}

fn quotes_its_cause(error: &(dyn std::error::Error + 'static)) -> bool {
    if let Some(e) = error.downcast_ref::<ProposeError>() {
        return e.quotes_its_cause();
    }
    if let Some(e) = error.downcast_ref::<crate::daemon::DaemonError>() {
        return e.quotes_its_cause();
    }
    false
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Analyze(args) => analyze(args),
        Command::Propose(args) => propose(args),
        Command::Daemon(args) => daemon(args),
        Command::Status(args) => status(args),
    }
}

fn daemon(args: DaemonArgs) -> anyhow::Result<ExitStatus> {
    crate::daemon::run(&args.path)?;
    Ok(ExitStatus::Success)
}

fn status(args: StatusArgs) -> anyhow::Result<ExitStatus> {
    let report = crate::output::status::Status::read(&args.path)?;
    let rendered = match args.format {
        ProposeFormat::Json => report.json(),
        ProposeFormat::Text => report.text(),
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(rendered.as_bytes())?;
    stdout.flush()?;
    Ok(ExitStatus::Success)
}

fn propose(args: ProposeArgs) -> anyhow::Result<ExitStatus> {
    if args.jobs == Some(0) {
        anyhow::bail!("--jobs must be at least 1");
    }
    if args.dry_run {
        check_dry_run(&args)?;
    } else {
        crate::cancel::install().context("cannot install the Ctrl-C handler")?;
    }
    let events = output::events::Printer::new(args.format == ProposeFormat::Text);
    let proposal = match pipeline::run(&args.path, &propose_options(&args), &events) {
        Ok(proposal) => proposal,
        Err(ProposeError::Cancelled) => {
            eprintln!("refactor-async: cancelled; worktrees removed, nothing committed");
            return Ok(ExitStatus::Cancelled);
        }
        Err(err) => return Err(err.into()),
    };
    drop(events);
    let rendered = match args.format {
        ProposeFormat::Json => output::proposal::json(&proposal),
        ProposeFormat::Text => {
            let color = std::io::stdout().is_terminal();
            output::proposal::text(&proposal, color)
        }
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(rendered.as_bytes())?;
    stdout.flush()?;
    let status =
        if proposal.plans.is_empty() || proposal.succeeded() { ExitStatus::Success } else { ExitStatus::Failure };
    Ok(status)
}

/// A dry run drafts the files on disk with the rules: flags about commits,
/// branches and the LLM would be silently ignored, so they are refused.
fn check_dry_run(args: &ProposeArgs) -> anyhow::Result<()> {
    if args.drafter == DrafterChoice::Llm {
        anyhow::bail!(
            "--dry-run drafts with the rules drafter only and makes no network calls; run without --dry-run to draft with the LLM"
        );
    }
    for (given, flag) in [
        (args.llm_base_url.is_some() || args.llm_model.is_some(), "--llm-base-url/--llm-model"),
        (args.base.is_some(), "--base"),
        (args.branch.is_some(), "--branch"),
        (args.jobs.is_some(), "--jobs"),
        (args.push.is_some(), "--push"),
    ] {
        if given {
            anyhow::bail!("{flag} has no effect with --dry-run, which drafts the files as they are on disk");
        }
    }
    Ok(())
}

/// What the pipeline is asked to do, from the flags.
fn propose_options(args: &ProposeArgs) -> Options {
    Options {
        dry_run: args.dry_run,
        base: args.base.clone(),
        branch: args.branch.clone(),
        jobs: args.jobs.unwrap_or(1),
        push: args.push.clone(),
        drafter: match args.drafter {
            DrafterChoice::Auto => Drafter::Auto,
            DrafterChoice::Rules => Drafter::Rules,
            DrafterChoice::Llm => Drafter::Llm,
        },
        overrides: Overrides {
            no_cache: args.no_cache,
            include_tests: false,
            llm: LlmOverrides {
                base_url: args.llm_base_url.clone(),
                model: args.llm_model.clone(),
                max_concurrency: args.llm_max_concurrency,
                timeout_s: args.llm_timeout,
            },
        },
        ..Default::default()
    }
}

fn analyze(args: AnalyzeArgs) -> anyhow::Result<ExitStatus> {
    let (_, root) = analysis::locate(&args.path)?;
    let overrides = Overrides { no_cache: args.no_cache, include_tests: args.include_tests, ..Default::default() };
    let Setup { config, catalog, .. } = setup::load::<()>(&root, &overrides)?;
    tracing::debug!(names = catalog.len(), sources = ?config.sources, "configuration loaded");
    let progress = std::sync::Arc::new(analysis::Progress::default());
    // Never with machine-readable output: stdout consumers may share the terminal.
    let show = args.format == AnalyzeFormat::Text;
    let report = output::progress::with_progress(&progress, show, || {
        analysis::analyze_with_progress(&args.path, &config, &catalog, &progress)
    })?;
    tracing::info!(
        files = report.stats.files,
        parsed = report.stats.parsed,
        cached = report.stats.cached,
        ms = report.stats.timings.total_ms,
        "analysis done"
    );
    if args.format == AnalyzeFormat::Json {
        // Streamed rather than rendered first: on a large repository the JSON runs to
        // megabytes. It never holds styles to strip (serde escapes control characters).
        let write = |out: &mut dyn Write| {
            let mut out = std::io::BufWriter::new(out);
            output::json::write(&report, &mut out)?;
            out.flush()
        };
        match &args.output {
            Some(path) => std::fs::File::create(path)
                .and_then(|mut file| write(&mut file))
                .with_context(|| format!("cannot write {}", path.display()))?,
            None => write(&mut anstream::stdout().lock())?,
        }
        return Ok(ExitStatus::Success);
    }
    let rendered = match args.format {
        AnalyzeFormat::Text => output::text::render(&report),
        AnalyzeFormat::Json => output::json::render(&report),
        AnalyzeFormat::Sarif => output::sarif::render(&report),
    };
    match &args.output {
        Some(path) => {
            let plain = anstream::adapter::strip_str(&rendered).to_string();
            std::fs::write(path, plain).with_context(|| format!("cannot write {}", path.display()))?;
        }
        None => {
            let mut stdout = anstream::stdout().lock();
            stdout.write_all(rendered.as_bytes())?;
            stdout.flush()?;
        }
    }
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigError;
    use crate::propose::ProposeError;

    fn io() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied")
    }

    #[test]
    fn a_quoted_cause_is_not_printed_again() {
        let read = ConfigError::Read { path: "catalog.toml".into(), source: io() };
        let err = anyhow::Error::from(ProposeError::Catalog(read));
        assert_eq!(err.to_string(), "cannot load the blocking-call catalog: cannot read catalog.toml: denied");
        assert!(causes(&err).is_empty());
        assert!(std::error::Error::source(err.downcast_ref::<ProposeError>().unwrap()).is_some(), "the cause is kept");
    }

    #[test]
    fn other_causes_are_printed_as_before() {
        let read = ConfigError::Read { path: "refactor-async.toml".into(), source: io() };
        let err = anyhow::Error::from(read).context("cannot load the configuration");
        assert_eq!(causes(&err), ["cannot read refactor-async.toml: denied", "denied"]);
    }
}
