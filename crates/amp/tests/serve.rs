//! `Server`: graceful shutdown (calls in flight finish, new requests are
//! refused, the grace period cuts what is still busy), the connection
//! limits (overall and per peer) and closing the connection idle the
//! longest to make room.

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

// Time is paused in the tests that check what does *not* happen within
// a time: the clock moves only when every task (the server's, the
// connections', the test's) waits and no I/O is ready, so once the test's
// sleep is over the server has had every chance to act within it.
#[tokio::test(start_paused = true)]
async fn past_max_connections_new_clients_wait_until_one_leaves() {
    let server = Server::new(router(gate()))
        .max_connections(1)
        .evict_idle_after(None);
    let stats = server.stats();
    let (addr, _stop, _server) = serve(server).await;
    let first = Connection::connect(addr).await.unwrap();
    assert_eq!(first.call(Sum { a: 1, b: 1 }).await.unwrap().total, 2);
    // The second connects (the listen backlog takes it) but is not served
    // while the first is open.
    let second = Connection::connect(addr).await.unwrap();
    let call = sum_later(&second);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!call.is_finished(), "the second connection was served");
    assert_eq!(stats.connections(), 1);
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

#[tokio::test]
async fn at_max_connections_the_connection_idle_the_longest_makes_room_for_a_new_client() {
    let server = Server::new(router(gate()))
        .max_connections(2)
        .evict_idle_after(Some(Duration::from_millis(200)));
    let stats = server.stats();
    let (addr, _stop, _server) = serve(server).await;
    let first = Connection::connect(addr).await.unwrap();
    assert_eq!(first.call(Sum { a: 1, b: 1 }).await.unwrap().total, 2);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = Connection::connect(addr).await.unwrap();
    assert_eq!(second.call(Sum { a: 2, b: 2 }).await.unwrap().total, 4);
    // Both idle; the first the longest: it gives way to a third client,
    // once it has been idle 200 ms.
    let third = Connection::connect(addr).await.unwrap();
    let total = within("the third call", third.call(Sum { a: 3, b: 3 }))
        .await
        .unwrap()
        .total;
    assert_eq!(total, 6);
    assert!(matches!(
        within("the first to be closed", first.closed()).await,
        Disconnect::PeerClosed
    ));
    assert_eq!(second.call(Sum { a: 4, b: 4 }).await.unwrap().total, 8);
    assert_eq!((stats.evicted(), stats.connections()), (1, 2));
}

#[tokio::test(start_paused = true)]
async fn a_connection_with_a_call_in_flight_is_never_closed_to_make_room() {
    let gate = gate();
    let server = Server::new(router(gate.clone()))
        .max_connections(1)
        .evict_idle_after(Some(Duration::from_millis(50)));
    let stats = server.stats();
    let (addr, _stop, _server) = serve(server).await;
    let busy = Connection::connect(addr).await.unwrap();
    let slow = tokio::spawn({
        let busy = busy.clone();
        async move { busy.call(Slow).await }
    });
    within("the slow call to start", gate.started.notified()).await;
    let second = Connection::connect(addr).await.unwrap();
    let call = sum_later(&second);
    // The server looks for an idle connection every 50 ms meanwhile.
    tokio::time::sleep(Duration::from_millis(410)).await;
    assert!(
        !call.is_finished() && !busy.is_closed(),
        "the busy connection was closed for a new one"
    );
    assert_eq!((stats.evicted(), stats.connections()), (0, 1));
    // Answered, then idle: it gives way.
    gate.release.add_permits(1);
    within("the slow call", slow).await.unwrap().unwrap();
    let total = within("the second call", call)
        .await
        .unwrap()
        .unwrap()
        .total;
    assert_eq!(total, 4);
    assert!(matches!(busy.closed().await, Disconnect::PeerClosed));
}

/// `conn` calls `Sum { a: 2, b: 2 }` in a task of its own.
fn sum_later(conn: &Connection) -> tokio::task::JoinHandle<Result<Total, CallError<amp::NoError>>> {
    let conn = conn.clone();
    tokio::spawn(async move { conn.call(Sum { a: 2, b: 2 }).await })
}

