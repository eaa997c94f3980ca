//! `amp schema import`. (Being written.)
use crate::cli::Global;
use crate::exit::{CliError, CliResult};

/// `amp schema`.
#[derive(clap::Subcommand, Debug)]
pub enum SchemaCommand {
    /// Import from Python.
    Import {},
}

/// Runs `amp schema`.
pub async fn run(_: SchemaCommand, _: &Global) -> CliResult {
    Err(CliError::usage("amp schema: not built yet"))
}
