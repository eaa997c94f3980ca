//! `amp tap` against the real binary: Twisted calls through it (text and
//! JSON lines), a StartTLS session, protocol switches (guessed, and known
//! from a schema), bytes that are not AMP, and an unreachable upstream.
mod common;
mod net;

use amp::Connection;
use common::{script, Proc};
use net::*;
use std::io::Read;

/// Runs Twisted's client (cli_net_peer.py, with `client_flags`) through
/// `amp tap` to Twisted's server until the tap reports the connection
/// closed; checks that the calls worked end to end, and returns what the
/// tap printed.
fn twisted_through_tap(client_flags: &[&str]) -> String {
    let mut server = Proc::python(&script("cli_net_peer.py"), &["serve"]);
    let upstream = server.port();
    let mut tap = Proc::amp(&["tap", "127.0.0.1:0", &upstream]);
    let listen = port(&tap.listening());
    let (ok, out) = checks(&[&["client", &listen][..], client_flags].concat());
    assert!(
        ok && out.contains("TOTAL 94"),
        "calls work end to end: {out}"
    );
    line_with(&mut tap, "closed");
    tap.stdout()
}

#[test]
fn twisted_calls_through_the_tap() {
    let printed = twisted_through_tap(&[]);
    assert_contains(
        &printed,
        &[
            "connected 127.0.0.1:",
            "-> Sum ask 1\n    _ask: 1\n    _command: Sum\n    a: 13\n    b: 81\n",
        ],
    );
    let answer = printed
        .lines()
        .find(|l| l.contains("<- answer 1 to Sum in "))
        .unwrap_or_else(|| panic!("no answer line: {printed}"));
    let ms: f64 = answer
        .split(" in ")
        .nth(1)
        .and_then(|r| r.strip_suffix(" ms"))
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("no latency in {answer:?}"));
    assert!((0.0..10_000.0).contains(&ms), "{answer}");
    assert!(printed.contains(&format!("{answer}\n    _answer: 1\n    total: 94\n")));
    assert_contains(
        &printed,
        &[
            "-> Divide ask 2\n",
            "<- error 2 to Divide in ",
            ": ZERO_DIVISION\n",
        ],
    );
}

#[test]
fn json_lines() {
    let mut server = Proc::python(&script("cli_net_peer.py"), &["serve"]);
    let upstream = server.port();
    let mut tap = Proc::amp(&["tap", "127.0.0.1:0", &upstream, "--json"]);
    let first: serde_json::Value = serde_json::from_str(&line_with(&mut tap, "listening")).unwrap();
    let listen = first["addr"].as_str().unwrap().to_owned();
    let (ok, out) = checks(&["client", &port(&listen)]);
    assert!(ok, "{out}");
    line_with(&mut tap, "\"closed\"");
    let events: Vec<serde_json::Value> = tap
        .stdout()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    let request = events
        .iter()
        .find(|e| e["kind"] == "request" && e["command"] == "Sum")
        .expect("the Sum request");
    assert_eq!(request["dir"], "->");
    assert_eq!(request["conn"], 1);
    assert_eq!(request["box"]["a"], "13");
    let answer = events
        .iter()
        .find(|e| e["kind"] == "answer" && e["command"] == "Sum")
        .expect("the Sum answer");
    assert_eq!(answer["dir"], "<-");
    assert_eq!(answer["box"]["total"], "94");
    assert!(answer["latency_ms"].as_f64().unwrap() >= 0.0);
    assert!(answer["t"].as_f64().unwrap() >= request["t"].as_f64().unwrap());
    let error = events
        .iter()
        .find(|e| e["kind"] == "error")
        .expect("the Divide error");
    assert_eq!(error["code"], "ZERO_DIVISION");
    assert_eq!(error["command"], "Divide");
}

#[test]
fn starttls_through_the_tap() {
    let printed = twisted_through_tap(&["--starttls"]);
    assert_contains(
        &printed,
        &[
            "-> StartTLS ask 1\n",
            "<- answer 1 to StartTLS in ",
            "TLS from here on, both ways",
        ],
    );
    // Encrypted: no box and no parse error after the handshake.
    assert!(!printed.contains("Sum"), "{printed}");
    assert!(!printed.contains("malformed"), "{printed}");
}

/// Through the tap to `amp gateway`: ListServices, Connect, then bytes
/// that are not AMP, echoed.
async fn switch_through(tap: &str) {
    let conn = Connection::connect(tap).await.unwrap();
    let list = conn.call_raw("ListServices", amp::AmpBox::new()).await;
    assert!(list.is_ok(), "{list:?}");
    let mut stream = connect_service(&conn, "echo").await.unwrap();
    echoes(&mut stream, b"hello, not AMP").await;
}

#[tokio::test]
async fn protocol_switches_guessed_and_known_from_a_schema() {
    let echo = echo_service();
    let mut gw = gateway(&[("echo", &echo)], &[]);
    let gw_addr = gw.listening();

    let mut tap = Proc::amp(&["tap", "127.0.0.1:0", &gw_addr]);
    switch_through(&tap.listening()).await;
    line_with(&mut tap, "closed");
    let printed = tap.stdout();
    assert_contains(
        &printed,
        &[
            "<- answer 2 to Connect in ",
            " -> switched (not AMP any more)",
            " <- switched (not AMP any more)",
        ],
    );
    assert!(!printed.contains("malformed"), "{printed}");

    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("gateway.json");
    std::fs::write(
        &schema,
        r#"{"commands": [{"name": "Connect", "kind": "switch",
            "arguments": [{"name": "service", "type": "Unicode"}]}]}"#,
    )
    .unwrap();
    let schema = schema.to_str().unwrap();
    let mut tap = Proc::amp(&["--schema", schema, "tap", "127.0.0.1:0", &gw_addr]);
    switch_through(&tap.listening()).await;
    line_with(&mut tap, "closed");
    let printed = tap.stdout();
    assert!(
        printed.contains(" both ways switched (not AMP any more) after Connect"),
        "{printed}"
    );
}

#[test]
fn malformed_bytes_are_reported_and_passed_through() {
    let echo = echo_service();
    let mut tap = Proc::amp(&["tap", "127.0.0.1:0", &echo]);
    // A box that is neither request nor answer, then a 256-byte key.
    let sent = b"\x00\x01k\x00\x01v\x00\x00\x01\x00junk".to_vec();
    let back = exchange(connect(&tap.listening()), &sent);
    assert_eq!(back, sent, "passed through unchanged");
    line_with(&mut tap, "closed");
    let printed = tap.stdout();
    assert_contains(
        &printed,
        &[
            "-> box (neither request nor answer)\n    k: v\n",
            " -> malformed at byte 8: ",
            " <- malformed at byte 8: ",
            "closed: 14 bytes ->, 14 bytes <-",
        ],
    );
}

#[test]
fn unreachable_upstream_closes_the_client() {
    let dead = closed_port();
    let mut tap = Proc::amp(&["tap", "127.0.0.1:0", &dead]);
    let listen = tap.listening();
    for n in 1..=2 {
        let mut s = connect(&listen);
        let mut buf = [0u8; 16];
        assert!(matches!(s.read(&mut buf), Ok(0) | Err(_)));
        let line = line_with(&mut tap, "upstream unreachable");
        assert!(line.starts_with(&format!("#{n} ")), "{line}");
    }
}
