//! The whole AMP protocol of one connection, as a state machine with no I/O.
//!
//! A [`Session`] takes bytes, calls and the time in, and gives bytes and
//! events out. It decides everything AMP decides: tags and outstanding
//! calls; whether a box is an answer, an error or a request; Twisted's
//! rules for what closes a connection; the switch lock and the hand-over
//! point; the StartTLS phases and the boxes held meanwhile; and every
//! limit, budget and deadline of [`Config`]. Whoever runs it
//! (the `amp` crate's tokio driver, a test, a fuzzer) only moves bytes,
//! runs responders and keeps a timer.
//!
//! # Driving a session
//!
//! * **Input.** Take the read buffer with [`Session::take_input`], read
//!   into it, give it back with [`Session::handle_input`] (or copy bytes in
//!   with [`Session::feed`]); report the end of the stream with
//!   [`Session::handle_eof`]. Read only while [`Session::wants_read`].
//! * **Events.** Call [`Session::poll_event`] until it returns `None`:
//!   requests to answer ([`Event::Request`]), and the moments to start a
//!   TLS handshake ([`Event::StartTls`]) or hand the transport to another
//!   protocol ([`Event::HandOver`]), and the end of AMP ([`Event::Over`],
//!   [`Event::DiscardOutput`], [`Event::CloseTransport`],
//!   [`Event::Closed`]: the driver needs no other test of how the
//!   connection ends). Answers to our calls need no event:
//!   they wake the caller's waker (collected by [`Session::drain_wakers`]).
//!   While the driver holds the read buffer, nothing is decoded.
//! * **Rounds.** [`Session::start_round`] bounds how many of the peer's
//!   requests the next [`Session::poll_event`] calls decode
//!   ([`Session::round_cut`] says more wait): a driver that writes after
//!   each round answers a burst in slices, so the peer works on the first
//!   answers while this side makes the next (the `amp` driver: 32
//!   requests, then longer slices while the burst lasts). Answers to our
//!   calls are not sliced: all those buffered reach their callers at once.
//! * **Memory.** Busy connections keep their buffers' capacity (no
//!   allocation per call); after [`KEEP_BUFFERS_FOR`] idle the session
//!   gives its own back and says so with [`Event::ReleaseBuffers`], for
//!   the driver to do the same.
//! * **Output.** Move what is ready into the write buffer with
//!   [`Session::poll_transmit`], and say how much was written with
//!   [`Session::transmitted`].
//! * **Calls.** [`Session::call`], [`Session::notify`], [`Session::switch`],
//!   [`Session::start_tls`] write a request at once (or refuse it); the
//!   reply is taken with [`Session::poll_reply`].
//! * **Answers.** Each [`Event::Request`] is concluded, by its
//!   [`RequestId`], with one of
//!   [`Session::answer`], [`Session::fail`], [`Session::fail_unknown`],
//!   [`Session::unhandled`], [`Session::accept_switch`],
//!   [`Session::accept_start_tls`].
//! * **Routes.** [`Session::bind_route`] adds a conversation multiplexed
//!   by `_route` (Epsilon's `amprouter`); [`Session::call_on`] and
//!   [`Session::notify_on`] call on it, and [`Request::route`] says which
//!   route a request came on. The rules are on [`Session::bind_route`].
//! * **Time.** Arm a timer for [`Session::poll_timeout`] and call
//!   [`Session::handle_timeout`] when it fires. The session keeps no clock:
//!   every method that may start a deadline (a close that writes what is
//!   queued, the TLS handshake, a keepalive ping) takes the time, `now`.
//! * **TLS, switch, close.** [`Session::tls_established`] /
//!   [`Session::tls_failed`] after a handshake; [`Session::handed_over`]
//!   after a hand-over; [`Session::finish`] once the transport is shut
//!   down after [`Event::CloseTransport`]. [`Session::close_when_idle`]
//!   closes a connection nobody can use any more once nothing goes on.
//!
//! ```
//! use amp_wire::session::{Event, Session};
//! use amp_wire::{AmpBox, Config};
//! use std::time::Instant;
//!
//! let now = Instant::now();
//! let mut s = Session::new(Config::default(), now);
//! // The peer asks for Sum(a=1, b=2).
//! s.feed(b"\x00\x04_ask\x00\x011\x00\x08_command\x00\x03Sum\x00\x01a\x00\x011\x00\x01b\x00\x012\x00\x00", now);
//! let Some(Event::Request(req)) = s.poll_event(now) else { panic!() };
//! assert_eq!(&req.name[..], b"Sum");
//! s.answer(req.id, |w| w.put_raw(b"total", b"3"), now).unwrap();
//! let mut out = bytes::BytesMut::new();
//! s.poll_transmit(&mut out, now);
//! assert_eq!(&out[..], b"\x00\x07_answer\x00\x011\x00\x05total\x00\x013\x00\x00");
//! ```
//!
//! # Phases
//!
//! The session is always in exactly one [`Phase`]. What each allows:
//!
//! | phase | reads AMP | our boxes | our calls |
//! |---|---|---|---|
//! | `Open` | yes | written | yes |
//! | `Draining` | yes (requests refused `SHUTTING_DOWN`) | written | yes (no switch, no StartTLS) |
//! | `Switching` | yes | held | refused (`Switched`) |
//! | `TlsRequested` | yes | held | yes (held) |
//! | `Deciding` | no | written | yes (no switch, no StartTLS) |
//! | `TlsFlushing` | no | held | yes (held) |
//! | `TlsHandshake` | no (the handshake owns the transport) | held | yes (held) |
//! | `HandingOver`, `Switched` | no | dropped | refused (`Switched`) |
//! | `Closing`, `Closed` | no | dropped | refused (`Closed`) |
//!
//! How it moves: every phase change, and nothing else (a change the table
//! does not list is a bug; see [`Disconnect::IllegalTransition`]). Methods
//! are [`Session`]'s, events [`Event`]'s. The table is rendered from the
//! code's (`session/table.rs`), which the session checks every change
//! against; a test keeps the two equal.
//!
//! | from | on | to | and |
//! |---|---|---|---|
//! | `Open` | `switch` | `Switching` | request written; later boxes held |
//! | `Open` | `start_tls` | `TlsRequested` | request written; later boxes held |
//! | `Open` | a request for a switch command we answer | `Deciding(Switch)` | `Event::Request`; decoding stops right after it |
//! | `Open` | a `StartTLS` request we answer | `Deciding(StartTls)` | `Event::Request`; decoding stops right after it |
//! | `Open` | `shutdown` | `Draining` | requests refused `SHUTTING_DOWN` from now on |
//! | `Deciding(Switch)` | `accept_switch` | `HandingOver(Responder)` | `_answer` written; our calls fail `Disconnect::Switched` |
//! | `Deciding(StartTls)` | `accept_start_tls` | `TlsFlushing(Responder)` | answer written in clear; later boxes held |
//! | `Deciding` | any other conclusion of that request | `Open` | decoding resumes |
//! | `Switching` | the answer | `HandingOver(Requester)` | held boxes dropped; our other calls fail `Disconnect::Switched` |
//! | `Switching` | an error | `Open` | held boxes written; the switch call fails |
//! | `TlsRequested` | the answer | `TlsFlushing(Requester)` | decoding stops |
//! | `TlsRequested` | an error | `Open` | held boxes written; the StartTLS call fails; StartTLS may be asked again |
//! | `TlsFlushing(Requester)` | all output written | `TlsHandshake(Requester)` | `Event::StartTls(Requester)`: we are the TLS client |
//! | `TlsFlushing(Responder)` | all output written | `TlsHandshake(Responder)` | `Event::StartTls(Responder)`: we are the TLS server |
//! | `TlsFlushing` | all output written, with bytes already read | `Closing` | `Disconnect::PlaintextBeforeTls` (plaintext injection); nothing more written |
//! | `TlsHandshake` | `tls_established` | `Open` | held boxes written; our StartTLS call answered |
//! | `TlsHandshake` | `tls_failed` | `Closing` | `Disconnect::Tls`; nothing more written |
//! | `HandingOver(Requester)` | all output written | `Switched` | `Event::HandOver` with the bytes read past the answer |
//! | `HandingOver(Responder)` | all output written | `Switched` | `Event::HandOver` with the bytes read past the request |
//! | `Draining` | nothing in flight, no call unanswered | `Closing` | `Disconnect::Shutdown` |
//! | any but `HandingOver`, `Switched`, `Closing`, `Closed` | a request marked `close_after_reply` concluded | `Closing` | its reply written first; `Disconnect::Quit` |
//! | any but `Switched`, `Closing`, `Closed` | a protocol violation, end of stream, `close`, `abort`, `shutdown` (during a negotiation), a deadline, a fatal or unknown error, too much held | `Closing` | calls fail with the reason; held boxes dropped |
//! | `Closing` | `finish`, or its deadline | `Closed` | nothing more to do but drop the transport |
//!
//! Anything else leaves the phase as it is. In particular a peer's switch
//! or StartTLS request that comes while our own is under way (`Switching`,
//! `TlsRequested`) is refused at once (`PROTOCOL_SWITCHED` / `TLS_ERROR`),
//! written even though our boxes are held: a peer negotiating at the same
//! time as us must hear it.
//!
//! Whether StartTLS was agreed (a second one is refused) is part of the
//! phase: `TlsRequested`, `TlsFlushing` and `TlsHandshake` imply it, and
//! every other phase carries it ([`Session::tls_agreed`]). Kept beside the
//! phase: the request and call counters.
//!
//! # Counters
//!
//! [`Session::stats`] gives a [`Stats`]: calls and requests in flight,
//! boxes and bytes each way, answers, errors by code (a bounded table:
//! [`ErrorCounts`]) and why AMP ended. Counting costs a few integer
//! additions per box.
//!
//! # Limits and deadlines
//!
//! Every input from the peer is bounded by [`Config`]: the
//! decoder refuses boxes over the size or entry limits from their length
//! prefixes; requests past `max_in_flight` wait unread; output past
//! `write_high_water` stops reading and holds callers back; held boxes past
//! `max_held` end the connection; and the deadlines (first box, box in
//! progress, write progress, TLS handshake, idle, closing) end it with
//! [`Disconnect::Timeout`].

