//! What a [`Server`](crate::Server) shares with its connections: the
//! memory budget across all of them, the idle clock of connections switched
//! to another protocol, and the live counters of [`ServerStats`].
//!
//! # Counting memory without slowing connections down
//!
//! Each connection counts the bytes its session buffers
//! ([`Session::buffered_bytes`]: a box arriving, output not yet written,
//! boxes held during a negotiation) in steps of [`STEP`], rounded down,
//! after each round of its driver under the lock it already holds. Only
//! when that rounded figure changes does it touch the server's shared
//! counter (one atomic addition); a connection exchanging boxes smaller
//! than a step never does, and pays one comparison a round.
//!
//! A connection that grows past the budget, or holds a step or more while
//! the server is over it, stops reading ([`Session::pause_reading`]) and
//! wakes the server's accept loop, which cuts the connections holding the
//! most until the rest fit, and lets the paused ones read again once the
//! total is back within the budget. So the bytes buffered pass the budget
//! by at most what connections read in the round they crossed it, and
//! connections holding less than a step are never cut.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

use amp_wire::session::Session;
#[cfg(doc)]
use amp_wire::Disconnect;

/// The step in which connections count their buffers against the budget:
/// a connection holding less counts for nothing.
pub(crate) const STEP: usize = 64 * 1024;

/// The default of [`Server::memory_budget`](crate::Server::memory_budget):
/// 256 MiB, 64 boxes of the largest size a connection accepts by default
/// (4 MiB) at once.
pub const DEFAULT_MEMORY_BUDGET: usize = 256 << 20;

/// The default of [`Server::evict_idle_after`](crate::Server::evict_idle_after):
/// a connection idle at least 1 s may be closed for a new client when the
/// server is out of room.
pub const DEFAULT_EVICT_IDLE_AFTER: Duration = Duration::from_secs(1);

/// One per server.
pub(crate) struct Pool {
    /// The budget (`usize::MAX`: none).
    limit: AtomicUsize,
    /// Bytes counted by every connection together.
    held: AtomicUsize,
    peak: AtomicUsize,
    /// Wakes the accept loop to cut connections (the budget was passed).
    pub(crate) over: Notify,
    /// Connections cut for the budget.
    cut: AtomicU64,
    /// Connections closed to make room for new ones.
    evicted: AtomicU64,
    /// New connections refused at the limit of connections for one peer.
    refused: AtomicU64,
    /// Connections being served.
    pub(crate) open: AtomicUsize,
    /// What the idle clocks of switched connections count from.
    epoch: Instant,
}

impl Pool {
    pub(crate) fn new() -> Arc<Pool> {
        Arc::new(Pool {
            limit: AtomicUsize::new(DEFAULT_MEMORY_BUDGET),
            held: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            over: Notify::new(),
            cut: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            open: AtomicUsize::new(0),
            epoch: Instant::now(),
        })
    }

    pub(crate) fn set_limit(&self, limit: Option<usize>) {
        self.limit
            .store(limit.map_or(usize::MAX, |l| l.max(STEP)), Relaxed);
    }

    fn limit(&self) -> Option<usize> {
        Some(self.limit.load(Relaxed)).filter(|&l| l != usize::MAX)
    }

    pub(crate) fn evicted(&self) {
        self.evicted.fetch_add(1, Relaxed);
    }

    pub(crate) fn refused(&self) {
        self.refused.fetch_add(1, Relaxed);
    }

    fn over(&self) -> bool {
        self.held.load(Relaxed) > self.limit.load(Relaxed)
    }

    /// Woken by a connection crossing the budget (either way): if over it,
    /// choose the connections holding the most to cut until what the
    /// others hold fits (connections already cut count as gone), and mark
    /// them cut; once within it, say that the paused may read again. The
    /// server does the cutting and the resuming: this file knows budgets,
    /// not connections.
    pub(crate) fn sweep(&self, holdings: &[&Holding]) -> Swept {
        let limit = self.limit.load(Relaxed);
        let mut total = self.held.load(Relaxed);
        let mut swept = Swept::default();
        if total > limit {
            let mut holders = Vec::new();
            for (i, h) in holdings.iter().enumerate() {
                let held = h.held.load(Relaxed);
                if held == 0 {
                    continue;
                }
                if h.cut.load(Relaxed) {
                    total = total.saturating_sub(held);
                } else {
                    holders.push((held, i));
                }
            }
            holders.sort_unstable_by_key(|h| std::cmp::Reverse(h.0));
            let before = total;
            for (held, i) in holders {
                if total <= limit {
                    break;
                }
                if holdings[i].cut.swap(true, Relaxed) {
                    continue;
                }
                tracing::debug!(held, "over the memory budget: cutting a connection");
                swept.cut.push((i, held));
                total = total.saturating_sub(held);
            }
            if !swept.cut.is_empty() {
                self.cut.fetch_add(swept.cut.len() as u64, Relaxed);
                tracing::warn!(
                    buffered = before,
                    budget = limit,
                    cut = swept.cut.len(),
                    "over the memory budget: cut the connections holding the most"
                );
            }
        }
        // While over (the connections cut have not let go yet: they wake
        // the server when they do), the paused stay paused.
        swept.resume = !self.over();
        swept
    }
}

