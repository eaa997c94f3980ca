//! The accept loop: accepting, waiting for room, starting connections
//! (AMP ones here; streams handed over in `streams`).

use futures_util::FutureExt;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::addr::ConnectionInfo;
use crate::budget::Pool;
use crate::connection::Connection;

use super::accept::{accept, out_of_descriptors, Accepted, Backoff, Listener};
use super::live::Live;
use super::{Server, ShutdownReport};

impl Server {
    /// Accept connections until `shutdown` resolves, then shut down
    /// gracefully (see [`Server`]); returns once every connection has
    /// ended.
    pub async fn serve_until(
        self,
        listener: impl Into<Listener>,
        shutdown: impl Future<Output = ()>,
    ) -> ShutdownReport {
        self.run(listener.into(), shutdown, |live, accepted, peer, permit| {
            self.start(live, accepted, peer, permit)
        })
        .await
    }

    /// Accept until `shutdown`, calling `start` for every client there is
    /// room for; then shut down gracefully.
    pub(super) async fn run<S>(
        &self,
        listener: Listener,
        shutdown: impl Future<Output = ()>,
        mut start: S,
    ) -> ShutdownReport
    where
        S: FnMut(&mut Live, Accepted, Option<IpAddr>, OwnedSemaphorePermit),
    {
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
                        start(&mut live, w.accepted, w.peer, permit);
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
                Ok(permit) => start(&mut live, accepted, peer, permit),
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
        permit: OwnedSemaphorePermit,
    ) {
        let (conn, driver) = match accepted {
            Accepted::Tcp(stream, peer) => {
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
