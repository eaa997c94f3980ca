//! `amp serve`: one request, its answer printed. (Being written.)
use crate::cli::Global;
use crate::exit::{CliError, CliResult};

/// `amp serve`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `amp serve`.
pub async fn run(_: Args, _: &Global) -> CliResult {
    Err(CliError::usage("amp serve: not built yet"))
}
