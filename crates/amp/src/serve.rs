//! Accepting connections: [`Server`], [`serve`], and graceful shutdown.

use futures_util::FutureExt;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use amp_wire::{Config, Disconnect, Timeout};

use crate::addr::ConnectionInfo;
#[cfg(doc)]
use crate::budget::DEFAULT_MEMORY_BUDGET;
use crate::budget::{self, Holding, Member, Pool, ServerStats, DEFAULT_EVICT_IDLE_AFTER};
use crate::connection::{Bind, Connection, Control};
use crate::router::Router;

/// A listening socket a [`Server`] accepts connections on.
#[derive(Debug)]
#[non_exhaustive]
pub enum Listener {
    /// TCP (accepted connections get `TCP_NODELAY`).
    Tcp(tokio::net::TcpListener),
    /// A UNIX socket (accepted connections pass descriptors).
    #[cfg(feature = "unix")]
    Unix(tokio::net::UnixListener),
}

impl From<tokio::net::TcpListener> for Listener {
    fn from(l: tokio::net::TcpListener) -> Self {
        Listener::Tcp(l)
    }
}

#[cfg(feature = "unix")]
impl From<tokio::net::UnixListener> for Listener {
    fn from(l: tokio::net::UnixListener) -> Self {
        Listener::Unix(l)
    }
}

/// What a graceful shutdown came to ([`Server::serve_until`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Connections open when the shutdown began.
    pub open: usize,
    /// Of those, connections cut when the grace period ended (their work
    /// was not done).
    pub cut: usize,
}

