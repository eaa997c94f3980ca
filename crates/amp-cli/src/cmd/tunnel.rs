//! `amp tunnel`: one request, its answer printed. (Being written.)
use crate::cli::Global;
use crate::exit::{CliError, CliResult};

/// `amp tunnel`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `amp tunnel`.
pub async fn run(_: Args, _: &Global) -> CliResult {
    Err(CliError::usage("amp tunnel: not built yet"))
}
