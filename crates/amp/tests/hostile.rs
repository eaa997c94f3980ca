//! A hostile peer against the real server code: descriptor exhaustion (and
//! quiet connections holding every descriptor), lists nested as deep as a
//! value allows, boxes that never end, boxes of millions of tiny entries,
//! many connections each holding a box just under the size limit, and
//! peers that stall at every stage. Each test fails without the limit it
//! checks (the server dies, aborts, or grows without bound, a new client
//! waits for ever, or the connection stays open forever).
//!
//! The servers whose memory is measured by RSS, or that run under a
//! descriptor limit, are separate example processes (`math_server`,
//! `switch_server`; RSS is read from `/proc`); the others run in this
//! process, where a stack overflow would abort the test binary and the
//! server's own counters ([`amp::ServerStats`]) can be read.

mod common;

use amp::{AmpBox, CallError, Command, Config, Connection, Disconnect, Record, Router, Timeout};
use common::raw::{encode, read_box, Sum, Total};
use common::{example_binary, within, within_for, READY_TIMEOUT};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command as Process};

/// A `math_server` (or another example server) process.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    /// Start `math_server` with `args`; `max_fds` lowers its descriptor
    /// limit (RLIMIT_NOFILE) before it runs.
    async fn start(args: &[&str], max_fds: Option<u64>) -> Server {
        Server::start_example("math_server", args, max_fds).await
    }

    /// Start the example server `name` (it prints `listening on ADDR`).
    async fn start_example(name: &str, args: &[&str], max_fds: Option<u64>) -> Server {
        let mut cmd = Process::new(example_binary(name));
        cmd.arg("127.0.0.1:0")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        if let Some(n) = max_fds {
            let limit = rustix::process::Rlimit {
                current: Some(n),
                maximum: Some(n),
            };
            // SAFETY: only an async-signal-safe system call between fork
            // and exec.
            unsafe {
                cmd.pre_exec(move || {
                    rustix::process::setrlimit(rustix::process::Resource::Nofile, limit)
                        .map_err(std::io::Error::from)
                });
            }
        }
        let mut child = cmd.spawn().expect("start math_server");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = within_for(READY_TIMEOUT, "math_server to listen", lines.next_line())
            .await
            .unwrap()
            .expect("a line");
        let addr = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Server { child, addr }
    }

    fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// A value from `/proc/<pid>/status`, in KiB.
    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let line = status
            .lines()
            .find(|l| l.starts_with(field))
            .unwrap_or_else(|| panic!("no {field} in /proc status"));
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    fn assert_running(&mut self) {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "math_server exited"
        );
    }

    async fn sum(&self, a: i64, b: i64) -> i64 {
        let conn = within("connect", Connection::connect(&self.addr))
            .await
            .unwrap();
        let total = within("Sum", conn.call(Sum { a, b })).await.unwrap().total;
        conn.close().await;
        total
    }
}

#[tokio::test]
async fn a_server_out_of_descriptors_keeps_serving_after_the_clients_leave() {
    // 64 descriptors: 100 idle connections exhaust them. `accept` then
    // fails (EMFILE) until some close; it must be retried, not returned.
    let mut server = Server::start(&[], Some(64)).await;
    let mut idle = Vec::new();
    for _ in 0..100 {
        idle.push(TcpStream::connect(&server.addr).await.unwrap());
    }
    // One of the first connections (accepted before the limit) still works
    // while the server is out of descriptors.
    let mut first = idle.remove(0);
    first.write_all(&sum_request("1", 20, 22)).await.unwrap();
    let answer = within("an answer while out of descriptors", read_box(&mut first)).await;
    assert_eq!(answer.get("total"), Some(&b"42"[..]));
    server.assert_running();
    drop(first);
    drop(idle);
    // Once they leave, a new client is served.
    assert_eq!(server.sum(13, 81).await, 94);
    server.assert_running();
}

