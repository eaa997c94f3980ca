//! The `tower` feature, in process: a `Connection` as a tower service under
//! tower's layers (limits seen by the server, timeouts, honest readiness),
//! and routes answered by layered tower services (load shedding, timeouts,
//! rate limits shared by every connection, the error mapping).

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use amp::tower::{RawCall, OVERLOADED, TIMEOUT};
use amp::{
    AmpBox, AmpError, CallError, Command, Config, Connection, Ctx, Fail, NoError, RawError, Record,
    Router,
};
use tokio::io::AsyncReadExt;
use tokio::time::timeout;
use tower::{service_fn, ServiceBuilder, ServiceExt};

const LIMIT: Duration = Duration::from_secs(10);

#[derive(Command, Debug)]
#[amp(response = Slept, error = BusyError)]
struct Slow {
    millis: u64,
}

#[derive(Record, Debug, PartialEq)]
struct Slept {
    millis: u64,
}

#[derive(AmpError, Debug, PartialEq)]
#[amp(display)]
enum BusyError {
    #[amp(code = "NEGATIVE_TIME")]
    NegativeTime,
    /// Declared, so a shed request comes back as this variant.
    #[amp(code = "OVERLOADED")]
    Overloaded,
}

impl std::error::Error for BusyError {}

#[derive(Command, Debug)]
#[amp(response = Pong)]
struct Ping;

#[derive(Record, Debug, PartialEq)]
struct Pong {}

#[derive(Command, Debug)]
#[amp(response = Pong)]
struct Blob {
    data: Vec<u8>,
}

/// How many responders run at once, and the most seen.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl Gauge {
    async fn run<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(n, Ordering::SeqCst);
        let r = f.await;
        self.now.fetch_sub(1, Ordering::SeqCst);
        r
    }
}

/// Waits (at most [`LIMIT`]) until `cond` holds, looking every
/// millisecond.
async fn until(what: &str, cond: impl Fn() -> bool) {
    timeout(LIMIT, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("waited in vain for {what}"));
}

fn pair<S: Clone + Send + Sync + 'static>(server: Router<S>) -> Connection {
    let (a, b) = tokio::io::duplex(1 << 16);
    Connection::spawn(a, server);
    Connection::spawn(b, Router::new())
}

/// A server whose `Slow` sleeps, counting its concurrent responders.
fn slow_server(gauge: Arc<Gauge>) -> Router<Arc<Gauge>> {
    Router::with_state(gauge).route(|s: Slow, ctx| async move {
        ctx.state
            .run(tokio::time::sleep(Duration::from_millis(s.millis)))
            .await;
        Ok(Slept { millis: s.millis })
    })
}

#[tokio::test]
async fn caller_concurrency_limit_is_what_the_server_sees_and_timeout_elapses() {
    let gauge = Arc::new(Gauge::default());
    let conn = pair(slow_server(gauge.clone()));
    let svc = ServiceBuilder::new()
        .timeout(Duration::from_secs(5))
        .concurrency_limit(3)
        .service(conn.clone());

    let calls: Vec<_> = (0..12)
        .map(|_| tokio::spawn(svc.clone().oneshot(Slow { millis: 40 })))
        .collect();
    for c in calls {
        let r = timeout(LIMIT, c).await.unwrap().unwrap();
        assert_eq!(r.unwrap(), Slept { millis: 40 });
    }
    assert_eq!(
        gauge.max.load(Ordering::SeqCst),
        3,
        "the limit, and reached"
    );

    // The same stack, a call past its timeout: tower's Elapsed, boxed.
    let quick = ServiceBuilder::new()
        .timeout(Duration::from_millis(100))
        .service(conn.clone());
    let e = quick.oneshot(Slow { millis: 60_000 }).await.unwrap_err();
    assert!(e.is::<tower::timeout::error::Elapsed>(), "{e}");
    // The connection goes on (the late answer will be dropped quietly).
    assert_eq!(
        svc.clone().oneshot(Slow { millis: 1 }).await.unwrap(),
        Slept { millis: 1 }
    );
}

#[tokio::test]
async fn caller_errors_are_call_errors_plain_or_boxed() {
    let conn = pair(Router::new().route(|s: Slow, _| async move {
        if s.millis == 0 {
            return Err(BusyError::NegativeTime);
        }
        Ok(Slept { millis: s.millis })
    }));
    // Unlayered: the error type is CallError itself.
    let r = conn.clone().oneshot(Slow { millis: 0 }).await;
    assert!(matches!(r, Err(CallError::Remote(BusyError::NegativeTime))));
    // Under a layer that boxes: downcast back.
    let boxed = ServiceBuilder::new()
        .timeout(LIMIT)
        .service(conn.clone())
        .oneshot(Slow { millis: 0 })
        .await
        .unwrap_err();
    let e = boxed.downcast::<CallError<BusyError>>().unwrap();
    assert!(matches!(*e, CallError::Remote(BusyError::NegativeTime)));
    // Raw calls: the answer box.
    let mut args = AmpBox::new();
    args.insert("millis", "5");
    let answer = conn
        .clone()
        .oneshot(RawCall::new("Slow", args))
        .await
        .unwrap();
    assert_eq!(answer.get("millis"), Some(&b"5"[..]));
}

