//! Live interoperability with Twisted 26.10 (the reference AMP peer).
//!
//! Both directions: Rust calls the Twisted peer of `interop/peer.py serve`,
//! and `interop/peer.py client <port> <scenario>` calls a Rust server
//! started inside the test. The command set below mirrors peer.py's. Also
//! Twisted's own documented examples (ampserver.py / ampclient.py) against
//! Rust, through `interop/doc_examples.py`.
//!
//! Needs `scripts/setup-interop.sh` (the tests fail, never skip, without it).
//! Run: `cargo test -p amp --test interop`.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amp::{AmpBox, CallError, Connection, Ctx, Decimal, Disconnect, NoError, RawError, Router};
use bytes::Bytes;
use chrono::{DateTime, FixedOffset, NaiveDate};
use common::{within, within_for, Finished, Py};
use futures_util::future::join_all;
use num_bigint::BigInt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

// ---------------------------------------------------------------------------
// The command set (same as interop/peer.py).
// ---------------------------------------------------------------------------

/// `Echo*(value: T) -> (value: T, repr: Unicode)`: the peer answers the
/// value it decoded, re-encoded, and (Twisted side) how Python saw it.
trait Echo: amp::Command<Error = NoError> + Send {
    type Value: amp::Argument + Clone + std::fmt::Debug + Send + Sync + 'static;
    fn new(v: Self::Value) -> Self;
    fn split(r: Self::Response) -> (Self::Value, String);
    fn respond(self) -> Self::Response;
}

macro_rules! echo_command {
    ($cmd:ident, $resp:ident, $t:ty) => {
        #[derive(Debug, Clone, amp::Command)]
        #[amp(response = $resp)]
        struct $cmd {
            value: $t,
        }

        #[derive(Debug, Clone, amp::Record)]
        struct $resp {
            value: $t,
            repr: String,
        }

        impl Echo for $cmd {
            type Value = $t;
            fn new(value: $t) -> Self {
                $cmd { value }
            }
            fn split(r: $resp) -> ($t, String) {
                (r.value, r.repr)
            }
            fn respond(self) -> $resp {
                $resp {
                    value: self.value,
                    repr: "rust".into(),
                }
            }
        }
    };
}

echo_command!(EchoInteger, EchoIntegerResult, BigInt);
echo_command!(EchoString, EchoStringResult, Vec<u8>);
echo_command!(EchoUnicode, EchoUnicodeResult, String);
echo_command!(EchoBoolean, EchoBooleanResult, bool);
echo_command!(EchoFloat, EchoFloatResult, f64);
echo_command!(EchoDecimal, EchoDecimalResult, Decimal);
echo_command!(EchoDateTime, EchoDateTimeResult, DateTime<FixedOffset>);
echo_command!(EchoPath, EchoPathResult, PathBuf);

#[derive(Debug, Clone, PartialEq, amp::Command)]
#[amp(response = EchoListsResult)]
struct EchoLists {
    ints: Vec<BigInt>,
    texts: Vec<String>,
    nested: Vec<Vec<BigInt>>,
    bins: Vec<Vec<u8>>,
    floats: Vec<f64>,
}

#[derive(Debug, Clone, amp::Record)]
struct EchoListsResult {
    ints: Vec<BigInt>,
    texts: Vec<String>,
    nested: Vec<Vec<BigInt>>,
    bins: Vec<Vec<u8>>,
    floats: Vec<f64>,
    repr: String,
}

#[derive(Debug, Clone, PartialEq, amp::Record)]
struct Item {
    name: String,
    qty: BigInt,
}

#[derive(Debug, Clone, PartialEq, amp::Record)]
struct Order {
    id: i64,
    items: Vec<Item>,
    note: Option<String>,
}

#[derive(Debug, Clone, amp::Command)]
#[amp(response = EchoAmpListResult)]
struct EchoAmpList {
    orders: Vec<Order>,
}

#[derive(Debug, Clone, amp::Record)]
struct EchoAmpListResult {
    orders: Vec<Order>,
    repr: String,
}

#[derive(Debug, Clone, amp::Command)]
#[amp(response = OptionsResult)]
struct Options {
    required: i64,
    maybe: Option<String>,
    #[amp(name = "dash-arg")]
    dash_arg: i64,
    #[amp(name = "opt-list")]
    opt_list: Option<Vec<i64>>,
}

#[derive(Debug, Clone, amp::Record)]
struct OptionsResult {
    maybe: Option<String>,
    #[amp(name = "dash-arg")]
    dash_arg: i64,
    #[amp(name = "opt-list")]
    opt_list: Option<Vec<i64>>,
    repr: String,
}

#[derive(Debug, Clone, amp::Command)]
#[amp(response = SumResult)]
struct Sum {
    a: BigInt,
    b: BigInt,
}

#[derive(Debug, Clone, PartialEq, amp::Record)]
struct SumResult {
    total: BigInt,
}

#[derive(Debug, Clone, amp::Command)]
#[amp(response = DivideResult, error = MathError)]
struct Divide {
    numerator: i64,
    denominator: i64,
}

#[derive(Debug, Clone, amp::Record)]
struct DivideResult {
    result: f64,
}

#[derive(Debug, amp::AmpError)]
enum MathError {
    #[amp(code = "ZERO_DIVISION")]
    ZeroDivision,
}

#[derive(Debug, Clone, amp::Command)]
#[amp(response = FailResult, error = FailError)]
struct Fail {
    mode: String,
    text: String,
}

#[derive(Debug, Clone, amp::Record)]
struct FailResult {
    value: i64,
    blob: Option<Vec<u8>>,
}

/// Twisted's table also declares SECRET; this one does not, on purpose.
#[derive(Debug, amp::AmpError)]
enum FailError {
    #[amp(code = "DECLARED")]
    Declared(String),
    #[amp(code = "OTHER")]
    Other(String),
    #[amp(code = "FATAL", fatal)]
    Fatal(String),
}

#[derive(Debug, Clone, amp::Command)]
#[amp(error = BaseFailError)]
struct BaseFail {
    mode: String,
}

#[derive(Debug, amp::AmpError)]
enum BaseFailError {
    #[amp(code = "BASE")]
    Base(String),
}

/// Twisted: `class ChildFail(BaseFail): errors = {ChildError: b"CHILD"}`.
#[derive(Debug, Clone, amp::Command)]
#[amp(error = ChildFailError)]
struct ChildFail {
    mode: String,
}

#[derive(Debug, amp::AmpError)]
enum ChildFailError {
    #[amp(code = "CHILD")]
    Child(String),
    #[amp(extends)]
    Base(BaseFailError),
}

/// Twisted: `class Greet(Command)`.
#[derive(Debug, Clone, amp::Command)]
#[amp(response = GreetResult)]
struct Greet {
    name: String,
    polite: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, amp::Record)]
struct GreetResult {
    greeting: String,
}

/// Twisted: `class GreetTwice(Greet)` with `arguments = Greet.arguments +
/// [...]` and `response = Greet.response + [...]`: the parent flattened.
#[derive(Debug, Clone, amp::Command)]
#[amp(response = GreetTwiceResult)]
struct GreetTwice {
    #[amp(flatten)]
    greet: Greet,
    times: i64,
    #[amp(name = "a-first")]
    a_first: String,
}

#[derive(Debug, Clone, PartialEq, amp::Record)]
struct GreetTwiceResult {
    #[amp(flatten)]
    base: GreetResult,
    count: i64,
}

fn greeting(g: &Greet) -> String {
    let dear = if g.polite == Some(true) { "dear " } else { "" };
    format!("{dear}hello {}", g.name)
}

