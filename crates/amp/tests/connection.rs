//! Connection behaviour against a scripted raw peer (no Twisted needed):
//! malformed input, loss with calls outstanding, error rules, panics.

use amp::{
    AmpBox, AmpError, BoxDecoder, CallError, Command, Connection, Disconnect, ProtocolError,
    Record, Router,
};
use bytes::BytesMut;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::time::timeout;

#[derive(Command, Debug)]
#[amp(response = Total, error = SumError)]
struct Sum {
    a: i64,
    b: i64,
}

#[derive(Record, Debug, PartialEq)]
struct Total {
    total: i64,
}

#[derive(AmpError, Debug, PartialEq)]
enum SumError {
    #[amp(code = "NEGATIVE")]
    Negative(String),
    #[amp(code = "DOOM", fatal)]
    Doom,
}

#[derive(Command, Debug)]
#[amp(response = Total)]
struct Blob {
    data: Vec<u8>,
}

const LIMIT: Duration = Duration::from_secs(10);

fn sum_router() -> Router {
    Router::new().route(|s: Sum, _| async move {
        if s.a < 0 {
            return Err(SumError::Negative(format!("{} is negative", s.a)));
        }
        if s.a == 666 {
            return Err(SumError::Doom);
        }
        if s.a == 999 {
            panic!("responder blew up");
        }
        Ok(Total { total: s.a + s.b })
    })
}

/// A raw peer: write boxes, read boxes.
struct Raw {
    io: DuplexStream,
    buf: BytesMut,
    dec: BoxDecoder,
}

impl Raw {
    fn new(io: DuplexStream) -> Self {
        Raw {
            io,
            buf: BytesMut::new(),
            dec: BoxDecoder::new(),
        }
    }
    async fn send(&mut self, b: &AmpBox) {
        self.io.write_all(&b.to_bytes().unwrap()).await.unwrap();
    }
    async fn recv(&mut self) -> Option<AmpBox> {
        loop {
            if let Some(b) = self.dec.decode(&mut self.buf).unwrap() {
                return Some(b);
            }
            let n = timeout(LIMIT, self.io.read_buf(&mut self.buf))
                .await
                .expect("peer silent")
                .unwrap();
            if n == 0 {
                return None;
            }
        }
    }
    /// Read until EOF, returning the boxes seen.
    async fn until_eof(&mut self) -> Vec<AmpBox> {
        let mut out = Vec::new();
        while let Some(b) = self.recv().await {
            out.push(b);
        }
        out
    }
}

fn boxed(pairs: &[(&'static str, &'static str)]) -> AmpBox {
    pairs.iter().map(|&(k, v)| (k, v)).collect()
}

fn served() -> (Connection, Raw) {
    let (a, b) = tokio::io::duplex(1 << 20);
    (Connection::spawn(a, sum_router()), Raw::new(b))
}

#[tokio::test]
async fn request_gets_answer_with_the_same_tag() {
    let (_c, mut peer) = served();
    peer.send(&boxed(&[
        ("_command", "Sum"),
        ("_ask", "ff"),
        ("a", "1"),
        ("b", "2"),
    ]))
    .await;
    let b = peer.recv().await.unwrap();
    assert_eq!(b, boxed(&[("_answer", "ff"), ("total", "3")]));
}

#[tokio::test]
async fn unknown_command_is_unhandled_and_connection_stays() {
    let (_c, mut peer) = served();
    peer.send(&boxed(&[("_command", "Nope"), ("_ask", "1")]))
        .await;
    let b = peer.recv().await.unwrap();
    assert_eq!(
        b,
        boxed(&[
            ("_error", "1"),
            ("_error_code", "UNHANDLED"),
            ("_error_description", "Unhandled Command: b'Nope'"),
        ])
    );
    peer.send(&boxed(&[
        ("_command", "Sum"),
        ("_ask", "2"),
        ("a", "1"),
        ("b", "2"),
    ]))
    .await;
    assert_eq!(peer.recv().await.unwrap().get("total").unwrap(), b"3");
}

