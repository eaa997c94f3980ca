//! The raw-socket floor for `math_client --bench`: a TCP ping-pong that moves
//! exactly the bytes of one AMP `Sum` call and its answer, with no AMP
//! machinery at all.
//!
//! The request is the box our client writes for `Sum { a: 50000, b: 1 }`
//! with tag `186a0` (`_ask`, `_command`, `a`, `b`, sorted; 46 bytes) and the
//! answer is the box our server writes back (`_answer`, `total`; 32 bytes).
//! Both are built once with [`amp::AmpBox`] and then only copied: the server
//! reads whatever arrives, counts whole requests by length and writes that
//! many answers; the client keeps `--depth` requests in flight and counts
//! answer bytes. Nothing is parsed.
//!
//! Both sides batch: the server answers all the whole requests of one read
//! with one write, and the client refills what one read completed with one
//! write, so at depth 100 this is the pipelined floor (few syscalls per
//! call), not a ping-pong per call.
//!
//! The runtime flavours match the AMP examples so the comparison is fair:
//! the server runs on tokio's default multi-thread runtime (like
//! `math_server`), the client on a `current_thread` runtime (like
//! `math_client`), both sockets with `TCP_NODELAY`.
//!
//! `client --connections K` is the floor for `amp bench --connections K`:
//! the `--depth` requests in flight (and the calls) are spread over K
//! connections, each its own task, on tokio's multi-thread runtime (as the
//! `amp` binary runs), so 1,000 in flight over 1 and over 100 connections
//! show what a hundred connections cost with no AMP at all
//! (`bench/amp_bench_ab.sh` prints both).
//!
//! `blocking-server` and `blocking-client` are the same exchange with no
//! runtime at all: `std::net` sockets, blocking `read`/`write`, one thread
//! per side (the server runs one thread per connection), `TCP_NODELAY`.
//! At depth 1 that is the cheapest possible round trip: one `write` and one
//! `read` a side, no `epoll`, the reader asleep in `read` itself.
//!
//! ```text
//! cargo run --release --example raw_pingpong server [ADDR]          # default 127.0.0.1:0
//! cargo run --release --example raw_pingpong client ADDR [--calls N] [--depth D] [--connections K]
//! cargo run --release --example raw_pingpong blocking-server [ADDR]
//! cargo run --release --example raw_pingpong blocking-client ADDR [--calls N] [--depth D]
//! ```
//!
//! The server prints `listening on ADDR`; the client prints one line ending
//! in `round trips/s`.

use amp::AmpBox;
use std::io::{Read, Write};
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The wire bytes of `Sum(a=50000, b=1)` with tag `186a0`, as
/// `Connection::call` writes them.
fn request() -> Vec<u8> {
    let mut b = AmpBox::new();
    b.insert("_ask", "186a0");
    b.insert("_command", "Sum");
    b.insert("a", "50000");
    b.insert("b", "1");
    b.to_bytes().expect("valid box").to_vec()
}

/// The wire bytes of the answer to [`request`], as our server writes them.
fn answer() -> Vec<u8> {
    let mut b = AmpBox::new();
    b.insert("_answer", "186a0");
    b.insert("total", "50001");
    b.to_bytes().expect("valid box").to_vec()
}

fn usage() -> ! {
    eprintln!(
        "usage: raw_pingpong server [ADDR]\n       raw_pingpong client ADDR [--calls N] [--depth D] [--connections K]\n       \
         raw_pingpong blocking-server [ADDR]\n       raw_pingpong blocking-client ADDR [--calls N] [--depth D]"
    );
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map(String::as_str).unwrap_or_else(|| usage());
    let result = match mode {
        "server" | "blocking-server" => {
            let addr = args.get(1).cloned().unwrap_or_else(|| "127.0.0.1:0".into());
            if mode == "blocking-server" {
                blocking_server(&addr)
            } else {
                // The default runtime, as `#[tokio::main]` in math_server.
                tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(server(addr))
            }
        }
        "client" | "blocking-client" => {
            let Some(addr) = args.get(1).cloned() else {
                usage()
            };
            let mut calls = 100_000u64;
            let mut depth = 1usize;
            let mut connections = None;
            let mut it = args[2..].iter();
            while let Some(a) = it.next() {
                let mut num = || -> u64 {
                    it.next()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or_else(|| usage())
                };
                match a.as_str() {
                    "--calls" => calls = num().max(1),
                    "--depth" => depth = num().max(1) as usize,
                    "--connections" if mode == "client" => {
                        connections = Some(num().max(1) as usize)
                    }
                    _ => usage(),
                }
            }
            if mode == "blocking-client" {
                blocking_client(&addr, calls, depth)
            } else if let Some(k) = connections {
                // As the `amp` binary (`amp bench`).
                tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(spread(addr, calls, depth, k))
            } else {
                // As `#[tokio::main(flavor = "current_thread")]` in math_client.
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(client(addr, calls, depth))
            }
        }
        _ => usage(),
    };
    if let Err(e) = result {
        eprintln!("{mode}: {e}");
        std::process::exit(1);
    }
}

