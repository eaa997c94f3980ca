//! How negotiations end and how the connection ends.

use bytes::BytesMut;
use std::sync::Arc;
use std::time::Instant;

use super::calls::Reply;
use super::state::{Flush, Tls};
use super::table::On;
use super::{Disconnect, Session, State};
use crate::AmpBox;

impl Session {
    /// Close the connection: what is queued is written (within
    /// [`Config::write_timeout`](crate::Config::write_timeout)), then the
    /// transport is shut down. Calls fail with [`Disconnect::LocalClose`].
    /// `now` is the time: the write timeout runs from it.
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// # use amp_wire::session::Reply;
    /// # use amp_wire::Disconnect;
    /// # use std::task::{Poll, Waker};
    /// let mut s = Session::new(Config::default(), now);
    /// let tag = s.call(b"Sum", |_| Ok(())).unwrap();
    /// s.close(now);
    /// let Poll::Ready(Reply::Lost(reason)) = s.poll_reply(tag, Waker::noop()) else { panic!() };
    /// assert!(matches!(reason, Disconnect::LocalClose));
    /// assert!(s.has_output() && !s.discard_output()); // the call is still written
    /// ```
    pub fn close(&mut self, now: Instant) {
        self.close_flushing(Disconnect::LocalClose, now);
    }

    /// End the connection at once with `reason` (the transport failed, or
    /// the driver is going away): nothing more is written.
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// # use amp_wire::Disconnect;
    /// # use std::sync::Arc;
    /// let mut s = Session::new(Config::default(), now);
    /// s.call(b"Sum", |_| Ok(())).unwrap();
    /// let error = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
    /// s.abort(Disconnect::Io(Arc::new(error)));
    /// assert!(matches!(s.close_reason(), Some(Disconnect::Io(_))));
    /// assert!(s.discard_output() && !s.has_output()); // nothing more is written
    /// ```
    pub fn abort(&mut self, reason: Disconnect) {
        self.close_at_once(reason);
    }

    /// Begin a graceful shutdown: from now on requests are refused with
    /// `SHUTTING_DOWN`, and once nothing is in flight and no call of ours
    /// is unanswered the connection closes with [`Disconnect::Shutdown`].
    /// A connection in the middle of a negotiation closes at once (what is
    /// queued is written within the write timeout, from `now`).
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
    /// let tag = s.call(b"Sum", |_| Ok(())).unwrap();
    /// s.shutdown(now);
    /// assert_eq!(s.phase(), Phase::Draining); // our call is still unanswered
    /// # let ask: AmpBox = [("_ask", "1"), ("_command", "Sum")].into_iter().collect();
    /// # s.feed(&ask.to_bytes().unwrap(), now);
    /// assert!(s.poll_event(now).is_none()); // the peer's request is refused
    /// assert_eq!(sent(&mut s, now)[1].get("_error_code"), Some(&b"SHUTTING_DOWN"[..]));
    /// ```
    pub fn shutdown(&mut self, now: Instant) {
        match self.state {
            State::Open { tls } => self.enter(On::Shutdown, State::Draining { tls }),
            State::Draining { .. }
            | State::HandingOver { .. }
            | State::Switched { .. }
            | State::Closing { .. }
            | State::Closed { .. } => {}
            _ => self.close_flushing(Disconnect::Shutdown, now),
        }
    }

    /// Start ending the connection (the first reason wins), writing what is
    /// queued first: within [`Config::write_timeout`](crate::Config::write_timeout)
    /// from `now`.
    pub(crate) fn close_flushing(&mut self, reason: Disconnect, now: Instant) {
        self.begin_close(On::End, reason, Some(now));
    }

    /// Start ending the connection (the first reason wins), writing nothing
    /// more: it is over at once.
    pub(crate) fn close_at_once(&mut self, reason: Disconnect) {
        self.begin_close(On::End, reason, None);
    }

    /// Start ending the connection, on `on`; `flush_from`: write what is
    /// queued first, from this time on.
    pub(crate) fn begin_close(&mut self, on: On, reason: Disconnect, flush_from: Option<Instant>) {
        match &mut self.state {
            State::Closing { flush, .. } => {
                if flush_from.is_none() && *flush != Flush::No {
                    // Aborted while writing what was queued (the transport
                    // failed, the driver goes): nothing more is written.
                    *flush = Flush::No;
                    self.wbuf = BytesMut::new();
                }
                return;
            }
            State::Closed { .. } | State::Switched { .. } => return,
            _ => {}
        }
        // A handshake owns the transport: nothing more can be written.
        let flush = match flush_from {
            Some(now) if !matches!(self.state, State::TlsHandshake { .. }) => {
                Flush::Until(self.config.write_timeout().map(|t| now + t))
            }
            _ => Flush::No,
        };
        self.calls.fail_all(&reason, None, &mut self.wake);
        self.end_requests();
        self.held = BytesMut::new();
        if flush == Flush::No {
            self.wbuf = BytesMut::new();
        }
        self.release_writers();
        let tls = self.state.tls();
        self.enter(on, State::Closing { reason, flush, tls });
    }

    /// Whether the driver should now shut the transport down and then call
    /// [`Session::finish`]: the connection is closing and what had to be
    /// written is (or nothing is to be written).
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// let mut s = Session::new(Config::default(), now);
    /// s.call(b"Sum", |_| Ok(())).unwrap();
    /// s.close(now);
    /// assert!(!s.ready_to_close()); // the call is still to be written
    /// let mut out = bytes::BytesMut::new();
    /// let n = s.poll_transmit(&mut out, now);
    /// s.transmitted(n, now);
    /// assert!(s.ready_to_close());
    /// ```
    pub fn ready_to_close(&self) -> bool {
        match &self.state {
            State::Closing { flush, .. } => *flush == Flush::No || self.output_flushed(),
            _ => false,
        }
    }