mod call_deadlines;
mod calls;
pub mod cancel;
mod close;
mod disconnect;
mod end;
mod event;
mod keepalive;
pub mod keys;
mod phase;
mod receive;
mod respond;
mod routes;
#[cfg(test)]
mod routes_tests;
mod send;
mod state;
mod stats;
mod table;
#[cfg(test)]
mod tests;
mod timers;

use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::task::Waker;
use std::time::Instant;

pub use crate::describe::CommandKind;
pub use calls::Reply;
pub use disconnect::{Disconnect, Timeout};
pub use event::{Event, Request, RequestId};
pub use phase::{Phase, Role};
pub(crate) use respond::Answering;
pub use routes::{RouteError, MAX_ROUTES};
pub use send::SendError;
pub use stats::{ErrorCounts, Stats, MAX_ERROR_CODES, MAX_ERROR_CODE_LEN};

use crate::codec::BoxDecoder;
use crate::config::Config;
use calls::Calls;
use state::{State, Tls};

/// How long a connection keeps the capacity of its empty buffers once it
/// is idle: traffic reuses them (no allocation per call); a connection
/// idle this long gives them back ([`Event::ReleaseBuffers`]), so an idle
/// connection costs a few hundred bytes.
pub const KEEP_BUFFERS_FOR: std::time::Duration = std::time::Duration::from_millis(250);