async fn server(addr: String) -> std::io::Result<()> {
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    let req_len = request().len();
    let answer = answer();
    loop {
        let (mut sock, _) = listener.accept().await?;
        sock.set_nodelay(true)?;
        let answer = answer.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            let mut out = Vec::with_capacity(64 * 1024);
            let mut partial = 0usize; // bytes of a request not yet complete
            loop {
                let n = match sock.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let whole = (partial + n) / req_len;
                partial = (partial + n) % req_len;
                out.clear();
                for _ in 0..whole {
                    out.extend_from_slice(&answer);
                }
                if !out.is_empty() && sock.write_all(&out).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// `client` over `k` connections at once: the calls and the depth split
/// evenly (as `amp bench --connections` splits them), one task each.
async fn spread(addr: String, calls: u64, depth: usize, k: usize) -> std::io::Result<()> {
    let k = k.min(depth).max(1);
    let mut socks = Vec::with_capacity(k);
    for _ in 0..k {
        // All connected before the clock starts.
        socks.push(TcpStream::connect(&addr).await?);
    }
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(k);
    for (i, sock) in socks.into_iter().enumerate() {
        let share = |total: u64| total / k as u64 + u64::from((i as u64) < total % k as u64);
        let (calls, depth) = (share(calls), share(depth as u64) as usize);
        tasks.push(tokio::spawn(exchange(sock, calls, depth)));
    }
    for t in tasks {
        t.await.map_err(std::io::Error::other)??;
    }
    let (req_len, ans_len) = (request().len(), answer().len() as u64);
    report(calls, depth as u64, req_len, ans_len, start);
    Ok(())
}

async fn client(addr: String, calls: u64, depth: usize) -> std::io::Result<()> {
    let sock = TcpStream::connect(&addr).await?;
    let start = Instant::now();
    let depth = exchange(sock, calls, depth).await?;
    report(calls, depth, request().len(), answer().len() as u64, start);
    Ok(())
}

/// Keep `depth` requests in flight on `sock` until `calls` are answered;
/// returns the depth used.
async fn exchange(mut sock: TcpStream, calls: u64, depth: usize) -> std::io::Result<u64> {
    if calls == 0 {
        return Ok(0);
    }
    sock.set_nodelay(true)?;
    let req = request();
    let ans_len = answer().len() as u64;
    let depth = (depth as u64).min(calls);
    let mut burst = Vec::with_capacity(req.len() * depth as usize);
    for _ in 0..depth {
        burst.extend_from_slice(&req);
    }
    let mut buf = vec![0u8; 64 * 1024];
    sock.write_all(&burst).await?;
    let mut sent = depth;
    let mut got_bytes = 0u64;
    let mut done = 0u64;
    while done < calls {
        let n = sock.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "server closed the connection",
            ));
        }
        got_bytes += n as u64;
        let now_done = got_bytes / ans_len;
        let fresh = now_done - done;
        done = now_done;
        let more = fresh.min(calls - sent) as usize;
        if more > 0 {
            sock.write_all(&burst[..more * req.len()]).await?;
            sent += more as u64;
        }
    }
    Ok(depth)
}

/// The client's result line (`bench/*.sh` parse its `round trips/s`).
fn report(calls: u64, depth: u64, req_len: usize, ans_len: u64, start: Instant) {
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{calls} round trips, depth {depth}, {req_len} + {ans_len} bytes each, {secs:.3} s: {:.0} round trips/s",
        calls as f64 / secs
    );
}

/// `server` without a runtime: one blocking thread per connection, the
/// same accounting (whole requests of a read answered with one write).
fn blocking_server(addr: &str) -> std::io::Result<()> {
    let listener = std::net::TcpListener::bind(addr)?;
    println!("listening on {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    let req_len = request().len();
    let answer = answer();
    loop {
        let (mut sock, _) = listener.accept()?;
        sock.set_nodelay(true)?;
        let answer = answer.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            let mut out = Vec::with_capacity(64 * 1024);
            let mut partial = 0usize;
            loop {
                let n = match sock.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let whole = (partial + n) / req_len;
                partial = (partial + n) % req_len;
                out.clear();
                for _ in 0..whole {
                    out.extend_from_slice(&answer);
                }
                if !out.is_empty() && sock.write_all(&out).is_err() {
                    return;
                }
            }
        });
    }
}

/// `client` without a runtime: blocking `write` of what a read completed,
/// blocking `read` of the answers, on the main thread.
fn blocking_client(addr: &str, calls: u64, depth: usize) -> std::io::Result<()> {
    let mut sock = std::net::TcpStream::connect(addr)?;
    sock.set_nodelay(true)?;
    let req = request();
    let ans_len = answer().len() as u64;
    let depth = (depth as u64).min(calls);
    let burst = req.repeat(depth as usize);
    let mut buf = vec![0u8; 64 * 1024];
    let start = Instant::now();
    sock.write_all(&burst)?;
    let mut sent = depth;
    let mut got_bytes = 0u64;
    let mut done = 0u64;
    while done < calls {
        let n = sock.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "server closed the connection",
            ));
        }
        got_bytes += n as u64;
        let now_done = got_bytes / ans_len;
        let fresh = now_done - done;
        done = now_done;
        let more = fresh.min(calls - sent) as usize;
        if more > 0 {
            sock.write_all(&burst[..more * req.len()])?;
            sent += more as u64;
        }
    }
    report(calls, depth, req.len(), ans_len, start);
    Ok(())
}
