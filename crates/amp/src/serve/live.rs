//! The registry of connections being served (AMP connections, or the
//! streams [`Server::serve_streams_until`](super::Server::serve_streams_until)
//! hands over): to count them per peer, cut or evict them, and shut them
//! down.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::Instant;

use amp_wire::{Disconnect, Timeout};

use crate::budget::{Holding, Member, Pool};
use crate::connection::{Connection, Control};

use super::ShutdownReport;

/// A connection being served.
struct Entry {
    /// `None`: a stream the caller carries (the server sees nothing of it).
    amp: Option<Amp>,
    /// Its task: dropping it is how a switched connection, or a stream, is
    /// closed.
    task: tokio::task::AbortHandle,
    peer: Option<IpAddr>,
}

/// What the server sees of an AMP connection.
struct Amp {
    /// Not a user handle: a connection nobody calls still closes when its
    /// router serves nothing.
    control: Control,
    holding: Arc<Holding>,
}

/// How a connection's task ended: an AMP connection's reason (`None`: a
/// stream).
pub(super) type Ended = Option<Disconnect>;

/// The connections being served, to shut them down, count them per peer,
/// and cut or evict them.
pub(super) struct Live {
    pub(super) tasks: JoinSet<Ended>,
    conns: HashMap<tokio::task::Id, Entry>,
    peers: HashMap<IpAddr, usize>,
    pool: Arc<Pool>,
}

impl Live {
    pub(super) fn new(pool: Arc<Pool>) -> Live {
        Live {
            tasks: JoinSet::new(),
            conns: HashMap::new(),
            peers: HashMap::new(),
            pool,
        }
    }

    /// Serve an AMP connection: `driver` runs it.
    pub(super) fn spawn(
        &mut self,
        conn: Connection,
        peer: Option<IpAddr>,
        driver: impl Future<Output = Disconnect> + Send + 'static,
    ) {
        let holding = Holding::new(&self.pool);
        let control = Control::of(&conn);
        control.join(Member::new(self.pool.clone(), holding.clone()));
        let amp = Amp { control, holding };
        self.add(peer, Some(amp), async move { Some(driver.await) });
    }

    /// Carry a stream: `work` is the caller's.
    pub(super) fn spawn_stream(
        &mut self,
        peer: Option<IpAddr>,
        work: impl Future<Output = ()> + Send + 'static,
    ) {
        self.add(peer, None, async move {
            work.await;
            None
        });
    }

    fn add(
        &mut self,
        peer: Option<IpAddr>,
        amp: Option<Amp>,
        task: impl Future<Output = Ended> + Send + 'static,
    ) {
        let task = self.tasks.spawn(task);
        if let Some(p) = peer {
            *self.peers.entry(p).or_default() += 1;
        }
        self.pool.open.fetch_add(1, Relaxed);
        self.conns.insert(task.id(), Entry { amp, task, peer });
    }

    pub(super) fn ended(&mut self, done: Result<(tokio::task::Id, Ended), tokio::task::JoinError>) {
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
        match done {
            Ok((_, Some(reason))) => tracing::debug!(%reason, "AMP connection ended"),
            Ok((_, None)) => tracing::debug!("stream ended"),
            Err(_) => {}
        }
    }

    pub(super) fn count(&self, peer: IpAddr) -> usize {
        self.peers.get(&peer).copied().unwrap_or(0)
    }

    /// Whether `peer` may have one more connection.
    pub(super) fn room_for(&self, peer: Option<IpAddr>, cap: Option<usize>) -> bool {
        match (peer, cap) {
            (Some(p), Some(cap)) => self.count(p) < cap,
            _ => true,
        }
    }

    /// A connection crossed the memory budget (either way): cut what the
    /// budget says to cut; once within it, let the paused read again.
    pub(super) fn sweep(&self) {
        let amp: Vec<&Amp> = self.conns.values().filter_map(|e| e.amp.as_ref()).collect();
        let holdings: Vec<&Holding> = amp.iter().map(|a| &*a.holding).collect();
        let swept = self.pool.sweep(&holdings);
        for (i, held) in swept.cut {
            amp[i].control.abort(Disconnect::MemoryBudget { held });
        }
        if swept.resume {
            for a in amp {
                a.control.resume_reading(&a.holding);
            }
        }
    }

    /// Close the connection (of `peer`, if given) idle the longest, if it
    /// has been idle at least `min_idle`; else say when one may have been
    /// idle long enough. Streams are never idle: the server cannot see
    /// them.
    pub(super) fn evict(
        &mut self,
        peer: Option<IpAddr>,
        min_idle: Duration,
    ) -> Result<(), Instant> {
        let now = Instant::now();
        let mut longest: Option<(Duration, bool, tokio::task::Id)> = None;
        let mut soonest = now + min_idle;
        for (id, e) in &self.conns {
            if peer.is_some() && e.peer != peer {
                continue;
            }
            let Some(a) = &e.amp else { continue };
            let Some((idle, switched)) = a.control.idle_for(&a.holding, now) else {
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
        let a = e.amp.as_ref().expect("only AMP connections are idle");
        a.holding.cut.store(true, Relaxed);
        tracing::info!(
            peer = ?a.control.shared().info.peer_addr(),
            ?idle,
            switched,
            "out of room: closing the connection idle the longest"
        );
        if switched {
            e.task.abort();
        } else {
            a.control.abort(Disconnect::Evicted { idle });
        }
        self.pool.evicted();
        Ok(())
    }

    pub(super) async fn shut_down(mut self, grace: Duration) -> ShutdownReport {
        let open = self.tasks.len();
        for a in self.conns.values().filter_map(|e| e.amp.as_ref()) {
            a.control.shutdown();
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
            let mut amp = false;
            for a in self.conns.values().filter_map(|e| e.amp.as_ref()) {
                a.control.abort(Disconnect::Timeout(Timeout::Grace));
                amp = true;
            }
            if amp {
                // AMP connections end at once; a protocol switched to is
                // the application's, and is stopped (streams too, at once).
                let brief = tokio::time::Instant::now() + Duration::from_secs(1);
                while let Ok(Some(done)) =
                    tokio::time::timeout_at(brief, self.tasks.join_next_with_id()).await
                {
                    self.ended(done);
                }
            }
            self.tasks.abort_all();
            while let Some(done) = self.tasks.join_next_with_id().await {
                self.ended(done);
            }
        }
        ShutdownReport { open, cut }
    }
}