#[tokio::test]
async fn poll_ready_waits_while_the_peer_does_not_read_and_fails_once_closed() {
    let (a, mut b) = tokio::io::duplex(256);
    let config = Config::builder().write_high_water(1024).build().unwrap();
    let conn = Connection::builder()
        .router(Router::new())
        .config(config)
        .spawn(a);
    let mut svc = conn.clone();
    timeout(LIMIT, ServiceExt::<Ping>::ready(&mut svc))
        .await
        .expect("ready while there is room")
        .unwrap();

    // A big request the peer does not read: the output stays past the
    // high-water mark.
    let stuck = tokio::spawn({
        let conn = conn.clone();
        async move {
            let _ = conn
                .call(Blob {
                    data: vec![7; 16 * 1024],
                })
                .await;
        }
    });
    // Once the request is in the output (which `requests_sent` counts as
    // it writes it), the output is past the mark until the peer reads:
    // readiness is decided then and there, so one poll tells.
    until("the request to be written", || {
        conn.stats().requests_sent == 1
    })
    .await;
    let polled = std::future::poll_fn(|cx| {
        std::task::Poll::Ready(tower::Service::<Ping>::poll_ready(&mut svc, cx))
    })
    .await;
    assert!(polled.is_pending(), "ready although the output is full");

    // The peer reads: ready again.
    let reader = tokio::spawn(async move {
        let mut sink = vec![0; 64 * 1024];
        while b.read(&mut sink).await.unwrap_or(0) > 0 {}
    });
    timeout(LIMIT, ServiceExt::<Ping>::ready(&mut svc))
        .await
        .expect("ready once the output drained")
        .unwrap();

    // Once the connection has ended the service is done: poll_ready fails.
    reader.abort(); // drops the peer's end
    timeout(LIMIT, conn.closed()).await.unwrap();
    let e = timeout(LIMIT, ServiceExt::<Ping>::ready(&mut svc))
        .await
        .unwrap()
        .unwrap_err();
    assert!(e.is_connection_lost(), "{e:?}");
    stuck.abort();
}

/// A `Slow` service counting its concurrent calls in `gauge`.
fn gauged_slow(
    gauge: Arc<Gauge>,
) -> impl tower::Service<(Slow, Ctx<()>), Response = Slept, Error = BusyError, Future: Send>
       + Clone
       + Send
       + 'static {
    service_fn(move |(s, _): (Slow, Ctx<()>)| {
        let gauge = gauge.clone();
        async move {
            gauge
                .run(tokio::time::sleep(Duration::from_millis(s.millis)))
                .await;
            Ok(Slept { millis: s.millis })
        }
    })
}

/// [`gauged_slow`] under `load_shed` and `concurrency_limit(2)`.
fn shedding_router(gauge: Arc<Gauge>) -> Router {
    let svc = ServiceBuilder::new()
        .load_shed()
        .concurrency_limit(2)
        .service(gauged_slow(gauge));
    Router::new().route_service(svc)
}

