//! Connection lifetime: dropped handles, the driver, `close`.

use amp::{CallError, Command, Connection, Disconnect, Router};
use tokio::io::AsyncReadExt;
use tokio::time::timeout;

use crate::{sum_router, Raw, Sum, Total, LIMIT};

#[tokio::test]
async fn dropping_every_handle_of_a_pure_client_closes_it() {
    let (a, b) = tokio::io::duplex(1 << 20);
    let c = Connection::spawn(a, Router::new());
    let mut peer = Raw::new(b);
    drop(c);
    assert!(peer.until_eof().await.is_empty());
}

#[tokio::test]
async fn server_connection_survives_without_handles_and_can_call_back() {
    #[derive(Command)]
    #[amp(response = Total)]
    struct Ask {
        n: i64,
    }
    let (a, b) = tokio::io::duplex(1 << 20);
    // The server's responder for Ask calls Sum back on the client.
    drop(Connection::spawn(
        a,
        Router::new().route(|q: Ask, ctx| async move {
            let t = ctx
                .peer()
                .call(Sum { a: q.n, b: q.n })
                .await
                .expect("callback");
            Ok(Total {
                total: t.total * 10,
            })
        }),
    ));
    let client = Connection::spawn(b, sum_router());
    let r = timeout(LIMIT, client.call(Ask { n: 4 }))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.total, 80);
}

#[tokio::test]
async fn close_flushes_queued_boxes_then_ends() {
    let (a, b) = tokio::io::duplex(1 << 20);
    let c = Connection::spawn(a, Router::new());
    let mut peer = Raw::new(b);
    c.notify(Sum { a: 1, b: 2 }).await.unwrap();
    c.close().await;
    let boxes = peer.until_eof().await;
    assert_eq!(boxes.len(), 1);
    assert!(!boxes[0].contains_key("_ask"));
    assert!(matches!(c.closed().await, Disconnect::LocalClose));
}

#[tokio::test]
async fn dropping_the_driver_ends_the_connection_for_every_handle() {
    let (a, _b) = tokio::io::duplex(1 << 20);
    let (c, driver) = Connection::builder().router(Router::new()).build(a);
    let call = {
        let c = c.clone();
        tokio::spawn(async move { c.call(Sum { a: 1, b: 2 }).await })
    };
    // Run the driver until the request is written, then abandon it.
    let mut driver = Box::pin(driver);
    let mut peer_side = _b;
    let mut buf = [0u8; 1];
    tokio::select! {
        _ = &mut driver => panic!("driver ended early"),
        r = peer_side.read_exact(&mut buf) => { r.unwrap(); }
    }
    drop(driver);
    // Its own reason, not a local close: nobody closed it.
    let r = timeout(LIMIT, call).await.unwrap().unwrap();
    assert!(
        matches!(r, Err(CallError::ConnectionLost(Disconnect::DriverDropped))),
        "{r:?}"
    );
    assert!(matches!(
        timeout(LIMIT, c.closed()).await.unwrap(),
        Disconnect::DriverDropped
    ));
}