/// One AMP connection's protocol state, with no I/O (see the
/// [module documentation](self)).
///
/// Two sessions talking through bytes, as the two ends of a connection
/// do: a call on one, the request answered on the other, the answer back.
///
/// ```
/// use amp_wire::session::{Event, Reply, Session};
/// use amp_wire::{Argument, Config, Context};
/// use std::task::{Poll, Waker};
/// use std::time::Instant;
///
/// /// Carry what `from` wrote to `to`, as the network would.
/// fn carry(from: &mut Session, to: &mut Session, now: Instant) {
///     let mut wire = bytes::BytesMut::new();
///     let n = from.poll_transmit(&mut wire, now);
///     from.transmitted(n, now);
///     to.feed(&wire, now);
/// }
///
/// let now = Instant::now();
/// let mut client = Session::new(Config::default(), now);
/// let mut server = Session::new_accepted(Config::default(), now);
///
/// // The client calls Sum(a=1, b=2)...
/// let tag = client
///     .call(b"Sum", |w| {
///         w.put("a", &1i64, &mut Context::none())?;
///         w.put("b", &2i64, &mut Context::none())
///     })
///     .unwrap();
/// carry(&mut client, &mut server, now);
///
/// // ...the server gets the request and answers it...
/// let Some(Event::Request(req)) = server.poll_event(now) else { panic!("no request") };
/// assert_eq!(req.name, "Sum");
/// let mut cx = Context::none();
/// let a = i64::read_field(&req.args, "a", &mut cx).unwrap();
/// let b = i64::read_field(&req.args, "b", &mut cx).unwrap();
/// server.answer(req.id, |w| w.put("total", &(a + b), &mut cx), now).unwrap();
/// carry(&mut server, &mut client, now);
///
/// // ...and the answer reaches the caller (an answer is no event: it wakes the caller).
/// assert!(client.poll_event(now).is_none());
/// let Poll::Ready(Reply::Answer(answer)) = client.poll_reply(tag, Waker::noop()) else {
///     panic!("no answer")
/// };
/// assert_eq!(i64::read_field(&answer, "total", &mut cx), Ok(3));
/// assert!(client.is_idle() && server.is_idle());
/// ```
#[derive(Debug)]
pub struct Session {
    config: Config,
    state: State,