#[tokio::test]
async fn declared_error_keeps_connection() {
    let (_c, mut peer) = served();
    peer.send(&boxed(&[
        ("_command", "Sum"),
        ("_ask", "1"),
        ("a", "-5"),
        ("b", "2"),
    ]))
    .await;
    assert_eq!(
        peer.recv().await.unwrap(),
        boxed(&[
            ("_error", "1"),
            ("_error_code", "NEGATIVE"),
            ("_error_description", "-5 is negative"),
        ])
    );
    peer.send(&boxed(&[
        ("_command", "Sum"),
        ("_ask", "2"),
        ("a", "5"),
        ("b", "2"),
    ]))
    .await;
    assert_eq!(peer.recv().await.unwrap().get("total").unwrap(), b"7");
}

#[tokio::test]
async fn fatal_error_is_sent_then_connection_closes() {
    let (c, mut peer) = served();
    peer.send(&boxed(&[
        ("_command", "Sum"),
        ("_ask", "1"),
        ("a", "666"),
        ("b", "2"),
    ]))
    .await;
    let boxes = peer.until_eof().await;
    assert_eq!(boxes.len(), 1);
    assert_eq!(boxes[0].get("_error_code").unwrap(), b"DOOM");
    let why = timeout(LIMIT, c.closed()).await.unwrap();
    assert!(
        matches!(why, Disconnect::FatalError { ref code, .. } if code == "DOOM"),
        "{why:?}"
    );
}

#[tokio::test]
async fn undecodable_arguments_send_unknown_and_close() {
    let (c, mut peer) = served();
    peer.send(&boxed(&[
        ("_command", "Sum"),
        ("_ask", "1"),
        ("a", "x"),
        ("b", "2"),
    ]))
    .await;
    let boxes = peer.until_eof().await;
    assert_eq!(
        boxes,
        vec![boxed(&[
            ("_error", "1"),
            ("_error_code", "UNKNOWN"),
            ("_error_description", "Unknown Error"),
        ])]
    );
    assert!(matches!(
        timeout(LIMIT, c.closed()).await.unwrap(),
        Disconnect::UnknownError { .. }
    ));
}

#[tokio::test]
async fn missing_argument_sends_unknown_and_closes() {
    let (_c, mut peer) = served();
    peer.send(&boxed(&[("_command", "Sum"), ("_ask", "1"), ("a", "1")]))
        .await;
    let boxes = peer.until_eof().await;
    assert_eq!(boxes[0].get("_error_code").unwrap(), b"UNKNOWN");
}