/// Twisted: `errors = {UnknownProtocol: b"UNKNOWN"}` (AMP's own code,
/// declared by the command, as in Twisted's test_amp).
#[derive(Debug, Clone, amp::Command)]
#[amp(response = ChooseResult, error = ChooseError)]
struct Choose {
    name: String,
}

#[derive(Debug, Clone, amp::Record)]
struct ChooseResult {
    chosen: String,
}

#[derive(Debug, amp::AmpError)]
enum ChooseError {
    #[amp(code = "UNKNOWN")]
    UnknownProtocol(String),
}

#[derive(Debug, Clone, amp::Command)]
#[amp(error = RecordError, requires_answer = false)]
struct Record {
    key: String,
    value: BigInt,
}

#[derive(Debug, amp::AmpError)]
enum RecordError {
    #[amp(code = "NEGATIVE")]
    Negative(String),
}

#[derive(Debug, Clone, amp::Command)]
#[amp(response = LookupResult)]
struct Lookup {
    key: String,
}

#[derive(Debug, Clone, amp::Record)]
struct LookupResult {
    value: Option<BigInt>,
}

#[derive(Debug, Clone, amp::Command)]
#[amp(response = SlowResult)]
struct Slow {
    id: i64,
    delay: f64,
}

#[derive(Debug, Clone, amp::Record)]
struct SlowResult {
    id: i64,
    seq: i64,
}

#[derive(Debug, Clone, amp::Command)]
#[amp(response = BounceResult)]
struct Bounce {
    depth: i64,
}

#[derive(Debug, Clone, amp::Record)]
struct BounceResult {
    trace: Vec<String>,
}

#[derive(Debug, Clone, amp::Command)]
struct Hangup {}

#[derive(Debug, Clone, amp::Command)]
struct NoSuchCommand {}

// ---------------------------------------------------------------------------
// The Rust side's responders (served to Twisted in both directions).
// ---------------------------------------------------------------------------

