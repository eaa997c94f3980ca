//! `amp encode`: one request, its answer printed. (Being written.)
use crate::cli::Global;
use crate::exit::{CliError, CliResult};

/// `amp encode`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `amp encode`.
pub async fn run(_: Args, _: &Global) -> CliResult {
    Err(CliError::usage("amp encode: not built yet"))
}
