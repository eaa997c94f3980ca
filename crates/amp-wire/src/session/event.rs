//! What the session hands its driver: [`Event`]s, and the peer's
//! [`Request`]s in them, each named by a [`RequestId`].

use bytes::Bytes;

#[cfg(doc)]
use super::{cancel, Session, KEEP_BUFFERS_FOR};
use super::{CommandKind, Disconnect, Role};
use crate::AmpBox;

/// Names one request from the peer until it is concluded (the peer's tag
/// cannot: a peer may reuse it).
///
/// ```
/// use amp_wire::session::{Event, Session};
/// use amp_wire::{AmpBox, Config};
/// use std::time::Instant;
///
/// let now = Instant::now();
/// let mut s = Session::new(Config::default(), now);
/// let ask: AmpBox = [("_ask", "x"), ("_command", "Ping")].into_iter().collect();
/// s.feed(&ask.to_bytes().unwrap(), now);
/// s.feed(&ask.to_bytes().unwrap(), now); // the same tag again
/// let Some(Event::Request(first)) = s.poll_event(now) else { panic!() };
/// let Some(Event::Request(second)) = s.poll_event(now) else { panic!() };
/// assert_eq!(first.tag, second.tag);
/// assert_ne!(first.id, second.id);
/// s.answer(second.id, |_| Ok(()), now).unwrap();
/// assert_eq!(s.in_flight(), 1); // `first` is still being answered
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId(pub(super) u64);

/// A request from the peer, to be concluded by one of the session's
/// answering methods, given its [`id`](Request::id).
///
/// ```
/// use amp_wire::session::{CommandKind, Event, Session};
/// use amp_wire::{AmpBox, Config};
/// use std::time::Instant;
///
/// let now = Instant::now();
/// let mut s = Session::new(Config::default(), now);
/// let ask: AmpBox = [("_ask", "a7"), ("_command", "Echo"), ("text", "hi")].into_iter().collect();
/// s.feed(&ask.to_bytes().unwrap(), now);
/// let Some(Event::Request(req)) = s.poll_event(now) else { panic!("no request") };
/// assert_eq!(req.name, "Echo");
/// assert_eq!(req.tag.as_deref(), Some(&b"a7"[..]));
/// assert_eq!((req.kind, req.route.is_none()), (CommandKind::Plain, true));
/// let text = req.args.get_bytes("text").unwrap();
/// s.answer(req.id, |w| w.put_raw(b"text", &text), now).unwrap();
/// let mut out = bytes::BytesMut::new();
/// s.poll_transmit(&mut out, now);
/// assert_eq!(&out[..], b"\x00\x07_answer\x00\x02a7\x00\x04text\x00\x02hi\x00\x00");
/// ```
#[derive(Debug)]
pub struct Request {
    /// What concludes it.
    pub id: RequestId,
    /// `_command`.
    pub name: Bytes,
    /// `_ask`, or `None` for a request that wants no answer.
    pub tag: Option<Bytes>,
    /// The whole box (arguments plus reserved keys).
    pub args: AmpBox,
    /// Whether it negotiates a switch or StartTLS.
    pub kind: CommandKind,
    /// The local name of the route it came on (its `_route`, removed from
    /// `args`), or `None` for the default conversation.
    pub route: Option<Bytes>,
}

/// What the driver must act on.
///
/// A driver's loop, here for a connection that answers one request
/// `UNHANDLED` and then closes:
///
/// ```
/// use amp_wire::session::{Event, Session};
/// use amp_wire::{AmpBox, Config, Disconnect};
/// use std::time::Instant;
///
/// let now = Instant::now();
/// let mut s = Session::new(Config::default(), now);
/// let ask: AmpBox = [("_ask", "1"), ("_command", "Nope")].into_iter().collect();
/// s.feed(&ask.to_bytes().unwrap(), now);
/// let (mut out, mut seen) = (bytes::BytesMut::new(), Vec::new());
/// while !s.is_finished() {
///     while let Some(event) = s.poll_event(now) {
///         match event {
///             Event::Request(req) => {
///                 s.unhandled(req.id, now); // no responder for it
///                 s.close(now);
///                 seen.push("Request");
///             }
///             Event::Over => seen.push("Over"),
///             Event::CloseTransport => {
///                 s.finish(); // once the transport is shut down
///                 seen.push("CloseTransport");
///             }
///             Event::Closed(reason) => {
///                 assert!(matches!(reason, Disconnect::LocalClose));
///                 seen.push("Closed");
///             }
///             _ => {}
///         }
///     }
///     let n = s.poll_transmit(&mut out, now); // the driver writes these...
///     s.transmitted(n, now); // ...and says so
/// }
/// assert_eq!(seen, ["Request", "Over", "CloseTransport", "Closed"]);
/// let written = amp_wire::decode_all(&out.freeze()).unwrap();
/// assert_eq!(written[0].get("_error_code"), Some(&b"UNHANDLED"[..]));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// A request to answer.
    Request(Request),
    /// Everything before the TLS handshake is written: start it now, as
    /// client ([`Role::Requester`]) or server. Then call
    /// [`Session::tls_established`] or [`Session::tls_failed`].
    StartTls(Role),
    /// A switch was agreed and everything before it is written: AMP is
    /// over. Give the transport to the new protocol, with `buffered` (the
    /// bytes already read past the switch) first; then call
    /// [`Session::handed_over`].
    HandOver {
        /// Who asked for the switch.
        role: Role,
        /// Bytes read past the switch box.
        buffered: Bytes,
    },
    /// The peer cancelled this request (see [`cancel`]): it is concluded
    /// already; stop (drop) its responder, or, if it has not been started
    /// yet (its [`Event::Request`] came in the same round), never start
    /// it.
    Cancel(RequestId),
    /// The connection has been idle (see [`Session::is_idle`]) for
    /// [`KEEP_BUFFERS_FOR`]: the session gave back its empty buffers; give
    /// back the driver's too (the read buffer taken with
    /// [`Session::take_input`] if it is empty, the write buffer). Busy
    /// connections keep their buffers, so a call costs no allocation for
    /// them.
    ReleaseBuffers,
    /// AMP is over (closing, or handing the transport to another
    /// protocol): drop every responder, started or not (what they would
    /// conclude is dropped), and a StartTLS not yet begun. Told once,
    /// before any other event of the end.
    Over,
    /// Nothing more is written: drop the bytes not yet written. Told once,
    /// when the connection closes at once (or a close that was writing
    /// what was queued is aborted).
    DiscardOutput,
    /// The connection is closing and what had to be written is: shut the
    /// transport down, then call [`Session::finish`]. Told once.
    CloseTransport,
    /// The connection has ended, for this reason (the same as
    /// [`Session::close_reason`]): after [`Session::finish`] or the closing
    /// deadline, or once [`Session::handed_over`] was called after a
    /// switch. Stop driving the session. Told once, last.
    Closed(Disconnect),
}
