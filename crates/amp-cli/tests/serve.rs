//! `amp serve` against a Rust client (the amp crate, typed commands defined
//! here) and a Twisted client, over TCP, TLS and a UNIX socket.
mod common;

use amp::tls::TlsOptions;
use amp::{AmpBox, AmpError, CallError, Command, Connection, Record};
use common::Proc;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Command)]
#[amp(response = Total)]
struct Sum {
    a: i64,
    b: i64,
}

#[derive(Record, Debug, PartialEq)]
struct Total {
    total: i64,
}

#[derive(Command)]
#[amp(response = Quotient, error = MathError)]
struct Divide {
    numerator: i64,
    denominator: i64,
}

#[derive(Record, Debug)]
struct Quotient {
    result: f64,
}

#[derive(AmpError, Debug, PartialEq)]
enum MathError {
    #[amp(code = "ZERO_DIVISION")]
    ZeroDivision,
}

#[derive(Command)]
struct Switch;

/// Fails the test instead of hanging.
async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("no hang")
}

/// `amp serve ADDR` on a free port; returns the process and the address.
fn serve(extra: &[&str]) -> (Proc, String) {
    let mut args = vec!["serve", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let mut p = Proc::amp(&args);
    let addr = p.listening();
    (p, addr)
}

/// Writes `payload`, shuts down our write side, and reads to the end.
async fn echo_half_close(mut raw: amp::Switched, payload: &[u8]) -> Vec<u8> {
    let (mut r, mut w) = tokio::io::split(&mut raw);
    let write = async {
        w.write_all(payload).await.expect("write");
        w.shutdown().await.expect("half-close");
    };
    let mut back = Vec::new();
    let read = r.read_to_end(&mut back);
    let ((), n) = tokio::join!(write, read);
    n.expect("read to the end");
    back
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sum_divide_echo_unhandled() {
    let (_server, addr) = serve(&[]);
    let conn = within(Connection::connect(addr.as_str())).await.unwrap();
    let total = within(conn.call(Sum { a: 13, b: 81 })).await.unwrap();
    assert_eq!(total, Total { total: 94 });
    let zero = within(conn.call(Divide {
        numerator: 1234,
        denominator: 0,
    }))
    .await;
    assert!(
        matches!(zero, Err(CallError::Remote(MathError::ZeroDivision))),
        "{zero:?}"
    );
    let q = within(conn.call(Divide {
        numerator: 10,
        denominator: 4,
    }))
    .await
    .unwrap();
    assert_eq!(q.result, 2.5);

    let mut args = AmpBox::new();
    args.insert("binary", &b"\x00\xff\r\n"[..]);
    args.insert("empty", "");
    args.insert("x", "1");
    let echoed = within(conn.call_raw("Echo", args.clone())).await.unwrap();
    assert_eq!(echoed, args);

    let nope = within(conn.call_raw("Nope", AmpBox::new())).await;
    assert!(matches!(nope, Err(CallError::Unhandled { .. })), "{nope:?}");
    let total = within(conn.call(Sum { a: -1, b: 1 })).await.unwrap();
    assert_eq!(total.total, 0, "the connection goes on after errors");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switch_echoes_until_half_close() {
    let (_server, addr) = serve(&[]);
    let conn = within(Connection::connect(addr.as_str())).await.unwrap();
    let raw = within(conn.switch(Switch)).await.unwrap();
    // More than the socket buffers hold: the echo must keep up.
    let payload: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let back = within(echo_half_close(raw, &payload)).await;
    assert_eq!(back.len(), payload.len());
    assert!(back == payload, "echoed bytes differ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_then_call_then_switch() {
    let (_server, addr) = serve(&[]);
    let conn = within(Connection::connect(addr.as_str())).await.unwrap();
    // Anonymous client (Twisted's default): the throwaway certificate is
    // not verified.
    within(conn.start_tls(TlsOptions::new())).await.unwrap();
    let certs = conn.peer_certificates().expect("TLS is up");
    assert_eq!(certs.len(), 1, "the server presented its certificate");
    let total = within(conn.call(Sum { a: 40, b: 2 })).await.unwrap();
    assert_eq!(total.total, 42);
    let raw = within(conn.switch(Switch)).await.unwrap();
    let back = within(echo_half_close(raw, b"secret bytes")).await;
    assert_eq!(back, b"secret bytes");
}

/// A self-signed certificate for `name`, written as `<name>.pem` and
/// `<name>.key` in `dir`.
fn certificate(dir: &Path, name: &str) -> (String, String) {
    let made = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
    let (cert, key) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.key_pair.serialize_pem()).unwrap();
    (cert.display().to_string(), key.display().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_certificate_and_client_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (server_pem, server_key) = certificate(dir.path(), "server");
    let (client_pem, client_key) = certificate(dir.path(), "client");
    let (_server, addr) = serve(&[
        "--cert",
        &server_pem,
        "--key",
        &server_key,
        "--ca",
        &client_pem,
    ]);
    let pinned = || TlsOptions::new().authorities_file(&server_pem).unwrap();

    // With the client certificate the server requires: a call over TLS.
    let conn = within(Connection::connect(addr.as_str())).await.unwrap();
    let options = pinned()
        .certificate_files(&client_pem, &client_key)
        .unwrap();
    within(conn.start_tls(options)).await.unwrap();
    let total = within(conn.call(Sum { a: 1, b: 2 })).await.unwrap();
    assert_eq!(total.total, 3);

    // Without one, the server ends the handshake: StartTLS or the next
    // call fails.
    let conn = within(Connection::connect(addr.as_str())).await.unwrap();
    let refused = match within(conn.start_tls(pinned())).await {
        Err(_) => true,
        Ok(()) => within(conn.call(Sum { a: 1, b: 2 })).await.is_err(),
    };
    assert!(refused, "a client without a certificate got through");

    // A server certificate the client does not trust: refused too.
    let conn = within(Connection::connect(addr.as_str())).await.unwrap();
    let other = TlsOptions::new()
        .authorities_file(&client_pem)
        .unwrap()
        .certificate_files(&client_pem, &client_key)
        .unwrap();
    assert!(within(conn.start_tls(other)).await.is_err());
}

#[test]
fn bad_certificate_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let missing = missing.to_str().unwrap();
    common::amp()
        .args(["serve", "127.0.0.1:0", "--cert", missing, "--key", missing])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("missing.pem"));
    common::amp()
        .args(["serve", "127.0.0.1:0", "--cert", missing])
        .assert()
        .code(2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_logs_each_call_and_sigterm_stops_cleanly() {
    let mut server = Proc::amp(&["serve", "127.0.0.1:0", "-v"]);
    let addr = server.listening();
    let conn = within(Connection::connect(addr.as_str())).await.unwrap();
    within(conn.call(Sum { a: 13, b: 81 })).await.unwrap();
    let _ = within(conn.call(Divide {
        numerator: 1,
        denominator: 0,
    }))
    .await;
    within(conn.call_raw("Echo", AmpBox::new())).await.unwrap();
    within(conn.close()).await;

    let (status, stdout, stderr) = server.stop("TERM");
    assert!(status.success(), "{status:?}\n{stderr}");
    let calls: Vec<&str> = stderr.lines().filter(|l| l.contains(" call ")).collect();
    assert_eq!(calls.len(), 3, "one line per call:\n{stderr}");
    for (line, (command, tag, outcome)) in calls.iter().zip([
        ("Sum", "1", "answered"),
        ("Divide", "2", "error ZERO_DIVISION"),
        ("Echo", "3", "answered"),
    ]) {
        assert!(line.contains(&format!("command={command} ")), "{line}");
        assert!(line.contains(&format!("tag={tag} ")), "{line}");
        assert!(line.contains(&format!("outcome=\"{outcome}")), "{line}");
        assert!(line.contains("peer=127.0.0.1:"), "{line}");
        assert!(line.contains("duration="), "{line}");
    }
    // The server may not have seen our close yet: 0 or 1 open, none cut.
    assert!(
        stdout.contains("stopped after 1 connection, 3 calls (1 error); ")
            && stdout.contains(" open at shutdown, 0 cut"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_socket_replaces_a_stale_one_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("amp.sock");
    // A stale socket: bound, then its listener gone.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let target = format!("unix:{}", path.display());
    let mut server = Proc::amp(&["serve", &target]);
    let addr = server.listening();
    assert_eq!(addr, target);
    let conn = within(Connection::builder().connect_unix(&path))
        .await
        .unwrap();
    let total = within(conn.call(Sum { a: 2, b: 3 })).await.unwrap();
    assert_eq!(total.total, 5);
    within(conn.close()).await;
    let (status, stdout, stderr) = server.stop("INT");
    assert!(status.success(), "{status:?}\n{stderr}");
    assert!(stdout.contains("stopped after 1 connection"), "{stdout}");
    assert!(!path.exists(), "our socket is removed on exit");
}

#[test]
fn unix_socket_never_takes_a_live_socket_or_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-socket");
    std::fs::write(&file, "keep me").unwrap();
    common::amp()
        .args(["serve", &format!("unix:{}", file.display())])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not a socket"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");

    let live = dir.path().join("live.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&live).unwrap();
    common::amp()
        .args(["serve", &format!("unix:{}", live.display())])
        .assert()
        .code(3)
        .stderr(predicates::str::contains("another process listens"));
    assert!(live.exists());
}

#[test]
fn twisted_client_calls_amp_serve() {
    let (_server, addr) = serve(&[]);
    let port = addr.rsplit_once(':').unwrap().1;
    let out = assert_cmd::Command::new(common::python())
        .arg(common::script("cli_serve_client.py"))
        .args(["client", port])
        .current_dir(common::workspace().join("interop"))
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success() && stdout.contains("12 passed, 0 failed"),
        "{stdout}\n{stderr}"
    );
}
