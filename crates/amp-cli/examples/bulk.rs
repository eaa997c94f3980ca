//! A bulk-transfer source and sink for bench/cli_gateway.sh: how many
//! bytes per second go through `amp gateway` (and `amp tunnel`) compared
//! with plain loopback TCP.
//!
//! ```text
//! bulk sink LISTEN
//!     Prints `listening on ADDR`; for each connection reads until end of
//!     file, then answers with the count (8 bytes, big-endian) and closes.
//! bulk send ADDR BYTES [--gateway SERVICE [--starttls]]
//!     Connects (with --gateway: speaks AMP to an `amp gateway` first,
//!     StartTLS if asked, then Connect(SERVICE)), sends BYTES, shuts its
//!     write side, waits for the sink's count, and prints
//!     `BYTES SECONDS MiB/s CPU` (time from the first byte sent to the count
//!     received; connecting and the AMP dance are not counted; CPU: the
//!     sender's user + system clock ticks meanwhile, from /proc).
//! bulk relay LISTEN UPSTREAM
//!     A plain user-space TCP relay (tokio's `copy_bidirectional`, 256 KiB
//!     buffers), the reference for what a proxy costs without AMP and
//!     without splice(2).
//! ```

use std::time::Instant;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The gateway's switch command (see `amp gateway --help`).
#[derive(amp::Command)]
struct Connect {
    service: String,
}

const CHUNK: usize = 256 * 1024;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["sink", listen] => sink(listen).await,
        ["relay", listen, upstream] => relay(listen, upstream).await,
        ["send", addr, bytes, ref rest @ ..] => {
            let bytes: u64 = bytes.parse()?;
            let gateway = match rest {
                [] => None,
                ["--gateway", service] => Some((*service, false)),
                ["--gateway", service, "--starttls"] => Some((*service, true)),
                _ => return Err(usage()),
            };
            send(addr, bytes, gateway).await
        }
        _ => Err(usage()),
    }
}

fn usage() -> Error {
    "usage: bulk sink LISTEN | bulk relay LISTEN UPSTREAM \
     | bulk send ADDR BYTES [--gateway SERVICE [--starttls]]"
        .into()
}

async fn sink(listen: &str) -> Result<(), Error> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        let (mut s, _) = listener.accept().await?;
        tokio::spawn(async move {
            let mut buf = vec![0u8; CHUNK];
            let mut n = 0u64;
            loop {
                match s.read(&mut buf).await {
                    Ok(0) => break,
                    Ok(k) => n += k as u64,
                    Err(e) => return eprintln!("sink: {e}"),
                }
            }
            let _ = s.write_all(&n.to_be_bytes()).await;
            let _ = s.shutdown().await;
        });
    }
}

async fn relay(listen: &str, upstream: &str) -> Result<(), Error> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        let (mut s, _) = listener.accept().await?;
        s.set_nodelay(true)?;
        let mut up = tokio::net::TcpStream::connect(upstream).await?;
        up.set_nodelay(true)?;
        tokio::spawn(async move {
            let r = tokio::io::copy_bidirectional_with_sizes(&mut s, &mut up, CHUNK, CHUNK).await;
            if let Err(e) = r {
                eprintln!("relay: {e}");
            }
        });
    }
}

async fn send(addr: &str, bytes: u64, gateway: Option<(&str, bool)>) -> Result<(), Error> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    match gateway {
        None => blast(tcp, bytes).await,
        Some((service, starttls)) => {
            let conn = amp::Connection::spawn(tcp, amp::Router::new());
            if starttls {
                // The gateway's throwaway certificate, taken as it is.
                conn.start_tls(amp::tls::TlsOptions::new()).await?;
            }
            let service = service.to_owned();
            let stream = conn.switch(Connect { service }).await?;
            blast(stream, bytes).await
        }
    }
}

/// Sends `bytes`, then checks the sink's count and prints the rate.
async fn blast<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, bytes: u64) -> Result<(), Error> {
    let buf = vec![0x5a_u8; CHUNK];
    let cpu = cpu_ticks();
    let start = Instant::now();
    let mut left = bytes;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        s.write_all(&buf[..n]).await?;
        left -= n as u64;
    }
    s.shutdown().await?;
    let mut count = [0u8; 8];
    s.read_exact(&mut count).await?;
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_ticks() - cpu;
    let got = u64::from_be_bytes(count);
    if got != bytes {
        return Err(format!("the sink counted {got} bytes, {bytes} were sent").into());
    }
    let rate = bytes as f64 / secs / (1 << 20) as f64;
    println!("{bytes} {secs:.4} {rate:.1} {cpu}");
    Ok(())
}

/// This process's user + system CPU time in clock ticks (0 where /proc
/// cannot tell).
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // After the command name (in parentheses, maybe with spaces), utime
    // and stime are the 12th and 13th fields.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}
