//! Twisted's documented examples (docs/core/examples/ampserver.py,
//! ampclient.py) against Rust.

use std::time::Duration;

use amp::{Connection, Router};
use tokio::net::TcpListener;

use crate::commands::*;
use crate::common::{within, Py};
use crate::helpers::{all_peer_closed, big, check_divide, RustServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documented_twisted_ampserver_serves_a_rust_client() {
    let (mut py, port) = Py::serve("doc_examples.py", &["server"]).await;
    let conn = within("connect", Connection::connect(("127.0.0.1", port)))
        .await
        .unwrap();
    let r = within(
        "Sum(13, 81)",
        conn.call(Sum {
            a: big("13"),
            b: big("81"),
        }),
    )
    .await
    .unwrap();
    assert_eq!(r.total, big("94"));
    check_divide(&conn, 8, 0.125).await;
    // The documented server says what it did.
    py.wait_line(Duration::from_secs(10), |l| l == "Did a sum: 13 + 81 = 94")
        .await;
    py.wait_line(Duration::from_secs(10), |l| l == "Divided: 1 / 8 = 0.125")
        .await;
    assert!(!conn.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documented_twisted_ampclient_against_a_rust_server() {
    // What a user would write: a Server with just Sum and Divide.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let router = Router::new()
        .route(|c: Sum, _| async move { Ok(SumResult { total: c.a + c.b }) })
        .route(|c: Divide, _| async move {
            if c.denominator == 0 {
                return Err(MathError::ZeroDivision);
            }
            Ok(DivideResult {
                result: c.numerator as f64 / c.denominator as f64,
            })
        });
    let server = tokio::spawn(amp::Server::new(router).serve(listener));
    let out = Py::spawn("doc_examples.py", &["client", &port])
        .finish(Duration::from_secs(60))
        .await;
    out.assert_success("the documented ampclient.py");
    // Exactly what it prints against Twisted's own documented ampserver.py.
    assert_eq!(
        out.stdout, "Divided by zero: returning INF\nDone with math: [(True, 94), (True, inf)]\n",
        "stderr: {}",
        out.stderr
    );
    assert!(
        !server.is_finished(),
        "the server stopped: {:?}",
        server.await
    );
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documented_twisted_ampclient_connections_end_cleanly() {
    let mut server = RustServer::start().await;
    let port = server.port.to_string();
    let out = Py::spawn("doc_examples.py", &["client", &port])
        .finish(Duration::from_secs(60))
        .await;
    out.assert_success("the documented ampclient.py");
    out.assert_line("Done with math: [(True, 94), (True, inf)]");
    // The client dropped both connections when its reactor stopped.
    all_peer_closed(&mut server, 2).await;
}
