//! The gateway protocol: what a client says to `amp gateway` before its
//! connection becomes a byte stream to a service. In Twisted:
//!
//! ```python
//! class UnknownService(Exception): pass
//! class ConnectFailed(Exception): pass
//! class TlsRequired(Exception): pass
//!
//! class ListServices(amp.Command):
//!     arguments = []
//!     response = [(b"services", amp.ListOf(amp.Unicode()))]
//!     errors = {TlsRequired: b"TLS_REQUIRED"}
//!
//! class Connect(amp.ProtocolSwitchCommand):
//!     arguments = [(b"service", amp.Unicode())]
//!     response = []
//!     errors = {UnknownService: b"UNKNOWN_SERVICE",
//!               ConnectFailed: b"CONNECT_FAILED",
//!               TlsRequired: b"TLS_REQUIRED"}
//! ```
//!
//! plus Twisted's own `StartTLS`. A client may call `StartTLS`, then
//! `ListServices` any number of times, then `Connect`: once answered, the
//! connection carries the service's bytes both ways (still encrypted if
//! StartTLS ran). An error answer leaves the connection usable.

use amp::ErrorTable;

/// `ListServices() -> services`: the names `Connect` accepts.
#[derive(amp::Command, Debug)]
#[amp(response = Services, error = GatewayError)]
pub struct ListServices;

/// The answer to [`ListServices`].
#[derive(amp::Record, Debug, PartialEq)]
pub struct Services {
    /// The service names, sorted.
    pub services: Vec<String>,
}

/// `Connect(service)`: a protocol switch; once answered, the connection is
/// the service's byte stream.
#[derive(amp::Command, Debug)]
#[amp(error = GatewayError)]
pub struct Connect {
    /// The service's name (see [`ListServices`]).
    pub service: String,
}

/// Why the gateway refused; the connection stays usable after each.
#[derive(amp::AmpError, Debug, Clone, PartialEq, Eq)]
pub enum GatewayError {
    /// No service of that name.
    #[amp(code = "UNKNOWN_SERVICE")]
    UnknownService(String),
    /// The service did not accept a connection in time.
    #[amp(code = "CONNECT_FAILED")]
    ConnectFailed(String),
    /// The gateway runs with `--require-tls` and StartTLS has not run.
    #[amp(code = "TLS_REQUIRED")]
    TlsRequired(String),
}

impl std::fmt::Display for GatewayError {
    /// `CODE: description`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.description())
    }
}

impl std::error::Error for GatewayError {}
