//! `amp`: AMP (Twisted's Asynchronous Messaging Protocol) from the shell.
//!
//! Call a command, serve a demo, read a capture, watch a connection,
//! load-test a server, and carry any TCP service over an AMP-negotiated
//! (StartTLS, then switched) connection. Run `amp --help`.

mod cli;
mod cmd;
mod conn;
mod demo_commands;
mod exit;
mod items;
mod request;
mod schema;
mod value;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    cli::init_logging(cli.global.verbose);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("amp: cannot start the runtime: {e}");
            return ExitCode::from(exit::Exit::Connection as u8);
        }
    };
    match runtime.block_on(cmd::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.reported {
                eprintln!("amp: {e}");
            }
            ExitCode::from(e.exit as u8)
        }
    }
}