/// A client connected from `ip` (a loopback address other than 127.0.0.1
/// is another peer).
async fn connect_from(ip: &str, addr: SocketAddr) -> Connection {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{ip}:0").parse().unwrap()).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    Connection::spawn(stream, Router::new())
}

#[tokio::test]
async fn past_max_connections_per_peer_a_peer_is_refused_unless_one_of_its_own_is_idle() {
    let gate = gate();
    let server = Server::new(router(gate.clone()))
        .max_connections_per_peer(2)
        .evict_idle_after(Some(Duration::from_millis(200)));
    let stats = server.stats();
    let (addr, _stop, _server) = serve(server).await;
    // Two connections from 127.0.0.1, each with a call in flight.
    let (mut conns, mut busy) = (Vec::new(), Vec::new());
    for _ in 0..2 {
        let conn = Connection::connect(addr).await.unwrap();
        busy.push(tokio::spawn({
            let conn = conn.clone();
            async move { conn.call(Slow).await }
        }));
        conns.push(conn);
        within("the slow call to start", gate.started.notified()).await;
    }
    // A third from the same address is closed at once...
    let refused = Connection::connect(addr).await.unwrap();
    let r = within("the refused call", refused.call(Sum { a: 1, b: 2 })).await;
    assert!(r.as_ref().is_err_and(|e| e.is_connection_lost()), "{r:?}");
    assert_eq!(stats.refused_per_peer(), 1);
    // ...while another peer is served.
    let other = connect_from("127.0.0.2", addr).await;
    assert_eq!(other.call(Sum { a: 2, b: 2 }).await.unwrap().total, 4);
    // One of the two is answered and stays idle: after 200 ms a new
    // connection from 127.0.0.1 is served in its place.
    gate.release.add_permits(1);
    let (done, _, pending) = futures_util::future::select_all(busy).await;
    done.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let next = Connection::connect(addr).await.unwrap();
    let total = within("the next call", next.call(Sum { a: 3, b: 3 }))
        .await
        .unwrap()
        .total;
    assert_eq!(total, 6);
    assert_eq!((stats.evicted(), stats.refused_per_peer()), (1, 1));
    // The busy one was left alone.
    gate.release.add_permits(1);
    let (still, _, _) = futures_util::future::select_all(pending).await;
    still.unwrap().unwrap();
    within("the idle one to be closed", async {
        while conns.iter().filter(|c| c.is_closed()).count() != 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

/// A switch to a byte echo that takes the TCP socket as it is.
#[derive(Command)]
struct Echo;

#[tokio::test(start_paused = true)]
async fn a_switched_socket_taken_as_it_is_is_never_closed_to_make_room() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let router = router(gate()).route_switch(|_: Echo, _| async move {
        Ok(amp::SwitchTo::new(|switched| async move {
            let (mut socket, _) = switched.downcast::<TcpStream>().expect("plain TCP");
            let (mut r, mut w) = socket.split();
            let _ = tokio::io::copy(&mut r, &mut w).await;
        }))
    });
    let server = Server::new(router)
        .max_connections(1)
        .evict_idle_after(Some(Duration::from_millis(50)));
    let stats = server.stats();
    let (addr, _stop, _server) = serve(server).await;
    let first = Connection::connect(addr).await.unwrap();
    let mut echo = within("the switch", first.switch(Echo)).await.unwrap();
    let second = Connection::connect(addr).await.unwrap();
    let call = sum_later(&second);
    // No byte moves through the watch: a socket watched would be idle,
    // and closed for the second client, after 50 ms.
    tokio::time::sleep(Duration::from_millis(410)).await;
    assert!(!call.is_finished(), "the spliced connection was closed");
    assert_eq!((stats.evicted(), stats.connections()), (0, 1));
    echo.write_all(b"still here").await.unwrap();
    let mut back = [0; 10];
    within("the echo", echo.read_exact(&mut back))
        .await
        .unwrap();
    assert_eq!(&back, b"still here");
    // Closed by its client: the second is served.
    drop(echo);
    let total = within("the second call", call)
        .await
        .unwrap()
        .unwrap()
        .total;
    assert_eq!(total, 4);
}
