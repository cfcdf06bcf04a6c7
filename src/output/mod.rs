//! Rendering reports: human text, the JSON contract, and SARIF 2.1.0; and the
//! run's progress events on standard error.

pub mod events;
pub mod json;
pub mod progress;
pub mod proposal;
pub mod sarif;
pub mod status;
pub mod text;

use clap::ValueEnum;

/// The version of the JSON documents, bumped on incompatible changes.
pub const JSON_VERSION: u32 = 1;

/// Output formats of `analyze`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AnalyzeFormat {
    Text,
    Json,
    Sarif,
}

/// Output formats of `propose` and `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProposeFormat {
    Text,
    Json,
}
