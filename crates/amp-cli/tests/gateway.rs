//! `amp gateway` and `amp tunnel` against the real binary: bytes carried
//! both ways to a TCP echo service (plain and with StartTLS), half-close,
//! the gateway's errors on a connection that stays usable, and Twisted
//! peers through both.
mod common;

use amp::tls::TlsOptions;
use amp::{CallError, Connection};
use common::{amp, script, Proc};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `ListServices`, as the gateway documents it.
#[derive(amp::Command)]
#[amp(response = Services, error = GatewayError)]
struct ListServices;

#[derive(amp::Record, Debug)]
struct Services {
    services: Vec<String>,
}

/// `Connect(service)`, a protocol switch.
#[derive(amp::Command)]
#[amp(error = GatewayError)]
struct Connect {
    service: String,
}

#[derive(amp::AmpError, Debug)]
enum GatewayError {
    #[amp(code = "UNKNOWN_SERVICE")]
    UnknownService(String),
    #[amp(code = "CONNECT_FAILED")]
    ConnectFailed(String),
    #[amp(code = "TLS_REQUIRED")]
    TlsRequired(String),
}

/// A TCP echo service on a free port: echoes every byte, and once the
/// client shuts its write side, shuts its own.
fn echo_service() -> String {
    service(false)
}

/// A service that answers only after end of file: everything it read,
/// then end of file (what a half-closing proxy must carry whole).
fn answer_after_eof_service() -> String {
    service(true)
}

fn service(after_eof: bool) -> String {
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
fn closed_port() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

/// Sends `data` through `addr`, shuts the write side, and returns every
/// byte read until end of file.
fn round_trip(addr: &str, data: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
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

/// Connects to `addr` and expects it closed without a byte (end of file,
/// or a reset if the closing side had not read what was sent).
fn refused(addr: &str) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(b"anyone?");
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("want the connection closed, got {other:?}"),
    }
}

/// Some bytes that are not all the same.
fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

/// A CA and a certificate it signed for 127.0.0.1, as PEM files.
struct Pki {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name = name("amp gateway test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut leaf =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    leaf.distinguished_name = name("amp gateway");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf = leaf.signed_by(&key, &ca, &ca_key).unwrap();
    let write = |name: &str, pem: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, pem).unwrap();
        p
    };
    Pki {
        ca: write("ca.pem", ca.pem()),
        cert: write("gateway.pem", leaf.pem()),
        key: write("gateway.key", key.serialize_pem()),
        _dir: dir,
    }
}

