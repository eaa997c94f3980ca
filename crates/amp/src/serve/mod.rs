//! Accepting connections: [`Server`], [`serve`], and graceful shutdown.
//!
//! The server's options are here; the accept loop is in `run`, the
//! listener and accept errors in `accept`, the registry of connections
//! being served in `live`, handing streams over instead of serving AMP in
//! `streams`.

use std::sync::Arc;
use std::time::Duration;

use amp_wire::Config;
#[cfg(doc)]
use amp_wire::Disconnect;

#[cfg(doc)]
use crate::budget::DEFAULT_MEMORY_BUDGET;
use crate::budget::{Pool, ServerStats, DEFAULT_EVICT_IDLE_AFTER};
use crate::connection::Bind;
use crate::responders::Responders;

mod accept;
mod live;
mod run;
mod streams;

pub use accept::{Accepted, Listener};

/// What a graceful shutdown came to ([`Server::serve_until`],
/// [`Server::serve_streams_until`]).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// use amp::{Command, Connection, Record, Router, Server};
/// use std::time::Duration;
///
/// #[derive(Command)]
/// #[amp(response = Pong)]
/// struct Ping;
/// #[derive(Record)]
/// struct Pong { ok: bool }
///
/// let router = Router::new().route(|_: Ping, _| async { Ok(Pong { ok: true }) });
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let server = Server::new(router).grace_period(Duration::from_secs(10));
/// let serving = tokio::spawn(server.serve_until(listener, async {
///     stopped.await.unwrap_or(())
/// }));
/// let conn = Connection::connect(addr).await?;
/// assert!(conn.call(Ping).await.unwrap().ok); // served: the server has it
/// stop.send(()).unwrap();
/// // The connection, idle, is closed at once: it was open, and not cut.
/// let report = serving.await.unwrap();
/// assert_eq!((report.open, report.cut), (1, 0));
/// conn.closed().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Connections open when the shutdown began.
    pub open: usize,
    /// Of those, connections cut when the grace period ended (their work
    /// was not done).
    pub cut: usize,
}

