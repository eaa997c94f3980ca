//! `Connection::stats` against a live Twisted peer (interop/stats_peer.py)
//! that counts the same connection from its side: calls, a declared error
//! and `UNHANDLED`, both directions.

mod common;

use std::time::Duration;

use amp::{CallError, Command, Connection, Disconnect, Record};
use common::double::{self, Double, DoubleError};
use common::{within, Py};

const CALLS: u64 = 50;

/// Twisted's counts of the connection.
#[derive(Command)]
#[amp(response = Counted)]
struct Counts;

#[derive(Record, Debug)]
struct Counted {
    boxes_sent: u64,
    bytes_sent: u64,
    boxes_received: u64,
    bytes_received: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_client_counts_what_twisted_counts() {
    let (mut py, port) = Py::serve("stats_peer.py", &["serve"]).await;
    let conn = Connection::connect(("127.0.0.1", port)).await.unwrap();
    for n in 0..CALLS as i64 {
        let r = within("Double", conn.call(Double { n })).await.unwrap();
        assert_eq!(r.n, 2 * n);
    }
    let e = within("Double(-1)", conn.call(Double { n: -1 })).await;
    assert!(matches!(e, Err(CallError::Remote(DoubleError::Negative))));
    let e = within("Nope", conn.call_raw("Nope", amp::AmpBox::new())).await;
    assert!(matches!(e, Err(CallError::Unhandled { .. })), "{e:?}");

    let before = conn.stats();
    let twisted = within("Counts", conn.call(Counts)).await.unwrap();
    let after = conn.stats();
    // Twisted's view: the Counts request included, its answer not.
    assert_eq!(twisted.bytes_received, after.bytes_sent);
    assert_eq!(twisted.boxes_received, after.boxes_sent);
    assert_eq!(twisted.bytes_sent, before.bytes_received);
    assert_eq!(twisted.boxes_sent, before.boxes_received);

    assert_eq!(after.requests_sent, CALLS + 3);
    assert_eq!(after.answers_received, CALLS + 1);
    double::assert_one_negative_one_unhandled(&after.errors_received);
    assert_eq!(after.boxes_received, CALLS + 3);
    assert_eq!((after.calls_in_flight, after.requests_received), (0, 0));
    assert!(after.end.is_none());

    py.close_stdin();
    let end = within("the end", conn.closed()).await;
    assert!(matches!(end, Disconnect::PeerClosed), "{end:?}");
    assert!(matches!(conn.stats().end, Some(Disconnect::PeerClosed)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_client_against_a_rust_server_counts_match() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let py = Py::spawn("stats_peer.py", &["client", &port, &CALLS.to_string()]);
    let (io, _) = within("accept", listener.accept()).await.unwrap();
    let server = Connection::spawn(io, double::router());
    let out = py.finish(Duration::from_secs(60)).await;
    out.assert_success("stats_peer.py client");
    let end = within("the end", server.closed()).await;
    assert!(matches!(end, Disconnect::PeerClosed), "{end:?}");

    let line = out.line_starting("COUNTS ");
    let twisted: Vec<u64> = line[7..].split(' ').map(|n| n.parse().unwrap()).collect();
    let s = server.stats();
    assert_eq!(
        twisted,
        [
            s.boxes_received,
            s.bytes_received,
            s.boxes_sent,
            s.bytes_sent
        ],
        "Twisted's counts (sent, received) against the server's (received, sent): {s:?}"
    );
    assert_eq!(s.requests_received, CALLS + 2);
    assert_eq!(s.answers_sent, CALLS);
    double::assert_one_negative_one_unhandled(&s.errors_sent);
    assert_eq!((s.requests_in_flight, s.calls_in_flight), (0, 0));
    assert!(matches!(s.end, Some(Disconnect::PeerClosed)), "{:?}", s.end);
}