#[tokio::test]
async fn quiet_connections_that_made_a_call_give_way_to_a_new_client_when_out_of_descriptors() {
    // 64 descriptors; 100 clients each make a call and go quiet, holding
    // their connections. Without eviction, the server is out of descriptors
    // until they leave, and a new client waits for ever; with it, the
    // connections idle the longest (at least 1 s, the default) are closed,
    // the waiting quiet ones are served in turn, and so is the new client.
    let mut server = Server::start(&[], Some(64)).await;
    let mut quiet = Vec::new();
    for i in 0..100 {
        let mut s = TcpStream::connect(&server.addr).await.unwrap();
        s.write_all(&sum_request("1", i, 1)).await.unwrap();
        quiet.push(s);
    }
    let first = &mut quiet[0];
    assert_eq!(read_box(first).await.get("total"), Some(&b"1"[..]));
    let total = within_for(
        Duration::from_secs(10),
        "a new client to be served",
        async {
            let conn = Connection::connect(&server.addr).await.unwrap();
            conn.call(Sum { a: 13, b: 81 }).await.unwrap().total
        },
    )
    .await;
    assert_eq!(total, 94);
    // Every quiet client was answered before its connection was closed.
    for (i, s) in quiet.iter_mut().enumerate().skip(1) {
        let answer = within("a quiet client's answer", read_box(s)).await;
        assert_eq!(answer.get("total"), Some((i + 1).to_string().as_bytes()));
    }
    server.assert_running();
}

#[tokio::test]
async fn quiet_switched_connections_give_way_to_a_new_client_when_out_of_descriptors() {
    // The same with connections switched to another protocol (an echo)
    // that then stay silent: the longest silent is closed for a new client.
    let mut server = Server::start_example("switch_server", &[], Some(64)).await;
    let mut switch = AmpBox::new();
    switch.insert("_command", "Switch");
    switch.insert("_ask", "1");
    let switch = encode(&switch);
    let mut quiet = Vec::new();
    for _ in 0..100 {
        let mut s = TcpStream::connect(&server.addr).await.unwrap();
        s.write_all(&switch).await.unwrap();
        quiet.push(s);
    }
    let echoed = within_for(
        Duration::from_secs(10),
        "a new client to be served",
        async {
            let conn = Connection::connect(&server.addr).await.unwrap();
            let mut stream = conn.switch(common::raw::Switch).await.unwrap();
            stream.write_all(b"hello").await.unwrap();
            let mut echoed = [0u8; 5];
            stream.read_exact(&mut echoed).await.unwrap();
            echoed
        },
    )
    .await;
    assert_eq!(&echoed, b"hello");
    server.assert_running();
}

fn sum_request(tag: &str, a: i64, b: i64) -> Vec<u8> {
    let mut r = AmpBox::new();
    r.insert("_command", "Sum");
    r.insert("_ask", tag.to_owned());
    r.insert("a", a.to_string());
    r.insert("b", b.to_string());
    encode(&r)
}

/// A recursive record, as a tree of AmpLists.
#[derive(Record, Debug)]
struct Node {
    k: Option<Vec<Node>>,
}

#[derive(Command)]
#[amp(response = Depth)]
struct Nest {
    n: Vec<Node>,
}

#[derive(Record, Debug, PartialEq)]
struct Depth {
    depth: u64,
}

fn depth(nodes: &[Node]) -> u64 {
    nodes
        .iter()
        .map(|n| 1 + n.k.as_deref().map_or(0, depth))
        .max()
        .unwrap_or(0)
}

/// An AmpList value nesting `levels` boxes (7 bytes a level: the most a
/// 65,535-byte value can hold is 9,361).
fn nested(levels: usize) -> Vec<u8> {
    let mut v = b"\x00\x00".to_vec();
    for _ in 1..levels {
        let mut outer = vec![0, 1, b'k'];
        outer.extend_from_slice(&(v.len() as u16).to_be_bytes());
        outer.extend_from_slice(&v);
        outer.extend_from_slice(b"\x00\x00");
        v = outer;
    }
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_nested_as_deep_as_a_value_allows_get_an_error_and_the_server_lives() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = Router::new().route(|n: Nest, _| async move { Ok(Depth { depth: depth(&n.n) }) });
    tokio::spawn(amp::Server::new(router).serve(listener));
    let call = |levels: usize| async move {
        let conn = Connection::connect(addr).await.unwrap();
        let mut args = AmpBox::new();
        args.insert("n", nested(levels));
        let r = within("Nest", conn.call_raw("Nest", args)).await;
        (r, conn)
    };
    // 9,361 levels: the deepest one value can carry. Decoded without a
    // limit, this overflows a worker's stack and aborts the process.
    let (r, conn) = call(9_361).await;
    match r {
        Err(CallError::UnknownRemote { code, .. }) => assert_eq!(&code[..], b"UNKNOWN"),
        other => panic!("expected UNKNOWN, got {other:?}"),
    }
    assert!(matches!(
        within("close", conn.closed()).await,
        Disconnect::PeerClosed
    ));
    // The server is fine, and nesting within the limit (64) works.
    let (r, _) = call(63).await;
    assert_eq!(r.unwrap().get("depth"), Some(&b"63"[..]));
}

