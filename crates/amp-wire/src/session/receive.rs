//! The peer's side: bytes in, boxes classified, requests let through.

use bytes::{Bytes, BytesMut};
use std::time::Instant;

use super::calls::{parse_tag, Reply};
use super::keys::{
    ANSWER, ASK, COMMAND, ERROR, ERROR_CODE, ERROR_DESCRIPTION, ONLY_ONE_TLS, PROTOCOL_SWITCHED,
    SHUTTING_DOWN, START_TLS, TLS_ERROR,
};
use super::table::On;
use super::{
    Answering, CommandKind, Disconnect, Event, Request, RequestId, Role, Session, State, Tls,
};
use crate::ambox::AmpBox;
use crate::error::ProtocolError;

impl Session {
    /// Take the read buffer, to read into it (keep its contents: append).
    /// Give it back with [`Session::handle_input`].
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// let mut s = Session::new(Config::default(), now);
    /// let mut buf = s.take_input();
    /// // The driver reads into it (here, a whole request).
    /// buf.extend_from_slice(b"\x00\x04_ask\x00\x011\x00\x08_command\x00\x04Ping\x00\x00");
    /// s.handle_input(buf, now);
    /// let Some(Event::Request(req)) = s.poll_event(now) else { panic!() };
    /// assert_eq!(req.name, "Ping");
    /// ```
    pub fn take_input(&mut self) -> BytesMut {
        self.input_taken = true;
        self.taken = self.rbuf.len();
        std::mem::take(&mut self.rbuf)
    }

    /// Give back the read buffer taken by [`Session::take_input`], with the
    /// bytes just read appended.
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// let mut s = Session::new(Config::default(), now);
    /// let mut buf = s.take_input();
    /// buf.extend_from_slice(b"\x00\x08_command\x00\x04Ping"); // part of a box
    /// s.handle_input(buf, now);
    /// assert!(s.poll_event(now).is_none()); // waits for the rest
    /// let mut buf = s.take_input();
    /// buf.extend_from_slice(b"\x00\x00"); // the rest
    /// s.handle_input(buf, now);
    /// assert!(matches!(s.poll_event(now), Some(Event::Request(_))));
    /// ```
    pub fn handle_input(&mut self, buf: BytesMut, now: Instant) {
        self.input_taken = false;
        // Only bytes past those taken are new: a buffer given back as it
        // was (nothing read) is no sign of life from the peer.
        let had = std::mem::take(&mut self.taken).max(self.rbuf.len());
        if buf.len() > had {
            self.last_input = now;
            self.buffers_kept = true;
        }
        self.rbuf = buf;
        self.note_box_start();
    }

    /// Copy `bytes` in, as if read.
    pub fn feed(&mut self, bytes: &[u8], now: Instant) {
        if !bytes.is_empty() {
            self.last_input = now;
            self.buffers_kept = true;
            self.rbuf.extend_from_slice(bytes);
        }
        self.note_box_start();
    }

    /// Bytes of a box are buffered: its deadline runs from when they came.
    fn note_box_start(&mut self) {
        if self.rbuf.is_empty() {
            self.box_started = None;
        } else if self.box_started.is_none() {
            self.box_started = Some(self.last_input);
        }
    }

    /// The peer closed its side of the stream (at `now`: what is queued is
    /// still written, within the write timeout from then).
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// # use amp_wire::{Disconnect, ProtocolError};
    /// let mut s = Session::new(Config::default(), now);
    /// s.feed(b"\x00\x08_com", now); // a box cut short...
    /// s.handle_eof(now); // ...by the end of the stream
    /// assert!(matches!(
    ///     s.close_reason(),
    ///     Some(Disconnect::Protocol(ProtocolError::TruncatedBox { buffered: 6 }))
    /// ));
    /// ```
    pub fn handle_eof(&mut self, now: Instant) {
        self.eof = true;
        if self.is_over() {
            return;
        }
        let reason = if self.rbuf.is_empty() {
            Disconnect::PeerClosed
        } else {
            Disconnect::Protocol(ProtocolError::TruncatedBox {
                buffered: self.rbuf.len(),
            })
        };
        self.close_flushing(reason, now);
    }

