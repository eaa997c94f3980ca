//! Malformed input closes the connection with a protocol error, never a
//! panic.

use amp::{CallError, Connection, Disconnect, ProtocolError};
use tokio::io::AsyncWriteExt;
use tokio::time::timeout;

use crate::{boxed, sum_router, Sum, LIMIT};

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
