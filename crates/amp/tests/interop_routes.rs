//! Routes against a live Twisted peer using Divmod Epsilon's
//! `epsilon.amprouter` (interop/route_peer.py), both directions: several
//! AMP conversations over one TCP connection, told apart by `_route`; two
//! routes and the default one at once; a route with different names at
//! each end; answers, declared errors and `UNHANDLED` on routes; a route's
//! responder calling back on its own route; and boxes for a route the other
//! side has not bound ending the connection.

mod common;

use std::time::Duration;

use amp::{
    CallError, ChannelError, Channels, Command, Connection, Disconnect, ProtocolError, Record,
    Router, Server,
};
use common::{within, Py};

#[derive(Command)]
#[amp(response = Name)]
struct Who;

#[derive(Record, Debug, PartialEq)]
struct Name {
    name: String,
}

#[derive(Command)]
#[amp(response = Total)]
struct Sum {
    a: i64,
    b: i64,
}

#[derive(Record, Debug, PartialEq)]
struct Total {
    total: i64,
}

#[derive(Command)]
#[amp(response = Nothing, error = RefuseError)]
struct Refuse;

#[derive(Record, Debug)]
struct Nothing {}

#[derive(amp::AmpError, Debug, PartialEq)]
enum RefuseError {
    #[amp(code = "REFUSED")]
    Refused,
}

#[derive(Command)]
#[amp(response = Said)]
struct AskBack;

#[derive(Record, Debug, PartialEq)]
struct Said {
    said: String,
}

#[derive(Command)]
#[amp(response = Nothing)]
struct Stray;

fn who(name: &'static str) -> Router {
    Router::new().route(move |_: Who, _| async move { Ok(Name { name: name.into() }) })
}

fn sum(r: Router) -> Router {
    r.route(|s: Sum, _| async move { Ok(Total { total: s.a + s.b }) })
}

/// What the Rust side answers, per route.
fn routes() -> Result<Channels, ChannelError> {
    Channels::new(who("rust-default"))
        .channel(
            "left",
            sum(who("rust-left")).route(|_: Refuse, _| async { Err(RefuseError::Refused) }),
        )?
        .channel(
            "right",
            who("rust-right").route(|_: AskBack, ctx| async move {
                // Call back on the same route.
                let right = ctx.peer().channel("right").expect("bound");
                let r = right.call(Who).await.expect("Who on right");
                Ok(Said { said: r.name })
            }),
        )?
        .channel_to("calc", "p-calc", sum(Router::new()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epsilon_client_calls_rust_routes() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let server = tokio::spawn(Server::new(routes().unwrap()).serve(listener));
    let py = Py::spawn("route_peer.py", &["client", &port]);
    let out = py.finish(Duration::from_secs(60)).await;
    out.assert_success("route_peer.py client");
    for check in [
        "PASS Who on left, right, default and Sum on left at once",
        "PASS Sum on p-calc -> calc",
        "PASS Refuse on left fails with REFUSED",
        "PASS Sum on right is UNHANDLED",
        "PASS AskBack on right: Rust asked our right",
        "PASS the connection goes on",
        "PASS a box for an unknown route ends the connection",
        "PASS the call on it fails with the connection",
    ] {
        assert!(
            out.stdout.lines().any(|l| l.starts_with(check)),
            "no {check:?} in:\n{}",
            out.stdout
        );
    }
    assert!(
        out.stdout.ends_with("8 passed, 0 failed\n"),
        "{}",
        out.stdout
    );
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_epsilon_routes() {
    let (mut py, port) = Py::serve("route_peer.py", &["serve"]).await;
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let conn = Connection::spawn(stream, routes().unwrap());
    let left = conn.channel("left").unwrap();
    let right = conn.channel("right").unwrap();
    // Python's route p-calc is connected to our calc: we call on calc,
    // it answers to calc.
    let calc = conn.channel_to("calc", "p-calc").unwrap();

    // Two routes and the default route at once, over one connection.
    let (l, r, d, s) = within("four calls at once", async {
        tokio::join!(
            left.call(Who),
            right.call(Who),
            conn.call(Who),
            calc.call(Sum { a: 40, b: 2 })
        )
    })
    .await;
    assert_eq!(l.unwrap().name, "left");
    assert_eq!(r.unwrap().name, "right");
    assert_eq!(d.unwrap().name, "default");
    assert_eq!(s.unwrap(), Total { total: 42 });

    // Answers and errors on routes.
    assert_eq!(
        within("Sum on left", left.call(Sum { a: 2, b: 3 }))
            .await
            .unwrap(),
        Total { total: 5 }
    );
    let e = within("Refuse on left", left.call(Refuse))
        .await
        .unwrap_err();
    assert!(
        matches!(e, CallError::Remote(RefuseError::Refused)),
        "{e:?}"
    );
    let e = within("Sum on right", right.call(Sum { a: 1, b: 1 }))
        .await
        .unwrap_err();
    assert!(matches!(e, CallError::Unhandled { .. }), "{e:?}");
    let e = within("Sum on default", conn.call(Sum { a: 1, b: 1 }))
        .await
        .unwrap_err();
    assert!(matches!(e, CallError::Unhandled { .. }), "{e:?}");

    // Python's left calls our Who on left while answering.
    let said = within("AskBack on left", left.call(AskBack)).await.unwrap();
    assert_eq!(said.said, "rust-left");

    // Python sends a request on a route we have not bound: we end the
    // connection.
    let e = within("Stray", conn.call(Stray)).await.unwrap_err();
    assert!(e.is_connection_lost(), "{e:?}");
    let reason = within("closed", conn.closed()).await;
    assert!(
        matches!(
            &reason,
            Disconnect::Protocol(ProtocolError::UnknownRoute { route }) if route == "nowhere"
        ),
        "{reason:?}"
    );

    // A route Python has not bound: Epsilon's router fails with KeyError
    // and Twisted drops the connection.
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let other = Connection::spawn(stream, routes().unwrap());
    let e = within(
        "Who on nowhere",
        other.channel("nowhere").unwrap().call(Who),
    )
    .await
    .unwrap_err();
    assert!(e.is_connection_lost(), "{e:?}");

    py.close_stdin();
    py.finish(Duration::from_secs(30))
        .await
        .assert_success("route_peer.py serve");
}