    /// Start a round of work: [`Session::poll_event`] decodes at most
    /// `boxes` more of the peer's requests (and whatever answers come
    /// between them) until the next round; a session starts with no limit.
    /// A driver that writes after each round then answers a long burst of
    /// requests in slices, so the peer works on the first answers while
    /// the rest are made, instead of both sides taking turns.
    ///
    /// Answers to our calls and errors do not count: each buffered one
    /// goes to its caller in the round that reaches it, so the callers'
    /// next calls leave together (handing answers over in slices split
    /// them into a write per slice: a thousand calls in flight on one
    /// connection ran at 79 % of the unsliced rate, BENCHMARKS.md).
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// let mut s = Session::new(Config::default(), now);
    /// for tag in ["1", "2", "3"] {
    ///     let ask: AmpBox = [("_ask", tag), ("_command", "Ping")].into_iter().collect();
    ///     s.feed(&ask.to_bytes().unwrap(), now);
    /// }
    /// s.start_round(2);
    /// let round: Vec<Event> = std::iter::from_fn(|| s.poll_event(now)).collect();
    /// assert_eq!(round.len(), 2);
    /// assert!(s.round_cut()); // one more waits
    /// s.start_round(2);
    /// assert!(matches!(s.poll_event(now), Some(Event::Request(_))));
    /// assert!(!s.round_cut());
    /// ```
    pub fn start_round(&mut self, boxes: usize) {
        self.round_left = boxes;
        self.round_cut = false;
    }

    /// Whether the last [`Session::poll_event`] stopped at the round's
    /// limit with bytes still buffered (start another round for them).
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// let mut s = Session::new(Config::default(), now);
    /// for _ in 0..2 {
    ///     let ask: AmpBox = [("_command", "Log")].into_iter().collect();
    ///     s.feed(&ask.to_bytes().unwrap(), now);
    /// }
    /// s.start_round(1);
    /// assert!(s.poll_event(now).is_some() && s.poll_event(now).is_none());
    /// assert!(s.round_cut());
    /// ```
    pub fn round_cut(&self) -> bool {
        self.round_cut
    }

    /// Whether the driver should read now. Reading stops while boxes may
    /// not be AMP (a negotiation), while requests wait for room
    /// ([`Config::max_in_flight`](crate::Config::max_in_flight)), while
    /// output is past [`Config::write_high_water`](crate::Config::write_high_water),
    /// and while paused ([`Session::pause_reading`]).
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// let config = Config::builder().max_in_flight(1).build().unwrap();
    /// let mut s = Session::new(config, now);
    /// assert!(s.wants_read());
    /// # let ask: AmpBox = [("_ask", "1"), ("_command", "Slow")].into_iter().collect();
    /// # s.feed(&ask.to_bytes().unwrap(), now);
    /// let Some(Event::Request(req)) = s.poll_event(now) else { panic!() };
    /// assert!(!s.wants_read()); // max_in_flight requests are being answered
    /// s.answer(req.id, |_| Ok(()), now).unwrap();
    /// assert!(s.wants_read());
    /// ```
    pub fn wants_read(&self) -> bool {
        self.state.phase().reads()
            && !self.eof
            && !self.read_paused
            && self.parked.is_empty()
            && self.in_flight.len() < self.config.max_in_flight()
            && self.wbuf.len() + self.in_transit < self.config.write_high_water()
    }

    /// Stop reading (`true`) or read again (`false`), whatever else
    /// [`Session::wants_read`] depends on: for a server over its memory
    /// budget, a connection that would buffer more waits while others are
    /// cut. As whenever reading stops, the deadline of a box arriving
    /// ([`Config::box_timeout`](crate::Config::box_timeout)) is not kept
    /// meanwhile.
    ///
    /// ```
    /// use amp_wire::session::Session;
    /// use amp_wire::Config;
    /// use std::time::Instant;
    ///
    /// let mut s = Session::new(Config::default(), Instant::now());
    /// s.pause_reading(true);
    /// assert!(!s.wants_read());
    /// s.pause_reading(false);
    /// assert!(s.wants_read());
    /// ```
    pub fn pause_reading(&mut self, paused: bool) {
        self.read_paused = paused;
    }

