//! [`TlsError`]: why TLS settings could not be used, or a handshake failed.

use std::path::PathBuf;
use std::sync::Arc;

/// Why TLS settings could not be loaded or used, or why a handshake failed.
/// The underlying error (rustls', PEM's, the file system's) is the
/// [`source`](std::error::Error::source); match on it rather than on
/// messages.
///
/// ```
/// use amp::tls::{TlsError, TlsOptions};
/// use std::error::Error;
///
/// let err = TlsOptions::new().authorities_pem(b"-----BEGIN CERTIFICATE-----\n!\n").unwrap_err();
/// assert!(matches!(err, TlsError::Pem(_)));
/// assert!(err.source().is_some());
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// Malformed PEM (a block that cannot be decoded).
    #[error("invalid PEM")]
    Pem(#[source] Arc<rustls::pki_types::pem::Error>),
    /// No private key (`PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`
    /// block) where one was expected.
    #[error("no private key found (expected a PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY PEM block)")]
    NoPrivateKey,
    /// No certificate (`CERTIFICATE` block) where one was expected, or an
    /// empty certificate chain.
    #[error("no certificate found (expected a CERTIFICATE PEM block)")]
    NoCertificate,
    /// A file could not be read.
    #[error("cannot read {}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// rustls refused the settings: an unusable key, a key that does not
    /// match its certificate, a malformed authority...
    #[error("invalid TLS configuration")]
    Config(#[source] rustls::Error),
    /// [`TlsOptions::server_name`](super::TlsOptions::server_name)
    /// was given something that is neither a DNS name nor an IP address.
    #[error("invalid server name {0:?}")]
    InvalidServerName(String),
    /// A server name is configured without authorities: there is no verified
    /// certificate to check it against.
    #[error("a server name can only be checked with authorities to verify the certificate (see TlsOptions::authorities)")]
    ServerNameWithoutAuthorities,
    /// The temporary self-signed certificate could not be generated.
    #[error("cannot generate a temporary certificate")]
    Generate(#[source] Arc<rcgen::Error>),
    /// The TLS handshake (or a later TLS record) failed: the peer's
    /// certificate did not verify, the peer refused ours, an alert...
    #[error("TLS failed")]
    Handshake(#[source] rustls::Error),
    /// The transport failed during the TLS handshake (for example the peer
    /// closed the connection).
    #[error("the transport failed during the TLS handshake")]
    Io(#[source] Arc<std::io::Error>),
    /// The transport could not carry TLS (it was no longer the plain
    /// stream the connection started with).
    #[error("the transport cannot be upgraded to TLS")]
    NotPlain,
}

impl From<std::io::Error> for TlsError {
    /// The error of a failed `tokio_rustls` handshake or TLS read: the
    /// rustls error it wraps as [`TlsError::Handshake`], anything else as
    /// [`TlsError::Io`].
    fn from(error: std::io::Error) -> Self {
        match error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            Some(tls) => TlsError::Handshake(tls.clone()),
            None => TlsError::Io(Arc::new(error)),
        }
    }
}
