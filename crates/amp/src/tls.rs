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

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::Resumption;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{ServerName, SubjectPublicKeyInfoDer, UnixTime};
use rustls::server::{NoServerSessionStorage, ParsedCertificate, WebPkiClientVerifier};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{
    CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme,
    SupportedProtocolVersion,
};

pub use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The common name of the throwaway self-signed certificate a server without
/// a certificate of its own generates (the same DN as Twisted's).
pub const TEMPORARY_CERTIFICATE_CN: &str = "TEMPORARY CERTIFICATE";

/// The name handed to rustls when no server name is configured. It is
/// neither sent (SNI is off) nor checked.
const PLACEHOLDER_SERVER_NAME: &str = "amp-peer.invalid";

/// One side's TLS settings for StartTLS: its own certificate (optional) and
/// the authorities it trusts to verify the peer.
///
/// The same value serves both as a client (the side that sends `StartTLS`,
/// `Connection::start_tls`) and as a server (the side that answers it,
/// `Router::start_tls`); see the [module documentation](self) for what each
/// combination does.
///
/// Cloning is cheap, and clones share the temporary certificate generated
/// when a value without a certificate of its own acts as a server.
///
/// # Example
///
/// ```
/// use amp::tls::TlsOptions;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let tmp = tempfile::tempdir()?;
/// # let dir = tmp.path();
/// # let ca_key = rcgen::KeyPair::generate()?;
/// # let mut ca = rcgen::CertificateParams::new(Vec::<String>::new())?;
/// # ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
/// # let ca = ca.self_signed(&ca_key)?;
/// # let key = rcgen::KeyPair::generate()?;
/// # let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])?
/// #     .signed_by(&key, &ca, &ca_key)?;
/// # std::fs::write(dir.join("ca.pem"), ca.pem())?;
/// # std::fs::write(dir.join("server.pem"), cert.pem())?;
/// # std::fs::write(dir.join("server.key"), key.serialize_pem())?;
/// // Twisted's default: no certificate, verify nothing. As a server it
/// // presents a throwaway self-signed certificate.
/// let anonymous = TlsOptions::new();
/// assert!(!anonymous.has_certificate());
///
/// // A server with its own certificate, requiring clients to present a
/// // certificate signed by the CA.
/// let server = TlsOptions::new()
///     .with_certificate_files(dir.join("server.pem"), dir.join("server.key"))?
///     .with_authorities_file(dir.join("ca.pem"))?;
/// assert!(server.has_certificate());
/// assert_eq!(server.authorities().len(), 1);
///
/// // A client accepting only servers whose certificate chains to the CA
/// // and, optionally, names the host it expects.
/// let client = TlsOptions::new()
///     .with_authorities_file(dir.join("ca.pem"))?
///     .with_server_name("localhost")?;
/// # drop((client, anonymous));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct TlsOptions {
    certificate: Option<LocalCertificate>,
    authorities: Vec<CertificateDer<'static>>,
    server_name: Option<ServerName<'static>>,
    /// The loaded local certificate and key: the configured one, or the
    /// temporary one of a server without a certificate. Replaced (not
    /// shared) when the certificate changes; shared between clones.
    local: Arc<OnceLock<Result<Arc<CertifiedKey>, TlsError>>>,
}

#[derive(Clone)]
struct LocalCertificate {
    chain: Vec<CertificateDer<'static>>,
    key: Arc<PrivateKeyDer<'static>>,
}

