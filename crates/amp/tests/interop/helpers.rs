//! The Rust side: its responders (served to Twisted in both directions), a
//! Rust server, the connection to `peer.py serve`, and helpers shared by
//! the test files.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amp::{AmpBox, CallError, Connection, Ctx, Decimal, Disconnect, NoError, RawError, Router};
use bytes::Bytes;
use chrono::{DateTime, FixedOffset, NaiveDate};
use num_bigint::BigInt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::commands::*;
use crate::common::{within, within_for, Finished, Py};

#[derive(Clone, Default)]
pub(crate) struct State {
    /// Record/Lookup store, shared by every connection of a server.
    pub(crate) store: Arc<Mutex<HashMap<String, BigInt>>>,
    /// Bounce requests answered here, every connection.
    pub(crate) bounces: Arc<AtomicUsize>,
    /// Slow answers on this connection so far.
    answered: Arc<AtomicI64>,
}

impl State {
    fn for_new_connection(&self) -> State {
        State {
            store: self.store.clone(),
            bounces: self.bounces.clone(),
            answered: Arc::new(AtomicI64::new(0)),
        }
    }
}

fn echo_route<C: Echo>(r: Router<State>) -> Router<State> {
    r.route(|c: C, _: Ctx<State>| async move { Ok(c.respond()) })
}

fn rust_router(state: State) -> Router<State> {
    let mut r = Router::with_state(state);
    r = echo_route::<EchoInteger>(r);
    r = echo_route::<EchoString>(r);
    r = echo_route::<EchoUnicode>(r);
    r = echo_route::<EchoBoolean>(r);
    r = echo_route::<EchoFloat>(r);
    r = echo_route::<EchoDecimal>(r);
    r = echo_route::<EchoDateTime>(r);
    r = echo_route::<EchoPath>(r);
    r.route(|c: EchoLists, _| async move {
        Ok(EchoListsResult {
            ints: c.ints,
            texts: c.texts,
            nested: c.nested,
            bins: c.bins,
            floats: c.floats,
            repr: "rust".into(),
        })
    })
    .route(|c: EchoAmpList, _| async move {
        Ok(EchoAmpListResult {
            orders: c.orders,
            repr: "rust".into(),
        })
    })
    .route(|c: Options, _| async move {
        Ok(OptionsResult {
            maybe: c.maybe,
            dash_arg: c.dash_arg,
            opt_list: c.opt_list,
            repr: "rust".into(),
        })
    })
    .route(|c: Sum, _| async move { Ok(SumResult { total: c.a + c.b }) })
    .route(|c: Divide, _| async move {
        if c.denominator == 0 {
            return Err(MathError::ZeroDivision);
        }
        Ok(DivideResult {
            result: c.numerator as f64 / c.denominator as f64,
        })
    })
    .route(|c: Fail, _| async move {
        match c.mode.as_str() {
            "ok" => Ok(FailResult {
                value: 42,
                blob: None,
            }),
            "declared" => Err(FailError::Declared(c.text)),
            "other" => Err(FailError::Other(c.text)),
            "fatal" => Err(FailError::Fatal(c.text)),
            // An undeclared failure: UNKNOWN, then the connection closes.
            "unknown" => panic!("deliberate responder failure: {}", c.text),
            // A response that cannot be serialised (value > 65535 bytes).
            "badreturn" => Ok(FailResult {
                value: 0,
                blob: Some(vec![0u8; 70_000]),
            }),
            m => panic!("no such mode {m:?}"),
        }
    })
    .route(|c: BaseFail, _| async move {
        match c.mode.as_str() {
            "base" => Err(BaseFailError::Base("base failure".into())),
            _ => Ok(()),
        }
    })
    .route(|c: ChildFail, _| async move {
        match c.mode.as_str() {
            "base" => Err(ChildFailError::Base(BaseFailError::Base(
                "base failure".into(),
            ))),
            "child" => Err(ChildFailError::Child("child failure".into())),
            _ => Ok(()),
        }
    })
    .route(|c: Greet, _| async move {
        Ok(GreetResult {
            greeting: greeting(&c),
        })
    })
    .route(|c: GreetTwice, _| async move {
        Ok(GreetTwiceResult {
            base: GreetResult {
                greeting: format!("{}:{}", c.a_first, greeting(&c.greet)),
            },
            count: c.times * 2,
        })
    })
    .route(|c: Choose, _| async move {
        match c.name.as_str() {
            "known" => Ok(ChooseResult { chosen: c.name }),
            // Undeclared: UNKNOWN / Unknown Error, then the connection closes.
            "crash" => panic!("deliberate undeclared failure"),
            _ => Err(ChooseError::UnknownProtocol(c.name)),
        }
    })
    .route(|c: Record, ctx: Ctx<State>| async move {
        if c.value < BigInt::from(0) {
            return Err(RecordError::Negative(format!("negative value {}", c.value)));
        }
        ctx.state.store.lock().unwrap().insert(c.key, c.value);
        Ok(())
    })
    .route(|c: Lookup, ctx: Ctx<State>| async move {
        Ok(LookupResult {
            value: ctx.state.store.lock().unwrap().get(&c.key).cloned(),
        })
    })
    .route(|c: Slow, ctx: Ctx<State>| async move {
        tokio::time::sleep(Duration::from_secs_f64(c.delay)).await;
        let seq = ctx.state.answered.fetch_add(1, Ordering::SeqCst);
        Ok(SlowResult { id: c.id, seq })
    })
    .route(|c: Bounce, ctx: Ctx<State>| async move {
        ctx.state.bounces.fetch_add(1, Ordering::SeqCst);
        if c.depth <= 0 {
            return Ok(BounceResult {
                trace: vec!["rust".into()],
            });
        }
        // Call the peer back from inside this responder.
        let r = ctx
            .peer()
            .call(Bounce { depth: c.depth - 1 })
            .await
            .expect("the peer's Bounce failed");
        let mut trace = r.trace;
        trace.push("rust".into());
        Ok(BounceResult { trace })
    })
    .route(|_: Hangup, ctx: Ctx<State>| async move {
        ctx.peer().close().await;
        std::future::pending::<Result<(), NoError>>().await
    })
    .route_raw("RawEcho", |b: AmpBox, _| async move {
        let data = b.get_bytes("data").unwrap_or_default();
        if &data[..] == b"error" {
            return Err(RawError::new("RAW_ERR", "raw failure"));
        }
        let mut keys: Vec<&[u8]> = b.keys().collect();
        keys.sort();
        let mut out = AmpBox::new();
        out.insert("echo", data.clone());
        out.insert("command", b.get_bytes("_command").unwrap_or_default());
        out.insert("keys", keys.join(&b","[..]));
        Ok(out)
    })
    .fallback(|name: Bytes, _b: AmpBox, _| async move {
        if name.starts_with(b"Fallback") {
            let mut out = AmpBox::new();
            out.insert("name", name);
            Ok(out)
        } else {
            Err(RawError::unhandled(&name))
        }
    })
}

