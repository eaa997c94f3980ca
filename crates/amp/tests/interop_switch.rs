//! Protocol switching and StartTLS against live Twisted processes
//! (`interop/switch_peer.py`), both directions: Rust calls Twisted, and
//! Twisted calls Rust.
//!
//! Run: `cargo test -p amp --test interop_switch` (after
//! `scripts/setup-interop.sh`).

mod common;

use amp::tls::{TlsError, TlsOptions};
use amp::{CallError, Command, Connection, Disconnect, Record, Router, SwitchTo};
use common::certs::{self, Pki};
use common::raw::{Refuse, Refused, Sum, Switch, Total};
use common::{within, Py};
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Command)]
struct Greet;

#[derive(Command)]
struct Hang;

#[derive(Command)]
#[amp(response = SlowDone)]
struct Slow {
    n: i64,
}

#[derive(Record, Debug, PartialEq)]
struct SlowDone {
    n: i64,
}

#[derive(Command)]
struct Release;

#[derive(Command)]
#[amp(response = PeerCertIs)]
struct PeerCert;

#[derive(Record, Debug, PartialEq)]
struct PeerCertIs {
    der: Vec<u8>,
    tls: bool,
}

const FINISH: Duration = Duration::from_secs(120);

/// `--cert C --key K` for the Python peer.
fn cert_args(cert: &Path, key: &Path) -> Vec<String> {
    vec![
        "--cert".into(),
        cert.display().to_string(),
        "--key".into(),
        key.display().to_string(),
    ]
}

/// `flag PATH` (`--ca`, `--other-ca`) for the Python peer.
fn ca_args(flag: &str, ca: &Path) -> Vec<String> {
    vec![flag.into(), ca.display().to_string()]
}

/// A Twisted server with the CA-signed certificate that requires client
/// certificates signed by the test CA.
fn verifying_server_args(pki: &Pki) -> Vec<String> {
    [
        cert_args(&pki.server_cert, &pki.server_key),
        ca_args("--ca", &pki.ca),
    ]
    .concat()
}

async fn twisted(args: &[String]) -> (Py, Connection) {
    let mut full = vec!["serve"];
    full.extend(args.iter().map(String::as_str));
    let (py, port) = Py::serve("switch_peer.py", &full).await;
    let conn = within("connect", Connection::connect(("127.0.0.1", port)))
        .await
        .unwrap();
    (py, conn)
}

async fn echo_check(stream: &mut amp::Switched, data: &[u8]) {
    within("write to the switched stream", stream.write_all(data))
        .await
        .unwrap();
    let mut got = vec![0u8; data.len()];
    within("the echo", stream.read_exact(&mut got))
        .await
        .unwrap();
    assert_eq!(got, data);
}

// ---------------------------------------------------------------------------
// Rust calls Twisted: switching
// ---------------------------------------------------------------------------

#[tokio::test]
async fn rust_switches_twisted_to_echo() {
    let (_py, conn) = twisted(&[]).await;
    assert_eq!(
        within("Sum", conn.call(Sum { a: 1, b: 2 })).await.unwrap(),
        Total { total: 3 }
    );
    let mut stream = within("switch", conn.switch(Switch)).await.unwrap();
    echo_check(&mut stream, b"hello, Twisted echo").await;
    echo_check(&mut stream, &vec![0x5a; 200_000]).await;
    assert!(matches!(
        conn.call(Sum { a: 1, b: 2 }).await,
        Err(CallError::ProtocolSwitched)
    ));
    assert!(matches!(conn.closed().await, Disconnect::Switched));
}

#[tokio::test]
async fn twisted_greeting_in_the_answer_segment_reaches_the_new_protocol() {
    let (_py, conn) = twisted(&[]).await;
    let mut stream = within("switch", conn.switch(Greet)).await.unwrap();
    let mut greeting = [0u8; 9];
    within("greeting", stream.read_exact(&mut greeting))
        .await
        .unwrap();
    assert_eq!(&greeting, b"greeting\n");
    echo_check(&mut stream, b"and then echo").await;
}

