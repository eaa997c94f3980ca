//! Keepalive: a peer that has sent nothing for a while is asked something;
//! one that does not reply in time is dead, and the connection closes.
//!
//! After [`Config::keepalive_interval`](crate::Config::keepalive_interval)
//! with no byte received, the session sends the command named by
//! [`Config::keepalive_command`](crate::Config::keepalive_command) (no
//! arguments, with `_ask`, on the default conversation: never on a
//! route). Any reply on the default conversation proves the peer alive: an
//! answer, or an error box such as the `UNHANDLED` a peer without that
//! command sends (Twisted keeps the connection open then). A box with the
//! ping's tag on a route is not its reply: the tag is unknown in that
//! route's conversation, as for any call's reply on the wrong route. No
//! reply within
//! [`Config::keepalive_timeout`](crate::Config::keepalive_timeout) ends the
//! connection with [`Timeout::Keepalive`](super::Timeout::Keepalive). The
//! ping's reply is taken by the session; no caller sees it.
//!
//! # Only while the session reads
//!
//! A reply cannot be seen while the session does not read it, so
//! keepalive's clock runs only while the session reads
//! ([`Session::wants_read`]) and writes its boxes (not during a
//! negotiation, which has its own deadlines). Reading stops while paused
//! ([`Session::pause_reading`]), while requests wait at
//! [`Config::max_in_flight`](crate::Config::max_in_flight), while output is
//! past [`Config::write_high_water`](crate::Config::write_high_water), and
//! while our responder decides on the peer's switch or StartTLS
//! (`Deciding`). Meanwhile no ping is sent and a ping's reply deadline is
//! not kept. When reading resumes the clock starts over: a ping awaiting
//! its reply gets the whole `keepalive_timeout` again, and the next ping
//! is due a whole `keepalive_interval` after that (or after the last byte
//! received, if later). (A stalled peer is not left unnoticed meanwhile:
//! output it does not read is bounded by
//! [`Config::write_timeout`](crate::Config::write_timeout).)
//!
//! The session keeps no clock: it notes that reading stopped or resumed in
//! [`Session::handle_timeout`], which [`Session::poll_timeout`] asks for at
//! once after either happens (only while keepalive is on).

use std::time::Instant;

use super::calls::format_tag;
use super::keys::{ASK, COMMAND};
use super::Session;
use crate::fields::FieldWriter;

/// Keepalive's ping and clock.
#[derive(Debug)]
pub(crate) struct Keepalive {
    /// The ping awaiting its reply: its tag, and since when its reply
    /// deadline runs (when it went, or when reading last resumed).
    pub(crate) ping: Option<(u64, Instant)>,
    /// Reading was last noted stopped: the clock stands still.
    stopped: bool,
    /// When reading last resumed: the interval runs from the later of this
    /// and the last byte received.
    resumed: Instant,
}

impl Keepalive {
    pub(crate) fn new(now: Instant) -> Keepalive {
        Keepalive {
            ping: None,
            stopped: false,
            resumed: now,
        }
    }
}

/// What keepalive waits for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeepaliveDue {
    /// A ping is due at this time (nothing received since the interval
    /// began).
    Ping(Instant),
    /// The ping sent has had no reply by this time: the peer is dead.
    Reply(Instant),
    /// Reading stopped or resumed and the clock has not noted it: due at
    /// once (at a time already given), for [`Session::handle_timeout`] to
    /// note it.
    Note(Instant),
}

impl Session {
    /// When keepalive acts next, if it is on.
    pub(crate) fn keepalive_due(&self) -> Option<KeepaliveDue> {
        let interval = self.config.keepalive_interval()?;
        if self.state.phase().is_over() {
            return None;
        }
        let k = &self.keepalive;
        if self.keepalive_runs() == k.stopped {
            return Some(KeepaliveDue::Note(self.last_input));
        }
        if k.stopped {
            return None;
        }
        match k.ping {
            Some((_, since)) => {
                let timeout = self.config.keepalive_timeout()?;
                Some(KeepaliveDue::Reply(since + timeout))
            }
            None => Some(KeepaliveDue::Ping(
                self.last_input.max(k.resumed) + interval,
            )),
        }
    }

    /// Whether keepalive's clock runs: the session reads, and writes its
    /// boxes.
    fn keepalive_runs(&self) -> bool {
        !self.state.phase().holds() && self.wants_read()
    }

    /// The time is `now`: note whether reading stopped, or resumed (the
    /// clock then starts over).
    pub(crate) fn keepalive_note(&mut self, now: Instant) {
        if self.config.keepalive_interval().is_none() {
            return;
        }
        let runs = self.keepalive_runs();
        let k = &mut self.keepalive;
        if runs && k.stopped {
            k.resumed = now;
            if let Some((_, since)) = &mut k.ping {
                *since = now;
            }
        }
        k.stopped = !runs;
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
        self.keepalive.ping = Some((tag, now));
    }

    /// A reply to `tag` that no call waits for, on the default
    /// conversation (`routed` false) or a route: whether it is the ping's
    /// (taken: the peer is alive). The ping went on the default
    /// conversation, so a routed reply is never its.
    pub(crate) fn take_keepalive_reply(&mut self, tag: u64, routed: bool) -> bool {
        match self.keepalive.ping {
            Some((t, _)) if t == tag && !routed => {
                self.keepalive.ping = None;
                true
            }
            _ => false,
        }
    }
}
