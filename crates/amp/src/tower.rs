//! `tower` integration (cargo feature `tower`): a
//! [`Connection`](crate::Connection) is a [`tower::Service`] for calls,
//! and a route may be answered by a tower service
//! ([`Router::route_service`](crate::Router::route_service)), so tower's
//! layers (timeouts, concurrency and rate limits, load shedding) wrap
//! either side.
//!
//! # Calling: `Connection` as a service
//!
//! `Connection` implements `Service<C>` for every [`Command`](crate::Command)
//! `C` (response `C::Response`, error [`CallError<C::Error>`](crate::CallError):
//! exactly [`Connection::call`](crate::Connection::call)) and
//! `Service<`[`RawCall`]`>` ([`Connection::call_raw`](crate::Connection::call_raw)).
//! It is cheap to clone, so give each stack its own clone; no `Buffer` is
//! needed.
//!
//! Readiness is honest but reserves nothing: `poll_ready` fails with
//! [`CallError::ConnectionLost`](crate::CallError::ConnectionLost) once the
//! connection has ended, is `Pending` while the connection's output is past
//! [`Config::write_high_water`](crate::Config::write_high_water) (the peer
//! is not reading), and ready otherwise. Clones share that output, so a
//! call made after readiness may still wait for room; that wait is part of
//! the call's future (and of any `timeout` around it).
//!
//! Tower's `timeout` layer (like most layers) boxes errors into a
//! [`BoxError`]: get the call's own error back with
//! `e.downcast::<CallError<C::Error>>()`; a timeout is
//! `tower::timeout::error::Elapsed`. (Without tower,
//! [`CallOptions::timeout`](crate::CallOptions::timeout) gives
//! [`CallError::Timeout`](crate::CallError::Timeout) directly.)
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use amp::{CallError, Command, Connection, NoError, Record, Router};
//! use std::time::Duration;
//! use tower::{Service, ServiceBuilder, ServiceExt};
//!
//! #[derive(Command)]
//! #[amp(response = Slept)]
//! struct Slow { millis: u64 }
//! #[derive(Record, Debug)]
//! struct Slept {}
//!
//! let (a, b) = tokio::io::duplex(4096);
//! Connection::spawn(a, Router::new().route(|s: Slow, _| async move {
//!     tokio::time::sleep(Duration::from_millis(s.millis)).await;
//!     Ok(Slept {})
//! }));
//! let conn = Connection::spawn(b, Router::new());
//!
//! let mut slow = ServiceBuilder::new()
//!     .timeout(Duration::from_millis(200))
//!     .concurrency_limit(8)
//!     .rate_limit(100, Duration::from_secs(1))
//!     .service(conn.clone());
//! // `Connection` serves every command: say which when it is not inferred.
//! let r = ServiceExt::<Slow>::ready(&mut slow).await.unwrap().call(Slow { millis: 1 }).await;
//! assert!(r.is_ok());
//!
//! let call = ServiceExt::<Slow>::ready(&mut slow).await.unwrap().call(Slow { millis: 10_000 });
//! assert!(call.await.unwrap_err().is::<tower::timeout::error::Elapsed>());
//!
//! // The connection's own errors come back boxed too; once it has ended,
//! // the service is done: `poll_ready` fails.
//! conn.close().await;
//! let e = ServiceExt::<Slow>::ready(&mut slow).await.unwrap_err();
//! let e = e.downcast::<CallError<NoError>>().unwrap();
//! assert!(e.is_connection_lost());
//! # }
//! ```
//!
//! # Answering: a route served by a tower service
//!
//! [`Router::route_service`](crate::Router::route_service) answers command
//! `C` with a `Service<(C, Ctx<S>)>` whose response is `C::Response`. Its
//! error is anything tower can box ([`BoxError`]); each is answered thus:
//!
//! | the service's error | the peer gets | the connection |
//! |---|---|---|
//! | `C::Error` (a declared error; it must implement `std::error::Error`) | its code and description | stays, unless the error is declared fatal |
//! | [`Fail<C::Error>`](crate::Fail) | `Declared`: as above; `Unknown`: as the last row | |
//! | [`RawError`] | its code and description | closes only if it is fatal |
//! | `tower::timeout::error::Elapsed` (a `timeout` layer) | [`TIMEOUT`] | stays |
//! | `tower::load_shed::error::Overloaded` (a `load_shed` layer: a concurrency or rate limit was reached) | [`OVERLOADED`] | stays |
//! | anything else | `UNKNOWN` (logged with its causes) | closes, as Twisted does for an undeclared exception |
//!
//! `TIMEOUT` and `OVERLOADED` are not errors a command usually declares, so
//! an amp-rs caller gets [`CallError::UnknownRemote`](crate::CallError::UnknownRemote)
//! with that code, and a Twisted caller `UnknownRemoteError`; a command
//! that declares the code (`#[amp(code = "OVERLOADED")]`, Twisted
//! `errors = {Overloaded: b"OVERLOADED"}`) gets its own error. Overload is
//! never fatal: closing a connection because the server is busy would
//! only make its callers reconnect.
//!
//! See [`Router::route_service`](crate::Router::route_service) for how the
//! service is shared and driven, and an example.