/// What [`Pool::sweep`] decided.
#[derive(Debug, Default)]
pub(crate) struct Swept {
    /// The connections to cut, by index, with the bytes each held.
    pub(crate) cut: Vec<(usize, usize)>,
    /// Within the budget: the paused connections may read again.
    pub(crate) resume: bool,
}

/// One per connection of a server: what it counts against the budget now,
/// and (switched) when its stream last moved bytes. Shared by the
/// connection and the server's list of connections.
pub(crate) struct Holding {
    held: AtomicUsize,
    /// Cut (for the budget) or evicted: not to be chosen again.
    pub(crate) cut: AtomicBool,
    /// Reading paused until the server is within its budget again.
    paused: AtomicBool,
    /// Milliseconds since the pool's epoch, plus one, of the last bytes
    /// moved by the switched stream (0: not switched yet; `HANDED_OFF`).
    active: AtomicU64,
    epoch: Instant,
}

/// [`Holding::active`] of a stream handed off: never idle.
const HANDED_OFF: u64 = u64::MAX;

impl Holding {
    pub(crate) fn new(pool: &Pool) -> Arc<Holding> {
        Arc::new(Holding {
            held: AtomicUsize::new(0),
            cut: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            active: AtomicU64::new(0),
            epoch: pool.epoch,
        })
    }

    /// Bytes moved through the switched stream now.
    #[inline]
    pub(crate) fn touch(&self) {
        let ms = self.epoch.elapsed().as_millis() as u64;
        self.active.store(ms + 1, Relaxed);
    }

    /// The switched stream is taken out of its watch (as the socket it
    /// is): the server no longer sees its bytes, so it never counts it
    /// idle.
    pub(crate) fn hand_off(&self) {
        self.active.store(HANDED_OFF, Relaxed);
    }

    /// When the switched stream last moved bytes (`None`: it is not
    /// watched yet, the switch is under way, or it was handed off).
    pub(crate) fn active_since(&self) -> Option<Instant> {
        match self.active.load(Relaxed) {
            0 | HANDED_OFF => None,
            ms => Some(self.epoch + Duration::from_millis(ms - 1)),
        }
    }

    /// Whether the connection was paused for the budget; it is not any
    /// more (the caller lets it read, under its lock).
    pub(crate) fn take_paused(&self) -> bool {
        self.paused.swap(false, Relaxed)
    }
}

/// A connection's membership of its server, in its shared state (behind
/// the connection's lock).
pub(crate) struct Member {
    pool: Arc<Pool>,
    mine: Arc<Holding>,
    /// What this connection counts in the pool now.
    counted: usize,
}

impl Drop for Member {
    fn drop(&mut self) {
        self.mine.held.store(0, Relaxed);
        let before = self.pool.held.fetch_sub(self.counted, Relaxed);
        let limit = self.pool.limit.load(Relaxed);
        if before > limit && before - self.counted <= limit {
            self.pool.over.notify_one();
        }
    }
}

impl Member {
    /// This connection's holding: its buffers and its idle clock.
    pub(crate) fn holding(&self) -> &Arc<Holding> {
        &self.mine
    }

    /// A connection's membership: put it in the connection's state to
    /// count its buffers against its server's budget.
    pub(crate) fn new(pool: Arc<Pool>, mine: Arc<Holding>) -> Member {
        Member {
            pool,
            mine,
            counted: 0,
        }
    }

    /// After a round of the connection's driver (the read buffer back in
    /// the session, the output taken): count its buffers.
    #[inline]
    pub(crate) fn report(&mut self, session: &mut Session) {
        let now = if session.is_finished() {
            0
        } else {
            session.buffered_bytes() / STEP * STEP
        };
        if now != self.counted {
            self.changed(now, session);
        } else if now > 0 && self.pool.over() {
            // Holding a step or more while the server is over its budget:
            // read no more until it is within it.
            self.pause(session);
        }
    }

