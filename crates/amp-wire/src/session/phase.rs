//! The session's phase, as a label: [`Phase`], and the [`Role`] this side
//! plays in a negotiation. The phase with its data is in `state.rs`.

use crate::describe::CommandKind;

/// Which side of a negotiation (StartTLS, protocol switch) this side is on.
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