/// Serves a [`Router`] on every connection accepted from a listener, with
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
///
/// ```no_run
/// # async fn run(router: amp::Router) -> std::io::Result<()> {
/// use std::time::Duration;
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:1234").await?;
/// let report = amp::Server::new(router)
///     .max_connections(10_000)
///     .max_connections_per_peer(100)
///     .memory_budget(Some(1 << 30))
///     .grace_period(Duration::from_secs(10))
///     .serve_until(listener, async { tokio::signal::ctrl_c().await.unwrap() })
///     .await;
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
    /// A server answering with `router`, with the default [`Config`], no
    /// connection limit, a 256 MiB memory budget, idle connections evicted
    /// after 1 s when out of room, and a 30 s grace period.
    pub fn new<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Server {
        Server::from_bind(Arc::new(router))
    }

    /// A server answering with any [`Bind`] (a router, [`Routes`](crate::Routes)).
    pub(crate) fn from_bind(router: Arc<dyn Bind>) -> Server {
        Server {
            router,
            config: Config::default(),
            max_connections: None,
            max_per_peer: None,
            evict_after: Some(DEFAULT_EVICT_IDLE_AFTER),
            grace: Duration::from_secs(30),
            pool: Pool::new(),
        }
    }

    /// The configuration of every connection.
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
    /// [`Switched::into_parts`](crate::Switched::into_parts) returned);
    /// evicted, its protocol's task is dropped, which closes it. An AMP
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
    pub fn stats(&self) -> ServerStats {
        ServerStats::of(&self.pool)
    }

    /// Accept connections forever.
    pub async fn serve(self, listener: impl Into<Listener>) {
        self.serve_until(listener, std::future::pending()).await;
    }

    /// Accept connections until `shutdown` resolves, then shut down
    /// gracefully (see [`Server`]); returns once every connection has
    /// ended.
    pub async fn serve_until(
        self,
        listener: impl Into<Listener>,
        shutdown: impl Future<Output = ()>,
    ) -> ShutdownReport {
        let listener = listener.into();
        let slots = Arc::new(Semaphore::new(
            self.max_connections.unwrap_or(Semaphore::MAX_PERMITS),
        ));
        let mut live = Live::new(self.pool.clone());
        let mut backoff = Backoff::default();
        // A client accepted while there was no room for it.
        let mut waiting: Option<Waiting> = None;
        // Accepting pauses until then (backing off, or closing a connection
        // for a descriptor), or until a connection ends.
        let mut paused_until: Option<Instant> = None;
        tokio::pin!(shutdown);
        loop {
            if let Some(w) = &waiting {
                if live.room_for(w.peer, self.max_per_peer) {
                    if let Ok(permit) = slots.clone().try_acquire_owned() {
                        let w = waiting.take().expect("checked");
                        self.start(&mut live, w.accepted, w.peer, permit);
                        continue;
                    }
                }
            }
            let room = slots.available_permits() > 0;
            let accepting =
                waiting.is_none() && paused_until.is_none() && (room || self.evict_after.is_some());
            let wake_at = match &waiting {
                Some(w) => Some(w.retry_at),
                None => paused_until,
            };
            let accepted = tokio::select! {
                biased;
                () = &mut shutdown => break,
                Some(done) = live.tasks.join_next_with_id() => {
                    live.ended(done);
                    // A descriptor was freed: accept again at once.
                    paused_until = None;
                    continue;
                }
                () = self.pool.over.notified() => {
                    live.sweep();
                    continue;
                }
                () = sleep_until(wake_at), if wake_at.is_some() => {
                    match waiting.take() {
                        Some(w) => waiting = self.still_waiting(&mut live, w),
                        None => paused_until = None,
                    }
                    continue;
                }
                r = accept(&listener), if accepting => r,
            };
            let accepted = match accepted {
                Ok(a) => a,
                Err(e) => {
                    if out_of_descriptors(&e) && self.make_room(&mut live, None).is_ok() {
                        // Accept again once it has ended (its descriptor
                        // is closed).
                        paused_until = Some(Instant::now() + Duration::from_secs(1));
                        continue;
                    }
                    paused_until = backoff.delay(&e).map(|d| Instant::now() + d);
                    continue;
                }
            };
            backoff.reset();
            let peer = accepted.peer();
            if let (Some(cap), Some(p)) = (self.max_per_peer, peer) {
                if live.count(p) >= cap {
                    if self.make_room(&mut live, Some(p)).is_err() {
                        refuse(&self.pool, p);
                        continue; // dropped: closed at once
                    }
                    // Served once the peer's evicted connection has ended.
                    waiting = Some(Waiting {
                        accepted,
                        peer,
                        retry_at: Instant::now() + Duration::from_secs(1),
                    });
                    continue;
                }
            }
            match slots.clone().try_acquire_owned() {
                Ok(permit) => self.start(&mut live, accepted, peer, permit),
                Err(_) => {
                    let retry_at = match self.make_room(&mut live, None) {
                        // Its end makes room (if not, look again).
                        Ok(()) => Instant::now() + Duration::from_secs(1),
                        Err(at) => at,
                    };
                    waiting = Some(Waiting {
                        accepted,
                        peer,
                        retry_at,
                    });
                }
            }
        }
        drop(waiting);
        drop(listener);
        live.shut_down(self.grace).await
    }

    /// A client still waits for room at its `retry_at`: close another
    /// connection for it, or refuse it if its peer has no idle connection
    /// left to give way.
    fn still_waiting(&self, live: &mut Live, mut w: Waiting) -> Option<Waiting> {
        let peer_full = !live.room_for(w.peer, self.max_per_peer);
        match self.make_room(live, w.peer.filter(|_| peer_full)) {
            Ok(()) => w.retry_at = Instant::now() + Duration::from_secs(1),
            Err(_) if peer_full => {
                refuse(&self.pool, w.peer?);
                return None;
            }
            Err(at) => w.retry_at = at,
        }
        Some(w)
    }

    /// Close the connection idle the longest (of `peer`, if given) for a
    /// new client, if it has been idle long enough; else say when to look
    /// again.
    fn make_room(&self, live: &mut Live, peer: Option<IpAddr>) -> Result<(), Instant> {
        let Some(min_idle) = self.evict_after else {
            // Never: wait for a connection to end.
            return Err(Instant::now() + Duration::from_secs(3600));
        };
        live.evict(peer, min_idle)
    }

    /// Serve an accepted connection.
    fn start(
        &self,
        live: &mut Live,
        accepted: Accepted,
        peer: Option<IpAddr>,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) {
        let (conn, driver) = match accepted {
            Accepted::Tcp(stream, peer) => {
                if let Err(e) = stream.set_nodelay(true) {
                    tracing::debug!(%peer, "set_nodelay failed: {e}");
                }
                tracing::debug!(%peer, "AMP connection accepted");
                let info = ConnectionInfo::of_tcp(&stream);
                let (conn, driver) =
                    Connection::build(stream, &*self.router, self.config.clone(), None, true, info);
                (conn, driver.boxed())
            }
            #[cfg(feature = "unix")]
            Accepted::Unix(stream) => {
                tracing::debug!("AMP connection accepted on a UNIX socket");
                let (conn, driver) =
                    Connection::build_unix(stream, &*self.router, self.config.clone(), true);
                (conn, driver.boxed())
            }
        };
        live.spawn(conn, peer, async move {
            let reason = driver.await;
            drop(permit);
            reason
        });
    }
}

