//! The session's phase: one enum, with what each phase needs to remember.

use std::time::Instant;

use super::Disconnect;

/// Which side of a negotiation (StartTLS, protocol switch) this side is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// We sent the request (for TLS: we are the client).
    Requester,
    /// We answered the peer's request (for TLS: we are the server).
    Responder,
}

use crate::describe::CommandKind;

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

/// The phase with its data.
///
/// Whether StartTLS was agreed on the connection (a second one is refused)
/// is part of it: the StartTLS phases imply it, and every phase that can
/// come after one carries it as [`Tls`].
#[derive(Debug)]
pub(crate) enum State {
    Open {
        tls: Tls,
    },
    Draining {
        tls: Tls,
    },
    Switching {
        tls: Tls,
    },
    /// StartTLS is agreed (asked, at least) from here on.
    TlsRequested,
    Deciding {
        kind: CommandKind,
        /// The request being decided.
        id: u64,
        tls: Tls,
    },
    TlsFlushing {
        role: Role,
        /// Our StartTLS call, answered when TLS is up.
        call: Option<u64>,
    },
    TlsHandshake {
        role: Role,
        call: Option<u64>,
        deadline: Option<Instant>,
    },
    HandingOver {
        role: Role,
        /// Our switch call, answered once the transport is handed over.
        call: Option<u64>,
        tls: Tls,
    },
    Switched {
        /// Our switch call, answered by `handed_over`.
        call: Option<u64>,
        tls: Tls,
        /// `handed_over` was called: the driver is done with AMP.
        handed: bool,
    },
    Closing {
        reason: Disconnect,
        flush: Flush,
        tls: Tls,
    },
    Closed {
        reason: Disconnect,
        tls: Tls,
    },
}

/// Whether StartTLS was agreed on the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tls {
    /// Not (or refused): a StartTLS may still be asked or answered.
    Clear,
    /// Asked by us or agreed to: never again on this connection.
    Agreed,
}

/// How a closing connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flush {
    /// Nothing more is written: the close is due at once.
    No,
    /// What is queued is written first, until this deadline (`None`: no
    /// limit).
    Until(Option<Instant>),
}

impl State {
    pub(crate) fn phase(&self) -> Phase {
        match self {
            State::Open { .. } => Phase::Open,
            State::Draining { .. } => Phase::Draining,
            State::Switching { .. } => Phase::Switching,
            State::TlsRequested => Phase::TlsRequested,
            State::Deciding { kind, .. } => Phase::Deciding(*kind),
            State::TlsFlushing { role, .. } => Phase::TlsFlushing(*role),
            State::TlsHandshake { role, .. } => Phase::TlsHandshake(*role),
            State::HandingOver { role, .. } => Phase::HandingOver(*role),
            State::Switched { .. } => Phase::Switched,
            State::Closing { .. } => Phase::Closing,
            State::Closed { .. } => Phase::Closed,
        }
    }

    /// Whether StartTLS was agreed (the StartTLS phases say so by being).
    pub(crate) fn tls(&self) -> Tls {
        match self {
            State::TlsRequested | State::TlsFlushing { .. } | State::TlsHandshake { .. } => {
                Tls::Agreed
            }
            State::Open { tls }
            | State::Draining { tls }
            | State::Switching { tls }
            | State::Deciding { tls, .. }
            | State::HandingOver { tls, .. }
            | State::Switched { tls, .. }
            | State::Closing { tls, .. }
            | State::Closed { tls, .. } => *tls,
        }
    }
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
