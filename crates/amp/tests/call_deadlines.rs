//! Call time limits: kept by the session with the calls (one timer for
//! all), and by the call itself only while it waits for room to be written.

use amp::{CallError, CallOptions, Command, Connection, Record, Router};
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::time::{Duration, Instant};

#[derive(Command, Debug)]
#[amp(response = Total)]
struct Sum {
    a: i64,
    b: i64,
}

#[derive(Command, Debug)]
#[amp(response = Total)]
struct Slow;

#[derive(Record, Debug, PartialEq)]
struct Total {
    total: i64,
}

fn router() -> Router {
    Router::new()
        .route(|s: Sum, _| async move { Ok(Total { total: s.a + s.b }) })
        .route(|_: Slow, _| async move {
            std::future::pending::<()>().await;
            Ok(Total { total: 0 })
        })
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_call_waiting_for_room_times_out_with_its_limit() {
    // The peer reads nothing: output reaches the high-water mark, and a
    // timed call waits for room until its limit.
    let (a, _b) = tokio::io::duplex(1024);
    let config = amp::Config::builder()
        .write_high_water(4096)
        .write_timeout(None)
        .build()
        .unwrap();
    let c = Connection::builder()
        .router(Router::new())
        .config(config)
        .spawn(a);
    let mut blocked = FuturesUnordered::new();
    for i in 0..1000 {
        blocked.push(c.notify(Sum { a: i, b: 0 }));
    }
    // Let the notifications fill the buffers: write them until none can
    // go on. (Time is paused: a timer fires only once every task waits,
    // so this one fires when the notifications left all wait for room.)
    loop {
        tokio::select! {
            biased;
            n = blocked.next() => assert!(n.is_some(), "all 1000 written: no high-water mark"),
            () = tokio::time::sleep(Duration::from_millis(10)) => break,
        }
    }
    let sent = c.stats().requests_sent;
    let limit = Duration::from_millis(250);
    let start = tokio::time::Instant::now();
    let r = c
        .call_with(Sum { a: 1, b: 2 }, CallOptions::new().timeout(limit))
        .await;
    assert!(
        matches!(r, Err(CallError::Timeout(d)) if d == limit),
        "{r:?}"
    );
    assert_eq!(start.elapsed(), limit, "it waited exactly its limit");
    // It waited for room all along: never written (a call written and
    // given up would still count, its answer being due).
    let stats = c.stats();
    assert_eq!((stats.requests_sent, stats.calls_in_flight), (sent, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_never_idles_still_keeps_call_deadlines() {
    // Calls are answered without a pause, so the connection's task never
    // sleeps; a call nobody answers must still end at its limit.
    let (a, b) = tokio::io::duplex(64 * 1024);
    let _server = Connection::spawn(a, router());
    let c = Connection::spawn(b, Router::new());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flood = {
        let (c, stop) = (c.clone(), stop.clone());
        tokio::spawn(async move {
            let mut calls = FuturesUnordered::new();
            let mut done = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                while calls.len() < 100 {
                    calls.push(c.call(Sum { a: 1, b: 1 }));
                }
                calls.next().await.unwrap().unwrap();
                done += 1;
            }
            done
        })
    };
    let limit = Duration::from_millis(100);
    let start = Instant::now();
    let r = c.call_with(Slow, CallOptions::new().timeout(limit)).await;
    let took = start.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let done = flood.await.unwrap();
    assert!(
        matches!(r, Err(CallError::Timeout(d)) if d == limit),
        "{r:?}"
    );
    assert!(took < Duration::from_secs(3), "timed out after {took:?}");
    assert!(
        done > 100,
        "the connection was busy meanwhile ({done} calls)"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_timed_out_call_may_cancel_remotely_and_the_connection_goes_on() {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let server = Connection::spawn(a, router().cancellable());
    let c = Connection::spawn(b, Router::new());
    let r = c
        .call_with(
            Slow,
            CallOptions::new()
                .timeout(Duration::from_millis(50))
                .cancel_remotely(),
        )
        .await;
    assert!(matches!(r, Err(CallError::Timeout(_))), "{r:?}");
    // The server hears the Cancel and drops the responder.
    let t0 = tokio::time::Instant::now();
    while server.stats().requests_in_flight > 0 {
        assert!(t0.elapsed() < Duration::from_secs(5), "never cancelled");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(c.call(Sum { a: 2, b: 3 }).await.unwrap().total, 5);
}
