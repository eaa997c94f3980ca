//! The other half of `switch_server`: connect, secure the connection with
//! `StartTLS`, `Switch` it into the echo protocol, send bytes and print
//! what comes back.
//!
//! ```text
//! cargo run --example switch_client -- 127.0.0.1:1234                       # TLS, server not verified
//! cargo run --example switch_client -- 127.0.0.1:1234 --ca ca.pem           # verify the server
//! cargo run --example switch_client -- 127.0.0.1:1234 --ca ca.pem --cert client.pem --key client.key
//! cargo run --example switch_client -- 127.0.0.1:1234 --no-tls --message hi
//! ```

use amp::tls::TlsOptions;
use amp::{Command, Connection};
use clap::Parser;
use std::path::PathBuf;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `Switch`, no arguments: the connection becomes a byte echo.
#[derive(Command)]
pub struct Switch;

#[derive(Parser)]
#[command(about = "StartTLS, switch to echo, send bytes, print the echo")]
struct Args {
    /// Server address (host:port).
    addr: String,
    /// Verify the server's certificate against this CA (PEM).
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Client certificate chain (PEM), for servers that require one.
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    /// Private key for --cert (PEM).
    #[arg(long, requires = "cert")]
    key: Option<PathBuf>,
    /// Skip StartTLS (switch in clear).
    #[arg(long)]
    no_tls: bool,
    /// What to send once switched.
    #[arg(long, default_value = "hello through AMP")]
    message: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let conn = Connection::connect(&args.addr).await?;
    if !args.no_tls {
        let mut tls = TlsOptions::new();
        if let (Some(cert), Some(key)) = (&args.cert, &args.key) {
            tls = tls.certificate_files(cert, key)?;
        }
        if let Some(ca) = &args.ca {
            tls = tls.authorities_file(ca)?;
        }
        conn.start_tls(tls).await?;
        let certs = conn.peer_certificates().unwrap_or_default();
        eprintln!(
            "TLS up; the server presented {} certificate(s)",
            certs.len()
        );
    }
    let mut stream = conn.switch(Switch).await?;
    stream.write_all(args.message.as_bytes()).await?;
    let mut echoed = vec![0u8; args.message.len()];
    stream.read_exact(&mut echoed).await?;
    println!("{}", String::from_utf8_lossy(&echoed));
    Ok(())
}
