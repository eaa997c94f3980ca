//! The backends of each service: the addresses given for one name, which
//! one a `Connect` tries next, and their health.
//!
//! The choice: live backends first, the one with the fewest connections
//! through the gateway first (those open and those being opened; ties go
//! to the first given); then the backends marked down, the one whose last
//! failure is the oldest first. A failed connect marks a backend down
//! (with the time and the error); a successful one marks it up again. A
//! backend counts a connection from the moment it is chosen until its
//! [`Lease`] is dropped, whatever the path.
//!
//! A backend marked down is tried again as if live once it has been down
//! for [`retry_after`] its failures in a row (1 s, doubling, at most
//! [`MAX_RETRY_AFTER`]): a backend that comes back gets connections again
//! without waiting for the live ones to fail, and one still down costs a
//! `Connect` one failed attempt per back-off, not one each.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::conn::Target;
use crate::gateway_protocol::Backend;

/// The longest a backend marked down waits before it is tried again as
/// if live.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// How long a backend with `failures` failed connects in a row stays
/// behind the live ones: 1 s, doubling with each failure, at most
/// [`MAX_RETRY_AFTER`].
pub fn retry_after(failures: u64) -> Duration {
    Duration::from_secs(1u64 << failures.saturating_sub(1).min(5)).min(MAX_RETRY_AFTER)
}

/// Every service's backends, by service name.
#[derive(Debug)]
pub struct Backends {
    /// Service name → its backends.
    services: BTreeMap<String, Arc<Pool>>,
}

impl Backends {
    /// The services of `--service NAME=ADDR` flags, in the order given: a
    /// name given again adds a backend; the same NAME=ADDR twice is an
    /// error.
    pub fn new(flags: Vec<(String, Target)>) -> Result<Backends, String> {
        let mut given: BTreeMap<String, Vec<Target>> = BTreeMap::new();
        for (name, target) in flags {
            let targets = given.entry(name.clone()).or_default();
            if targets.contains(&target) {
                return Err(format!(
                    "--service {name}={target} is given twice: each backend once"
                ));
            }
            targets.push(target);
        }
        let services = given
            .into_iter()
            .map(|(name, targets)| {
                let pool = Pool::new(name.clone(), targets);
                (name, Arc::new(pool))
            })
            .collect();
        Ok(Backends { services })
    }

    /// The service names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.services.keys().cloned().collect()
    }

    /// The backends of service `name`, if there is one.
    pub fn get(&self, name: &str) -> Option<&Arc<Pool>> {
        self.services.get(name)
    }

    /// Every service, sorted by name.
    pub fn pools(&self) -> impl Iterator<Item = &Arc<Pool>> {
        self.services.values()
    }

    /// The health of every backend: by service name, then in the order
    /// given.
    pub fn health(&self) -> Vec<Backend> {
        self.services.values().flat_map(|p| p.health()).collect()
    }
}

/// One service's backends, in the order given.
#[derive(Debug)]
pub struct Pool {
    /// The service's name.
    name: String,
    /// Where each backend listens.
    targets: Vec<Target>,
    /// Each backend's counts and health, by index in `targets`.
    state: Mutex<Vec<State>>,
}

/// What the gateway knows of one backend.
#[derive(Debug, Default)]
struct State {
    /// Connects under way (chosen, not yet accepted or failed).
    connecting: u64,
    /// Connections accepted whose session has not ended.
    open: u64,
    /// Failed connects since the last success.
    failures: u64,
    /// Set by a failed connect, cleared by a successful one.
    down: Option<Down>,
}

/// Why and since when a backend is marked down.
#[derive(Debug)]
struct Down {
    /// When its last connect failed.
    at: Instant,
    /// That connect's error.
    error: String,
}

impl State {
    /// The connections that count for the choice.
    fn load(&self) -> u64 {
        self.open + self.connecting
    }
}

impl Pool {
    /// Service `name` with backends `targets` (at least one), none marked
    /// down.
    fn new(name: String, targets: Vec<Target>) -> Pool {
        let state = targets.iter().map(|_| State::default()).collect();
        Pool {
            name,
            targets,
            state: Mutex::new(state),
        }
    }

    /// The service's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The backends' addresses, in the order given.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// Chooses the best backend whose index is not in `tried` (see the
    /// module's documentation) and counts a connection on it until the
    /// lease is dropped; `None` once every backend was tried.
    pub fn pick(self: &Arc<Self>, tried: &[usize]) -> Option<Lease> {
        self.pick_at(tried, Instant::now())
    }

