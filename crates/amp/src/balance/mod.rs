//! [`Balanced`]: one client over several servers. Each call goes to the
//! less loaded of two connected servers drawn at random (calls in flight,
//! then latency); the servers come from a list of addresses or names looked
//! up again on an interval (a Kubernetes headless Service, a DNS name with
//! several records), so servers join and leave while it runs.
//!
//! * Each server gets one connection, kept in the background: a lost one is
//!   opened again after a back-off (doubling, with jitter).
//! * A call on a connection that is lost fails with
//!   [`CallError::ConnectionLost`]: it may or may not have run on the
//!   server, so it is **never sent again** behind the caller's back. Opt in
//!   for commands that are safe to repeat with
//!   [`Balanced::call_idempotent`].
//! * While no server is connected, calls wait (at most
//!   [`Builder::wait_for_backend`], and never past their own timeout), then
//!   fail with [`CallError::Unavailable`], whose
//!   [`source`](std::error::Error::source) is the last connection error.
//! * A server that disappears from the lookup takes no new calls; its
//!   connection is shut down gracefully once its calls are done.
//!
//! tower's own `Balance` needs `&mut` access for each call (so a shared
//! client needs a `Buffer`: a task and a channel hop per call); this one is
//! shared by reference, and a call costs two random draws and a counter.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use amp::{Balanced, Command, Record, Router};
//!
//! #[derive(Command)]
//! #[amp(response = Total)]
//! struct Sum { a: i64, b: i64 }
//! #[derive(Record)]
//! struct Total { total: i64 }
//!
//! // Two servers...
//! let mut addrs = Vec::new();
//! for _ in 0..2 {
//!     let router = Router::new().route(|s: Sum, _| async move { Ok(Total { total: s.a + s.b }) });
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     addrs.push(listener.local_addr().unwrap().to_string());
//!     tokio::spawn(amp::Server::new(router).serve(listener));
//! }
//! // ...one client.
//! let client = Balanced::builder().targets(addrs).build();
//! for i in 0..10 {
//!     assert_eq!(client.call(Sum { a: i, b: 1 }).await.unwrap().total, i + 1);
//! }
//! assert_eq!(client.backends().len(), 2);
//! # }
//! ```

mod backend;
mod builder;
mod dice;
mod discover;
mod pick;
#[cfg(feature = "tower")]
mod tower;

pub use crate::error::{BackendError, Unavailable};
pub use backend::BackendStatus;
pub use builder::Builder;

use bytes::Bytes;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

use amp_wire::{AmpBox, Command, NoError};

use crate::connection::{CallOptions, Connection};
use crate::error::CallError;
use backend::Backend;
use builder::Settings;
use dice::Dice;

