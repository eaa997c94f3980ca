//! The session's phase, as a label: [`Phase`], and the [`Role`] this side
//! plays in a negotiation. The phase with its data is in `state.rs`.

use crate::describe::CommandKind;

/// Which side of a negotiation (StartTLS, protocol switch) this side is on.
///
/// ```
/// use amp_wire::session::{Event, Phase, Role, Session};
/// use amp_wire::{AmpBox, Config};
/// use std::time::Instant;
///
/// let now = Instant::now();
/// let mut s = Session::new(Config::default(), now);
/// s.start_tls().unwrap(); // we ask
/// let mut out = bytes::BytesMut::new();
/// let n = s.poll_transmit(&mut out, now);
/// s.transmitted(n, now);
/// let yes: AmpBox = [("_answer", "1")].into_iter().collect();
/// s.feed(&yes.to_bytes().unwrap(), now);
/// // We asked, so we are the TLS client.
/// assert!(matches!(s.poll_event(now), Some(Event::StartTls(Role::Requester))));
/// assert_eq!(s.phase(), Phase::TlsHandshake(Role::Requester));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// We sent the request (for TLS: we are the client).
    Requester,
    /// We answered the peer's request (for TLS: we are the server).
    Responder,
}

/// The phase of a [`Session`](super::Session), as a label (the table in
/// the [module documentation](super) says what each allows and how it
/// ends).
///
/// ```
/// use amp_wire::session::{Phase, Session};
/// use amp_wire::Config;
/// use std::time::Instant;
///
/// let now = Instant::now();
/// let mut s = Session::new(Config::default(), now);
/// assert_eq!(s.phase(), Phase::Open);
/// s.start_tls().unwrap();
/// assert_eq!(s.phase(), Phase::TlsRequested);
/// assert!(s.phase().reads() && s.phase().holds()); // our boxes now wait for TLS
/// s.close(now);
/// assert_eq!(s.phase(), Phase::Closing);
/// assert!(s.phase().is_over());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// AMP traffic flows both ways.
    Open,
    /// A graceful shutdown: requests are refused, work in flight finishes.
    Draining,
    /// Our protocol-switch request awaits its answer: nothing new may be
    /// sent; our answers are held.
    Switching,
    /// Our StartTLS request awaits its answer: our boxes are held, to go
    /// over TLS.
    TlsRequested,
    /// Our responder decides on the peer's switch or StartTLS request:
    /// reading stops (what follows may not be AMP).
    Deciding(CommandKind),
    /// StartTLS was agreed: what precedes the handshake is being written;
    /// new boxes are held.
    TlsFlushing(Role),
    /// The TLS handshake runs (the driver's part); boxes are held.
    TlsHandshake(Role),
    /// A switch was agreed: what precedes it is being written, then the
    /// transport is handed over.
    HandingOver(Role),
    /// The transport was handed to another protocol: AMP is over.
    Switched,
    /// The connection is ending: writing what may still be written.
    Closing,
    /// The connection has ended.
    Closed,
}

impl Phase {
    /// Boxes from the peer are read and decoded.
    pub fn reads(self) -> bool {
        matches!(
            self,
            Phase::Open | Phase::Draining | Phase::Switching | Phase::TlsRequested
        )
    }

    /// Boxes this side produces are held back (they go out when the
    /// negotiation ends well, and are dropped otherwise).
    pub fn holds(self) -> bool {
        matches!(
            self,
            Phase::Switching
                | Phase::TlsRequested
                | Phase::TlsFlushing(Role::Requester)
                | Phase::TlsFlushing(Role::Responder)
                | Phase::TlsHandshake(_)
        )
    }

    /// AMP is over: nothing more is sent or received as AMP.
    pub fn is_over(self) -> bool {
        matches!(
            self,
            Phase::HandingOver(_) | Phase::Switched | Phase::Closing | Phase::Closed
        )
    }
}
