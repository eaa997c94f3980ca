//! `Connection::builder()`: every option reaches the connection it makes
//! (router, config, addresses, StartTLS on connect), and every way to end
//! it (connect, connect_unix, spawn, spawn_unix, build, build_unix) works.

use amp::tls::TlsOptions;
use amp::{
    Addr, Channels, Command, Config, Connection, ConnectionInfo, Disconnect, Record, Router, Server,
};
use std::time::Duration;

#[derive(Command)]
#[amp(response = Pong)]
struct Ping;

#[derive(Record, Debug, PartialEq)]
struct Pong {
    tls: bool,
}

/// Answers Ping with whether the connection is secured.
fn pong() -> Router {
    Router::new().route(|_: Ping, ctx| async move {
        Ok(Pong {
            tls: ctx.peer().is_tls(),
        })
    })
}

async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("no hang")
}

#[tokio::test]
async fn connect_with_a_router_a_config_and_starttls() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(Server::new(pong().start_tls(TlsOptions::new())).serve(listener));

    let config = Config::builder().max_in_flight(3).build().unwrap();
    let conn = within(
        Connection::builder()
            .router(pong())
            .config(config)
            .start_tls(TlsOptions::new())
            .connect(addr),
    )
    .await
    .unwrap();
    // StartTLS ran before connect returned.
    assert!(conn.is_tls());
    assert_eq!(within(conn.call(Ping)).await.unwrap(), Pong { tls: true });
    assert_eq!(
        conn.peer_addr().and_then(|a| a.as_tcp()),
        Some(addr),
        "connect knows the addresses"
    );
}

#[tokio::test]
async fn a_starttls_refused_fails_connect_with_its_cause() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // No StartTLS responder: the peer answers UNHANDLED.
    tokio::spawn(Server::new(pong()).serve(listener));
    let err = within(
        Connection::builder()
            .start_tls(TlsOptions::new())
            .connect(addr),
    )
    .await
    .unwrap_err();
    let inner = err.get_ref().expect("the StartTLS error inside");
    assert!(
        matches!(
            inner.downcast_ref::<amp::CallError<amp::StartTlsError>>(),
            Some(amp::CallError::Unhandled { .. })
        ),
        "{inner:?}"
    );
}

#[tokio::test]
async fn spawn_with_addresses_and_channels() {
    let (a, b) = tokio::io::duplex(4096);
    let peer: std::net::SocketAddr = "10.1.2.3:4000".parse().unwrap();
    let channels = Channels::new(pong()).channel("side", pong()).unwrap();
    let server = Connection::builder()
        .router(channels)
        .addresses(ConnectionInfo::new(Some(Addr::Tcp(peer)), None))
        .spawn(a);
    assert_eq!(server.peer_addr().and_then(|a| a.as_tcp()), Some(peer));
    let client = Connection::spawn(b, Router::new());
    let side = client.channel("side").unwrap();
    assert_eq!(within(side.call(Ping)).await.unwrap(), Pong { tls: false });
    assert_eq!(
        within(side.send(Ping)).await.unwrap(),
        Some(Pong { tls: false })
    );
}

#[tokio::test]
async fn build_hands_over_the_driver() {
    let (a, b) = tokio::io::duplex(4096);
    let (conn, driver) = Connection::builder().router(pong()).build(a);
    let driver = tokio::spawn(driver);
    let client = Connection::spawn(b, Router::new());
    assert_eq!(
        within(client.call(Ping)).await.unwrap(),
        Pong { tls: false }
    );
    client.close().await;
    assert!(matches!(
        within(driver).await.unwrap(),
        Disconnect::PeerClosed
    ));
    assert!(conn.is_closed());
}

#[tokio::test]
async fn unix_sockets_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("amp.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    tokio::spawn(Server::new(pong()).serve(listener));
    let conn = within(Connection::builder().connect_unix(&path))
        .await
        .unwrap();
    assert_eq!(within(conn.call(Ping)).await.unwrap(), Pong { tls: false });

    let (a, b) = tokio::net::UnixStream::pair().unwrap();
    let _server = Connection::builder().router(pong()).spawn_unix(a);
    let (client, driver) = Connection::builder().build_unix(b);
    tokio::spawn(driver);
    assert_eq!(
        within(client.call(Ping)).await.unwrap(),
        Pong { tls: false }
    );
}
