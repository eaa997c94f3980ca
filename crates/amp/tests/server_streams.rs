//! `Server::serve_streams_until`: accepted connections handed to the
//! caller instead of served as AMP, under the server's connection cap,
//! per-peer cap and graceful shutdown.

use amp::{Accepted, Router, Server, ShutdownReport};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

/// A stream handed over: its number (from 1), its peer, and whether the
/// first stream's work had ended when it was handed over.
#[derive(Debug)]
struct Handed {
    n: u64,
    peer: Option<SocketAddr>,
    first_ended: bool,
}

/// What each stream handed over does.
#[derive(Clone, Copy)]
enum Work {
    /// Echo until end of file.
    Echo,
    /// Echo until end of file, except stream 2, which holds its stream
    /// and never ends (until dropped: then it says so).
    SecondHangs,
}

struct Serving {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<ShutdownReport>,
    handed: mpsc::UnboundedReceiver<Handed>,
    /// Stream 2's work was dropped ([`Work::SecondHangs`]).
    dropped: mpsc::UnboundedReceiver<u64>,
}

/// Serves streams on a fresh TCP listener with `server`, each doing `work`.
async fn serve(server: Server, work: Work) -> Serving {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let (tell, handed) = mpsc::unbounded_channel();
    let (tell_dropped, dropped) = mpsc::unbounded_channel();
    let first_ended = Arc::new(AtomicBool::new(false));
    let mut n = 0;
    let carry = move |accepted: Accepted| {
        n += 1;
        let (stream, peer) = match accepted {
            Accepted::Tcp(stream, peer) => (stream, peer),
            other => panic!("a TCP listener gave {other:?}"),
        };
        tell.send(Handed {
            n,
            peer: Some(peer),
            first_ended: first_ended.load(Ordering::SeqCst),
        })
        .unwrap();
        let (first_ended, dropped) = (first_ended.clone(), tell_dropped.clone());
        let me = n;
        async move {
            if me == 2 && matches!(work, Work::SecondHangs) {
                let _guard = OnDrop(Some(move || dropped.send(me).unwrap()));
                let _held = stream;
                return std::future::pending().await;
            }
            echo(stream).await;
            if me == 1 {
                first_ended.store(true, Ordering::SeqCst);
            }
        }
    };
    let server = tokio::spawn(server.serve_streams_until(
        listener,
        async {
            let _ = stopped.await;
        },
        carry,
    ));
    Serving {
        addr,
        stop,
        server,
        handed,
        dropped,
    }
}

/// Await `fut`, failing the test (not hanging) after 30 s.
async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    within_for(Duration::from_secs(30), what, fut).await
}

/// Await `fut`, failing the test after `limit`.
async fn within_for<F: Future>(limit: Duration, what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(limit, fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {limit:?} waiting for {what}"),
    }
}

/// Runs its closure when dropped.
struct OnDrop<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

async fn echo(mut stream: TcpStream) {
    let (mut r, mut w) = stream.split();
    let _ = tokio::io::copy(&mut r, &mut w).await;
}

/// Writes `data` on `s` and reads as many bytes back.
async fn exchange(s: &mut TcpStream, data: &[u8]) -> Vec<u8> {
    s.write_all(data).await.unwrap();
    let mut back = vec![0; data.len()];
    within("the echo", s.read_exact(&mut back)).await.unwrap();
    back
}

/// Reads until end of file (or a reset): the server closed `s`.
async fn closed(s: &mut TcpStream) {
    let mut buf = [0; 16];
    let r = within("the close", s.read(&mut buf)).await;
    assert!(matches!(r, Ok(0) | Err(_)), "{r:?}");
}

