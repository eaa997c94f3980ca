//! Serves the example commands of Twisted's AMP documentation, `Sum` and
//! `Divide`, so Twisted's own `ampclient.py` can talk to it.
//!
//! ```text
//! cargo run --release --example math_server [ADDR] [--tls]   # default 127.0.0.1:1234
//! cargo run --release --example math_server --stdio [--tls]   # AMP over stdin/stdout
//! ```
//!
//! With `--stdio` it serves one connection over its own stdin and stdout
//! (a parent process, say Twisted's `spawnProcess`, talks AMP to it) and
//! exits when stdin closes.
//!
//! With `--tls` it also answers `StartTLS` with a throwaway self-signed
//! certificate (`TlsOptions::new()`, as Twisted's `amp.StartTLS` responder
//! returning `{}`), so a client may upgrade the connection before calling:
//! `math_client ADDR --tls`, or Twisted's `callRemote(amp.StartTLS)`.
//!
//! `--max-box-size BYTES` and `--max-box-entries N` change those limits of
//! [`amp::Config`] (the reliability tests measure memory with them).
//! Ctrl-C or SIGTERM stops it gracefully: no new connections, calls in
//! flight are answered (5 s at most), then it exits 0.

use amp::tls::TlsOptions;
use amp::{AmpError, Command, Record, Router};

/// `Sum(a, b) -> total`, as in Twisted's `ampserver.py`.
#[derive(Command)]
#[amp(response = SumResult)]
pub struct Sum {
    pub a: i64,
    pub b: i64,
}

/// The answer to [`Sum`].
#[derive(Record, Debug)]
pub struct SumResult {
    pub total: i64,
}

/// `Divide(numerator, denominator) -> result: Float`, `ZERO_DIVISION` on
/// division by zero.
#[derive(Command)]
#[amp(response = DivideResult, error = DivideError)]
pub struct Divide {
    pub numerator: i64,
    pub denominator: i64,
}

/// The answer to [`Divide`].
#[derive(Record, Debug)]
pub struct DivideResult {
    pub result: f64,
}

/// The errors [`Divide`] declares.
#[derive(AmpError, Debug)]
pub enum DivideError {
    #[amp(code = "ZERO_DIVISION", description = "division by zero")]
    ZeroDivision,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut addr = "127.0.0.1:1234".to_owned();
    let mut tls = false;
    let mut config = amp::Config::builder();
    let usage = || -> ! {
        eprintln!(
            "usage: math_server [ADDR | --stdio] [--tls] [--max-box-size BYTES] [--max-box-entries N]"
        );
        std::process::exit(2);
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut number = || -> usize {
            args.next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| usage())
        };
        match a.as_str() {
            "--tls" => tls = true,
            "--max-box-size" => config = config.max_box_size(number()),
            "--max-box-entries" => config = config.max_box_entries(number()),
            "-h" | "--help" => usage(),
            // ADDR or --stdio
            _ => addr = a,
        }
    }
    let config = config.build().map_err(std::io::Error::other)?;
    let mut router = Router::new()
        .route(|s: Sum, _| async move {
            Ok(SumResult {
                total: s.a.checked_add(s.b).expect("sum overflows i64"),
            })
        })
        .route(|d: Divide, _| async move {
            if d.denominator == 0 {
                return Err(DivideError::ZeroDivision);
            }
            Ok(DivideResult {
                result: d.numerator as f64 / d.denominator as f64,
            })
        });
    if tls {
        // One TlsOptions value: its temporary certificate is generated once
        // and shared by every connection.
        router = router.start_tls(TlsOptions::new());
    }
    if addr == "--stdio" {
        // stdout carries AMP now; Pipes::stdio points fd 1 at stderr so a
        // stray println! cannot corrupt the stream.
        let (_conn, driver) = amp::Connection::builder()
            .router(router)
            .config(config)
            .build(amp::pipes::Pipes::stdio()?);
        let reason = driver.await;
        eprintln!("math_server: connection over stdio ended: {reason}");
        return Ok(());
    }
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    // Ctrl-C (or SIGTERM): stop accepting, let calls in flight finish.
    let report = amp::Server::new(router)
        .config(config)
        .grace_period(std::time::Duration::from_secs(5))
        .serve_until(listener, stop_signal())
        .await;
    eprintln!(
        "math_server: shut down ({} connections open, {} cut)",
        report.open, report.cut
    );
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn stop_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
