//! The command line: global flags and the subcommands.

use clap::{Args, Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;

use crate::cmd;

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

/// Flags every subcommand takes.
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Schema file (.json or .toml) describing the commands; default: the
    /// AMP_SCHEMA variable, else .amp.json or .amp.toml in the current
    /// directory, else none (untyped).
    #[arg(long, global = true, env = "AMP_SCHEMA", value_name = "FILE")]
    pub schema: Option<PathBuf>,
    /// More logging (-v: each call; -vv: debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Make one call and print the answer.
    Call(cmd::call::Args),
    /// List the commands of the schema, or of a server that describes itself.
    List(cmd::describe::ListArgs),
    /// Describe one command of the schema, or of a server.
    Describe(cmd::describe::DescribeArgs),
    /// Work with schema files (import from Python).
    #[command(subcommand)]
    Schema(cmd::schema::SchemaCommand),
    /// Serve demo commands: Sum, Divide, Echo, StartTLS, Switch.
    Serve(cmd::serve::Args),
    /// Print a raw AMP byte stream as boxes.
    Decode(cmd::decode::Args),
    /// Write boxes given as JSON lines as a raw AMP byte stream.
    Encode(cmd::encode::Args),
    /// Proxy a connection and print every box both ways.
    Tap(cmd::tap::Args),
    /// Load-test a server with one command.
    Bench(cmd::bench::Args),
    /// One port in front of many TCP services: StartTLS, then Connect.
    Gateway(cmd::gateway::Args),
    /// Carry local TCP connections through an amp gateway.
    Tunnel(cmd::tunnel::Args),
    /// Serve and call in one process: a guided tour of AMP (Sum, an error, StartTLS, a switch).
    Demo(cmd::demo::Args),
    /// Print shell completions.
    Completions(cmd::completions::CompletionsArgs),
    /// Print the man page (roff).
    Man(cmd::completions::ManArgs),
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

/// Logs to stderr: warnings by default, more with `-v`; `RUST_LOG`
/// overrides.
pub fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