/// A client accepted while there was no room for it.
struct Waiting {
    accepted: Accepted,
    peer: Option<IpAddr>,
    /// When to look for an idle connection to close again (if one was
    /// closed for it, its end should make room before).
    retry_at: Instant,
}

/// A new connection from a peer at its cap, none of whose connections is
/// idle: closed at once (by the caller, dropping it).
fn refuse(pool: &Pool, peer: IpAddr) {
    tracing::debug!(%peer, "refused: the peer is at its limit of connections");
    pool.refused();
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

enum Accepted {
    Tcp(tokio::net::TcpStream, std::net::SocketAddr),
    #[cfg(feature = "unix")]
    Unix(tokio::net::UnixStream),
}

impl Accepted {
    /// The peer, as [`Server::max_connections_per_peer`] counts them.
    fn peer(&self) -> Option<IpAddr> {
        match self {
            Accepted::Tcp(_, addr) => Some(peer_key(addr.ip())),
            #[cfg(feature = "unix")]
            Accepted::Unix(_) => None,
        }
    }
}

/// An IPv4 address, or an IPv6 /64 network (IPv4-mapped addresses as
/// IPv4).
fn peer_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
    }
}

async fn accept(listener: &Listener) -> io::Result<Accepted> {
    match listener {
        Listener::Tcp(l) => l.accept().await.map(|(s, a)| Accepted::Tcp(s, a)),
        #[cfg(feature = "unix")]
        Listener::Unix(l) => l.accept().await.map(|(s, _)| Accepted::Unix(s)),
    }
}

/// Retrying after accept errors: at once for errors of one connection,
/// backing off while the process is out of resources.
#[derive(Default)]
struct Backoff {
    delay: Duration,
}

impl Backoff {
    const MIN: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);

    fn reset(&mut self) {
        self.delay = Duration::ZERO;
    }

    /// How long to wait before accepting again after `e` (`None`: at
    /// once).
    fn delay(&mut self, e: &io::Error) -> Option<Duration> {
        if is_connection_error(e) {
            tracing::debug!("accept failed for one connection: {e}");
            return None;
        }
        if self.delay.is_zero() {
            tracing::warn!("accept failed: {e}; retrying with back-off while it lasts");
            self.delay = Self::MIN;
        } else {
            tracing::debug!("accept failed again: {e}");
            self.delay = (self.delay * 2).min(Self::MAX);
        }
        Some(self.delay)
    }
}

/// Errors about the one connection being accepted (the listener is fine).
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// The process (`EMFILE`) or the system (`ENFILE`) is out of descriptors.
fn out_of_descriptors(e: &io::Error) -> bool {
    // The same numbers on Linux, the BSDs and macOS; WSAEMFILE on Windows.
    #[cfg(unix)]
    const CODES: [i32; 2] = [24, 23];
    #[cfg(not(unix))]
    const CODES: [i32; 1] = [10024];
    e.raw_os_error().is_some_and(|c| CODES.contains(&c))
}

