//! Deadlines of our calls, kept with the calls: one timer (the session's)
//! for all of them instead of one per call.
//!
//! A call given a deadline ([`Session::set_call_deadline`]) that passes
//! before its reply came ends with [`Reply::TimedOut`](super::Reply::TimedOut);
//! its tag is given up as an abandoned call's (a late answer is dropped
//! quietly), and, if asked, `Cancel` is sent for it (see
//! [`cancel`](super::cancel)). The earliest deadline is one of
//! [`Session::poll_timeout`]'s.
//!
//! The deadlines wait in a queue ordered by time: a connection whose calls
//! all have the same timeout appends each at the back and takes from the
//! front. An entry whose call was answered or given up leaves when it
//! reaches the front (so the front is always a call still waiting), and
//! the rest are swept out once they outnumber the calls still waiting: the
//! queue holds at most about twice the calls unanswered.

use std::collections::VecDeque;
use std::time::Instant;

use super::Session;

/// One call's deadline.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    at: Instant,
    tag: u64,
    /// Send `Cancel` when it passes.
    cancel: bool,
}

/// The deadlines of calls, earliest first. It knows nothing of the calls:
/// whoever asks is told whether a tag still waits.
#[derive(Debug, Default)]
pub(crate) struct Deadlines {
    queue: VecDeque<Deadline>,
}

impl Deadlines {
    /// The earliest deadline queued.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.queue.front().map(|e| e.at)
    }

    /// Queue `d`; when entries outnumber `keep` (a bound from the calls
    /// still waiting), those whose tag no longer `waits` are swept out.
    pub(crate) fn add(&mut self, d: Deadline, keep: usize, waits: impl Fn(u64) -> bool) {
        if self.queue.back().is_none_or(|b| b.at <= d.at) {
            self.queue.push_back(d);
        } else {
            let i = self.queue.partition_point(|x| x.at <= d.at);
            self.queue.insert(i, d);
        }
        if self.queue.len() > keep {
            self.queue.retain(|x| waits(x.tag));
        }
    }

    /// Drop the deadlines at the front whose tag no longer `waits`.
    pub(crate) fn skip_stale(&mut self, waits: impl Fn(u64) -> bool) {
        while let Some(front) = self.queue.front() {
            if waits(front.tag) {
                return;
            }
            self.queue.pop_front();
        }
    }

    /// The earliest deadline, if it is at or before `now` (taken out).
    pub(crate) fn take_due(&mut self, now: Instant) -> Option<Deadline> {
        let d = *self.queue.front()?;
        if d.at > now {
            return None;
        }
        self.queue.pop_front();
        Some(d)
    }

    /// Forget every deadline (and the queue's memory).
    pub(crate) fn clear(&mut self) {
        self.queue = VecDeque::new();
    }

    /// How many deadlines are queued (for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }
}

impl Session {
    /// Give our call `tag` (made with [`Session::call`] or
    /// [`Session::call_on`]) a deadline: if its reply has not come by `at`,
    /// [`Session::poll_reply`] gives [`Reply::TimedOut`](super::Reply::TimedOut),
    /// the tag is given up (a late answer is dropped quietly), and if
    /// `cancel`, `Cancel` is sent for it as by [`Session::cancel`]. The
    /// deadline counts in [`Session::poll_timeout`]. Returns whether `tag`
    /// is a call still waiting for its reply (a switch or StartTLS takes
    /// no deadline: its answer decides what the connection does).
    ///
    /// ```
    /// use amp_wire::session::{Reply, Session};
    /// use amp_wire::Config;
    /// use std::task::{Poll, Waker};
    /// use std::time::{Duration, Instant};
    ///
    /// let t0 = Instant::now();
    /// let mut s = Session::new(Config::default(), t0);
    /// let tag = s.call(b"Slow", |_| Ok(())).unwrap();
    /// assert!(s.set_call_deadline(tag, t0 + Duration::from_secs(5), false));
    /// assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(5)));
    /// s.handle_timeout(t0 + Duration::from_secs(5));
    /// assert!(matches!(s.poll_reply(tag, Waker::noop()), Poll::Ready(Reply::TimedOut)));
    /// // The answer, when it comes, is dropped quietly.
    /// s.feed(b"\x00\x07_answer\x00\x011\x00\x00", t0 + Duration::from_secs(6));
    /// assert!(s.poll_event(t0 + Duration::from_secs(6)).is_none());
    /// assert!(s.close_reason().is_none());
    /// ```
    pub fn set_call_deadline(&mut self, tag: u64, at: Instant, cancel: bool) -> bool {
        if !self.calls.is_plain_waiting(tag) || self.state.phase().is_over() {
            return false;
        }
        self.calls.add_deadline(Deadline { at, tag, cancel });
        true
    }

    /// End every call whose deadline is at or before `now`.
    pub(crate) fn expire_calls(&mut self, now: Instant) {
        while let Some(d) = self.calls.take_due(now) {
            let route = if d.cancel {
                self.route_of_call(d.tag)
            } else {
                None
            };
            self.forget_routed_call(d.tag);
            if self.calls.time_out(d.tag, &mut self.wake) && d.cancel {
                self.write_cancel(d.tag, route);
            }
            self.calls.skip_stale_deadlines();
        }
    }
}
