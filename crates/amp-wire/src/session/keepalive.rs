//! Keepalive: a peer that has sent nothing for a while is asked something;
//! one that does not reply in time is dead, and the connection closes.
//!
//! After [`Config::keepalive_interval`](crate::Config::keepalive_interval)
//! with no byte received, the session sends the command named by
//! [`Config::keepalive_command`](crate::Config::keepalive_command) (no
//! arguments, with `_ask`). Any reply proves the peer alive: an answer, or
//! an error box such as the `UNHANDLED` a peer without that command sends
//! (Twisted keeps the connection open then). No reply within
//! [`Config::keepalive_timeout`](crate::Config::keepalive_timeout) ends the
//! connection with [`Timeout::Keepalive`](super::Timeout::Keepalive). The
//! ping's reply is taken by the session; no caller sees it. Pings go out
//! only while our boxes are written (not during a negotiation, which has
//! its own deadlines).

use std::time::Instant;

use super::calls::format_tag;
use super::keys::{ASK, COMMAND};
use super::Session;
use crate::fields::FieldWriter;

/// What keepalive waits for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeepaliveDue {
    /// A ping is due at this time (nothing received since the interval
    /// began).
    Ping(Instant),
    /// The ping sent has had no reply by this time: the peer is dead.
    Reply(Instant),
}

impl Session {
    /// When keepalive acts next, if it is on and pings may go out.
    pub(crate) fn keepalive_due(&self) -> Option<KeepaliveDue> {
        let interval = self.config.keepalive_interval()?;
        let phase = self.state.phase();
        if phase.is_over() || phase.holds() {
            return None;
        }
        match self.keepalive {
            Some((_, sent)) => {
                let timeout = self.config.keepalive_timeout()?;
                Some(KeepaliveDue::Reply(sent + timeout))
            }
            None => Some(KeepaliveDue::Ping(self.last_input + interval)),
        }
    }

    /// Send the ping at `now` (its tag is taken from the calls' counter, as
    /// any request's).
    pub(crate) fn send_keepalive(&mut self, now: Instant) {
        let tag = self.calls.next_tag();
        let mut digits = [0u8; 16];
        let hex = format_tag(tag, &mut digits);
        let name = self.config.keepalive_command().as_bytes().to_vec();
        let extras = [(ASK.as_bytes(), hex), (COMMAND.as_bytes(), &name[..])];
        let Some(out) = self.out() else {
            return;
        };
        // A valid name (checked when the config was built) and no
        // arguments: writing cannot fail.
        let _ = FieldWriter::new(out, &extras).finish();
        self.counters.requests_sent += 1;
        self.counters.boxes_sent += 1;
        self.keepalive = Some((tag, now));
    }

    /// A reply to `tag` that no call waits for: whether it is the ping's
    /// (taken: the peer is alive).
    pub(crate) fn take_keepalive_reply(&mut self, tag: u64) -> bool {
        match self.keepalive {
            Some((t, _)) if t == tag => {
                self.keepalive = None;
                true
            }
            _ => false,
        }
    }
}