impl fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsOptions")
            .field(
                "certificate",
                &self
                    .certificate
                    .as_ref()
                    .map(|c| format!("chain of {}, private key hidden", c.chain.len())),
            )
            .field("authorities", &self.authorities.len())
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl TlsOptions {
    /// Anonymous options: no certificate, no authorities. As a client,
    /// accepts any server; as a server, presents a temporary self-signed
    /// certificate and asks for no client certificate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses `chain` (end-entity certificate first, then any intermediates)
    /// and its private `key` as this side's certificate.
    ///
    /// Nothing is checked here: a key that does not match the certificate
    /// fails when the configuration is built, at StartTLS. The `_pem` and
    /// `_files` variants check at once.
    pub fn with_certificate(
        mut self,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Self {
        self.certificate = Some(LocalCertificate {
            chain,
            key: Arc::new(key),
        });
        self.local = Arc::default();
        self
    }

    /// Uses the certificates of `chain_pem` (every `CERTIFICATE` block,
    /// end-entity first) and the first private key of `key_pem` (`PRIVATE
    /// KEY` (PKCS#8), `RSA PRIVATE KEY` (PKCS#1) or `EC PRIVATE KEY` (SEC1)).
    ///
    /// For a combined file (Twisted's `PrivateCertificate.dumpPEM()` writes
    /// key and certificate together) pass the same bytes twice.
    ///
    /// Fails if either is missing or malformed, or if the key does not
    /// belong to the certificate.
    pub fn with_certificate_pem(self, chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, TlsError> {
        let chain = parse_certificates(chain_pem)?;
        let key = parse_private_key(key_pem)?;
        let loaded = certified_key(&chain, &key, &provider())?;
        let options = self.with_certificate(chain, key);
        // Fresh: cannot be set already.
        let _ = options.local.set(Ok(loaded));
        Ok(options)
    }

    /// [`with_certificate_pem`](Self::with_certificate_pem) reading PEM
    /// files (which may be the same file).
    pub fn with_certificate_files(
        self,
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, TlsError> {
        let chain_pem = read_file(cert.as_ref())?;
        let key_pem = read_file(key.as_ref())?;
        self.with_certificate_pem(&chain_pem, &key_pem)
    }

    /// Adds authorities (CA certificates) trusted to verify the peer. Adds
    /// to those already set.
    ///
    /// With authorities, a client requires the server's certificate to chain
    /// to one of them, and a server requires a client certificate that
    /// does. Malformed certificates make the configuration fail at StartTLS;
    /// the `_pem` and `_file` variants check at once.
    pub fn with_authorities(
        mut self,
        cas: impl IntoIterator<Item = CertificateDer<'static>>,
    ) -> Self {
        self.authorities.extend(cas);
        self
    }

    /// Adds every `CERTIFICATE` block of `pem` as an authority.
    ///
    /// Fails if there is none, or if one is malformed.
    pub fn with_authorities_pem(self, pem: &[u8]) -> Result<Self, TlsError> {
        let cas = parse_certificates(pem)?;
        root_store(&cas)?;
        Ok(self.with_authorities(cas))
    }

    /// [`with_authorities_pem`](Self::with_authorities_pem) reading a PEM
    /// file.
    pub fn with_authorities_file(self, path: impl AsRef<Path>) -> Result<Self, TlsError> {
        let pem = read_file(path.as_ref())?;
        self.with_authorities_pem(&pem)
    }

    /// As a client, also requires the server's certificate to be valid for
    /// `name` (a DNS name or an IP address), and sends it as SNI.
    ///
    /// Twisted's StartTLS does not check host names, and by default neither
    /// do we. A name is only meaningful for a verified certificate:
    /// configuring one without authorities makes the client configuration
    /// fail with [`TlsError::ServerNameWithoutAuthorities`]. A server
    /// ignores it.
    pub fn with_server_name(mut self, name: &str) -> Result<Self, TlsError> {
        let name = ServerName::try_from(name.to_owned())
            .map_err(|_| TlsError::InvalidServerName(name.to_owned()))?;
        self.server_name = Some(name);
        Ok(self)
    }

    /// Whether a certificate of this side's own is configured.
    pub fn has_certificate(&self) -> bool {
        self.certificate.is_some()
    }

    /// The authorities trusted to verify the peer.
    pub fn authorities(&self) -> &[CertificateDer<'static>] {
        &self.authorities
    }

    /// The rustls configuration for the side that initiates the handshake
    /// (the side that sent `StartTLS`).
    pub(crate) fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, TlsError> {
        self.client_config_with(rustls::DEFAULT_VERSIONS)
    }

    /// The rustls configuration for the side that accepts the handshake (the
    /// side that answered `StartTLS`).
    pub(crate) fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        self.server_config_with(rustls::DEFAULT_VERSIONS)
    }

    /// The name to connect to: the configured one, or a placeholder (neither
    /// sent nor checked) when names are not checked.
    pub(crate) fn server_name(&self) -> ServerName<'static> {
        match &self.server_name {
            Some(name) => name.clone(),
            None => ServerName::try_from(PLACEHOLDER_SERVER_NAME).expect("a valid DNS name"),
        }
    }

    fn client_config_with(
        &self,
        versions: &[&'static SupportedProtocolVersion],
    ) -> Result<Arc<rustls::ClientConfig>, TlsError> {
        let provider = provider();
        let algorithms = provider.signature_verification_algorithms;
        let verifier: Arc<dyn ServerCertVerifier> = if self.authorities.is_empty() {
            if self.server_name.is_some() {
                return Err(TlsError::ServerNameWithoutAuthorities);
            }
            Arc::new(AnonymousServerVerifier { algorithms })
        } else {
            Arc::new(AuthorityServerVerifier {
                roots: Arc::new(root_store(&self.authorities)?),
                algorithms,
                check_name: self.server_name.is_some(),
            })
        };
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .map_err(TlsError::Config)?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let mut config = if self.certificate.is_some() {
            let key = self.local_key(&provider)?;
            builder.with_client_cert_resolver(Arc::new(SingleCertAndKey::from(key)))
        } else {
            builder.with_no_client_auth()
        };
        config.enable_sni = self.server_name.is_some();
        config.resumption = Resumption::disabled();
        Ok(Arc::new(config))
    }

    fn server_config_with(
        &self,
        versions: &[&'static SupportedProtocolVersion],
    ) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let provider = provider();
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .map_err(TlsError::Config)?;
        let builder = if self.authorities.is_empty() {
            builder.with_no_client_auth()
        } else {
            let roots = Arc::new(root_store(&self.authorities)?);
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| TlsError::Config(rustls::Error::General(e.to_string())))?;
            builder.with_client_cert_verifier(verifier)
        };
        let key = self.local_key(&provider)?;
        let mut config = builder.with_cert_resolver(Arc::new(SingleCertAndKey::from(key)));
        config.session_storage = Arc::new(NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
        Ok(Arc::new(config))
    }

    /// The configured certificate and key, or (without one) the temporary
    /// self-signed certificate, loaded once and shared between clones.
    fn local_key(&self, provider: &CryptoProvider) -> Result<Arc<CertifiedKey>, TlsError> {
        self.local
            .get_or_init(|| match &self.certificate {
                Some(c) => certified_key(&c.chain, &c.key, provider),
                None => temporary_certificate(provider),
            })
            .clone()
    }
}

/// Why TLS settings could not be loaded or used, or why a handshake failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// Malformed PEM (a block that cannot be decoded).
    #[error("invalid PEM: {0}")]
    Pem(String),
    /// No private key (`PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`
    /// block) where one was expected.
    #[error("no private key found (expected a PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY PEM block)")]
    NoPrivateKey,
    /// No certificate (`CERTIFICATE` block) where one was expected, or an
    /// empty certificate chain.
    #[error("no certificate found (expected a CERTIFICATE PEM block)")]
    NoCertificate,
    /// A file could not be read.
    #[error("cannot read {}: {message}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        message: String,
    },
    /// rustls refused the settings: an unusable key, a key that does not
    /// match its certificate, a malformed authority...
    #[error("invalid TLS configuration: {0}")]
    Config(rustls::Error),
    /// [`TlsOptions::with_server_name`] was given something that is neither
    /// a DNS name nor an IP address.
    #[error("invalid server name {0:?}")]
    InvalidServerName(String),
    /// A server name is configured without authorities: there is no verified
    /// certificate to check it against.
    #[error("a server name can only be checked with authorities to verify the certificate (see TlsOptions::with_authorities)")]
    ServerNameWithoutAuthorities,
    /// The temporary self-signed certificate could not be generated.
    #[error("cannot generate a temporary certificate: {0}")]
    Generate(String),
    /// The TLS handshake failed; the message is rustls' (for example
    /// `invalid peer certificate: UnknownIssuer`) or the I/O error's.
    #[error("TLS handshake failed: {0}")]
    Handshake(String),
}

impl From<std::io::Error> for TlsError {
    /// Maps the error of a failed `tokio_rustls` handshake to
    /// [`TlsError::Handshake`], keeping the text of the rustls error it wraps.
    fn from(error: std::io::Error) -> Self {
        let message = match error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            Some(tls) => tls.to_string(),
            None => error.to_string(),
        };
        TlsError::Handshake(message)
    }
}

/// The ring provider, built explicitly: never a process-wide default.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_file(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::File {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

fn parse_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem(e.to_string()))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate);
    }
    Ok(certs)
}

fn parse_private_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::NoPrivateKey,
        e => TlsError::Pem(e.to_string()),
    })
}

fn root_store(authorities: &[CertificateDer<'static>]) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for ca in authorities {
        roots.add(ca.clone()).map_err(TlsError::Config)?;
    }
    Ok(roots)
}

/// Loads `key` and checks it belongs to the end-entity certificate of
/// `chain`. Unlike rustls' own loader, this accepts X.509 v1 certificates
/// (which Twisted's certificate helpers make).
fn certified_key(
    chain: &[CertificateDer<'static>],
    key: &PrivateKeyDer<'static>,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, TlsError> {
    let leaf = chain.first().ok_or(TlsError::NoCertificate)?;
    let signing_key = provider
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(TlsError::Config)?;
    let (_, cert_spki) = der::certificate_spki(leaf).ok_or(TlsError::Config(
        rustls::Error::InvalidCertificate(CertificateError::BadEncoding),
    ))?;
    if let Some(key_spki) = signing_key.public_key() {
        if key_spki.as_ref() != cert_spki {
            return Err(TlsError::Config(rustls::Error::InconsistentKeys(
                rustls::InconsistentKeys::KeyMismatch,
            )));
        }
    }
    Ok(Arc::new(CertifiedKey::new(chain.to_vec(), signing_key)))
}

/// A throwaway self-signed certificate, as Twisted's `_NoCertificate`
/// makes for a server without one (an ECDSA P-256 key here).
fn temporary_certificate(provider: &CryptoProvider) -> Result<Arc<CertifiedKey>, TlsError> {
    let generate = |e: rcgen::Error| TlsError::Generate(e.to_string());
    let key = rcgen::KeyPair::generate().map_err(generate)?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(generate)?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, TEMPORARY_CERTIFICATE_CN);
    let cert = params.self_signed(&key).map_err(generate)?;
    let key = PrivateKeyDer::Pkcs8(key.serialize_der().into());
    certified_key(&[cert.der().clone()], &key, provider)
}

