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
//! | **client** | accepts any server certificate (anonymous, unverified; handshake signatures are still checked) | the server's certificate must chain to one of them, or *be* one of them (pinned); the host name is *not* checked unless [`TlsOptions::server_name`] is used |
//! | **server** | does not ask for a client certificate | *requires* a client certificate chaining to one of them, or being one of them (pinned) |
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
//! # Chains and pinned certificates
//!
//! A peer certificate that chains to an authority is checked by webpki:
//! the chain's signatures, validity dates and key usage, and the name when
//! one is configured. webpki accepts only X.509 **v3** end-entity
//! certificates.
//!
//! A peer certificate that *is* one of the authorities (the same DER bytes)
//! is **pinned**: Twisted's usual self-signed setup, where each side trusts
//! the other's self-signed certificate. Twisted's own helpers
//! (`KeyPair.generate().selfSignedCert(...)`,
//! `KeyPair.signCertificateRequest`) make X.509 **v1** certificates, which
//! webpki refuses; pinned, they verify, in both directions (a client pinning
//! the server's certificate, a server pinning the client's). For a pinned
//! certificate, of any version:
//!
//! * **checked**: that the peer holds its private key (the TLS 1.2/1.3
//!   handshake signature, verified with the provider's algorithms against
//!   the certificate's public key, as for any certificate); its validity
//!   dates (`notBefore` and `notAfter` must include the current time:
//!   OpenSSL, so Twisted, checks them on a trusted certificate too); and,
//!   only with [`TlsOptions::server_name`], the name, against the
//!   certificate's subjectAltName extension only, as webpki and Twisted's
//!   `service_identity` do. A v1 certificate has no extensions, so it never
//!   matches a configured name, its common name included (Twisted's
//!   `optionsForClientTLS(hostname, trustRoot=...)` refuses it as well):
//!   leave the name unset to pin one;
//! * **not checked**: the certificate's own signature (the trust is in its
//!   exact bytes), key usage and basic constraints (a self-signed CA
//!   certificate can be pinned as a peer's), and any intermediates sent
//!   after it (ignored: pinning applies to the end-entity certificate
//!   only, never to an intermediate or an issuer).
//!
//! A v1 (or v2) certificate that is not pinned is refused as
//! [`UnknownIssuer`](rustls::CertificateError::UnknownIssuer): webpki cannot
//! check a chain from it, even to a configured CA that signed it. Such a
//! handshake fails with [`TlsError::Handshake`] carrying
//! `rustls::Error::InvalidCertificate(..)`, and the connection ends with
//! `Disconnect::Tls`. v1 certificates also work as a side's own certificate,
//! as authorities, and are accepted by anonymous clients (Twisted's
//! `TEMPORARY CERTIFICATE` is one of them).

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::Resumption;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{SubjectPublicKeyInfoDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{NoServerSessionStorage, ParsedCertificate, WebPkiClientVerifier};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme,
    SupportedProtocolVersion,
};

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

pub use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

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
