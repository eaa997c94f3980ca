//! `Balanced`: one client over several servers. Servers here run in this
//! process, each an accept loop whose connections can be cut at once (as
//! when a server process is killed).

use amp::{Balanced, CallError, CallOptions, Command, Connection, Record, Router};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

/// Which server answered.
#[derive(Command, Debug, Clone)]
#[amp(response = Id)]
struct Who;

/// Which server answered, once the test lets held calls go.
#[derive(Command, Debug, Clone)]
#[amp(response = Id)]
struct Hold;

#[derive(Record, Debug, PartialEq)]
struct Id {
    id: i64,
}

/// A server: its address, how many calls it ran, and a switch to cut it.
struct TestServer {
    addr: SocketAddr,
    /// Calls it started (`Who` and `Hold`).
    ran: Arc<AtomicUsize>,
    /// `Hold` calls waiting for a permit.
    holding: watch::Receiver<usize>,
    release: Arc<Semaphore>,
    tasks: JoinSet<()>,
}

impl TestServer {
    async fn start(id: i64) -> TestServer {
        Self::start_on(id, "127.0.0.1:0".parse().unwrap()).await
    }

    async fn start_on(id: i64, addr: SocketAddr) -> TestServer {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let (held_tx, holding) = watch::channel(0usize);
        let held_tx = Arc::new(held_tx);
        let release = Arc::new(Semaphore::new(0));
        let router = {
            let (ran, ran2, release) = (ran.clone(), ran.clone(), release.clone());
            Router::new()
                .route(move |_: Who, _| {
                    ran.fetch_add(1, SeqCst);
                    async move { Ok(Id { id }) }
                })
                .route(move |_: Hold, _| {
                    ran2.fetch_add(1, SeqCst);
                    let (release, held_tx) = (release.clone(), held_tx.clone());
                    async move {
                        held_tx.send_modify(|n| *n += 1);
                        release.acquire().await.unwrap().forget();
                        held_tx.send_modify(|n| *n -= 1);
                        Ok(Id { id })
                    }
                })
        };
        let mut tasks = JoinSet::new();
        let conns = Arc::new(Mutex::new(JoinSet::new()));
        let accepting = conns.clone();
        tasks.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (_conn, driver) = Connection::builder().router(router.clone()).build(stream);
                accepting.lock().unwrap().spawn(async move {
                    driver.await;
                });
            }
        });
        // Cutting the server drops this task, and with it every connection.
        tasks.spawn(async move {
            let _hold = conns;
            std::future::pending::<()>().await;
        });
        TestServer {
            addr,
            ran,
            holding,
            release,
            tasks,
        }
    }

    /// Wait until `n` `Hold` calls are being answered here.
    async fn holding(&mut self, n: usize) {
        self.holding.wait_for(|h| *h >= n).await.unwrap();
    }

    /// As a killed process: listener and connections gone at once.
    async fn kill(mut self) {
        self.tasks.shutdown().await;
    }
}

/// Spawn `call`s until at least `on_a` are held on `a` and `on_b` on `b`;
/// every one spawned is held on one of them when this returns. Returns
/// how many are held on each.
async fn hold_until<T: Send + 'static, F, Fut>(
    calls: &mut JoinSet<T>,
    a: &mut TestServer,
    b: &mut TestServer,
    (on_a, on_b): (usize, usize),
    call: F,
) -> (usize, usize)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let (a0, b0) = (*a.holding.borrow(), *b.holding.borrow());
    let mut spawned = 0;
    loop {
        calls.spawn(call());
        spawned += 1;
        assert!(spawned < 1000, "the calls did not reach both servers");
        let total = a0 + b0 + spawned;
        limit(async {
            loop {
                if *a.holding.borrow() + *b.holding.borrow() >= total {
                    return;
                }
                tokio::select! {
                    _ = a.holding.changed() => {}
                    _ = b.holding.changed() => {}
                }
            }
        })
        .await
        .unwrap();
        let (ha, hb) = (*a.holding.borrow() - a0, *b.holding.borrow() - b0);
        if ha >= on_a && hb >= on_b {
            return (ha, hb);
        }
    }
}

fn limit<F: std::future::Future>(f: F) -> tokio::time::Timeout<F> {
    // Only a guard against a hang: every wait below ends on an event.
    tokio::time::timeout(Duration::from_secs(20), f)
}

fn client(servers: &[&TestServer]) -> Balanced {
    Balanced::builder()
        .targets(servers.iter().map(|s| s.addr.to_string()))
        .backoff(Duration::from_millis(10), Duration::from_millis(100))
        .connect_timeout(Duration::from_secs(2))
        .build()
}

