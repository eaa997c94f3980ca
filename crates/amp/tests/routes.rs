//! Routes between two Rust ends over an in-memory stream: calls and answers
//! on routes and on the default conversation at once, the router per route,
//! binding rules, and the connection ending every route.

use std::time::Duration;

use amp::{
    CallError, ChannelError, Channels, Command, Connection, Disconnect, ProtocolError, Record,
    Router,
};

#[derive(Command)]
#[amp(response = Name)]
struct Who;

#[derive(Record, Debug, PartialEq)]
struct Name {
    name: String,
}

#[derive(Command)]
#[amp(response = Name)]
struct Hang;

fn who(name: &'static str) -> Router {
    Router::new()
        .route(move |_: Who, _| async move { Ok(Name { name: name.into() }) })
        .route(|_: Hang, _| std::future::pending())
}

async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("in time")
}

#[tokio::test]
async fn each_route_has_its_router_and_the_default_is_unchanged() {
    let (a, b) = tokio::io::duplex(4096);
    let server = Connection::spawn(
        a,
        Channels::new(who("default"))
            .channel("x", who("x"))
            .unwrap()
            .channel_to("y", "y-back", who("y"))
            .unwrap(),
    );
    let client = Connection::spawn(b, Router::new());
    let x = client.channel("x").unwrap();
    let y = client.channel_to("y-back", "y").unwrap();
    let (rx, ry, rd) =
        within(async { tokio::join!(x.call(Who), y.call(Who), client.call(Who)) }).await;
    assert_eq!(rx.unwrap().name, "x");
    assert_eq!(ry.unwrap().name, "y");
    assert_eq!(rd.unwrap().name, "default");
    // A route bound without a router (the client's z): calls on it are
    // UNHANDLED, on the route.
    client.channel("z").unwrap();
    let e = within(server.channel("z").unwrap().call(Who))
        .await
        .unwrap_err();
    assert!(matches!(e, CallError::Unhandled { .. }), "{e:?}");
    assert_eq!(
        client.channel("x").unwrap().name(),
        "x",
        "binding the same pair again is allowed"
    );
    assert!(matches!(
        client.channel_to("x", "elsewhere"),
        Err(ChannelError::Bound { .. })
    ));
}

#[tokio::test]
async fn calls_on_a_route_the_peer_lacks_end_the_connection() {
    let (a, b) = tokio::io::duplex(4096);
    let server = Connection::spawn(
        a,
        Channels::new(who("default"))
            .channel("x", who("x"))
            .unwrap(),
    );
    let client = Connection::spawn(b, Router::new());
    let e = within(client.channel("nope").unwrap().call(Who))
        .await
        .unwrap_err();
    assert!(e.is_connection_lost(), "{e:?}");
    let reason = within(server.closed()).await;
    assert!(
        matches!(&reason, Disconnect::Protocol(ProtocolError::UnknownRoute { route }) if route == "nope"),
        "{reason:?}"
    );
}

#[tokio::test]
async fn the_end_of_the_connection_fails_calls_on_every_route() {
    let (a, b) = tokio::io::duplex(4096);
    let server = Connection::spawn(
        a,
        Channels::new(who("default"))
            .channel("x", who("x"))
            .unwrap(),
    );
    let client = Connection::spawn(b, Router::new());
    let x = client.channel("x").unwrap();
    // The server closes once both calls are in its hands (hanging), so
    // the end fails calls in flight, not calls made on a closed connection.
    let closer = async {
        while server.stats().requests_in_flight < 2 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(client.stats().calls_in_flight, 2);
        server.close().await;
    };
    let (rx, rd, ()) =
        within(async { tokio::join!(x.call(Hang), client.call(Hang), closer) }).await;
    for r in [rx, rd] {
        assert!(matches!(r, Err(CallError::ConnectionLost(_))), "{r:?}");
    }
}
