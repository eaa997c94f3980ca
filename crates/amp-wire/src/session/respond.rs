//! Concluding the peer's requests: answers, errors, and Twisted's rules for
//! which failures close the connection.

use bytes::{Bytes, BytesMut};
use std::time::Instant;

use super::keys::{
    ANSWER, ERROR, ERROR_CODE, ERROR_DESCRIPTION, ROUTE, UNHANDLED, UNKNOWN, UNKNOWN_DESCRIPTION,
};
use super::table::On;
use super::{CommandKind, Disconnect, RequestId, Role, Session, State};
use crate::error::{EncodeError, MAX_VALUE_LENGTH};
use crate::fields::FieldWriter;

/// A request being answered: what its conclusion needs.
#[derive(Debug)]
pub(crate) struct Answering {
    pub(crate) tag: Option<Bytes>,
    pub(crate) name: Bytes,
    /// The `_route` its reply carries (the remote name of the route it
    /// came on), `None` on the default conversation.
    pub(crate) route: Option<Bytes>,
    /// Close the connection once this request is concluded
    /// ([`Session::close_after_reply`]).
    pub(crate) quit: bool,
}

impl Session {
    /// Close the connection once request `id` is concluded and its reply
    /// (answer or error, if it wanted one) is written: Twisted's `QuitBox`
    /// (an answer that closes the connection), for any conclusion. The
    /// reply and the close are one step, so nothing the peer sends
    /// meanwhile is answered. The connection ends with
    /// [`Disconnect::Quit`] (unless it ends for another reason first, such
    /// as a fatal error in the reply). Returns `false` if `id` is not in
    /// flight (concluded already).
    ///
    /// (Twisted sends no `QuitBox` for a request that asked for no answer,
    /// so it does not close then; here asking is explicit, and it closes.)
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// # use amp_wire::Disconnect;
    /// let mut s = Session::new(Config::default(), now);
    /// # let ask: AmpBox = [("_ask", "1"), ("_command", "Quit")].into_iter().collect();
    /// # s.feed(&ask.to_bytes().unwrap(), now);
    /// let Some(Event::Request(req)) = s.poll_event(now) else { panic!() };
    /// assert!(s.close_after_reply(req.id));
    /// s.answer(req.id, |_| Ok(()), now).unwrap();
    /// assert!(matches!(s.close_reason(), Some(Disconnect::Quit { .. })));
    /// assert!(s.has_output()); // the answer is written before the close
    /// assert!(!s.close_after_reply(req.id)); // concluded already
    /// ```
    pub fn close_after_reply(&mut self, id: RequestId) -> bool {
        match self.in_flight.get_mut(&id.0) {
            Some(a) => {
                a.quit = true;
                true
            }
            None => false,
        }
    }

    /// The command of request `id` if it is to close the connection once
    /// concluded; to be passed to [`Session::quit`] after concluding it.
    fn quitting(&self, id: RequestId) -> Option<String> {
        let a = self.in_flight.get(&id.0)?;
        a.quit.then(|| crate::display_bytes(&a.name))
    }

    /// Close after a request that asked for it was concluded (at `now`).
    fn quit(&mut self, command: Option<String>, now: Instant) {
        if let Some(command) = command {
            self.begin_close(On::Quit, Disconnect::Quit { command }, Some(now));
        }
    }

    /// Request `id` is concluded: it no longer counts as in flight, and if
    /// it was the negotiation being decided, decoding resumes. `None` if it
    /// was concluded already, or AMP is over (nothing more is written).
    fn conclude(&mut self, id: RequestId) -> Option<Answering> {
        let answering = self.in_flight.remove(&id.0)?;
        if let State::Deciding {
            id: deciding, tls, ..
        } = self.state
        {
            if deciding == id.0 {
                self.enter(On::Concluded, State::Open { tls });
            }
        }
        Some(answering)
    }