/// A Rust AMP server on 127.0.0.1:0 that reports why each connection ended.
pub(crate) struct RustServer {
    pub(crate) port: u16,
    pub(crate) state: State,
    ended: mpsc::UnboundedReceiver<Disconnect>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for RustServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl RustServer {
    pub(crate) async fn start() -> RustServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = State::default();
        let (tx, ended) = mpsc::unbounded_channel();
        let st = state.clone();
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                stream.set_nodelay(true).unwrap();
                let conn = Connection::spawn(stream, rust_router(st.for_new_connection()));
                let tx = tx.clone();
                tokio::spawn(async move {
                    let _ = tx.send(conn.closed().await);
                });
            }
        });
        RustServer {
            port,
            state,
            ended,
            accept,
        }
    }

    /// Why the next connection ended.
    pub(crate) async fn next_disconnect(&mut self) -> Disconnect {
        within("a server connection to end", self.ended.recv())
            .await
            .expect("accept loop ended")
    }

    /// Run `peer.py client <port> <scenarios...>` against this server.
    pub(crate) async fn run_twisted_client(&self, scenarios: &[&str]) -> Finished {
        let port = self.port.to_string();
        let mut args = vec!["client", port.as_str()];
        args.extend_from_slice(scenarios);
        let py = Py::spawn("peer.py", &args);
        let done = py.finish(Duration::from_secs(120)).await;
        done.assert_success(&format!("peer.py client {}", scenarios.join(" ")));
        done.assert_line(&format!(
            "{} passed, 0 failed",
            done.stdout
                .lines()
                .filter(|l| l.starts_with("PASS "))
                .count()
        ));
        done
    }
}

