//! The subcommands, one file each; here the command line that names them
//! ([`Cli`], [`Command`]) and running the one it names.

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

use clap::{Parser, Subcommand};

use crate::cli::Global;
use crate::exit::CliResult;

/// AMP (Twisted's Asynchronous Messaging Protocol) from the shell: call,
/// serve, decode, tap, bench, and tunnel through an AMP gateway.
#[derive(Parser, Debug)]
#[command(name = "amp", version, propagate_version = true)]
#[command(after_help = "Examples:
  amp serve 127.0.0.1:1234 &
  amp call 127.0.0.1:1234 Sum a:=13 b:=81
  amp demo

Exit codes: 0 success, 1 AMP error answer, 2 usage, 3 connection/TLS/timeout.")]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Make one call and print the answer.
    Call(call::Args),
    /// List the commands of the schema, or of a server that describes itself.
    List(describe::ListArgs),
    /// Describe one command of the schema, or of a server.
    Describe(describe::DescribeArgs),
    /// Work with schema files (import from Python).
    #[command(subcommand)]
    Schema(schema::SchemaCommand),
    /// Serve demo commands: Sum, Divide, Echo, StartTLS, Switch.
    Serve(serve::Args),
    /// Print a raw AMP byte stream as boxes.
    Decode(decode::Args),
    /// Write boxes given as JSON lines as a raw AMP byte stream.
    Encode(encode::Args),
    /// Proxy a connection and print every box both ways.
    Tap(tap::Args),
    /// Load-test a server with one command.
    Bench(bench::Args),
    /// One port in front of many TCP services: StartTLS, then Connect.
    Gateway(gateway::Args),
    /// Carry local TCP connections through an amp gateway.
    Tunnel(tunnel::Args),
    /// Serve and call in one process: a guided tour of AMP (Sum, an error, StartTLS, a switch).
    Demo(demo::Args),
    /// Print shell completions.
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff).
    Man(completions::ManArgs),
}

impl Command {
    /// Whether the subcommand only reads files and writes its output (no
    /// socket): a closed output simply ends it.
    pub fn is_filter(&self) -> bool {
        match self {
            Command::List(a) => a.addr.is_none(),
            Command::Describe(a) => a.words.len() == 1,
            Command::Schema(s) => s.is_offline(),
            Command::Decode(_) | Command::Encode(_) | Command::Completions(_) | Command::Man(_) => {
                true
            }
            _ => false,
        }
    }
}

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