    /// [`Pool::pick`] as at `now`.
    fn pick_at(self: &Arc<Self>, tried: &[usize], now: Instant) -> Option<Lease> {
        let mut state = self.lock();
        let index = state
            .iter()
            .enumerate()
            .filter(|(i, _)| !tried.contains(i))
            .min_by_key(|(i, s)| match &s.down {
                // Down long enough: tried again, as if live.
                Some(down) if now >= down.at + retry_after(s.failures) => {
                    (false, s.load(), None, *i)
                }
                None => (false, s.load(), None, *i),
                Some(down) => (true, 0, Some(down.at), *i),
            })
            .map(|(i, _)| i)?;
        state[index].connecting += 1;
        Some(Lease {
            pool: self.clone(),
            index,
            open: false,
        })
    }

    /// Each backend's health, in the order given.
    fn health(&self) -> Vec<Backend> {
        let state = self.lock();
        self.targets
            .iter()
            .zip(state.iter())
            .map(|(target, s)| Backend {
                service: self.name.clone(),
                address: target.to_string(),
                healthy: s.down.is_none(),
                connections: s.open,
                failures: s.failures,
                last_error: s.down.as_ref().map(|d| d.error.clone()),
            })
            .collect()
    }

    /// The backends' state (a panic elsewhere does not poison it: every
    /// change is a whole count or field).
    fn lock(&self) -> MutexGuard<'_, Vec<State>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One connection counted on one backend, from its choice until dropped.
#[derive(Debug)]
pub struct Lease {
    /// The service.
    pool: Arc<Pool>,
    /// The backend, by index in the service's targets.
    index: usize,
    /// Whether the backend accepted (counted as open, not connecting).
    open: bool,
}

impl Lease {
    /// The backend's index, in the order given.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Where the backend listens.
    pub fn target(&self) -> &Target {
        &self.pool.targets[self.index]
    }

    /// The backend accepted: it is up, and the connection is open until
    /// the lease is dropped. Returns how many connects had failed in a row
    /// before (0 if it was not down).
    pub fn accepted(&mut self) -> u64 {
        let mut state = self.pool.lock();
        let s = &mut state[self.index];
        if !self.open {
            s.connecting -= 1;
            s.open += 1;
            self.open = true;
        }
        s.down = None;
        std::mem::take(&mut s.failures)
    }