    rbuf: BytesMut,
    /// How many bytes the read buffer held when the driver took it
    /// ([`Session::take_input`]): only bytes past them are new input.
    taken: usize,
    decoder: BoxDecoder,
    /// Set when a connection accepted by a server must send a box soon.
    first_box_deadline: Option<Instant>,
    /// When the box now arriving started.
    box_started: Option<Instant>,
    last_input: Instant,
    eof: bool,
    /// Reading paused from outside ([`Session::pause_reading`]).
    read_paused: bool,

    wbuf: BytesMut,
    held: BytesMut,
    /// Bytes given to the driver by `poll_transmit`, not yet written.
    in_transit: usize,
    /// Since when output has waited without progress.
    write_since: Option<Instant>,
    write_waiters: Vec<Waker>,

    calls: Calls,
    wake: Vec<Waker>,

    switch_commands: Vec<Bytes>,
    answers_start_tls: bool,
    /// Requests being answered, by id: their tag and command.
    in_flight: rustc_hash::FxHashMap<u64, Answering>,
    next_request: u64,
    parked: VecDeque<Request>,
    last_activity: Instant,
    /// Keepalive's ping and clock.
    keepalive: keepalive::Keepalive,
    /// `Cancel` requests are taken by the session.
    answers_cancel: bool,
    /// What [`Session::stats`] reports.
    counters: stats::Counters,
    /// Set once a route is bound (see [`Session::bind_route`]).
    routes: Option<Box<routes::Routes>>,
    /// Buffers may hold capacity since the last release: once idle for
    /// [`KEEP_BUFFERS_FOR`], they are given back.
    buffers_kept: bool,
    /// [`Event::ReleaseBuffers`] is due.
    events_release_buffers: bool,
    /// Which events of the end were told (see `end.rs`).
    told: end::Told,
    /// [`Session::close_when_idle`].
    close_when_idle: bool,
    /// Boxes left to decode in this round ([`Session::start_round`]).
    round_left: usize,
    /// The round ended at its limit with bytes still buffered.
    round_cut: bool,
    /// The read buffer is out with the driver ([`Session::take_input`]).
    input_taken: bool,
    /// Every phase change, in order (tests look at them).
    #[cfg(test)]
    trace: Vec<(Phase, table::On, Phase)>,
}

