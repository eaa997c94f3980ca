//! The demo service `amp serve` runs and `amp demo` tours: Twisted's
//! documented example commands `Sum` and `Divide` (its `ampserver.py`),
//! `Echo` (a raw route answering its arguments back), `StartTLS`, and
//! `Switch` (a protocol switch to a byte echo). Every call is counted and,
//! at log level info (`amp -v`), logged with its peer, tag, outcome and
//! duration.

use amp::tls::TlsOptions;
use amp::{AmpBox, AmpError, Command, Ctx, RawError, Record, Router, SwitchTo, Switched};
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::schema::RESERVED_KEYS;

/// `Sum(a: Integer, b: Integer) -> total: Integer`, as in Twisted's
/// `ampserver.py`. Integers up to 128 bits (Twisted's are unbounded).
#[derive(Command, Debug)]
#[amp(response = Total)]
pub struct Sum {
    /// The first term.
    pub a: i128,
    /// The second term.
    pub b: i128,
}

/// The answer to [`Sum`].
#[derive(Record, Debug, PartialEq)]
pub struct Total {
    /// `a + b`.
    pub total: i128,
}

/// `Divide(numerator: Integer, denominator: Integer) -> result: Float`,
/// errors `{ZeroDivisionError: ZERO_DIVISION}`, as in Twisted's
/// `ampserver.py`.
#[derive(Command, Debug)]
#[amp(response = Quotient, error = DivideError)]
pub struct Divide {
    /// The dividend.
    pub numerator: i128,
    /// The divisor.
    pub denominator: i128,
}

/// The answer to [`Divide`].
#[derive(Record, Debug, PartialEq)]
pub struct Quotient {
    /// `numerator / denominator`, as a float (Python's `float(n) / d`).
    pub result: f64,
}

/// The errors [`Divide`] declares.
#[derive(AmpError, Debug, PartialEq)]
pub enum DivideError {
    /// Division by zero (Python's `ZeroDivisionError`, worded as Python
    /// words it).
    #[amp(code = "ZERO_DIVISION", description = "float division by zero")]
    ZeroDivision,
}

/// `Switch()`: a `ProtocolSwitchCommand`; once answered, the connection is
/// a byte echo (see [`byte_echo`]).
#[derive(Command, Debug)]
pub struct Switch;

/// The name of the raw echo command.
pub const ECHO: &str = "Echo";

/// How long a switched connection may stay silent (or refuse to take our
/// echo) before it is closed.
pub const ECHO_IDLE: Duration = Duration::from_secs(60);

/// What the demo service counts, shared by every connection.
#[derive(Debug, Default)]
pub struct Counters {
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Requests answered (errors included).
    pub calls: AtomicU64,
    /// Requests answered with an error.
    pub errors: AtomicU64,
}

impl Counters {
    fn get(n: &AtomicU64) -> u64 {
        n.load(Ordering::Relaxed)
    }
}

impl fmt::Display for Counters {
    /// `3 connections, 12 calls (1 error)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (c, n, e) = (
            Self::get(&self.connections),
            Self::get(&self.calls),
            Self::get(&self.errors),
        );
        write!(
            f,
            "{c} connection{}, {n} call{} ({e} error{})",
            plural(c),
            plural(n),
            plural(e)
        )
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The router of the demo service, answering `StartTLS` with `tls`, and
/// the counters it updates.
pub fn router(tls: TlsOptions) -> (Router<Arc<Counters>>, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let c = counters.clone();
    let router = Router::with_connection_state(move |_| {
        c.connections.fetch_add(1, Ordering::Relaxed);
        c.clone()
    });
    let router = typed(router, |s: Sum| {
        s.a.checked_add(s.b)
            .map(|total| Total { total })
            .ok_or_else(|| RawError::fatal("UNKNOWN", "the sum does not fit in 128 bits"))
    });
    let router = typed(router, |d: Divide| {
        if d.denominator == 0 {
            return Err(RawError::from_table(&DivideError::ZeroDivision));
        }
        Ok(Quotient {
            result: d.numerator as f64 / d.denominator as f64,
        })
    });
    let router = router
        .route_raw(ECHO, |req: AmpBox, ctx: Ctx<Arc<Counters>>| {
            let start = Instant::now();
            let tag = req.get_bytes("_ask");
            let mut answer = req;
            for key in RESERVED_KEYS {
                answer.remove(key);
            }
            let answer = Ok(answer);
            conclude(&ctx, ECHO, tag.as_deref(), &answer, start);
            std::future::ready(answer)
        })
        .start_tls_per_connection(move |ctx: Ctx<Arc<Counters>>| {
            ctx.state.calls.fetch_add(1, Ordering::Relaxed);
            log_call(
                "StartTLS",
                &ctx,
                None,
                &"accepted, TLS handshake follows",
                None,
            );
            std::future::ready(Ok(tls.clone()))
        })
        .route_switch(|_: Switch, ctx: Ctx<Arc<Counters>>| {
            ctx.state.calls.fetch_add(1, Ordering::Relaxed);
            log_call(
                "Switch",
                &ctx,
                None,
                &"switched to a byte echo",
                None,
            );
            let peer = peer_name(&ctx);
            std::future::ready(Ok(SwitchTo::new(move |stream| async move {
                let start = Instant::now();
                match byte_echo(stream).await {
                    Ok(n) => tracing::info!(%peer, bytes = n, duration = ?start.elapsed(), "byte echo done"),
                    Err(e) => tracing::info!(%peer, duration = ?start.elapsed(), "byte echo ended: {e}"),
                }
            })))
        })
        .fallback(|name, req: AmpBox, ctx: Ctx<Arc<Counters>>| {
            let start = Instant::now();
            let answer = Err(RawError::unhandled(&name));
            let command = amp::display_bytes(&name);
            conclude(&ctx, &command, req.get("_ask"), &answer, start);
            std::future::ready(answer)
        })
        .describe_itself();
    (router, counters)
}

