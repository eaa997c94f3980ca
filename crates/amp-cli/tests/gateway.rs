//! `amp gateway` and `amp tunnel` against the real binary: bytes carried
//! both ways to a TCP echo service (plain and with StartTLS), half-close,
//! the gateway's errors on a connection that stays usable, and Twisted
//! peers through both.
mod common;
mod net;

use amp::tls::TlsOptions;
use amp::{CallError, Connection};
use common::{amp, script, Proc};
use net::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[test]
fn plain_tunnel_carries_bytes_both_ways_with_half_close() {
    let echo = echo_service();
    let later = answer_after_eof_service();
    let mut gw = gateway(&[("echo", &echo), ("later", &later)], &[]);
    let gw_addr = gw.listening();
    let mut tunnel = tunnel(&gw_addr, "echo", &[]);
    let local = tunnel.listening();
    // More than every buffer on the way: the echo flows while we write.
    let data = payload(3 << 20);
    assert!(
        round_trip(&local, &data) == data,
        "all bytes echoed, then EOF"
    );
    // Every byte of the answer comes after our end of file.
    let mut half = net::tunnel(&gw_addr, "later", &[]);
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
    let mut gw = gateway(
        &[("echo", &echo)],
        &[&pki.server_flags()[..], &["--require-tls"]].concat(),
    );
    let gw_addr = gw.listening();
    let mut tunnel = tunnel(
        &gw_addr,
        "echo",
        &[&["-v"], &pki.starttls_flags()[..]].concat(),
    );
    let local = tunnel.listening();
    let data = payload(1 << 20);
    assert!(round_trip(&local, &data) == data);
    // Without StartTLS the gateway says TLS_REQUIRED: the tunnel closes that
    // connection and keeps serving.
    let mut clear = net::tunnel(&gw_addr, "echo", &[]);
    let clear_local = clear.listening();
    refused(&clear_local);
    refused(&clear_local); // still serving
    wait_stderr(&clear, "TLS_REQUIRED");
    assert!(round_trip(&local, b"after") == b"after");
}

#[test]
fn gateway_ca_requires_client_certificates() {
    let pki = pki();
    let echo = echo_service();
    let mut gw = gateway(
        &[("echo", &echo)],
        &[
            &pki.server_flags()[..],
            &["--ca", s(&pki.ca), "--require-tls"],
        ]
        .concat(),
    );
    let gw_addr = gw.listening();
    let tls = pki.starttls_flags();
    let client = ["--cert", s(&pki.client_cert), "--key", s(&pki.client_key)];
    let mut with_cert = tunnel(&gw_addr, "echo", &[&tls[..], &client[..]].concat());
    assert_eq!(round_trip(&with_cert.listening(), b"signed"), b"signed");
    let mut without = tunnel(&gw_addr, "echo", &tls);
    refused(&without.listening());
    wait_stderr(&without, "CertificateRequired");
}

#[test]
fn unknown_service_is_logged_and_the_tunnel_goes_on() {
    let echo = echo_service();
    let mut gw = gateway(&[("echo", &echo)], &[]);
    let gw_addr = gw.listening();
    let mut tunnel = tunnel(&gw_addr, "nope", &[]);
    let local = tunnel.listening();
    refused(&local);
    refused(&local); // still serving
    wait_stderr(&tunnel, "UNKNOWN_SERVICE");
}

#[tokio::test]
async fn errors_leave_the_connection_usable() {
    let echo = echo_service();
    let dead = closed_port();
    let mut gw = gateway(
        &[("echo", &echo), ("dead", &dead)],
        &["-v", "--connect-timeout", "5"],
    );
    let addr = gw.listening();
    let conn = Connection::connect(addr.as_str()).await.unwrap();
    let list = conn.call(ListServices).await.unwrap();
    assert_eq!(list.services, ["dead", "echo"]);
    match connect_service(&conn, "nope").await {
        Err(CallError::Remote(GatewayError::UnknownService(why))) => assert!(why.contains("nope")),
        other => panic!("want UNKNOWN_SERVICE, got {other:?}"),
    }
    match connect_service(&conn, "dead").await {
        Err(CallError::Remote(GatewayError::ConnectFailed(why))) => {
            assert!(
                !why.contains(&dead),
                "the address stays in the gateway's log: {why}"
            )
        }
        other => panic!("want CONNECT_FAILED, got {other:?}"),
    }
    // The same connection, now switched to the echo service.
    let mut stream = connect_service(&conn, "echo").await.unwrap();
    echoes(&mut stream, b"through the gateway").await;
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
    let mut gw = gateway(&[("echo", &echo)], &["--require-tls"]);
    let addr = gw.listening();
    let conn = Connection::connect(addr.as_str()).await.unwrap();
    assert!(matches!(
        conn.call(ListServices).await,
        Err(CallError::Remote(GatewayError::TlsRequired(_)))
    ));
    assert!(matches!(
        connect_service(&conn, "echo").await,
        Err(CallError::Remote(GatewayError::TlsRequired(_)))
    ));
    // No --cert: the gateway's throwaway certificate, taken as it is.
    conn.start_tls(TlsOptions::new()).await.unwrap();
    assert_eq!(conn.call(ListServices).await.unwrap().services, ["echo"]);
    let mut stream = connect_service(&conn, "echo").await.unwrap();
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
    let mut gw = gateway(&[("math", &math)], &pki.server_flags());
    let gw_addr = gw.listening();
    let mut plain = tunnel(&gw_addr, "math", &[]);
    let mut tls = tunnel(&gw_addr, "math", &pki.starttls_flags());
    for tunnel in [&mut plain, &mut tls] {
        let local = port(&tunnel.listening());
        let (ok, out) = checks(&["client", &local]);
        assert!(ok && out.contains("TOTAL 94"), "{out}");
    }
}

