//! `Connection::stats` on both ends of a connection: what one side sent is
//! what the other received, call by call, error by error.

mod common;

use amp::{CallError, Command, Connection, Disconnect, Router, Stats};
use common::double::{self, Double, DoubleError};
use std::time::Duration;

#[derive(Command, Debug)]
#[amp(requires_answer = false)]
struct Note {
    n: i64,
}

const LIMIT: Duration = Duration::from_secs(10);

fn router() -> Router {
    double::router().route(|_: Note, _| async move { Ok(()) })
}

/// One side's sent counts against the other's received ones.
fn mirror(from: &Stats, to: &Stats) {
    assert_eq!(from.bytes_sent, to.bytes_received, "bytes: {from:?} {to:?}");
    assert_eq!(from.boxes_sent, to.boxes_received, "boxes: {from:?} {to:?}");
    assert_eq!(from.requests_sent, to.requests_received);
    assert_eq!(from.answers_sent, to.answers_received);
    assert_eq!(from.errors_sent, to.errors_received);
}

async fn run(client: Connection, server: Connection) {
    const N: u64 = 200;
    let mut calls = Vec::new();
    for i in 0..N as i64 {
        let client = client.clone();
        calls.push(tokio::spawn(async move {
            client.call(Double { n: i }).await.unwrap().n
        }));
    }
    for (i, c) in calls.into_iter().enumerate() {
        assert_eq!(c.await.unwrap(), 2 * i as i64);
    }
    let e = client.call(Double { n: -1 }).await.unwrap_err();
    assert!(
        matches!(e, CallError::Remote(DoubleError::Negative)),
        "{e:?}"
    );
    let e = client
        .call_raw("Nope", amp::AmpBox::new())
        .await
        .unwrap_err();
    assert!(matches!(e, CallError::Unhandled { .. }), "{e:?}");
    client.notify(Note { n: 1 }).await.unwrap();
    // The server calls back, too.
    assert_eq!(server.call(Double { n: 2 }).await.unwrap().n, 4);

    let c = client.stats();
    assert_eq!(c.calls_in_flight, 0);
    assert_eq!(c.requests_sent, N + 3);
    assert_eq!(c.answers_received, N);
    double::assert_one_negative_one_unhandled(&c.errors_received);
    assert_eq!((c.requests_received, c.answers_sent), (1, 1));
    assert!(c.end.is_none());

    client.close().await;
    tokio::time::timeout(LIMIT, server.closed()).await.unwrap();
    let (c, s) = (client.stats(), server.stats());
    assert_eq!((s.requests_in_flight, s.requests_waiting), (0, 0));
    assert_eq!(s.requests_received, N + 3);
    assert_eq!(s.answers_sent, N);
    assert_eq!(s.boxes_received, N + 4, "requests and one answer");
    mirror(&c, &s);
    mirror(&s, &c);
    assert!(c.bytes_sent > 0 && s.bytes_sent > 0);
    assert!(matches!(c.end, Some(Disconnect::LocalClose)), "{:?}", c.end);
    assert!(matches!(s.end, Some(Disconnect::PeerClosed)), "{:?}", s.end);
}

#[tokio::test]
async fn both_ends_agree_over_a_duplex_pipe() {
    let (a, b) = tokio::io::duplex(1024);
    let server = Connection::spawn(a, router());
    let client = Connection::spawn(b, router());
    run(client, server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_ends_agree_over_tcp() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accept = tokio::spawn(async move {
        let (io, _) = listener.accept().await.unwrap();
        Connection::spawn(io, router())
    });
    let client = Connection::builder()
        .router(router())
        .connect(addr)
        .await
        .unwrap();
    let server = accept.await.unwrap();
    run(client, server).await;
}
