//! Deadlines: the session is told the time; it says when to call back.

use std::time::Instant;

use super::keepalive::KeepaliveDue;
use super::state::Flush;
use super::{Disconnect, Session, State, Timeout, KEEP_BUFFERS_FOR};

/// What passing a deadline means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    /// The end of a close: the flush had its time.
    CloseEnd,
    /// A limit passed: the connection closes.
    Timeout(Timeout),
    /// A keepalive ping is to be sent.
    Ping,
    /// Keepalive is to note that reading stopped or resumed (done by every
    /// `handle_timeout`).
    KeepaliveNote,
    /// The connection has been idle long enough: give its buffers back.
    ReleaseBuffers,
    /// A call's deadline passed: it ends with `Reply::TimedOut`.
    Call,
}

impl Session {
    /// The earliest deadline, if any: call [`Session::handle_timeout`] then
    /// (calling it earlier does no harm). What is due at once (a close
    /// that writes nothing more) is due at a time already past.
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// # use std::time::Duration;
    /// let s = Session::new_accepted(Config::default(), now);
    /// // The peer must send its first box within `first_box_timeout` (30 s).
    /// assert_eq!(s.poll_timeout(), Some(now + Duration::from_secs(30)));
    /// let s = Session::new(Config::default(), now);
    /// assert_eq!(s.poll_timeout(), None); // nothing to wait for
    /// ```
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        self.each_deadline(|at, _| next = Some(next.map_or(at, |n| n.min(at))));
        next
    }

    /// Every deadline in force, with what passing it means.
    fn each_deadline(&self, mut f: impl FnMut(Instant, Due)) {
        match &self.state {
            State::Closing { flush, .. } => {
                match flush {
                    // Due at once: at a time the session was given, so
                    // never later than a `now` to come.
                    Flush::No => f(self.last_input, Due::CloseEnd),
                    Flush::Until(Some(d)) => f(*d, Due::CloseEnd),
                    Flush::Until(None) => {}
                }
                return;
            }
            State::Closed { .. } | State::Switched { .. } => return,
            State::TlsHandshake {
                deadline: Some(d), ..
            } => f(*d, Due::Timeout(Timeout::TlsHandshake)),
            _ => {}
        }
        let c = &self.config;
        if (self.first_box_deadline.is_some() || self.box_started.is_some()) && self.wants_read() {
            if let Some(d) = self.first_box_deadline {
                f(d, Due::Timeout(Timeout::FirstBox));
            }
            // (`box_started` is set exactly while part of a box is
            // buffered, even when the driver holds the buffer to read into.)
            if let (Some(t), Some(d)) = (self.box_started, c.box_timeout()) {
                f(t + d, Due::Timeout(Timeout::Box));
            }
        }
        if !matches!(self.state, State::TlsHandshake { .. }) {
            if let (Some(t), Some(d)) = (self.write_since, c.write_timeout()) {
                f(t + d, Due::Timeout(Timeout::Write));
            }
        }
        if let Some(d) = c.idle_timeout() {
            if self.is_idle() {
                f(self.last_activity + d, Due::Timeout(Timeout::Idle));
            }
        }
        // (Not while a keepalive ping awaits its reply: the reply will use them.)
        if self.buffers_kept
            && self.box_started.is_none()
            && self.keepalive.ping.is_none()
            && self.is_idle()
        {
            f(self.last_activity + KEEP_BUFFERS_FOR, Due::ReleaseBuffers);
        }
        if let Some(at) = self.calls.next_deadline() {
            f(at, Due::Call);
        }
        match self.keepalive_due() {
            Some(KeepaliveDue::Ping(at)) => f(at, Due::Ping),
            Some(KeepaliveDue::Reply(at)) => f(at, Due::Timeout(Timeout::Keepalive)),
            Some(KeepaliveDue::Note(at)) => f(at, Due::KeepaliveNote),
            None => {}
        }
    }

    /// The time is `now`: act on the earliest deadline that has passed.
    /// With keepalive on, this is also where the session notes that reading
    /// stopped or resumed ([`Session::poll_timeout`] asks for a call at once
    /// then): keepalive's clock runs only while the session reads (see
    /// [`Config::keepalive_timeout`](crate::Config::keepalive_timeout)).
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// # use amp_wire::{Disconnect, Timeout};
    /// let mut s = Session::new_accepted(Config::default(), now);
    /// let deadline = s.poll_timeout().unwrap();
    /// s.handle_timeout(deadline); // the peer said nothing
    /// assert!(matches!(s.close_reason(), Some(Disconnect::Timeout(Timeout::FirstBox))));
    /// ```
    pub fn handle_timeout(&mut self, now: Instant) {
        // First: a keepalive deadline is not kept while reading is stopped.
        self.keepalive_note(now);
        let mut expired: Option<(Instant, Due)> = None;
        let mut release = false;
        let mut calls = false;
        self.each_deadline(|at, t| {
            if at > now {
                return;
            }
            match t {
                // Not changes of state: done beside whatever else is due.
                Due::ReleaseBuffers => release = true,
                Due::Call => calls = true,
                // Noted above already.
                Due::KeepaliveNote => {}
                _ if expired.is_none_or(|(e, _)| at < e) => expired = Some((at, t)),
                _ => {}
            }
        });
        if calls {
            self.expire_calls(now);
        }
        if release {
            self.release_idle_buffers();
            self.buffers_kept = false;
            self.events_release_buffers = true;
        }
        match expired {
            None | Some((_, Due::ReleaseBuffers | Due::Call | Due::KeepaliveNote)) => {}
            Some((_, Due::CloseEnd)) => self.finish(),
            Some((_, Due::Ping)) => self.send_keepalive(now),
            Some((_, Due::Timeout(t))) => {
                // A stalled writer or handshake, or a dead peer, cannot
                // take more bytes; other stalls may still flush what is
                // queued.
                let reason = Disconnect::Timeout(t);
                match t {
                    Timeout::Write | Timeout::TlsHandshake | Timeout::Keepalive => {
                        self.close_at_once(reason)
                    }
                    _ => self.close_flushing(reason, now),
                }
            }
        }
    }
}
