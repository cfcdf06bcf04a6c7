//! The `refactor-async` binary: parse arguments, start logging, run, exit with a code.

use std::process::ExitCode;

use clap::Parser;

// The analysis allocates many small strings; mimalloc handles that markedly
// faster than the system allocator (ruff makes the same choice).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use refactor_async::cli::{self, Cli, ExitStatus};

fn main() -> ExitCode {
    refactor_async::alloc::use_mimalloc_for_tree_sitter();
    refactor_async::alloc::purge_freed_memory_at_once();
    let cli = Cli::parse();
    // The daemon logs what it does (info); the one-shot commands only warnings.
    let (default_level, json) = match &cli.command {
        cli::Command::Daemon(args) => ("warn,refactor_async=info", args.log_format == cli::LogFormat::Json),
        _ => ("warn", false),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        logs.json().init();
    } else {
        logs.init();
    }
    match cli::run(cli) {
        Ok(status) => ExitCode::from(status as u8),
        Err(err) => {
            // A closed pipe (`| head`) is not an error worth reporting.
            if err
                .chain()
                .any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe))
            {
                return ExitCode::from(ExitStatus::Success as u8);
            }
            eprintln!("error: {err}");
            for cause in cli::causes(&err) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(ExitStatus::Error as u8)
        }
    }
}
