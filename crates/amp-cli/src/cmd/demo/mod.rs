//! `amp demo`: the demo server (`amp serve`'s) and a client in one
//! process, narrating each step with what went on the wire and how long
//! it took.

mod wiretap;

use amp::tls::TlsOptions;
use amp::{AmpBox, CallError, Connection, Router};
use std::fmt;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::demo_commands::{self, Divide, DivideError, Sum, Switch, ECHO};
use crate::exit::{Cause, CliError, CliResult};
use wiretap::{Item, Reader, Recording, Tap};

/// How long the whole tour may take before it is called failed.
const LIMIT: Duration = Duration::from_secs(20);

/// `amp demo`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Starts `amp serve`'s demo server on 127.0.0.1 (any free port), connects a
client to it and walks through Sum, Divide (a declared error), Echo,
StartTLS and Switch (AMP handing the connection over to a byte echo),
printing every box sent and received and each step's time.

Examples:
  amp demo
  cargo run --release -p amp-cli -- demo"
)]
pub struct Args {}

/// Runs `amp demo`.
pub async fn run() -> CliResult {
    match tokio::time::timeout(LIMIT, tour()).await {
        Ok(r) => r,
        Err(_) => Err(failed(format!("the demo did not finish within {LIMIT:?}"))),
    }
}

async fn tour() -> CliResult {
    let begun = Instant::now();
    // A throwaway certificate made here, so the client can pin it.
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
        .map_err(|e| failed(Cause::new("cannot make a certificate", e)))?;
    let (cert, key) = (made.cert.pem(), made.key_pair.serialize_pem());
    let server_tls = TlsOptions::new()
        .certificate_pem(cert.as_bytes(), key.as_bytes())
        .map_err(|e| failed(Cause::new("cannot use the certificate", e)))?;
    let (router, counters) = demo_commands::router(server_tls);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| failed(Cause::new("cannot listen on 127.0.0.1", e)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| failed(Cause::new("no local address", e)))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        amp::Server::new(router)
            .grace_period(Duration::from_secs(1))
            .serve_until(listener, async move {
                let _ = stopped.await;
            }),
    );
    println!("amp demo: an AMP server and client in one process, over TCP {addr}");
    println!("(→ client to server, ← server to client; boxes as {{key: value}})");

    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| failed(Cause::new("cannot connect to the demo server", e)))?;
    let _ = stream.set_nodelay(true);
    let (tap, recording) = Tap::new(stream);
    let conn = Connection::spawn(tap, Router::new());
    let mut show = Narrator::new(recording);

    show.step("Sum(a=13, b=81): Twisted's documented example command");
    let t = Instant::now();
    let total = conn
        .call(Sum { a: 13, b: 81 })
        .await
        .map_err(|e| failed(Cause::new("Sum failed", e)))?;
    show.wire(usize::MAX);
    show.outcome(format_args!("total = {}", total.total), t);

    show.step("Divide(numerator=1234, denominator=0): a declared error");
    let t = Instant::now();
    match conn
        .call(Divide {
            numerator: 1234,
            denominator: 0,
        })
        .await
    {
        Err(CallError::Remote(DivideError::ZeroDivision)) => {
            show.wire(usize::MAX);
            show.outcome(
                "error ZERO_DIVISION, as Twisted raises ZeroDivisionError; the connection goes on",
                t,
            );
        }
        other => return Err(failed(format!("Divide by zero answered {other:?}"))),
    }

    show.step("Echo(bytes, text, empty): a raw route answers any arguments back");
    let mut args = AmpBox::new();
    args.insert("bytes", &b"\x00\xff binary"[..]);
    args.insert("text", "h\u{e9}llo".to_owned());
    args.insert("empty", "");
    let t = Instant::now();
    let echoed = conn
        .call_raw(ECHO, args.clone())
        .await
        .map_err(|e| failed(Cause::new("Echo failed", e)))?;
    if echoed != args {
        return Err(failed("Echo answered other arguments than it was sent"));
    }
    show.wire(usize::MAX);
    show.outcome("the same three arguments came back", t);

    show.step("StartTLS: the connection upgrades to TLS (rustls)");
    println!("   The server presents a throwaway self-signed certificate made for this demo;");
    println!("   the client trusts exactly that certificate (pinned, as `--ca cert.pem` does),");
    println!("   not any certificate (`--insecure`).");
    let client_tls = TlsOptions::new()
        .authorities_pem(cert.as_bytes())
        .map_err(|e| failed(Cause::new("cannot pin the certificate", e)))?;
    let t = Instant::now();
    conn.start_tls(client_tls)
        .await
        .map_err(|e| failed(Cause::new("StartTLS failed", e)))?;
    show.wire(1);
    show.start_tls();
    println!("   (TLS 1.3 encrypts the handshake past the hellos: hence application_data)");
    show.outcome(
        "TLS is up: from here on the wire carries only TLS records",
        t,
    );

    show.step("Sum(a=40, b=2) over TLS");
    let t = Instant::now();
    let total = conn
        .call(Sum { a: 40, b: 2 })
        .await
        .map_err(|e| failed(Cause::new("Sum over TLS failed", e)))?;
    show.wire(0);
    show.outcome(
        format_args!("total = {} (the boxes are inside the records)", total.total),
        t,
    );

    show.step("Switch(): AMP hands the connection over to a byte echo (still in TLS)");
    let t = Instant::now();
    let mut raw = conn
        .switch(Switch)
        .await
        .map_err(|e| failed(Cause::new("Switch failed", e)))?;
    show.wire(0);
    show.outcome("switched: no more AMP boxes on this connection", t);

    let payload = b"raw bytes, no AMP framing: \x00\x01\x02\n";
    show.step(&format!(
        "a round trip of raw bytes: {}",
        amp::display_bytes(payload)
    ));
    let t = Instant::now();
    raw.write_all(payload)
        .await
        .and(raw.shutdown().await)
        .map_err(|e| failed(Cause::new("cannot write to the switched stream", e)))?;
    let mut back = Vec::new();
    (&mut raw)
        .take(64 * 1024)
        .read_to_end(&mut back)
        .await
        .map_err(|e| failed(Cause::new("cannot read the echo", e)))?;
    if back != payload {
        return Err(failed(format!(
            "the echo sent back {}",
            amp::display_bytes(&back)
        )));
    }
    show.wire(0);
    show.outcome(
        "echoed back; we shut down our side, the server finished and shut down its side",
        t,
    );
    drop(raw);
    drop(conn);

    let _ = stop.send(());
    let report = server
        .await
        .map_err(|e| failed(Cause::new("the demo server failed", e)))?;
    println!(
        "\nDone in {:.1} ms. The server saw {counters}; {} connection(s) open at its shutdown.",
        ms(begun.elapsed()),
        report.open
    );
    println!("Next: `amp serve 127.0.0.1:1234 -v`, and from another shell call it (`amp bench 127.0.0.1:1234 Sum a=1 b=2`).");
    Ok(())
}