#[tokio::test]
async fn panicking_responder_sends_unknown_and_closes() {
    let (c, mut peer) = served();
    peer.send(&boxed(&[
        ("_command", "Sum"),
        ("_ask", "1"),
        ("a", "999"),
        ("b", "0"),
    ]))
    .await;
    let boxes = peer.until_eof().await;
    assert_eq!(boxes[0].get("_error_code").unwrap(), b"UNKNOWN");
    match timeout(LIMIT, c.closed()).await.unwrap() {
        Disconnect::UnknownError { reason, .. } => assert!(reason.contains("blew up"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn unencodable_response_sends_unknown_and_closes() {
    // A responder whose response is too large to encode (a 70 KB value).
    let (a, b) = tokio::io::duplex(1 << 20);
    let _c = Connection::spawn(
        a,
        Router::new().route_raw("Big", |_, _| async move {
            let mut r = AmpBox::new();
            r.insert("v", vec![b'x'; 70_000]);
            Ok(r)
        }),
    );
    let mut peer = Raw::new(b);
    peer.send(&boxed(&[("_command", "Big"), ("_ask", "1")]))
        .await;
    let boxes = peer.until_eof().await;
    assert_eq!(boxes.len(), 1);
    assert_eq!(boxes[0].get("_error_code").unwrap(), b"UNKNOWN");
}

#[tokio::test]
async fn failing_no_answer_request_closes_connection() {
    let (c, mut peer) = served();
    // No _ask: nothing is ever sent back, but the failure closes (Twisted).
    peer.send(&boxed(&[("_command", "Sum"), ("a", "-1"), ("b", "2")]))
        .await;
    assert!(peer.until_eof().await.is_empty());
    assert!(matches!(
        timeout(LIMIT, c.closed()).await.unwrap(),
        Disconnect::NoAnswerFailed { .. }
    ));
}

#[tokio::test]
async fn successful_no_answer_request_sends_nothing() {
    let (_c, mut peer) = served();
    peer.send(&boxed(&[("_command", "Sum"), ("a", "1"), ("b", "2")]))
        .await;
    peer.send(&boxed(&[
        ("_command", "Sum"),
        ("_ask", "7"),
        ("a", "1"),
        ("b", "1"),
    ]))
    .await;
    // The first thing back is the answer to tag 7.
    assert_eq!(peer.recv().await.unwrap().get("_answer").unwrap(), b"7");
}

async fn expect_protocol_close(bytes: &[u8], check: impl Fn(&ProtocolError) -> bool) {
    let (a, mut b) = tokio::io::duplex(1 << 20);
    let c = Connection::spawn(a, sum_router());
    b.write_all(bytes).await.unwrap();
    // Do not close our side: the connection must notice by itself.
    match timeout(LIMIT, c.closed())
        .await
        .expect("connection did not close")
    {
        Disconnect::Protocol(e) => assert!(check(&e), "{e:?}"),
        other => panic!("expected a protocol error, got {other:?}"),
    }
    let call = timeout(LIMIT, c.call(Sum { a: 1, b: 1 })).await.unwrap();
    assert!(matches!(
        call,
        Err(CallError::ConnectionLost(Disconnect::Protocol(_)))
    ));
}

#[tokio::test]
async fn key_too_long_is_detected_from_the_length_alone() {
    expect_protocol_close(b"\x01\x00", |e| {
        matches!(e, ProtocolError::KeyTooLong { len: 256 })
    })
    .await;
    expect_protocol_close(b"\xff\xff", |e| {
        matches!(e, ProtocolError::KeyTooLong { len: 65535 })
    })
    .await;
}

#[tokio::test]
async fn box_without_routing_keys_closes() {
    let b = boxed(&[("hello", "world")]).to_bytes().unwrap();
    expect_protocol_close(&b, |e| matches!(e, ProtocolError::NotRouted { .. })).await;
    expect_protocol_close(b"\x00\x00", |e| {
        matches!(e, ProtocolError::NotRouted { .. })
    })
    .await;
}

#[tokio::test]
async fn answer_for_unknown_tag_closes() {
    let b = boxed(&[("_answer", "42"), ("total", "1")])
        .to_bytes()
        .unwrap();
    expect_protocol_close(&b, |e| matches!(e, ProtocolError::UnknownTag { .. })).await;
    let b = boxed(&[("_error", "1"), ("_error_code", "X")])
        .to_bytes()
        .unwrap();
    expect_protocol_close(&b, |e| matches!(e, ProtocolError::UnknownTag { .. })).await;
}

#[tokio::test]
async fn truncated_box_at_eof_is_a_protocol_error() {
    let (a, mut b) = tokio::io::duplex(1 << 20);
    let c = Connection::spawn(a, sum_router());
    b.write_all(b"\x00\x08_command\x00\x03Su").await.unwrap();
    drop(b);
    assert!(matches!(
        timeout(LIMIT, c.closed()).await.unwrap(),
        Disconnect::Protocol(ProtocolError::TruncatedBox { .. })
    ));
}

#[tokio::test]
async fn garbage_never_panics() {
    // Deterministic pseudo-random garbage of many shapes.
    let mut seed = 0x1234_5678_u64;
    for round in 0..200 {
        let len = 1 + (round * 7) % 300;
        let mut bytes = Vec::with_capacity(len);
        for _ in 0..len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            bytes.push((seed >> 24) as u8);
        }
        let (a, mut b) = tokio::io::duplex(1 << 16);
        let c = Connection::spawn(a, sum_router());
        let _ = b.write_all(&bytes).await;
        drop(b);
        // Whatever the bytes, the connection ends for a reason the peer
        // gave: never a panic, never a close nobody asked for.
        let reason = timeout(LIMIT, c.closed()).await.expect("no close");
        assert!(
            matches!(
                reason,
                Disconnect::Protocol(_)
                    | Disconnect::PeerClosed
                    | Disconnect::UnknownError { .. }
                    | Disconnect::NoAnswerFailed { .. }
            ),
            "round {round}: {reason:?}"
        );
    }
}

#[tokio::test]
async fn loss_fails_outstanding_and_later_calls() {
    let (a, b) = tokio::io::duplex(1 << 20);
    let c = Connection::spawn(a, Router::new());
    let mut peer = Raw::new(b);
    let calls: Vec<_> = (0..50)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move { c.call(Sum { a: i, b: 0 }).await })
        })
        .collect();
    let pending = tokio::spawn(futures_util::future::join_all(calls));
    // Wait until all 50 requests reached the peer, then vanish.
    for _ in 0..50 {
        assert!(peer.recv().await.unwrap().contains_key("_ask"));
    }
    drop(peer);
    let results = timeout(LIMIT, pending).await.unwrap().unwrap();
    assert_eq!(results.len(), 50);
    for r in results {
        let r = r.unwrap();
        assert!(
            matches!(r, Err(CallError::ConnectionLost(Disconnect::PeerClosed))),
            "{r:?}"
        );
    }
    let later = timeout(LIMIT, c.call(Sum { a: 1, b: 1 })).await.unwrap();
    assert!(matches!(
        later,
        Err(CallError::ConnectionLost(Disconnect::PeerClosed))
    ));
}