/// A client over several servers; see the [module](self) for how calls
/// are spread, and [`Builder`] for its settings. Cheap to clone: clones
/// share the connections. When the last clone is dropped, every connection
/// is shut down once its calls are done.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// use amp::{Balanced, Command, Record, Router};
///
/// #[derive(Command)]
/// #[amp(response = Pong)]
/// struct Ping;
/// #[derive(Record)]
/// struct Pong { ok: bool }
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// let router = Router::new().route(|_: Ping, _| async { Ok(Pong { ok: true }) });
/// tokio::spawn(amp::Server::new(router).serve(listener));
///
/// let client = Balanced::builder().target(addr.to_string()).build();
/// client.wait_connected(1).await;
/// let shared = client.clone(); // the same connections
/// assert!(shared.call(Ping).await.unwrap().ok);
/// assert_eq!(client.backends()[0].addr, addr);
/// # Ok(()) }
/// ```
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// use amp::{AmpBox, Balanced, CallOptions, Command, Record, Router};
/// use std::time::Duration;
///
/// #[derive(Command, Clone)]
/// #[amp(response = Pong)]
/// struct Ping;
/// #[derive(Record)]
/// struct Pong { ok: bool }
/// #[derive(Command)]
/// #[amp(requires_answer = false)]
/// struct Log { line: String }
///
/// let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
/// let router = Router::with_state(tx)
///     .route(|_: Ping, _| async { Ok(Pong { ok: true }) })
///     .route(|l: Log, ctx| async move { ctx.state.send(l.line).unwrap(); Ok(()) });
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// tokio::spawn(amp::Server::new(router).serve(listener));
/// let client = Balanced::builder().target(addr.to_string()).build();
///
/// // Every way of calling a Connection, on one of the servers.
/// let options = CallOptions::new().timeout(Duration::from_secs(5));
/// assert!(client.call_with(Ping, options).await.unwrap().ok);
/// assert!(client.call_idempotent_with(Ping, options).await.unwrap().ok);
/// let raw = client.call_raw_with("Ping", AmpBox::new(), options).await.unwrap();
/// assert_eq!(raw.get("ok"), Some(&b"True"[..]));
/// client.notify(Log { line: "typed".into() }).await.unwrap();
/// assert_eq!(rx.recv().await.unwrap(), "typed");
/// let mut args = AmpBox::new();
/// args.insert("line", "raw");
/// client.notify_raw("Log", args).await.unwrap();
/// assert_eq!(rx.recv().await.unwrap(), "raw");
/// # Ok(()) }
/// ```
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// use amp::{Balanced, Router};
///
/// // The targets change while the client runs.
/// let mut addrs = Vec::new();
/// for _ in 0..2 {
///     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
///     addrs.push(listener.local_addr()?.to_string());
///     tokio::spawn(amp::Server::new(Router::new()).serve(listener));
/// }
/// let client = Balanced::builder().target(&addrs[0]).build();
/// assert_eq!(client.targets(), [addrs[0].clone()]);
/// client.add_target(&addrs[1]).await;
/// client.wait_connected(2).await;
/// client.remove_target(&addrs[0]).await;
/// client.refresh().await; // look the targets up again now
/// assert_eq!(client.targets(), [addrs[1].clone()]);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Balanced {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) targets: Mutex<Vec<String>>,
    /// Each target's addresses at its last successful lookup.
    pub(crate) resolved: Mutex<HashMap<String, Vec<SocketAddr>>>,
    pub(crate) backends: RwLock<Vec<Arc<Backend>>>,
    /// Told whenever a backend connects.
    pub(crate) ready: Arc<Notify>,
    pub(crate) settings: Arc<Settings>,
    dice: Dice,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Ok(backends) = self.backends.get_mut() {
            for b in backends.iter() {
                b.remove();
            }
        }
    }
}

impl std::fmt::Debug for Balanced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Balanced")
            .field("targets", &self.targets())
            .field("backends", &self.backends())
            .finish()
    }
}

/// `options` with what is left of the call's own time limit, if it has
/// one (it counts from `begun`, the wait for a server included).
fn remaining(options: CallOptions, limit: Option<Duration>, begun: Option<Instant>) -> CallOptions {
    match (limit, begun) {
        (Some(l), Some(begun)) => options.timeout(l.saturating_sub(begun.elapsed())),
        _ => options,
    }
}

/// Whether the server answered (an error answer counts): its latency is
/// worth recording.
fn answered<T, E>(r: &Result<T, CallError<E>>) -> bool {
    matches!(
        r,
        Ok(_)
            | Err(CallError::Remote(_))
            | Err(CallError::Unhandled { .. })
            | Err(CallError::UnknownRemote { .. })
            | Err(CallError::BadResponse(_))
    )
}

impl Balanced {
    /// Settings for a new client; [`Builder::build`] starts it.
    pub fn builder() -> Builder {
        Builder::default()
    }

    pub(crate) fn start(targets: Vec<String>, settings: Settings) -> Balanced {
        let inner = Arc::new(Inner {
            targets: Mutex::new(targets),
            resolved: Mutex::new(HashMap::new()),
            backends: RwLock::new(Vec::new()),
            ready: Arc::new(Notify::new()),
            settings: Arc::new(settings),
            dice: Dice::new(),
        });
        let weak = Arc::downgrade(&inner);
        tokio::spawn(async move {
            if let Some(inner) = weak.upgrade() {
                discover::refresh(&inner).await;
            }
            discover::every(weak).await;
        });
        Balanced { inner }
    }

    /// The targets, as given (see [`Builder::target`]).
    pub fn targets(&self) -> Vec<String> {
        self.inner
            .targets
            .lock()
            .map(|t| t.clone())
            .unwrap_or_default()
    }

