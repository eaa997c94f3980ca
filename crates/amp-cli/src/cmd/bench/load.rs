//! The load itself: one loop per connection keeping its share of calls in
//! flight (a `FuturesUnordered`, no task per call), recording each call's
//! latency and outcome in its own tally (no lock per call).

use amp::{AmpBox, Balanced, CallError, CallOptions, Connection, NoError};
use bytes::Bytes;
use futures_util::stream::{FuturesUnordered, StreamExt};
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The longest latency recorded exactly (longer ones count as this).
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// What every connection's loop does: which call, how many in all, until
/// when.
pub struct Plan {
    /// The command name.
    pub name: Bytes,
    /// The request's arguments, decoded from its wire form once, so that
    /// a clone per call is a reference count (no allocation).
    pub request: amp::AmpBox,
    /// Calls in all, if bounded.
    pub calls: Option<u64>,
    /// No call starts after this, if set.
    pub deadline: Option<Instant>,
    /// A call with no answer after this is counted a `TIMEOUT` failure.
    pub call_timeout: Duration,
}

/// Counters the loops share (one atomic add per call each).
#[derive(Default)]
pub struct Progress {
    started: AtomicU64,
    /// Calls completed, for the progress bar.
    pub done: AtomicU64,
}

impl Plan {
    /// Takes the right to start one more call.
    fn claim(&self, progress: &Progress) -> bool {
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return false;
        }
        match self.calls {
            Some(n) => progress.started.fetch_add(1, Ordering::Relaxed) < n,
            None => true,
        }
    }
}

/// What one connection's calls came to (merged into the report).
pub struct Tally {
    /// Latency of every completed call, in microseconds.
    pub latency: Histogram<u64>,
    /// Calls answered normally.
    pub answered: u64,
    /// Calls answered with an AMP error, by code.
    pub errors: BTreeMap<String, u64>,
    /// Calls that failed on our side (timeout, connection lost), by kind.
    pub failures: BTreeMap<String, u64>,
    /// Connections lost during the run.
    pub lost: u64,
}

impl Tally {
    /// An empty tally.
    pub fn new() -> Tally {
        Tally {
            latency: Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)
                .expect("constant histogram bounds are valid"),
            answered: 0,
            errors: BTreeMap::new(),
            failures: BTreeMap::new(),
            lost: 0,
        }
    }

    /// Adds `other` into this one.
    pub fn merge(&mut self, other: Tally) {
        // Same bounds on both sides: adding cannot fail.
        let _ = self.latency.add(&other.latency);
        self.answered += other.answered;
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        for (k, v) in other.failures {
            *self.failures.entry(k).or_default() += v;
        }
        self.lost += other.lost;
    }

    /// Calls completed, whatever their outcome.
    pub fn calls(&self) -> u64 {
        self.latency.len()
    }

    /// Records one call.
    fn record(&mut self, took: Duration, outcome: Result<amp::AmpBox, CallError<NoError>>) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1);
        self.latency.saturating_record(us);
        let (map, key) = match outcome {
            Ok(_) => {
                self.answered += 1;
                return;
            }
            Err(CallError::Unhandled { .. }) => (&mut self.errors, "UNHANDLED".to_owned()),
            Err(CallError::UnknownRemote { code, .. }) => {
                (&mut self.errors, amp::display_bytes(&code))
            }
            Err(CallError::Timeout(_)) => (&mut self.failures, "TIMEOUT".to_owned()),
            Err(CallError::ConnectionLost(_)) => (&mut self.failures, "CONNECTION_LOST".to_owned()),
            Err(CallError::ProtocolSwitched) => {
                (&mut self.failures, "PROTOCOL_SWITCHED".to_owned())
            }
            Err(CallError::Unavailable(_)) => (&mut self.failures, "UNAVAILABLE".to_owned()),
            Err(e) => (&mut self.failures, format!("LOCAL ({e})")),
        };
        *map.entry(key).or_default() += 1;
    }
}

/// Where one loop's calls go: one connection, or a balanced client over
/// several servers.
pub enum Caller {
    /// One connection: a lost connection ends the loop.
    One(Connection),
    /// Several servers: a lost server fails its calls, the loop goes on
    /// with the others (it ends only when none is left).
    Many(Balanced),
}

impl Caller {
    async fn call(
        &self,
        name: Bytes,
        request: AmpBox,
        options: CallOptions,
    ) -> Result<AmpBox, CallError<NoError>> {
        match self {
            Caller::One(c) => c.call_raw_with(name, request, options).await,
            Caller::Many(b) => b.call_raw_with(name, request, options).await,
        }
    }

    /// Whether a failed call means the loop cannot go on.
    fn gone(&self, e: &CallError<NoError>) -> bool {
        match self {
            Caller::One(_) => matches!(
                e,
                CallError::ConnectionLost(_) | CallError::ProtocolSwitched
            ),
            Caller::Many(_) => matches!(e, CallError::Unavailable(_)),
        }
    }

    /// Wait until every server found is connected.
    pub async fn connected_to_all(&self) {
        if let Caller::Many(b) = self {
            loop {
                let known = b.backends().len();
                if known > 0 {
                    b.wait_connected(known).await;
                    if b.backends().iter().all(|s| s.connected) {
                        return;
                    }
                } else {
                    b.wait_connected(1).await;
                }
            }
        }
    }

    /// Whether at least one server is connected.
    pub fn connected_to_any(&self) -> bool {
        match self {
            Caller::One(_) => true,
            Caller::Many(b) => b.backends().iter().any(|s| s.connected),
        }
    }

    /// Why no server is connected (the last connection error), if known.
    pub fn why_not_connected(&self) -> Option<amp::balance::BackendError> {
        match self {
            Caller::One(_) => None,
            Caller::Many(b) => b.backends().into_iter().find_map(|s| s.last_error),
        }
    }

    async fn close(self) {
        match self {
            Caller::One(c) => c.close().await,
            // Each connection is shut down once its calls are done.
            Caller::Many(b) => drop(b),
        }
    }
}

/// Keeps `depth` calls in flight on `conn` until the plan says stop, then
/// waits for the last answers.
pub async fn drive(conn: Caller, depth: usize, plan: &Plan, progress: &Progress) -> Tally {
    let mut tally = Tally::new();
    let options = CallOptions::new().timeout(plan.call_timeout);
    let mut in_flight = FuturesUnordered::new();
    let mut alive = true;
    loop {
        while alive && in_flight.len() < depth && plan.claim(progress) {
            let (name, request, conn) = (plan.name.clone(), plan.request.clone(), &conn);
            in_flight.push(async move {
                let start = Instant::now();
                let outcome = conn.call(name, request, options).await;
                (start.elapsed(), outcome)
            });
        }
        let Some((took, outcome)) = in_flight.next().await else {
            break;
        };
        progress.done.fetch_add(1, Ordering::Relaxed);
        let gone = outcome.as_ref().is_err_and(|e| conn.gone(e));
        tally.record(took, outcome);
        if gone && alive {
            alive = false;
            tally.lost += 1;
        }
    }
    drop(in_flight);
    conn.close().await;
    tally
}