    /// The next thing for the driver to do, if any. Decodes buffered boxes
    /// as it goes (only as far as the phase allows); answers to our calls
    /// are handled here and wake their callers. `now` is the time: the
    /// deadlines this starts (the TLS handshake's, a close's) run from it.
    pub fn poll_event(&mut self, now: Instant) -> Option<Event> {
        if std::mem::take(&mut self.events_release_buffers) {
            return Some(Event::ReleaseBuffers);
        }
        loop {
            // (Each time round: a box decoded may end AMP, and the end is
            // told before what follows it, such as the hand-over.)
            if let Some(ev) = self.end_event(now) {
                return Some(ev);
            }
            match &self.state {
                State::Open { .. } | State::Switching { .. } | State::TlsRequested => {}
                State::Draining { .. } => {
                    if self.in_flight.is_empty()
                        && self.parked.is_empty()
                        && self.calls.unanswered() == 0
                    {
                        self.begin_close(On::Drained, Disconnect::Shutdown, Some(now));
                        continue; // the end is told at the top
                    }
                }
                State::TlsFlushing { role, call } => {
                    if !self.output_flushed() {
                        return None;
                    }
                    let (role, call) = (*role, *call);
                    if !self.rbuf.is_empty() {
                        let buffered = self.rbuf.len();
                        let reason = Disconnect::PlaintextBeforeTls { buffered };
                        self.begin_close(On::Plaintext, reason, None);
                        continue; // the end is told at the top
                    }
                    self.rbuf = BytesMut::new();
                    let deadline = self.config.tls_handshake_timeout().map(|t| now + t);
                    let handshake = State::TlsHandshake {
                        role,
                        call,
                        deadline,
                    };
                    self.enter(On::Flushed, handshake);
                    return Some(Event::StartTls(role));
                }
                State::HandingOver { role, call, tls } => {
                    if !self.output_flushed() {
                        return None;
                    }
                    let (role, call, tls) = (*role, *call, *tls);
                    let buffered = self.rbuf.split().freeze();
                    self.rbuf = BytesMut::new();
                    self.decoder.reset();
                    let switched = State::Switched {
                        call,
                        tls,
                        handed: false,
                    };
                    self.enter(On::Flushed, switched);
                    return Some(Event::HandOver { role, buffered });
                }
                State::Deciding { .. }
                | State::TlsHandshake { .. }
                | State::Switched { .. }
                | State::Closing { .. }
                | State::Closed { .. } => return None,
            }
            // Requests parked at the in-flight limit go first.
            if !self.parked.is_empty() {
                if self.in_flight.len() < self.config.max_in_flight() {
                    if let Some(req) = self.parked.pop_front() {
                        match self.start(req) {
                            Some(ev) => return Some(ev),
                            None => continue,
                        }
                    }
                }
                if self
                    .parked
                    .back()
                    .is_some_and(|r| r.kind != CommandKind::Plain)
                {
                    return None; // what follows it may not be AMP
                }
            }
            if self.input_taken {
                // The driver is reading into the buffer: nothing to decode
                // until it is given back (and a box begun stays begun).
                return None;
            }
            if self.round_left == 0 {
                // The round's boxes are done; more may be buffered.
                self.round_cut = !self.rbuf.is_empty();
                return None;
            }
            let buffered = self.rbuf.len();
            match self.decoder.decode(&mut self.rbuf) {
                Ok(None) => {
                    self.note_box_start();
                    return None;
                }
                Err(e) => {
                    self.close_flushing(Disconnect::Protocol(e), now);
                    continue; // the end is told at the top
                }
                Ok(Some(b)) => {
                    if b.get(ANSWER).is_none() && b.get(ERROR).is_none() {
                        // Only the peer's boxes that ask for work count:
                        // every answer buffered goes to its caller at
                        // once, so the callers' next calls leave in one
                        // write, not one per slice.
                        self.round_left -= 1;
                    }
                    self.counters.boxes_received += 1;
                    self.counters.bytes_received += (buffered - self.rbuf.len()) as u64;
                    self.box_started = None;
                    self.first_box_deadline = None;
                    self.last_activity = self.last_input;
                    if let Some(ev) = self.on_box(b, now) {
                        return Some(ev);
                    }
                }
            }
        }
    }

