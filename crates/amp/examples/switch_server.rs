//! AMP as a negotiation layer: clients may secure the connection with
//! `StartTLS`, then `Switch` it into a plain byte echo (the firewall
//! traversal pattern: one port, negotiate, secure, switch).
//!
//! ```text
//! cargo run --example switch_server -- 127.0.0.1:1234                    # throwaway self-signed certificate
//! cargo run --example switch_server -- 127.0.0.1:1234 --cert server.pem --key server.key
//! cargo run --example switch_server -- 127.0.0.1:1234 --cert server.pem --key server.key --ca ca.pem   # require client certificates
//! ```
//!
//! Prints `listening on ADDR` once ready. Twisted clients work too:
//! `callRemote(StartTLS, ...)`, then `callRemote(Switch, _protoToSwitchToFactory=...)`
//! with `class Switch(amp.ProtocolSwitchCommand): arguments = []`.

use amp::tls::TlsOptions;
use amp::{Command, Router, SwitchTo, Switched};
use clap::Parser;
use std::path::PathBuf;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `Switch`, no arguments: the connection becomes a byte echo.
#[derive(Command)]
pub struct Switch;

#[derive(Parser)]
#[command(about = "Serve StartTLS and a Switch command that turns the connection into an echo")]
struct Args {
    /// Address to listen on (host:port).
    addr: String,
    /// Server certificate chain (PEM). Without it, a throwaway self-signed one.
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    /// Private key for --cert (PEM).
    #[arg(long, requires = "cert")]
    key: Option<PathBuf>,
    /// Require client certificates signed by this CA (PEM).
    #[arg(long)]
    ca: Option<PathBuf>,
}

/// The protocol switched to: echo every byte until the client closes.
async fn echo(mut stream: Switched) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut tls = TlsOptions::new();
    if let (Some(cert), Some(key)) = (&args.cert, &args.key) {
        tls = tls.certificate_files(cert, key)?;
    }
    if let Some(ca) = &args.ca {
        tls = tls.authorities_file(ca)?;
    }
    let router = Router::new()
        .start_tls(tls)
        .route_switch(|_: Switch, ctx| async move {
            let secured = ctx.peer().is_tls();
            eprintln!("switching a connection to echo (TLS: {secured})");
            Ok(SwitchTo::new(echo))
        });
    let listener = tokio::net::TcpListener::bind(&args.addr).await?;
    println!("listening on {}", listener.local_addr()?);
    // Ctrl-C: stop accepting and let AMP calls in flight finish; echo
    // connections (switched) are cut when the grace period ends.
    let report = amp::Server::new(router)
        .grace_period(std::time::Duration::from_secs(5))
        .serve_until(listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    eprintln!(
        "switch_server: shut down ({} connections open, {} cut)",
        report.open, report.cut
    );
    Ok(())
}
