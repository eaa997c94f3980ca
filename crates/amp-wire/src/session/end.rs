//! How the end of AMP reaches the driver: as events, each told once, in
//! the order the driver must act on them.
//!
//! | event | when | the driver |
//! |---|---|---|
//! | [`Event::Over`] | AMP is over (the phase is `HandingOver`, `Switched`, `Closing` or `Closed`) | drops every responder, started or not, and any StartTLS it has not begun |
//! | [`Event::DiscardOutput`] | the connection closes without writing more (at once, or a close that was flushing is aborted) | drops the bytes it has not written |
//! | [`Event::CloseTransport`] | closing, and what had to be written is | shuts the transport down, then calls [`Session::finish`] |
//! | [`Event::Closed`] | the connection has ended (`Closed`; or `Switched` once [`Session::handed_over`] was called) | stops, with the reason |
//!
//! A session whose handles are all gone may also be told to close itself
//! once nothing goes on ([`Session::close_when_idle`]).

use std::time::Instant;

use super::{Disconnect, Event, Session, State};

/// Which of the end's events the driver has been told.
#[derive(Debug, Default)]
pub(crate) struct Told {
    over: bool,
    discard: bool,
    shutdown: bool,
    closed: bool,
}

impl Session {
    /// Close the connection ([`Session::close`]) as soon as it is idle
    /// ([`Session::is_idle`]): for a connection nobody can use any more
    /// (every handle that could call is gone, and nothing answers the
    /// peer), checked at every [`Session::poll_event`]. `false` takes it
    /// back (a handle came back).
    ///
    /// ```
    /// use amp_wire::session::{Event, Session};
    /// use amp_wire::{Config, Disconnect};
    /// use std::time::Instant;
    ///
    /// let now = Instant::now();
    /// let mut s = Session::new(Config::default(), now);
    /// s.call(b"Sum", |_| Ok(())).unwrap();
    /// s.close_when_idle(true);
    /// assert!(s.poll_event(now).is_none()); // a call awaits its answer
    /// s.feed(b"\x00\x07_answer\x00\x011\x00\x00", now);
    /// let mut out = bytes::BytesMut::new();
    /// let n = s.poll_transmit(&mut out, now);
    /// s.transmitted(n, now);
    /// assert!(matches!(s.poll_event(now), Some(Event::Over)));
    /// assert!(matches!(s.close_reason(), Some(Disconnect::LocalClose)));
    /// ```
    pub fn close_when_idle(&mut self, yes: bool) {
        self.close_when_idle = yes;
    }

    /// The next event of the end, if one is due (called by
    /// [`Session::poll_event`] first).
    pub(crate) fn end_event(&mut self, now: Instant) -> Option<Event> {
        if self.close_when_idle && self.is_idle() {
            self.close(now);
        }
        if !self.state.phase().is_over() {
            return None;
        }
        if !self.told.over {
            self.told.over = true;
            return Some(Event::Over);
        }
        if !self.told.discard && self.discard_output() {
            self.told.discard = true;
            return Some(Event::DiscardOutput);
        }
        if !self.told.shutdown && self.ready_to_close() {
            self.told.shutdown = true;
            return Some(Event::CloseTransport);
        }
        if self.told.closed {
            return None;
        }
        let reason = match &self.state {
            State::Closed { reason, .. } => reason.clone(),
            State::Switched { handed: true, .. } => Disconnect::Switched,
            _ => return None,
        };
        self.told.closed = true;
        Some(Event::Closed(reason))
    }
}
