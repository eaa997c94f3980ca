//! Deadlines: the session is told the time; it says when to call back.

use std::time::Instant;

use super::{Disconnect, Session, State, Timeout};

impl Session {
    /// The earliest deadline, if any: call [`Session::handle_timeout`] then
    /// (calling it earlier does no harm).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines().map(|(at, _)| at).min()
    }

    /// Every deadline in force, with what passing it means.
    fn deadlines(&self) -> impl Iterator<Item = (Instant, Option<Timeout>)> {
        let c = &self.config;
        let reading = self.wants_read();
        let first_box = self.first_box_deadline.filter(|_| reading);
        let in_box = self
            .box_started
            .filter(|_| reading && !self.rbuf.is_empty())
            .zip(c.box_timeout())
            .map(|(t, d)| t + d);
        let write = match self.state {
            State::TlsHandshake { .. } | State::Closing { .. } | State::Closed { .. } => None,
            _ => self.write_since.zip(c.write_timeout()).map(|(t, d)| t + d),
        };
        let idle = if self.is_idle() {
            c.idle_timeout().map(|d| self.last_activity + d)
        } else {
            None
        };
        let phase = match &self.state {
            State::TlsHandshake { deadline, .. } => {
                deadline.map(|d| (d, Some(Timeout::TlsHandshake)))
            }
            // Passing a closing deadline ends the close, with its reason.
            State::Closing { deadline, .. } => deadline.map(|d| (d, None)),
            _ => None,
        };
        [
            first_box.map(|d| (d, Some(Timeout::FirstBox))),
            in_box.map(|d| (d, Some(Timeout::Box))),
            write.map(|d| (d, Some(Timeout::Write))),
            idle.map(|d| (d, Some(Timeout::Idle))),
            phase,
        ]
        .into_iter()
        .flatten()
    }

    /// The time is `now`: act on every deadline that has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        let expired = self
            .deadlines()
            .filter(|(at, _)| *at <= now)
            .min_by_key(|(at, _)| *at);
        match expired {
            None => {}
            Some((_, None)) => self.finish(),
            Some((_, Some(t))) => {
                // A stalled writer or handshake cannot take more bytes;
                // other stalls may still flush what is queued.
                let flush = !matches!(t, Timeout::Write | Timeout::TlsHandshake);
                self.begin_close(Disconnect::Timeout(t), flush);
            }
        }
    }
}