#[test]
fn twisted_client_does_starttls_then_connect() {
    let pki = pki();
    let mut server = Proc::python(&script("cli_net_peer.py"), &["serve"]);
    let math = server.port();
    let mut gw = gateway(
        &[("math", &math)],
        &[&pki.server_flags()[..], &["--require-tls"]].concat(),
    );
    let gw_port = port(&gw.listening());
    let (ok, out) = checks(&["gateway", &gw_port, "math", "--ca", s(&pki.ca)]);
    assert!(
        ok && out.contains("TOTAL 94") && out.contains("0 failed"),
        "{out}"
    );
}

#[test]
fn bytes_pipelined_after_connect_reach_the_service() {
    let echo = echo_service();
    let mut gw = gateway(&[("echo", &echo)], &[]);
    let s = connect(&gw.listening());
    // The request and the new protocol's first bytes in one write: the
    // gateway must hand those bytes to the service, not read them as AMP.
    let mut request = amp::AmpBox::new();
    request.insert("_ask", "1");
    request.insert("_command", "Connect");
    request.insert("service", "echo");
    let mut sent = request.to_bytes().unwrap().to_vec();
    sent.extend_from_slice(b"\x00\x05early bytes");
    let back = exchange(s, &sent);
    assert_eq!(back, b"\x00\x07_answer\x00\x011\x00\x00\x00\x05early bytes");
}

#[test]
fn gateway_on_a_unix_socket() {
    let dir = tempfile::tempdir().unwrap();
    let sock = format!("unix:{}", dir.path().join("gw.sock").display());
    let echo = echo_service();
    let mut gw = Proc::amp(&["gateway", &sock, "--service", &format!("echo={echo}")]);
    assert_eq!(gw.listening(), sock);
    let mut tunnel = tunnel(&sock, "echo", &[]);
    let data = payload(1 << 20);
    assert!(round_trip(&tunnel.listening(), &data) == data);
}

/// A client that connects and says nothing is closed after
/// --first-box-timeout; one that speaks in time is served.
#[test]
fn a_silent_client_is_closed_after_the_first_box_timeout() {
    use std::io::Read;
    let echo = echo_service();
    let mut gw = gateway(&[("echo", &echo)], &["--first-box-timeout", "0.3"]);
    let gw_addr = gw.listening();
    let mut silent = std::net::TcpStream::connect(&gw_addr).unwrap();
    silent
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 16];
    // EOF (or a reset), well before the 10 s read timeout: the gateway
    // closed it.
    match silent.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("expected the gateway to close the connection, got {other:?}"),
    }
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_millis(250)
            && waited < std::time::Duration::from_secs(5),
        "closed after {waited:?}"
    );
    // A client that speaks is served as usual.
    let mut tunnel = tunnel(&gw_addr, "echo", &[]);
    assert_eq!(round_trip(&tunnel.listening(), b"in time"), b"in time");
}

/// --max-connections: a client over the cap waits (in the listen backlog)
/// and is served once a connection closes.
#[tokio::test]
async fn connections_over_the_cap_wait_their_turn() {
    let echo = echo_service();
    let mut gw = gateway(&[("echo", &echo)], &["--max-connections", "1"]);
    let addr = gw.listening();
    let first = Connection::connect(addr.as_str()).await.unwrap();
    assert_eq!(first.call(ListServices).await.unwrap().services, ["echo"]);
    let second = Connection::connect(addr.as_str()).await.unwrap();
    let waiting = tokio::spawn(async move { second.call(ListServices).await.map(|l| l.services) });
    // Not served while the first is open.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "the second client is not served yet"
    );
    first.close().await;
    let served = tokio::time::timeout(std::time::Duration::from_secs(10), waiting)
        .await
        .expect("served once the first closed")
        .unwrap()
        .unwrap();
    assert_eq!(served, ["echo"]);
}

/// Ctrl-C (SIGINT): new connections are refused at once; a spliced
/// connection goes on until --grace, then is cut; the gateway exits 0.
#[test]
fn a_stop_lets_spliced_connections_finish_within_the_grace_period() {
    let echo = echo_service();
    let mut gw = gateway(&[("echo", &echo)], &["--grace", "1"]);
    let gw_addr = gw.listening();
    let mut tunnel = tunnel(&gw_addr, "echo", &[]);
    let local = tunnel.listening();
    let mut open = connect(&local);
    assert_eq!(exchange_some(&mut open, b"before"), b"before");
    gw.signal("INT");
    wait_stderr(&gw, "stopping");
    // Still carried during the grace period.
    assert_eq!(exchange_some(&mut open, b"during"), b"during");
    let started = std::time::Instant::now();
    assert!(gw.finish(), "exits 0 after the grace period");
    let waited = started.elapsed();
    assert!(
        waited < std::time::Duration::from_secs(8),
        "cut after --grace: {waited:?}"
    );
    assert!(
        std::net::TcpStream::connect(&gw_addr).is_err(),
        "no longer listening"
    );
    // The spliced connection was cut: EOF (or a reset).
    use std::io::Read;
    let mut buf = [0u8; 8];
    assert!(matches!(open.read(&mut buf), Ok(0) | Err(_)));
}

/// Writes `data` on `s` and reads as many bytes back.
fn exchange_some(s: &mut std::net::TcpStream, data: &[u8]) -> Vec<u8> {
    use std::io::{Read, Write};
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    s.write_all(data).unwrap();
    let mut back = vec![0; data.len()];
    s.read_exact(&mut back).unwrap();
    back
}
