//! `amp gateway` and `amp tunnel` against the real binary: bytes carried
//! both ways to a TCP echo service (plain and with StartTLS), half-close,
//! the gateway's errors on a connection that stays usable, several
//! backends for one service (spread, skipped when refusing, listed with
//! their health), and Twisted peers through both.
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
        .args(["--service", "a=127.0.0.1:1"])
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
    // It waits in the listen backlog, not accepted...
    wait_accept_queue(&addr, 1).await;
    // ...and stays there while the first is served: by the first's next
    // answer the gateway would long have taken it (the kernel told the
    // gateway of it before the first even asked).
    assert_eq!(first.call(ListServices).await.unwrap().services, ["echo"]);
    assert_eq!(accept_queue(&addr), 1, "the second client was accepted");
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

/// How many connections wait in the listen backlog of the TCP listener
/// on `addr` (`127.0.0.1:PORT`), not yet accepted: what Linux shows as a
/// listening socket's receive queue in /proc/net/tcp.
fn accept_queue(addr: &str) -> u64 {
    let port: u16 = addr.rsplit_once(':').unwrap().1.parse().unwrap();
    let local = format!("0100007F:{port:04X}");
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp (Linux)");
    let listener = table
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        // Fields: sl, local address, remote address, state (0A: listening),
        // tx_queue:rx_queue, ...
        .find(|f| f.len() > 4 && f[1] == local && f[3] == "0A")
        .unwrap_or_else(|| panic!("no listener on {addr} in /proc/net/tcp"));
    let rx = listener[4].split_once(':').unwrap().1;
    u64::from_str_radix(rx, 16).unwrap()
}

