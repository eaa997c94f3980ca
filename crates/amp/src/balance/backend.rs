//! One server behind a [`Balanced`](super::Balanced) client: its
//! connection (when there is one), its load, and the task that keeps it
//! connected.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::Notify;

use super::builder::Settings;
use crate::connection::Connection;
use crate::error::BackendError;

/// One server: its address, connection and load.
pub(crate) struct Backend {
    pub(crate) addr: SocketAddr,
    /// The live connection, if connected.
    conn: RwLock<Option<Connection>>,
    /// Calls sent and not yet finished.
    in_flight: AtomicUsize,
    /// Calls started, to time one in [`TIME_ONE_IN`].
    started: AtomicU64,
    /// Peak-sensitive moving average of answered calls' latency, in
    /// nanoseconds (0: nothing measured yet).
    latency_ns: AtomicU64,
    /// Connection attempts that failed since the last success.
    failures: AtomicU32,
    last_error: Mutex<Option<BackendError>>,
    /// No longer listed by discovery (or removed): takes no new calls,
    /// closes once its calls are done.
    removed: AtomicBool,
    /// Wakes the keeper: removed, or the last call of a removed backend
    /// finished.
    wake: Notify,
}

/// A snapshot of one backend, from [`Balanced::backends`](super::Balanced::backends).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// use amp::{Balanced, Command, Record, Router};
///
/// #[derive(Command)]
/// #[amp(response = Pong)]
/// struct Ping;
/// #[derive(Record)]
/// struct Pong {}
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// let router = Router::new().route(|_: Ping, _| async { Ok(Pong {}) });
/// tokio::spawn(amp::Server::new(router).serve(listener));
///
/// let client = Balanced::builder().target(addr.to_string()).build();
/// client.call(Ping).await.unwrap();
/// let status = &client.backends()[0];
/// assert_eq!(status.addr, addr);
/// assert!(status.connected && status.in_flight == 0 && status.failures == 0);
/// assert!(status.latency.is_some()); // the first answer is timed
/// assert!(status.last_error.is_none());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BackendStatus {
    /// The server's address.
    pub addr: SocketAddr,
    /// A connection is up and takes calls.
    pub connected: bool,
    /// Calls sent to it and not yet finished.
    pub in_flight: usize,
    /// The moving average of its answers' latency (peaks count at once,
    /// then decay), if any call was answered.
    pub latency: Option<Duration>,
    /// Connection attempts that failed in a row (0 once connected).
    pub failures: u32,
    /// Why the last attempt failed, or why the last connection ended.
    pub last_error: Option<BackendError>,
}

/// How much a new sample moves the average (the rest is history).
const EWMA_WEIGHT: f64 = 0.2;
/// One call in this many (the first included) is timed for the latency
/// average.
const TIME_ONE_IN: u64 = 8;

impl Backend {
    pub(crate) fn new(addr: SocketAddr) -> Arc<Backend> {
        Arc::new(Backend {
            addr,
            conn: RwLock::new(None),
            in_flight: AtomicUsize::new(0),
            started: AtomicU64::new(0),
            latency_ns: AtomicU64::new(0),
            failures: AtomicU32::new(0),
            last_error: Mutex::new(None),
            removed: AtomicBool::new(false),
            wake: Notify::new(),
        })
    }

    /// The connection, if this backend takes calls now.
    pub(crate) fn connection(&self) -> Option<Connection> {
        if self.removed.load(Relaxed) {
            return None;
        }
        self.conn.read().ok()?.clone()
    }

    /// Whether it takes calls now (without cloning the connection).
    pub(crate) fn is_ready(&self) -> bool {
        !self.removed.load(Relaxed) && self.conn.read().is_ok_and(|c| c.is_some())
    }

    /// Its load, lower is better: calls in flight, then latency.
    pub(crate) fn load(&self) -> (usize, u64) {
        (self.in_flight.load(Relaxed), self.latency_ns.load(Relaxed))
    }

    /// A call starts on this backend; the guard ends it.
    pub(crate) fn start_call(self: &Arc<Self>) -> CallGuard {
        self.in_flight.fetch_add(1, Relaxed);
        let n = self.started.fetch_add(1, Relaxed);
        CallGuard {
            backend: self.clone(),
            // Two clock readings a call cost more than the rest of the
            // choice: a sample is enough for a moving average.
            started: n
                .is_multiple_of(TIME_ONE_IN)
                .then(tokio::time::Instant::now),
            answered: false,
        }
    }