#[tokio::test]
async fn oversized_argument_fails_locally_before_writing() {
    let (a, b) = tokio::io::duplex(1 << 20);
    let c = Connection::spawn(a, Router::new());
    let mut peer = Raw::new(b);
    let r = c
        .call(Blob {
            data: vec![0; 65_536],
        })
        .await;
    assert!(
        matches!(
            r,
            Err(CallError::Encode(amp::EncodeError::ValueTooLong {
                len: 65_536,
                ..
            }))
        ),
        "{r:?}"
    );
    // Nothing was written for it: the next box the peer sees is tag 1's
    // successor call (the failed call consumed no tag).
    let c2 = c.clone();
    let next = tokio::spawn(async move { c2.call(Sum { a: 1, b: 2 }).await });
    let b = peer.recv().await.unwrap();
    assert_eq!(b.get("_command").unwrap(), b"Sum");
    assert_eq!(b.get("_ask").unwrap(), b"1");
    peer.send(&boxed(&[("_answer", "1"), ("total", "3")])).await;
    assert_eq!(next.await.unwrap().unwrap(), Total { total: 3 });
}

#[tokio::test]
async fn answers_in_any_order_reach_the_right_callers() {
    let (a, b) = tokio::io::duplex(1 << 20);
    let c = Connection::spawn(a, Router::new());
    let mut peer = Raw::new(b);
    let calls: Vec<_> = (0..20)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move { c.call(Sum { a: i, b: 0 }).await })
        })
        .collect();
    let mut asks = Vec::new();
    for _ in 0..20 {
        let b = peer.recv().await.unwrap();
        asks.push((b.get_bytes("_ask").unwrap(), b.get_bytes("a").unwrap()));
    }
    // Answer in reverse order, echoing a as total.
    for (tag, a) in asks.into_iter().rev() {
        let mut r = AmpBox::new();
        r.insert("_answer", tag);
        r.insert("total", a);
        peer.send(&r).await;
    }
    for (i, h) in calls.into_iter().enumerate() {
        assert_eq!(h.await.unwrap().unwrap().total, i as i64);
    }
}

