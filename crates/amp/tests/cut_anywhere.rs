//! The connection cut at every byte offset of a call, a protocol switch and
//! a StartTLS, in either direction: no call hangs, both sides end, and no
//! descriptor stays open.
//!
//! Client, relay and server run in this process, and one test does it all,
//! so that the count of open descriptors (`/proc/self/fd`) means something.

mod common;

use amp::tls::TlsOptions;
use amp::{Connection, Router, SwitchTo};
use common::raw::{Sum, Switch, Total};
use common::within;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Scenario {
    Call,
    Switch,
    StartTls,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Direction {
    /// Client to server.
    Up,
    /// Server to client.
    Down,
}

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn router(tls: TlsOptions) -> Router {
    Router::new()
        .route(|s: Sum, _| async move { Ok(Total { total: s.a + s.b }) })
        .route_switch(|_: Switch, _| async move {
            Ok(SwitchTo::new(|mut stream| async move {
                let (mut r, mut w) = tokio::io::split(&mut stream);
                let _ = tokio::io::copy(&mut r, &mut w).await;
            }))
        })
        .start_tls(tls)
}

/// What the client does; any outcome is fine, as long as it ends.
async fn client(conn: &Connection, scenario: Scenario) {
    match scenario {
        Scenario::Call => {
            let _ = conn.call(Sum { a: 1, b: 2 }).await;
        }
        Scenario::Switch => {
            if let Ok(mut stream) = conn.switch(Switch).await {
                let mut echo = [0u8; 4];
                if stream.write_all(b"ping").await.is_ok() {
                    let _ = stream.read_exact(&mut echo).await;
                }
            }
        }
        Scenario::StartTls => {
            if conn.start_tls(TlsOptions::new()).await.is_ok() {
                let _ = conn.call(Sum { a: 1, b: 2 }).await;
            }
        }
    }
}

/// Copy `r` to `w`, at most `budget` bytes; returns the bytes copied and
/// whether the budget cut the stream (rather than its end).
async fn copy(
    r: &mut (impl AsyncRead + Unpin),
    w: &mut (impl AsyncWrite + Unpin),
    budget: usize,
) -> (usize, bool) {
    let mut copied = 0;
    let mut buf = [0u8; 4096];
    loop {
        if copied == budget {
            return (copied, true);
        }
        let want = buf.len().min(budget - copied);
        let n = match r.read(&mut buf[..want]).await {
            Ok(0) | Err(_) => {
                let _ = w.shutdown().await;
                return (copied, false);
            }
            Ok(n) => n,
        };
        if w.write_all(&buf[..n]).await.is_err() {
            return (copied, false);
        }
        copied += n;
    }
}

/// Relay `c` to `s` both ways, cutting the connection (both sockets
/// dropped) once `budget` bytes went in direction `cut`. Returns the bytes
/// that went up and down.
async fn relay(c: TcpStream, s: TcpStream, cut: Direction, budget: usize) -> (usize, usize) {
    let (mut cr, mut cw) = c.into_split();
    let (mut sr, mut sw) = s.into_split();
    let limit = |d| if d == cut { budget } else { usize::MAX };
    let up = copy(&mut cr, &mut sw, limit(Direction::Up));
    let down = copy(&mut sr, &mut cw, limit(Direction::Down));
    tokio::pin!(up, down);
    let (mut up_done, mut down_done) = (None, None);
    while up_done.is_none() || down_done.is_none() {
        tokio::select! {
            r = &mut up, if up_done.is_none() => {
                if r.1 { return (r.0, down_done.map_or(0, |d: (usize, bool)| d.0)); }
                up_done = Some(r);
            }
            r = &mut down, if down_done.is_none() => {
                if r.1 { return (up_done.map_or(0, |u: (usize, bool)| u.0), r.0); }
                down_done = Some(r);
            }
        }
    }
    (up_done.unwrap().0, down_done.unwrap().0)
}

/// One run: returns the bytes that crossed each way.
async fn run(router: &Router, scenario: Scenario, cut: Direction, budget: usize) -> (usize, usize) {
    let relay_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay_addr = relay_listener.local_addr().unwrap();
    let server_addr = server_listener.local_addr().unwrap();
    let what = format!("{scenario:?} cut {cut:?} after {budget} bytes");
    let client_side = async {
        let conn = Connection::connect(relay_addr).await.unwrap();
        client(&conn, scenario).await;
        conn.close().await;
    };
    let relay_side = async {
        let (c, _) = relay_listener.accept().await.unwrap();
        let s = TcpStream::connect(server_addr).await.unwrap();
        relay(c, s, cut, budget).await
    };
    let server_side = async {
        let (stream, _) = server_listener.accept().await.unwrap();
        // The driver, not `closed()`: after a switch it goes on running the
        // protocol switched to, which holds the socket.
        let (_conn, driver) = Connection::builder().router(router.clone()).build(stream);
        driver.await
    };
    let ((), crossed, _) = within(&what, async {
        tokio::join!(client_side, relay_side, server_side)
    })
    .await;
    crossed
}

#[tokio::test]
async fn cut_at_every_byte_nothing_hangs_and_nothing_leaks() {
    let router = router(TlsOptions::new());
    // Warm up (the temporary certificate, the runtime's own descriptors).
    run(&router, Scenario::StartTls, Direction::Up, usize::MAX).await;
    let baseline = open_descriptors();
    for scenario in [Scenario::Call, Scenario::Switch, Scenario::StartTls] {
        let (up, down) = run(&router, scenario, Direction::Up, usize::MAX).await;
        assert!(up > 0 && down > 0, "{scenario:?}: {up} up, {down} down");
        for (cut, total) in [(Direction::Up, up), (Direction::Down, down)] {
            for budget in 0..=total {
                run(&router, scenario, cut, budget).await;
                assert_eq!(
                    open_descriptors(),
                    baseline,
                    "{scenario:?} cut {cut:?} after {budget} of {total} bytes left descriptors open"
                );
            }
        }
    }
}
