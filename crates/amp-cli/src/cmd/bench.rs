//! `amp bench`: one request, its answer printed. (Being written.)
use crate::cli::Global;
use crate::exit::{CliError, CliResult};

/// `amp bench`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `amp bench`.
pub async fn run(_: Args, _: &Global) -> CliResult {
    Err(CliError::usage("amp bench: not built yet"))
}