/// A connection being served.
struct Entry {
    /// Not a user handle: a connection nobody calls still closes when its
    /// router serves nothing.
    control: Control,
    /// Its task: dropping it is how a switched connection is closed.
    task: tokio::task::AbortHandle,
    holding: Arc<Holding>,
    peer: Option<IpAddr>,
}

/// The connections being served, to shut them down, count them per peer,
/// and cut or evict them.
struct Live {
    tasks: JoinSet<Disconnect>,
    conns: HashMap<tokio::task::Id, Entry>,
    peers: HashMap<IpAddr, usize>,
    pool: Arc<Pool>,
}

impl Live {
    fn new(pool: Arc<Pool>) -> Live {
        Live {
            tasks: JoinSet::new(),
            conns: HashMap::new(),
            peers: HashMap::new(),
            pool,
        }
    }

    fn spawn(
        &mut self,
        conn: Connection,
        peer: Option<IpAddr>,
        driver: impl Future<Output = Disconnect> + Send + 'static,
    ) {
        let holding = Holding::new(&self.pool);
        Member::join(&conn, self.pool.clone(), holding.clone());
        let task = self.tasks.spawn(driver);
        if let Some(p) = peer {
            *self.peers.entry(p).or_default() += 1;
        }
        self.pool.open.fetch_add(1, Relaxed);
        self.conns.insert(
            task.id(),
            Entry {
                control: Control::of(&conn),
                task,
                holding,
                peer,
            },
        );
    }

    fn ended(&mut self, done: Result<(tokio::task::Id, Disconnect), tokio::task::JoinError>) {
        let id = match &done {
            Ok((id, _)) => *id,
            Err(e) => e.id(),
        };
        if let Some(entry) = self.conns.remove(&id) {
            self.pool.open.fetch_sub(1, Relaxed);
            if let Some(p) = entry.peer {
                if let Some(n) = self.peers.get_mut(&p) {
                    *n -= 1;
                    if *n == 0 {
                        self.peers.remove(&p);
                    }
                }
            }
        }
        if let Ok((_, reason)) = done {
            tracing::debug!(%reason, "AMP connection ended");
        }
    }

    fn count(&self, peer: IpAddr) -> usize {
        self.peers.get(&peer).copied().unwrap_or(0)
    }

    /// Whether `peer` may have one more connection.
    fn room_for(&self, peer: Option<IpAddr>, cap: Option<usize>) -> bool {
        match (peer, cap) {
            (Some(p), Some(cap)) => self.count(p) < cap,
            _ => true,
        }
    }

    fn sweep(&self) {
        self.pool
            .sweep(self.conns.values().map(|e| (&*e.holding, &e.control)));
    }

    /// Close the connection (of `peer`, if given) idle the longest, if it
    /// has been idle at least `min_idle`; else say when one may have been
    /// idle long enough.
    fn evict(&mut self, peer: Option<IpAddr>, min_idle: Duration) -> Result<(), Instant> {
        let now = Instant::now();
        let mut longest: Option<(Duration, bool, tokio::task::Id)> = None;
        let mut soonest = now + min_idle;
        for (id, e) in &self.conns {
            if peer.is_some() && e.peer != peer {
                continue;
            }
            let Some((idle, switched)) = budget::idle_for(&e.control, &e.holding, now) else {
                continue;
            };
            if idle < min_idle {
                soonest = soonest.min(now + (min_idle - idle));
            } else if longest.is_none_or(|(l, _, _)| idle > l) {
                longest = Some((idle, switched, *id));
            }
        }
        let Some((idle, switched, id)) = longest else {
            return Err(soonest.max(now + Duration::from_millis(10)));
        };
        let e = &self.conns[&id];
        e.holding.cut.store(true, Relaxed);
        tracing::info!(
            peer = ?e.control.shared().info.peer_addr(),
            ?idle,
            switched,
            "out of room: closing the connection idle the longest"
        );
        if switched {
            e.task.abort();
        } else {
            e.control.abort(Disconnect::Evicted { idle });
        }
        self.pool.evicted();
        Ok(())
    }

