//! `amp list` and `amp describe`. (Being written.)
use crate::cli::Global;
use crate::exit::{CliError, CliResult};

/// `amp list`.
#[derive(clap::Args, Debug)]
pub struct ListArgs {}
/// `amp describe`.
#[derive(clap::Args, Debug)]
pub struct DescribeArgs {}

/// Runs `amp list`.
pub fn list(_: ListArgs, _: &Global) -> CliResult {
    Err(CliError::usage("amp list: not built yet"))
}
/// Runs `amp describe`.
pub fn describe(_: DescribeArgs, _: &Global) -> CliResult {
    Err(CliError::usage("amp describe: not built yet"))
}
