//! The `tower` feature against live Twisted peers (interop/tower_peer.py),
//! both directions: a Rust client whose `Connection` is wrapped in tower's
//! `concurrency_limit` and `timeout` calling a Twisted server (which
//! counts its concurrent responders), and a Twisted client calling a Rust
//! server whose routes are tower services under `timeout` and
//! `load_shed` + `concurrency_limit` layers.

mod common;

use std::time::Duration;

use amp::{AmpError, Command, Connection, Ctx, Record, Router, Server};
use common::raw::Slow;
use common::{within, Py};
use tower::{ServiceBuilder, ServiceExt};

#[derive(Command)]
#[amp(response = Max)]
struct MaxSeen;

#[derive(Record, Debug)]
struct Max {
    max: i64,
}

#[derive(Command)]
#[amp(response = Found, error = LookupError)]
struct Lookup {
    key: String,
}

#[derive(Record)]
struct Found {
    value: String,
}

#[derive(AmpError, Debug)]
#[amp(display)]
enum LookupError {
    #[amp(code = "TIMEOUT")]
    TimedOut,
}

impl std::error::Error for LookupError {}

#[derive(Command)]
#[amp(response = Done)]
struct Busy {
    seconds: f64,
}

#[derive(Record)]
struct Done {
    done: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layered_rust_client_calls_twisted() {
    let (mut py, port) = Py::serve("tower_peer.py", &["serve"]).await;
    let conn = Connection::connect(("127.0.0.1", port)).await.unwrap();
    let svc = ServiceBuilder::new()
        .timeout(Duration::from_secs(10))
        .concurrency_limit(2)
        .service(conn.clone());

    let calls: Vec<_> = (0..6)
        .map(|_| tokio::spawn(svc.clone().oneshot(Slow { seconds: 0.2 })))
        .collect();
    for c in calls {
        let slept = within("a limited Slow", c).await.unwrap().unwrap();
        assert_eq!(slept.slept, 0.2);
    }
    // Twisted saw the limit, and reached it.
    let max = within("MaxSeen", conn.call(MaxSeen)).await.unwrap().max;
    assert_eq!(max, 2);

    // Past the timeout: tower's Elapsed; Twisted's late answer is dropped
    // quietly and the connection goes on.
    let quick = ServiceBuilder::new()
        .timeout(Duration::from_millis(200))
        .service(conn.clone());
    let answers = conn.stats().answers_received;
    let e = within("a timed-out Slow", quick.oneshot(Slow { seconds: 0.6 }))
        .await
        .unwrap_err();
    assert!(e.is::<tower::timeout::error::Elapsed>(), "{e}");
    // The late answer arrives (counted, though no call takes it).
    within("the late answer", async {
        while conn.stats().answers_received == answers {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert_eq!(conn.stats().answers_received, answers + 1);
    assert!(!conn.is_closed(), "closed by the late answer");
    let slept = within("Slow after", svc.oneshot(Slow { seconds: 0.01 }))
        .await
        .unwrap();
    assert_eq!(slept.slept, 0.01);
    assert!(!conn.is_closed());
    py.close_stdin();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_client_calls_layered_rust_routes() {
    let lookup = ServiceBuilder::new()
        .timeout(Duration::from_millis(300))
        .service_fn(|(l, _): (Lookup, Ctx<()>)| async move {
            if l.key == "stuck" {
                std::future::pending::<()>().await;
            }
            Ok::<_, LookupError>(Found {
                value: format!("value of {}", l.key),
            })
        });
    let busy = ServiceBuilder::new()
        .load_shed()
        .concurrency_limit(2)
        .service_fn(|(b, _): (Busy, Ctx<()>)| async move {
            tokio::time::sleep(Duration::from_secs_f64(b.seconds)).await;
            Ok::<_, amp::NoError>(Done { done: true })
        });
    let router = Router::new().route_service(lookup).route_service(busy);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let server = tokio::spawn(Server::new(router).serve(listener));
    let py = Py::spawn("tower_peer.py", &["client", &port]);
    let out = py.finish(Duration::from_secs(60)).await;
    out.assert_success("tower_peer.py client");
    for check in [
        "PASS Lookup past the timeout fails with TIMEOUT",
        "PASS Lookup within the timeout answers",
        "PASS Busy burst: every call answered or shed",
        "PASS Busy burst: at most 2 answered",
        "PASS Busy burst: the rest OVERLOADED",
        "PASS Busy after the burst answers: the connection stayed",
    ] {
        out.line_starting(check);
    }
    assert!(
        out.stdout.ends_with("6 passed, 0 failed\n"),
        "{}",
        out.stdout
    );
    server.abort();
}