use bytes::Bytes;

use amp_wire::{AmpBox, ErrorTable, IntoBytes};

use crate::error::{Fail, RawError};

pub use ::tower::BoxError;

/// The error code answered when a route's `timeout` layer elapses.
pub const TIMEOUT: &str = "TIMEOUT";

/// The error code answered when a route's `load_shed` layer refuses a
/// request (its service was not ready: a concurrency or rate limit).
pub const OVERLOADED: &str = "OVERLOADED";

/// A raw call for [`Connection`](crate::Connection) as a `tower::Service`:
/// a command name and its argument box, as
/// [`Connection::call_raw`](crate::Connection::call_raw) takes them. The
/// response is the answer box (without `_answer`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use amp::{tower::RawCall, AmpBox, Connection, RawError, Router};
/// use tower::ServiceExt;
///
/// let (a, b) = tokio::io::duplex(4096);
/// Connection::spawn(a, Router::new().route_raw("Ping", |_, _| async {
///     let mut pong = AmpBox::new();
///     pong.insert("pong", "1");
///     Ok::<_, RawError>(pong)
/// }));
/// let conn = Connection::spawn(b, Router::new());
/// let answer = conn.oneshot(RawCall::new("Ping", AmpBox::new())).await.unwrap();
/// assert_eq!(answer.get("pong"), Some(&b"1"[..]));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RawCall {
    /// The command name (`_command`).
    pub name: Bytes,
    /// The arguments.
    pub args: AmpBox,
}

impl RawCall {
    /// A call of command `name` with `args`.
    pub fn new(name: impl IntoBytes, args: AmpBox) -> Self {
        RawCall {
            name: name.into_bytes(),
            args,
        }
    }
}

/// The error box answering a route service's error `e` (see the module
/// documentation), or `e` back if it is none of the known kinds: the
/// request then fails as undeclared (`UNKNOWN`, and the connection closes).
pub(crate) fn reply_for<E>(e: BoxError) -> Result<RawError, BoxError>
where
    E: ErrorTable + std::error::Error + Sync,
{
    let e = match e.downcast::<E>() {
        Ok(declared) => return Ok(RawError::from_table(&*declared)),
        Err(e) => e,
    };
    let e = match e.downcast::<Fail<E>>() {
        Ok(fail) => {
            return match *fail {
                Fail::Declared(declared) => Ok(RawError::from_table(&declared)),
                Fail::Unknown(e) => Err(e),
            }
        }
        Err(e) => e,
    };
    let e = match e.downcast::<RawError>() {
        Ok(raw) => return Ok(*raw),
        Err(e) => e,
    };
    if e.is::<::tower::timeout::error::Elapsed>() {
        tracing::debug!("responder timed out");
        return Ok(RawError::new(
            TIMEOUT,
            "the responder did not answer in time",
        ));
    }
    if e.is::<::tower::load_shed::error::Overloaded>() {
        tracing::debug!("request shed: responder overloaded");
        return Ok(RawError::new(
            OVERLOADED,
            "too busy to answer: try again later",
        ));
    }
    Err(e)
}
