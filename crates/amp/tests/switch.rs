//! Protocol switching without a network peer: a scripted peer over an
//! in-memory stream, with the segment boundaries under the test's control.
//!
//! The property: whatever the segment boundaries, a switch loses no byte
//! and replays none: every byte after the switch box reaches the new
//! protocol, in order, exactly once.

mod common;

use amp::{AmpBox, CallError, Connection, Disconnect, Router, SwitchTo};
use common::raw::{encode, read_box, read_box_rest, Refuse, Refused, Sum, Switch, Total};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};

/// A stream whose reads return at most the next scheduled number of bytes:
/// the test decides where the segments end.
struct Chunked {
    inner: DuplexStream,
    schedule: Vec<usize>,
}

impl AsyncRead for Chunked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        let limit = match this.schedule.first() {
            Some(&n) => n.max(1).min(buf.remaining()),
            None => buf.remaining(),
        };
        let mut tmp = vec![0u8; limit];
        let mut rb = ReadBuf::new(&mut tmp);
        match Pin::new(&mut this.inner).poll_read(cx, &mut rb) {
            Poll::Ready(Ok(())) => {
                let n = rb.filled().len();
                buf.put_slice(rb.filled());
                if n > 0 && !this.schedule.is_empty() {
                    if this.schedule[0] <= n {
                        this.schedule.remove(0);
                    } else {
                        this.schedule[0] -= n;
                    }
                }
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl AsyncWrite for Chunked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

fn payload() -> Vec<u8> {
    // Looks like AMP on purpose: it must not be parsed as AMP.
    let mut p = encode(&{
        let mut b = AmpBox::new();
        b.insert("_command", "Sum");
        b.insert("_ask", "99");
        b
    });
    p.extend_from_slice(b"\x00\x00 then raw bytes \xff\x00");
    p
}

/// Caller side: the answer box and the new protocol's first bytes arrive
/// split at `cut` (and again at `cut2`).
async fn caller_case(cut: usize, cut2: usize) {
    let (ours, mut theirs) = tokio::io::duplex(1 << 16);
    let io = Chunked {
        inner: ours,
        schedule: vec![cut, cut2],
    };
    let conn = Connection::spawn(io, Router::new());
    let switch = tokio::spawn({
        let conn = conn.clone();
        async move { conn.switch(Switch).await }
    });
    let req = read_box(&mut theirs).await;
    assert_eq!(req.get("_command").unwrap(), b"Switch");
    let mut answer = AmpBox::new();
    answer.insert("_answer", req.get_bytes("_ask").unwrap());
    let mut wire = encode(&answer);
    wire.extend_from_slice(&payload());
    theirs.write_all(&wire).await.unwrap();
    let mut stream = switch.await.unwrap().expect("switch accepted");
    let mut got = vec![0u8; payload().len()];
    stream.read_exact(&mut got).await.unwrap();
    assert_eq!(got, payload(), "cut at {cut}/{cut2}");
    // And the stream goes on both ways.
    stream.write_all(b"ping").await.unwrap();
    let mut four = [0u8; 4];
    theirs.read_exact(&mut four).await.unwrap();
    assert_eq!(&four, b"ping");
    theirs.write_all(b"pong").await.unwrap();
    stream.read_exact(&mut four).await.unwrap();
    assert_eq!(&four, b"pong");
    assert!(matches!(
        conn.call(Sum { a: 1, b: 2 }).await,
        Err(CallError::ProtocolSwitched)
    ));
}

/// Responder side: the switch request and bytes pipelined after it arrive
/// split at `cut` (and `cut2`).
async fn responder_case(cut: usize, cut2: usize) {
    let (ours, mut theirs) = tokio::io::duplex(1 << 16);
    let io = Chunked {
        inner: ours,
        schedule: vec![cut, cut2],
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<Vec<u8>>();
    let tx = std::sync::Mutex::new(Some(tx));
    let want = payload().len();
    let router = Router::new()
        .route(|s: Sum, _| async move { Ok(Total { total: s.a + s.b }) })
        .route_switch(move |_: Switch, _| {
            let tx = tx.lock().unwrap().take();
            async move {
                Ok(SwitchTo::new(move |mut s| async move {
                    let mut got = vec![0u8; want];
                    s.read_exact(&mut got).await.unwrap();
                    s.write_all(b"new protocol here").await.unwrap();
                    let _ = tx.unwrap().send(got);
                }))
            }
        });
    let (_conn, driver) = Connection::builder().router(router).build(io);
    let driver = tokio::spawn(driver);
    let mut req = AmpBox::new();
    req.insert("_command", "Switch");
    req.insert("_ask", "1");
    let mut wire = encode(&req);
    wire.extend_from_slice(&payload());
    theirs.write_all(&wire).await.unwrap();
    let got = rx.await.expect("the new protocol ran");
    assert_eq!(got, payload(), "cut at {cut}/{cut2}");
    let (answer, mut after) = read_box_rest(&mut theirs).await;
    assert_eq!(answer.get("_answer").unwrap(), b"1");
    assert_eq!(answer.len(), 1, "the switch answer carries only _answer");
    let mut more = vec![0u8; 17 - after.len()];
    theirs.read_exact(&mut more).await.unwrap();
    after.extend_from_slice(&more);
    assert_eq!(&after, b"new protocol here");
    assert!(matches!(driver.await.unwrap(), Disconnect::Switched));
}

#[tokio::test]
async fn caller_switch_loses_no_byte_at_any_split() {
    let total = 30 + payload().len();
    for cut in 0..=total {
        caller_case(cut, 1).await;
        caller_case(cut, 7).await;
    }
}

#[tokio::test]
async fn responder_switch_loses_no_byte_at_any_split() {
    let total = 40 + payload().len();
    for cut in 0..=total {
        responder_case(cut, 1).await;
        responder_case(cut, 5).await;
    }
}

#[tokio::test]
async fn refused_switch_unlocks() {
    let (a, b) = tokio::io::duplex(4096);
    Connection::spawn(
        a,
        Router::new()
            .route(|s: Sum, _| async move { Ok(Total { total: s.a + s.b }) })
            .route_switch(|_: Refuse, _| async move { Err(Refused::Refused) }),
    );
    let client = Connection::spawn(b, Router::new());
    let e = client.switch(Refuse).await.unwrap_err();
    assert!(matches!(e, CallError::Remote(Refused::Refused)), "{e:?}");
    assert_eq!(
        client.call(Sum { a: 2, b: 3 }).await.unwrap(),
        Total { total: 5 }
    );
}

#[tokio::test]
async fn sends_while_locked_fail_and_second_switch_fails() {
    let (ours, mut theirs) = tokio::io::duplex(4096);
    let conn = Connection::spawn(ours, Router::new());
    let switch = tokio::spawn({
        let conn = conn.clone();
        async move { conn.switch(Switch).await }
    });
    let req = read_box(&mut theirs).await;
    // Locked now: every send fails at once, nothing is written.
    assert!(matches!(
        conn.call(Sum { a: 1, b: 1 }).await,
        Err(CallError::ProtocolSwitched)
    ));
    assert!(matches!(
        conn.notify(Sum { a: 1, b: 1 }).await,
        Err(CallError::ProtocolSwitched)
    ));
    assert!(matches!(
        conn.switch(Switch).await,
        Err(CallError::ProtocolSwitched)
    ));
    let mut answer = AmpBox::new();
    answer.insert("_answer", req.get_bytes("_ask").unwrap());
    theirs.write_all(&encode(&answer)).await.unwrap();
    let _stream = switch.await.unwrap().unwrap();
    assert!(matches!(
        conn.switch(Switch).await,
        Err(CallError::ProtocolSwitched)
    ));
    assert!(matches!(conn.closed().await, Disconnect::Switched));
}

#[tokio::test]
async fn outstanding_calls_answered_before_the_switch_answer_or_failed() {
    let (ours, mut theirs) = tokio::io::duplex(4096);
    let conn = Connection::spawn(ours, Router::new());
    let first = tokio::spawn({
        let conn = conn.clone();
        async move { conn.call(Sum { a: 1, b: 2 }).await }
    });
    let r1 = read_box(&mut theirs).await;
    let second = tokio::spawn({
        let conn = conn.clone();
        async move { conn.call(Sum { a: 3, b: 4 }).await }
    });
    let _r2 = read_box(&mut theirs).await;
    let switch = tokio::spawn({
        let conn = conn.clone();
        async move { conn.switch(Switch).await }
    });
    let sw = read_box(&mut theirs).await;
    // Answer the first call, then the switch; the second never gets one.
    let mut a1 = AmpBox::new();
    a1.insert("_answer", r1.get_bytes("_ask").unwrap());
    a1.insert("total", "3");
    let mut a2 = AmpBox::new();
    a2.insert("_answer", sw.get_bytes("_ask").unwrap());
    let mut wire = encode(&a1);
    wire.extend_from_slice(&encode(&a2));
    theirs.write_all(&wire).await.unwrap();
    assert_eq!(first.await.unwrap().unwrap(), Total { total: 3 });
    let _stream = switch.await.unwrap().unwrap();
    assert!(matches!(
        second.await.unwrap(),
        Err(CallError::ConnectionLost(Disconnect::Switched))
    ));
}

#[tokio::test]
async fn peer_closing_during_a_switch_fails_it() {
    let (ours, mut theirs) = tokio::io::duplex(4096);
    let conn = Connection::spawn(ours, Router::new());
    let switch = tokio::spawn({
        let conn = conn.clone();
        async move { conn.switch(Switch).await }
    });
    let _ = read_box(&mut theirs).await;
    drop(theirs);
    assert!(matches!(
        switch.await.unwrap(),
        Err(CallError::ConnectionLost(Disconnect::PeerClosed))
    ));
}

#[tokio::test]
async fn answers_produced_while_locked_are_held_then_sent_on_refusal() {
    // Our responder answers while our own switch request is out: the
    // answer waits; the switch is refused; the answer goes out.
    let (ours, mut theirs) = tokio::io::duplex(4096);
    let conn = Connection::spawn(
        ours,
        Router::new().route(|s: Sum, _| async move { Ok(Total { total: s.a + s.b }) }),
    );
    let switch = tokio::spawn({
        let conn = conn.clone();
        async move { conn.switch(Refuse).await }
    });
    let sw = read_box(&mut theirs).await;
    let mut req = AmpBox::new();
    req.insert("_command", "Sum");
    req.insert("_ask", "a1");
    req.insert("a", "20");
    req.insert("b", "22");
    let mut refusal = AmpBox::new();
    refusal.insert("_error", sw.get_bytes("_ask").unwrap());
    refusal.insert("_error_code", "REFUSED");
    refusal.insert("_error_description", "no");
    theirs.write_all(&encode(&req)).await.unwrap();
    // The Sum request is answered while locked: held back. We cannot
    // observe "nothing written" without a timer, so check the order: the
    // answer comes only after the refusal, and it is complete.
    theirs.write_all(&encode(&refusal)).await.unwrap();
    assert!(matches!(
        switch.await.unwrap(),
        Err(CallError::Remote(Refused::Refused))
    ));
    let answer = read_box(&mut theirs).await;
    assert_eq!(answer.get("_answer").unwrap(), b"a1");
    assert_eq!(answer.get("total").unwrap(), b"42");
}

#[tokio::test]
async fn a_peer_flooding_requests_during_our_switch_is_cut_off() {
    // Our switch awaits its answer; the peer keeps calling instead. Answers
    // are held (we are locked) up to a limit, then the connection closes
    // with a clear reason instead of buffering forever.
    let (ours, mut theirs) = tokio::io::duplex(1 << 16);
    let (conn, driver) = Connection::builder()
        .router(Router::new().route(|s: Sum, _| async move { Ok(Total { total: s.a + s.b }) }))
        .build(ours);
    let driver = tokio::spawn(driver);
    let switch = tokio::spawn({
        let conn = conn.clone();
        async move { conn.switch(Switch).await }
    });
    let _ = read_box(&mut theirs).await;
    let flood = tokio::spawn(async move {
        let mut n = 0u64;
        loop {
            let mut req = AmpBox::new();
            req.insert("_command", "Sum");
            req.insert("_ask", n.to_string());
            req.insert("a", "1");
            req.insert("b", "2");
            if theirs.write_all(&encode(&req)).await.is_err() {
                return n;
            }
            n += 1;
        }
    });
    match driver.await.unwrap() {
        Disconnect::HeldTooMuch { held } => assert!(held > 1 << 20, "{held}"),
        other => panic!("expected HeldTooMuch, got {other:?}"),
    }
    assert!(matches!(
        switch.await.unwrap(),
        Err(CallError::ConnectionLost(Disconnect::HeldTooMuch { .. }))
    ));
    assert!(flood.await.unwrap() > 10_000);
}