#[tokio::test]
async fn error_answers_map_to_declared_unhandled_and_unknown() {
    let (a, b) = tokio::io::duplex(1 << 20);
    let c = Connection::spawn(a, Router::new());
    let mut peer = Raw::new(b);
    let c1 = c.clone();
    let h = tokio::spawn(async move {
        (
            c1.call(Sum { a: 1, b: 0 }).await,
            c1.call(Sum { a: 2, b: 0 }).await,
            c1.call(Sum { a: 3, b: 0 }).await,
        )
    });
    for (code, desc) in [
        ("NEGATIVE", "bad"),
        ("UNHANDLED", "Unhandled Command: b'Sum'"),
        ("WHAT", "\u{fffd}"),
    ] {
        let req = peer.recv().await.unwrap();
        let mut e = AmpBox::new();
        e.insert("_error", req.get_bytes("_ask").unwrap());
        e.insert("_error_code", code);
        e.insert("_error_description", desc);
        peer.send(&e).await;
    }
    let (r1, r2, r3) = h.await.unwrap();
    assert!(matches!(r1, Err(CallError::Remote(SumError::Negative(ref d))) if d == "bad"));
    assert!(
        matches!(r2, Err(CallError::Unhandled { ref description }) if description == "Unhandled Command: b'Sum'")
    );
    assert!(
        matches!(r3, Err(CallError::UnknownRemote { ref code, .. }) if code.as_ref() == b"WHAT")
    );
}

#[tokio::test]
async fn dropping_every_handle_of_a_pure_client_closes_it() {
    let (a, b) = tokio::io::duplex(1 << 20);
    let c = Connection::spawn(a, Router::new());
    let mut peer = Raw::new(b);
    drop(c);
    assert!(peer.until_eof().await.is_empty());
}

#[tokio::test]
async fn server_connection_survives_without_handles_and_can_call_back() {
    #[derive(Command)]
    #[amp(response = Total)]
    struct Ask {
        n: i64,
    }
    let (a, b) = tokio::io::duplex(1 << 20);
    // The server's responder for Ask calls Sum back on the client.
    drop(Connection::spawn(
        a,
        Router::new().route(|q: Ask, ctx| async move {
            let t = ctx
                .peer()
                .call(Sum { a: q.n, b: q.n })
                .await
                .expect("callback");
            Ok(Total {
                total: t.total * 10,
            })
        }),
    ));
    let client = Connection::spawn(b, sum_router());
    let r = timeout(LIMIT, client.call(Ask { n: 4 }))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.total, 80);
}

#[tokio::test]
async fn close_flushes_queued_boxes_then_ends() {
    let (a, b) = tokio::io::duplex(1 << 20);
    let c = Connection::spawn(a, Router::new());
    let mut peer = Raw::new(b);
    c.notify(Sum { a: 1, b: 2 }).await.unwrap();
    c.close().await;
    let boxes = peer.until_eof().await;
    assert_eq!(boxes.len(), 1);
    assert!(!boxes[0].contains_key("_ask"));
    assert!(matches!(c.closed().await, Disconnect::LocalClose));
}

#[tokio::test]
async fn dropping_the_driver_ends_the_connection_for_every_handle() {
    let (a, _b) = tokio::io::duplex(1 << 20);
    let (c, driver) = Connection::builder().router(Router::new()).build(a);
    let call = {
        let c = c.clone();
        tokio::spawn(async move { c.call(Sum { a: 1, b: 2 }).await })
    };
    // Run the driver until the request is written, then abandon it.
    let mut driver = Box::pin(driver);
    let mut peer_side = _b;
    let mut buf = [0u8; 1];
    tokio::select! {
        _ = &mut driver => panic!("driver ended early"),
        r = peer_side.read_exact(&mut buf) => { r.unwrap(); }
    }
    drop(driver);
    // Its own reason, not a local close: nobody closed it.
    let r = timeout(LIMIT, call).await.unwrap().unwrap();
    assert!(
        matches!(r, Err(CallError::ConnectionLost(Disconnect::DriverDropped))),
        "{r:?}"
    );
    assert!(matches!(
        timeout(LIMIT, c.closed()).await.unwrap(),
        Disconnect::DriverDropped
    ));
}

