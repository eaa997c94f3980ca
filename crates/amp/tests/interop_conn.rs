//! Per-connection features against a live Twisted peer
//! (interop/conn_peer.py), both directions, and over UNIX sockets: the
//! peer's address (Twisted's `getPeer`/`getHost`), state per connection
//! (`Router::with_connection_state`), answering then closing (Twisted's
//! `QuitBox`, our `Ctx::close_after_reply`), undeclared failures of
//! typed responders (`Router::route_fallible` with `Fail::unknown`), and
//! deadlines: call timeouts whose late answers are dropped quietly, and
//! responders past their deadline answering a declared error.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use amp::{
    Addr, CallError, CallOptions, Command, Connection, Disconnect, Fail, NoError, Record, Router,
    Server,
};
use common::raw::Slow;
use common::{within, Py};

#[derive(Command)]
#[amp(response = Seen)]
struct WhoAmI;

#[derive(Record, Debug)]
struct Seen {
    peer: String,
    host: String,
}

#[derive(Command)]
#[amp(response = Hits)]
struct Hit;

#[derive(Record, Debug)]
struct Hits {
    n: i64,
}

#[derive(Command)]
#[amp(response = Farewell)]
struct Goodbye;

#[derive(Record, Debug)]
struct Farewell {
    goodbye: String,
}

#[derive(Command)]
#[amp(response = Nothing, error = NoError)]
struct Explode;

#[derive(Command)]
#[amp(response = Found, error = LookupError)]
struct Lookup {
    key: String,
}

#[derive(Record, Debug)]
struct Found {
    value: String,
}

#[derive(amp::AmpError, Debug, PartialEq)]
enum LookupError {
    #[amp(code = "TOO_SLOW")]
    TooSlow,
}

#[derive(Command)]
#[amp(response = Nothing)]
struct Stuck;

#[derive(Command)]
#[amp(response = Hits)]
struct Dropped;

/// A connection's own state.
#[derive(Default)]
struct PerConnection {
    hits: AtomicU64,
    /// `Stuck` responders dropped (cancelled) so far.
    dropped: AtomicU64,
}