impl Session {
    /// A session for a connection this side opened (or any connection not
    /// accepted by a server).
    pub fn new(config: Config, now: Instant) -> Session {
        let calls = Calls::new(config.max_in_flight());
        Session {
            decoder: BoxDecoder::with_limits(config.max_box_size(), config.max_box_entries()),
            config,
            state: State::Open { tls: Tls::Clear },
            rbuf: BytesMut::new(),
            taken: 0,
            first_box_deadline: None,
            box_started: None,
            last_input: now,
            eof: false,
            read_paused: false,
            wbuf: BytesMut::new(),
            held: BytesMut::new(),
            in_transit: 0,
            write_since: None,
            write_waiters: Vec::new(),
            calls,
            wake: Vec::new(),
            switch_commands: Vec::new(),
            answers_start_tls: false,
            in_flight: Default::default(),
            next_request: 0,
            parked: VecDeque::new(),
            last_activity: now,
            keepalive: keepalive::Keepalive::new(now),
            answers_cancel: false,
            counters: Default::default(),
            routes: None,
            buffers_kept: false,
            events_release_buffers: false,
            told: Default::default(),
            close_when_idle: false,
            round_left: usize::MAX,
            round_cut: false,
            input_taken: false,
            #[cfg(test)]
            trace: Vec::new(),
        }
    }

    /// A session for a connection a server accepted: the peer must send a
    /// complete box within [`Config::first_box_timeout`].
    pub fn new_accepted(config: Config, now: Instant) -> Session {
        let mut s = Session::new(config, now);
        s.first_box_deadline = s.config.first_box_timeout().map(|t| now + t);
        s
    }

    /// Requests for `name` negotiate a protocol switch: this side answers
    /// them with [`Session::accept_switch`] or an error, and reads nothing
    /// meanwhile.
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// # use amp_wire::session::{CommandKind, Phase};
    /// let mut s = Session::new(Config::default(), now);
    /// s.negotiates_switch("Upgrade");
    /// # let ask: AmpBox = [("_ask", "1"), ("_command", "Upgrade")].into_iter().collect();
    /// # s.feed(&ask.to_bytes().unwrap(), now);
    /// let Some(Event::Request(req)) = s.poll_event(now) else { panic!() };
    /// assert_eq!(req.kind, CommandKind::Switch);
    /// assert_eq!(s.phase(), Phase::Deciding(CommandKind::Switch));
    /// assert!(!s.wants_read()); // until it is decided
    /// ```
    pub fn negotiates_switch(&mut self, name: impl Into<Bytes>) {
        self.switch_commands.push(name.into());
    }

    /// This side answers `StartTLS` (with [`Session::accept_start_tls`] or
    /// an error), reading nothing meanwhile.
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// # use amp_wire::session::{CommandKind, Phase};
    /// let mut s = Session::new(Config::default(), now);
    /// s.negotiates_start_tls();
    /// # let ask: AmpBox = [("_ask", "1"), ("_command", "StartTLS")].into_iter().collect();
    /// # s.feed(&ask.to_bytes().unwrap(), now);
    /// let Some(Event::Request(req)) = s.poll_event(now) else { panic!() };
    /// assert_eq!(req.kind, CommandKind::StartTls);
    /// assert_eq!(s.phase(), Phase::Deciding(CommandKind::StartTls));
    /// ```
    pub fn negotiates_start_tls(&mut self) {
        self.answers_start_tls = true;
    }

    /// The configuration.
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// let config = Config::builder().max_in_flight(8).build().unwrap();
    /// let s = Session::new(config, now);
    /// assert_eq!(s.config().max_in_flight(), 8);
    /// ```
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The current phase.
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// # use amp_wire::session::Phase;
    /// let mut s = Session::new(Config::default(), now);
    /// assert_eq!(s.phase(), Phase::Open);
    /// s.shutdown(now);
    /// assert_eq!(s.phase(), Phase::Draining);
    /// while s.poll_event(now).is_some() {}
    /// assert_eq!(s.phase(), Phase::Closing); // nothing was going on
    /// ```
    pub fn phase(&self) -> Phase {
        self.state.phase()
    }

