//! Per-connection counters, kept by the session as boxes pass through it,
//! and [`Stats`], the snapshot of them that [`Session::stats`] gives.
//!
//! Counting is a few integer additions per box; only error boxes touch the
//! table of error codes, which is bounded (see [`ErrorCounts`]).

use super::{Disconnect, Session};

/// How many distinct error codes an [`ErrorCounts`] keeps apart; the codes
/// seen after that many are counted together in [`ErrorCounts::other`].
pub const MAX_ERROR_CODES: usize = 32;

/// The longest error code kept by name, in bytes; longer codes are counted
/// in [`ErrorCounts::other`]. (Codes are short identifiers such as
/// `UNHANDLED`; this keeps a peer from parking large values in the table.)
pub const MAX_ERROR_CODE_LEN: usize = 64;

/// Error boxes counted by `_error_code`.
///
/// Error codes come from the peer, so the table is bounded: the first
/// [`MAX_ERROR_CODES`] distinct codes (each at most
/// [`MAX_ERROR_CODE_LEN`] bytes) are counted by name, every other error is
/// counted in [`other`](ErrorCounts::other). Whatever the peer sends, the
/// table never holds more than `MAX_ERROR_CODES × MAX_ERROR_CODE_LEN`
/// bytes of codes.
///
/// ```
/// use amp_wire::session::Session;
/// use amp_wire::{AmpBox, Config};
/// use std::time::Instant;
///
/// let now = Instant::now();
/// let mut s = Session::new(Config::default(), now);
/// for _ in 0..3 {
///     s.call(b"Sum", |_| Ok(())).unwrap(); // tags 1, 2, 3
/// }
/// for (tag, code) in [("1", "OOPS"), ("2", "UNHANDLED"), ("3", "OOPS")] {
///     let error: AmpBox = [("_error", tag), ("_error_code", code)].into_iter().collect();
///     s.feed(&error.to_bytes().unwrap(), now);
/// }
/// while s.poll_event(now).is_some() {}
/// let errors = s.stats().errors_received;
/// assert_eq!((errors.get("OOPS"), errors.get("UNKNOWN"), errors.total()), (2, 0, 3));
/// let by_code: Vec<(&[u8], u64)> = errors.iter().collect();
/// assert_eq!(by_code, [(&b"OOPS"[..], 2), (&b"UNHANDLED"[..], 1)]);
/// assert_eq!((errors.distinct(), errors.other()), (2, 0)); // two codes, both kept by name
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorCounts {
    /// In the order first seen.
    codes: Vec<(Box<[u8]>, u64)>,
    other: u64,
}

impl ErrorCounts {
    /// Count one error box with `code`.
    pub(crate) fn add(&mut self, code: &[u8]) {
        if let Some((_, n)) = self.codes.iter_mut().find(|(c, _)| &c[..] == code) {
            *n += 1;
        } else if self.codes.len() < MAX_ERROR_CODES && code.len() <= MAX_ERROR_CODE_LEN {
            self.codes.push((code.into(), 1));
        } else {
            self.other += 1;
        }
    }

    /// How many errors had `code` (0 for a code not kept by name, even if
    /// some are counted in [`other`](ErrorCounts::other)).
    pub fn get(&self, code: impl AsRef<[u8]>) -> u64 {
        let code = code.as_ref();
        self.codes
            .iter()
            .find(|(c, _)| &c[..] == code)
            .map_or(0, |(_, n)| *n)
    }

    /// The codes kept by name and their counts, in the order first seen.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], u64)> + '_ {
        self.codes.iter().map(|(c, n)| (&c[..], *n))
    }

    /// Errors whose code is not kept by name (past the first
    /// [`MAX_ERROR_CODES`] codes, or longer than [`MAX_ERROR_CODE_LEN`]).
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// let mut s = Session::new(Config::default(), now);
    /// s.call(b"Sum", |_| Ok(())).unwrap();
    /// let long = "E".repeat(amp_wire::session::MAX_ERROR_CODE_LEN + 1);
    /// let mut error = AmpBox::new();
    /// error.insert("_error", "1");
    /// error.insert("_error_code", long.clone());
    /// s.feed(&error.to_bytes().unwrap(), now);
    /// while s.poll_event(now).is_some() {}
    /// let errors = s.stats().errors_received;
    /// assert_eq!((errors.other(), errors.get(&long), errors.total()), (1, 0, 1));
    /// ```
    pub fn other(&self) -> u64 {
        self.other
    }

    /// Every error counted.
    pub fn total(&self) -> u64 {
        self.other + self.codes.iter().map(|(_, n)| n).sum::<u64>()
    }

    /// How many codes are kept by name (at most [`MAX_ERROR_CODES`]).
    pub fn distinct(&self) -> usize {
        self.codes.len()
    }
}