    /// Add a target while running (looked up at once, then with the
    /// others).
    pub async fn add_target(&self, target: impl Into<String>) {
        let target = target.into();
        if let Ok(mut targets) = self.inner.targets.lock() {
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
        discover::refresh(&self.inner).await;
    }

    /// Remove a target while running: its servers take no new calls and
    /// are shut down once their calls are done.
    pub async fn remove_target(&self, target: &str) {
        if let Ok(mut targets) = self.inner.targets.lock() {
            targets.retain(|t| t != target);
        }
        if let Ok(mut resolved) = self.inner.resolved.lock() {
            resolved.remove(target);
        }
        discover::refresh(&self.inner).await;
    }

    /// Look the targets up now (as [`Builder::resolve_every`] does).
    pub async fn refresh(&self) {
        discover::refresh(&self.inner).await;
    }

    /// Every server known, with its state and load.
    pub fn backends(&self) -> Vec<BackendStatus> {
        self.inner
            .backends
            .read()
            .map(|b| b.iter().map(|b| b.status()).collect())
            .unwrap_or_default()
    }

    /// Wait until at least `n` servers are connected.
    pub async fn wait_connected(&self, n: usize) {
        loop {
            let notified = self.inner.ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.backends().iter().filter(|b| b.connected).count() >= n {
                return;
            }
            notified.await;
        }
    }

    /// A connected server for a call, waiting for one if none is (within
    /// `limit`). `avoid`: a server that just lost a call, unless it is the
    /// only one.
    async fn choose(
        &self,
        limit: Option<Duration>,
        avoid: Option<SocketAddr>,
    ) -> Result<(Arc<Backend>, Connection), Unavailable> {
        if let Some(found) = self.try_pick(avoid) {
            return Ok(found); // the common case: no waiting, no clock
        }
        let begun = Instant::now();
        let wait = limit.map_or(self.inner.settings.wait_for_backend, |l| {
            l.min(self.inner.settings.wait_for_backend)
        });
        let deadline = begun + wait;
        loop {
            // Registered before looking, so a connection made in between
            // is not missed.
            let notified = self.inner.ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(found) = self.try_pick(avoid) {
                return Ok(found);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(self.unavailable(begun.elapsed()));
            }
        }
    }

    /// A connected server now, if there is one.
    fn try_pick(&self, avoid: Option<SocketAddr>) -> Option<(Arc<Backend>, Connection)> {
        let backends = self.inner.backends.read().ok()?;
        let b = pick::pick(&backends, &self.inner.dice, avoid)?;
        let conn = b.connection()?;
        if !conn.is_closed() {
            return Some((b.clone(), conn));
        }
        // Lost, and its keeper has not noticed yet: a call sent there
        // would fail without being sent. Another server, if one is up.
        let other =
            pick::pick(&backends, &self.inner.dice, Some(b.addr)).filter(|o| o.addr != b.addr)?;
        let conn = other.connection().filter(|c| !c.is_closed())?;
        Some((other.clone(), conn))
    }

    fn unavailable(&self, waited: Duration) -> Unavailable {
        let backends = self.backends();
        Unavailable {
            servers: backends.len(),
            waited,
            last_error: backends.into_iter().find_map(|b| b.last_error),
        }
    }

    /// Call `C` on one of the servers ([`Connection::call`]).
    pub async fn call<C: Command>(&self, cmd: C) -> Result<C::Response, CallError<C::Error>> {
        self.call_with(cmd, CallOptions::new()).await
    }

    /// [`Balanced::call`] with options. A timeout counts from now: the
    /// wait for a connected server included.
    pub async fn call_with<C: Command>(
        &self,
        cmd: C,
        options: CallOptions,
    ) -> Result<C::Response, CallError<C::Error>> {
        self.call_once(cmd, options, None).await.map_err(|(e, _)| e)
    }

    async fn call_once<C: Command>(
        &self,
        cmd: C,
        options: CallOptions,
        avoid: Option<SocketAddr>,
    ) -> Result<C::Response, (CallError<C::Error>, Option<SocketAddr>)> {
        let limit = options.explicit_timeout();
        let begun = limit.map(|_| Instant::now());
        let (backend, conn) = self
            .choose(limit, avoid)
            .await
            .map_err(|u| (CallError::Unavailable(u), None))?;
        let options = remaining(options, limit, begun);
        let mut guard = backend.start_call();
        let r = conn.call_with(cmd, options).await;
        if answered(&r) {
            guard.answered();
        }
        r.map_err(|e| (e, Some(backend.addr)))
    }

    /// Call `C`, and if its connection is lost before the answer, call it
    /// again on another server (up to [`Builder::retries`] times). Only for
    /// commands that are safe to run twice: a lost call may have run.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{Balanced, Command, Record, Router};
    ///
    /// /// Reading a value: safe to ask twice.
    /// #[derive(Command, Clone)]
    /// #[amp(response = Value)]
    /// struct Get { key: String }
    /// #[derive(Record)]
    /// struct Value { value: String }
    ///
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let addr = listener.local_addr().unwrap().to_string();
    /// let router = Router::new().route(|g: Get, _| async move { Ok(Value { value: g.key }) });
    /// tokio::spawn(amp::Server::new(router).serve(listener));
    ///
    /// let client = Balanced::builder().target(addr).retries(3).build();
    /// let got = client.call_idempotent(Get { key: "k".into() }).await.unwrap();
    /// assert_eq!(got.value, "k");
    /// // Each server, its state and load.
    /// let servers = client.backends();
    /// assert!(servers[0].connected && servers[0].in_flight == 0);
    /// # }
    /// ```
    pub async fn call_idempotent<C: Command + Clone>(
        &self,
        cmd: C,
    ) -> Result<C::Response, CallError<C::Error>> {
        self.call_idempotent_with(cmd, CallOptions::new()).await
    }

    /// [`Balanced::call_idempotent`] with options (a timeout covers all the
    /// attempts).
    pub async fn call_idempotent_with<C: Command + Clone>(
        &self,
        cmd: C,
        options: CallOptions,
    ) -> Result<C::Response, CallError<C::Error>> {
        let limit = options.explicit_timeout();
        let begun = limit.map(|_| Instant::now());
        let mut avoid = None;
        let mut attempt = 0;
        loop {
            let options = remaining(options, limit, begun);
            match self.call_once(cmd.clone(), options, avoid).await {
                Err((CallError::ConnectionLost(d), Some(addr)))
                    if attempt < self.inner.settings.retries =>
                {
                    tracing::debug!(%addr, reason = %d, "connection lost; calling again elsewhere");
                    attempt += 1;
                    avoid = Some(addr);
                }
                r => return r.map_err(|(e, _)| e),
            }
        }
    }

    /// Call a command by name with an encoded box on one of the servers
    /// ([`Connection::call_raw_with`]).
    pub async fn call_raw_with(
        &self,
        name: impl Into<Bytes>,
        args: AmpBox,
        options: CallOptions,
    ) -> Result<AmpBox, CallError<NoError>> {
        let limit = options.explicit_timeout();
        let begun = limit.map(|_| Instant::now());
        let (backend, conn) = self
            .choose(limit, None)
            .await
            .map_err(CallError::Unavailable)?;
        let options = remaining(options, limit, begun);
        let mut guard = backend.start_call();
        let r = conn.call_raw_with(name.into(), args, options).await;
        if answered(&r) {
            guard.answered();
        }
        r
    }

    /// Send `C` without asking for an answer, to one of the servers
    /// ([`Connection::notify`]).
    pub async fn notify<C: Command>(&self, cmd: C) -> Result<(), CallError<NoError>> {
        let (_, conn) = self
            .choose(None, None)
            .await
            .map_err(CallError::Unavailable)?;
        conn.notify(cmd).await
    }
}

impl Balanced {
    /// Send a raw request that wants no answer to one of the servers
    /// ([`Connection::notify_raw`]).
    pub async fn notify_raw(
        &self,
        name: impl Into<Bytes>,
        args: AmpBox,
    ) -> Result<(), CallError<NoError>> {
        let (_, conn) = self
            .choose(None, None)
            .await
            .map_err(CallError::Unavailable)?;
        conn.notify_raw(name.into(), args).await
    }
}

// (The error type parameter of a typed call is the command's.)