    /// Twisted's dispatch order: `_answer`, then `_error`, then `_command`.
    fn on_box(&mut self, mut b: AmpBox, now: Instant) -> Option<Event> {
        let via = if self.routes.is_some() {
            self.demux(&mut b, now).ok()?
        } else {
            None
        };
        if let Some(tag) = b.get(ANSWER) {
            self.counters.answers_received += 1;
            match self.our_tag(tag) {
                Some((n, kind)) if self.reply_route_matches(n, via.as_ref()) => {
                    self.on_answer(n, kind, b)
                }
                Some(_) => self.misrouted_tag(tag, now),
                None => self.unknown_tag(tag, via.is_some(), now),
            }
            return None;
        }
        if let Some(tag) = b.get(ERROR) {
            let Some(code) = b.get_bytes(ERROR_CODE) else {
                let tag = Bytes::copy_from_slice(tag);
                self.close_flushing(ProtocolError::MissingErrorCode { tag }.into(), now);
                return None;
            };
            self.counters.errors_received.add(&code);
            match self.our_tag(tag) {
                Some((n, kind)) if self.reply_route_matches(n, via.as_ref()) => {
                    let description = b
                        .get(ERROR_DESCRIPTION)
                        .map(|d| String::from_utf8_lossy(d).into_owned())
                        .unwrap_or_default();
                    self.on_error(n, kind, Reply::Error { code, description });
                }
                Some(_) => self.misrouted_tag(tag, now),
                None => self.unknown_tag(tag, via.is_some(), now),
            }
            return None;
        }
        if let Some(name) = b.get_bytes(COMMAND) {
            self.counters.requests_received += 1;
            let tag = b.get_bytes(ASK);
            let kind = match &tag {
                None => CommandKind::Plain,
                Some(_) if via.is_some() => CommandKind::Plain, // routes never negotiate
                Some(_) if self.answers_start_tls && name == START_TLS.as_bytes() => {
                    CommandKind::StartTls
                }
                Some(_) if self.switch_commands.contains(&name) => CommandKind::Switch,
                Some(_) => CommandKind::Plain,
            };
            let req = Request {
                id: RequestId(0), // given when it starts
                name,
                tag,
                args: b,
                kind,
                route: via.map(|v| v.local),
            };
            if self.answers_cancel && req.name == super::cancel::CANCEL.as_bytes() {
                return self.on_cancel(&req, now);
            }
            if self.in_flight.len() >= self.config.max_in_flight() || !self.parked.is_empty() {
                self.parked.push_back(req);
                return None;
            }
            return self.start(req);
        }
        let keys = b.keys().map(Bytes::copy_from_slice).collect();
        self.close_flushing(ProtocolError::NotRouted { keys }.into(), now);
        None
    }

    fn our_tag(&self, tag: &[u8]) -> Option<(u64, CommandKind)> {
        let n = parse_tag(tag)?;
        Some((n, self.calls.kind_of(n)?))
    }

    /// An answer to our call came on another route than the call: the
    /// tag is unknown in that route's conversation.
    fn misrouted_tag(&mut self, tag: &[u8], now: Instant) {
        let tag = Bytes::copy_from_slice(tag);
        self.close_flushing(ProtocolError::UnknownTag { tag }.into(), now);
    }