#[tokio::test]
async fn a_box_that_never_ends_is_cut_at_the_limit_with_bounded_memory() {
    let mut server = Server::start(&[], None).await;
    let before = server.status_kib("VmRSS:");
    let mut s = TcpStream::connect(&server.addr).await.unwrap();
    // Entries of 60 KiB values, without end: 4 MiB (the default limit) is
    // refused, 100 MB would be buffered without one.
    let mut entry = vec![0, 2, b'k', b'0'];
    entry.extend_from_slice(&(60 * 1024u16).to_be_bytes());
    entry.extend_from_slice(&[b'x'; 60 * 1024]);
    let mut sent = 0usize;
    let cut = within("the server to cut the box off", async {
        while sent < 100 << 20 {
            if s.write_all(&entry).await.is_err() {
                return true;
            }
            sent += entry.len();
        }
        false
    })
    .await;
    assert!(cut, "100 MB of one box were accepted");
    assert!(sent < 32 << 20, "{sent} bytes were taken before the cut");
    let peak = server.status_kib("VmHWM:");
    assert!(
        peak < before + 32 * 1024,
        "the server grew from {before} KiB to a peak of {peak} KiB"
    );
    server.assert_running();
    assert_eq!(server.sum(1, 2).await, 3);
}

#[tokio::test]
async fn a_huge_box_of_tiny_entries_costs_memory_in_proportion() {
    // Limits raised to let a 25 MB box of 3.6 million tiny entries through
    // (the defaults refuse it): what it costs to decode is what is tested.
    let mut server = Server::start(
        &["--max-box-size", "33554432", "--max-box-entries", "4000000"],
        None,
    )
    .await;
    // The server's memory before, with one connection served.
    assert_eq!(server.sum(1, 1).await, 2);
    let before = server.status_kib("VmHWM:");
    let mut body = Vec::new();
    for (k, v) in [("_ask", "1"), ("_command", "Sum"), ("a", "20"), ("b", "22")] {
        body.extend_from_slice(&(k.len() as u16).to_be_bytes());
        body.extend_from_slice(k.as_bytes());
        body.extend_from_slice(&(v.len() as u16).to_be_bytes());
        body.extend_from_slice(v.as_bytes());
    }
    // Keys `z` + two bytes, cycling: out of order, and repeated.
    let mut i = 0u32;
    while body.len() < 25_000_000 {
        let k = [b'z', (i >> 8) as u8, i as u8];
        body.extend_from_slice(&[0, 3]);
        body.extend_from_slice(&k);
        body.extend_from_slice(&[0, 0]);
        i += 1;
    }
    body.extend_from_slice(b"\x00\x00");
    let size_kib = body.len() as u64 / 1024;
    let mut s = TcpStream::connect(&server.addr).await.unwrap();
    let (mut r, mut w) = s.split();
    // (A memory test: the time limit only keeps a hang from hanging the
    // suite, and 25 MB through a debug build on a loaded machine is slow.)
    let limit = Duration::from_secs(120);
    let (written, answer) = tokio::join!(
        within_for(limit, "send the box", w.write_all(&body)),
        within_for(limit, "the answer", read_box(&mut r))
    );
    written.unwrap();
    assert_eq!(answer.get("total"), Some(&b"42"[..]));
    let peak = server.status_kib("VmHWM:");
    let cost = peak.saturating_sub(before);
    eprintln!(
        "a {size_kib} KiB box of {i} tiny entries: server peak grew by {cost} KiB ({:.1}x the box)",
        cost as f64 / size_kib as f64
    );
    assert!(
        cost < 5 * size_kib,
        "decoding a {size_kib} KiB box took {cost} KiB"
    );
    server.assert_running();
}