    async fn shut_down(mut self, grace: Duration) -> ShutdownReport {
        let open = self.tasks.len();
        for e in self.conns.values() {
            e.control.shutdown();
        }
        let deadline = tokio::time::Instant::now() + grace;
        while !self.tasks.is_empty() {
            match tokio::time::timeout_at(deadline, self.tasks.join_next_with_id()).await {
                Ok(Some(done)) => {
                    self.ended(done);
                }
                Ok(None) => break,
                Err(_) => break,
            }
        }
        let cut = self.tasks.len();
        if cut > 0 {
            tracing::info!(cut, "grace period over: cutting connections still busy");
            for e in self.conns.values() {
                e.control.abort(Disconnect::Timeout(Timeout::Grace));
            }
            // AMP connections end at once; a protocol switched to is the
            // application's, and is stopped.
            let brief = tokio::time::Instant::now() + Duration::from_secs(1);
            while let Ok(Some(done)) =
                tokio::time::timeout_at(brief, self.tasks.join_next_with_id()).await
            {
                self.ended(done);
            }
            self.tasks.abort_all();
            while let Some(done) = self.tasks.join_next_with_id().await {
                self.ended(done);
            }
        }
        ShutdownReport { open, cut }
    }
}

/// Accept AMP connections on a TCP listener forever, serving `router` on
/// each (with `TCP_NODELAY`). Accept errors are retried, never returned
/// (see [`Server`] for limits and graceful shutdown).
pub async fn serve<S>(listener: tokio::net::TcpListener, router: Router<S>)
where
    S: Clone + Send + Sync + 'static,
{
    Server::new(router).serve(listener).await
}

/// [`serve`] with explicit [`Config`] for every connection.
///
/// ```no_run
/// # async fn run(router: amp::Router) -> std::io::Result<()> {
/// let config = amp::Config::builder().max_in_flight(64).build().unwrap();
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:1234").await?;
/// amp::serve_with(listener, router, config).await;
/// # Ok(()) }
/// ```
pub async fn serve_with<S>(listener: tokio::net::TcpListener, router: Router<S>, config: Config)
where
    S: Clone + Send + Sync + 'static,
{
    Server::new(router).config(config).serve(listener).await
}

/// Accept AMP connections on a UNIX socket forever, serving `router` on
/// each, with descriptor passing (see
/// [`Connection::spawn_unix`](crate::Connection::spawn_unix); an example is
/// at [`Connection::connect_unix`](crate::Connection::connect_unix)).
#[cfg(feature = "unix")]
pub async fn serve_unix<S>(listener: tokio::net::UnixListener, router: Router<S>)
where
    S: Clone + Send + Sync + 'static,
{
    Server::new(router).serve(listener).await
}

/// [`serve_unix`] with explicit [`Config`] for every connection.
#[cfg(feature = "unix")]
pub async fn serve_unix_with<S>(
    listener: tokio::net::UnixListener,
    router: Router<S>,
    config: Config,
) where
    S: Clone + Send + Sync + 'static,
{
    Server::new(router).config(config).serve(listener).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_is_an_ipv4_address_or_an_ipv6_64_network() {
        let key = |s: &str| peer_key(s.parse().unwrap()).to_string();
        assert_eq!(key("192.0.2.7"), "192.0.2.7");
        assert_eq!(key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::");
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
    }

    #[cfg(unix)]
    #[test]
    fn out_of_descriptors_is_emfile_or_enfile() {
        assert!(out_of_descriptors(&io::Error::from_raw_os_error(24)));
        assert!(out_of_descriptors(&io::Error::from_raw_os_error(23)));
        assert!(!out_of_descriptors(&io::Error::from(
            io::ErrorKind::ConnectionAborted
        )));
    }
}
