//! The analysis stage: the index, call graph and findings of the files to
//! convert, with its progress told as events (the command line draws a bar).

use std::path::Path;
use std::sync::Arc;

use crate::analysis::{self, AnalysisError, Model, Progress, catalog::Catalog};
use crate::config::Config;
use crate::event::{Event, Sink};

/// Analyse `path`, telling `events` when it starts and ends.
pub fn analyse<'c>(
    path: &Path,
    config: &Config,
    catalog: &'c Catalog,
    events: &dyn Sink,
) -> Result<Model<'c>, AnalysisError> {
    let progress = Arc::new(Progress::default());
    events.emit(Event::Analysing { progress: Arc::clone(&progress) });
    let model = analysis::analyze_model(path, config, catalog, &progress);
    events.emit(Event::Analysed);
    model
}
