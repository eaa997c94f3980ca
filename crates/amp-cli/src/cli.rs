//! What every subcommand shares: the global flags, and the logging they
//! set up. The subcommands themselves, and the whole command line, are in
//! `cmd/`.

use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;

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
