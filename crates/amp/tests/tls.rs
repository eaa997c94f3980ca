//! StartTLS between two amp-rs peers and against scripted raw peers: the
//! cases a Twisted peer cannot produce on demand (plaintext injected
//! around the handshake, a second StartTLS reaching the responder).

mod common;

use amp::tls::{TlsError, TlsOptions};
use amp::{AmpBox, CallError, Connection, Disconnect, Router};
use common::certs::{self, Pki};
use common::raw::{encode, read_box, Sum, Total};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn server_router(tls: TlsOptions) -> Router {
    Router::new()
        .route(|s: Sum, _| async move { Ok(Total { total: s.a + s.b }) })
        .start_tls(tls)
}

#[tokio::test]
async fn rust_to_rust_with_verified_certificates_both_ways() {
    let pki = Pki::generate();
    let (a, b) = tokio::io::duplex(64 * 1024);
    let server = Connection::spawn(a, server_router(certs::verifying_server_options(&pki)));
    let client = Connection::spawn(b, Router::new());
    client
        .start_tls(certs::client_options_certificate(&pki))
        .await
        .unwrap();
    assert_eq!(
        client.call(Sum { a: 1, b: 2 }).await.unwrap(),
        Total { total: 3 }
    );
    // Each side sees the other's certificate.
    let server_der = server.peer_certificates().unwrap();
    assert!(!server_der.is_empty());
    assert!(!client.peer_certificates().unwrap().is_empty());
    assert!(server.is_tls() && client.is_tls());
}

#[tokio::test]
async fn a_second_starttls_request_is_answered_only_one_tls() {
    let (a, b) = tokio::io::duplex(64 * 1024);
    Connection::spawn(a, server_router(TlsOptions::new()));
    let client = Connection::spawn(b, Router::new());
    client.start_tls(TlsOptions::new()).await.unwrap();
    // Locally refused, nothing sent...
    assert!(matches!(
        client.start_tls(TlsOptions::new()).await,
        Err(CallError::OnlyOneTls)
    ));
    // ...and a raw StartTLS reaching the responder is refused by it, with
    // the connection still usable.
    match client.call_raw("StartTLS", AmpBox::new()).await {
        Err(CallError::UnknownRemote { code, .. }) => assert_eq!(code.as_ref(), b"ONLY_ONE_TLS"),
        other => panic!("expected ONLY_ONE_TLS, got {other:?}"),
    }
    assert_eq!(
        client.call(Sum { a: 2, b: 2 }).await.unwrap(),
        Total { total: 4 }
    );
}

#[tokio::test]
async fn a_peer_without_starttls_answers_unhandled_and_amp_goes_on() {
    let (a, b) = tokio::io::duplex(64 * 1024);
    Connection::spawn(
        a,
        Router::new().route(|s: Sum, _| async move { Ok(Total { total: s.a + s.b }) }),
    );
    let client = Connection::spawn(b, Router::new());
    let e = client.start_tls(TlsOptions::new()).await.unwrap_err();
    assert!(matches!(e, CallError::Unhandled { .. }), "{e:?}");
    assert!(!client.is_tls());
    assert_eq!(
        client.call(Sum { a: 2, b: 5 }).await.unwrap(),
        Total { total: 7 }
    );
    // Refused, so it may be tried again (and refused again).
    assert!(matches!(
        client.start_tls(TlsOptions::new()).await,
        Err(CallError::Unhandled { .. })
    ));
}

#[tokio::test]
async fn plaintext_after_the_starttls_request_is_never_tls_data() {
    // The STARTTLS injection attack: bytes pipelined after the request,
    // before the handshake. The responder must not feed them to TLS.
    let (ours, mut theirs) = tokio::io::duplex(64 * 1024);
    let (_conn, driver) = Connection::builder()
        .router(server_router(TlsOptions::new()))
        .build(ours);
    let driver = tokio::spawn(driver);
    let mut req = AmpBox::new();
    req.insert("_command", "StartTLS");
    req.insert("_ask", "1");
    let mut wire = encode(&req);
    wire.extend_from_slice(b"\x16\x03\x01 injected");
    theirs.write_all(&wire).await.unwrap();
    let answer = read_box(&mut theirs).await;
    assert_eq!(answer.get("_answer").unwrap(), b"1");
    match driver.await.unwrap() {
        Disconnect::PlaintextBeforeTls { buffered } => assert_eq!(buffered, 12),
        other => panic!("expected PlaintextBeforeTls, got {other:?}"),
    }
    // Nothing more was written, and the connection is closed.
    let mut rest = Vec::new();
    theirs.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty(), "{rest:?}");
}

