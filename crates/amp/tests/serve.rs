//! `Server`: graceful shutdown (calls in flight finish, new requests are
//! refused, the grace period cuts what is still busy) and the connection
//! limit.

mod common;

use amp::{CallError, Command, Connection, Disconnect, Record, Router, Server, ShutdownReport};
use common::raw::{Sum, Total};
use common::within;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Notify, Semaphore};

/// A call that waits until the test lets it finish.
#[derive(Command)]
#[amp(response = Done)]
struct Slow;

#[derive(Record, Debug)]
struct Done {}

struct Gate {
    started: Notify,
    release: Semaphore,
}

fn router(gate: Arc<Gate>) -> Router<Arc<Gate>> {
    Router::with_state(gate)
        .route(|s: Sum, _| async move { Ok(Total { total: s.a + s.b }) })
        .route(|_: Slow, ctx: amp::Ctx<Arc<Gate>>| async move {
            ctx.state.started.notify_one();
            ctx.state.release.acquire().await.unwrap().forget();
            Ok(Done {})
        })
}

fn gate() -> Arc<Gate> {
    Arc::new(Gate {
        started: Notify::new(),
        release: Semaphore::new(0),
    })
}

/// Serve until told to stop; the report comes back through the handle.
async fn serve(
    server: Server,
) -> (
    SocketAddr,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<ShutdownReport>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server.serve_until(listener, async {
        let _ = stopped.await;
    }));
    (addr, stop, task)
}

/// The server stops listening as it begins to shut down (and tells its
/// connections to drain in the same step): wait until a connection is
/// refused.
async fn until_refused(addr: SocketAddr) {
    within("the listener to close", async {
        while TcpStream::connect(addr).await.is_ok() {
            tokio::task::yield_now().await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_graceful_shutdown_finishes_calls_in_flight_and_refuses_new_ones() {
    let gate = gate();
    let (addr, stop, server) = serve(Server::new(router(gate.clone()))).await;
    let conn = Connection::connect(addr).await.unwrap();
    let slow = tokio::spawn({
        let conn = conn.clone();
        async move { conn.call(Slow).await }
    });
    within("the slow call to start", gate.started.notified()).await;
    stop.send(()).unwrap();
    until_refused(addr).await;
    // Draining: a new request is refused, the connection stays.
    match conn.call(Sum { a: 1, b: 2 }).await {
        Err(CallError::UnknownRemote { code, .. }) => assert_eq!(&code[..], b"SHUTTING_DOWN"),
        other => panic!("expected SHUTTING_DOWN, got {other:?}"),
    }
    // The call in flight gets its answer; then the connection closes.
    gate.release.add_permits(1);
    within("the slow call", slow).await.unwrap().unwrap();
    assert!(matches!(
        within("the close", conn.closed()).await,
        Disconnect::PeerClosed
    ));
    let report = within("the server to stop", server).await.unwrap();
    assert_eq!((report.open, report.cut), (1, 0));
}

#[tokio::test]
async fn the_grace_period_cuts_connections_still_busy() {
    let gate = gate();
    let server = Server::new(router(gate.clone())).grace_period(Duration::from_millis(200));
    let (addr, stop, server) = serve(server).await;
    let busy = Connection::connect(addr).await.unwrap();
    let idle = Connection::connect(addr).await.unwrap();
    assert_eq!(idle.call(Sum { a: 1, b: 1 }).await.unwrap().total, 2);
    let slow = tokio::spawn({
        let busy = busy.clone();
        async move { busy.call(Slow).await }
    });
    within("the slow call to start", gate.started.notified()).await;
    stop.send(()).unwrap();
    let report = within("the server to stop", server).await.unwrap();
    assert_eq!((report.open, report.cut), (2, 1));
    assert!(within("the slow call", slow)
        .await
        .unwrap()
        .unwrap_err()
        .is_connection_lost());
    assert!(matches!(idle.closed().await, Disconnect::PeerClosed));
}

#[tokio::test]
async fn past_max_connections_new_clients_wait_until_one_leaves() {
    let (addr, _stop, _server) = serve(Server::new(router(gate())).max_connections(1)).await;
    let first = Connection::connect(addr).await.unwrap();
    assert_eq!(first.call(Sum { a: 1, b: 1 }).await.unwrap().total, 2);
    // The second connects (the listen backlog takes it) but is not served
    // while the first is open.
    let second = Connection::connect(addr).await.unwrap();
    let mut call = tokio::spawn({
        let second = second.clone();
        async move { second.call(Sum { a: 2, b: 2 }).await }
    });
    let waited = tokio::time::timeout(Duration::from_millis(300), &mut call).await;
    assert!(waited.is_err(), "the second connection was served at once");
    first.close().await;
    assert_eq!(
        within("the second call", call)
            .await
            .unwrap()
            .unwrap()
            .total,
        4
    );
}