    #[cold]
    fn changed(&mut self, now: usize, session: &mut Session) {
        self.mine.held.store(now, Relaxed);
        let limit = self.pool.limit.load(Relaxed);
        if now < self.counted {
            let fell = self.counted - now;
            self.counted = now;
            let before = self.pool.held.fetch_sub(fell, Relaxed);
            if before > limit && before - fell <= limit {
                // Within the budget again: the paused may read.
                self.pool.over.notify_one();
            }
            return;
        }
        let grew = now - self.counted;
        self.counted = now;
        let total = self.pool.held.fetch_add(grew, Relaxed) + grew;
        if total > self.pool.peak.load(Relaxed) {
            self.pool.peak.fetch_max(total, Relaxed);
        }
        if total > limit {
            self.pause(session);
        }
    }

    /// Under the connection's lock (as the server lets it read again).
    #[cold]
    fn pause(&mut self, session: &mut Session) {
        if session.is_over() || self.mine.paused.swap(true, Relaxed) {
            return;
        }
        session.pause_reading(true);
        self.pool.over.notify_one();
    }
}

/// Live counters of a [`Server`](crate::Server), readable while it serves:
/// take them with [`Server::stats`](crate::Server::stats) before serving.
/// Cheap to clone; every clone reads the same counters.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// let default = amp::Server::new(amp::Router::new());
/// assert_eq!(default.stats().memory_budget(), Some(amp::DEFAULT_MEMORY_BUDGET));
///
/// let server = amp::Server::new(amp::Router::new()).memory_budget(Some(64 << 20));
/// let stats = server.stats();
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// tokio::spawn(server.serve(listener));
/// assert_eq!(stats.memory_budget(), Some(64 << 20));
/// assert!(stats.buffered() <= 64 << 20);
/// assert_eq!(stats.cut_for_memory(), 0);
/// # Ok(()) }
/// ```
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
/// let server = Server::new(Router::new().route(|_: Ping, _| async { Ok(Pong { ok: true }) }));
/// let stats = server.stats();
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// tokio::spawn(server.serve(listener));
/// let conn = Connection::connect(addr).await?;
/// // One round trip: the server has accepted the connection.
/// assert!(conn.call(Ping).await.unwrap().ok);
/// assert_eq!(stats.connections(), 1);
/// assert!(stats.peak_buffered() >= stats.buffered());
/// assert_eq!(stats.evicted(), 0);
/// assert_eq!(stats.refused_per_peer(), 0);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ServerStats {
    pool: Arc<Pool>,
}

impl std::fmt::Debug for ServerStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerStats")
            .field("connections", &self.connections())
            .field("buffered", &self.buffered())
            .field("peak_buffered", &self.peak_buffered())
            .field("memory_budget", &self.memory_budget())
            .field("cut_for_memory", &self.cut_for_memory())
            .field("evicted", &self.evicted())
            .field("refused_per_peer", &self.refused_per_peer())
            .finish()
    }
}

impl ServerStats {
    pub(crate) fn of(pool: &Arc<Pool>) -> ServerStats {
        ServerStats { pool: pool.clone() }
    }

    /// Connections being served now.
    pub fn connections(&self) -> usize {
        self.pool.open.load(Relaxed)
    }

    /// Bytes the connections' buffers hold now, as counted against the
    /// memory budget: each connection's in steps of 64 KiB, rounded down
    /// (a connection holding less than 64 KiB counts for nothing).
    pub fn buffered(&self) -> usize {
        self.pool.held.load(Relaxed)
    }

    /// The most [`ServerStats::buffered`] has been.
    pub fn peak_buffered(&self) -> usize {
        self.pool.peak.load(Relaxed)
    }

    /// The memory budget ([`Server::memory_budget`](crate::Server::memory_budget)).
    pub fn memory_budget(&self) -> Option<usize> {
        self.pool.limit()
    }

    /// Connections cut because the server was over its memory budget
    /// ([`Disconnect::MemoryBudget`]).
    pub fn cut_for_memory(&self) -> u64 {
        self.pool.cut.load(Relaxed)
    }

    /// Idle connections closed to make room for new ones
    /// ([`Server::evict_idle_after`](crate::Server::evict_idle_after);
    /// [`Disconnect::Evicted`]).
    pub fn evicted(&self) -> u64 {
        self.pool.evicted.load(Relaxed)
    }

    /// New connections refused (closed at once) because their peer had
    /// [`Server::max_connections_per_peer`](crate::Server::max_connections_per_peer)
    /// connections, none of them idle.
    pub fn refused_per_peer(&self) -> u64 {
        self.pool.refused.load(Relaxed)
    }
}
