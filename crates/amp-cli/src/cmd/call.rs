//! `amp call`: one request, its answer printed. (Being written.)
use crate::cli::Global;
use crate::exit::{CliError, CliResult};

/// `amp call`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `amp call`.
pub async fn run(_: Args, _: &Global) -> CliResult {
    Err(CliError::usage("amp call: not built yet"))
}
