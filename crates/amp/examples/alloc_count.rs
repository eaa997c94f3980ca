//! Heap allocations per `Sum` call, client side and server side, measured
//! with a counting allocator.
//!
//! ```text
//! cargo run --release --example alloc_count [CALLS]
//! ```
//!
//! Client and server each run on their own thread (a current-thread tokio
//! runtime each) and talk over loopback TCP; every allocation is counted
//! against the thread that made it. After a warm-up, `CALLS` calls (default
//! 100,000) are made one at a time (depth 1), then 100 at a time, then one
//! at a time again, each with a 30 s timeout of its own; the output is
//! allocations per call on each side. It uses only API that
//! predates the session core, so the same file measures older commits
//! (`bench/allocs.sh`).

use amp::{CallOptions, Command, Connection, Record, Router};
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts allocations (not frees) per role of the allocating thread.
struct Counting;

static CLIENT: AtomicU64 = AtomicU64::new(0);
static SERVER: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// 0: not counted, 1: client, 2: server.
    static ROLE: Cell<u8> = const { Cell::new(0) };
}

fn count() {
    match ROLE.try_with(Cell::get) {
        Ok(1) => CLIENT.fetch_add(1, Ordering::Relaxed),
        Ok(2) => SERVER.fetch_add(1, Ordering::Relaxed),
        _ => 0,
    };
}

// SAFETY: every method forwards to `System` unchanged; counting touches
// only atomics and a const-initialised thread-local.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

#[derive(Command)]
#[amp(response = SumResult)]
struct Sum {
    a: i64,
    b: i64,
}

#[derive(Record)]
struct SumResult {
    total: i64,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn main() {
    let calls: u64 = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("CALLS: a number"))
        .unwrap_or(100_000);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        ROLE.with(|r| r.set(2));
        runtime().block_on(async move {
            listener.set_nonblocking(true).unwrap();
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let (stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            let router =
                Router::new().route(|s: Sum, _| async move { Ok(SumResult { total: s.a + s.b }) });
            let conn = Connection::spawn(stream, router);
            conn.closed().await;
        })
    });
    ROLE.with(|r| r.set(1));
    runtime().block_on(async move {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let conn = Connection::spawn(stream, Router::new());
        let sum = |i: u64| {
            let conn = &conn;
            async move {
                let r = conn.call(Sum { a: i as i64, b: 1 }).await.unwrap();
                assert_eq!(r.total, i as i64 + 1);
            }
        };
        for i in 0..10_000 {
            sum(i).await;
        }
        let measure = |label: &str, before: (u64, u64)| {
            let c = CLIENT.load(Ordering::Relaxed) - before.0;
            let s = SERVER.load(Ordering::Relaxed) - before.1;
            println!(
                "{label}: {:.2} allocations per call on the client, {:.2} on the server",
                c as f64 / calls as f64,
                s as f64 / calls as f64
            );
        };
        let snapshot = || {
            (
                CLIENT.load(Ordering::Relaxed),
                SERVER.load(Ordering::Relaxed),
            )
        };
        let before = snapshot();
        for i in 0..calls {
            sum(i).await;
        }
        measure("depth 1", before);
        let before = snapshot();
        let mut in_flight = FuturesUnordered::new();
        for i in 0..calls {
            in_flight.push(sum(i));
            if in_flight.len() == 100 {
                in_flight.next().await;
            }
        }
        while in_flight.next().await.is_some() {}
        measure("depth 100", before);
        drop(in_flight);
        let timed = CallOptions::new().timeout(std::time::Duration::from_secs(30));
        let before = snapshot();
        for i in 0..calls {
            let r = conn.call_with(Sum { a: i as i64, b: 1 }, timed).await;
            assert_eq!(r.unwrap().total, i as i64 + 1);
        }
        measure("depth 1, with a timeout", before);
    });
}