    /// A reply to a tag no call waits for, on a route (`routed`) or not.
    fn unknown_tag(&mut self, tag: &[u8], routed: bool, now: Instant) {
        if let Some(n) = parse_tag(tag) {
            if self.take_keepalive_reply(n, routed) || self.calls.is_late(n) {
                return; // the ping's reply, or a call we gave up: quietly
            }
        }
        let tag = Bytes::copy_from_slice(tag);
        self.close_flushing(ProtocolError::UnknownTag { tag }.into(), now);
    }

    fn on_answer(&mut self, tag: u64, kind: CommandKind, b: AmpBox) {
        match kind {
            CommandKind::Plain => self.calls.resolve(tag, Reply::Answer(b), &mut self.wake),
            CommandKind::Switch => {
                // Boxes produced while locked can never be sent now.
                self.held = BytesMut::new();
                self.calls
                    .fail_all(&Disconnect::Switched, Some(tag), &mut self.wake);
                self.end_requests();
                let handing_over = State::HandingOver {
                    role: Role::Requester,
                    call: Some(tag),
                    tls: self.state.tls(),
                };
                self.enter(On::Answer, handing_over);
                self.release_writers();
            }
            CommandKind::StartTls => {
                let flushing = State::TlsFlushing {
                    role: Role::Requester,
                    call: Some(tag),
                };
                self.enter(On::Answer, flushing);
            }
        }
    }

    fn on_error(&mut self, tag: u64, kind: CommandKind, reply: Reply) {
        match kind {
            CommandKind::Plain => {}
            CommandKind::Switch => {
                let tls = self.state.tls();
                self.enter(On::Error, State::Open { tls });
                self.release_held();
            }
            CommandKind::StartTls => {
                // Refused: a StartTLS may be asked again.
                self.enter(On::Error, State::Open { tls: Tls::Clear });
                self.release_held();
            }
        }
        self.calls.resolve(tag, reply, &mut self.wake);
    }

    /// Let a request through to the driver, or refuse it here when the
    /// phase forbids it.
    fn start(&mut self, req: Request) -> Option<Event> {
        let refusal = match (&self.state, req.kind) {
            (State::Draining { .. }, _) => Some((SHUTTING_DOWN, "the server is shutting down")),
            (_, CommandKind::StartTls) if self.state.tls() == Tls::Agreed => {
                Some((ONLY_ONE_TLS, "TLS was already started on this connection"))
            }
            (State::Open { .. }, _) | (_, CommandKind::Plain) => None,
            (_, CommandKind::StartTls) => Some((
                TLS_ERROR,
                "a protocol switch or StartTLS is already under way",
            )),
            (_, CommandKind::Switch) => Some((
                PROTOCOL_SWITCHED,
                "a protocol switch or StartTLS is already under way",
            )),
        };
        let route = self.reply_route(req.route.as_ref());
        if let Some((code, description)) = refusal {
            if let Some(tag) = &req.tag {
                // Written at once, even while our own negotiation holds our
                // boxes: a peer negotiating at the same time as us must
                // hear the refusal, or both would wait for ever.
                let (wbuf, route) = (&mut self.wbuf, route.as_deref());
                super::respond::error_box(wbuf, tag, route, code.as_bytes(), description);
                self.counters.error_sent(code.as_bytes());
            }
            return None;
        }
        self.next_request += 1;
        let id = self.next_request;
        let mut req = req;
        req.id = RequestId(id);
        self.in_flight.insert(
            id,
            Answering {
                tag: req.tag.clone(),
                name: req.name.clone(),
                route,
                quit: false,
            },
        );
        let on = match req.kind {
            CommandKind::Plain => None,
            CommandKind::Switch => Some(On::PeerSwitch),
            CommandKind::StartTls => Some(On::PeerStartTls),
        };
        if let Some(on) = on {
            let deciding = State::Deciding {
                kind: req.kind,
                id,
                tls: self.state.tls(),
            };
            self.enter(on, deciding);
        }
        Some(Event::Request(req))
    }

    /// AMP is over: requests waiting or being answered are dropped.
    pub(crate) fn end_requests(&mut self) {
        self.parked.clear();
        self.in_flight.clear();
    }
}