    /// Whether AMP is over on this connection (closing, closed, or
    /// switched to another protocol).
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// let mut s = Session::new(Config::default(), now);
    /// assert!(!s.is_over());
    /// s.close(now);
    /// assert!(s.is_over() && !s.is_finished()); // closing, not closed yet
    /// ```
    pub fn is_over(&self) -> bool {
        self.phase().is_over()
    }

    /// Whether the connection has ended for good (nothing more to do but
    /// drop the transport).
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// let mut s = Session::new(Config::default(), now);
    /// s.close(now);
    /// assert!(!s.is_finished());
    /// s.finish();
    /// assert!(s.is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Closed { .. } | State::Switched { .. })
    }

    /// Why AMP ended, once it has.
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// # use amp_wire::Disconnect;
    /// let mut s = Session::new(Config::default(), now);
    /// assert!(s.close_reason().is_none());
    /// s.handle_eof(now); // the peer hung up
    /// assert!(matches!(s.close_reason(), Some(Disconnect::PeerClosed)));
    /// ```
    pub fn close_reason(&self) -> Option<&Disconnect> {
        static SWITCHED: Disconnect = Disconnect::Switched;
        match &self.state {
            State::Closing { reason, .. } | State::Closed { reason, .. } => Some(reason),
            State::HandingOver { .. } | State::Switched { .. } => Some(&SWITCHED),
            _ => None,
        }
    }

    /// Whether StartTLS was agreed on this connection (or asked by us and
    /// not refused yet).
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// let mut s = Session::new(Config::default(), now);
    /// assert!(!s.tls_agreed());
    /// s.start_tls().unwrap();
    /// assert!(s.tls_agreed()); // asked, not refused (yet)
    /// ```
    pub fn tls_agreed(&self) -> bool {
        self.state.tls() == Tls::Agreed
    }

    /// Requests being answered (counted against
    /// [`Config::max_in_flight`]).
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// let mut s = Session::new(Config::default(), now);
    /// # let ask: AmpBox = [("_ask", "1"), ("_command", "Sum")].into_iter().collect();
    /// # s.feed(&ask.to_bytes().unwrap(), now);
    /// let Some(Event::Request(req)) = s.poll_event(now) else { panic!() };
    /// assert_eq!(s.in_flight(), 1);
    /// s.answer(req.id, |_| Ok(()), now).unwrap();
    /// assert_eq!(s.in_flight(), 0);
    /// ```
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Our calls without a reply yet.
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// let mut s = Session::new(Config::default(), now);
    /// s.call(b"Sum", |_| Ok(())).unwrap();
    /// assert_eq!(s.unanswered_calls(), 1);
    /// # let answer: AmpBox = [("_answer", "1")].into_iter().collect();
    /// s.feed(&answer.to_bytes().unwrap(), now);
    /// s.poll_event(now);
    /// assert_eq!(s.unanswered_calls(), 0);
    /// ```
    pub fn unanswered_calls(&self) -> usize {
        self.calls.unanswered()
    }

    /// Whether nothing is going on: no request being answered or waiting,
    /// no call unanswered, nothing to write, and AMP is open.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Open { .. })
            && self.in_flight.is_empty()
            && self.parked.is_empty()
            && self.calls.unanswered() == 0
            && self.output_flushed()
    }

    /// Since when nothing has gone on, if nothing is ([`Session::is_idle`]):
    /// the later of the last box received or written and the last bytes
    /// read (bytes of a box still arriving count as activity). A server
    /// short of descriptors closes the connection idle the longest.
    ///
    /// ```
    /// use amp_wire::session::Session;
    /// use amp_wire::Config;
    /// use std::time::{Duration, Instant};
    ///
    /// let t0 = Instant::now();
    /// let mut s = Session::new(Config::default(), t0);
    /// assert_eq!(s.idle_since(), Some(t0));
    /// s.feed(b"\x00\x01", t0 + Duration::from_secs(5)); // part of a box
    /// assert_eq!(s.idle_since(), Some(t0 + Duration::from_secs(5)));
    /// s.call(b"Sum", |_| Ok(())).unwrap();
    /// assert_eq!(s.idle_since(), None); // a call is waiting for its answer
    /// ```
    pub fn idle_since(&self) -> Option<Instant> {
        self.is_idle()
            .then(|| self.last_activity.max(self.last_input))
    }

    /// Bytes this session holds in its buffers now: the read buffer (a box
    /// arriving, boxes read but not yet decoded), output not yet written
    /// (queued, or given out by [`Session::poll_transmit`] and not yet
    /// [`transmitted`](Session::transmitted)), and our boxes held during a
    /// switch or StartTLS. What a server's memory budget counts. While the
    /// driver holds the read buffer to read into
    /// ([`Session::take_input`]), the bytes it held when taken count.
    ///
    /// ```
    /// use amp_wire::session::Session;
    /// use amp_wire::Config;
    /// use std::time::Instant;
    ///
    /// let now = Instant::now();
    /// let mut s = Session::new(Config::default(), now);
    /// s.feed(b"\x00\x08_command\x00\x03S", now); // a box begins
    /// assert_eq!(s.buffered_bytes(), 13);
    /// ```
    #[inline]
    pub fn buffered_bytes(&self) -> usize {
        // While the driver reads into the buffer, what it held when taken.
        let read = if self.input_taken {
            self.taken
        } else {
            self.rbuf.len()
        };
        read + self.wbuf.len() + self.in_transit + self.held.len()
    }

    /// Move the wakers of callers whose reply (or room to write) came into
    /// `out`, to be woken once the session is no longer borrowed.
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// # use std::task::{Poll, Waker};
    /// let mut s = Session::new(Config::default(), now);
    /// let tag = s.call(b"Sum", |_| Ok(())).unwrap();
    /// assert!(s.poll_reply(tag, Waker::noop()).is_pending()); // the caller waits
    /// # let answer: AmpBox = [("_answer", "1")].into_iter().collect();
    /// s.feed(&answer.to_bytes().unwrap(), now);
    /// s.poll_event(now);
    /// let mut wakers = Vec::new();
    /// s.drain_wakers(&mut wakers);
    /// assert_eq!(wakers.len(), 1);
    /// wakers.into_iter().for_each(Waker::wake); // the session is no longer borrowed
    /// assert!(s.poll_reply(tag, Waker::noop()).is_ready());
    /// ```
    #[inline]
    pub fn drain_wakers(&mut self, out: &mut Vec<Waker>) {
        if !self.wake.is_empty() {
            out.append(&mut self.wake);
        }
    }

    /// Drop the capacity of empty buffers (the read buffer, the output
    /// buffer, the held-boxes buffer) and of the empty table of requests
    /// being answered: for a connection about to sit idle.
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// let mut s = Session::new(Config::default(), now);
    /// # let ask: AmpBox = [("_ask", "1"), ("_command", "Sum")].into_iter().collect();
    /// # s.feed(&ask.to_bytes().unwrap(), now);
    /// let Some(Event::Request(req)) = s.poll_event(now) else { panic!() };
    /// s.answer(req.id, |_| Ok(()), now).unwrap();
    /// let n = s.poll_transmit(&mut bytes::BytesMut::new(), now);
    /// s.transmitted(n, now);
    /// assert!(s.is_idle());
    /// s.release_idle_buffers(); // about to sit idle
    /// assert_eq!(s.buffered_bytes(), 0);
    /// s.call(b"Sum", |_| Ok(())).unwrap(); // buffers are made again when needed
    /// assert!(s.has_output());
    /// ```
    pub fn release_idle_buffers(&mut self) {
        for buf in [&mut self.rbuf, &mut self.wbuf, &mut self.held] {
            if buf.is_empty() && buf.capacity() > 0 {
                *buf = BytesMut::new();
            }
        }
        if self.in_flight.is_empty() && self.in_flight.capacity() > 0 {
            self.in_flight = Default::default();
        }
    }

    fn output_flushed(&self) -> bool {
        self.wbuf.is_empty() && self.in_transit == 0
    }
}
