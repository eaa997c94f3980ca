//! `amp`: AMP (Twisted's Asynchronous Messaging Protocol) from the shell.
//!
//! Call a command, serve a demo, read a capture, watch a connection,
//! load-test a server, and carry any TCP service over an AMP-negotiated
//! (StartTLS, then switched) connection. Run `amp --help`.

mod args;
mod capture;
mod cli;
mod cmd;
mod conn;
mod demo_commands;
mod exit;
mod gateway_protocol;
mod items;
mod request;
mod schema;
mod splice;
mod value;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // An empty AMP_SCHEMA means no schema, as if unset (clap would refuse
    // the empty value). Nothing else runs yet: no thread reads the
    // environment meanwhile.
    if std::env::var_os("AMP_SCHEMA").is_some_and(|v| v.is_empty()) {
        std::env::remove_var("AMP_SCHEMA");
    }
    let cli = cmd::Cli::parse();
    if cli.command.is_filter() {
        restore_sigpipe();
    }
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

/// Lets the system end the process quietly when its output is closed
/// (`amp decode big.amp | head`), as any filter does, instead of a panic
/// on the next `println!`. Only for the subcommands that open no socket:
/// for the others a peer closing its end must stay an error to handle,
/// not a signal that kills the process.
fn restore_sigpipe() {
    // SAFETY: setting a signal's disposition to the default, before any
    // thread is started; no handler of ours is involved.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