/// Prints the steps and, for each, what the wire carried since the last.
struct Narrator {
    recording: Recording,
    sent: Reader,
    received: Reader,
    n: usize,
}

impl Narrator {
    fn new(recording: Recording) -> Self {
        Narrator {
            recording,
            sent: Reader::new(),
            received: Reader::new(),
            n: 0,
        }
    }

    fn step(&mut self, title: &str) {
        self.n += 1;
        println!("\n{}. {title}", self.n);
    }

    /// Prints the boxes (at most `max_boxes` each way) or TLS records
    /// recorded since the last call.
    fn wire(&mut self, max_boxes: usize) {
        let (sent, received) = self.recording.take();
        for (arrow, items) in [
            ("→", self.sent.read(&sent, max_boxes)),
            ("←", self.received.read(&received, max_boxes)),
        ] {
            print_items(arrow, &items);
        }
    }

    /// The rest is TLS: prints it (the handshake) as records.
    fn start_tls(&mut self) {
        self.sent.start_tls();
        self.received.start_tls();
        self.wire(0);
    }

    fn outcome(&self, what: impl fmt::Display, since: Instant) {
        println!("   ⇒ {what}  ({:.2} ms)", ms(since.elapsed()));
    }
}

/// Boxes one per line; TLS records summed by type on one line.
fn print_items(arrow: &str, items: &[Item]) {
    let mut records: Vec<(u8, usize, usize)> = Vec::new();
    for item in items {
        match item {
            Item::Box(b) => println!(
                "   {arrow} {}  ({} bytes)",
                wiretap::show_box(b),
                b.encoded_len()
            ),
            Item::Raw(bytes) => println!("   {arrow} {}", amp::display_bytes(bytes)),
            Item::Tls(kind, len) => match records.iter_mut().find(|r| r.0 == *kind) {
                Some(r) => {
                    r.1 += 1;
                    r.2 += len;
                }
                None => records.push((*kind, 1, *len)),
            },
        }
    }
    if !records.is_empty() {
        let parts: Vec<String> = records
            .iter()
            .map(|(kind, n, len)| format!("{n} {} ({len} bytes)", wiretap::record_name(*kind)))
            .collect();
        println!("   {arrow} TLS records: {}", parts.join(", "));
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A step of the tour went wrong (exit code 3: our own server and client
/// could not talk).
fn failed(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> CliError {
    CliError::connection(e)
}