/// Answers command `C` with `f` on a raw route (which sees the request's
/// tag, for the log), decoding and encoding as a typed route would:
/// undecodable arguments get `UNKNOWN` and close the connection.
fn typed<C, F>(router: Router<Arc<Counters>>, f: F) -> Router<Arc<Counters>>
where
    C: Command,
    F: Fn(C) -> Result<C::Response, RawError> + Send + Sync + 'static,
{
    router
        .route_raw(C::NAME, move |req: AmpBox, ctx: Ctx<Arc<Counters>>| {
            let start = Instant::now();
            let answer = C::from_box(&req)
                .map_err(|e| RawError::fatal("UNKNOWN", format!("bad arguments: {e}")))
                .and_then(&f)
                .and_then(|r| {
                    r.to_box()
                        .map_err(|e| RawError::fatal("UNKNOWN", format!("bad answer: {e}")))
                });
            conclude(&ctx, C::NAME, req.get("_ask"), &answer, start);
            std::future::ready(answer)
        })
        .describe_route::<C>()
}

/// Counts and logs one answered request.
fn conclude(
    ctx: &Ctx<Arc<Counters>>,
    command: &str,
    tag: Option<&[u8]>,
    answer: &Result<AmpBox, RawError>,
    start: Instant,
) {
    ctx.state.calls.fetch_add(1, Ordering::Relaxed);
    match answer {
        Ok(_) => log_call(command, ctx, tag, &"answered", Some(start.elapsed())),
        Err(e) => {
            ctx.state.errors.fetch_add(1, Ordering::Relaxed);
            log_call(
                command,
                ctx,
                tag,
                &format_args!("error {e}"),
                Some(start.elapsed()),
            );
        }
    }
}

/// One log line (info) per call. The library tells raw routes the tag
/// (`_ask`); StartTLS and switch responders do not see it (`-`), nor how
/// long their negotiation takes (`-`).
fn log_call(
    command: &str,
    ctx: &Ctx<Arc<Counters>>,
    tag: Option<&[u8]>,
    outcome: &dyn fmt::Display,
    took: Option<Duration>,
) {
    tracing::info!(
        command = %command,
        peer = %peer_name(ctx),
        tag = %tag.map(amp::display_bytes).unwrap_or_else(|| "-".into()),
        outcome = ?outcome.to_string(),
        duration = %took.map_or_else(|| "-".into(), |d| format!("{d:?}")),
        "call"
    );
}

fn peer_name<S>(ctx: &Ctx<S>) -> String {
    ctx.peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|| "-".into())
}

/// Echoes every byte read from `stream` until the peer shuts down its
/// write side, then finishes writing and shuts down ours (half-close
/// aware). Closes after [`ECHO_IDLE`] without progress. Returns the bytes
/// echoed.
pub async fn byte_echo(stream: Switched) -> io::Result<u64> {
    let (mut r, mut w) = tokio::io::split(stream);
    let mut buf = vec![0u8; 16 * 1024];
    let mut total = 0u64;
    loop {
        let n = idle(r.read(&mut buf)).await?;
        if n == 0 {
            break;
        }
        idle(w.write_all(&buf[..n])).await?;
        total += n as u64;
    }
    idle(w.shutdown()).await?;
    Ok(total)
}

/// `io` within [`ECHO_IDLE`].
async fn idle<T>(io: impl std::future::Future<Output = io::Result<T>>) -> io::Result<T> {
    tokio::time::timeout(ECHO_IDLE, io).await.map_err(|_| {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no progress for {ECHO_IDLE:?}"),
        )
    })?
}
