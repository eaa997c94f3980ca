//! The session's phase with what each phase needs to remember: [`State`],
//! labelled by [`Phase`].

use std::time::Instant;

use super::phase::{Phase, Role};
use super::Disconnect;
use crate::describe::CommandKind;

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
