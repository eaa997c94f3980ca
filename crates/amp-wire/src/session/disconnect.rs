//! Why a connection ended: [`Disconnect`] and [`Timeout`].

use std::fmt;
use std::io;
use std::sync::Arc;

use super::Phase;
use crate::error::ProtocolError;

/// Why a connection ended. Every call outstanding at that moment, and every
/// later call, fails with this reason.
///
/// Each reason that has a cause carries it as [`source`](std::error::Error::source)
/// (the I/O error, the protocol violation, the TLS error), and its own
/// message does not repeat it.
///
/// ```
/// use amp_wire::{Disconnect, ProtocolError, Timeout};
/// use std::error::Error;
///
/// let d = Disconnect::Protocol(ProtocolError::KeyTooLong { len: 300 });
/// assert_eq!(d.to_string(), "AMP protocol violation by the peer");
/// assert!(d.source().unwrap().is::<ProtocolError>());
/// assert_eq!(
///     Disconnect::Timeout(Timeout::Idle).to_string(),
///     "closed: the connection was idle too long"
/// );
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Disconnect {
    /// The peer closed the connection.
    #[error("connection closed by the peer")]
    PeerClosed,
    /// This side closed it (`close()`, or every handle dropped on a
    /// connection with nothing to serve).
    #[error("connection closed locally")]
    LocalClose,
    /// Reading or writing failed.
    #[error("I/O error on the connection")]
    Io(#[source] Arc<io::Error>),
    /// The peer broke the protocol (malformed box, unknown tag, a box over
    /// the size limit, ...).
    #[error("AMP protocol violation by the peer")]
    Protocol(#[source] ProtocolError),
    /// A responder here failed with a fatal error: the error box was sent,
    /// then the connection closed (Twisted's `fatalErrors`).
    #[error("connection closed after sending fatal error {code}: {description}")]
    FatalError {
        /// The error code sent.
        code: String,
        /// Its description.
        description: String,
    },
    /// A responder here failed in an undeclared way (undecodable arguments,
    /// a panic, a response that could not be encoded): `UNKNOWN` was sent,
    /// then the connection closed, as Twisted does.
    #[error("connection closed after an unknown error in responder {command}: {reason}")]
    UnknownError {
        /// The command being answered.
        command: String,
        /// What went wrong.
        reason: String,
    },
    /// A responder here answered and asked for the connection to close
    /// once the answer was written (Twisted's `QuitBox`).
    #[error("connection closed after answering {command}, as its responder asked")]
    Quit {
        /// The command answered.
        command: String,
    },
    /// A request that wanted no answer failed here (any error, or no
    /// responder): Twisted closes the connection in that case, and so do we.
    #[error("connection closed: no-answer request {command} failed: {reason}")]
    NoAnswerFailed {
        /// The command.
        command: String,
        /// What went wrong.
        reason: String,
    },
    /// The connection switched to another protocol: AMP is over on it for
    /// good. Calls still outstanding at the switch fail with this.
    #[error("the connection switched to another protocol; AMP is over on it")]
    Switched,
    /// TLS failed after StartTLS (for example the peer's certificate did
    /// not verify); the cause is the [`source`](std::error::Error::source)
    /// (with the `amp` crate, an `amp::tls::TlsError`). Nothing of the
    /// connection is left open.
    #[error("TLS failed")]
    Tls(#[source] Arc<dyn std::error::Error + Send + Sync + 'static>),
    /// While a switch or StartTLS of ours awaited its answer, the boxes held
    /// back grew past [`Config::max_held`](crate::Config::max_held) (the
    /// peer kept calling): closed rather than buffer without bound.
    #[error(
        "{held} bytes of boxes held back while waiting for a switch or StartTLS answer: too many"
    )]
    HeldTooMuch {
        /// Bytes held when the limit was passed.
        held: usize,
    },
    /// The peer sent bytes after the StartTLS box and before the TLS
    /// handshake: plaintext must never be taken as TLS data (the STARTTLS
    /// injection attack), so the connection was closed.
    #[error("the peer sent {buffered} plaintext bytes between StartTLS and the TLS handshake")]
    PlaintextBeforeTls {
        /// How many bytes were waiting.
        buffered: usize,
    },
    /// A server's memory budget was passed (`amp::Server::memory_budget`:
    /// the bytes buffered by all its connections together) and this
    /// connection held one of the largest shares, so it was cut: its
    /// buffered bytes (a box arriving, output the peer did not read) were
    /// dropped.
    #[error("closed: the server was over its memory budget and this connection held {held} bytes")]
    MemoryBudget {
        /// Bytes the connection held when it was cut.
        held: usize,
    },
    /// A server out of room for a new connection (at its connection limit,
    /// out of descriptors, or at its limit of connections for one peer;
    /// `amp::Server::evict_idle_after`) closed this one: it had been idle
    /// the longest (nothing in flight, nothing to write, nothing received)
    /// for `idle`.
    #[error("closed to make room for a new connection after {idle:?} idle")]
    Evicted {
        /// How long the connection had been idle.
        idle: std::time::Duration,
    },
    /// A deadline passed (the peer stalled, or the connection idled).
    #[error("closed: {0}")]
    Timeout(Timeout),
    /// A graceful shutdown: the connection finished its work and closed.
    #[error("connection closed by a graceful shutdown")]
    Shutdown,
    /// The task running the connection was dropped before the connection
    /// ended (its runtime shut down, or the future was abandoned).
    #[error("the connection's task was dropped")]
    DriverDropped,
    /// The task running the connection panicked (a bug: please report it).
    #[error("the connection's task panicked")]
    DriverPanicked,
    /// The session was about to change phase in a way its transition table
    /// (in the [session documentation](crate::session)) does not allow: a
    /// bug in amp-wire (please report it). The change was refused and the
    /// connection ended at once. (Debug builds panic instead.)
    #[error("internal error: the session tried to go from phase {from:?} to {to:?}")]
    IllegalTransition {
        /// The phase it was in.
        from: Phase,
        /// The phase it was about to enter.
        to: Phase,
    },
}

impl From<io::Error> for Disconnect {
    fn from(e: io::Error) -> Self {
        Disconnect::Io(Arc::new(e))
    }
}

impl From<ProtocolError> for Disconnect {
    fn from(e: ProtocolError) -> Self {
        Disconnect::Protocol(e)
    }
}

/// Which deadline passed ([`Disconnect::Timeout`]); the limits are in
/// [`Config`](crate::Config).
///
/// ```
/// use amp_wire::session::Session;
/// use amp_wire::{Config, Disconnect, Timeout};
/// use std::time::{Duration, Instant};
///
/// let config = Config::builder().idle_timeout(Some(Duration::from_secs(60))).build().unwrap();
/// let t0 = Instant::now();
/// let mut s = Session::new(config, t0);
/// let deadline = s.poll_timeout().unwrap();
/// assert_eq!(deadline, t0 + Duration::from_secs(60));
/// s.handle_timeout(deadline); // nothing happened meanwhile
/// assert!(matches!(s.close_reason(), Some(Disconnect::Timeout(Timeout::Idle))));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Timeout {
    /// An accepted connection sent no complete box in time
    /// ([`Config::first_box_timeout`](crate::Config::first_box_timeout)).
    FirstBox,
    /// A box started arriving and was not complete in time
    /// ([`Config::box_timeout`](crate::Config::box_timeout)).
    Box,
    /// Output made no progress in time: the peer stopped reading
    /// ([`Config::write_timeout`](crate::Config::write_timeout)).
    Write,
    /// The StartTLS handshake did not finish in time
    /// ([`Config::tls_handshake_timeout`](crate::Config::tls_handshake_timeout)).
    TlsHandshake,
    /// Nothing happened on the connection for
    /// [`Config::idle_timeout`](crate::Config::idle_timeout).
    Idle,
    /// A keepalive ping got no reply in time
    /// ([`Config::keepalive_timeout`](crate::Config::keepalive_timeout)):
    /// the peer is gone.
    Keepalive,
    /// A graceful shutdown's grace period ended with work still in flight:
    /// the connection was cut.
    Grace,
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Timeout::FirstBox => "no complete box arrived in time on a new connection",
            Timeout::Box => "a box started arriving and stalled",
            Timeout::Write => "the peer stopped reading what was written to it",
            Timeout::TlsHandshake => "the TLS handshake did not finish in time",
            Timeout::Idle => "the connection was idle too long",
            Timeout::Keepalive => "the peer did not reply to a keepalive ping",
            Timeout::Grace => "the shutdown grace period ended with work in flight",
        })
    }
}