#[tokio::test]
async fn twisted_refuses_a_switch_and_amp_goes_on() {
    let (_py, conn) = twisted(&[]).await;
    let e = within("refused switch", conn.switch(Refuse))
        .await
        .unwrap_err();
    assert!(matches!(e, CallError::Remote(Refused::Refused)), "{e:?}");
    for i in 0..10 {
        assert_eq!(
            within("Sum after refusal", conn.call(Sum { a: i, b: 1 }))
                .await
                .unwrap(),
            Total { total: i + 1 }
        );
    }
    let mut stream = within("switch after refusal", conn.switch(Switch))
        .await
        .unwrap();
    echo_check(&mut stream, b"second try").await;
}

#[tokio::test]
async fn sends_while_locked_fail_and_unanswerable_calls_fail_clearly() {
    let (_py, conn) = twisted(&[]).await;
    // Twisted answers Slow only on Release: it is outstanding at the switch.
    let slow = tokio::spawn({
        let conn = conn.clone();
        async move { conn.call(Slow { n: 7 }).await }
    });
    let answered = tokio::spawn({
        let conn = conn.clone();
        async move { conn.call(Sum { a: 2, b: 2 }).await }
    });
    // Both requests are queued before the switch (same queue, in order).
    within("Sum answered", async {
        while !answered.is_finished() {
            tokio::task::yield_now().await;
        }
    })
    .await;
    let switch = tokio::spawn({
        let conn = conn.clone();
        async move { conn.switch(Switch).await }
    });
    // Whatever the timing, once the switch is queued nothing else can be.
    loop {
        match conn.call(Sum { a: 1, b: 1 }).await {
            Err(CallError::ProtocolSwitched) => break,
            Ok(_) => tokio::task::yield_now().await,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert!(matches!(
        conn.notify(Release).await,
        Err(CallError::ProtocolSwitched)
    ));
    let mut stream = within("switch", switch).await.unwrap().unwrap();
    assert_eq!(answered.await.unwrap().unwrap(), Total { total: 4 });
    assert!(matches!(
        within("Slow fails", slow).await.unwrap(),
        Err(CallError::ConnectionLost(Disconnect::Switched))
    ));
    echo_check(&mut stream, b"still fine").await;
}

#[tokio::test]
async fn twisted_closing_during_a_switch_fails_it() {
    let (_py, conn) = twisted(&[]).await;
    let e = within("switch to a peer that hangs up", conn.switch(Hang))
        .await
        .unwrap_err();
    assert!(
        matches!(e, CallError::ConnectionLost(Disconnect::PeerClosed)),
        "{e:?}"
    );
}

// ---------------------------------------------------------------------------
// Rust calls Twisted: StartTLS
// ---------------------------------------------------------------------------

#[tokio::test]
async fn starttls_with_twisted_anonymous_server() {
    // No certificate configured: Twisted makes a throwaway self-signed one.
    let (_py, conn) = twisted(&[]).await;
    within("StartTLS", conn.start_tls(TlsOptions::new()))
        .await
        .unwrap();
    assert!(conn.is_tls());
    assert_eq!(conn.peer_certificates().unwrap().len(), 1);
    let pc = within("PeerCert", conn.call(PeerCert)).await.unwrap();
    assert!(pc.tls);
    assert!(pc.der.is_empty(), "we presented no certificate");
    assert!(matches!(
        conn.start_tls(TlsOptions::new()).await,
        Err(CallError::OnlyOneTls)
    ));
}

#[tokio::test]
async fn starttls_verifies_a_ca_signed_twisted_server_and_presents_a_client_cert() {
    let pki = Pki::generate();
    let (_py, conn) = twisted(&verifying_server_args(&pki)).await;
    let options = TlsOptions::new()
        .certificate_files(&pki.client_cert, &pki.client_key)
        .unwrap()
        .authorities_file(&pki.ca)
        .unwrap();
    within("StartTLS", conn.start_tls(options)).await.unwrap();
    let server_chain = conn.peer_certificates().unwrap();
    let want = first_der(&pki.server_cert_pem);
    assert_eq!(server_chain[0].as_ref(), want.as_slice());
    let pc = within("PeerCert", conn.call(PeerCert)).await.unwrap();
    let client_der = first_der(&pki.client_cert_pem);
    assert_eq!(pc.der, client_der, "Twisted sees our client certificate");
}

#[tokio::test]
async fn starttls_without_the_required_client_cert_fails_cleanly() {
    let pki = Pki::generate();
    let (_py, conn) = twisted(&verifying_server_args(&pki)).await;
    let options = TlsOptions::new().authorities_file(&pki.ca).unwrap();
    // TLS 1.3: the client may finish its side before the server rejects
    // it; then the next call fails. Either way the connection ends.
    let r = within("StartTLS", conn.start_tls(options)).await;
    if r.is_ok() {
        let e = within("call after rejected TLS", conn.call(Sum { a: 1, b: 1 }))
            .await
            .unwrap_err();
        assert!(e.is_connection_lost(), "{e:?}");
    }
    let reason = within("closed", conn.closed()).await;
    // OpenSSL's alert reaches us as a rustls error: a typed TLS failure.
    match reason {
        Disconnect::Tls(e) => assert!(
            matches!(
                e.downcast_ref::<TlsError>(),
                Some(TlsError::Handshake(rustls::Error::AlertReceived(_)))
            ),
            "{e:?}"
        ),
        other => panic!("expected a TLS failure, got {other:?}"),
    }
}

#[tokio::test]
async fn starttls_with_the_wrong_ca_fails_cleanly() {
    let pki = Pki::generate();
    let (_py, conn) = twisted(&cert_args(&pki.server_cert, &pki.server_key)).await;
    let options = TlsOptions::new().authorities_file(&pki.other_ca).unwrap();
    let e = within("StartTLS", conn.start_tls(options))
        .await
        .unwrap_err();
    match &e {
        CallError::ConnectionLost(Disconnect::Tls(t)) => assert!(
            matches!(
                t.downcast_ref::<TlsError>(),
                Some(TlsError::Handshake(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::UnknownIssuer
                )))
            ),
            "{t:?}"
        ),
        other => panic!("expected a TLS failure, got {other:?}"),
    }
    assert!(conn.is_closed());
    assert!(!conn.is_tls());
    assert!(matches!(
        conn.call(Sum { a: 1, b: 1 }).await,
        Err(CallError::ConnectionLost(Disconnect::Tls(_)))
    ));
}

#[tokio::test]
async fn boxes_queued_during_the_handshake_are_all_delivered() {
    let (_py, conn) = twisted(&[]).await;
    let calls: Vec<_> = (0..100).map(|i| conn.call(Sum { a: i, b: 1000 })).collect();
    // StartTLS is polled first, so it is queued before every call.
    let (tls, answers) = within(
        "StartTLS and 100 calls",
        futures_util::future::join(
            conn.start_tls(TlsOptions::new()),
            futures_util::future::join_all(calls),
        ),
    )
    .await;
    tls.unwrap();
    for (i, a) in answers.into_iter().enumerate() {
        assert_eq!(a.unwrap().total, i as i64 + 1000);
    }
    assert!(within("PeerCert", conn.call(PeerCert)).await.unwrap().tls);
}

#[tokio::test]
async fn tls_then_switch_stays_encrypted() {
    let (_py, conn) = twisted(&[]).await;
    within("StartTLS", conn.start_tls(TlsOptions::new()))
        .await
        .unwrap();
    let mut stream = within("switch", conn.switch(Switch)).await.unwrap();
    assert_eq!(stream.peer_certificates().map(|c| c.len()), Some(1));
    echo_check(&mut stream, b"encrypted echo").await;
}

/// The DER of the first certificate in a PEM text.
fn first_der(pem: &str) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
        .next()
        .unwrap()
        .unwrap()
        .to_vec()
}

