//! TLS for StartTLS: certificates, authorities and rustls configuration.
//!
//! Twisted's `amp.StartTLS` upgrades a running AMP connection to TLS. Each
//! side brings its own [`TlsOptions`]: an optional certificate of its own
//! and a list of *authorities* (CA certificates) it trusts to verify the
//! peer. The semantics are Twisted's (`_NoCertificate`, `_TLSBox` and
//! `CertificateOptions` in `twisted.protocols.amp` / `twisted.internet.ssl`):
//!
//! | | no authorities | authorities |
//! |---|---|---|
//! | **client** | accepts any server certificate (anonymous, unverified; handshake signatures are still checked) | the server's certificate must chain to one of them; the host name is *not* checked unless [`TlsOptions::with_server_name`] is used |
//! | **server** | does not ask for a client certificate | *requires* a client certificate chaining to one of them |
//!
//! | | certificate | no certificate |
//! |---|---|---|
//! | **client** | presented when the server asks | none: the client is anonymous |
//! | **server** | used | a throwaway self-signed certificate (CN `TEMPORARY CERTIFICATE`) is generated once per [`TlsOptions`] value and shared by its clones |
//!
//! TLS 1.2 and 1.3 are offered (rustls' safe defaults), always with the
//! *ring* crypto provider, whatever process-wide provider may be installed.
//! Each handshake is a full one: sessions are not resumed.
//!
//! Certificates are checked by webpki, which accepts only X.509 **v3**
//! certificates as peers' end-entity certificates when verifying them
//! against authorities. Certificates made with Twisted's own
//! `KeyPair.signCertificateRequest` / `selfSignedCert` are v1: they work as
//! your own certificate, as authorities, and are accepted by anonymous
//! clients (Twisted's `TEMPORARY CERTIFICATE` is one of them), but a peer's
//! v1 end-entity certificate cannot be verified against authorities. Make
//! certificates for verified peers with OpenSSL, `cryptography` or rcgen.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::Resumption;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{ServerName, SubjectPublicKeyInfoDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{NoServerSessionStorage, ParsedCertificate, WebPkiClientVerifier};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme,
    SupportedProtocolVersion,
};

mod der;
mod error;
mod keys;
mod options;
mod pinning;
#[cfg(test)]
mod tests;
mod verify;

pub use error::TlsError;
use keys::*;
pub use options::TlsOptions;
use pinning::{Pinned, Pins};
use verify::*;

pub use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The common name of the throwaway self-signed certificate a server without
/// a certificate of its own generates (the same DN as Twisted's).
pub const TEMPORARY_CERTIFICATE_CN: &str = "TEMPORARY CERTIFICATE";

/// The name handed to rustls when no server name is configured. It is
/// neither sent (SNI is off) nor checked.
pub(crate) const PLACEHOLDER_SERVER_NAME: &str = "amp-peer.invalid";

/// The ring provider, built explicitly: never a process-wide default.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
