//! The gateway protocol: what a client says to `amp gateway` before its
//! connection becomes a byte stream to a service. Shared by both ends:
//! `amp gateway` (`cmd/gateway/`) serves it, `amp tunnel`
//! (`cmd/tunnel.rs`) speaks it as a client. In Twisted:
//!
//! ```python
//! class UnknownService(Exception): pass
//! class ConnectFailed(Exception): pass
//! class TlsRequired(Exception): pass
//!
//! class ListServices(amp.Command):
//!     arguments = []
//!     response = [
//!         (b"services", amp.ListOf(amp.Unicode())),
//!         (b"backends", amp.AmpList([
//!             (b"service", amp.Unicode()),
//!             (b"address", amp.Unicode()),
//!             (b"healthy", amp.Boolean()),
//!             (b"connections", amp.Integer()),
//!             (b"failures", amp.Integer()),
//!             (b"last_error", amp.Unicode(optional=True)),
//!         ], optional=True)),
//!     ]
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
//!
//! `backends` came after `services`: a gateway before it answers only
//! `services`, and a client that declares only `services` (as Twisted
//! does, extra keys are ignored) reads a newer gateway's answer as before.
//! It tells the backends' addresses: a gateway run with `--require-tls`
//! answers `ListServices` only after StartTLS (and with `--ca`, only to
//! clients with a certificate it trusts).

use amp::ErrorTable;

/// `ListServices() -> services, backends`: the names `Connect` accepts,
/// and how each service's backends are doing.
#[derive(amp::Command, Debug)]
#[amp(response = Services, error = GatewayError)]
pub struct ListServices;

/// The answer to [`ListServices`].
#[derive(amp::Record, Debug, PartialEq)]
pub struct Services {
    /// The service names, sorted.
    pub services: Vec<String>,
    /// Every backend, by service name then in the order given; `None`
    /// from a gateway older than this field.
    pub backends: Option<Vec<Backend>>,
}

/// One backend of a service, in [`Services::backends`].
#[derive(amp::Record, Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// The service it serves.
    pub service: String,
    /// Where it listens, as given to `--service` (host:port or
    /// unix:/path).
    pub address: String,
    /// Not marked down: its last connect (if any) succeeded.
    pub healthy: bool,
    /// Connections open through the gateway now.
    pub connections: u64,
    /// Connects failed since its last success.
    pub failures: u64,
    /// While marked down: the last connect's error.
    pub last_error: Option<String>,
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
    /// None of the service's backends accepted a connection in time.
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

#[cfg(test)]
mod tests {
    use super::*;
    use amp::Record;

    #[test]
    fn backends_are_an_optional_amp_list() {
        let services = Services {
            services: vec!["db".into()],
            backends: Some(vec![
                Backend {
                    service: "db".into(),
                    address: "10.0.0.5:5432".into(),
                    healthy: true,
                    connections: 2,
                    failures: 0,
                    last_error: None,
                },
                Backend {
                    service: "db".into(),
                    address: "10.0.0.6:5432".into(),
                    healthy: false,
                    connections: 0,
                    failures: 3,
                    last_error: Some("connection refused".into()),
                },
            ]),
        };
        let b = services.to_box().unwrap();
        // Twisted's AmpList: each element a box, ending in an empty key;
        // Boolean as True/False; the optional key absent when None.
        let list = b.get("backends").unwrap();
        let text = String::from_utf8_lossy(list);
        assert!(text.contains("healthy\x00\x04True"), "{text:?}");
        assert!(text.contains("healthy\x00\x05False"), "{text:?}");
        assert_eq!(text.matches("last_error").count(), 1, "{text:?}");
        assert_eq!(Services::from_box(&b).unwrap(), services);
        // An older gateway's answer: no `backends`.
        let mut old = amp::AmpBox::new();
        old.insert("services", b.get("services").unwrap().to_vec());
        let old = Services::from_box(&old).unwrap();
        assert_eq!((old.services, old.backends), (vec!["db".into()], None));
    }
}
