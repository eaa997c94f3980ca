//! `amp decode`: one request, its answer printed. (Being written.)
use crate::cli::Global;
use crate::exit::{CliError, CliResult};

/// `amp decode`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `amp decode`.
pub async fn run(_: Args, _: &Global) -> CliResult {
    Err(CliError::usage("amp decode: not built yet"))
}