#[tokio::test]
async fn responder_load_shed_answers_overloaded_and_the_connection_stays() {
    let gauge = Arc::new(Gauge::default());
    let conn = pair(shedding_router(gauge.clone()));
    let burst: Vec<_> = (0..10)
        .map(|_| {
            let conn = conn.clone();
            tokio::spawn(async move { conn.call(Slow { millis: 300 }).await })
        })
        .collect();
    let (mut ok, mut shed) = (0, 0);
    for c in burst {
        match timeout(LIMIT, c).await.unwrap().unwrap() {
            Ok(Slept { millis: 300 }) => ok += 1,
            // `Slow` declares OVERLOADED, so it comes back typed.
            Err(CallError::Remote(BusyError::Overloaded)) => shed += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(ok + shed, 10);
    assert!((1..=2).contains(&ok), "{ok} answered");
    assert!(shed >= 8, "{shed} shed");
    assert!(gauge.max.load(Ordering::SeqCst) <= 2);
    assert!(!conn.is_closed());
    // Capacity back: answered again.
    assert_eq!(
        conn.call(Slow { millis: 1 }).await.unwrap(),
        Slept { millis: 1 }
    );
}

#[tokio::test]
async fn responder_concurrency_limit_without_shedding_queues() {
    let gauge = Arc::new(Gauge::default());
    let svc = ServiceBuilder::new()
        .concurrency_limit(2)
        .service(gauged_slow(gauge.clone()));
    let conn = pair(Router::new().route_service(svc));
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let conn = conn.clone();
            tokio::spawn(async move { conn.call(Slow { millis: 30 }).await })
        })
        .collect();
    for c in calls {
        assert_eq!(
            timeout(LIMIT, c).await.unwrap().unwrap().unwrap(),
            Slept { millis: 30 }
        );
    }
    assert_eq!(gauge.max.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn responder_timeout_answers_timeout_and_the_connection_stays() {
    let svc = ServiceBuilder::new()
        .timeout(Duration::from_millis(100))
        .service_fn(|(p, _): (Ping, Ctx<()>)| async move {
            let _ = p;
            std::future::pending::<()>().await;
            Ok::<_, NoError>(Pong {})
        });
    let conn = pair(
        Router::new()
            .route_service(svc)
            .route(|s: Slow, _| async move { Ok(Slept { millis: s.millis }) }),
    );
    match timeout(LIMIT, conn.call(Ping)).await.unwrap() {
        Err(CallError::UnknownRemote { code, description }) => {
            assert_eq!(code, TIMEOUT.as_bytes());
            assert!(description.contains("in time"), "{description}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        conn.call(Slow { millis: 2 }).await.unwrap(),
        Slept { millis: 2 }
    );
}

#[tokio::test]
async fn responder_rate_limit_is_one_for_every_connection() {
    // RateLimit is not Clone: the route holds the one instance.
    let svc = ServiceBuilder::new()
        .load_shed()
        .rate_limit(3, Duration::from_secs(60))
        .service_fn(|(_, _): (Ping, Ctx<()>)| async { Ok::<_, NoError>(Pong {}) });
    let router = Router::new().route_service(svc);
    let (one, two) = (pair(router.clone()), pair(router));
    let mut answers = Vec::new();
    for conn in [&one, &two, &one, &two, &one, &two] {
        answers.push(match conn.call(Ping).await {
            Ok(Pong {}) => "ok",
            Err(CallError::UnknownRemote { code, .. }) if code == OVERLOADED.as_bytes() => "shed",
            Err(e) => panic!("unexpected {e:?}"),
        });
    }
    assert_eq!(answers, ["ok", "ok", "ok", "shed", "shed", "shed"]);
    assert!(!one.is_closed() && !two.is_closed());
}

#[tokio::test]
async fn responder_errors_declared_raw_and_undeclared() {
    let svc = service_fn(|(s, _): (Slow, Ctx<()>)| async move {
        match s.millis {
            0 => Err(tower::BoxError::from(BusyError::NegativeTime)),
            1 => Err(RawError::new("CUSTOM", "a raw error").into()),
            2 => Err(Fail::<BusyError>::Declared(BusyError::NegativeTime).into()),
            3 => Err(Fail::<BusyError>::unknown("broken").into()),
            _ => Err(std::io::Error::other("disk on fire").into()),
        }
    });
    let conn = pair(Router::new().route_service::<Slow, _>(svc));
    assert!(matches!(
        conn.call(Slow { millis: 0 }).await,
        Err(CallError::Remote(BusyError::NegativeTime))
    ));
    match conn.call(Slow { millis: 1 }).await {
        Err(CallError::UnknownRemote { code, description }) => {
            assert_eq!(code, "CUSTOM".as_bytes());
            assert_eq!(description, "a raw error");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(
        conn.call(Slow { millis: 2 }).await,
        Err(CallError::Remote(BusyError::NegativeTime))
    ));
    assert!(!conn.is_closed());
    // Undeclared: UNKNOWN, then the connection closes.
    match conn.call(Slow { millis: 4 }).await {
        Err(CallError::UnknownRemote { code, .. }) => assert_eq!(code, "UNKNOWN".as_bytes()),
        other => panic!("unexpected {other:?}"),
    }
    timeout(LIMIT, conn.closed()).await.unwrap();

    let conn = pair(Router::new().route_service::<Slow, _>(service_fn(
        |(_, _): (Slow, Ctx<()>)| async { Err::<Slept, _>(Fail::<BusyError>::unknown("broken")) },
    )));
    match conn.call(Slow { millis: 3 }).await {
        Err(CallError::UnknownRemote { code, .. }) => assert_eq!(code, "UNKNOWN".as_bytes()),
        other => panic!("unexpected {other:?}"),
    }
    timeout(LIMIT, conn.closed()).await.unwrap();
}

#[tokio::test]
async fn responder_service_gets_the_ctx() {
    let svc = service_fn(|(_, ctx): (Ping, Ctx<&'static str>)| async move {
        assert_eq!(ctx.state, "state");
        Ok::<_, Infallible>(Pong {})
    });
    let conn = pair(Router::with_state("state").route_service(svc));
    assert_eq!(conn.call(Ping).await.unwrap(), Pong {});
}