/// Start `peer.py serve` and connect to it; the returned state is the Rust
/// side's (it answers Twisted's calls back).
pub(crate) async fn twisted_peer() -> (Py, Connection, State) {
    let (py, port) = Py::serve("peer.py", &["serve"]).await;
    let state = State::default();
    let conn = within(
        "connect to peer.py",
        Connection::builder()
            .router(rust_router(state.clone()))
            .connect(("127.0.0.1", port)),
    )
    .await
    .expect("connect to peer.py");
    (py, conn, state)
}

pub(crate) fn big(s: &str) -> BigInt {
    s.parse().unwrap()
}

pub(crate) fn dec(s: &str) -> Decimal {
    s.parse()
        .unwrap_or_else(|e| panic!("Decimal {s:?} should parse: {e:?}"))
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn dt(
    y: i32,
    mo: u32,
    d: u32,
    h: u32,
    mi: u32,
    s: u32,
    us: u32,
    off_min: i32,
) -> DateTime<FixedOffset> {
    NaiveDate::from_ymd_opt(y, mo, d)
        .unwrap()
        .and_hms_micro_opt(h, mi, s, us)
        .unwrap()
        .and_local_timezone(FixedOffset::east_opt(off_min * 60).unwrap())
        .unwrap()
}

pub(crate) fn same_f64(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

pub(crate) async fn assert_lost_now<R: std::fmt::Debug, E: std::fmt::Debug>(
    what: &str,
    fut: impl std::future::Future<Output = Result<R, CallError<E>>>,
) {
    // Fails at once: well within a second, no I/O involved.
    match within_for(Duration::from_secs(1), what, fut).await {
        Err(CallError::ConnectionLost(_)) => {}
        other => panic!("{what}: expected ConnectionLost, got {other:?}"),
    }
}

/// Typed echo through Twisted: same value back, Python saw `want_repr`,
/// and Twisted's re-encoding of our bytes is byte-for-byte our encoding.
pub(crate) async fn check_echo<C: Echo>(
    conn: &Connection,
    v: C::Value,
    want_repr: &str,
    same: impl Fn(&C::Value, &C::Value) -> bool,
) {
    let what = format!("{}({v:?})", C::NAME);
    let r = within(&what, conn.call(C::new(v.clone())))
        .await
        .unwrap_or_else(|e| panic!("{what}: {e:?}"));
    let (got, repr) = C::split(r);
    assert!(same(&got, &v), "{what}: echoed {got:?}");
    assert_eq!(repr, want_repr, "{what}: how Python saw it");
    let ours = amp::to_value(&v).unwrap();
    let mut b = AmpBox::new();
    b.insert("value", ours.clone());
    let ans = within(&what, conn.call_raw(C::NAME, b))
        .await
        .unwrap_or_else(|e| panic!("{what} raw: {e:?}"));
    assert_eq!(
        ans.get("value"),
        Some(&ours[..]),
        "{what}: Twisted re-encodes our bytes differently"
    );
}

pub(crate) async fn all_peer_closed(server: &mut RustServer, n: usize) {
    for _ in 0..n {
        let d = server.next_disconnect().await;
        assert!(matches!(d, Disconnect::PeerClosed), "{d:?}");
    }
}

/// `Divide(1234, 0)` is the declared `ZERO_DIVISION` error and the
/// connection still answers `Divide(1, d)` with `expected`.
pub(crate) async fn check_divide(conn: &Connection, d: i64, expected: f64) {
    match within(
        "Divide(1234, 0)",
        conn.call(Divide {
            numerator: 1234,
            denominator: 0,
        }),
    )
    .await
    {
        Err(CallError::Remote(MathError::ZeroDivision)) => {}
        other => panic!("{other:?}"),
    }
    let r = within(
        "Divide(1, d)",
        conn.call(Divide {
            numerator: 1,
            denominator: d,
        }),
    )
    .await
    .unwrap();
    assert_eq!(r.result, expected);
}
