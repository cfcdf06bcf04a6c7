//! The command line: argument definitions and the commands they run.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::analysis::{self, catalog::Catalog};
use crate::config::Config;
use crate::output::{self, AnalyzeFormat};

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
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Analyze(args) => analyze(args),
    }
}

fn analyze(args: AnalyzeArgs) -> anyhow::Result<ExitStatus> {
    let (_, root) = analysis::locate(&args.path)?;
    let mut config = Config::load(&root).context("cannot load the configuration")?;
    if args.no_cache {
        config.analysis.cache = false;
    }
    if args.include_tests {
        config.analysis.include_tests = true;
    }
    let catalog = Catalog::load(&config, &root).context("cannot load the blocking-call catalog")?;
    tracing::debug!(names = catalog.len(), sources = ?config.sources, "configuration loaded");
    let progress = analysis::Progress::default();
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