fn s(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

/// Waits (at most 10 s) until what `p` wrote to stderr contains `what`.
fn wait_stderr(p: &Proc, what: &str) -> String {
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

/// `line` without its terminal colour codes.
fn plain(line: &str) -> String {
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
fn checks(args: &[&str]) -> (bool, String) {
    let mut client = Proc::python(&script("cli_net_peer.py"), args);
    while !client.wait_for("").contains(" passed, ") {}
    let out = client.stdout();
    (client.finish(), out)
}

#[test]
fn plain_tunnel_carries_bytes_both_ways_with_half_close() {
    let echo = echo_service();
    let later = answer_after_eof_service();
    let mut gw = Proc::amp(&[
        "gateway",
        "127.0.0.1:0",
        "--service",
        &format!("echo={echo}"),
        "--service",
        &format!("later={later}"),
    ]);
    let gw_addr = gw.listening();
    let mut tunnel = Proc::amp(&["tunnel", "127.0.0.1:0", &gw_addr, "echo"]);
    let local = tunnel.listening();
    // More than every buffer on the way: the echo flows while we write.
    let data = payload(3 << 20);
    assert!(
        round_trip(&local, &data) == data,
        "all bytes echoed, then EOF"
    );
    // Every byte of the answer comes after our end of file.
    let mut half = Proc::amp(&["tunnel", "127.0.0.1:0", &gw_addr, "later"]);
    let data = payload(1 << 20);
    assert!(
        round_trip(&half.listening(), &data) == data,
        "answered after EOF"
    );
    // A second connection through the same tunnel.
    assert_eq!(round_trip(&local, b"again"), b"again");
    // Shut the write side before sending anything: EOF comes back.
    assert_eq!(round_trip(&local, b""), b"");
}

#[test]
fn starttls_tunnel_verifies_the_gateway() {
    let pki = pki();
    let echo = echo_service();
    let mut gw = Proc::amp(&[
        "gateway",
        "127.0.0.1:0",
        "--service",
        &format!("echo={echo}"),
        "--cert",
        s(&pki.cert),
        "--key",
        s(&pki.key),
        "--require-tls",
    ]);
    let gw_addr = gw.listening();
    let mut tunnel = Proc::amp(&[
        "-v",
        "tunnel",
        "127.0.0.1:0",
        &gw_addr,
        "echo",
        "--starttls",
        "--ca",
        s(&pki.ca),
    ]);
    let local = tunnel.listening();
    let data = payload(1 << 20);
    assert!(round_trip(&local, &data) == data);
    // Without StartTLS the gateway says TLS_REQUIRED: the tunnel closes that
    // connection and keeps serving.
    let mut clear = Proc::amp(&["tunnel", "127.0.0.1:0", &gw_addr, "echo"]);
    let clear_local = clear.listening();
    refused(&clear_local);
    refused(&clear_local); // still serving
    wait_stderr(&clear, "TLS_REQUIRED");
    assert!(round_trip(&local, b"after") == b"after");
}

#[test]
fn unknown_service_is_logged_and_the_tunnel_goes_on() {
    let echo = echo_service();
    let mut gw = Proc::amp(&[
        "gateway",
        "127.0.0.1:0",
        "--service",
        &format!("echo={echo}"),
    ]);
    let gw_addr = gw.listening();
    let mut tunnel = Proc::amp(&["tunnel", "127.0.0.1:0", &gw_addr, "nope"]);
    let local = tunnel.listening();
    refused(&local);
    refused(&local); // still serving
    wait_stderr(&tunnel, "UNKNOWN_SERVICE");
}

#[tokio::test]
async fn errors_leave_the_connection_usable() {
    let echo = echo_service();
    let dead = closed_port();
    let mut gw = Proc::amp(&[
        "-v",
        "gateway",
        "127.0.0.1:0",
        "--service",
        &format!("echo={echo}"),
        "--service",
        &format!("dead={dead}"),
        "--connect-timeout",
        "5",
    ]);
    let addr = gw.listening();
    let conn = Connection::connect(addr.as_str()).await.unwrap();
    let list = conn.call(ListServices).await.unwrap();
    assert_eq!(list.services, ["dead", "echo"]);
    match conn
        .switch(Connect {
            service: "nope".into(),
        })
        .await
    {
        Err(CallError::Remote(GatewayError::UnknownService(why))) => assert!(why.contains("nope")),
        other => panic!("want UNKNOWN_SERVICE, got {other:?}"),
    }
    match conn
        .switch(Connect {
            service: "dead".into(),
        })
        .await
    {
        Err(CallError::Remote(GatewayError::ConnectFailed(why))) => {
            assert!(
                !why.contains(&dead),
                "the address stays in the gateway's log: {why}"
            )
        }
        other => panic!("want CONNECT_FAILED, got {other:?}"),
    }
    // The same connection, now switched to the echo service.
    let mut stream = conn
        .switch(Connect {
            service: "echo".into(),
        })
        .await
        .unwrap();
    stream.write_all(b"through the gateway").await.unwrap();
    stream.shutdown().await.unwrap();
    let mut back = Vec::new();
    stream.read_to_end(&mut back).await.unwrap();
    assert_eq!(back, b"through the gateway");
    drop(stream);
    // -v logs the Connect with the bytes each way.
    let err = wait_stderr(&gw, "Connect done");
    let line = plain(err.lines().find(|l| l.contains("Connect done")).unwrap());
    assert!(line.contains("service=echo"), "{line}");
    assert!(line.contains("bytes_up=19 bytes_down=19"), "{line}");
}

#[tokio::test]
async fn require_tls_refuses_until_starttls() {
    let echo = echo_service();
    let mut gw = Proc::amp(&[
        "gateway",
        "127.0.0.1:0",
        "--service",
        &format!("echo={echo}"),
        "--require-tls",
    ]);
    let addr = gw.listening();
    let conn = Connection::connect(addr.as_str()).await.unwrap();
    assert!(matches!(
        conn.call(ListServices).await,
        Err(CallError::Remote(GatewayError::TlsRequired(_)))
    ));
    assert!(matches!(
        conn.switch(Connect {
            service: "echo".into()
        })
        .await,
        Err(CallError::Remote(GatewayError::TlsRequired(_)))
    ));
    // No --cert: the gateway's throwaway certificate, taken as it is.
    conn.start_tls(TlsOptions::new()).await.unwrap();
    assert_eq!(conn.call(ListServices).await.unwrap().services, ["echo"]);
    let mut stream = conn
        .switch(Connect {
            service: "echo".into(),
        })
        .await
        .unwrap();
    assert!(
        stream.peer_certificates().is_some(),
        "still TLS after the switch"
    );
    stream.write_all(b"encrypted").await.unwrap();
    let mut back = [0u8; 9];
    stream.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"encrypted");
}

#[test]
fn usage_errors() {
    amp()
        .args(["gateway", "127.0.0.1:0", "--service", "a=127.0.0.1:1"])
        .args(["--service", "a=127.0.0.1:2"])
        .assert()
        .code(2);
    amp()
        .args(["gateway", "127.0.0.1:0", "--service", "a=nowhere"])
        .assert()
        .code(2);
    amp()
        .args(["gateway", "127.0.0.1:0", "--service", "a=127.0.0.1:1"])
        .args(["--cert", "/nonexistent.pem", "--key", "/nonexistent.key"])
        .assert()
        .code(2);
    amp()
        .args(["tunnel", "127.0.0.1:0", "127.0.0.1:1", "svc", "--starttls"])
        .assert()
        .code(2);
}

#[test]
fn twisted_sum_through_tunnel_and_gateway() {
    let pki = pki();
    let mut server = Proc::python(&script("cli_net_peer.py"), &["serve"]);
    let math = server.port();
    let mut gw = Proc::amp(&[
        "gateway",
        "127.0.0.1:0",
        "--service",
        &format!("math={math}"),
        "--cert",
        s(&pki.cert),
        "--key",
        s(&pki.key),
    ]);
    let gw_addr = gw.listening();
    let mut plain = Proc::amp(&["tunnel", "127.0.0.1:0", &gw_addr, "math"]);
    let mut tls = Proc::amp(&[
        "tunnel",
        "127.0.0.1:0",
        &gw_addr,
        "math",
        "--starttls",
        "--ca",
        s(&pki.ca),
    ]);
    for tunnel in [&mut plain, &mut tls] {
        let port = tunnel.listening().rsplit(':').next().unwrap().to_owned();
        let (ok, out) = checks(&["client", &port]);
        assert!(ok && out.contains("TOTAL 94"), "{out}");
    }
}

#[test]
fn twisted_client_does_starttls_then_connect() {
    let pki = pki();
    let mut server = Proc::python(&script("cli_net_peer.py"), &["serve"]);
    let math = server.port();
    let mut gw = Proc::amp(&[
        "gateway",
        "127.0.0.1:0",
        "--service",
        &format!("math={math}"),
        "--cert",
        s(&pki.cert),
        "--key",
        s(&pki.key),
        "--require-tls",
    ]);
    let port = gw.listening().rsplit(':').next().unwrap().to_owned();
    let (ok, out) = checks(&["gateway", &port, "math", "--ca", s(&pki.ca)]);
    assert!(
        ok && out.contains("TOTAL 94") && out.contains("0 failed"),
        "{out}"
    );
}
