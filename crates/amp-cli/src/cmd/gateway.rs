//! `amp gateway`: one request, its answer printed. (Being written.)
use crate::cli::Global;
use crate::exit::{CliError, CliResult};

/// `amp gateway`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `amp gateway`.
pub async fn run(_: Args, _: &Global) -> CliResult {
    Err(CliError::usage("amp gateway: not built yet"))
}