#[tokio::test]
async fn plaintext_after_the_starttls_answer_is_never_tls_data() {
    let (ours, mut theirs) = tokio::io::duplex(64 * 1024);
    let client = Connection::spawn(ours, Router::new());
    let tls = tokio::spawn({
        let client = client.clone();
        async move { client.start_tls(TlsOptions::new()).await }
    });
    let req = read_box(&mut theirs).await;
    assert_eq!(req.get("_command").unwrap(), b"StartTLS");
    let mut answer = AmpBox::new();
    answer.insert("_answer", req.get_bytes("_ask").unwrap());
    let mut wire = encode(&answer);
    wire.extend_from_slice(b"plaintext");
    theirs.write_all(&wire).await.unwrap();
    match tls.await.unwrap() {
        Err(CallError::ConnectionLost(Disconnect::PlaintextBeforeTls { buffered: 9 })) => {}
        other => panic!("expected PlaintextBeforeTls, got {other:?}"),
    }
}

#[tokio::test]
async fn a_rejected_client_leaves_nothing_half_open() {
    let pki = Pki::generate();
    let (a, b) = tokio::io::duplex(64 * 1024);
    let server = Connection::spawn(a, server_router(certs::verifying_server_options(&pki)));
    let client = Connection::spawn(b, Router::new());
    // No client certificate where one is required.
    let r = client.start_tls(certs::client_options(&pki)).await;
    if r.is_ok() {
        // TLS 1.3 reports the rejection on the first read.
        assert!(client.call(Sum { a: 1, b: 1 }).await.is_err());
    }
    let closed = client.closed().await;
    assert!(matches!(closed, Disconnect::Tls(_)), "{closed:?}");
    match server.closed().await {
        Disconnect::Tls(e) => assert!(
            matches!(
                e.downcast_ref::<TlsError>(),
                Some(TlsError::Handshake(rustls::Error::NoCertificatesPresented))
            ),
            "{e:?}"
        ),
        other => panic!("expected a TLS failure, got {other:?}"),
    }
}

/// Forward bytes between `a` and `b`; bytes from `b` to `a` wait until
/// `release` fires.
async fn gated_relay(
    a: tokio::io::DuplexStream,
    b: tokio::io::DuplexStream,
    release: tokio::sync::oneshot::Receiver<()>,
) {
    let (mut ar, mut aw) = tokio::io::split(a);
    let (mut br, mut bw) = tokio::io::split(b);
    let up = async {
        let _ = tokio::io::copy(&mut ar, &mut bw).await;
        let _ = bw.shutdown().await;
    };
    let down = async {
        let _ = release.await;
        let _ = tokio::io::copy(&mut br, &mut aw).await;
        let _ = aw.shutdown().await;
    };
    tokio::join!(up, down);
}

#[tokio::test]
async fn more_boxes_held_than_the_high_water_mark_while_starttls_waits() {
    // Boxes held for StartTLS must not stop the connection reading the
    // StartTLS answer (a deadlock if they did).
    let (client_io, relay_a) = tokio::io::duplex(64 * 1024);
    let (relay_b, server_io) = tokio::io::duplex(64 * 1024);
    let (release, gate) = tokio::sync::oneshot::channel();
    tokio::spawn(gated_relay(relay_a, relay_b, gate));
    Connection::spawn(server_io, server_router(TlsOptions::new()));
    let config = amp::Config::builder()
        .write_high_water(1024)
        .build()
        .unwrap();
    let (client, driver) = Connection::builder()
        .router(Router::new())
        .config(config)
        .build(client_io);
    tokio::spawn(driver);
    let tls = tokio::spawn({
        let client = client.clone();
        async move { client.start_tls(TlsOptions::new()).await }
    });
    let calls: Vec<_> = (0..64)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.call(Sum { a: i, b: 1 << 40 }).await })
        })
        .collect();
    // Let every call reach the connection (held: TLS is not up yet).
    for _ in 0..200 {
        tokio::task::yield_now().await;
    }
    release.send(()).unwrap();
    common::within("StartTLS", tls).await.unwrap().unwrap();
    for (i, c) in calls.into_iter().enumerate() {
        let total = common::within("held call", c).await.unwrap().unwrap();
        assert_eq!(total.total, i as i64 + (1 << 40));
    }
}

#[tokio::test]
async fn a_starttls_responder_may_refuse_and_amp_goes_on_in_clear() {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let allow = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    Connection::spawn(
        a,
        Router::with_state(allow.clone())
            .route(|s: Sum, _| async move { Ok(Total { total: s.a + s.b }) })
            .start_tls_per_connection(|ctx| async move {
                if ctx.state.load(std::sync::atomic::Ordering::SeqCst) {
                    Ok(TlsOptions::new())
                } else {
                    Err(amp::RawError::new("TLS_ERROR", "not yet"))
                }
            }),
    );
    let client = Connection::spawn(b, Router::new());
    match client.start_tls(TlsOptions::new()).await {
        Err(CallError::Remote(amp::StartTlsError::TlsError(d))) => assert_eq!(d, "not yet"),
        other => panic!("expected TLS_ERROR, got {other:?}"),
    }
    assert_eq!(
        client.call(Sum { a: 1, b: 1 }).await.unwrap(),
        Total { total: 2 }
    );
    allow.store(true, std::sync::atomic::Ordering::SeqCst);
    client.start_tls(TlsOptions::new()).await.unwrap();
    assert!(client.is_tls());
    assert_eq!(
        client.call(Sum { a: 2, b: 2 }).await.unwrap(),
        Total { total: 4 }
    );
}
