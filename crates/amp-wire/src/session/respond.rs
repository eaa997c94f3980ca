//! Concluding the peer's requests: answers, errors, and Twisted's rules for
//! which failures close the connection.

use super::keys::{
    ANSWER, ERROR, ERROR_CODE, ERROR_DESCRIPTION, UNHANDLED, UNKNOWN, UNKNOWN_DESCRIPTION,
};
use super::{Disconnect, RequestKind, Role, Session, State};
use crate::error::{EncodeError, MAX_VALUE_LENGTH};
use crate::fields::FieldWriter;

impl Session {
    /// One request is concluded: it no longer counts as in flight, and if
    /// it was the negotiation being decided, decoding resumes.
    fn conclude(&mut self, tag: Option<&[u8]>) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if let State::Deciding { tag: deciding, .. } = &self.state {
            if tag == Some(&deciding[..]) {
                self.state = State::Open;
            }
        }
    }

    /// Answer request `tag` (of command `command`) with the fields `write`
    /// writes. A request that wanted no answer (`tag` `None`) is simply
    /// concluded. If the fields cannot be encoded, the peer gets `UNKNOWN`
    /// and the connection closes (Twisted's `BadLocalReturn`); the error is
    /// returned for logging.
    pub fn answer(
        &mut self,
        tag: Option<&[u8]>,
        command: &[u8],
        write: impl FnOnce(&mut FieldWriter<'_>) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        self.conclude(tag);
        let Some(tag) = tag else {
            return Ok(());
        };
        let Some(out) = self.out() else {
            return Ok(()); // AMP is over: the answer is dropped
        };
        let extras = [(ANSWER.as_bytes(), tag)];
        let mut w = FieldWriter::new(out, &extras);
        match write(&mut w).and_then(|()| w.finish()) {
            Ok(()) => {
                self.check_held();
                Ok(())
            }
            Err(e) => {
                self.unknown_error(
                    Some(tag),
                    command,
                    format!("response could not be encoded: {e}"),
                );
                Err(e)
            }
        }
    }

    /// Answer request `tag` with error `code` (Twisted's declared
    /// `errors`); `fatal` closes the connection once it is written
    /// (`fatalErrors`). For a request that wanted no answer, any error
    /// closes the connection, as in Twisted.
    pub fn fail(
        &mut self,
        tag: Option<&[u8]>,
        command: &[u8],
        code: &[u8],
        description: &str,
        fatal: bool,
    ) {
        self.conclude(tag);
        match tag {
            Some(tag) => {
                self.write_error(tag, code, description);
                if fatal {
                    self.begin_close(
                        Disconnect::FatalError {
                            code: crate::display_bytes(code),
                            description: description.to_owned(),
                        },
                        true,
                    );
                }
            }
            None => self.begin_close(
                Disconnect::NoAnswerFailed {
                    command: crate::display_bytes(command),
                    reason: format!("{}: {description}", crate::display_bytes(code)),
                },
                true,
            ),
        }
    }

    /// The responder failed in a way the command does not declare (bad
    /// arguments, a panic, an undeclared error): `UNKNOWN` is sent and the
    /// connection closes, as in Twisted.
    pub fn fail_unknown(&mut self, tag: Option<&[u8]>, command: &[u8], reason: String) {
        self.conclude(tag);
        self.unknown_error(tag, command, reason);
    }

    fn unknown_error(&mut self, tag: Option<&[u8]>, command: &[u8], reason: String) {
        let command = crate::display_bytes(command);
        match tag {
            Some(tag) => {
                self.write_error(tag, UNKNOWN.as_bytes(), UNKNOWN_DESCRIPTION);
                self.begin_close(Disconnect::UnknownError { command, reason }, true);
            }
            None => self.begin_close(Disconnect::NoAnswerFailed { command, reason }, true),
        }
    }

    /// Nothing answers `command`: `UNHANDLED` (the connection stays), or for
    /// a request that wanted no answer, the connection closes.
    pub fn unhandled(&mut self, tag: Option<&[u8]>, command: &[u8]) {
        self.conclude(tag);
        match tag {
            Some(tag) => {
                let description = crate::unhandled_description(command);
                self.write_error(tag, UNHANDLED.as_bytes(), &description);
            }
            None => self.begin_close(
                Disconnect::NoAnswerFailed {
                    command: crate::display_bytes(command),
                    reason: "no responder".into(),
                },
                true,
            ),
        }
    }

    /// Agree to the peer's switch request `tag` (being decided): the answer
    /// (just `_answer`) is written, AMP is over, and once it is written the
    /// session hands the transport over ([`Event::HandOver`](super::Event::HandOver)).
    /// Returns `false` (and does nothing but conclude the request) when
    /// `tag` is not the switch being decided.
    pub fn accept_switch(&mut self, tag: Option<&[u8]>) -> bool {
        if !self.agree(tag, RequestKind::Switch) {
            return false;
        }
        self.calls
            .fail_all(&Disconnect::Switched, None, &mut self.wake);
        self.end_requests();
        self.state = State::HandingOver {
            role: Role::Responder,
            call: None,
        };
        self.release_writers();
        true
    }

    /// Agree to the peer's StartTLS request `tag` (being decided): the
    /// answer is written in clear, our boxes are held from now on, and once
    /// the answer is written the session asks for the handshake
    /// ([`Event::StartTls`](super::Event::StartTls)). Returns `false` when
    /// `tag` is not the StartTLS being decided.
    pub fn accept_start_tls(&mut self, tag: Option<&[u8]>) -> bool {
        if !self.agree(tag, RequestKind::StartTls) {
            return false;
        }
        self.tls_agreed = true;
        self.state = State::TlsFlushing {
            role: Role::Responder,
            call: None,
        };
        true
    }

    /// Agree to the negotiation `tag` if it is the one of kind `want`
    /// being decided: its (empty) answer is written. Otherwise the request
    /// is just concluded, and nothing is agreed.
    fn agree(&mut self, tag: Option<&[u8]>, want: RequestKind) -> bool {
        let deciding = matches!(
            (&self.state, tag),
            (State::Deciding { kind, tag: t }, Some(tag)) if *kind == want && t[..] == *tag
        );
        let (true, Some(tag)) = (deciding, tag) else {
            self.conclude(tag);
            return false;
        };
        self.in_flight = self.in_flight.saturating_sub(1);
        if let Some(out) = self.out() {
            let extras = [(ANSWER.as_bytes(), tag)];
            let _ = FieldWriter::new(out, &extras).finish();
        }
        true
    }

    /// Write an error box for `tag` (code and description cut to AMP's
    /// value limit).
    pub(crate) fn write_error(&mut self, tag: &[u8], code: &[u8], description: &str) {
        let mut desc = description;
        if desc.len() > MAX_VALUE_LENGTH {
            let mut end = MAX_VALUE_LENGTH;
            while !desc.is_char_boundary(end) {
                end -= 1;
            }
            desc = &desc[..end];
        }
        let code = &code[..code.len().min(MAX_VALUE_LENGTH)];
        let Some(out) = self.out() else {
            return;
        };
        let extras = [
            (ERROR.as_bytes(), tag),
            (ERROR_CODE.as_bytes(), code),
            (ERROR_DESCRIPTION.as_bytes(), desc.as_bytes()),
        ];
        let _ = FieldWriter::new(out, &extras).finish();
        self.check_held();
    }
}