#[tokio::test]
async fn calls_are_spread_over_the_servers() {
    let (a, b) = (TestServer::start(1).await, TestServer::start(2).await);
    let client = client(&[&a, &b]);
    limit(client.wait_connected(2)).await.unwrap();
    let mut answered = HashMap::new();
    for _ in 0..200 {
        let id = client.call(Who).await.unwrap().id;
        *answered.entry(id).or_insert(0) += 1;
    }
    assert!(answered[&1] > 20 && answered[&2] > 20, "{answered:?}");
    assert_eq!(a.ran.load(SeqCst) + b.ran.load(SeqCst), 200);
    let status = client.backends();
    assert_eq!(status.len(), 2);
    assert!(status.iter().all(|s| s.connected && s.in_flight == 0));
    assert!(status.iter().all(|s| s.latency.is_some()));
}

#[tokio::test]
async fn the_less_loaded_server_gets_most_calls() {
    let (mut a, b) = (TestServer::start(1).await, TestServer::start(2).await);
    let client = client(&[&a, &b]);
    limit(client.wait_connected(2)).await.unwrap();
    // Load one server: Hold calls until it has 20 in flight (those that
    // went to the other are let go below).
    let mut held = JoinSet::new();
    while a.ran.load(SeqCst) < 20 {
        let c = client.clone();
        held.spawn(async move { c.call(Hold).await });
        tokio::task::yield_now().await;
        if held.len() > 400 {
            panic!("server 1 never got 20 Holds");
        }
    }
    limit(a.holding(20)).await.unwrap();
    // Free whatever went to `b`, so only `a` is loaded.
    b.release.add_permits(1000);
    limit(async {
        while client
            .backends()
            .iter()
            .any(|s| s.addr == b.addr && s.in_flight > 0)
        {
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap();
    let mut to_b = 0;
    for _ in 0..200 {
        if client.call(Who).await.unwrap().id == 2 {
            to_b += 1;
        }
    }
    // Two draws: both land on the loaded server a quarter of the time.
    assert!(
        to_b >= 120,
        "only {to_b} of 200 calls went to the idle server"
    );
    a.release.add_permits(1000);
    while let Some(r) = held.join_next().await {
        r.unwrap().unwrap();
    }
}

#[tokio::test]
async fn a_killed_server_fails_its_calls_and_the_rest_go_on() {
    let (mut a, mut b) = (TestServer::start(1).await, TestServer::start(2).await);
    let client = client(&[&a, &b]);
    limit(client.wait_connected(2)).await.unwrap();
    let mut held = JoinSet::new();
    let c = client.clone();
    let (on_a, on_b) = hold_until(&mut held, &mut a, &mut b, (3, 3), move || {
        let c = c.clone();
        async move { c.call(Hold).await }
    })
    .await;
    let a_addr = a.addr;
    a.kill().await;
    // The calls on the killed server fail; none hangs, none is sent again.
    let mut lost = 0;
    let mut ok = 0;
    b.release.add_permits(10_000);
    while let Some(r) = limit(held.join_next()).await.unwrap() {
        match r.unwrap() {
            Ok(Id { id }) => {
                assert_eq!(id, 2);
                ok += 1;
            }
            Err(CallError::ConnectionLost(_)) => lost += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!((lost, ok), (on_a, on_b));
    assert_eq!(b.ran.load(SeqCst), on_b, "a lost call was sent again");
    // New calls go to the live server.
    for _ in 0..50 {
        assert_eq!(limit(client.call(Who)).await.unwrap().unwrap().id, 2);
    }
    let dead = client
        .backends()
        .into_iter()
        .find(|s| s.addr == a_addr)
        .unwrap();
    assert!(!dead.connected);
    assert!(dead.last_error.is_some());
}

#[tokio::test]
async fn an_added_server_gets_calls() {
    let (a, b) = (TestServer::start(1).await, TestServer::start(2).await);
    let client = client(&[&a]);
    limit(client.wait_connected(1)).await.unwrap();
    for _ in 0..20 {
        assert_eq!(client.call(Who).await.unwrap().id, 1);
    }
    client.add_target(b.addr.to_string()).await;
    limit(client.wait_connected(2)).await.unwrap();
    let mut to_b = 0;
    for _ in 0..100 {
        if client.call(Who).await.unwrap().id == 2 {
            to_b += 1;
        }
    }
    assert!(to_b > 10, "the added server got {to_b} of 100 calls");
}

#[tokio::test]
async fn servers_follow_the_lookup_and_a_vanished_one_drains() {
    let (mut a, b) = (TestServer::start(1).await, TestServer::start(2).await);
    let listed = Arc::new(Mutex::new(vec![a.addr]));
    let lookups = Arc::new(AtomicUsize::new(0));
    let (l, n) = (listed.clone(), lookups.clone());
    let client = Balanced::builder()
        .target("service.example:7000")
        .resolver(move |target| {
            assert_eq!(target, "service.example:7000");
            n.fetch_add(1, SeqCst);
            let addrs = l.lock().unwrap().clone();
            async move { Ok(addrs) }
        })
        .resolve_every(Duration::from_millis(20))
        .backoff(Duration::from_millis(10), Duration::from_millis(100))
        .build();
    limit(client.wait_connected(1)).await.unwrap();
    // A call in flight on `a` when `a` leaves the lookup.
    let c = client.clone();
    let held = tokio::spawn(async move { c.call(Hold).await });
    limit(a.holding(1)).await.unwrap();
    // `b` joins, `a` leaves.
    *listed.lock().unwrap() = vec![b.addr];
    limit(async {
        while client.backends().iter().any(|s| s.addr == a.addr) {
            let seen = lookups.load(SeqCst);
            while lookups.load(SeqCst) == seen {
                tokio::task::yield_now().await;
            }
        }
    })
    .await
    .unwrap();
    limit(client.wait_connected(1)).await.unwrap();
    for _ in 0..20 {
        assert_eq!(
            client.call(Who).await.unwrap().id,
            2,
            "a server gone from the lookup got a call"
        );
    }
    // The call on the server that left still gets its answer.
    a.release.add_permits(1);
    assert_eq!(limit(held).await.unwrap().unwrap().unwrap().id, 1);
}

#[tokio::test]
async fn no_server_is_a_typed_error_with_its_cause() {
    // A port with nothing listening: bound, so no other test takes it,
    // but never listening (connections to it are refused).
    let closed = tokio::net::TcpSocket::new_v4().unwrap();
    closed.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = closed.local_addr().unwrap();
    let client = Balanced::builder()
        .target(addr.to_string())
        .wait_for_backend(Duration::from_millis(300))
        .backoff(Duration::from_millis(10), Duration::from_millis(50))
        .build();
    let e = limit(client.call(Who)).await.unwrap().unwrap_err();
    let CallError::Unavailable(u) = &e else {
        panic!("expected Unavailable, got {e}");
    };
    assert_eq!(u.servers, 1);
    assert!(u.waited >= Duration::from_millis(300));
    let cause = std::error::Error::source(&e)
        .and_then(|u| u.source())
        .expect("a cause");
    let io = cause
        .downcast_ref::<std::io::Error>()
        .expect("an io::Error");
    assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
    // A call's own shorter timeout bounds the wait.
    let started = tokio::time::Instant::now();
    let e = client
        .call_with(Who, CallOptions::new().timeout(Duration::from_millis(50)))
        .await
        .unwrap_err();
    assert!(matches!(e, CallError::Unavailable(_)));
    assert!(started.elapsed() < Duration::from_millis(290));
}

#[tokio::test]
async fn only_idempotent_calls_are_sent_again() {
    let (mut a, mut b) = (TestServer::start(1).await, TestServer::start(2).await);
    let client = client(&[&a, &b]);
    limit(client.wait_connected(2)).await.unwrap();
    // Idempotent calls held on both servers, then plain ones.
    let mut idempotent = JoinSet::new();
    let c = client.clone();
    let (i_a, i_b) = hold_until(&mut idempotent, &mut a, &mut b, (1, 0), move || {
        let c = c.clone();
        async move { c.call_idempotent(Hold).await }
    })
    .await;
    let mut plain = JoinSet::new();
    let c = client.clone();
    let (p_a, p_b) = hold_until(&mut plain, &mut a, &mut b, (1, 0), move || {
        let c = c.clone();
        async move { c.call(Hold).await }
    })
    .await;
    a.kill().await;
    // The idempotent calls held on `a` go to `b`, held there too.
    limit(b.holding(i_b + p_b + i_a)).await.unwrap();
    b.release.add_permits(10_000);
    while let Some(r) = limit(idempotent.join_next()).await.unwrap() {
        assert_eq!(r.unwrap().unwrap().id, 2);
    }
    // The plain ones held on `a` fail.
    let mut lost = 0;
    while let Some(r) = limit(plain.join_next()).await.unwrap() {
        match r.unwrap() {
            Ok(Id { id }) => assert_eq!(id, 2),
            Err(CallError::ConnectionLost(_)) => lost += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(lost, p_a);
    // `b` ran its own calls and the idempotent ones sent again, no more.
    assert_eq!(b.ran.load(SeqCst), i_b + p_b + i_a);
}

#[tokio::test]
async fn a_lost_server_is_reconnected_when_it_comes_back() {
    let (a, b) = (TestServer::start(1).await, TestServer::start(2).await);
    let client = client(&[&a, &b]);
    limit(client.wait_connected(2)).await.unwrap();
    let a_addr = a.addr;
    a.kill().await;
    limit(async {
        while client.backends().iter().filter(|s| s.connected).count() > 1 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap();
    // Back on the same port: the client's back-off loop finds it.
    let _a = TestServer::start_on(1, a_addr).await;
    limit(client.wait_connected(2)).await.unwrap();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..100 {
        seen.insert(client.call(Who).await.unwrap().id);
    }
    assert_eq!(seen.len(), 2);
}