// ---------------------------------------------------------------------------
// Twisted calls Rust
// ---------------------------------------------------------------------------

fn rust_router(tls: TlsOptions) -> Router {
    Router::new()
        .route(|s: Sum, _| async move { Ok(Total { total: s.a + s.b }) })
        .route(|_: PeerCert, ctx| async move {
            let certs = ctx.peer().peer_certificates();
            Ok(PeerCertIs {
                tls: certs.is_some(),
                der: certs
                    .and_then(|c| c.first().map(|c| c.to_vec()))
                    .unwrap_or_default(),
            })
        })
        .route_switch(|_: Switch, _| async move { Ok(SwitchTo::new(echo)) })
        .route_switch(|_: Greet, _| async move {
            Ok(SwitchTo::new(|mut s: amp::Switched| async move {
                if s.write_all(b"greeting\n").await.is_ok() {
                    echo(s).await
                }
            }))
        })
        .route_switch(|_: Refuse, _| async move { Err(Refused::Refused) })
        .route_switch(|_: Hang, ctx| async move {
            // Hang up instead of answering: the connection ends, and this
            // responder with it.
            ctx.peer().close().await;
            std::future::pending().await
        })
        .start_tls(tls)
}

async fn echo(mut s: amp::Switched) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if s.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Serve `router` on a fresh port; run the Twisted client's scenarios
/// against it.
async fn twisted_calls_rust(tls: TlsOptions, args: &[String], scenarios: &[&str]) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let server = tokio::spawn(amp::Server::new(rust_router(tls)).serve(listener));
    let mut full = vec!["client", port.as_str()];
    full.extend(args.iter().map(String::as_str));
    full.extend_from_slice(scenarios);
    let out = Py::spawn("switch_peer.py", &full).finish(FINISH).await;
    server.abort();
    out.assert_success("switch_peer.py client");
}

