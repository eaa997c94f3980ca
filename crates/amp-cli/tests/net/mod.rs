//! What the gateway, tunnel and tap tests share: the gateway protocol on
//! the Rust side, TCP services to carry (echo), a throwaway PKI, and ways
//! to drive and watch the processes.
#![allow(dead_code)]

#[path = "../../../amp/tests/common/certs.rs"]
mod certs;

use crate::common::{script, Proc};
pub use certs::Pki;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// `ListServices`, as the gateway documents it.
#[derive(amp::Command)]
#[amp(response = Services, error = GatewayError)]
pub struct ListServices;

#[derive(amp::Record, Debug)]
pub struct Services {
    pub services: Vec<String>,
}

/// `Connect(service)`, a protocol switch.
#[derive(amp::Command)]
#[amp(error = GatewayError)]
pub struct Connect {
    pub service: String,
}

#[derive(amp::AmpError, Debug)]
pub enum GatewayError {
    #[amp(code = "UNKNOWN_SERVICE")]
    UnknownService(String),
    #[amp(code = "CONNECT_FAILED")]
    ConnectFailed(String),
    #[amp(code = "TLS_REQUIRED")]
    TlsRequired(String),
}

/// Sends `Connect(service)` on `conn`: the switched stream, or the
/// gateway's refusal.
pub async fn connect_service(
    conn: &amp::Connection,
    service: &str,
) -> Result<amp::Switched, amp::CallError<GatewayError>> {
    conn.switch(Connect {
        service: service.into(),
    })
    .await
}

/// A TCP echo service on a free port: echoes every byte, and once the
/// client shuts its write side, shuts its own.
pub fn echo_service() -> String {
    service(false)
}

/// A service that answers only after end of file: everything it read,
/// then end of file (what a half-closing proxy must carry whole).
pub fn answer_after_eof_service() -> String {
    service(true)
}

pub fn service(after_eof: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            std::thread::spawn(move || {
                if after_eof {
                    let mut all = Vec::new();
                    if conn.read_to_end(&mut all).is_err() || conn.write_all(&all).is_err() {
                        return;
                    }
                }
                let mut buf = [0u8; 16384];
                loop {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if conn.write_all(&buf[..n]).is_err() {
                                return;
                            }
                        }
                    }
                }
                let _ = conn.shutdown(Shutdown::Write);
            });
        }
    });
    addr
}

/// An address where nothing listens (bound, then released).
pub fn closed_port() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

/// Connects to `addr`, giving reads at most 10 s.
pub fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Sends `data` through `addr`, shuts the write side, and returns every
/// byte read until end of file.
pub fn round_trip(addr: &str, data: &[u8]) -> Vec<u8> {
    exchange(connect(addr), data)
}

/// Writes `data` on `s` (from another thread: the answer flows while we
/// write), shuts the write side, and returns every byte read until end of
/// file.
pub fn exchange(mut s: TcpStream, data: &[u8]) -> Vec<u8> {
    let mut w = s.try_clone().unwrap();
    let data = data.to_vec();
    let writer = std::thread::spawn(move || {
        w.write_all(&data).unwrap();
        w.shutdown(Shutdown::Write).unwrap();
    });
    let mut back = Vec::new();
    s.read_to_end(&mut back).expect("echo, then end of file");
    writer.join().unwrap();
    back
}

/// Writes `data` on a switched stream to an echo service, shuts the write
/// side, and checks that exactly `data` comes back before end of file.
pub async fn echoes<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, data: &[u8]) {
    stream.write_all(data).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut back = Vec::new();
    stream.read_to_end(&mut back).await.unwrap();
    assert_eq!(back, data);
}

/// Connects to `addr` and expects it closed without a byte (end of file,
/// or a reset if the closing side had not read what was sent).
pub fn refused(addr: &str) {
    let mut s = connect(addr);
    let _ = s.write_all(b"anyone?");
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("want the connection closed, got {other:?}"),
    }
}

/// Some bytes that are not all the same.
pub fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

/// The throwaway PKI of the amp crate's TLS tests: a CA, a server
/// certificate it signed for 127.0.0.1 and localhost, and a client
/// certificate it signed, as PEM files.
pub fn pki() -> Pki {
    Pki::generate()
}

impl Pki {
    /// The gateway's `--cert`/`--key` flags (its server certificate).
    pub fn server_flags(&self) -> [&str; 4] {
        ["--cert", s(&self.server_cert), "--key", s(&self.server_key)]
    }

    /// A client's `--starttls --ca` flags, trusting this CA.
    pub fn starttls_flags(&self) -> [&str; 3] {
        ["--starttls", "--ca", s(&self.ca)]
    }
}

pub fn s(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

/// Starts `amp gateway` on a free TCP port with a `--service NAME=ADDR`
/// for each of `services`, then `extra` flags.
pub fn gateway(services: &[(&str, &str)], extra: &[&str]) -> Proc {
    let services: Vec<String> = services
        .iter()
        .map(|(name, addr)| format!("{name}={addr}"))
        .collect();
    let mut args = vec!["gateway", "127.0.0.1:0"];
    for service in &services {
        args.extend(["--service", service.as_str()]);
    }
    args.extend(extra);
    Proc::amp(&args)
}

/// Starts `amp tunnel` on a free TCP port to `service` through the gateway
/// at `gateway`, with `extra` flags.
pub fn tunnel(gateway: &str, service: &str, extra: &[&str]) -> Proc {
    Proc::amp(&[&["tunnel", "127.0.0.1:0", gateway, service][..], extra].concat())
}

/// Waits (at most 10 s) until what `p` wrote to stderr contains `what`.
pub fn wait_stderr(p: &Proc, what: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let err = p.stderr();
        if err.contains(what) {
            return err;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {what:?} on stderr:\n{err}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Asserts that `text` contains each of `parts`; a missing one is named,
/// with the whole text.
pub fn assert_contains(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "no {part:?} in:\n{text}");
    }
}

/// `line` without its terminal colour codes.
pub fn plain(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            chars.by_ref().find(|c| c.is_ascii_alphabetic());
        } else {
            out.push(c);
        }
    }
    out
}

/// Runs a Twisted client of `cli_net_peer.py` to its summary line; returns
/// whether it exited 0 and what it printed.
pub fn checks(args: &[&str]) -> (bool, String) {
    let mut client = Proc::python(&script("cli_net_peer.py"), args);
    while !client.wait_for("").contains(" passed, ") {}
    let out = client.stdout();
    (client.finish(), out)
}

/// Waits for a line of `p`'s stdout containing `what`; returns it.
pub fn line_with(p: &mut Proc, what: &str) -> String {
    loop {
        let line = p.wait_for("");
        if line.contains(what) {
            return line;
        }
    }
}

/// The port of `host:port`.
pub fn port(addr: &str) -> String {
    addr.rsplit(':').next().unwrap_or(addr).to_owned()
}
