//! Calls `Sum(13, 81)` and `Divide(1234, 0)` on an AMP server (ours or
//! Twisted's `ampserver.py`), or load-tests `Sum`.
//!
//! ```text
//! cargo run --release --example math_client [ADDR]
//! cargo run --release --example math_client [ADDR] --bench --calls 100000 --depth 100
//! cargo run --release --example math_client [ADDR] --tls [--bench ...]
//! ```
//!
//! With `--tls` it first secures the connection with `StartTLS` as an
//! anonymous client (`TlsOptions::new()`: no certificate of its own, the
//! server's is not verified, as Twisted's `callRemote(amp.StartTLS)` with no
//! arguments), against `math_server --tls` or a Twisted server answering
//! `StartTLS`. With `--bench`, one `Sum` call is made over TLS before the
//! clock starts, and the result line says `over TLS`.

use amp::tls::TlsOptions;
use amp::{AmpError, CallError, Command, Connection, Record};
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::time::Instant;

#[derive(Command)]
#[amp(response = SumResult)]
struct Sum {
    a: i64,
    b: i64,
}

#[derive(Record, Debug)]
struct SumResult {
    total: i64,
}

#[derive(Command)]
#[amp(response = DivideResult, error = DivideError)]
struct Divide {
    numerator: i64,
    denominator: i64,
}

#[derive(Record, Debug)]
struct DivideResult {
    result: f64,
}

#[derive(AmpError, Debug)]
enum DivideError {
    #[amp(code = "ZERO_DIVISION")]
    ZeroDivision,
}

struct Args {
    addr: String,
    bench: bool,
    calls: u64,
    depth: usize,
    tls: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: "127.0.0.1:1234".into(),
        bench: false,
        calls: 100_000,
        depth: 1,
        tls: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut num = |name: &str| -> Result<u64, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name} needs a positive number"))
        };
        match a.as_str() {
            "--bench" => args.bench = true,
            "--tls" => args.tls = true,
            "--calls" => args.calls = num("--calls")?,
            "--depth" => args.depth = num("--depth")?.max(1) as usize,
            "-h" | "--help" => {
                return Err(
                    "usage: math_client [ADDR] [--tls] [--bench --calls N --depth D]".into(),
                )
            }
            s if !s.starts_with('-') => args.addr = s.to_owned(),
            s => return Err(format!("unknown option {s}")),
        }
    }
    Ok(args)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let conn = match Connection::connect(&args.addr).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot connect to {}: {e}", args.addr);
            std::process::exit(1);
        }
    };
    if args.tls {
        if let Err(e) = conn.start_tls(TlsOptions::new()).await {
            eprintln!("StartTLS failed: {e}");
            std::process::exit(1);
        }
        assert!(
            conn.is_tls(),
            "StartTLS answered but the connection is not TLS"
        );
    }
    if args.bench {
        if args.tls {
            // The handshake is done once start_tls resolves; one call over
            // TLS anyway, so both directions carry data before timing (as
            // bench_client.py --tls does).
            match conn.call(Sum { a: -1, b: 1 }).await {
                Ok(r) if r.total == 0 => {}
                other => {
                    eprintln!("first call over TLS failed: {:?}", other.map(|r| r.total));
                    std::process::exit(1);
                }
            }
        }
        bench(&conn, args.calls, args.depth, args.tls).await;
    } else {
        match conn.call(Sum { a: 13, b: 81 }).await {
            Ok(r) => println!("total: {}", r.total),
            Err(e) => println!("Sum error: {e}"),
        }
        match conn
            .call(Divide {
                numerator: 1234,
                denominator: 0,
            })
            .await
        {
            Ok(r) => println!("result: {}", r.result),
            Err(CallError::Remote(e)) => println!("Divide error: {}", amp::ErrorTable::code(&e)),
            Err(e) => println!("Divide failed: {e}"),
        }
    }
    conn.close().await;
}

async fn bench(conn: &Connection, calls: u64, depth: usize, tls: bool) {
    let start = Instant::now();
    let mut in_flight = FuturesUnordered::new();
    let mut sent = 0u64;
    let mut done = 0u64;
    while done < calls {
        while sent < calls && in_flight.len() < depth {
            let a = sent as i64;
            in_flight.push(async move { (a, conn.call(Sum { a, b: 1 }).await) });
            sent += 1;
        }
        match in_flight.next().await {
            Some((a, Ok(r))) => {
                assert_eq!(r.total, a + 1, "wrong answer");
                done += 1;
            }
            Some((_, Err(e))) => {
                eprintln!("call failed: {e}");
                std::process::exit(1);
            }
            None => break,
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let over = if tls { " over TLS" } else { "" };
    println!(
        "{calls} calls{over}, depth {depth}, {secs:.3} s: {:.0} calls/s",
        calls as f64 / secs
    );
}