#[tokio::test(flavor = "current_thread")]
async fn max_in_flight_stops_reading_until_responders_finish() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::sync::Semaphore;

    let started = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(0));
    let router = Router::with_state((started.clone(), gate.clone())).route(
        |s: Sum, ctx: amp::Ctx<(Arc<AtomicUsize>, Arc<Semaphore>)>| async move {
            ctx.state.0.fetch_add(1, Ordering::SeqCst);
            ctx.state.1.acquire().await.unwrap().forget();
            Ok(Total { total: s.a + s.b })
        },
    );
    let config = amp::Config::builder().max_in_flight(2).build().unwrap();
    let (a, b) = tokio::io::duplex(1 << 20);
    let _c = Connection::builder().router(router).config(config).spawn(a);
    let mut peer = Raw::new(b);
    for i in 0..10 {
        let mut r = AmpBox::new();
        r.insert("_command", "Sum");
        r.insert("_ask", format!("{:x}", i + 1));
        r.insert("a", i.to_string());
        r.insert("b", "0");
        peer.send(&r).await;
    }
    // Let the connection run as far as it can (single-threaded runtime:
    // every yield hands it the thread).
    for _ in 0..200 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        started.load(Ordering::SeqCst),
        2,
        "only max_in_flight responders start"
    );
    gate.add_permits(10);
    let mut answered = 0;
    while answered < 10 {
        let b = peer.recv().await.unwrap();
        assert!(b.contains_key("_answer"));
        answered += 1;
    }
    assert_eq!(started.load(Ordering::SeqCst), 10);
}

#[tokio::test(flavor = "current_thread")]
async fn a_peer_that_does_not_read_pushes_back_on_callers() {
    use futures_util::FutureExt;
    let (a, mut b) = tokio::io::duplex(1024);
    let config = amp::Config::builder()
        .write_high_water(4096)
        .build()
        .unwrap();
    let c = Connection::builder()
        .router(Router::new())
        .config(config)
        .spawn(a);
    let mut sent = 0i64;
    loop {
        let fut = c.notify(Sum { a: sent, b: 0 });
        tokio::pin!(fut);
        let mut done = false;
        for _ in 0..50 {
            if fut.as_mut().now_or_never().is_some() {
                done = true;
                break;
            }
            tokio::task::yield_now().await;
        }
        if !done {
            // Blocked: nothing is lost, and once the peer reads, it goes on.
            let reader = tokio::spawn(async move {
                let mut got = Vec::new();
                let mut buf = vec![0u8; 4096];
                loop {
                    let n = b.read(&mut buf).await.unwrap();
                    if n == 0 {
                        return got;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
            });
            timeout(LIMIT, fut).await.unwrap().unwrap();
            c.close().await;
            let bytes = timeout(LIMIT, reader).await.unwrap().unwrap();
            let mut buf = BytesMut::from(&bytes[..]);
            let mut dec = BoxDecoder::new();
            let mut n = 0;
            while let Some(b) = dec.decode(&mut buf).unwrap() {
                assert_eq!(b.get("a").unwrap(), n.to_string().as_bytes());
                n += 1;
            }
            assert_eq!(
                n,
                sent + 1,
                "every queued request reached the peer, in order"
            );
            break;
        }
        sent += 1;
        assert!(sent < 100_000, "callers were never pushed back");
    }
    assert!(sent > 50, "blocked too early: {sent}");
}