/// A box just under the default 4 MiB limit, without its end: entries of
/// 60 KiB values, and no empty key to close it.
fn almost_max_partial_box() -> Vec<u8> {
    let mut b = Vec::new();
    for i in 0..68 {
        b.extend_from_slice(&[0, 3]);
        b.extend_from_slice(format!("k{i:02}").as_bytes());
        b.extend_from_slice(&(60 * 1024u16).to_be_bytes());
        b.extend_from_slice(&[b'x'; 60 * 1024]);
    }
    assert!(b.len() < 4 << 20);
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn almost_max_partial_boxes_on_many_connections_are_cut_at_the_servers_memory_budget() {
    // 100 connections, each sending a box just under the size limit and
    // never finishing it: 400 MB held for `box_timeout` without a budget
    // across connections. With one, the connections holding the most are
    // cut, and a client exchanging small boxes is served all along.
    const BUDGET: usize = 32 << 20;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = amp::Server::new(sum_router()).memory_budget(Some(BUDGET));
    let stats = server.stats();
    tokio::spawn(server.serve(listener));
    let honest = within("connect", Connection::connect(addr)).await.unwrap();
    assert_eq!(honest.call(Sum { a: 1, b: 2 }).await.unwrap().total, 3);
    let partial = std::sync::Arc::new(almost_max_partial_box());
    let mut attack = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let partial = partial.clone();
        attack.spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            // Sent whole, or cut while sending.
            let _ = s.write_all(&partial).await;
            s
        });
    }
    // Served while the attack runs.
    for i in 0..20 {
        let total = within(
            "an honest call during the attack",
            honest.call(Sum { a: i, b: 1 }),
        )
        .await
        .unwrap()
        .total;
        assert_eq!(total, i + 1);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut attackers = Vec::new();
    while let Some(s) = within("the attackers to send", attack.join_next()).await {
        attackers.push(s.unwrap());
    }
    // The cut ones see the end of the stream; the others are still open.
    let mut cut = 0;
    for s in &mut attackers {
        let mut byte = [0u8; 1];
        if let Ok(r) = tokio::time::timeout(Duration::from_millis(100), s.read(&mut byte)).await {
            assert!(matches!(r, Ok(0) | Err(_)), "{r:?}");
            cut += 1;
        }
    }
    let (now, peak) = (stats.buffered(), stats.peak_buffered());
    eprintln!(
        "budget {} MiB: peak {:.1} MiB, now {:.1} MiB; {cut} of 100 attackers cut ({} counted)",
        BUDGET >> 20,
        peak as f64 / (1 << 20) as f64,
        now as f64 / (1 << 20) as f64,
        stats.cut_for_memory()
    );
    assert!(now <= BUDGET, "{now} bytes buffered now");
    assert!(
        peak <= BUDGET + BUDGET / 2,
        "{peak} bytes buffered at the peak"
    );
    assert!(cut >= 80, "only {cut} attackers were cut");
    assert_eq!(stats.cut_for_memory(), cut as u64);
    assert_eq!(honest.call(Sum { a: 20, b: 22 }).await.unwrap().total, 42);
    drop(attackers);
    within("the attackers' buffers to go", async {
        while stats.buffered() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_memory_budget_the_connections_holding_the_most_are_cut_first() {
    // A client sending a 1 MiB call, half way through, while attackers one
    // after the other send boxes just under 4 MiB: each time the budget is
    // passed, the connection holding the most (an attacker) is cut, and
    // the 1 MiB call completes.
    const BUDGET: usize = 8 << 20;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = amp::Server::new(sum_router()).memory_budget(Some(BUDGET));
    let stats = server.stats();
    tokio::spawn(server.serve(listener));
    let mut call = Vec::new();
    for i in 0..17 {
        call.extend_from_slice(&[0, 3]);
        call.extend_from_slice(format!("x{i:02}").as_bytes());
        call.extend_from_slice(&(60 * 1024u16).to_be_bytes());
        call.extend_from_slice(&[b'y'; 60 * 1024]);
    }
    let rest = sum_request("1", 20, 22);
    let mut medium = TcpStream::connect(addr).await.unwrap();
    medium.write_all(&call).await.unwrap();
    within("the 1 MiB to be buffered", async {
        while stats.buffered() < 15 * 64 * 1024 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let partial = almost_max_partial_box();
    let mut attackers = Vec::new();
    for _ in 0..6 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let _ = within("an attacker to send", s.write_all(&partial)).await;
        attackers.push(s);
    }
    medium.write_all(&rest).await.unwrap();
    let answer = within("the 1 MiB call's answer", read_box(&mut medium)).await;
    assert_eq!(answer.get("total"), Some(&b"42"[..]));
    assert!(
        stats.cut_for_memory() >= 4,
        "{} cut",
        stats.cut_for_memory()
    );
    assert!(stats.peak_buffered() <= BUDGET + BUDGET / 2);
}

/// A server connection over a real socket with `config`; returns the
/// client's socket and the connection's ending.
async fn served(
    config: Config,
    router: Router,
) -> (TcpStream, tokio::task::JoinHandle<Disconnect>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (stream, _) = listener.accept().await.unwrap();
    let (_conn, driver) = Connection::builder()
        .router(router)
        .config(config)
        .build(stream);
    (client, tokio::spawn(driver))
}

fn quick(f: impl FnOnce(amp::ConfigBuilder) -> amp::ConfigBuilder) -> Config {
    f(Config::builder()).build().unwrap()
}

const SHORT: Duration = Duration::from_millis(300);

fn sum_router() -> Router {
    Router::new()
        .route(|s: Sum, _| async move { Ok(Total { total: s.a + s.b }) })
        .start_tls(amp::tls::TlsOptions::new())
}

async fn ends_with(driver: tokio::task::JoinHandle<Disconnect>, t: Timeout) {
    match within("the connection to time out", driver).await.unwrap() {
        Disconnect::Timeout(got) => assert_eq!(got, t),
        other => panic!("expected a {t:?} timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn a_peer_that_never_sends_a_box_is_closed() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = quick(|c| c.first_box_timeout(Some(SHORT)));
    tokio::spawn(
        amp::Server::new(sum_router())
            .config(config)
            .serve(listener),
    );
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let mut buf = [0u8; 1];
    let n = within("the server to hang up", silent.read(&mut buf)).await;
    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    // A peer that speaks in time is served as usual.
    let conn = Connection::connect(addr).await.unwrap();
    assert_eq!(conn.call(Sum { a: 1, b: 2 }).await.unwrap().total, 3);
}

#[tokio::test]
async fn a_box_that_stalls_half_way_is_closed() {
    let (mut client, driver) = served(quick(|c| c.box_timeout(Some(SHORT))), sum_router()).await;
    client
        .write_all(&sum_request("1", 1, 2)[..10])
        .await
        .unwrap();
    ends_with(driver, Timeout::Box).await;
}

#[tokio::test]
async fn a_starttls_left_silent_is_closed() {
    let config = quick(|c| c.tls_handshake_timeout(Some(SHORT)));
    let (mut client, driver) = served(config, sum_router()).await;
    let mut req = AmpBox::new();
    req.insert("_command", "StartTLS");
    req.insert("_ask", "1");
    client.write_all(&encode(&req)).await.unwrap();
    assert_eq!(read_box(&mut client).await.get("_answer"), Some(&b"1"[..]));
    // ...and never a ClientHello.
    ends_with(driver, Timeout::TlsHandshake).await;
}

#[tokio::test]
async fn an_idle_connection_is_closed_when_asked() {
    let config = quick(|c| c.idle_timeout(Some(SHORT)));
    let (mut client, driver) = served(config, sum_router()).await;
    client.write_all(&sum_request("1", 1, 2)).await.unwrap();
    assert_eq!(read_box(&mut client).await.get("total"), Some(&b"3"[..]));
    ends_with(driver, Timeout::Idle).await;
}

#[tokio::test]
async fn a_peer_that_stops_reading_is_closed() {
    let config = quick(|c| c.write_timeout(Some(SHORT)).write_high_water(1024));
    let (client, driver) = served(config, sum_router()).await;
    // Requests, never reading an answer: the answers fill the socket, then
    // the server's output, then nothing moves.
    let (_r, mut w) = client.into_split();
    let flood = tokio::spawn(async move {
        let req = sum_request("1", 1, 2);
        while w.write_all(&req).await.is_ok() {}
    });
    ends_with(driver, Timeout::Write).await;
    within("the flood to end", flood).await.unwrap();
}