#[derive(Clone, Default)]
struct State {
    /// Record/Lookup store, shared by every connection of a server.
    store: Arc<Mutex<HashMap<String, BigInt>>>,
    /// Bounce requests answered here, every connection.
    bounces: Arc<AtomicUsize>,
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
struct RustServer {
    port: u16,
    state: State,
    ended: mpsc::UnboundedReceiver<Disconnect>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for RustServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl RustServer {
    async fn start() -> RustServer {
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
    async fn next_disconnect(&mut self) -> Disconnect {
        within("a server connection to end", self.ended.recv())
            .await
            .expect("accept loop ended")
    }

    /// Run `peer.py client <port> <scenarios...>` against this server.
    async fn run_twisted_client(&self, scenarios: &[&str]) -> Finished {
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
async fn twisted_peer() -> (Py, Connection, State) {
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

fn big(s: &str) -> BigInt {
    s.parse().unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse()
        .unwrap_or_else(|e| panic!("Decimal {s:?} should parse: {e:?}"))
}

#[allow(clippy::too_many_arguments)]
fn dt(
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

fn same_f64(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

async fn assert_lost_now<R: std::fmt::Debug, E: std::fmt::Debug>(
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
async fn check_echo<C: Echo>(
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

// ---------------------------------------------------------------------------
// Rust calls Twisted
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_every_value_type() {
    let (_py, conn, _) = twisted_peer().await;
    let eq = |a: &BigInt, b: &BigInt| a == b;
    for (v, repr) in [
        ("0", "0"),
        ("1", "1"),
        ("-1", "-1"),
        ("42", "42"),
        ("9223372036854775807", "9223372036854775807"),
        ("-9223372036854775808", "-9223372036854775808"),
        ("18446744073709551616", "18446744073709551616"),
        (
            "1267650600228229401496703205383",
            "1267650600228229401496703205383",
        ),
        (
            "-170141183460469231731687303715884118073",
            "-170141183460469231731687303715884118073",
        ),
    ] {
        check_echo::<EchoInteger>(&conn, big(v), repr, eq).await;
    }

    let eq = |a: &Vec<u8>, b: &Vec<u8>| a == b;
    check_echo::<EchoString>(&conn, vec![], "b''", eq).await;
    check_echo::<EchoString>(&conn, b"abc".to_vec(), "b'abc'", eq).await;
    check_echo::<EchoString>(&conn, vec![0, 0xff, 0x80, b'\n'], r"b'\x00\xff\x80\n'", eq).await;
    let all: Vec<u8> = (0..=255).collect();
    check_echo::<EchoString>(&conn, all, &python_bytes_repr_all(), eq).await;

    let eq = |a: &String, b: &String| a == b;
    for (v, repr) in [
        ("", "''"),
        ("hello", "'hello'"),
        ("héllo wörld", r"'h\xe9llo w\xf6rld'"),
        ("日本語", r"'\u65e5\u672c\u8a9e'"),
        ("😀", r"'\U0001f600'"),
        ("a\0b", r"'a\x00b'"),
    ] {
        check_echo::<EchoUnicode>(&conn, v.to_string(), repr, eq).await;
    }

    let eq = |a: &bool, b: &bool| a == b;
    check_echo::<EchoBoolean>(&conn, true, "True", eq).await;
    check_echo::<EchoBoolean>(&conn, false, "False", eq).await;

    let eq = |a: &f64, b: &f64| same_f64(*a, *b);
    for (v, repr) in [
        (0.1, "0.1"),
        (-0.0, "-0.0"),
        (0.0, "0.0"),
        (1.0, "1.0"),
        (5.0, "5.0"),
        (1e16, "1e+16"),
        (1e-5, "1e-05"),
        (5e-324, "5e-324"),
        (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
        (f64::MAX, "1.7976931348623157e+308"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
        (f64::NAN, "nan"),
        (123456789.123, "123456789.123"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e22, "1e+22"),
        (123456789012345680.0, "1.2345678901234568e+17"),
        (0.0001, "0.0001"),
    ] {
        check_echo::<EchoFloat>(&conn, v, repr, eq).await;
    }

    let eq = |a: &Decimal, b: &Decimal| a.to_string() == b.to_string() && a == b;
    for s in [
        "1.50",
        "1E+2",
        "-0",
        "0",
        "NaN",
        "-NaN",
        "sNaN",
        "-sNaN",
        "Infinity",
        "-Infinity",
        "123456789012345678901234567890.123456789",
        "1E-7",
        "-0.000",
        "0E+3",
        "0.000001",
        "1.5E+300",
    ] {
        let d = dec(s);
        assert_eq!(d.to_string(), s, "Decimal text must round-trip");
        check_echo::<EchoDecimal>(&conn, d, s, eq).await;
    }

    let eq = |a: &DateTime<FixedOffset>, b: &DateTime<FixedOffset>| {
        a == b && a.offset() == b.offset() && a.naive_local() == b.naive_local()
    };
    for (v, repr) in [
        (
            dt(2024, 1, 2, 3, 4, 5, 6, 0),
            "2024-01-02T03:04:05.000006+00:00",
        ),
        (
            dt(2024, 2, 29, 23, 59, 59, 999_999, 330),
            "2024-02-29T23:59:59.999999+05:30",
        ),
        (
            dt(1999, 12, 31, 16, 0, 0, 0, -480),
            "1999-12-31T16:00:00.000000-08:00",
        ),
        (
            dt(1, 1, 1, 0, 0, 0, 0, 330),
            "0001-01-01T00:00:00.000000+05:30",
        ),
        (
            dt(9999, 12, 31, 23, 59, 59, 999_999, -480),
            "9999-12-31T23:59:59.999999-08:00",
        ),
    ] {
        check_echo::<EchoDateTime>(&conn, v, repr, eq).await;
    }
    // Twisted writes a zero offset as "-00:00"; so must we.
    assert_eq!(
        &amp::to_value(&dt(2024, 1, 2, 3, 4, 5, 6, 0)).unwrap()[..],
        b"2024-01-02T03:04:05.000006-00:00"
    );

    let eq = |a: &PathBuf, b: &PathBuf| a == b;
    check_echo::<EchoPath>(&conn, PathBuf::from("/"), "FilePath('/')", eq).await;
    check_echo::<EchoPath>(
        &conn,
        PathBuf::from("/tmp/amp test/été.txt"),
        r"FilePath('/tmp/amp test/\xe9t\xe9.txt')",
        eq,
    )
    .await;

    // Still one healthy connection after all that.
    assert!(!conn.is_closed());
}

/// Python's repr of bytes(range(256)).
fn python_bytes_repr_all() -> String {
    let mut s = String::from("b'");
    for c in 0u8..=255 {
        match c {
            b'\\' => s.push_str(r"\\"),
            b'\'' => s.push_str(r"\'"),
            b'\t' => s.push_str(r"\t"),
            b'\n' => s.push_str(r"\n"),
            b'\r' => s.push_str(r"\r"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('\'');
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_lists_nested_and_empty() {
    let (_py, conn, _) = twisted_peer().await;
    let full = EchoLists {
        ints: vec![
            big("0"),
            big("-1"),
            big("1180591620717411303424"),
            big("-1208925819614629174706176"),
            big("7"),
        ],
        texts: vec!["".into(), "é".into(), "a\0b".into(), "😀".into()],
        nested: vec![
            vec![big("1"), big("2")],
            vec![],
            vec![big("3")],
            vec![big("-36893488147419103232")],
        ],
        bins: vec![vec![], vec![0, 1], vec![0xff]],
        floats: vec![0.1, -0.0, f64::INFINITY, f64::NAN, 1e16],
    };
    let r = within("EchoLists", conn.call(full.clone())).await.unwrap();
    assert_eq!(
        r.repr,
        r"{bins: [b'', b'\x00\x01', b'\xff'], floats: [0.1, -0.0, inf, nan, 1e+16], ints: [0, -1, 1180591620717411303424, -1208925819614629174706176, 7], nested: [[1, 2], [], [3], [-36893488147419103232]], texts: ['', '\xe9', 'a\x00b', '\U0001f600']}"
    );
    assert_eq!(r.ints, full.ints);
    assert_eq!(r.texts, full.texts);
    assert_eq!(r.nested, full.nested);
    assert_eq!(r.bins, full.bins);
    assert_eq!(r.floats.len(), 5);
    for (a, b) in r.floats.iter().zip(&full.floats) {
        assert!(same_f64(*a, *b), "{a} vs {b}");
    }

    let empty = EchoLists {
        ints: vec![],
        texts: vec![],
        nested: vec![vec![], vec![]],
        bins: vec![],
        floats: vec![],
    };
    let r = within("EchoLists empty", conn.call(empty.clone()))
        .await
        .unwrap();
    assert_eq!(
        r.repr,
        "{bins: [], floats: [], ints: [], nested: [[], []], texts: []}"
    );
    assert_eq!(r.nested, empty.nested);
    assert!(r.ints.is_empty() && r.texts.is_empty() && r.bins.is_empty() && r.floats.is_empty());

    // Byte-for-byte: Twisted re-encodes our list values identically.
    let mut b = AmpBox::new();
    let ours = [
        ("ints", amp::to_value(&full.ints).unwrap()),
        ("texts", amp::to_value(&full.texts).unwrap()),
        ("nested", amp::to_value(&full.nested).unwrap()),
        ("bins", amp::to_value(&full.bins).unwrap()),
        ("floats", amp::to_value(&full.floats).unwrap()),
    ];
    for (k, v) in &ours {
        b.insert(*k, v.clone());
    }
    let ans = within("EchoLists raw", conn.call_raw("EchoLists", b))
        .await
        .unwrap();
    for (k, v) in &ours {
        assert_eq!(ans.get(*k), Some(&v[..]), "ListOf value {k}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_amp_list_nested_and_empty() {
    let (_py, conn, _) = twisted_peer().await;
    let orders = vec![
        Order {
            id: 1,
            items: vec![
                Item {
                    name: "apple".into(),
                    qty: big("3"),
                },
                Item {
                    name: "pär".into(),
                    qty: big("1180591620717411303424"),
                },
            ],
            note: Some("rush".into()),
        },
        Order {
            id: 2,
            items: vec![],
            note: None,
        },
        Order {
            id: 3,
            items: vec![Item {
                name: "".into(),
                qty: big("-1"),
            }],
            note: Some("".into()),
        },
    ];
    let r = within(
        "EchoAmpList",
        conn.call(EchoAmpList {
            orders: orders.clone(),
        }),
    )
    .await
    .unwrap();
    assert_eq!(r.orders, orders);
    assert_eq!(
        r.repr,
        r"[{id: 1, items: [{name: 'apple', qty: 3}, {name: 'p\xe4r', qty: 1180591620717411303424}], note: 'rush'}, {id: 2, items: [], note: None}, {id: 3, items: [{name: '', qty: -1}], note: ''}]"
    );
    let r = within(
        "EchoAmpList empty",
        conn.call(EchoAmpList { orders: vec![] }),
    )
    .await
    .unwrap();
    assert!(r.orders.is_empty());
    assert_eq!(r.repr, "[]");

    let ours = amp::to_value(&orders).unwrap();
    let mut b = AmpBox::new();
    b.insert("orders", ours.clone());
    let ans = within("EchoAmpList raw", conn.call_raw("EchoAmpList", b))
        .await
        .unwrap();
    assert_eq!(ans.get("orders"), Some(&ours[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_optional_and_dash_named_arguments() {
    let (_py, conn, _) = twisted_peer().await;
    let r = within(
        "Options absent",
        conn.call(Options {
            required: 1,
            maybe: None,
            dash_arg: 5,
            opt_list: None,
        }),
    )
    .await
    .unwrap();
    assert_eq!(r.repr, "required=1 maybe=None dash-arg=5 opt-list=None");
    assert_eq!((r.maybe, r.dash_arg, r.opt_list), (None, 5, None));

    let r = within(
        "Options present but empty",
        conn.call(Options {
            required: 2,
            maybe: Some("".into()),
            dash_arg: -5,
            opt_list: Some(vec![]),
        }),
    )
    .await
    .unwrap();
    assert_eq!(r.repr, "required=2 maybe='' dash-arg=-5 opt-list=[]");
    assert_eq!(
        (r.maybe, r.dash_arg, r.opt_list),
        (Some("".into()), -5, Some(vec![]))
    );

    let r = within(
        "Options present",
        conn.call(Options {
            required: 3,
            maybe: Some("xé".into()),
            dash_arg: 0,
            opt_list: Some(vec![1, 2]),
        }),
    )
    .await
    .unwrap();
    assert_eq!(
        r.repr,
        r"required=3 maybe='x\xe9' dash-arg=0 opt-list=[1, 2]"
    );
    assert_eq!((r.maybe, r.opt_list), (Some("xé".into()), Some(vec![1, 2])));

    // On the wire: an absent optional is no key at all; Twisted does the same.
    let mut b = AmpBox::new();
    b.insert("required", "1");
    b.insert("dash-arg", "5");
    let ans = within("Options raw", conn.call_raw("Options", b))
        .await
        .unwrap();
    let mut keys: Vec<_> = ans.keys().map(Bytes::copy_from_slice).collect();
    keys.sort();
    assert_eq!(keys, vec![Bytes::from("dash-arg"), Bytes::from("repr")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_declared_errors_keep_the_connection() {
    let (_py, conn, _) = twisted_peer().await;
    let sum = || Sum {
        a: big("2"),
        b: big("3"),
    };

    let r = within(
        "Fail ok",
        conn.call(Fail {
            mode: "ok".into(),
            text: "".into(),
        }),
    )
    .await
    .unwrap();
    assert_eq!((r.value, r.blob), (42, None));

    match within(
        "Fail declared",
        conn.call(Fail {
            mode: "declared".into(),
            text: "declared é".into(),
        }),
    )
    .await
    {
        Err(CallError::Remote(FailError::Declared(t))) => assert_eq!(t, "declared é"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        within("Sum after declared", conn.call(sum()))
            .await
            .unwrap()
            .total,
        big("5")
    );

    match within(
        "Fail other",
        conn.call(Fail {
            mode: "other".into(),
            text: "o".into(),
        }),
    )
    .await
    {
        Err(CallError::Remote(FailError::Other(t))) => assert_eq!(t, "o"),
        other => panic!("{other:?}"),
    }

    // A code Twisted declares but our table does not: unknown remote error,
    // the connection stays open.
    match within(
        "Fail secret",
        conn.call(Fail {
            mode: "secret".into(),
            text: "s3cret".into(),
        }),
    )
    .await
    {
        Err(CallError::UnknownRemote { code, description }) => {
            assert_eq!(&code[..], b"SECRET");
            assert_eq!(description, "s3cret");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        within("Sum after secret", conn.call(sum()))
            .await
            .unwrap()
            .total,
        big("5")
    );

    check_divide(&conn, 4, 0.25).await;

    // An errors table inherited by a subclass command.
    match within(
        "BaseFail base",
        conn.call(BaseFail {
            mode: "base".into(),
        }),
    )
    .await
    {
        Err(CallError::Remote(BaseFailError::Base(t))) => assert_eq!(t, "base failure"),
        other => panic!("{other:?}"),
    }
    match within(
        "ChildFail base",
        conn.call(ChildFail {
            mode: "base".into(),
        }),
    )
    .await
    {
        Err(CallError::Remote(ChildFailError::Base(BaseFailError::Base(t)))) => {
            assert_eq!(t, "base failure")
        }
        other => panic!("{other:?}"),
    }
    match within(
        "ChildFail child",
        conn.call(ChildFail {
            mode: "child".into(),
        }),
    )
    .await
    {
        Err(CallError::Remote(ChildFailError::Child(t))) => assert_eq!(t, "child failure"),
        other => panic!("{other:?}"),
    }
    within("ChildFail ok", conn.call(ChildFail { mode: "ok".into() }))
        .await
        .unwrap();

    // UNHANDLED keeps the connection.
    match within("NoSuchCommand", conn.call(NoSuchCommand {})).await {
        Err(CallError::Unhandled { description }) => {
            assert_eq!(description, "Unhandled Command: b'NoSuchCommand'")
        }
        other => panic!("{other:?}"),
    }
    // (A non-ASCII name would make Twisted's amp_NAME lookup raise and drop
    // the connection; a quote exercises Python's bytes repr.)
    match within(
        "raw unknown name",
        conn.call_raw("Nope'quote", AmpBox::new()),
    )
    .await
    {
        Err(CallError::Unhandled { description }) => {
            assert_eq!(description, r#"Unhandled Command: b"Nope'quote""#)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        within("Sum after unhandled", conn.call(sum()))
            .await
            .unwrap()
            .total,
        big("5")
    );
    assert!(!conn.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_command_declaring_unknown_gets_the_declared_error() {
    let (_py, conn, _) = twisted_peer().await;
    let r = within(
        "Choose known",
        conn.call(Choose {
            name: "known".into(),
        }),
    )
    .await
    .unwrap();
    assert_eq!(r.chosen, "known");
    match within(
        "Choose bogus",
        conn.call(Choose {
            name: "bogus é".into(),
        }),
    )
    .await
    {
        Err(CallError::Remote(ChooseError::UnknownProtocol(t))) => assert_eq!(t, "bogus é"),
        other => panic!("{other:?}"),
    }
    // A declared, non-fatal error: the connection stays open.
    let sum = Sum {
        a: big("2"),
        b: big("3"),
    };
    assert_eq!(
        within("Sum after declared UNKNOWN", conn.call(sum))
            .await
            .unwrap()
            .total,
        big("5")
    );
    // Twisted's undeclared failure is UNKNOWN / Unknown Error: declared here,
    // so it decodes as the declared variant (as Twisted's own caller would
    // see it), and Twisted closes the connection after sending it.
    match within(
        "Choose crash",
        conn.call(Choose {
            name: "crash".into(),
        }),
    )
    .await
    {
        Err(CallError::Remote(ChooseError::UnknownProtocol(t))) => {
            assert_eq!(t, "Unknown Error")
        }
        other => panic!("{other:?}"),
    }
    let why = within("the connection to close after UNKNOWN", conn.closed()).await;
    assert!(matches!(why, Disconnect::PeerClosed), "{why:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_inherited_command_with_flatten() {
    let (_py, conn, _) = twisted_peer().await;
    let zoe = Greet {
        name: "Zoë".into(),
        polite: Some(true),
    };
    let r = within("Greet", conn.call(zoe.clone())).await.unwrap();
    assert_eq!(r.greeting, "dear hello Zoë");
    let r = within(
        "GreetTwice",
        conn.call(GreetTwice {
            greet: zoe,
            times: 3,
            a_first: "hi".into(),
        }),
    )
    .await
    .unwrap();
    assert_eq!(
        r,
        GreetTwiceResult {
            base: GreetResult {
                greeting: "hi:dear hello Zoë".into()
            },
            count: 6
        }
    );
    let r = within(
        "GreetTwice absent",
        conn.call(GreetTwice {
            greet: Greet {
                name: "Al".into(),
                polite: None,
            },
            times: 0,
            a_first: String::new(),
        }),
    )
    .await
    .unwrap();
    assert_eq!((r.base.greeting.as_str(), r.count), (":hello Al", 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_fatal_error_closes_the_connection() {
    let (_py, conn, _) = twisted_peer().await;
    match within(
        "Fail fatal",
        conn.call(Fail {
            mode: "fatal".into(),
            text: "fatal text".into(),
        }),
    )
    .await
    {
        Err(CallError::Remote(FailError::Fatal(t))) => assert_eq!(t, "fatal text"),
        other => panic!("{other:?}"),
    }
    let why = within("the connection to close after a fatal error", conn.closed()).await;
    assert!(matches!(why, Disconnect::PeerClosed), "{why:?}");
    assert_lost_now(
        "Sum after fatal",
        conn.call(Sum {
            a: big("1"),
            b: big("1"),
        }),
    )
    .await;
}

async fn expect_unknown_then_closed<R: std::fmt::Debug, E: std::fmt::Debug>(
    conn: &Connection,
    what: &str,
    fut: impl std::future::Future<Output = Result<R, CallError<E>>>,
) {
    match within(what, fut).await {
        Err(CallError::UnknownRemote { code, description }) => {
            assert_eq!(&code[..], b"UNKNOWN", "{what}");
            assert_eq!(description, "Unknown Error", "{what}");
        }
        other => panic!("{what}: {other:?}"),
    }
    let why = within("the connection to close after UNKNOWN", conn.closed()).await;
    assert!(matches!(why, Disconnect::PeerClosed), "{what}: {why:?}");
    assert_lost_now(
        what,
        conn.call(Sum {
            a: big("1"),
            b: big("1"),
        }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_undeclared_exception_is_unknown_and_closes() {
    let (_py, conn, _) = twisted_peer().await;
    expect_unknown_then_closed(
        &conn,
        "Fail unknown",
        conn.call(Fail {
            mode: "unknown".into(),
            text: "boom".into(),
        }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_bad_local_return_is_unknown_and_closes() {
    let (_py, conn, _) = twisted_peer().await;
    expect_unknown_then_closed(
        &conn,
        "Fail badreturn",
        conn.call(Fail {
            mode: "badreturn".into(),
            text: "".into(),
        }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_with_undecodable_argument_is_unknown_and_closes() {
    let (_py, conn, _) = twisted_peer().await;
    let mut b = AmpBox::new();
    b.insert("a", "0x10");
    b.insert("b", "1");
    expect_unknown_then_closed(&conn, "Sum(a=0x10)", conn.call_raw("Sum", b)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_without_answer_and_observes_the_side_effect() {
    let (_py, conn, _) = twisted_peer().await;
    within(
        "notify",
        conn.notify(Record {
            key: "n1".into(),
            value: big("7"),
        }),
    )
    .await
    .unwrap();
    // send() follows callRemote: no answer asked for a requires_answer=false command.
    let r = within(
        "send",
        conn.send(Record {
            key: "n2".into(),
            value: big("1180591620717411303424"),
        }),
    )
    .await
    .unwrap();
    assert!(r.is_none());
    let mut b = AmpBox::new();
    b.insert("key", "n3");
    b.insert("value", "9");
    within("notify_raw", conn.notify_raw("Record", b))
        .await
        .unwrap();
    let look = |k: &str| conn.call(Lookup { key: k.into() });
    assert_eq!(
        within("Lookup n1", look("n1")).await.unwrap().value,
        Some(big("7"))
    );
    assert_eq!(
        within("Lookup n2", look("n2")).await.unwrap().value,
        Some(big("1180591620717411303424"))
    );
    assert_eq!(
        within("Lookup n3", look("n3")).await.unwrap().value,
        Some(big("9"))
    );
    assert_eq!(
        within("Lookup absent", look("never")).await.unwrap().value,
        None
    );
    assert!(!conn.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_no_answer_request_failing_in_twisted_closes_the_connection() {
    let (_py, conn, _) = twisted_peer().await;
    within(
        "notify",
        conn.notify(Record {
            key: "neg".into(),
            value: big("-1"),
        }),
    )
    .await
    .unwrap();
    // Twisted logs the failure and drops the connection; nothing is sent back.
    let why = within("Twisted to drop the connection", conn.closed()).await;
    assert!(matches!(why, Disconnect::PeerClosed), "{why:?}");
    assert_lost_now("Lookup after", conn.call(Lookup { key: "neg".into() })).await;
}

fn delays(n: usize) -> Vec<f64> {
    (0..n).map(|i| ((i * 37) % 50) as f64 / 1000.0).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_250_concurrent_calls_answered_out_of_order() {
    let (_py, conn, _) = twisted_peer().await;
    const N: usize = 250;
    let delays = delays(N);
    let order = Arc::new(Mutex::new(Vec::new()));
    let calls = (0..N).map(|i| {
        let conn = conn.clone();
        let order = order.clone();
        let delay = delays[i];
        async move {
            let r = conn
                .call(Slow {
                    id: i as i64,
                    delay,
                })
                .await;
            order.lock().unwrap().push(i);
            r
        }
    });
    let results = within("250 Slow calls", join_all(calls)).await;
    let mut seqs = Vec::new();
    for (i, r) in results.into_iter().enumerate() {
        let r = r.unwrap_or_else(|e| panic!("Slow {i}: {e:?}"));
        assert_eq!(r.id, i as i64, "answer matched to the wrong call");
        seqs.push(r.seq);
    }
    let mut sorted = seqs.clone();
    sorted.sort();
    assert_eq!(sorted, (0..N as i64).collect::<Vec<_>>());
    let order = order.lock().unwrap().clone();
    assert_ne!(
        order,
        (0..N).collect::<Vec<_>>(),
        "answers should arrive out of order"
    );
    let longest = delays.iter().cloned().fold(0.0, f64::max);
    let longest = delays.iter().position(|d| *d == longest).unwrap();
    assert!(seqs[0] < seqs[longest], "Twisted answered by delay");
    assert!(
        order.iter().position(|&i| i == 0) < order.iter().position(|&i| i == longest),
        "the zero-delay call completes before the longest one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_calls_back_into_rust_from_inside_its_responder() {
    let (_py, conn, state) = twisted_peer().await;
    let r = within("Bounce(3)", conn.call(Bounce { depth: 3 }))
        .await
        .unwrap();
    assert_eq!(r.trace, ["rust", "python", "rust", "python"]);
    assert_eq!(
        state.bounces.load(Ordering::SeqCst),
        2,
        "Twisted called our Bounce twice"
    );
    // Many interleaved call-backs at once.
    let calls = (0..20).map(|d| conn.call(Bounce { depth: d % 4 }));
    let rs = within("20 Bounces", join_all(calls)).await;
    for (d, r) in rs.into_iter().enumerate() {
        let t = r.unwrap().trace;
        assert_eq!(t.len(), d % 4 + 1);
        assert_eq!(t.last().map(String::as_str), Some("python"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_raw_calls_reach_twisted_amp_methods() {
    let (_py, conn, _) = twisted_peer().await;
    let mut b = AmpBox::new();
    b.insert("data", &b"\x00bin\xff"[..]);
    let ans = within("RawEcho", conn.call_raw("RawEcho", b))
        .await
        .unwrap();
    assert_eq!(ans.get("echo"), Some(&b"\x00bin\xff"[..]));
    assert_eq!(ans.get("command"), Some(&b"RawEcho"[..]));
    // The raw responder saw the whole box, reserved keys included.
    assert_eq!(ans.get("keys"), Some(&b"_ask,_command,data"[..]));
    assert!(ans.get("_answer").is_none(), "call_raw strips _answer");

    // amp_NAME dispatch upper-cases the name: any case reaches amp_RAWECHO.
    let mut b = AmpBox::new();
    b.insert("data", "x");
    let ans = within("rawecho", conn.call_raw("rawecho", b))
        .await
        .unwrap();
    assert_eq!(ans.get("command"), Some(&b"rawecho"[..]));

    let mut b = AmpBox::new();
    b.insert("data", "error");
    match within("RawEcho error", conn.call_raw("RawEcho", b)).await {
        Err(CallError::UnknownRemote { code, description }) => {
            assert_eq!(&code[..], b"RAW_ERR");
            assert_eq!(description, "raw failure");
        }
        other => panic!("{other:?}"),
    }
    // A typed command called raw.
    let mut b = AmpBox::new();
    b.insert("a", "18446744073709551616");
    b.insert("b", "-1");
    let ans = within("Sum raw", conn.call_raw("Sum", b)).await.unwrap();
    assert_eq!(ans.get("total"), Some(&b"18446744073709551615"[..]));
    assert!(!conn.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_hangs_up_with_rust_calls_outstanding() {
    let (_py, conn, _) = twisted_peer().await;
    let slow = join_all((0..20).map(|i| conn.call(Slow { id: i, delay: 30.0 })));
    let hang = conn.call(Hangup {});
    let (slow, hang) = within("outstanding calls to fail", async {
        tokio::join!(slow, hang)
    })
    .await;
    for (i, r) in slow.into_iter().enumerate() {
        match r {
            Err(CallError::ConnectionLost(Disconnect::PeerClosed)) => {}
            other => panic!("Slow {i}: {other:?}"),
        }
    }
    assert!(
        matches!(hang, Err(CallError::ConnectionLost(_))),
        "{hang:?}"
    );
    let why = within("closed", conn.closed()).await;
    assert!(matches!(why, Disconnect::PeerClosed), "{why:?}");
    assert_lost_now(
        "Sum after hangup",
        conn.call(Sum {
            a: big("1"),
            b: big("1"),
        }),
    )
    .await;
    assert_lost_now("call_raw after hangup", conn.call_raw("Sum", AmpBox::new())).await;
    assert!(matches!(
        conn.notify(Record {
            key: "k".into(),
            value: big("1")
        })
        .await,
        Err(CallError::ConnectionLost(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_local_encode_error_sends_nothing_and_keeps_the_connection() {
    let (_py, conn, _) = twisted_peer().await;
    match within(
        "too long",
        conn.call(EchoString {
            value: vec![b'x'; 70_000],
        }),
    )
    .await
    {
        Err(CallError::Encode(_)) => {}
        other => panic!("{other:?}"),
    }
    // The largest value there is goes through, both ways.
    let r = within(
        "EchoString 65535 bytes",
        conn.call(EchoString {
            value: vec![b'y'; 65_535],
        }),
    )
    .await
    .unwrap();
    assert_eq!(r.value.len(), 65_535);
    assert_eq!(r.repr, "<65538 chars>");
    assert!(!conn.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_closes_with_its_calls_to_twisted_outstanding() {
    let (_py, conn, _) = twisted_peer().await;
    let slow = join_all((0..20).map(|i| conn.call(Slow { id: i, delay: 30.0 })));
    let close = async {
        // Close once every Slow request has been handed to the connection:
        // a round trip that Twisted answers after reading all of them.
        conn.call(Slow { id: 99, delay: 0.0 }).await.unwrap();
        conn.close().await;
    };
    let (slow, ()) = within("close with calls outstanding", async {
        tokio::join!(slow, close)
    })
    .await;
    for (i, r) in slow.into_iter().enumerate() {
        match r {
            Err(CallError::ConnectionLost(Disconnect::LocalClose)) => {}
            other => panic!("Slow {i}: {other:?}"),
        }
    }
    assert!(matches!(conn.closed().await, Disconnect::LocalClose));
    assert_lost_now(
        "Sum after close",
        conn.call(Sum {
            a: big("1"),
            b: big("1"),
        }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_cancelled_call_whose_answer_comes_later_is_harmless() {
    let (_py, conn, _) = twisted_peer().await;
    // Give up on a call (drop its future) before Twisted answers it.
    let gave_up = tokio::time::timeout(
        Duration::from_millis(50),
        conn.call(Slow { id: 1, delay: 0.3 }),
    )
    .await;
    assert!(gave_up.is_err(), "answered too early: {gave_up:?}");
    // Twisted answers by delay, so the abandoned answer (0.3 s) arrives
    // before this one (0.6 s); it must be dropped quietly.
    let r = within(
        "Slow after a cancelled call",
        conn.call(Slow { id: 2, delay: 0.6 }),
    )
    .await
    .unwrap();
    assert_eq!(
        (r.id, r.seq),
        (2, 1),
        "the cancelled call was answered first"
    );
    assert_eq!(
        within(
            "Sum",
            conn.call(Sum {
                a: big("1"),
                b: big("2")
            })
        )
        .await
        .unwrap()
        .total,
        big("3")
    );
    assert!(!conn.is_closed());
}

/// xorshift64*: reproducible pseudo-random values without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Floats whose shortest round-trip text needs 17 digits and whose exact
/// value lies exactly halfway between two 17-digit candidates: Python's
/// repr (David Gay's dtoa, mode 0) picks the even one; Rust's `{:e}`
/// shortest formatting rounds the tie up. The value survives either way,
/// but the bytes on the wire differ from Twisted's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::excessive_precision)] // exact binary ties, written out on purpose
async fn rust_float_text_matches_python_on_exact_ties() {
    let (_py, conn, _) = twisted_peer().await;
    let mut wrong = Vec::new();
    for (v, python) in [
        (2f64.powi(50) + 0.25, "1125899906842624.2"),
        (2f64.powi(50) + 0.75, "1125899906842624.8"),
        (-167581363823776.125, "-167581363823776.12"),
        (1712200237658961.25, "1712200237658961.2"),
    ] {
        // How Python itself writes this value (Twisted decoded our bytes
        // to the same float, then repr()).
        let r = within("EchoFloat", conn.call(EchoFloat { value: v }))
            .await
            .unwrap();
        assert_eq!(r.repr, python);
        assert!(same_f64(r.value, v));
        let ours = amp::to_value(&v).unwrap();
        if &ours[..] != python.as_bytes() {
            wrong.push(format!(
                "{python}: amp writes {}",
                String::from_utf8_lossy(&ours)
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "Float text differs from Twisted's: {wrong:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_encodes_randomised_values_exactly_as_twisted() {
    let (_py, conn, _) = twisted_peer().await;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);

    // Decimals: random texts; Python's str(Decimal(text)) vs ours.
    let texts: Vec<String> = (0..400)
        .map(|_| {
            let mut t = String::new();
            t.push_str(["", "-", "+"][rng.below(3) as usize]);
            let n = 1 + rng.below(30) as usize;
            let point = rng.below(n as u64 + 2) as usize;
            for i in 0..n {
                if i == point {
                    t.push('.');
                }
                t.push((b'0' + rng.below(10) as u8) as char);
            }
            if rng.below(2) == 0 {
                t.push(['E', 'e'][rng.below(2) as usize]);
                t.push_str(["", "-", "+"][rng.below(3) as usize]);
                t.push_str(&rng.below(400).to_string());
            }
            t
        })
        .collect();
    let calls = texts.iter().map(|t| {
        let mut b = AmpBox::new();
        b.insert("value", t.clone());
        conn.call_raw("EchoDecimal", b)
    });
    let answers = within("random decimals", join_all(calls)).await;
    for (t, a) in texts.iter().zip(answers) {
        let theirs = a.unwrap_or_else(|e| panic!("Decimal {t:?}: {e:?}"));
        let ours = amp::to_value(&dec(t)).unwrap();
        assert_eq!(theirs.get("value"), Some(&ours[..]), "Decimal({t:?})");
    }

    // DateTimes: random instants and offsets (whole minutes, under a day).
    let values: Vec<DateTime<FixedOffset>> = (0..300)
        .map(|_| {
            dt(
                1 + rng.below(9999) as i32,
                1 + rng.below(12) as u32,
                1 + rng.below(28) as u32,
                rng.below(24) as u32,
                rng.below(60) as u32,
                rng.below(60) as u32,
                rng.below(1_000_000) as u32,
                rng.below(2 * 1439 + 1) as i32 - 1439,
            )
        })
        .collect();
    let calls = values.iter().map(|v| {
        let mut b = AmpBox::new();
        b.insert("value", amp::to_value(v).unwrap());
        conn.call_raw("EchoDateTime", b)
    });
    let answers = within("random datetimes", join_all(calls)).await;
    for (v, a) in values.iter().zip(answers) {
        let theirs = a.unwrap_or_else(|e| panic!("DateTime {v:?}: {e:?}"));
        assert_eq!(
            theirs.get("value"),
            Some(&amp::to_value(v).unwrap()[..]),
            "{v:?}"
        );
    }
    // Floats: random bit patterns and random short decimals; Twisted's
    // re-encoding (Python's str(float)) must equal ours byte for byte.
    for chunk in 0..5 {
        let floats: Vec<f64> = (0..2000)
            .map(|i| match i % 3 {
                0 => f64::from_bits(rng.next()),
                1 => (rng.below(2_000_000) as f64 - 1e6) / 10f64.powi(rng.below(12) as i32),
                _ => (rng.next() as f64) * 10f64.powi(rng.below(600) as i32 - 300),
            })
            .collect();
        let ours = amp::to_value(&floats).unwrap();
        let mut b = AmpBox::new();
        for k in ["ints", "texts", "nested", "bins"] {
            b.insert(k, "");
        }
        b.insert("floats", ours.clone());
        let ans = within("random floats", conn.call_raw("EchoLists", b))
            .await
            .unwrap();
        if ans.get("floats") != Some(&ours) {
            // Compare element by element, as texts (ListOf(String) view).
            let theirs: Vec<Vec<u8>> = amp::from_value(ans.get_bytes("floats").unwrap()).unwrap();
            let mine: Vec<Vec<u8>> = amp::from_value(ours).unwrap();
            let diffs: Vec<String> = mine
                .iter()
                .zip(&theirs)
                .filter(|(m, t)| m != t)
                .map(|(m, t)| {
                    format!(
                        "ours {} vs Python {}",
                        String::from_utf8_lossy(m),
                        String::from_utf8_lossy(t)
                    )
                })
                .collect();
            panic!("chunk {chunk}: float text differs from Python's str(): {diffs:#?}");
        }
    }

    assert!(!conn.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_with_bulk_values_in_flight() {
    let (_py, conn, _) = twisted_peer().await;
    // 200 values of 60 000 bytes at once: 12 MB each way, boxes split
    // across reads and writes at arbitrary points.
    let blobs: Vec<Vec<u8>> = (0..200u32)
        .map(|i| {
            (0..60_000u32)
                .map(|j| (i.wrapping_mul(31) ^ j.wrapping_mul(7)) as u8)
                .collect()
        })
        .collect();
    let calls = blobs
        .iter()
        .map(|b| conn.call(EchoString { value: b.clone() }));
    let rs = within_for(Duration::from_secs(120), "bulk EchoString", join_all(calls)).await;
    for (i, (r, b)) in rs.into_iter().zip(&blobs).enumerate() {
        let r = r.unwrap_or_else(|e| panic!("bulk {i}: {e:?}"));
        assert!(r.value == *b, "bulk {i}: value differs");
    }
    let ints: Vec<BigInt> = (-3000..3000).map(BigInt::from).collect();
    let r = within(
        "bulk EchoLists",
        conn.call(EchoLists {
            ints: ints.clone(),
            texts: vec!["é".repeat(1000); 20],
            nested: vec![ints[..100].to_vec(); 50],
            bins: vec![],
            floats: vec![],
        }),
    )
    .await
    .unwrap();
    assert_eq!(r.ints, ints);
    assert_eq!(r.nested.len(), 50);
    assert!(!conn.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_calling_a_pure_rust_client_gets_unhandled() {
    // A client with an empty router answers the server's calls UNHANDLED.
    // Twisted's Bounce responder calls us back, gets UnhandledCommand (not
    // declared by Bounce), so it answers UNKNOWN and drops the connection.
    let (_py, port) = Py::serve("peer.py", &["serve"]).await;
    let conn = within("connect", Connection::connect(("127.0.0.1", port)))
        .await
        .unwrap();
    match within("Bounce(1)", conn.call(Bounce { depth: 1 })).await {
        Err(CallError::UnknownRemote { code, description }) => {
            assert_eq!(&code[..], b"UNKNOWN");
            assert_eq!(description, "Unknown Error");
        }
        other => panic!("{other:?}"),
    }
    let why = within("closed", conn.closed()).await;
    assert!(matches!(why, Disconnect::PeerClosed), "{why:?}");
}

// ---------------------------------------------------------------------------
// Twisted calls Rust: peer.py client <port> <scenario> against a Rust server.
// ---------------------------------------------------------------------------

async fn all_peer_closed(server: &mut RustServer, n: usize) {
    for _ in 0..n {
        let d = server.next_disconnect().await;
        assert!(matches!(d, Disconnect::PeerClosed), "{d:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_calls_rust_every_value_type() {
    let mut server = RustServer::start().await;
    let out = server
        .run_twisted_client(&["values", "lists", "amplist", "optional"])
        .await;
    out.assert_line("PASS EchoFloat(nan).raw: b'nan'");
    out.assert_line("PASS EchoFloat.raw(b'1E400'): b'inf'");
    out.assert_line("PASS EchoInteger.raw(b' +1_000 '): b'1000'");
    out.assert_line("PASS EchoDecimal(-sNaN).raw: b'-sNaN'");
    out.assert_line("PASS EchoDateTime.raw(b'2024-01-02T03:04:05.000006+00:00'): b'2024-01-02T03:04:05.000006-00:00'");
    out.line_starting("PASS EchoAmpList.orders.raw: b'");
    out.assert_line("PASS Options.absent.raw-keys: [b'_answer', b'dash-arg', b'repr']");
    all_peer_closed(&mut server, 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_calls_rust_declared_errors_and_unhandled_keep_the_connection() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["errors"]).await;
    out.line_starting("PASS Fail.declared: DeclaredError('declared é')");
    out.line_starting("PASS ChildFail.inherited-base: BaseError('base failure')");
    out.line_starting("PASS ChildFail.child: ChildError('child failure')");
    out.line_starting("PASS Divide.zero: ZeroDivisionError");
    out.line_starting("PASS NoSuchCommand.unhandled");
    out.assert_line("PASS raw.unhandled: [b'UNHANDLED', \"Unhandled Command: b'TotallyUnknown'\"]");
    out.assert_line("PASS raw.unhandled.still-open: 5");
    all_peer_closed(&mut server, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_calls_rust_fatal_error_closes_the_connection() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["fatal"]).await;
    out.assert_line("PASS Fail.fatal: FatalError('fatal text')");
    out.assert_line("PASS Fail.fatal.closed");
    match server.next_disconnect().await {
        Disconnect::FatalError { code, description } => {
            assert_eq!(code, "FATAL");
            assert_eq!(description, "fatal text");
        }
        d => panic!("{d:?}"),
    }
}

async fn expect_unknown_disconnect(server: &mut RustServer, reason_has: &str) {
    match server.next_disconnect().await {
        Disconnect::UnknownError { command, reason } => {
            assert!(
                reason.contains(reason_has),
                "reason {reason:?} should mention {reason_has:?} (command {command})"
            );
        }
        d => panic!("{d:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_calls_rust_panicking_responder_is_unknown_and_closes() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["unknown"]).await;
    out.assert_line("PASS Fail.unknown: UnknownRemoteError('Code<UNKNOWN>: Unknown Error')");
    out.assert_line("PASS Fail.unknown.later-call-fails-at-once");
    expect_unknown_disconnect(&mut server, "deliberate responder failure: boom").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_calls_rust_command_declaring_unknown_gets_the_declared_error() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["declared_unknown"]).await;
    out.assert_line("PASS Choose.known: 'known'");
    out.assert_line("PASS Choose.declared: UnknownProtocol('bogus é')");
    out.assert_line("PASS Choose.declared.still-open: 5");
    out.assert_line("PASS Choose.crash: UnknownProtocol('Unknown Error')");
    out.assert_line("PASS Choose.crash.closed");
    expect_unknown_disconnect(&mut server, "deliberate undeclared failure").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_calls_rust_inherited_command_with_flatten() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["flatten"]).await;
    out.assert_line(r"PASS GreetTwice.greeting: 'hi:dear hello Zo\xeb'");
    out.assert_line("PASS GreetTwice.count: 6");
    out.assert_line("PASS GreetTwice.absent.greeting: ':hello Al'");
    out.assert_line("PASS GreetTwice.raw-order: [b'_answer', b'count', b'greeting']");
    all_peer_closed(&mut server, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_calls_rust_unserialisable_response_is_unknown_and_closes() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["badreturn"]).await;
    out.assert_line("PASS Fail.badreturn: UnknownRemoteError('Code<UNKNOWN>: Unknown Error')");
    expect_unknown_disconnect(&mut server, "could not be encoded").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_calls_rust_with_undecodable_argument_is_unknown_and_closes() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["baddata"]).await;
    out.assert_line("PASS Sum.baddata.code: b'UNKNOWN'");
    out.assert_line("PASS Sum.baddata.description: 'Unknown Error'");
    expect_unknown_disconnect(&mut server, "bad arguments").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_calls_rust_without_answer_and_observes_the_side_effect() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["noanswer"]).await;
    out.assert_line("PASS Record.observed.k1: 7");
    out.assert_line("PASS Record.observed.raw-k3: 9");
    let store = server.state.store.lock().unwrap().clone();
    assert_eq!(store.get("k1"), Some(&big("7")));
    assert_eq!(store.get("k2"), Some(&big("1180591620717411303424")));
    assert_eq!(store.get("k3"), Some(&big("9")));
    all_peer_closed(&mut server, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_no_answer_request_failing_in_rust_closes_the_connection() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["noanswer_fail"]).await;
    out.assert_line("PASS Record.negative.closed");
    match server.next_disconnect().await {
        Disconnect::NoAnswerFailed { command, reason } => {
            assert_eq!(command, "Record");
            assert!(reason.contains("negative value -1"), "{reason}");
        }
        d => panic!("{d:?}"),
    }
    assert!(server.state.store.lock().unwrap().get("neg").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_calls_rust_250_concurrent_calls_answered_out_of_order() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["concurrency"]).await;
    out.assert_line("PASS Slow.all-answered: 250 answers");
    out.assert_line("PASS Slow.ids-match");
    out.assert_line("PASS Slow.seq-is-permutation");
    out.line_starting("PASS Slow.answered-out-of-order");
    all_peer_closed(&mut server, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_back_into_twisted_from_inside_its_responder() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["callback"]).await;
    out.assert_line("PASS Bounce.depth3: ['python', 'rust', 'python', 'rust']");
    out.assert_line("PASS Bounce.concurrent");
    // depth 3: Rust answered Bounce(3) and Bounce(1); then 20 more with depth 0..3.
    // Bounce(d) from Twisted makes Rust answer depths d, d-2, ... >= 0.
    let expected = 2 + (0..20).map(|d| (d % 4) / 2 + 1).sum::<usize>();
    assert_eq!(server.state.bounces.load(Ordering::SeqCst), expected);
    all_peer_closed(&mut server, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_raw_calls_reach_rust_route_raw_and_fallback() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["raw"]).await;
    out.assert_line("PASS RawEcho.echo: b'\\x00bin\\xff'");
    out.assert_line("PASS RawEcho.keys: b'_ask,_command,data'");
    out.assert_line("PASS RawEcho.error.code: b'RAW_ERR'");
    out.assert_line("PASS Fallback.name: b'FallbackThing'");
    all_peer_closed(&mut server, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_hangs_up_with_twisted_calls_outstanding() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["hangup"]).await;
    out.assert_line("PASS Hangup.outstanding-fail-connection-lost: ['lost']");
    out.assert_line("PASS Hangup.later-call-fails-at-once");
    let d = server.next_disconnect().await;
    assert!(matches!(d, Disconnect::LocalClose), "{d:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_unhandled_no_answer_request_closes_the_rust_connection() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["noanswer_unhandled"]).await;
    out.assert_line("PASS Nobody.noanswer.closed");
    match server.next_disconnect().await {
        Disconnect::NoAnswerFailed { command, .. } => assert_eq!(command, "Nobody"),
        d => panic!("{d:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_sends_bulk_values_to_rust() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["bulk"]).await;
    out.line_starting("PASS bulk.EchoString: 100 x ");
    out.assert_line("PASS bulk.EchoLists");
    out.assert_line("PASS bulk.still-open: 5");
    all_peer_closed(&mut server, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_violations_from_twisted_side_make_rust_drop_the_connection() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["rogue"]).await;
    for case in [
        "unknown-answer-tag",
        "unknown-error-tag",
        "not-routed",
        "key-too-long",
    ] {
        out.assert_line(&format!("PASS rogue.{case}.dropped"));
        out.assert_line(&format!("PASS rogue.{case}.no-reply: b''"));
    }
    // The connections ran one after the other, so their ends arrive in order.
    let mut got = Vec::new();
    for _ in 0..5 {
        got.push(server.next_disconnect().await);
    }
    let show = format!("{got:?}");
    use amp::ProtocolError as P;
    assert!(
        matches!(&got[0], Disconnect::Protocol(P::UnknownTag { tag }) if &tag[..] == b"99"),
        "{show}"
    );
    assert!(
        matches!(&got[1], Disconnect::Protocol(P::UnknownTag { tag }) if &tag[..] == b"77"),
        "{show}"
    );
    assert!(
        matches!(&got[2], Disconnect::Protocol(P::NotRouted { .. })),
        "{show}"
    );
    assert!(
        matches!(&got[3], Disconnect::Protocol(P::KeyTooLong { len: 256 })),
        "{show}"
    );
    assert!(
        matches!(&got[4], Disconnect::Protocol(P::TruncatedBox { .. })),
        "a stream ending mid-box is a truncated box, not a clean close: {show}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_twisted_rejects_are_rejected_by_rust_too() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["strict"]).await;
    let cases = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("PASS strict.") && l.ends_with(".closed"))
        .count();
    assert!(cases >= 20, "only {cases} rejected values checked");
    for _ in 0..cases {
        match server.next_disconnect().await {
            Disconnect::UnknownError { reason, .. } => {
                assert!(reason.contains("bad arguments"), "{reason}")
            }
            d => panic!("{d:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_full_battery_against_rust() {
    let server = RustServer::start().await;
    let port = server.port.to_string();
    let py = Py::spawn("peer.py", &["client", &port]);
    let out = py.finish(Duration::from_secs(180)).await;
    out.assert_success("peer.py client (every scenario)");
    let last = out.stdout.lines().last().unwrap_or_default();
    assert!(last.ends_with(" passed, 0 failed"), "{last}");
    let passed: usize = last.split(' ').next().unwrap().parse().unwrap();
    assert!(passed > 200, "only {passed} checks ran");
}

// ---------------------------------------------------------------------------
// Twisted's documented examples (docs/core/examples/ampserver.py, ampclient.py)
// ---------------------------------------------------------------------------

/// `Divide(1234, 0)` is the declared `ZERO_DIVISION` error and the
/// connection still answers `Divide(1, d)` with `expected`.
async fn check_divide(conn: &Connection, d: i64, expected: f64) {
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
