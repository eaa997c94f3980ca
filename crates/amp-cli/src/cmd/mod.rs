//! The subcommands, one file each.

pub mod bench;
pub mod call;
pub mod completions;
pub mod decode;
pub mod demo;
pub mod describe;
pub mod encode;
pub mod gateway;
pub mod schema;
pub mod serve;
pub mod tap;
pub mod tunnel;

use crate::cli::{Cli, Command};
use crate::exit::CliResult;

/// Runs the subcommand `cli` names.
pub async fn run(cli: Cli) -> CliResult {
    let g = &cli.global;
    match cli.command {
        Command::Call(a) => call::run(a, g).await,
        Command::List(a) => describe::list(a, g).await,
        Command::Describe(a) => describe::describe(a, g).await,
        Command::Schema(a) => schema::run(a, g).await,
        Command::Serve(a) => serve::run(a).await,
        Command::Decode(a) => decode::run(a, g).await,
        Command::Encode(a) => encode::run(a, g).await,
        Command::Tap(a) => tap::run(a, g).await,
        Command::Bench(a) => bench::run(a, g).await,
        Command::Gateway(a) => gateway::run(a).await,
        Command::Tunnel(a) => tunnel::run(a).await,
        Command::Demo(_) => demo::run().await,
        Command::Completions(a) => completions::completions(a),
        Command::Man(a) => completions::man(a),
    }
}