/// A snapshot of one connection's counters ([`Session::stats`]; the `amp`
/// crate's `Connection::stats`).
///
/// What counts as what:
///
/// * A box is **received** when it is decoded whole: bytes read that
///   belong to a box still arriving, or that follow a protocol switch
///   (handed to the new protocol), are not counted. `bytes_received` is the
///   encoded size of those boxes, terminator included.
/// * A box is **sent** when the session writes it to its output (to be
///   transmitted, or held back during a negotiation). A box dropped
///   unwritten because the connection was aborted or switched still
///   counts. `bytes_sent` counts the bytes the transport took (reported by
///   [`Session::transmitted`]), so once the output is flushed it is the
///   size of the boxes sent.
/// * Received boxes are classified by their reserved keys, in Twisted's
///   order: `_answer`, else `_error` (with an `_error_code`), else
///   `_command`. An answer or error to a call given up (dropped or timed
///   out) is still counted; a box that is none of these (a protocol
///   error) counts only in `boxes_received`.
/// * Sent errors include the refusals the session writes on its own
///   (`SHUTTING_DOWN`, `ONLY_ONE_TLS`, ...) and the `UNKNOWN` sent for an
///   undeclared failure; sent answers include the empty answer agreeing
///   to a switch or StartTLS.
///
/// Over plain TCP, once both sides have flushed, what one side sent is
/// what the other received: `bytes_sent` on one end equals `bytes_received`
/// on the other, and likewise for boxes. (Over TLS the counts are of AMP's
/// bytes, not of the encrypted stream.)
///
/// ```
/// use amp_wire::session::Session;
/// use amp_wire::Config;
/// use std::time::Instant;
///
/// let now = Instant::now();
/// let mut s = Session::new(Config::default(), now);
/// s.call(b"Sum", |w| w.put_raw(b"a", b"1")).unwrap();
/// // The peer fails it.
/// s.feed(b"\x00\x06_error\x00\x011\x00\x0b_error_code\x00\x04OOPS\x00\x00", now);
/// assert!(s.poll_event(now).is_none());
/// let stats = s.stats();
/// assert_eq!(stats.requests_sent, 1);
/// assert_eq!(stats.calls_in_flight, 0);
/// assert_eq!(stats.errors_received.get("OOPS"), 1);
/// assert_eq!(stats.bytes_received, 32); // the whole error box
/// assert_eq!(stats.bytes_sent, 0, "nothing was transmitted yet");
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Our calls (requests asking for an answer) without a reply yet.
    pub calls_in_flight: usize,
    /// The peer's requests being answered (counted against
    /// [`Config::max_in_flight`](crate::Config::max_in_flight)).
    pub requests_in_flight: usize,
    /// The peer's requests decoded but waiting for room under
    /// `max_in_flight`.
    pub requests_waiting: usize,
    /// Boxes decoded whole.
    pub boxes_received: u64,
    /// Encoded size of the boxes decoded.
    pub bytes_received: u64,
    /// Boxes written to the output.
    pub boxes_sent: u64,
    /// Bytes the transport took.
    pub bytes_sent: u64,
    /// Requests from the peer (`_command` boxes), with or without `_ask`.
    pub requests_received: u64,
    /// Our requests, with or without `_ask` (switch and StartTLS included).
    pub requests_sent: u64,
    /// `_answer` boxes received.
    pub answers_received: u64,
    /// `_answer` boxes sent.
    pub answers_sent: u64,
    /// `_error` boxes received, by code.
    pub errors_received: ErrorCounts,
    /// `_error` boxes sent, by code.
    pub errors_sent: ErrorCounts,
    /// Why AMP ended, once it has ([`Session::close_reason`]).
    pub end: Option<Disconnect>,
}

/// The running counters (the parts of [`Stats`] the session does not know
/// otherwise).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) boxes_received: u64,
    pub(crate) bytes_received: u64,
    pub(crate) boxes_sent: u64,
    pub(crate) bytes_sent: u64,
    pub(crate) requests_received: u64,
    pub(crate) requests_sent: u64,
    pub(crate) answers_received: u64,
    pub(crate) answers_sent: u64,
    pub(crate) errors_received: Errors,
    pub(crate) errors_sent: Errors,
}

/// An [`ErrorCounts`] made on the first error: most connections never see
/// one, and keep a pointer instead of the table (24 bytes less each).
#[derive(Debug, Default)]
pub(crate) struct Errors(Option<Box<ErrorCounts>>);

impl Errors {
    /// Count one error box with `code`.
    pub(crate) fn add(&mut self, code: &[u8]) {
        self.0.get_or_insert_with(Box::default).add(code);
    }

    /// The counts so far.
    fn snapshot(&self) -> ErrorCounts {
        self.0.as_deref().cloned().unwrap_or_default()
    }
}

impl Counters {
    /// One error box written with `code`.
    pub(crate) fn error_sent(&mut self, code: &[u8]) {
        self.boxes_sent += 1;
        self.errors_sent.add(code);
    }
}

impl Session {
    /// A snapshot of this connection's counters (see [`Stats`]).
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// let mut s = Session::new(Config::default(), now);
    /// s.call(b"Sum", |w| w.put_raw(b"a", b"1")).unwrap();
    /// let stats = s.stats();
    /// assert_eq!((stats.requests_sent, stats.boxes_sent), (1, 1));
    /// assert_eq!(stats.calls_in_flight, 1);
    /// assert!(stats.end.is_none());
    /// ```
    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        Stats {
            calls_in_flight: self.calls.unanswered(),
            requests_in_flight: self.in_flight.len(),
            requests_waiting: self.parked.len(),
            boxes_received: c.boxes_received,
            bytes_received: c.bytes_received,
            boxes_sent: c.boxes_sent,
            bytes_sent: c.bytes_sent,
            requests_received: c.requests_received,
            requests_sent: c.requests_sent,
            answers_received: c.answers_received,
            answers_sent: c.answers_sent,
            errors_received: c.errors_received.snapshot(),
            errors_sent: c.errors_sent.snapshot(),
            end: self.close_reason().cloned(),
        }
    }
}
