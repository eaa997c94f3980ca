//! The errors a peer may answer `StartTLS` with.

use amp_wire::session::keys::{ONLY_ONE_TLS, TLS_ERROR};
use amp_wire::ErrorTable;

/// Why a peer refused [`Connection::start_tls`](crate::Connection::start_tls).
///
/// A peer without a StartTLS responder answers `UNHANDLED` instead
/// ([`CallError::Unhandled`](crate::CallError::Unhandled)); a handshake that
/// fails after the peer accepted ends the connection with
/// [`Disconnect::Tls`](crate::Disconnect::Tls).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use amp::{tls::TlsOptions, CallError, Connection, RawError, Router, StartTlsError};
///
/// let (a, b) = tokio::io::duplex(4096);
/// Connection::spawn(a, Router::new().start_tls_per_connection(|_| async {
///     Err(RawError::new("TLS_ERROR", "no TLS for you"))
/// }));
/// let client = Connection::spawn(b, Router::new());
/// match client.start_tls(TlsOptions::new()).await {
///     Err(CallError::Remote(StartTlsError::TlsError(why))) => assert_eq!(why, "no TLS for you"),
///     other => panic!("{other:?}"),
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StartTlsError {
    /// `ONLY_ONE_TLS`: the connection already runs TLS (Twisted's
    /// `OnlyOneTLS`).
    OnlyOneTls(String),
    /// `TLS_ERROR`: the peer cannot start TLS.
    TlsError(String),
}

impl std::fmt::Display for StartTlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.description())
    }
}

impl std::error::Error for StartTlsError {}

impl ErrorTable for StartTlsError {
    fn codes() -> Vec<(&'static str, bool)> {
        vec![(ONLY_ONE_TLS, false), (TLS_ERROR, false)]
    }
    fn code(&self) -> &'static str {
        match self {
            StartTlsError::OnlyOneTls(_) => ONLY_ONE_TLS,
            StartTlsError::TlsError(_) => TLS_ERROR,
        }
    }
    fn is_fatal(&self) -> bool {
        false
    }
    fn description(&self) -> String {
        match self {
            StartTlsError::OnlyOneTls(d) | StartTlsError::TlsError(d) => d.clone(),
        }
    }
    fn from_wire(code: &[u8], description: &str) -> Option<Self> {
        match code {
            b"ONLY_ONE_TLS" => Some(StartTlsError::OnlyOneTls(description.to_owned())),
            b"TLS_ERROR" => Some(StartTlsError::TlsError(description.to_owned())),
            _ => None,
        }
    }
}