    /// Answer request `id` with the fields `write` writes. A request that
    /// wanted no answer is simply concluded. If the fields cannot be
    /// encoded, the peer gets `UNKNOWN` and the connection closes (Twisted's
    /// `BadLocalReturn`); the error is returned for logging. `now` is the
    /// time: a close this brings writes what is queued within the write
    /// timeout from then.
    pub fn answer(
        &mut self,
        id: RequestId,
        write: impl FnOnce(&mut FieldWriter<'_>) -> Result<(), EncodeError>,
        now: Instant,
    ) -> Result<(), EncodeError> {
        let quit = self.quitting(id);
        let r = self.write_answer(id, write, now);
        self.quit(quit, now);
        r
    }

    fn write_answer(
        &mut self,
        id: RequestId,
        write: impl FnOnce(&mut FieldWriter<'_>) -> Result<(), EncodeError>,
        now: Instant,
    ) -> Result<(), EncodeError> {
        let Some(Answering {
            tag: Some(tag),
            name,
            route,
            ..
        }) = self.conclude(id)
        else {
            return Ok(());
        };
        let Some(out) = self.out() else {
            return Ok(()); // AMP is over: the answer is dropped
        };
        let extras = [
            (ANSWER.as_bytes(), &tag[..]),
            (ROUTE.as_bytes(), route.as_deref().unwrap_or_default()),
        ];
        let extras = &extras[..if route.is_some() { 2 } else { 1 }];
        let mut w = FieldWriter::new(out, extras);
        match write(&mut w).and_then(|()| w.finish()) {
            Ok(()) => {
                self.counters.answers_sent += 1;
                self.counters.boxes_sent += 1;
                self.check_held();
                Ok(())
            }
            Err(e) => {
                let reason = format!("response could not be encoded: {e}");
                self.unknown_error(Some(&tag), route.as_deref(), &name, reason, now);
                Err(e)
            }
        }
    }

    /// Answer request `id` with error `code` (Twisted's declared `errors`);
    /// `fatal` closes the connection once it is written (`fatalErrors`).
    /// For a request that wanted no answer, any error closes the
    /// connection, as in Twisted. `now` is the time (as for
    /// [`Session::answer`]).
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// # fn sent(s: &mut Session, now: Instant) -> Vec<AmpBox> {
    /// #     let mut out = bytes::BytesMut::new();
    /// #     let n = s.poll_transmit(&mut out, now);
    /// #     s.transmitted(n, now);
    /// #     amp_wire::decode_all(&out.freeze()).unwrap()
    /// # }
    /// let mut s = Session::new(Config::default(), now);
    /// # let ask: AmpBox = [("_ask", "1"), ("_command", "Sum")].into_iter().collect();
    /// # s.feed(&ask.to_bytes().unwrap(), now);
    /// let Some(Event::Request(req)) = s.poll_event(now) else { panic!() };
    /// s.fail(req.id, b"OVERFLOW", "the total is too big", false, now);
    /// let reply = sent(&mut s, now);
    /// assert_eq!(reply[0].get("_error_code"), Some(&b"OVERFLOW"[..]));
    /// assert!(!s.is_over()); // not fatal: the connection stays
    /// ```
    pub fn fail(
        &mut self,
        id: RequestId,
        code: &[u8],
        description: &str,
        fatal: bool,
        now: Instant,
    ) {
        let quit = self.quitting(id);
        self.write_failure(id, code, description, fatal, now);
        self.quit(quit, now);
    }

    fn write_failure(
        &mut self,
        id: RequestId,
        code: &[u8],
        description: &str,
        fatal: bool,
        now: Instant,
    ) {
        let Some(Answering {
            tag, name, route, ..
        }) = self.conclude(id)
        else {
            return;
        };
        match tag {
            Some(tag) => {
                self.write_error(&tag, route.as_deref(), code, description);
                if fatal {
                    self.close_flushing(
                        Disconnect::FatalError {
                            code: crate::display_bytes(code),
                            description: description.to_owned(),
                        },
                        now,
                    );
                }
            }
            None => self.close_flushing(
                Disconnect::NoAnswerFailed {
                    command: crate::display_bytes(&name),
                    reason: format!("{}: {description}", crate::display_bytes(code)),
                },
                now,
            ),
        }
    }

    /// The responder failed in a way the command does not declare (bad
    /// arguments, a panic, an undeclared error): `UNKNOWN` is sent and the
    /// connection closes, as in Twisted. `now` is the time (as for
    /// [`Session::answer`]).
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// # fn sent(s: &mut Session, now: Instant) -> Vec<AmpBox> {
    /// #     let mut out = bytes::BytesMut::new();
    /// #     let n = s.poll_transmit(&mut out, now);
    /// #     s.transmitted(n, now);
    /// #     amp_wire::decode_all(&out.freeze()).unwrap()
    /// # }
    /// # use amp_wire::Disconnect;
    /// let mut s = Session::new(Config::default(), now);
    /// # let ask: AmpBox = [("_ask", "1"), ("_command", "Sum")].into_iter().collect();
    /// # s.feed(&ask.to_bytes().unwrap(), now);
    /// let Some(Event::Request(req)) = s.poll_event(now) else { panic!() };
    /// s.fail_unknown(req.id, "argument a is missing".into(), now);
    /// assert_eq!(sent(&mut s, now)[0].get("_error_code"), Some(&b"UNKNOWN"[..]));
    /// assert!(matches!(s.close_reason(), Some(Disconnect::UnknownError { .. })));
    /// ```
    pub fn fail_unknown(&mut self, id: RequestId, reason: String, now: Instant) {
        if let Some(Answering {
            tag, name, route, ..
        }) = self.conclude(id)
        {
            self.unknown_error(tag.as_deref(), route.as_deref(), &name, reason, now);
        }
    }

    fn unknown_error(
        &mut self,
        tag: Option<&[u8]>,
        route: Option<&[u8]>,
        command: &[u8],
        reason: String,
        now: Instant,
    ) {
        let command = crate::display_bytes(command);
        match tag {
            Some(tag) => {
                self.write_error(tag, route, UNKNOWN.as_bytes(), UNKNOWN_DESCRIPTION);
                self.close_flushing(Disconnect::UnknownError { command, reason }, now);
            }
            None => self.close_flushing(Disconnect::NoAnswerFailed { command, reason }, now),
        }
    }

    /// Nothing answers request `id`: `UNHANDLED` (the connection stays),
    /// or for a request that wanted no answer, the connection closes. `now`
    /// is the time (as for [`Session::answer`]).
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// # fn sent(s: &mut Session, now: Instant) -> Vec<AmpBox> {
    /// #     let mut out = bytes::BytesMut::new();
    /// #     let n = s.poll_transmit(&mut out, now);
    /// #     s.transmitted(n, now);
    /// #     amp_wire::decode_all(&out.freeze()).unwrap()
    /// # }
    /// let mut s = Session::new(Config::default(), now);
    /// # let ask: AmpBox = [("_ask", "1"), ("_command", "Nope")].into_iter().collect();
    /// # s.feed(&ask.to_bytes().unwrap(), now);
    /// let Some(Event::Request(req)) = s.poll_event(now) else { panic!() };
    /// s.unhandled(req.id, now);
    /// assert_eq!(sent(&mut s, now)[0].get("_error_code"), Some(&b"UNHANDLED"[..]));
    /// assert!(!s.is_over());
    /// ```
    pub fn unhandled(&mut self, id: RequestId, now: Instant) {
        let quit = self.quitting(id);
        let Some(Answering {
            tag, name, route, ..
        }) = self.conclude(id)
        else {
            return;
        };
        match tag {
            Some(tag) => {
                let description = crate::unhandled_description(&name);
                self.write_error(&tag, route.as_deref(), UNHANDLED.as_bytes(), &description);
            }
            None => self.close_flushing(
                Disconnect::NoAnswerFailed {
                    command: crate::display_bytes(&name),
                    reason: "no responder".into(),
                },
                now,
            ),
        }
        self.quit(quit, now);
    }

    /// Agree to the peer's switch request `id` (being decided): the answer
    /// (just `_answer`) is written, AMP is over, and once it is written the
    /// session hands the transport over ([`Event::HandOver`](super::Event::HandOver)).
    /// Returns `false` (and only concludes the request) when `id` is not
    /// the switch being decided.
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// # fn sent(s: &mut Session, now: Instant) -> Vec<AmpBox> {
    /// #     let mut out = bytes::BytesMut::new();
    /// #     let n = s.poll_transmit(&mut out, now);
    /// #     s.transmitted(n, now);
    /// #     amp_wire::decode_all(&out.freeze()).unwrap()
    /// # }
    /// # use amp_wire::session::Role;
    /// let mut s = Session::new(Config::default(), now);
    /// s.negotiates_switch("Upgrade");
    /// # let ask: AmpBox = [("_ask", "1"), ("_command", "Upgrade")].into_iter().collect();
    /// # s.feed(&ask.to_bytes().unwrap(), now);
    /// let Some(Event::Request(req)) = s.poll_event(now) else { panic!() };
    /// assert!(s.accept_switch(req.id));
    /// assert_eq!(sent(&mut s, now)[0].get("_answer"), Some(&b"1"[..]));
    /// let events: Vec<Event> = std::iter::from_fn(|| s.poll_event(now)).collect();
    /// assert!(matches!(events[..], [Event::Over, Event::HandOver { role: Role::Responder, .. }]));
    /// ```
    pub fn accept_switch(&mut self, id: RequestId) -> bool {
        if !self.agree(id, CommandKind::Switch) {
            return false;
        }
        self.calls
            .fail_all(&Disconnect::Switched, None, &mut self.wake);
        self.end_requests();
        let handing_over = State::HandingOver {
            role: Role::Responder,
            call: None,
            tls: self.state.tls(),
        };
        self.enter(On::AcceptSwitch, handing_over);
        self.release_writers();
        true
    }

    /// Agree to the peer's StartTLS request `id` (being decided): the
    /// answer is written in clear, our boxes are held from now on, and once
    /// the answer is written the session asks for the handshake
    /// ([`Event::StartTls`](super::Event::StartTls)). Returns `false` when
    /// `id` is not the StartTLS being decided.
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// # fn sent(s: &mut Session, now: Instant) -> Vec<AmpBox> {
    /// #     let mut out = bytes::BytesMut::new();
    /// #     let n = s.poll_transmit(&mut out, now);
    /// #     s.transmitted(n, now);
    /// #     amp_wire::decode_all(&out.freeze()).unwrap()
    /// # }
    /// # use amp_wire::session::Role;
    /// let mut s = Session::new(Config::default(), now);
    /// s.negotiates_start_tls();
    /// # let ask: AmpBox = [("_ask", "1"), ("_command", "StartTLS")].into_iter().collect();
    /// # s.feed(&ask.to_bytes().unwrap(), now);
    /// let Some(Event::Request(req)) = s.poll_event(now) else { panic!() };
    /// assert!(s.accept_start_tls(req.id));
    /// assert_eq!(sent(&mut s, now)[0].get("_answer"), Some(&b"1"[..]));
    /// // The answer is written: we are the TLS server.
    /// assert!(matches!(s.poll_event(now), Some(Event::StartTls(Role::Responder))));
    /// ```
    pub fn accept_start_tls(&mut self, id: RequestId) -> bool {
        if !self.agree(id, CommandKind::StartTls) {
            return false;
        }
        let flushing = State::TlsFlushing {
            role: Role::Responder,
            call: None,
        };
        self.enter(On::AcceptStartTls, flushing);
        true
    }

    /// Agree to negotiation `id` if it is the one of kind `want` being
    /// decided: its (empty) answer is written, and the phase is left for
    /// the caller to change (it goes from deciding straight to what was
    /// agreed). Otherwise the request is just concluded, and nothing is
    /// agreed.
    fn agree(&mut self, id: RequestId, want: CommandKind) -> bool {
        let deciding =
            matches!(self.state, State::Deciding { kind, id: d, .. } if kind == want && d == id.0);
        let tag = match self.in_flight.get(&id.0) {
            Some(Answering { tag: Some(tag), .. }) if deciding => tag.clone(),
            _ => {
                self.conclude(id);
                return false;
            }
        };
        self.in_flight.remove(&id.0);
        if let Some(out) = self.out() {
            let extras = [(ANSWER.as_bytes(), &tag[..])];
            let _ = FieldWriter::new(out, &extras).finish();
            self.counters.answers_sent += 1;
            self.counters.boxes_sent += 1;
        }
        true
    }

    /// Write an error box for `tag` (on `route`, if any) where boxes go
    /// now.
    pub(crate) fn write_error(
        &mut self,
        tag: &[u8],
        route: Option<&[u8]>,
        code: &[u8],
        description: &str,
    ) {
        if let Some(out) = self.out() {
            error_box(out, tag, route, code, description);
            self.counters.error_sent(code);
            self.check_held();
        }
    }
}

/// Append an error box for `tag` (with `_route: route`, if any) to `out`
/// (code and description cut to AMP's value limit).
pub(crate) fn error_box(
    out: &mut BytesMut,
    tag: &[u8],
    route: Option<&[u8]>,
    code: &[u8],
    description: &str,
) {
    let mut desc = description;
    if desc.len() > MAX_VALUE_LENGTH {
        let mut end = MAX_VALUE_LENGTH;
        while !desc.is_char_boundary(end) {
            end -= 1;
        }
        desc = &desc[..end];
    }
    let code = &code[..code.len().min(MAX_VALUE_LENGTH)];
    let extras = [
        (ERROR.as_bytes(), tag),
        (ERROR_CODE.as_bytes(), code),
        (ERROR_DESCRIPTION.as_bytes(), desc.as_bytes()),
        (ROUTE.as_bytes(), route.unwrap_or_default()),
    ];
    let extras = &extras[..if route.is_some() { 4 } else { 3 }];
    let _ = FieldWriter::new(out, extras).finish();
}
