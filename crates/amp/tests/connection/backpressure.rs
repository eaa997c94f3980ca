//! Back-pressure: `max_in_flight` and the write high-water mark.

use amp::{AmpBox, BoxDecoder, Connection, Router};
use bytes::BytesMut;
use tokio::io::AsyncReadExt;
use tokio::time::timeout;

use crate::{Raw, Sum, Total, LIMIT};

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