#[tokio::test]
async fn streams_are_handed_over_and_carried() {
    let server = Server::new(Router::new());
    let stats = server.stats();
    let mut s = serve(server, Work::Echo).await;
    let mut a = TcpStream::connect(s.addr).await.unwrap();
    let mut b = TcpStream::connect(s.addr).await.unwrap();
    let first = within("the first stream", s.handed.recv()).await.unwrap();
    let second = within("the second stream", s.handed.recv()).await.unwrap();
    assert_eq!((first.n, second.n), (1, 2));
    assert_eq!(first.peer, Some(a.local_addr().unwrap()));
    assert_eq!(second.peer, Some(b.local_addr().unwrap()));
    assert_eq!(exchange(&mut a, b"to a").await, b"to a");
    assert_eq!(exchange(&mut b, b"to b").await, b"to b");
    assert_eq!(stats.connections(), 2);
    drop((a, b));
    within("the streams to end", async {
        while stats.connections() > 0 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    s.stop.send(()).unwrap();
    let report = within("the server to stop", s.server).await.unwrap();
    assert_eq!((report.open, report.cut), (0, 0));
}

/// With a cap of 1, a second client is handed over only once the first
/// stream's work has ended; meanwhile it waits in the listen backlog.
#[tokio::test]
async fn past_max_connections_a_client_waits_until_a_stream_ends() {
    let server = Server::new(Router::new()).max_connections(1);
    let stats = server.stats();
    let mut s = serve(server, Work::Echo).await;
    let mut a = TcpStream::connect(s.addr).await.unwrap();
    let first = within("the first stream", s.handed.recv()).await.unwrap();
    assert_eq!(first.n, 1);
    let mut b = TcpStream::connect(s.addr).await.unwrap();
    b.write_all(b"waiting").await.unwrap();
    // By the time the first stream has echoed (the server woke up for it,
    // and the listener was ready for the second client before), a server
    // without the cap would have handed the second over.
    assert_eq!(exchange(&mut a, b"first").await, b"first");
    assert!(
        s.handed.try_recv().is_err(),
        "the second client was handed over at once"
    );
    assert_eq!(stats.connections(), 1);
    a.shutdown().await.unwrap();
    closed(&mut a).await;
    let second = within("the second stream", s.handed.recv()).await.unwrap();
    assert_eq!(second.n, 2);
    assert!(
        second.first_ended,
        "handed over before the first stream ended"
    );
    let mut back = [0; 7];
    within("the second echo", b.read_exact(&mut back))
        .await
        .unwrap();
    assert_eq!(&back, b"waiting");
}

/// A client connected from `ip` (a loopback address other than 127.0.0.1
/// is another peer).
async fn connect_from(ip: &str, addr: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{ip}:0").parse().unwrap()).unwrap();
    socket.connect(addr).await.unwrap()
}

/// Past the per-peer cap a client is closed at once (a stream is never
/// idle to the server, so none gives way), while other peers are served.
#[tokio::test]
async fn past_max_connections_per_peer_a_client_is_refused() {
    let server = Server::new(Router::new()).max_connections_per_peer(1);
    let stats = server.stats();
    let mut s = serve(server, Work::Echo).await;
    let mut a = TcpStream::connect(s.addr).await.unwrap();
    assert_eq!(exchange(&mut a, b"served").await, b"served");
    let mut refused = TcpStream::connect(s.addr).await.unwrap();
    closed(&mut refused).await;
    assert_eq!(stats.refused_per_peer(), 1);
    let mut other = connect_from("127.0.0.2", s.addr).await;
    assert_eq!(exchange(&mut other, b"other").await, b"other");
    assert_eq!(exchange(&mut a, b"still").await, b"still");
    let handed: Vec<u64> = std::iter::from_fn(|| s.handed.try_recv().ok())
        .map(|h| h.n)
        .collect();
    assert_eq!(handed, [1, 2], "the refused client is not handed over");
}

/// On shutdown the listener closes and the streams go on for the grace
/// period; those still running then are dropped, and counted as cut.
#[tokio::test]
async fn a_shutdown_waits_for_the_grace_period_then_cuts() {
    let grace = Duration::from_millis(300);
    let server = Server::new(Router::new()).grace_period(grace);
    let mut s = serve(server, Work::SecondHangs).await;
    let mut ends = TcpStream::connect(s.addr).await.unwrap();
    assert_eq!(exchange(&mut ends, b"one").await, b"one");
    let mut hangs = TcpStream::connect(s.addr).await.unwrap();
    for n in 1..=2 {
        let handed = within("the streams", s.handed.recv()).await.unwrap();
        assert_eq!(handed.n, n);
    }
    let stopped = Instant::now();
    s.stop.send(()).unwrap();
    within("the listener to close", async {
        while TcpStream::connect(s.addr).await.is_ok() {
            tokio::task::yield_now().await;
        }
    })
    .await;
    // Still carried while the grace period runs; this one ends in it.
    assert_eq!(exchange(&mut ends, b"during").await, b"during");
    ends.shutdown().await.unwrap();
    closed(&mut ends).await;
    let report = within("the server to stop", s.server).await.unwrap();
    assert!(
        stopped.elapsed() >= grace,
        "stopped after {:?}",
        stopped.elapsed()
    );
    assert_eq!((report.open, report.cut), (2, 1));
    assert_eq!(
        s.dropped.try_recv().ok(),
        Some(2),
        "the hanging work was dropped"
    );
    closed(&mut hangs).await;
}

/// Streams that end before the grace period does: the server returns then,
/// without waiting for the rest of it.
#[tokio::test]
async fn a_shutdown_ends_when_the_streams_do() {
    let server = Server::new(Router::new()).grace_period(Duration::from_secs(3600));
    let mut s = serve(server, Work::Echo).await;
    let mut a = TcpStream::connect(s.addr).await.unwrap();
    assert_eq!(exchange(&mut a, b"one").await, b"one");
    s.stop.send(()).unwrap();
    a.shutdown().await.unwrap();
    closed(&mut a).await;
    let limit = Duration::from_secs(10);
    let report = within_for(limit, "the server to stop", s.server)
        .await
        .unwrap();
    assert_eq!((report.open, report.cut), (1, 0));
    assert!(s.handed.try_recv().is_ok_and(|h| h.n == 1));
}

#[cfg(feature = "unix")]
#[tokio::test]
async fn unix_streams_are_handed_over() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("streams.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(Server::new(Router::new()).serve_streams_until(
        listener,
        async {
            let _ = stopped.await;
        },
        |accepted| async move {
            let Accepted::Unix(mut stream) = accepted else {
                panic!("a UNIX listener gave {accepted:?}");
            };
            let (mut r, mut w) = stream.split();
            let _ = tokio::io::copy(&mut r, &mut w).await;
        },
    ));
    let mut client = tokio::net::UnixStream::connect(&path).await.unwrap();
    client.write_all(b"over unix").await.unwrap();
    client.shutdown().await.unwrap();
    let mut back = Vec::new();
    within("the echo", client.read_to_end(&mut back))
        .await
        .unwrap();
    assert_eq!(back, b"over unix");
    stop.send(()).unwrap();
    let report = within("the server to stop", server).await.unwrap();
    assert_eq!(report.cut, 0);
}