/// Serves a [`Router`](crate::Router) (or [`Channels`](crate::Channels)) on every connection accepted from a listener, with
/// a [`Config`], limits on connections and memory, and graceful shutdown.
///
/// * Accepting never gives up: errors (out of descriptors, `EMFILE` and
///   `ENFILE`; connections aborted before they were accepted) are logged
///   and retried, backing off from 10 ms to 1 s while they last.
/// * Out of room for a new client (at [`Server::max_connections`], or out
///   of descriptors), the server closes the connection idle the longest, if
///   it has been idle at least [`Server::evict_idle_after`] (1 s by
///   default), and serves the new client; if none has, new clients wait
///   (in the listen backlog, the first of them accepted) until one is, or
///   until a connection ends.
/// * [`Server::max_connections_per_peer`] (off by default) caps the
///   connections of one peer address.
/// * [`Server::memory_budget`] (256 MiB by default) bounds the bytes all
///   connections together buffer (boxes arriving, output not yet written);
///   past it the connections holding the most are cut.
/// * [`Server::serve_until`] stops accepting when its signal fires, lets
///   every connection finish the requests it is answering and write their
///   answers (new requests are refused with `SHUTTING_DOWN`), and cuts the
///   connections still busy when the grace period ends.
/// * [`Server::serve_streams_until`] hands each connection to the caller
///   instead of running AMP on it (a proxy, another protocol), with the
///   same limits (except eviction) and shutdown.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// use amp::{Command, Connection, Record, Router, Server};
/// use std::time::Duration;
///
/// #[derive(Command)]
/// #[amp(response = Pong)]
/// struct Ping;
/// #[derive(Record)]
/// struct Pong { ok: bool }
///
/// let router = Router::new().route(|_: Ping, _| async { Ok(Pong { ok: true }) });
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// // Stopped by Ctrl-C in a real server (`tokio::signal::ctrl_c()`).
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let serving = tokio::spawn(
///     Server::new(router)
///         .max_connections(10_000)
///         .max_connections_per_peer(100)
///         .memory_budget(Some(1 << 30))
///         .grace_period(Duration::from_secs(10))
///         .serve_until(listener, async { stopped.await.unwrap_or(()) }),
/// );
///
/// let conn = Connection::connect(addr).await?;
/// assert!(conn.call(Ping).await.unwrap().ok);
/// conn.close().await;
/// stop.send(()).unwrap();
/// let report = serving.await.unwrap();
/// println!("{} connections open at shutdown, {} cut", report.open, report.cut);
/// # Ok(()) }
/// ```
pub struct Server {
    router: Arc<dyn Bind>,
    config: Config,
    max_connections: Option<usize>,
    max_per_peer: Option<usize>,
    evict_after: Option<Duration>,
    grace: Duration,
    pool: Arc<Pool>,
}

impl Server {
    /// A server answering with `responders` (a [`Router`](crate::Router),
    /// or [`Channels`](crate::Channels)), with the default [`Config`], no
    /// connection limit, a 256 MiB memory budget, idle connections evicted
    /// after 1 s when out of room, and a 30 s grace period.
    pub fn new(responders: impl Responders) -> Server {
        Server {
            router: responders.into_bind().0,
            config: Config::default(),
            max_connections: None,
            max_per_peer: None,
            evict_after: Some(DEFAULT_EVICT_IDLE_AFTER),
            grace: Duration::from_secs(30),
            pool: Pool::new(),
        }
    }

    /// The configuration of every connection.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// use amp::{Config, Server, Router};
    ///
    /// let config = Config::builder().max_in_flight(16).build().unwrap();
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let addr = listener.local_addr()?;
    /// tokio::spawn(Server::new(Router::new()).config(config).serve(listener));
    /// let conn = amp::Connection::connect(addr).await?;
    /// assert!(!conn.is_closed());
    /// # Ok(()) }
    /// ```
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Accept at most `n` connections at once (at least 1). At the limit,
    /// the connection idle the longest is closed for a new client (see
    /// [`Server::evict_idle_after`]); meanwhile the first new client is
    /// accepted and waits, unserved, and the others wait in the listen
    /// backlog.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = Some(n.max(1));
        self
    }

    /// Serve at most `n` connections at once from one peer (at least 1):
    /// one IPv4 address, or one IPv6 /64 network (what one host usually
    /// has). Off by default: many clients share an address behind NAT or a
    /// proxy, and tests and benchmarks open hundreds of connections from
    /// 127.0.0.1. UNIX sockets have no peer address and are not capped.
    ///
    /// A new connection from a peer at its cap is served in place of that
    /// peer's connection idle the longest, if one has been idle at least
    /// [`Server::evict_idle_after`]; otherwise it is closed at once
    /// (counted in [`ServerStats::refused_per_peer`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let server = amp::Server::new(amp::Router::new()).max_connections_per_peer(64);
    /// tokio::spawn(server.serve(listener));
    /// # Ok(()) }
    /// ```
    pub fn max_connections_per_peer(mut self, n: usize) -> Self {
        self.max_per_peer = Some(n.max(1));
        self
    }

    /// When the server is out of room for a new client (at
    /// [`Server::max_connections`], out of descriptors, or the client's peer
    /// at [`Server::max_connections_per_peer`]), close the connection idle
    /// the longest, if it has been idle at least `min_idle`, and serve the
    /// new client (`None`: never; new clients wait until a connection ends).
    /// Default: [`DEFAULT_EVICT_IDLE_AFTER`] (1 s).
    ///
    /// Idle means: nothing in flight (no request being answered, no call of
    /// the server's unanswered), nothing to write, and nothing received,
    /// not even part of a box, for that long. A connection switched to
    /// another protocol is idle while no bytes move through its
    /// [`Switched`](crate::Switched) stream (or the transport
    /// [`Switched::into_parts`](crate::Switched::into_parts) returned),
    /// and never idle once its socket is taken with
    /// [`Switched::downcast`](crate::Switched::downcast) (the server no
    /// longer sees its bytes); evicted, its protocol's task is dropped,
    /// which closes it. An AMP
    /// connection evicted ends with [`Disconnect::Evicted`]. Connections
    /// are never closed while the server has room: AMP links are long-lived
    /// and may stay quiet for hours (see
    /// [`Config::idle_timeout`] for that).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    ///
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let server = amp::Server::new(amp::Router::new())
    ///     .max_connections(1_000)
    ///     .evict_idle_after(Some(Duration::from_secs(60)));
    /// tokio::spawn(server.serve(listener));
    /// # Ok(()) }
    /// ```
    pub fn evict_idle_after(mut self, min_idle: Option<Duration>) -> Self {
        self.evict_after = min_idle;
        self
    }

    /// Bound the bytes all connections together buffer: boxes arriving
    /// (partial boxes, and boxes read but not yet decoded), output not yet
    /// written, boxes held during a switch or StartTLS (`None`: no bound).
    /// Default: [`DEFAULT_MEMORY_BUDGET`] (256 MiB, 64 boxes of the default
    /// [`Config::max_box_size`] at once); at least 64 KiB.
    ///
    /// Each connection counts its buffers in steps of 64 KiB, rounded down,
    /// so a connection exchanging smaller boxes counts for nothing and is
    /// never cut (and never touches the shared count: the cost is one
    /// comparison a round). Past the budget, the connections holding the
    /// most are cut, largest first, until the rest fit
    /// ([`Disconnect::MemoryBudget`]); meanwhile a connection that would
    /// buffer more (it grew past the budget, or holds 64 KiB or more) stops
    /// reading until the total is within the budget again. The budget is
    /// passed by at most what connections read in the round they crossed
    /// it. Not counted: requests being answered (bounded per connection by
    /// [`Config::max_in_flight`]), the kernel's socket buffers, and what a
    /// protocol switched to buffers. A box larger than the budget cannot be
    /// received: keep it at several times [`Config::max_box_size`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let server = amp::Server::new(amp::Router::new()).memory_budget(Some(1 << 30));
    /// let stats = server.stats();
    /// tokio::spawn(server.serve(listener));
    /// assert!(stats.peak_buffered() <= 1 << 30);
    /// # Ok(()) }
    /// ```
    pub fn memory_budget(self, bytes: Option<usize>) -> Self {
        self.pool.set_limit(bytes);
        self
    }

    /// How long a graceful shutdown waits for connections to finish their
    /// work before cutting them.
    pub fn grace_period(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The server's live counters (connections, bytes buffered against the
    /// memory budget, connections cut or evicted), readable while it serves.
    /// See [`ServerStats`] for an example.
    ///
    /// ```
    /// let server = amp::Server::new(amp::Router::new());
    /// let stats = server.stats();
    /// assert_eq!(stats.connections(), 0);
    /// assert_eq!(stats.memory_budget(), Some(amp::DEFAULT_MEMORY_BUDGET));
    /// ```
    pub fn stats(&self) -> ServerStats {
        ServerStats::of(&self.pool)
    }

    /// Accept connections forever.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// use amp::{Command, Connection, Record, Router, Server};
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
    /// tokio::spawn(Server::new(router).serve(listener));
    /// let conn = Connection::connect(addr).await?;
    /// assert!(conn.call(Ping).await.unwrap().ok);
    /// # Ok(()) }
    /// ```
    pub async fn serve(self, listener: impl Into<Listener>) {
        self.serve_until(listener, std::future::pending()).await;
    }
}