/// Counts its drop in `dropped`.
struct DropGuard(Arc<PerConnection>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

/// A command that asks for no answer.
#[derive(Command)]
#[amp(requires_answer = false)]
struct Note;

#[derive(Record, Debug)]
struct Nothing {}

/// Stop conn_peer.py's server, and check it exited cleanly.
async fn stop(mut py: Py) {
    py.close_stdin();
    py.finish(Duration::from_secs(20))
        .await
        .assert_success("conn_peer.py serve");
}

fn addr(a: Option<&Addr>) -> String {
    a.map(|a| a.to_string()).unwrap_or_default()
}

/// Answers as conn_peer.py's `serve` does.
fn router() -> Router<Arc<PerConnection>> {
    Router::with_connection_state(|_| Arc::new(PerConnection::default()))
        .route(|_: WhoAmI, ctx| async move {
            Ok(Seen {
                peer: addr(ctx.peer_addr()),
                host: addr(ctx.local_addr()),
            })
        })
        .route(|_: Hit, ctx| async move {
            Ok(Hits {
                n: ctx.state.hits.fetch_add(1, Ordering::Relaxed) as i64 + 1,
            })
        })
        .route(|_: Goodbye, ctx| async move {
            ctx.close_after_reply();
            Ok(Farewell {
                goodbye: "so long".into(),
            })
        })
        .route_with_deadline(
            Duration::from_millis(300),
            || LookupError::TooSlow,
            |l: Lookup, _| async move {
                if l.key == "stuck" {
                    std::future::pending::<()>().await;
                }
                Ok(Found {
                    value: format!("value of {}", l.key),
                })
            },
        )
        .route(|_: Stuck, ctx| async move {
            let _guard = DropGuard(ctx.state.clone());
            std::future::pending::<()>().await;
            Ok(Nothing {})
        })
        .route(|_: Dropped, ctx| async move {
            Ok(Hits {
                n: ctx.state.dropped.load(Ordering::SeqCst) as i64,
            })
        })
        .cancellable()
        .route_fallible(|_: Explode, _| async move {
            Err(Fail::unknown(std::io::Error::other(
                "the responder blew up",
            )))
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_client_sees_addresses_state_quit_and_unknown_from_rust() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let server = tokio::spawn(Server::new(router()).serve(listener));
    let py = Py::spawn("conn_peer.py", &["client", &port]);
    let out = py.finish(Duration::from_secs(60)).await;
    out.assert_success("conn_peer.py client");
    for check in [
        "PASS WhoAmI.peer is our host",
        "PASS WhoAmI.host is our peer",
        "PASS Hit counts per connection",
        "PASS Goodbye then closed",
        "PASS the other connection still works",
        "PASS Lookup past its deadline fails with TooSlow",
        "PASS Lookup within its deadline answers",
        "PASS Cancel of a running call",
        "PASS the cancelled call fails with CANCELLED",
        "PASS the Rust responder was dropped",
        "PASS Cancel of an unknown tag",
        "PASS Explode fails with UnknownRemoteError",
        "PASS Explode then closed",
    ] {
        assert!(
            out.stdout.lines().any(|l| l.starts_with(check)),
            "no {check:?} in:\n{}",
            out.stdout
        );
    }
    assert!(
        out.stdout.ends_with("14 passed, 0 failed\n"),
        "{}",
        out.stdout
    );
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_client_against_twisted_addresses_state_and_quitbox() {
    let (py, port) = Py::serve("conn_peer.py", &["serve"]).await;
    let one = Connection::connect(("127.0.0.1", port)).await.unwrap();
    let two = Connection::connect(("127.0.0.1", port)).await.unwrap();

    // Twisted's getPeer() is our local address, its getHost() our peer's.
    let seen = within("WhoAmI", one.call(WhoAmI)).await.unwrap();
    assert_eq!(seen.peer, addr(one.local_addr()));
    assert_eq!(seen.host, addr(one.peer_addr()));
    assert_eq!(one.peer_addr().and_then(Addr::as_tcp).unwrap().port(), port);

    // A protocol instance per connection on the Twisted side.
    let mut got = Vec::new();
    for c in [&one, &one, &two, &one] {
        got.push(within("Hit", c.call(Hit)).await.unwrap().n);
    }
    assert_eq!(got, [1, 2, 1, 3]);

    // QuitBox: the answer arrives, then Twisted closes the connection.
    let bye = within("Goodbye", one.call(Goodbye)).await.unwrap();
    assert_eq!(bye.goodbye, "so long");
    let reason = within("the QuitBox close", one.closed()).await;
    assert!(matches!(reason, Disconnect::PeerClosed), "{reason:?}");
    assert!(matches!(
        one.call(Hit).await,
        Err(CallError::ConnectionLost(_))
    ));
    // Twisted's callRemote of a no-answer command returns nothing on a
    // lost connection; ours says the connection is lost.
    assert!(matches!(
        one.send(Note).await,
        Err(CallError::ConnectionLost(Disconnect::PeerClosed))
    ));
    assert!(matches!(
        one.notify(Note).await,
        Err(CallError::ConnectionLost(Disconnect::PeerClosed))
    ));
    assert_eq!(within("Hit", two.call(Hit)).await.unwrap().n, 2);

    // An exception Twisted's responder does not declare: UNKNOWN, closed.
    let err = within("Explode", two.call(Explode)).await.unwrap_err();
    assert!(
        matches!(err, CallError::UnknownRemote { ref code, .. } if &code[..] == b"UNKNOWN"),
        "{err:?}"
    );
    within("the close after UNKNOWN", two.closed()).await;
    stop(py).await;
}

#[tokio::test]
async fn the_reply_and_the_close_are_one_step() {
    // A request pipelined right after Goodbye is never answered: the
    // connection closes as soon as Goodbye's answer is written.
    let (a, b) = tokio::io::duplex(1 << 16);
    let (server, driver) = Connection::builder().router(router()).build(a);
    let ended = tokio::spawn(driver);
    let client = Connection::spawn(b, Router::new());
    let bye = client.call(Goodbye);
    let after = client.call(Hit);
    assert_eq!(bye.await.unwrap().goodbye, "so long");
    assert!(matches!(
        after.await,
        Err(CallError::ConnectionLost(Disconnect::PeerClosed))
    ));
    let reason = ended.await.unwrap();
    assert!(
        matches!(reason, Disconnect::Quit { ref command } if command == "Goodbye"),
        "{reason:?}"
    );
    assert!(server.is_closed());
}

#[tokio::test]
async fn an_undeclared_failure_is_unknown_and_closes_with_its_cause() {
    let (a, b) = tokio::io::duplex(1 << 16);
    let (_server, driver) = Connection::builder().router(router()).build(a);
    let ended = tokio::spawn(driver);
    let client = Connection::spawn(b, Router::new());
    let err = client.call(Explode).await.unwrap_err();
    assert!(
        matches!(err, CallError::UnknownRemote { ref code, .. } if &code[..] == b"UNKNOWN"),
        "{err:?}"
    );
    match ended.await.unwrap() {
        Disconnect::UnknownError { command, reason } => {
            assert_eq!(command, "Explode");
            assert_eq!(reason, "the responder blew up");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn unix_sockets_know_their_paths() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("amp.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    tokio::spawn(amp::Server::new(router()).serve(listener));
    let conn = Connection::builder().connect_unix(&path).await.unwrap();
    // The server's end is the named socket; the client's is unnamed.
    assert_eq!(conn.peer_addr(), Some(&Addr::Unix(Some(path.clone()))));
    assert_eq!(conn.local_addr(), Some(&Addr::Unix(None)));
    let seen = conn.call(WhoAmI).await.unwrap();
    assert_eq!(seen.peer, "unix:(unnamed)");
    assert_eq!(seen.host, format!("unix:{}", path.display()));
    // State per connection over UNIX sockets too.
    let other = Connection::builder().connect_unix(&path).await.unwrap();
    assert_eq!(conn.call(Hit).await.unwrap().n, 1);
    assert_eq!(conn.call(Hit).await.unwrap().n, 2);
    assert_eq!(other.call(Hit).await.unwrap().n, 1);
}

#[tokio::test]
async fn a_stream_without_addresses_has_none_and_state_is_still_per_connection() {
    let made = Arc::new(AtomicU64::new(0));
    let m = made.clone();
    let router = Router::with_connection_state(move |info| {
        assert!(info.peer_addr().is_none());
        m.fetch_add(1, Ordering::Relaxed);
        Arc::new(AtomicU64::new(0))
    })
    .route(|_: Hit, ctx| async move {
        Ok(Hits {
            n: ctx.state.fetch_add(1, Ordering::Relaxed) as i64 + 1,
        })
    });
    let mut clients = Vec::new();
    for _ in 0..3 {
        let (a, b) = tokio::io::duplex(4096);
        let server = Connection::spawn(a, router.clone());
        assert!(server.peer_addr().is_none() && server.local_addr().is_none());
        clients.push(Connection::spawn(b, Router::new()));
    }
    for c in &clients {
        assert_eq!(c.call(Hit).await.unwrap().n, 1);
        assert_eq!(c.call(Hit).await.unwrap().n, 2);
    }
    assert_eq!(made.load(Ordering::Relaxed), 3, "one state per connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_call_timeouts_against_twisted_drop_late_answers_quietly() {
    let (py, port) = Py::serve("conn_peer.py", &["serve"]).await;
    // The connection's default timeout, and a call's own.
    let config = amp::Config::builder()
        .call_timeout(Some(Duration::from_millis(100)))
        .build()
        .unwrap();
    let conn = Connection::builder()
        .router(Router::new())
        .config(config)
        .connect(("127.0.0.1", port))
        .await
        .unwrap();
    let err = within(
        "a call past the default timeout",
        conn.call(Slow { seconds: 0.5 }),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, CallError::Timeout(d) if d == Duration::from_millis(100)),
        "{err:?}"
    );
    let err = within(
        "a call past its own timeout",
        conn.call_with(
            Slow { seconds: 0.5 },
            CallOptions::new().timeout(Duration::from_millis(50)),
        ),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, CallError::Timeout(_)), "{err:?}");
    // Both late answers arrive meanwhile and are dropped quietly: the
    // connection lives (Twisted's rule would close it on an unknown tag).
    let slept = within(
        "a call with no timeout",
        conn.call_with(Slow { seconds: 0.8 }, CallOptions::new().no_timeout()),
    )
    .await
    .unwrap();
    assert_eq!(slept.slept, 0.8);
    assert!(!conn.is_closed());
    assert_eq!(within("Hit", conn.call(Hit)).await.unwrap().n, 1);
    stop(py).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_pings_twisted_and_any_reply_keeps_the_connection() {
    let (py, port) = Py::serve("conn_peer.py", &["serve"]).await;
    let keepalive = |command: &str| {
        amp::Config::builder()
            .keepalive_interval(Some(Duration::from_millis(100)))
            .keepalive_timeout(Some(Duration::from_secs(5)))
            .keepalive_command(command)
            .build()
            .unwrap()
    };
    // The default command: Twisted answers UNHANDLED, which is a reply.
    let quiet = Connection::builder()
        .router(Router::new())
        .config(keepalive(amp::DEFAULT_KEEPALIVE_COMMAND))
        .connect(("127.0.0.1", port))
        .await
        .unwrap();
    // A command Twisted answers: its own counter shows the pings.
    let pinging = Connection::builder()
        .router(Router::new())
        .config(keepalive("Hit"))
        .connect(("127.0.0.1", port))
        .await
        .unwrap();
    // One ping at a time: the next is sent only once the last had its
    // reply. So a fourth ping proves the replies before it were taken as
    // replies, `UNHANDLED` included.
    within("four pings each", async {
        loop {
            let (q, p) = (quiet.stats(), pinging.stats());
            if q.requests_sent >= 4 && p.requests_sent >= 4 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(!quiet.is_closed() && !pinging.is_closed());
    assert!(quiet.stats().errors_received.get("UNHANDLED") >= 3);
    assert!(pinging.stats().answers_received >= 3);
    assert_eq!(within("Hit", quiet.call(Hit)).await.unwrap().n, 1);
    // Twisted takes requests in order: the four pings were hits before
    // this one.
    let n = within("Hit", pinging.call(Hit)).await.unwrap().n;
    assert!(n >= 5, "Twisted answered {} pings", n - 1);
    stop(py).await;
}

#[tokio::test]
async fn keepalive_closes_a_peer_that_no_longer_replies() {
    // A peer that takes the connection and never says anything again (a
    // hung process; TCP alone would keep this connection forever).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hung = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(3600)).await;
        drop(stream);
    });
    let config = amp::Config::builder()
        .keepalive_interval(Some(Duration::from_millis(100)))
        .keepalive_timeout(Some(Duration::from_millis(300)))
        .build()
        .unwrap();
    let conn = Connection::builder()
        .router(Router::new())
        .config(config)
        .connect(addr)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let reason = within("the keepalive close", conn.closed()).await;
    assert!(
        matches!(reason, Disconnect::Timeout(amp::Timeout::Keepalive)),
        "{reason:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    hung.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_sent_to_a_plain_twisted_peer_is_harmless() {
    // Twisted has no `Cancel`: it answers UNHANDLED (the `Cancel` asks for
    // an answer, so Twisted does not close), and its late answer to the
    // given-up call is dropped quietly.
    let (py, port) = Py::serve("conn_peer.py", &["serve"]).await;
    let conn = Connection::connect(("127.0.0.1", port)).await.unwrap();
    let options = CallOptions::new()
        .timeout(Duration::from_millis(100))
        .cancel_remotely();
    let err = within(
        "a cancelled call",
        conn.call_with(Slow { seconds: 0.4 }, options),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, CallError::Timeout(_)), "{err:?}");
    // Twisted's timers fire in order: by this longer call's answer, the
    // given-up call's late answer (and the UNHANDLED) have come.
    let slept = within("a later, longer call", conn.call(Slow { seconds: 0.5 }))
        .await
        .unwrap();
    assert_eq!(slept.slept, 0.5);
    assert!(!conn.is_closed());
    assert_eq!(within("Hit", conn.call(Hit)).await.unwrap().n, 1);
    stop(py).await;
}

#[tokio::test]
async fn a_dropped_call_cancels_the_rust_responder() {
    let (a, b) = tokio::io::duplex(1 << 16);
    Connection::spawn(a, router());
    let client = Connection::spawn(b, Router::new());
    let dropped = || async { client.call(Dropped).await.unwrap().n };
    let call = client.call_with(Stuck, CallOptions::new().cancel_remotely());
    // Started, then given up.
    assert!(tokio::time::timeout(Duration::from_millis(100), call)
        .await
        .is_err());
    within("the responder to be dropped", async {
        while dropped().await == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    // Without cancel_remotely, giving up only forgets the call.
    let call = client.call(Stuck);
    assert!(tokio::time::timeout(Duration::from_millis(100), call)
        .await
        .is_err());
    // Requests are taken in order: had a `Cancel` been sent, this call
    // would see its effect.
    assert_eq!(dropped().await, 1);
    assert!(!client.is_closed());
}