    /// The backend did not accept (`error`): it is marked down, and this
    /// connection no longer counts.
    pub fn failed(self, error: String) {
        let mut state = self.pool.lock();
        let s = &mut state[self.index];
        s.failures += 1;
        s.down = Some(Down {
            at: Instant::now(),
            error,
        });
    }
}

impl Drop for Lease {
    /// The connection stops counting.
    fn drop(&mut self) {
        let mut state = self.pool.lock();
        let s = &mut state[self.index];
        if self.open {
            s.open -= 1;
        } else {
            s.connecting -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(port: u16) -> Target {
        Target::Tcp(format!("127.0.0.1:{port}"))
    }

    fn pool(ports: &[u16]) -> Arc<Pool> {
        let flags = ports.iter().map(|&p| ("s".to_owned(), tcp(p))).collect();
        Backends::new(flags).unwrap().get("s").unwrap().clone()
    }

    fn counts(pool: &Pool) -> Vec<(u64, u64)> {
        pool.lock().iter().map(|s| (s.connecting, s.open)).collect()
    }

    #[test]
    fn a_repeated_name_adds_backends_in_order() {
        let flags = vec![
            ("db".to_owned(), tcp(2)),
            ("web".to_owned(), tcp(3)),
            ("db".to_owned(), tcp(1)),
        ];
        let b = Backends::new(flags).unwrap();
        assert_eq!(b.names(), ["db", "web"]);
        assert_eq!(b.get("db").unwrap().targets(), [tcp(2), tcp(1)]);
        let health = b.health();
        let listed: Vec<_> = health
            .iter()
            .map(|h| (h.service.as_str(), h.address.as_str()))
            .collect();
        assert_eq!(
            listed,
            [
                ("db", "127.0.0.1:2"),
                ("db", "127.0.0.1:1"),
                ("web", "127.0.0.1:3")
            ]
        );
        assert!(health.iter().all(|h| h.healthy && h.last_error.is_none()));
    }

    #[test]
    fn the_same_backend_twice_is_an_error() {
        let flags = vec![("db".to_owned(), tcp(1)), ("db".to_owned(), tcp(1))];
        let e = Backends::new(flags).unwrap_err();
        assert!(e.contains("db=127.0.0.1:1"), "{e}");
        // The same address under two names is two services.
        let flags = vec![("a".to_owned(), tcp(1)), ("b".to_owned(), tcp(1))];
        assert!(Backends::new(flags).is_ok());
    }

    #[test]
    fn fewest_connections_first_ties_to_the_first_given() {
        let p = pool(&[1, 2, 3]);
        let mut leases: Vec<Lease> = (0..6).map(|_| p.pick(&[]).unwrap()).collect();
        let chosen: Vec<_> = leases.iter().map(Lease::index).collect();
        assert_eq!(chosen, [0, 1, 2, 0, 1, 2]);
        assert_eq!(counts(&p), [(2, 0), (2, 0), (2, 0)]);
        leases.iter_mut().for_each(|l| {
            l.accepted();
        });
        assert_eq!(counts(&p), [(0, 2), (0, 2), (0, 2)]);
        // Two of the second's end: it is the least loaded.
        leases.retain(|l| l.index() != 1);
        assert_eq!(p.pick(&[]).unwrap().index(), 1);
        drop(leases);
        assert_eq!(counts(&p), [(0, 0), (0, 0), (0, 0)]);
    }

    #[test]
    fn a_failed_backend_goes_after_the_live_ones_until_it_accepts() {
        let p = pool(&[1, 2, 3]);
        let first = p.pick(&[]).unwrap();
        assert_eq!(first.index(), 0);
        first.failed("refused".into());
        // Skipped within the same Connect, and after the live ones later,
        // even with more connections on those.
        let mut next = p.pick(&[0]).unwrap();
        assert_eq!(next.index(), 1);
        next.accepted();
        let held: Vec<_> = (0..3).map(|_| p.pick(&[]).unwrap()).collect();
        let chosen: Vec<_> = held.iter().map(Lease::index).collect();
        assert_eq!(chosen, [2, 1, 2]);
        let health = p.health();
        assert!(!health[0].healthy);
        assert_eq!(health[0].failures, 1);
        assert_eq!(health[0].last_error.as_deref(), Some("refused"));
        assert_eq!(health[1].connections, 1, "connecting ones are not listed");
        assert!(health[1].healthy && health[2].healthy);
        // With no live one left it is still tried, and a success marks it
        // up.
        let mut again = p.pick(&[1, 2]).unwrap();
        assert_eq!(again.index(), 0);
        assert_eq!(again.accepted(), 1, "one failure before");
        let health = p.health();
        assert!(health[0].healthy && health[0].last_error.is_none());
        assert_eq!((health[0].failures, health[0].connections), (0, 1));
        assert!(p.pick(&[0, 1, 2]).is_none());
    }

    #[test]
    fn down_backends_longest_failed_first() {
        let p = pool(&[1, 2]);
        p.pick(&[]).unwrap().failed("first".into());
        p.pick(&[0]).unwrap().failed("second".into());
        // Both down: the one that failed first is retried first.
        let l = p.pick(&[]).unwrap();
        assert_eq!(l.index(), 0);
        l.failed("again".into());
        assert_eq!(p.pick(&[]).unwrap().index(), 1);
        let health = p.health();
        assert_eq!(health[0].failures, 2);
        assert_eq!(health[0].last_error.as_deref(), Some("again"));
        assert_eq!(counts(&p), [(0, 0), (0, 0)], "failed leases released");
    }

    #[test]
    fn a_down_backend_is_tried_again_after_its_back_off() {
        let p = pool(&[1, 2]);
        p.pick(&[]).unwrap().failed("refused".into());
        let at = Instant::now();
        // Just after: behind the live one, though it has more connections.
        let _held = p.pick_at(&[], at).unwrap();
        assert_eq!(p.pick_at(&[], at).unwrap().index(), 1);
        // Once its back-off has passed: tried again as if live (fewer
        // connections than the other).
        let later = at + retry_after(1) + Duration::from_millis(1);
        assert_eq!(p.pick_at(&[], later).unwrap().index(), 0);
        // The back-off doubles with each failure, up to the cap.
        assert_eq!(retry_after(1), Duration::from_secs(1));
        assert_eq!(retry_after(2), Duration::from_secs(2));
        assert_eq!(retry_after(50), MAX_RETRY_AFTER);
    }
}