    /// Whether the driver should drop the bytes it has not written yet
    /// (the connection is closing without flushing).
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// # use amp_wire::Disconnect;
    /// let mut s = Session::new(Config::default(), now);
    /// s.close(now);
    /// assert!(!s.discard_output()); // a close writes what is queued
    /// s.abort(Disconnect::PeerClosed);
    /// assert!(s.discard_output()); // an abort does not
    /// ```
    pub fn discard_output(&self) -> bool {
        matches!(
            self.state,
            State::Closing {
                flush: Flush::No,
                ..
            }
        )
    }

    /// The transport is shut down (or gone): the connection has ended.
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// # use amp_wire::Disconnect;
    /// let mut s = Session::new(Config::default(), now);
    /// s.close(now);
    /// assert!(matches!(s.poll_event(now), Some(Event::Over)));
    /// assert!(matches!(s.poll_event(now), Some(Event::CloseTransport)));
    /// s.finish(); // the driver shut the transport down
    /// assert!(s.is_finished());
    /// assert!(matches!(s.poll_event(now), Some(Event::Closed(Disconnect::LocalClose))));
    /// ```
    pub fn finish(&mut self) {
        if let State::Closing { reason, tls, .. } = &self.state {
            let closed = State::Closed {
                reason: reason.clone(),
                tls: *tls,
            };
            self.enter(On::Finish, closed);
        }
    }

    /// The TLS handshake succeeded: held boxes go out (over TLS), our
    /// StartTLS call is answered.
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
    /// # use amp_wire::session::{Reply, Role};
    /// # use std::task::{Poll, Waker};
    /// let mut s = Session::new(Config::default(), now);
    /// let tag = s.start_tls().unwrap();
    /// sent(&mut s, now);
    /// # let yes: AmpBox = [("_answer", "1")].into_iter().collect();
    /// s.feed(&yes.to_bytes().unwrap(), now); // the peer agrees
    /// assert!(matches!(s.poll_event(now), Some(Event::StartTls(Role::Requester))));
    /// s.tls_established(); // the handshake went well
    /// assert!(s.tls_agreed() && !s.is_over());
    /// assert!(matches!(s.poll_reply(tag, Waker::noop()), Poll::Ready(Reply::Answer(_))));
    /// ```
    pub fn tls_established(&mut self) {
        let State::TlsHandshake { call, .. } = self.state else {
            return;
        };
        self.enter(On::TlsEstablished, State::Open { tls: Tls::Agreed });
        self.release_held();
        if let Some(tag) = call {
            self.calls
                .resolve(tag, Reply::Answer(AmpBox::new()), &mut self.wake);
        }
    }

    /// The TLS handshake failed: the connection ends with
    /// [`Disconnect::Tls`] carrying `error`.
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
    /// # use amp_wire::session::{Reply, Role};
    /// # use std::task::{Poll, Waker};
    /// let mut s = Session::new(Config::default(), now);
    /// let tag = s.start_tls().unwrap();
    /// sent(&mut s, now);
    /// # let yes: AmpBox = [("_answer", "1")].into_iter().collect();
    /// s.feed(&yes.to_bytes().unwrap(), now); // the peer agrees
    /// assert!(matches!(s.poll_event(now), Some(Event::StartTls(Role::Requester))));
    /// # use amp_wire::Disconnect;
    /// # use std::sync::Arc;
    /// s.tls_failed(Arc::new(std::io::Error::other("bad certificate")));
    /// assert!(matches!(s.close_reason(), Some(Disconnect::Tls(_))));
    /// assert!(matches!(s.poll_reply(tag, Waker::noop()), Poll::Ready(Reply::Lost(_))));
    /// ```
    pub fn tls_failed(&mut self, error: Arc<dyn std::error::Error + Send + Sync + 'static>) {
        // Reported outside a handshake (a driver's mistake), it ends the
        // connection like any abort.
        let on = match self.state {
            State::TlsHandshake { .. } => On::TlsFailed,
            _ => On::End,
        };
        self.begin_close(on, Disconnect::Tls(error), None);
    }

    /// The transport was given to the new protocol after
    /// [`Event::HandOver`](super::Event::HandOver). Our switch call (if we
    /// asked) is answered; returns whether its caller still waits (if not,
    /// drop the stream: nobody will use it).
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
    /// # use amp_wire::session::{Reply, Role};
    /// # use std::task::{Poll, Waker};
    /// let mut s = Session::new(Config::default(), now);
    /// let tag = s.switch(b"Upgrade", |_| Ok(())).unwrap();
    /// sent(&mut s, now);
    /// # let yes: AmpBox = [("_answer", "1")].into_iter().collect();
    /// s.feed(&yes.to_bytes().unwrap(), now); // the peer agrees...
    /// s.feed(b"HELLO", now); // ...and speaks the new protocol
    /// while let Some(event) = s.poll_event(now) {
    ///     if let Event::HandOver { role, buffered } = event {
    ///         assert_eq!((role, &buffered[..]), (Role::Requester, &b"HELLO"[..]));
    ///         assert!(s.handed_over()); // the caller of `tag` waits for its answer
    ///     }
    /// }
    /// assert!(s.is_finished());
    /// assert!(matches!(s.poll_reply(tag, Waker::noop()), Poll::Ready(Reply::Answer(_))));
    /// ```
    pub fn handed_over(&mut self) -> bool {
        let State::Switched { call, handed, .. } = &mut self.state else {
            return true;
        };
        *handed = true;
        let Some(tag) = call.take() else {
            return true;
        };
        let waited = self.calls.is_waited_for(tag);
        self.calls
            .resolve(tag, Reply::Answer(AmpBox::new()), &mut self.wake);
        waited
    }
}
