//! Calls: loss with calls outstanding, local encode errors, answers out
//! of order, error answers.

use amp::{AmpBox, CallError, Connection, Disconnect, Router};
use tokio::time::timeout;

use crate::{boxed, Blob, Raw, Sum, SumError, Total, LIMIT};

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