    fn record_latency(&self, sample: Duration) {
        let sample = sample.as_nanos().min(u64::MAX as u128) as u64;
        let old = self.latency_ns.load(Relaxed);
        let new = if old == 0 || sample > old {
            // A peak counts at once: a slow server is avoided quickly.
            sample
        } else {
            (old as f64 + (sample as f64 - old as f64) * EWMA_WEIGHT) as u64
        };
        self.latency_ns.store(new.max(1), Relaxed);
    }

    pub(crate) fn status(&self) -> BackendStatus {
        let ns = self.latency_ns.load(Relaxed);
        BackendStatus {
            addr: self.addr,
            connected: self.is_ready(),
            in_flight: self.in_flight.load(Relaxed),
            latency: (ns > 0).then(|| Duration::from_nanos(ns)),
            failures: self.failures.load(Relaxed),
            last_error: self.last_error.lock().ok().and_then(|e| e.clone()),
        }
    }

    /// Stop taking calls; the keeper closes the connection once the calls
    /// in flight are done.
    pub(crate) fn remove(&self) {
        self.removed.store(true, Relaxed);
        self.wake.notify_one();
    }

    fn set_error(&self, e: BackendError) {
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(e);
        }
    }
}

/// One call in flight on a backend: counted until dropped (answered,
/// failed or given up).
pub(crate) struct CallGuard {
    backend: Arc<Backend>,
    /// When the call started, if it is one of those timed.
    started: Option<tokio::time::Instant>,
    answered: bool,
}

impl CallGuard {
    /// The peer answered (an error answer counts: the server is alive):
    /// its latency is recorded.
    pub(crate) fn answered(&mut self) {
        self.answered = true;
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        if let Some(started) = self.started.filter(|_| self.answered) {
            self.backend.record_latency(started.elapsed());
        }
        let left = self.backend.in_flight.fetch_sub(1, Relaxed) - 1;
        if left == 0 && self.backend.removed.load(Relaxed) {
            self.backend.wake.notify_one();
        }
    }
}

/// Keep `backend` connected until it is removed or the client is gone
/// (`alive` fails to upgrade): connect, wait for the connection to end,
/// back off, again. `ready` is told of each new connection.
pub(crate) async fn keep(
    backend: Arc<Backend>,
    settings: Arc<Settings>,
    ready: std::sync::Weak<Notify>,
) {
    let mut attempt: u32 = 0;
    loop {
        if backend.removed.load(Relaxed) {
            return;
        }
        let connecting = (settings.connect)(backend.addr);
        let outcome = tokio::select! {
            r = tokio::time::timeout(settings.connect_timeout, connecting) => r,
            _ = backend.wake.notified() => continue, // removed meanwhile
        };
        match outcome {
            Ok(Ok(conn)) => {
                attempt = 0;
                backend.failures.store(0, Relaxed);
                if let Ok(mut slot) = backend.conn.write() {
                    *slot = Some(conn.clone());
                }
                match ready.upgrade() {
                    Some(ready) => ready.notify_waiters(),
                    None => return, // the client is gone
                }
                tracing::debug!(addr = %backend.addr, "backend connected");
                let reason = loop {
                    tokio::select! {
                        reason = conn.closed() => break Some(reason),
                        _ = backend.wake.notified() => {
                            if backend.removed.load(Relaxed)
                                && backend.in_flight.load(Relaxed) == 0
                            {
                                break None;
                            }
                        }
                    }
                };
                if let Ok(mut slot) = backend.conn.write() {
                    *slot = None;
                }
                match reason {
                    Some(reason) => {
                        tracing::debug!(addr = %backend.addr, %reason, "backend connection ended");
                        backend.set_error(Arc::new(reason));
                    }
                    None => {
                        // Removed and drained: close it gracefully.
                        conn.shutdown();
                        conn.closed().await;
                        return;
                    }
                }
            }
            Ok(Err(e)) => {
                attempt = attempt.saturating_add(1);
                backend.failures.store(attempt, Relaxed);
                tracing::debug!(addr = %backend.addr, error = %e, "backend connect failed");
                backend.set_error(Arc::new(e));
            }
            Err(_) => {
                attempt = attempt.saturating_add(1);
                backend.failures.store(attempt, Relaxed);
                backend.set_error(Arc::new(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no connection within {:?}", settings.connect_timeout),
                )));
            }
        }
        if ready.strong_count() == 0 {
            return;
        }
        let pause = settings.backoff.delay(attempt, backend.addr);
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = backend.wake.notified() => {}
        }
    }
}