/// Waits (at most 10 s) until `n` connections wait in the listen backlog
/// of `addr` ([`accept_queue`]).
async fn wait_accept_queue(addr: &str, n: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while accept_queue(addr) != n {
        assert!(
            std::time::Instant::now() < deadline,
            "{} connection(s) in the backlog of {addr}, not {n}",
            accept_queue(addr)
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
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

/// `ListServices` read with its `backends` (required here: a gateway
/// without them fails the decoding).
#[derive(amp::Command)]
#[amp(name = "ListServices", response = Health, error = GatewayError)]
struct ListBackends;

/// The answer to [`ListBackends`].
#[derive(amp::Record, Debug)]
struct Health {
    services: Vec<String>,
    backends: Vec<BackendHealth>,
}

/// One element of `backends`.
#[derive(amp::Record, Debug, Clone)]
struct BackendHealth {
    service: String,
    address: String,
    healthy: bool,
    connections: u64,
    failures: u64,
    last_error: Option<String>,
}

/// The gateway's `backends`, asked on a connection of their own.
async fn backends(gw: &str) -> Vec<BackendHealth> {
    let conn = Connection::connect(gw).await.unwrap();
    let health = conn.call(ListBackends).await.unwrap();
    conn.close().await;
    health.backends
}

/// Asks for the backends until `ok` holds for them (at most 10 s); returns
/// them.
async fn wait_backends(gw: &str, ok: impl Fn(&[BackendHealth]) -> bool) -> Vec<BackendHealth> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let now = backends(gw).await;
        if ok(&now) {
            return now;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "backends never as expected: {now:#?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// A TCP service on a free port that writes `greeting` to each connection,
/// then reads until end of file and closes.
fn greeting_service(greeting: &'static str) -> String {
    greet_on(
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
        greeting,
    )
}

/// Serves `greeting_service` on `listener`; returns its address.
fn greet_on(listener: std::net::TcpListener, greeting: &'static str) -> String {
    use std::io::{Read, Write};
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            std::thread::spawn(move || {
                if conn.write_all(greeting.as_bytes()).is_ok() {
                    let _ = conn.read_to_end(&mut Vec::new());
                }
            });
        }
    });
    addr
}

/// `n` different addresses where nothing listens (all bound at once, then
/// released).
fn closed_ports(n: usize) -> Vec<String> {
    let held: Vec<_> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    held.iter()
        .map(|l| l.local_addr().unwrap().to_string())
        .collect()
}

/// `Connect(service)` on a new connection to the gateway at `gw`: the
/// switched stream and the greeting of the backend that answered
/// (`len` bytes).
async fn greeted(gw: &str, service: &str, len: usize) -> (amp::Switched, String) {
    let conn = Connection::connect(gw).await.unwrap();
    let mut stream = connect_service(&conn, service).await.unwrap();
    let mut greeting = vec![0; len];
    stream.read_exact(&mut greeting).await.unwrap();
    (stream, String::from_utf8(greeting).unwrap())
}

/// `--service` repeated with one name: Connects held open at once go to
/// the backend with the fewest connections, so 4 make 2 and 2; the counts
/// fall back to 0 once the sessions end.
#[tokio::test]
async fn one_service_spreads_connects_over_its_backends() {
    let one = greeting_service("one");
    let two = greeting_service("two");
    let mut gw = gateway(&[("svc", &one), ("svc", &two)], &[]);
    let addr = gw.listening();
    let opened = futures_util::future::join_all((0..4).map(|_| greeted(&addr, "svc", 3))).await;
    let mut greetings: Vec<&str> = opened.iter().map(|(_, g)| g.as_str()).collect();
    greetings.sort();
    assert_eq!(greetings, ["one", "one", "two", "two"]);
    let conn = Connection::connect(addr.as_str()).await.unwrap();
    let health = conn.call(ListBackends).await.unwrap();
    assert_eq!(health.services, ["svc"], "one name however many backends");
    let listed: Vec<_> = health
        .backends
        .iter()
        .map(|b| {
            (
                b.service.as_str(),
                b.address.as_str(),
                b.healthy,
                b.connections,
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("svc", one.as_str(), true, 2),
            ("svc", two.as_str(), true, 2)
        ]
    );
    assert!(health
        .backends
        .iter()
        .all(|b| b.failures == 0 && b.last_error.is_none()));
    // The old answer's reader still reads it.
    assert_eq!(conn.call(ListServices).await.unwrap().services, ["svc"]);
    drop(opened);
    wait_backends(&addr, |b| b.iter().all(|b| b.connections == 0)).await;
    // Both free again: the first given is chosen.
    let (_s, greeting) = greeted(&addr, "svc", 3).await;
    assert_eq!(greeting, "one");
}

/// A backend that refuses, listed first, is skipped within the same
/// Connect, marked down (listed unhealthy with its failure and error), and
/// not tried again while the other accepts.
#[tokio::test]
async fn a_refusing_backend_is_skipped_and_listed_down() {
    let dead = closed_port();
    let live = greeting_service("live");
    let mut gw = gateway(&[("svc", &dead), ("svc", &live)], &[]);
    let addr = gw.listening();
    let (_first, greeting) = greeted(&addr, "svc", 4).await;
    assert_eq!(greeting, "live");
    let now = backends(&addr).await;
    assert_eq!(now.len(), 2, "{now:#?}");
    let (d, l) = (&now[0], &now[1]);
    assert_eq!((d.address.as_str(), l.address.as_str()), (&*dead, &*live));
    assert!(!d.healthy && d.failures >= 1, "{d:?}");
    assert!(
        d.last_error.as_deref().is_some_and(|e| !e.is_empty()),
        "{d:?}"
    );
    assert_eq!(d.connections, 0);
    assert!(
        l.healthy && l.failures == 0 && l.last_error.is_none(),
        "{l:?}"
    );
    assert_eq!(l.connections, 1);
    // Down: the live backend goes first although it has more connections.
    let (_second, greeting) = greeted(&addr, "svc", 4).await;
    assert_eq!(greeting, "live");
    let now = backends(&addr).await;
    assert_eq!(now[0].failures, 1, "not retried: {now:#?}");
    assert_eq!(now[1].connections, 2);
    // The gateway's log names the backend and why.
    let err = wait_stderr(&gw, "backend marked down");
    assert!(err.contains(&dead), "{err}");
}

/// Every backend refusing: CONNECT_FAILED, without their addresses; each
/// is marked down, and still tried: one that comes back accepts and is
/// marked up.
#[tokio::test]
async fn all_backends_refusing_is_connect_failed_until_one_comes_back() {
    let ports = closed_ports(2);
    let (a, b) = (&ports[0], &ports[1]);
    let mut gw = gateway(&[("svc", a), ("svc", b)], &[]);
    let addr = gw.listening();
    let conn = Connection::connect(addr.as_str()).await.unwrap();
    match connect_service(&conn, "svc").await {
        Err(CallError::Remote(GatewayError::ConnectFailed(why))) => {
            assert!(
                !why.contains(a.as_str()) && !why.contains(b.as_str()),
                "{why}"
            )
        }
        other => panic!("want CONNECT_FAILED, got {other:?}"),
    }
    let now = backends(&addr).await;
    assert!(
        now.iter()
            .all(|b| !b.healthy && b.failures == 1 && b.last_error.is_some()),
        "{now:#?}"
    );
    let err = wait_stderr(&gw, "no backend accepted");
    assert!(
        err.contains(a.as_str()) && err.contains(b.as_str()),
        "{err}"
    );
    // The second comes back; the first, down the longest, is tried first
    // and fails again.
    greet_on(std::net::TcpListener::bind(b.as_str()).unwrap(), "back");
    let mut stream = connect_service(&conn, "svc").await.unwrap();
    let mut greeting = [0; 4];
    stream.read_exact(&mut greeting).await.unwrap();
    assert_eq!(&greeting, b"back");
    let now = backends(&addr).await;
    assert!(!now[0].healthy && now[0].failures == 2, "{now:#?}");
    assert!(now[1].healthy && now[1].failures == 0 && now[1].last_error.is_none());
    assert_eq!(now[1].connections, 1);
}

/// The same NAME=ADDR twice is a usage error; the same NAME with another
/// ADDR is a second backend.
#[test]
fn the_same_backend_twice_is_a_usage_error() {
    let out = amp()
        .args(["gateway", "127.0.0.1:0", "--service", "a=127.0.0.1:1"])
        .args(["--service", "b=127.0.0.1:1", "--service", "a=127.0.0.1:1"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("a=127.0.0.1:1 is given twice"), "{err}");
    let mut gw = gateway(&[("a", "127.0.0.1:1"), ("a", "127.0.0.1:2")], &[]);
    gw.listening();
}
