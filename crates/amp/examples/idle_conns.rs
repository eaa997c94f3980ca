//! Memory per idle AMP connection: opens many connections to a running
//! server (ours or Twisted's), makes one `Sum` call on each so every
//! connection is fully set up and has done real work, lets things settle,
//! and reports how much the server's resident memory (`VmRSS` from
//! `/proc/PID/status`) grew per connection. The client's own growth per
//! connection is reported too.
//!
//! ```text
//! cargo run --release --example math_server 127.0.0.1:0 &     # note its pid and address
//! ulimit -n 20000     # two sockets per connection on loopback, one per process
//! cargo run --release --example idle_conns ADDR --pid SERVER_PID [--conns 5000] [--settle-ms 1000]
//! ```
//!
//! The last line of output reads
//! `server: N connections, B KiB -> A KiB, X.X KiB per idle connection`
//! (`bench/run.sh` parses it). Connections are opened at most 64 at a time so
//! a small listen backlog (Twisted's default is 50) does not cause SYN
//! retries. Needs a file-descriptor limit above `--conns`.

use amp::{Command, Connection, Record};
use futures_util::stream::{self, StreamExt};
use std::time::Duration;

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

struct Args {
    addr: String,
    pid: u32,
    conns: usize,
    settle: Duration,
}

fn usage() -> ! {
    eprintln!("usage: idle_conns ADDR --pid SERVER_PID [--conns N] [--settle-ms MS]");
    std::process::exit(2);
}

fn parse_args() -> Args {
    let mut addr = None;
    let mut pid = None;
    let mut conns = 5000usize;
    let mut settle = Duration::from_millis(1000);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut num = || -> u64 {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage())
        };
        match a.as_str() {
            "--pid" => pid = Some(num() as u32),
            "--conns" => conns = num().max(1) as usize,
            "--settle-ms" => settle = Duration::from_millis(num()),
            s if !s.starts_with('-') => addr = Some(s.to_owned()),
            _ => usage(),
        }
    }
    match (addr, pid) {
        (Some(addr), Some(pid)) => Args {
            addr,
            pid,
            conns,
            settle,
        },
        _ => usage(),
    }
}

/// `VmRSS` of a process, in KiB.
fn vm_rss_kib(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("cannot read /proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS line")
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = parse_args();
    let server_pid = args.pid.to_string();
    let server_before = vm_rss_kib(&server_pid);
    let client_before = vm_rss_kib("self");

    let addr = args.addr.as_str();
    let opened: Vec<Connection> = stream::iter(0..args.conns)
        .map(|i| async move {
            let conn = Connection::connect(addr)
                .await
                .unwrap_or_else(|e| panic!("connection {i}: cannot connect to {addr}: {e}"));
            let r = conn
                .call(Sum { a: i as i64, b: 1 })
                .await
                .unwrap_or_else(|e| panic!("connection {i}: Sum failed: {e}"));
            assert_eq!(r.total, i as i64 + 1, "wrong answer");
            conn
        })
        .buffer_unordered(64)
        .collect()
        .await;

    tokio::time::sleep(args.settle).await;
    let server_after = vm_rss_kib(&server_pid);
    let client_after = vm_rss_kib("self");
    let n = opened.len();
    let per = |before: u64, after: u64| (after as f64 - before as f64) / n as f64;
    println!(
        "client: {n} connections, {client_before} KiB -> {client_after} KiB, {:.1} KiB per idle connection",
        per(client_before, client_after)
    );
    println!(
        "server: {n} connections, {server_before} KiB -> {server_after} KiB, {:.1} KiB per idle connection",
        per(server_before, server_after)
    );
    for c in &opened {
        c.close().await;
    }
}
