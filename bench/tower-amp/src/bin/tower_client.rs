//! `tower_client ADDR [--calls N] [--depth D]`: `Sum(a=i, b=1)` calls over
//! one tower-amp connection with D in flight, every answer checked, on a
//! `current_thread` runtime, `TCP_NODELAY` set: the same load and the same
//! result line as amp-rs's `math_client --bench`
//! (`N calls, depth D, S s: R calls/s`).

use futures_util::stream::{FuturesUnordered, StreamExt};
use std::time::Instant;
use tokio::net::TcpStream;
use tower_amp::Client;
use tower_amp_bench::Sum;

fn usage() -> ! {
    eprintln!("usage: tower_client ADDR [--calls N] [--depth D]");
    std::process::exit(2);
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| usage());
    let (mut calls, mut depth) = (100_000u64, 1usize);
    while let Some(a) = args.next() {
        let n: u64 = args
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| usage());
        match a.as_str() {
            "--calls" => calls = n.max(1),
            "--depth" => depth = n.max(1) as usize,
            _ => usage(),
        }
    }
    let stream = TcpStream::connect(&addr).await.unwrap_or_else(|e| {
        eprintln!("cannot connect to {addr}: {e}");
        std::process::exit(1);
    });
    stream.set_nodelay(true).expect("TCP_NODELAY");
    let client = Client::new(stream);
    let client = &client;

    let start = Instant::now();
    let mut in_flight = FuturesUnordered::new();
    let (mut sent, mut done) = (0u64, 0u64);
    while done < calls {
        while sent < calls && in_flight.len() < depth {
            let a = sent as i64;
            in_flight.push(async move { (a, client.call(&Sum { a, b: 1 }).await) });
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
    println!(
        "{calls} calls, depth {depth}, {secs:.3} s: {:.0} calls/s",
        calls as f64 / secs
    );
}
