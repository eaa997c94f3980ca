//! `amp demo`: one request, its answer printed. (Being written.)
use crate::cli::Global;
use crate::exit::{CliError, CliResult};

/// `amp demo`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `amp demo`.
pub async fn run(_: Args, _: &Global) -> CliResult {
    Err(CliError::usage("amp demo: not built yet"))
}
