//! `amp tap`: one request, its answer printed. (Being written.)
use crate::cli::Global;
use crate::exit::{CliError, CliResult};

/// `amp tap`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `amp tap`.
pub async fn run(_: Args, _: &Global) -> CliResult {
    Err(CliError::usage("amp tap: not built yet"))
}