/// Verifies the server against the authorities: the chain, validity dates
/// and key usage always, the name only when asked (Twisted checks no names).
#[derive(Debug)]
struct AuthorityServerVerifier {
    roots: Arc<RootCertStore>,
    algorithms: WebPkiSupportedAlgorithms,
    check_name: bool,
}

impl ServerCertVerifier for AuthorityServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.algorithms.all,
        )?;
        if self.check_name {
            rustls::client::verify_server_name(&cert, server_name)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Accepts any server certificate (Twisted's client without authorities),
/// but still checks that the server holds its key: the handshake must be
/// signed by the certificate's key.
#[derive(Debug)]
struct AnonymousServerVerifier {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AnonymousServerVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_any_signature(message, cert, dss, &self.algorithms, false)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_any_signature(message, cert, dss, &self.algorithms, true)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Checks a handshake signature against the key of `cert`, whatever its
/// X.509 version: rustls' helpers for v3 certificates, the bare public key
/// for older ones (which webpki refuses to parse, and Twisted makes).
fn verify_any_signature(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
    algorithms: &WebPkiSupportedAlgorithms,
    tls13: bool,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    let bad_encoding = || rustls::Error::InvalidCertificate(CertificateError::BadEncoding);
    let (version, spki) = der::certificate_spki(cert).ok_or_else(bad_encoding)?;
    match (version, tls13) {
        (der::X509_V3, false) => {
            rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
        }
        (der::X509_V3, true) => {
            rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
        }
        (_, true) => rustls::crypto::verify_tls13_signature_with_raw_key(
            message,
            &SubjectPublicKeyInfoDer::from(spki),
            dss,
            algorithms,
        ),
        (_, false) => {
            // What webpki does for TLS 1.2, on the bare key: try every
            // algorithm of the scheme that fits the key's type.
            let (key_algorithm, key) = der::spki_parts(spki).ok_or_else(bad_encoding)?;
            let candidates = algorithms
                .mapping
                .iter()
                .find(|(scheme, _)| *scheme == dss.scheme)
                .map(|(_, candidates)| *candidates)
                .ok_or(rustls::PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme)?;
            let mut fitting = candidates
                .iter()
                .filter(|alg| alg.public_key_alg_id().as_ref() == key_algorithm);
            match fitting.next() {
                Some(alg) => match alg.verify_signature(key, message, dss.signature()) {
                    Ok(()) => Ok(HandshakeSignatureValid::assertion()),
                    Err(_) => Err(CertificateError::BadSignature.into()),
                },
                None => Err(
                    CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext {
                        signature_algorithm_id: candidates
                            .first()
                            .map(|alg| alg.signature_alg_id().as_ref().to_vec())
                            .unwrap_or_default(),
                        public_key_algorithm_id: key_algorithm.to_vec(),
                    }
                    .into(),
                ),
            }
        }
    }
}

/// Just enough DER to find a certificate's version and public key, for
/// certificates (X.509 v1) that webpki does not parse.
mod der {
    pub(super) const SEQUENCE: u8 = 0x30;
    pub(super) const INTEGER: u8 = 0x02;
    pub(super) const BIT_STRING: u8 = 0x03;
    /// `[0] EXPLICIT`, the tag of a certificate's version.
    pub(super) const VERSION_TAG: u8 = 0xa0;
    /// The encoded version number of an X.509 v3 certificate.
    pub(super) const X509_V3: u8 = 2;

    /// One DER element.
    pub(super) struct Element<'a> {
        pub(super) tag: u8,
        /// Its contents.
        pub(super) contents: &'a [u8],
        /// Its whole encoding: tag, length and contents.
        pub(super) whole: &'a [u8],
        /// What follows it.
        pub(super) rest: &'a [u8],
    }

    /// The element at the front of `input`.
    pub(super) fn split(input: &[u8]) -> Option<Element<'_>> {
        let (&tag, rest) = input.split_first()?;
        if tag & 0x1f == 0x1f {
            return None; // multi-byte tags: none in what we read
        }
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |len, &b| (len << 8) | usize::from(b));
            (len, &rest[n..])
        };
        if rest.len() < len {
            return None;
        }
        let header = input.len() - rest.len();
        Some(Element {
            tag,
            contents: &rest[..len],
            whole: &input[..header + len],
            rest: &rest[len..],
        })
    }

    /// The element at the front of `input`, if it has this tag.
    fn expect(input: &[u8], tag: u8) -> Option<Element<'_>> {
        split(input).filter(|e| e.tag == tag)
    }

    /// A certificate's encoded version (0 for v1, 2 for v3) and its
    /// SubjectPublicKeyInfo (whole encoding).
    pub(super) fn certificate_spki(cert: &[u8]) -> Option<(u8, &[u8])> {
        let cert = expect(cert, SEQUENCE)?;
        if !cert.rest.is_empty() {
            return None;
        }
        let mut tbs = expect(cert.contents, SEQUENCE)?.contents;
        let mut version = 0;
        if let Some(explicit) = expect(tbs, VERSION_TAG) {
            version = match expect(explicit.contents, INTEGER)?.contents {
                [v] => *v,
                _ => return None,
            };
            tbs = explicit.rest;
        }
        // serialNumber, signature, issuer, validity, subject
        for tag in [INTEGER, SEQUENCE, SEQUENCE, SEQUENCE, SEQUENCE] {
            tbs = expect(tbs, tag)?.rest;
        }
        Some((version, expect(tbs, SEQUENCE)?.whole))
    }

    /// A SubjectPublicKeyInfo's algorithm (contents of the
    /// AlgorithmIdentifier) and key (contents of the bit string).
    pub(super) fn spki_parts(spki: &[u8]) -> Option<(&[u8], &[u8])> {
        let algorithm = expect(expect(spki, SEQUENCE)?.contents, SEQUENCE)?;
        let bits = expect(algorithm.rest, BIT_STRING)?.contents;
        match bits.split_first()? {
            (0, key) => Some((algorithm.contents, key)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rustls::version::{TLS12, TLS13};
    use rustls::{SignatureAlgorithm, SignatureScheme};
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
    use tokio_rustls::{client, server, TlsAcceptor, TlsConnector};

    use super::*;

    type Versions = &'static [&'static SupportedProtocolVersion];
    const TLS13_ONLY: Versions = &[&TLS13];
    const BOTH: [Versions; 2] = [&[&TLS12], TLS13_ONLY];

    type ClientStream = client::TlsStream<DuplexStream>;
    type ServerStream = server::TlsStream<DuplexStream>;

    /// A test-only RSA-2048 key (PKCS#8), made with `openssl genpkey`:
    /// rcgen with ring cannot generate RSA keys.
    const RSA_PKCS8_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCp+kKtOair6nZT
uSu0XOtZryV18WalTD2OAjFv+1MrhW4zz2zVXCmbjfQzz34QzGGOyVF5hVnyxXMr
7DJ2+8W96r9AErPAHg3MVvBsmPLjvh5ipIwELqeazuiLMAETlmenj0efng1Q7OPI
kqbyCkVVPr1lfO+1KflKcUuVsxtYdddER69aCL5xjoSl52/MeqGUrwkfkIxCGUgK
b7tor8CcZccxUmqQRBgco1HBznIBu7AC6Cd9gTFtVu6qhIH2qBJPJp3XXMhDi+MP
YMRvJlssmwZAcE8cFZTn5kbo8mQfnzYn4KR9XwpBVFKodk0tY9a5oeCXowXn/6qq
Gl4GSb0DAgMBAAECggEAN+xop4mC3x0C1UTlBjBUFmuzjXxg4x2UWvaJwWgU0wrR
WSZzjjcGUXGA2NL5jRlRN6MwtSSUlXU1EUxixhbL1lI3niMJFLpOm942t+QSda+F
W7r7fhzDdAGDLNgcYo9nhw9y5ycfBnMJ9mGZn6SVbxh3Q765NweaR03DKnuFEbMZ
xJewYMAnIdbb44tLtiyolXvV2C7mg7m638IzSZJjn1/rWfPEopBaQCms2Z5p4Bh4
p1FaSYWflGs1otGp1mIVx6JnmKV2tgXiGjXivy8FObrsm8Y3WrLiMARVyVssqCKO
4lYDZDm3pKBV5kIKimKw0G4Ctu7LX3wPa0elokIE0QKBgQDlEZPMEeQexisPCAR1
JP+37AM4FWwYntCBCyyGmWAyNLAfNF+/d5qmS3S4A8fiUDLEb6fzfPT/qt3ou/Jv
p4DbXzFzgx5n9AzprD1I36t8tpKhemPSOwBVW2Te8R+ZcyUowCMBcKFwzEdAZkW/
QWZmyGy20LkW2+iyPh57ljVSvQKBgQC99i6Rtfu8QlawBp0nCnJnINeQTylh6pC4
ETmf22y/wEMNSa4VnVcDrfHS5/H0y7LAN+z0yAK+Ejl0tEikiIXu8cKYu6qXjHGO
ddORWJtfJxPJlrDE9arhuEMfwwCGfCPqWKbYMHbjEGsAj6XrNncGDD51NIdc188V
BOp33oYqvwKBgQDSWRrEWWWGkOk3a2BUhj5AkXy/QoS58xR6e11O2IcKc3GLpheK
hfVAYafz1pz1iDmmQvYSVJvSLwCJ2BUfTMy6JacOcMg6I1S8O4snYSVjZ3As0mvZ
wI5k04FEbF1dFux3iEBc8SV+pEeFrqS7pP24wrF6Cx78C8KZ8wsg5+VdbQKBgDdE
9W+3vzKbKpW0luzRAVA4If/+yE+Q6+JiQJ3ePdncmqW3Fkt7p+GOLpnqml9bFPsQ
SoU93G5o5wapnakhf7Zx6Oh/UbceSbvlVFUprqsUt5EjovLrd3iNIBqRpgl6/Qgm
GwUztKOEF13mbaPuCNtdnJ6FVg0RTVMURxPxTqAJAoGADDEeQFYkHCO5bTcSyZL/
tU1uvILYcJ9B0CjSC8hY280eJoSSDRI7OgtoRLe+6/nH5YoAQs64hrdGiKdCZYc3
v9pCfKOgDRm2TjyZKiBjZwq0hprNwU+MraQLwGrIiwbjcZXU59cuetD9riSzVnE3
BHvbXYhV9WmtNhrPupxUblU=
-----END PRIVATE KEY-----
";

    // --- certificates -----------------------------------------------------

    fn dn(cn: &str) -> rcgen::DistinguishedName {
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::CommonName, cn);
        dn
    }

    fn key_der(key: &rcgen::KeyPair) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(key.serialize_der().into())
    }

    struct Ca {
        cert: rcgen::Certificate,
        key: rcgen::KeyPair,
    }

    impl Ca {
        fn new(cn: &str) -> Ca {
            let key = rcgen::KeyPair::generate().unwrap();
            let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            params.distinguished_name = dn(cn);
            params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            params.key_usages = vec![
                rcgen::KeyUsagePurpose::KeyCertSign,
                rcgen::KeyUsagePurpose::CrlSign,
            ];
            let cert = params.self_signed(&key).unwrap();
            Ca { cert, key }
        }

        fn der(&self) -> CertificateDer<'static> {
            self.cert.der().clone()
        }

        fn issue_with(
            &self,
            cn: &str,
            sans: &[&str],
            edit: impl FnOnce(&mut rcgen::CertificateParams),
        ) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
            let key = rcgen::KeyPair::generate().unwrap();
            let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
            let mut params = rcgen::CertificateParams::new(sans).unwrap();
            params.distinguished_name = dn(cn);
            edit(&mut params);
            let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
            (cert.der().clone(), key_der(&key))
        }

        fn issue(
            &self,
            cn: &str,
            sans: &[&str],
        ) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
            self.issue_with(cn, sans, |_| {})
        }
    }

    fn self_signed(cn: &str) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.distinguished_name = dn(cn);
        (
            params.self_signed(&key).unwrap().der().clone(),
            key_der(&key),
        )
    }

    // --- DER and PEM writing, for keys and certificates rcgen won't make ----

    fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = contents.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
        out.extend_from_slice(contents);
        out
    }

    fn seq(parts: &[&[u8]]) -> Vec<u8> {
        tlv(der::SEQUENCE, &parts.concat())
    }

    fn pem(label: &str, der: &[u8]) -> Vec<u8> {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut b64 = Vec::new();
        for chunk in der.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
            for i in 0..4 {
                b64.push(if i <= chunk.len() {
                    ALPHABET[(n >> (18 - 6 * i) & 63) as usize]
                } else {
                    b'='
                });
            }
        }
        let mut out = format!("-----BEGIN {label}-----\n").into_bytes();
        for line in b64.chunks(64) {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
        out.extend_from_slice(format!("-----END {label}-----\n").as_bytes());
        out
    }

    /// The algorithm (contents) and private key (octets) of a PKCS#8 key.
    fn pkcs8_parts(pkcs8: &[u8]) -> (&[u8], &[u8]) {
        let body = der::split(pkcs8).unwrap().contents;
        let version = der::split(body).unwrap();
        let algorithm = der::split(version.rest).unwrap();
        let key = der::split(algorithm.rest).unwrap();
        assert_eq!(key.tag, 0x04);
        (algorithm.contents, key.contents)
    }

    /// PKCS#8 RSA to PKCS#1 (`RSA PRIVATE KEY`).
    fn rsa_pkcs1(pkcs8: &[u8]) -> Vec<u8> {
        pkcs8_parts(pkcs8).1.to_vec()
    }

    /// PKCS#8 EC to SEC1 (`EC PRIVATE KEY`), with the curve parameters
    /// OpenSSL writes.
    fn ec_sec1(pkcs8: &[u8]) -> Vec<u8> {
        let (algorithm, key) = pkcs8_parts(pkcs8);
        let id_ec_public_key = der::split(algorithm).unwrap();
        let curve = der::split(id_ec_public_key.rest).unwrap().whole;
        let ec = der::split(key).unwrap().contents;
        let version = der::split(ec).unwrap();
        let private = der::split(version.rest).unwrap();
        if private.rest.first() == Some(&der::VERSION_TAG) {
            return key.to_vec(); // parameters already there
        }
        seq(&[
            version.whole,
            private.whole,
            &tlv(0xa0, curve),
            private.rest,
        ])
    }

    /// An X.509 **v1** self-signed certificate, as Twisted's
    /// `KeyPair.selfSignedCert` makes (rcgen only makes v3).
    fn v1_certificate(key: &PrivateKeyDer<'static>, cn: &str) -> CertificateDer<'static> {
        const SHA256_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 1, 1, 0x0b];
        const ECDSA_WITH_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 4, 3, 2];
        const COMMON_NAME: &[u8] = &[0x55, 4, 3];
        let signing = provider()
            .key_provider
            .load_private_key(key.clone_key())
            .unwrap();
        let (scheme, algorithm) = match signing.algorithm() {
            SignatureAlgorithm::RSA => (
                SignatureScheme::RSA_PKCS1_SHA256,
                seq(&[&tlv(6, SHA256_WITH_RSA), &[5, 0]]),
            ),
            SignatureAlgorithm::ECDSA => (
                SignatureScheme::ECDSA_NISTP256_SHA256,
                seq(&[&tlv(6, ECDSA_WITH_SHA256)]),
            ),
            other => panic!("no v1 certificates for {other:?} keys"),
        };
        let name = seq(&[&tlv(
            0x31,
            &seq(&[&tlv(6, COMMON_NAME), &tlv(0x0c, cn.as_bytes())]),
        )]);
        let validity = seq(&[&tlv(0x17, b"000101000000Z"), &tlv(0x18, b"20991231235959Z")]);
        let spki = signing.public_key().unwrap();
        let tbs = seq(&[
            &tlv(der::INTEGER, &[1]),
            &algorithm,
            &name,
            &validity,
            &name,
            &spki,
        ]);
        let signature = signing
            .choose_scheme(&[scheme])
            .unwrap()
            .sign(&tbs)
            .unwrap();
        let bits = [&[0u8][..], &signature].concat();
        CertificateDer::from(seq(&[&tbs, &algorithm, &tlv(der::BIT_STRING, &bits)]))
    }

    fn signature_algorithm(key: &PrivateKeyDer<'static>) -> SignatureAlgorithm {
        let provider = provider();
        let signing = provider.key_provider.load_private_key(key.clone_key());
        signing.unwrap().algorithm()
    }

    // --- handshakes -------------------------------------------------------

    struct Outcome {
        client: Result<ClientStream, TlsError>,
        server: Result<ServerStream, TlsError>,
    }

    impl Outcome {
        fn ok(self) -> (ClientStream, ServerStream) {
            match (self.client, self.server) {
                (Ok(c), Ok(s)) => (c, s),
                (c, s) => panic!(
                    "handshake failed: client {:?}, server {:?}",
                    c.err(),
                    s.err()
                ),
            }
        }

        /// The client's error: from the handshake or, when the server
        /// rejects the client after a TLS 1.3 handshake the client thinks
        /// complete, from its first read.
        async fn client_error(self) -> String {
            match self.client {
                Err(e) => e.to_string(),
                Ok(mut c) => {
                    let mut buf = [0u8; 1];
                    let read = tokio::time::timeout(Duration::from_secs(10), c.read(&mut buf));
                    match read.await.expect("client read timed out") {
                        Err(e) => TlsError::from(e).to_string(),
                        Ok(n) => panic!("the client read {n} bytes from a failed handshake"),
                    }
                }
            }
        }

        fn server_error(&self) -> String {
            match &self.server {
                Err(e) => e.to_string(),
                Ok(_) => panic!("the server accepted the handshake"),
            }
        }
    }

    async fn handshake_configs(
        client: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
        server: Arc<rustls::ServerConfig>,
    ) -> Outcome {
        let (a, b) = tokio::io::duplex(1 << 16);
        let connect = TlsConnector::from(client).connect(name, a);
        let accept = TlsAcceptor::from(server).accept(b);
        let both = async { tokio::join!(connect, accept) };
        let (client, server) = tokio::time::timeout(Duration::from_secs(10), both)
            .await
            .expect("the handshake timed out");
        Outcome {
            client: client.map_err(TlsError::from),
            server: server.map_err(TlsError::from),
        }
    }

    /// The client's error from a handshake that must fail.
    async fn client_error(client: &TlsOptions, server: &TlsOptions, versions: Versions) -> String {
        handshake(client, server, versions)
            .await
            .client_error()
            .await
    }

    async fn handshake(client: &TlsOptions, server: &TlsOptions, versions: Versions) -> Outcome {
        handshake_configs(
            client.client_config_with(versions).unwrap(),
            client.server_name(),
            server.server_config_with(versions).unwrap(),
        )
        .await
    }

    /// A server presenting `cert` but signing with `key`: the client must
    /// notice even when it verifies no certificate.
    fn impostor_server(
        cert: CertificateDer<'static>,
        key: PrivateKeyDer<'static>,
        versions: Versions,
    ) -> Arc<rustls::ServerConfig> {
        let provider = provider();
        let signing = provider.key_provider.load_private_key(key).unwrap();
        let certified = CertifiedKey::new(vec![cert], signing);
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .unwrap()
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(SingleCertAndKey::from(certified)));
        Arc::new(config)
    }

    async fn ping(mut c: ClientStream, mut s: ServerStream) {
        let mut buf = [0u8; 4];
        c.write_all(b"ping").await.unwrap();
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        s.write_all(b"pong").await.unwrap();
        c.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");
    }

    fn peer_of_client(c: &ClientStream) -> Vec<CertificateDer<'static>> {
        c.get_ref().1.peer_certificates().unwrap().to_vec()
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    // --- anonymous --------------------------------------------------------

    #[tokio::test]
    async fn anonymous_client_accepts_the_temporary_certificate() {
        for versions in BOTH {
            let server = TlsOptions::new();
            let (c, s) = handshake(&TlsOptions::new(), &server, versions).await.ok();
            let presented = peer_of_client(&c);
            assert_eq!(presented.len(), 1);
            assert_eq!(presented, server.local_key(&provider()).unwrap().cert);
            assert!(contains(&presented[0], TEMPORARY_CERTIFICATE_CN.as_bytes()));
            assert!(s.get_ref().1.peer_certificates().is_none());
            assert_eq!(s.get_ref().1.server_name(), None, "no SNI without a name");
            ping(c, s).await;
        }
    }

    #[tokio::test]
    async fn anonymous_client_accepts_a_self_signed_server() {
        let (cert, key) = self_signed("some server");
        let server = TlsOptions::new().with_certificate(vec![cert.clone()], key);
        for versions in BOTH {
            let (c, s) = handshake(&TlsOptions::new(), &server, versions).await.ok();
            assert_eq!(peer_of_client(&c), vec![cert.clone()]);
            ping(c, s).await;
        }
    }

    #[tokio::test]
    async fn anonymous_client_still_checks_handshake_signatures() {
        let (cert, _) = self_signed("impostor");
        let (_, other_key) = self_signed("impostor");
        for versions in BOTH {
            let outcome = handshake_configs(
                TlsOptions::new().client_config_with(versions).unwrap(),
                TlsOptions::new().server_name(),
                impostor_server(cert.clone(), other_key.clone_key(), versions),
            )
            .await;
            let error = outcome.client_error().await;
            assert!(error.contains("BadSignature"), "{error}");
        }
    }

    #[test]
    fn the_temporary_certificate_is_shared_between_clones() {
        let p = provider();
        let a = TlsOptions::new();
        let b = a.clone();
        a.server_config().unwrap();
        b.server_config().unwrap();
        let cert = a.local_key(&p).unwrap().cert.clone();
        assert_eq!(b.local_key(&p).unwrap().cert, cert);
        assert_eq!(a.clone().local_key(&p).unwrap().cert, cert);
        // Another value generates its own.
        assert_ne!(TlsOptions::new().local_key(&p).unwrap().cert, cert);
        // A clone given a certificate uses it, and the original is unchanged.
        let (own, key) = self_signed("own");
        let c = b.clone().with_certificate(vec![own.clone()], key);
        assert_eq!(c.local_key(&p).unwrap().cert, vec![own]);
        assert_eq!(b.local_key(&p).unwrap().cert, cert);
    }

    // --- clients verifying servers ----------------------------------------

    #[tokio::test]
    async fn client_verifies_the_server_against_its_authorities() {
        let ca = Ca::new("test CA");
        // Names are not checked (Twisted's StartTLS checks none).
        let (cert, key) = ca.issue("elsewhere", &["elsewhere.example"]);
        let server = TlsOptions::new().with_certificate(vec![cert.clone()], key);
        let client = TlsOptions::new().with_authorities([ca.der()]);
        for versions in BOTH {
            let (c, s) = handshake(&client, &server, versions).await.ok();
            assert_eq!(peer_of_client(&c), vec![cert.clone()]);
            ping(c, s).await;
        }
    }

    #[tokio::test]
    async fn client_accepts_a_chain_through_an_intermediate() {
        let root = Ca::new("root CA");
        let intermediate_key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name = dn("intermediate CA");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let intermediate = Ca {
            cert: params
                .signed_by(&intermediate_key, &root.cert, &root.key)
                .unwrap(),
            key: intermediate_key,
        };
        let (cert, key) = intermediate.issue("leaf", &["localhost"]);
        let server =
            TlsOptions::new().with_certificate(vec![cert.clone(), intermediate.der()], key);
        let client = TlsOptions::new().with_authorities([root.der()]);
        let (c, s) = handshake(&client, &server, TLS13_ONLY).await.ok();
        assert_eq!(peer_of_client(&c), vec![cert, intermediate.der()]);
        ping(c, s).await;
    }

    #[tokio::test]
    async fn client_rejects_a_server_from_another_authority() {
        let ca = Ca::new("test CA");
        let other = Ca::new("other CA");
        let (cert, key) = other.issue("localhost", &["localhost"]);
        let server = TlsOptions::new().with_certificate(vec![cert], key);
        let client = TlsOptions::new().with_authorities([ca.der()]);
        for versions in BOTH {
            let outcome = handshake(&client, &server, versions).await;
            let server_error = outcome.server_error();
            let error = outcome.client_error().await;
            assert_eq!(
                error,
                "TLS handshake failed: invalid peer certificate: UnknownIssuer"
            );
            assert!(server_error.contains("UnknownCA"), "{server_error}");
        }
    }

    #[tokio::test]
    async fn client_with_authorities_rejects_self_signed_and_temporary_servers() {
        let ca = Ca::new("test CA");
        let client = TlsOptions::new().with_authorities([ca.der()]);
        let (cert, key) = self_signed("localhost");
        for server in [
            TlsOptions::new(),
            TlsOptions::new().with_certificate(vec![cert], key),
        ] {
            for versions in BOTH {
                let error = client_error(&client, &server, versions).await;
                assert!(error.contains("UnknownIssuer"), "{error}");
            }
        }
    }

    #[tokio::test]
    async fn client_rejects_an_expired_server_certificate() {
        let ca = Ca::new("test CA");
        let (cert, key) = ca.issue_with("localhost", &["localhost"], |p| {
            p.not_before = rcgen::date_time_ymd(1990, 1, 1);
            p.not_after = rcgen::date_time_ymd(2000, 1, 1);
        });
        let server = TlsOptions::new().with_certificate(vec![cert], key);
        let client = TlsOptions::new().with_authorities([ca.der()]);
        let error = client_error(&client, &server, TLS13_ONLY).await;
        assert!(error.contains("certificate expired"), "{error}");
    }

    #[tokio::test]
    async fn client_rejects_a_forged_certificate_signature() {
        let ca = Ca::new("test CA");
        let (cert, key) = ca.issue("localhost", &["localhost"]);
        let mut forged = cert.to_vec();
        *forged.last_mut().unwrap() ^= 1; // in the CA's signature
        let server = TlsOptions::new().with_certificate(vec![forged.into()], key);
        let client = TlsOptions::new().with_authorities([ca.der()]);
        for versions in BOTH {
            let error = client_error(&client, &server, versions).await;
            assert!(error.contains("BadSignature"), "{error}");
        }
    }

    #[tokio::test]
    async fn client_with_authorities_checks_handshake_signatures() {
        let ca = Ca::new("test CA");
        let (cert, _) = ca.issue("localhost", &["localhost"]);
        let (_, other_key) = ca.issue("localhost", &["localhost"]);
        let client = TlsOptions::new().with_authorities([ca.der()]);
        for versions in BOTH {
            let outcome = handshake_configs(
                client.client_config_with(versions).unwrap(),
                client.server_name(),
                impostor_server(cert.clone(), other_key.clone_key(), versions),
            )
            .await;
            let error = outcome.client_error().await;
            assert!(error.contains("BadSignature"), "{error}");
        }
    }

    // --- host names -------------------------------------------------------

    #[tokio::test]
    async fn server_name_is_checked_when_asked() {
        let ca = Ca::new("test CA");
        let (cert, key) = ca.issue("localhost", &["localhost", "127.0.0.1"]);
        let server = TlsOptions::new().with_certificate(vec![cert], key);
        let client = TlsOptions::new().with_authorities([ca.der()]);
        for versions in BOTH {
            let named = client.clone().with_server_name("localhost").unwrap();
            let (c, s) = handshake(&named, &server, versions).await.ok();
            assert_eq!(s.get_ref().1.server_name(), Some("localhost"), "SNI");
            ping(c, s).await;

            let ip = client.clone().with_server_name("127.0.0.1").unwrap();
            let (c, s) = handshake(&ip, &server, versions).await.ok();
            ping(c, s).await;

            let wrong = client.clone().with_server_name("example.com").unwrap();
            let error = client_error(&wrong, &server, versions).await;
            assert!(
                error.contains("certificate not valid for name \"example.com\""),
                "{error}"
            );
        }
    }

    #[test]
    fn server_names() {
        let placeholder = TlsOptions::new().server_name();
        assert_eq!(placeholder.to_str(), PLACEHOLDER_SERVER_NAME);
        let named = TlsOptions::new().with_server_name("amp.example").unwrap();
        assert_eq!(named.server_name().to_str(), "amp.example");
        assert!(matches!(
            TlsOptions::new().with_server_name("not a name!"),
            Err(TlsError::InvalidServerName(name)) if name == "not a name!"
        ));
        // A name without authorities would check an unverified certificate.
        assert!(matches!(
            named.client_config(),
            Err(TlsError::ServerNameWithoutAuthorities)
        ));
        // A server ignores it.
        named.server_config().unwrap();
    }

    // --- servers verifying clients ----------------------------------------

    #[tokio::test]
    async fn server_with_authorities_requires_a_client_certificate() {
        let ca = Ca::new("test CA");
        let other = Ca::new("other CA");
        let (cert, key) = ca.issue("localhost", &["localhost"]);
        let server = TlsOptions::new()
            .with_certificate(vec![cert], key)
            .with_authorities([ca.der()]);
        let (client_cert, client_key) = ca.issue("client", &[]);
        let (stranger_cert, stranger_key) = other.issue("stranger", &[]);
        for versions in BOTH {
            // No certificate.
            let outcome = handshake(&TlsOptions::new(), &server, versions).await;
            assert_eq!(
                outcome.server_error(),
                "TLS handshake failed: peer sent no certificates"
            );
            let error = outcome.client_error().await;
            assert!(error.contains("received fatal alert"), "{error}");

            // A certificate from the server's authority.
            let client = TlsOptions::new()
                .with_certificate(vec![client_cert.clone()], client_key.clone_key());
            let (c, s) = handshake(&client, &server, versions).await.ok();
            assert_eq!(
                s.get_ref().1.peer_certificates().unwrap(),
                std::slice::from_ref(&client_cert)
            );
            ping(c, s).await;

            // A certificate from another authority.
            let stranger = TlsOptions::new()
                .with_certificate(vec![stranger_cert.clone()], stranger_key.clone_key());
            let outcome = handshake(&stranger, &server, versions).await;
            assert_eq!(
                outcome.server_error(),
                "TLS handshake failed: invalid peer certificate: UnknownIssuer"
            );
            let error = outcome.client_error().await;
            assert!(error.contains("received fatal alert"), "{error}");
        }
    }

    #[tokio::test]
    async fn server_without_authorities_asks_for_no_client_certificate() {
        let (client_cert, client_key) = self_signed("client");
        let client = TlsOptions::new().with_certificate(vec![client_cert], client_key);
        for versions in BOTH {
            let (c, s) = handshake(&client, &TlsOptions::new(), versions).await.ok();
            assert!(s.get_ref().1.peer_certificates().is_none());
            ping(c, s).await;
        }
    }

    #[tokio::test]
    async fn mutual_verification() {
        let ca = Ca::new("test CA");
        let (server_cert, server_key) = ca.issue("localhost", &["localhost"]);
        let (client_cert, client_key) = ca.issue("client", &[]);
        let server = TlsOptions::new()
            .with_certificate(vec![server_cert.clone()], server_key)
            .with_authorities([ca.der()]);
        let client = TlsOptions::new()
            .with_certificate(vec![client_cert.clone()], client_key)
            .with_authorities([ca.der()])
            .with_server_name("localhost")
            .unwrap();
        for versions in BOTH {
            let (c, s) = handshake(&client, &server, versions).await.ok();
            assert_eq!(peer_of_client(&c), std::slice::from_ref(&server_cert));
            assert_eq!(
                s.get_ref().1.peer_certificates().unwrap(),
                std::slice::from_ref(&client_cert)
            );
            ping(c, s).await;
        }
    }

    // --- X.509 v1 certificates (Twisted's) ---------------------------------

    #[tokio::test]
    async fn v1_certificates_serve_and_are_accepted_anonymously() {
        let rsa = PrivateKeyDer::from_pem_slice(RSA_PKCS8_PEM.as_bytes()).unwrap();
        let ec = key_der(&rcgen::KeyPair::generate().unwrap());
        for key in [rsa, ec] {
            let cert = v1_certificate(&key, TEMPORARY_CERTIFICATE_CN);
            assert_eq!(
                der::certificate_spki(&cert).unwrap().0,
                0,
                "a v1 certificate"
            );
            let pem_options = TlsOptions::new()
                .with_certificate_pem(
                    &pem("CERTIFICATE", &cert),
                    &pem("PRIVATE KEY", key.secret_der()),
                )
                .unwrap();
            let server = TlsOptions::new().with_certificate(vec![cert.clone()], key.clone_key());
            for versions in BOTH {
                for server in [&server, &pem_options] {
                    let (c, s) = handshake(&TlsOptions::new(), server, versions).await.ok();
                    assert_eq!(peer_of_client(&c), std::slice::from_ref(&cert));
                    ping(c, s).await;
                }
                // ...but the handshake must still be signed with the
                // certificate's key: a key of the same type...
                let impostor = key_der(&rcgen::KeyPair::generate().unwrap());
                let same_type = matches!(signature_algorithm(&key), SignatureAlgorithm::ECDSA);
                let outcome = handshake_configs(
                    TlsOptions::new().client_config_with(versions).unwrap(),
                    TlsOptions::new().server_name(),
                    impostor_server(cert.clone(), impostor, versions),
                )
                .await;
                let error = outcome.client_error().await;
                // ...or of another type (an EC key for an RSA certificate).
                let expected = if same_type {
                    "invalid peer certificate: BadSignature"
                } else {
                    "invalid peer certificate: UnsupportedSignatureAlgorithmForPublicKey"
                };
                assert!(error.contains(expected), "{error}");
            }
        }
    }

    #[tokio::test]
    async fn v1_authorities_load_but_v1_peers_cannot_be_verified() {
        let key = key_der(&rcgen::KeyPair::generate().unwrap());
        let cert = v1_certificate(&key, "v1");
        let client = TlsOptions::new()
            .with_authorities_pem(&pem("CERTIFICATE", &cert))
            .unwrap();
        let server = TlsOptions::new().with_certificate(vec![cert], key);
        let error = client_error(&client, &server, TLS13_ONLY).await;
        assert!(error.contains("invalid peer certificate"), "{error}");
    }

    // --- PEM --------------------------------------------------------------

    async fn serves(options: &TlsOptions) {
        for versions in BOTH {
            let (c, s) = handshake(&TlsOptions::new(), options, versions).await.ok();
            ping(c, s).await;
        }
    }

    #[tokio::test]
    async fn pem_keys_of_every_format_load() {
        // EC: PKCS#8 and SEC1.
        let ec = rcgen::KeyPair::generate().unwrap();
        let ec_cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&ec)
            .unwrap();
        let ec_pkcs8 = ec.serialize_pem();
        assert!(ec_pkcs8.starts_with("-----BEGIN PRIVATE KEY-----"));
        let ec_sec1 = pem("EC PRIVATE KEY", &ec_sec1(&ec.serialize_der()));
        // RSA: PKCS#8 and PKCS#1.
        let rsa = rcgen::KeyPair::from_pem(RSA_PKCS8_PEM).unwrap();
        let rsa_cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&rsa)
            .unwrap();
        let rsa_pkcs1 = pem("RSA PRIVATE KEY", &rsa_pkcs1(&rsa.serialize_der()));

        let cases = [
            (&ec_cert, ec_pkcs8.into_bytes(), "Pkcs8"),
            (&ec_cert, ec_sec1, "Sec1"),
            (&rsa_cert, RSA_PKCS8_PEM.as_bytes().to_vec(), "Pkcs8"),
            (&rsa_cert, rsa_pkcs1, "Pkcs1"),
        ];
        for (cert, key_pem, format) in cases {
            let parsed = parse_private_key(&key_pem).unwrap();
            assert!(
                format!("{parsed:?}").starts_with(&format!("{format}(")),
                "{parsed:?}"
            );
            let options = TlsOptions::new()
                .with_certificate_pem(cert.pem().as_bytes(), &key_pem)
                .unwrap();
            serves(&options).await;
            // One combined file (Twisted's dumpPEM), passed twice.
            let combined = [key_pem.as_slice(), cert.pem().as_bytes()].concat();
            let options = TlsOptions::new()
                .with_certificate_pem(&combined, &combined)
                .unwrap();
            assert!(options.has_certificate());
            serves(&options).await;
        }
    }

    #[test]
    fn bad_pem_is_refused() {
        let ca = Ca::new("test CA");
        let (cert, key) = ca.issue("localhost", &[]);
        let cert_pem = pem("CERTIFICATE", &cert);
        let key_pem = pem("PRIVATE KEY", key.secret_der());
        let garbage = b"this is not PEM at all";
        let bad_base64 = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        let unterminated = b"-----BEGIN PRIVATE KEY-----\nAAAA\n";

        let new = TlsOptions::new;
        assert!(matches!(
            new().with_certificate_pem(garbage, &key_pem),
            Err(TlsError::NoCertificate)
        ));
        assert!(matches!(
            new().with_certificate_pem(&cert_pem, garbage),
            Err(TlsError::NoPrivateKey)
        ));
        assert!(matches!(
            new().with_certificate_pem(&cert_pem, &cert_pem),
            Err(TlsError::NoPrivateKey)
        ));
        assert!(matches!(
            new().with_certificate_pem(bad_base64, &key_pem),
            Err(TlsError::Pem(_))
        ));
        assert!(matches!(
            new().with_certificate_pem(&cert_pem, unterminated),
            Err(TlsError::Pem(_))
        ));
        assert!(matches!(
            new().with_authorities_pem(garbage),
            Err(TlsError::NoCertificate)
        ));
        assert!(matches!(
            new().with_authorities_pem(bad_base64),
            Err(TlsError::Pem(_))
        ));
        // Well-formed PEM around something that is not a certificate.
        let not_a_cert = pem("CERTIFICATE", b"hello");
        assert!(matches!(
            new().with_authorities_pem(&not_a_cert),
            Err(TlsError::Config(_))
        ));
        assert!(matches!(
            new().with_certificate_pem(&not_a_cert, &key_pem),
            Err(TlsError::Config(_))
        ));
        // A key that is not the certificate's.
        let (_, other_key) = ca.issue("other", &[]);
        let error = new()
            .with_certificate_pem(&cert_pem, &pem("PRIVATE KEY", other_key.secret_der()))
            .unwrap_err();
        assert!(
            matches!(
                error,
                TlsError::Config(rustls::Error::InconsistentKeys(
                    rustls::InconsistentKeys::KeyMismatch
                ))
            ),
            "{error:?}"
        );
        // The unchecked variant fails when the configuration is built.
        let unchecked = new().with_certificate(vec![cert], other_key);
        assert!(matches!(
            unchecked.server_config(),
            Err(TlsError::Config(_))
        ));
        assert!(matches!(
            unchecked.client_config(),
            Err(TlsError::Config(_))
        ));
        // Good PEM loads.
        let good = new().with_certificate_pem(&cert_pem, &key_pem).unwrap();
        let good = good
            .with_authorities_pem(&[pem("CERTIFICATE", &ca.der()), cert_pem].concat())
            .unwrap();
        assert_eq!(good.authorities().len(), 2);
        good.server_config().unwrap();
        good.client_config().unwrap();
    }

    #[test]
    fn files_load() {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new("test CA");
        let (cert, key) = ca.issue("localhost", &["localhost"]);
        let path = |name: &str| dir.path().join(name);
        std::fs::write(path("ca.pem"), pem("CERTIFICATE", &ca.der())).unwrap();
        std::fs::write(path("cert.pem"), pem("CERTIFICATE", &cert)).unwrap();
        std::fs::write(path("key.pem"), pem("PRIVATE KEY", key.secret_der())).unwrap();
        let options = TlsOptions::new()
            .with_certificate_files(path("cert.pem"), path("key.pem"))
            .unwrap()
            .with_authorities_file(path("ca.pem"))
            .unwrap();
        assert!(options.has_certificate());
        assert_eq!(options.authorities(), [ca.der()]);
        options.server_config().unwrap();

        match TlsOptions::new().with_authorities_file(path("missing.pem")) {
            Err(TlsError::File { path: p, .. }) => assert_eq!(p, path("missing.pem")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            TlsOptions::new().with_certificate_files(path("cert.pem"), path("missing.pem")),
            Err(TlsError::File { .. })
        ));
    }

    // --- errors and debug -------------------------------------------------

    #[test]
    fn io_errors_become_handshake_errors() {
        let wrapped = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        let error = TlsError::from(wrapped);
        assert!(
            matches!(&error, TlsError::Handshake(m) if m == "invalid peer certificate: UnknownIssuer")
        );
        assert_eq!(
            error.to_string(),
            "TLS handshake failed: invalid peer certificate: UnknownIssuer"
        );
        let eof = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "tls handshake eof");
        assert!(matches!(TlsError::from(eof), TlsError::Handshake(m) if m == "tls handshake eof"));
    }

    #[test]
    fn debug_hides_the_key() {
        let (cert, key) = self_signed("x");
        let secret = key.secret_der().to_vec();
        let options = TlsOptions::new()
            .with_certificate(vec![cert], key)
            .with_authorities([Ca::new("ca").der()]);
        let debug = format!("{options:?}");
        assert!(debug.contains("private key hidden"), "{debug}");
        assert!(debug.contains("authorities: 1"), "{debug}");
        assert!(!debug.contains(&format!("{:?}", &secret[..8])), "{debug}");
    }

    #[test]
    fn der_reader() {
        let cert = self_signed("x").0;
        let (version, spki) = der::certificate_spki(&cert).unwrap();
        assert_eq!(version, der::X509_V3);
        let parsed = ParsedCertificate::try_from(&cert).unwrap();
        assert_eq!(spki, parsed.subject_public_key_info().as_ref());
        assert!(der::spki_parts(spki).is_some());
        // Truncations and trailing bytes are refused, never a panic.
        for n in 0..cert.len() {
            assert!(der::certificate_spki(&cert[..n]).is_none());
        }
        assert!(der::certificate_spki(&[cert.as_ref(), &[0]].concat()).is_none());
        // A long length (2 bytes), as in any real certificate.
        let long = tlv(der::SEQUENCE, &[0u8; 300]);
        assert_eq!(der::split(&long).unwrap().contents.len(), 300);
    }
}
