//! Our side's requests, and the output buffers they go to.

use bytes::BytesMut;
use std::task::{Poll, Waker};
use std::time::Instant;

use super::calls::{format_tag, CommandKind, Reply};
use super::keys::{ASK, COMMAND, ROUTE, START_TLS};
use super::table::On;
use super::{Disconnect, Session, State, Tls};
use crate::error::{EncodeError, MAX_VALUE_LENGTH};
use crate::fields::FieldWriter;

/// Why the session refused to send a request. Nothing was written.
///
/// ```
/// use amp_wire::session::{SendError, Session};
/// use amp_wire::{Config, Disconnect, EncodeError};
/// use std::error::Error;
/// use std::time::Instant;
///
/// let now = Instant::now();
/// let mut s = Session::new(Config::default(), now);
/// let err = s.call(b"Sum", |w| w.put_raw(b"", b"1")).unwrap_err(); // an empty key
/// assert!(matches!(err, SendError::Encode(EncodeError::BadKeyLength { .. })));
/// assert!(!s.has_output());
///
/// s.close(now);
/// let err = s.call(b"Sum", |_| Ok(())).unwrap_err();
/// assert!(matches!(err, SendError::Closed(Disconnect::LocalClose)));
/// assert!(err.source().unwrap().is::<Disconnect>()); // why it closed
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// A protocol switch is under way or done, or another negotiation
    /// (switch, StartTLS) is (Twisted's `ProtocolSwitched`).
    #[error("the connection is switching (or switched) protocols")]
    Switched,
    /// StartTLS was already agreed on this connection (Twisted's
    /// `OnlyOneTLS`).
    #[error("TLS was already started on this connection")]
    OnlyOneTls,
    /// The connection has ended, or is ending.
    #[error("the connection has ended")]
    Closed(#[source] Disconnect),
    /// The arguments could not be encoded.
    #[error("the arguments could not be encoded")]
    Encode(#[source] EncodeError),
}

impl Session {
    /// Whether a request of `kind` may be sent now (else the reason).
    pub(crate) fn may_send(&self, kind: CommandKind) -> Result<(), SendError> {
        let negotiates = kind != CommandKind::Plain;
        let open = !self.state.phase().is_over();
        if open && kind == CommandKind::StartTls && self.state.tls() == Tls::Agreed {
            return Err(SendError::OnlyOneTls);
        }
        match &self.state {
            State::Open { .. } => Ok(()),
            State::Draining { .. } if negotiates => Err(SendError::Closed(Disconnect::Shutdown)),
            State::Draining { .. } => Ok(()),
            State::Switching { .. } | State::HandingOver { .. } | State::Switched { .. } => {
                Err(SendError::Switched)
            }
            State::Closing { reason, .. } | State::Closed { reason, .. } => {
                Err(SendError::Closed(reason.clone()))
            }
            // Deciding, TlsRequested, TlsFlushing, TlsHandshake: one
            // negotiation at a time.
            _ if negotiates => Err(SendError::Switched),
            _ => Ok(()),
        }
    }

    /// Whether [`Session::call`] or [`Session::notify`] would be refused
    /// now, and why.
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// # use amp_wire::session::SendError;
    /// # use amp_wire::Disconnect;
    /// let mut s = Session::new(Config::default(), now);
    /// assert!(s.check_call().is_ok());
    /// s.close(now);
    /// assert!(matches!(s.check_call(), Err(SendError::Closed(Disconnect::LocalClose))));
    /// ```
    pub fn check_call(&self) -> Result<(), SendError> {
        self.may_send(CommandKind::Plain)
    }

    /// Whether [`Session::switch`] would be refused now, and why.
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// # use amp_wire::session::SendError;
    /// let mut s = Session::new(Config::default(), now);
    /// assert!(s.check_switch().is_ok());
    /// s.start_tls().unwrap();
    /// // One negotiation at a time; plain calls may still go (held until TLS).
    /// assert!(matches!(s.check_switch(), Err(SendError::Switched)));
    /// assert!(s.check_call().is_ok());
    /// ```
    pub fn check_switch(&self) -> Result<(), SendError> {
        self.may_send(CommandKind::Switch)
    }

    /// Whether [`Session::start_tls`] would be refused now, and why.
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// # use amp_wire::session::SendError;
    /// let mut s = Session::new(Config::default(), now);
    /// assert!(s.check_start_tls().is_ok());
    /// s.start_tls().unwrap();
    /// assert!(matches!(s.check_start_tls(), Err(SendError::OnlyOneTls)));
    /// ```
    pub fn check_start_tls(&self) -> Result<(), SendError> {
        self.may_send(CommandKind::StartTls)
    }

    /// Whether a new request may be written now without passing
    /// [`Config::write_high_water`](crate::Config::write_high_water).
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// let config = Config::builder().write_high_water(16).build().unwrap();
    /// let mut s = Session::new(config, now);
    /// assert!(s.writable());
    /// s.call(b"Sum", |w| w.put_raw(b"a", b"1")).unwrap(); // more than 16 bytes
    /// assert!(!s.writable());
    /// let mut out = bytes::BytesMut::new();
    /// let n = s.poll_transmit(&mut out, now);
    /// s.transmitted(n, now); // written out
    /// assert!(s.writable());
    /// ```
    pub fn writable(&self) -> bool {
        self.wbuf.len() + self.held.len() + self.in_transit < self.config.write_high_water()
    }

    /// Wait for room to write: `Ready` when [`Session::writable`], else
    /// `waker` is woken when there is room (or the connection ends).
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// # use std::task::{Poll, Waker};
    /// let config = Config::builder().write_high_water(16).build().unwrap();
    /// let mut s = Session::new(config, now);
    /// s.call(b"Sum", |w| w.put_raw(b"a", b"1")).unwrap();
    /// assert!(s.poll_writable(Waker::noop()).is_pending());
    /// let mut out = bytes::BytesMut::new();
    /// let n = s.poll_transmit(&mut out, now);
    /// s.transmitted(n, now);
    /// let mut wakers = Vec::new();
    /// s.drain_wakers(&mut wakers);
    /// assert_eq!(wakers.len(), 1); // the writer waiting for room
    /// assert!(s.poll_writable(Waker::noop()).is_ready());
    /// ```
    pub fn poll_writable(&mut self, waker: &Waker) -> Poll<()> {
        if self.writable() || self.is_over() {
            return Poll::Ready(());
        }
        if !self.write_waiters.iter().any(|w| w.will_wake(waker)) {
            self.write_waiters.push(waker.clone());
        }
        Poll::Pending
    }

    /// Call command `name`, asking for an answer: the request is written
    /// (or held) at once with a new tag, which is returned; take the reply
    /// with [`Session::poll_reply`]. `args` writes the arguments.
    ///
    /// Refused when AMP is over or a switch is under way. Callers should
    /// wait for [`Session::poll_writable`] first: the session does not
    /// refuse a request past the high-water mark.
    pub fn call(
        &mut self,
        name: &[u8],
        args: impl FnOnce(&mut FieldWriter<'_>) -> Result<(), EncodeError>,
    ) -> Result<u64, SendError> {
        self.send(name, Some(CommandKind::Plain), None, args)
    }

    /// Send command `name` without asking for an answer (no `_ask`). Like
    /// Twisted, this still uses up a tag number.
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
    /// s.notify(b"Log", |w| w.put_raw(b"line", b"hello")).unwrap();
    /// assert_eq!(s.unanswered_calls(), 0); // no answer is awaited
    /// let request = &sent(&mut s, now)[0];
    /// assert_eq!((request.get("_command"), request.get("_ask")), (Some(&b"Log"[..]), None));
    /// ```
    pub fn notify(
        &mut self,
        name: &[u8],
        args: impl FnOnce(&mut FieldWriter<'_>) -> Result<(), EncodeError>,
    ) -> Result<(), SendError> {
        self.send(name, None, None, args).map(|_| ())
    }

    /// Ask the peer to switch protocols with command `name`: the
    /// connection locks (phase `Switching`) until the answer. On an answer
    /// the session hands the transport over ([`Event::HandOver`](super::Event::HandOver));
    /// on an error AMP goes on.
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// # use amp_wire::session::{Phase, SendError};
    /// let mut s = Session::new(Config::default(), now);
    /// let tag = s.switch(b"Upgrade", |w| w.put_raw(b"to", b"http")).unwrap();
    /// assert_eq!(tag, 1);
    /// assert_eq!(s.phase(), Phase::Switching);
    /// assert!(matches!(s.call(b"Sum", |_| Ok(())), Err(SendError::Switched)));
    /// ```
    pub fn switch(
        &mut self,
        name: &[u8],
        args: impl FnOnce(&mut FieldWriter<'_>) -> Result<(), EncodeError>,
    ) -> Result<u64, SendError> {
        self.send(name, Some(CommandKind::Switch), None, args)
    }

    /// Ask the peer for StartTLS: our boxes are held from now on; on the
    /// answer the session asks for the handshake ([`Event::StartTls`](super::Event::StartTls)),
    /// and the call is answered once TLS is up.
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
    /// # use amp_wire::session::Phase;
    /// let mut s = Session::new(Config::default(), now);
    /// s.start_tls().unwrap();
    /// assert_eq!(s.phase(), Phase::TlsRequested);
    /// assert_eq!(sent(&mut s, now)[0].get("_command"), Some(&b"StartTLS"[..]));
    /// s.call(b"Sum", |_| Ok(())).unwrap();
    /// assert!(!s.has_output()); // held until TLS is up
    /// ```
    pub fn start_tls(&mut self) -> Result<u64, SendError> {
        self.send(
            START_TLS.as_bytes(),
            Some(CommandKind::StartTls),
            None,
            |_| Ok(()),
        )
    }

    /// Write a request; `route` is the `_route` it carries, if any.
    pub(super) fn send(
        &mut self,
        name: &[u8],
        kind: Option<CommandKind>,
        route: Option<&[u8]>,
        args: impl FnOnce(&mut FieldWriter<'_>) -> Result<(), EncodeError>,
    ) -> Result<u64, SendError> {
        self.may_send(kind.unwrap_or(CommandKind::Plain))?;
        if name.len() > MAX_VALUE_LENGTH {
            return Err(SendError::Encode(EncodeError::ValueTooLong {
                key: bytes::Bytes::from_static(COMMAND.as_bytes()),
                len: name.len(),
            }));
        }
        let tag = self.calls.peek_tag();
        let mut digits = [0u8; 16];
        let hex = format_tag(tag, &mut digits);
        let with_ask = [
            (ASK.as_bytes(), hex),
            (COMMAND.as_bytes(), name),
            (ROUTE.as_bytes(), route.unwrap_or_default()),
        ];
        let end = if route.is_some() { 3 } else { 2 };
        let extras: &[(&[u8], &[u8])] = if kind.is_some() {
            &with_ask[..end]
        } else {
            &with_ask[1..end]
        };
        let Some(out) = self.out() else {
            return Err(SendError::Switched); // unreachable: may_send checked
        };
        let mut w = FieldWriter::new(out, extras);
        args(&mut w).map_err(SendError::Encode)?;
        w.finish().map_err(SendError::Encode)?;
        self.calls.next_tag();
        self.counters.requests_sent += 1;
        self.counters.boxes_sent += 1;
        if let Some(kind) = kind {
            self.calls.register(tag, kind);
            match kind {
                CommandKind::Plain => {}
                CommandKind::Switch => {
                    let tls = self.state.tls();
                    self.enter(On::Switch, State::Switching { tls });
                }
                CommandKind::StartTls => self.enter(On::StartTls, State::TlsRequested),
            }
        }
        self.check_held();
        Ok(tag)
    }

    /// The reply to call `tag`, or `Pending` (and `waker` is woken when it
    /// comes). Once returned, the tag is forgotten.
    pub fn poll_reply(&mut self, tag: u64, waker: &Waker) -> Poll<Reply> {
        if let Some(r) = self.calls.poll(tag, waker) {
            return Poll::Ready(r);
        }
        if self.calls.is_gone(tag) {
            let reason = self
                .close_reason()
                .cloned()
                .unwrap_or(Disconnect::LocalClose);
            return Poll::Ready(Reply::Lost(reason));
        }
        Poll::Pending
    }

    /// The caller of `tag` gave up: its answer, if it comes, is dropped
    /// quietly (the peer is not told).
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// let mut s = Session::new(Config::default(), now);
    /// let tag = s.call(b"Slow", |_| Ok(())).unwrap();
    /// s.abandon(tag);
    /// assert_eq!(s.unanswered_calls(), 0);
    /// # let answer: AmpBox = [("_answer", "1")].into_iter().collect();
    /// s.feed(&answer.to_bytes().unwrap(), now); // the answer comes anyway...
    /// assert!(s.poll_event(now).is_none());
    /// assert!(!s.is_over()); // ...and is dropped quietly
    /// ```
    pub fn abandon(&mut self, tag: u64) {
        self.calls.abandon(tag);
        self.forget_routed_call(tag);
    }

    /// Where boxes go now: written, held back, or nowhere (AMP is over).
    pub(crate) fn out(&mut self) -> Option<&mut BytesMut> {
        let phase = self.state.phase();
        if phase.is_over() {
            None
        } else if phase.holds() {
            Some(&mut self.held)
        } else {
            Some(&mut self.wbuf)
        }
    }

    /// End the connection if the held boxes passed their limit.
    pub(crate) fn check_held(&mut self) {
        let held = self.held.len();
        if held > self.config.max_held() {
            self.close_at_once(Disconnect::HeldTooMuch { held });
        }
    }

    /// The negotiation ended well or was refused: held boxes go out.
    pub(crate) fn release_held(&mut self) {
        if !self.held.is_empty() {
            let held = std::mem::take(&mut self.held);
            self.wbuf.unsplit(held);
        }
    }

    /// Move the bytes ready to be written to the end of `out` (the
    /// driver's write buffer); returns how many. Report them with
    /// [`Session::transmitted`] as they are written.
    pub fn poll_transmit(&mut self, out: &mut BytesMut, now: Instant) -> usize {
        let n = self.wbuf.len();
        if n == 0 {
            return 0;
        }
        if out.is_empty() {
            std::mem::swap(out, &mut self.wbuf);
        } else {
            out.extend_from_slice(&self.wbuf);
            self.wbuf.clear();
        }
        if self.in_transit == 0 {
            self.write_since = Some(now);
        }
        self.in_transit += n;
        self.last_activity = now;
        self.buffers_kept = true;
        n
    }

    /// `n` bytes given out by [`Session::poll_transmit`] were written.
    pub fn transmitted(&mut self, n: usize, now: Instant) {
        self.counters.bytes_sent += n.min(self.in_transit) as u64;
        self.in_transit = self.in_transit.saturating_sub(n);
        if n > 0 {
            self.write_since = (self.in_transit > 0 || !self.wbuf.is_empty()).then_some(now);
        }
        if self.writable() && !self.write_waiters.is_empty() {
            self.wake.append(&mut self.write_waiters);
        }
    }

    /// Whether output waits to be transmitted.
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// let mut s = Session::new(Config::default(), now);
    /// assert!(!s.has_output());
    /// s.call(b"Sum", |_| Ok(())).unwrap();
    /// assert!(s.has_output());
    /// s.poll_transmit(&mut bytes::BytesMut::new(), now);
    /// assert!(!s.has_output()); // given to the driver
    /// ```
    pub fn has_output(&self) -> bool {
        !self.wbuf.is_empty()
    }

    /// Wake everyone waiting to write (the connection ended).
    pub(crate) fn release_writers(&mut self) {
        self.wake.append(&mut self.write_waiters);
    }
}