#[tokio::test]
async fn twisted_switches_rust() {
    twisted_calls_rust(
        TlsOptions::new(),
        &[],
        &[
            "switch",
            "pipelined",
            "greet",
            "refused",
            "hang",
            "locked",
            "outstanding",
        ],
    )
    .await;
}

#[tokio::test]
async fn twisted_starttls_with_rust_self_signed_server() {
    twisted_calls_rust(
        TlsOptions::new(),
        &[],
        &[
            "starttls",
            "starttls_twice",
            "starttls_queued",
            "tls_then_switch",
        ],
    )
    .await;
}

#[tokio::test]
async fn twisted_verifies_rust_server_and_rust_requires_client_cert() {
    let pki = Pki::generate();
    let server = certs::verifying_server_options(&pki);
    twisted_calls_rust(
        server,
        &[
            cert_args(&pki.client_cert, &pki.client_key),
            ca_args("--ca", &pki.ca),
        ]
        .concat(),
        &["starttls", "starttls_queued", "tls_then_switch"],
    )
    .await;
}

#[tokio::test]
async fn twisted_with_wrong_ca_or_no_client_cert_fails_cleanly() {
    let pki = Pki::generate();
    let server = certs::verifying_server_options(&pki);
    // Twisted trusts another CA: it rejects our server certificate.
    twisted_calls_rust(
        server.clone(),
        &[
            cert_args(&pki.client_cert, &pki.client_key),
            ca_args("--other-ca", &pki.other_ca),
        ]
        .concat(),
        &["starttls_fails"],
    )
    .await;
    // Twisted presents no client certificate: we reject it.
    twisted_calls_rust(server, &ca_args("--other-ca", &pki.ca), &["starttls_fails"]).await;
}
