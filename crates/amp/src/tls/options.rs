//! [`TlsOptions`]: one side's certificate and trusted authorities.

use std::fmt;
use std::path::Path;

use super::*;

/// One side's TLS settings for StartTLS: its own certificate (optional) and
/// the authorities it trusts to verify the peer.
///
/// The same value serves both as a client (the side that sends `StartTLS`,
/// `Connection::start_tls`) and as a server (the side that answers it,
/// `Router::start_tls`); see the [module documentation](crate::tls) for what each
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
///     .certificate_files(dir.join("server.pem"), dir.join("server.key"))?
///     .authorities_file(dir.join("ca.pem"))?;
/// assert!(server.has_certificate());
/// assert_eq!(server.trusted_authorities().len(), 1);
///
/// // A client accepting only servers whose certificate chains to the CA
/// // and, optionally, names the host it expects.
/// let client = TlsOptions::new()
///     .authorities_file(dir.join("ca.pem"))?
///     .server_name("localhost")?;
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
    /// Write TLS secrets to the file `SSLKEYLOGFILE` names.
    key_log: bool,
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
            .field("key_log", &self.key_log)
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
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::tls::{PrivateKeyDer, TlsOptions};
    /// use amp::{Connection, Router};
    ///
    /// let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    /// let cert = made.cert.der().clone();
    /// let key = PrivateKeyDer::Pkcs8(made.key_pair.serialize_der().into());
    /// let server_tls = TlsOptions::new().certificate(vec![cert.clone()], key);
    /// assert!(server_tls.has_certificate());
    ///
    /// let (a, b) = tokio::io::duplex(64 * 1024);
    /// let _server = Connection::spawn(a, Router::new().start_tls(server_tls));
    /// let client = Connection::spawn(b, Router::new());
    /// client.start_tls(TlsOptions::new()).await.unwrap();
    /// assert_eq!(client.peer_certificates().unwrap(), vec![cert]);
    /// # }
    /// ```
    pub fn certificate(
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
    ///
    /// ```
    /// use amp::tls::TlsOptions;
    ///
    /// let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    /// let (cert_pem, key_pem) = (made.cert.pem(), made.key_pair.serialize_pem());
    /// let options = TlsOptions::new().certificate_pem(cert_pem.as_bytes(), key_pem.as_bytes()).unwrap();
    /// assert!(options.has_certificate());
    ///
    /// // Another certificate's key does not belong to this one.
    /// let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    /// let wrong_key = other.key_pair.serialize_pem();
    /// assert!(TlsOptions::new().certificate_pem(cert_pem.as_bytes(), wrong_key.as_bytes()).is_err());
    /// ```
    pub fn certificate_pem(self, chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, TlsError> {
        let chain = parse_certificates(chain_pem)?;
        let key = parse_private_key(key_pem)?;
        let loaded = certified_key(&chain, &key, &provider())?;
        let options = self.certificate(chain, key);
        // Fresh: cannot be set already.
        let _ = options.local.set(Ok(loaded));
        Ok(options)
    }

    /// [`certificate_pem`](Self::certificate_pem) reading PEM
    /// files (which may be the same file).
    pub fn certificate_files(
        self,
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, TlsError> {
        let chain_pem = read_file(cert.as_ref())?;
        let key_pem = read_file(key.as_ref())?;
        self.certificate_pem(&chain_pem, &key_pem)
    }

    /// Adds authorities (CA certificates) trusted to verify the peer. Adds
    /// to those already set.
    ///
    /// With authorities, a client requires the server's certificate to chain
    /// to one of them, and a server requires a client certificate that
    /// does. Malformed certificates make the configuration fail at StartTLS;
    /// the `_pem` and `_file` variants check at once.
    ///
    /// A peer certificate that is exactly one of them (the same DER) is
    /// accepted *pinned*, whatever its X.509 version: the way to trust a
    /// peer's self-signed certificate, including the v1 certificates
    /// Twisted's `selfSignedCert` makes. A pinned certificate must still be
    /// within its validity dates, be backed by its private key (the
    /// handshake signature), and match the server name if one is
    /// configured (subjectAltName only, which v1 certificates lack); its own
    /// signature, key usage and any intermediates sent with it are not
    /// checked. See the [module documentation](crate::tls#chains-and-pinned-certificates).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::tls::{PrivateKeyDer, TlsOptions};
    /// use amp::{Connection, Router};
    ///
    /// let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    /// let cert = made.cert.der().clone();
    /// let key = PrivateKeyDer::Pkcs8(made.key_pair.serialize_der().into());
    /// let server_tls = TlsOptions::new().certificate(vec![cert.clone()], key);
    /// // The client trusts exactly the server's self-signed certificate (pinned).
    /// let client_tls = TlsOptions::new().authorities([cert]);
    /// assert_eq!(client_tls.trusted_authorities().len(), 1);
    ///
    /// let (a, b) = tokio::io::duplex(64 * 1024);
    /// let _server = Connection::spawn(a, Router::new().start_tls(server_tls));
    /// let client = Connection::spawn(b, Router::new());
    /// client.start_tls(client_tls).await.unwrap();
    /// assert!(client.is_tls());
    /// # }
    /// ```
    pub fn authorities(mut self, cas: impl IntoIterator<Item = CertificateDer<'static>>) -> Self {
        self.authorities.extend(cas);
        self
    }

    /// Adds every `CERTIFICATE` block of `pem` as an authority.
    ///
    /// Fails if there is none, or if one is malformed.
    ///
    /// ```
    /// use amp::tls::TlsOptions;
    ///
    /// let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    /// let options = TlsOptions::new().authorities_pem(made.cert.pem().as_bytes()).unwrap();
    /// assert_eq!(options.trusted_authorities().len(), 1);
    /// assert!(TlsOptions::new().authorities_pem(b"no certificate here").is_err());
    /// ```
    pub fn authorities_pem(self, pem: &[u8]) -> Result<Self, TlsError> {
        let cas = parse_certificates(pem)?;
        root_store(&cas)?;
        Ok(self.authorities(cas))
    }

    /// [`authorities_pem`](Self::authorities_pem) reading a PEM
    /// file.
    pub fn authorities_file(self, path: impl AsRef<Path>) -> Result<Self, TlsError> {
        let pem = read_file(path.as_ref())?;
        self.authorities_pem(&pem)
    }

    /// As a client, also requires the server's certificate to be valid for
    /// `name` (a DNS name or an IP address), and sends it as SNI.
    ///
    /// Twisted's StartTLS does not check host names, and by default neither
    /// do we. The name is matched against the certificate's subjectAltName
    /// extension (never its common name), pinned certificates included; an
    /// X.509 v1 certificate has none, so never matches. A name is only
    /// meaningful for a verified certificate:
    /// configuring one without authorities makes the client configuration
    /// fail with [`TlsError::ServerNameWithoutAuthorities`]. A server
    /// ignores it.
    pub fn server_name(mut self, name: &str) -> Result<Self, TlsError> {
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
    pub fn trusted_authorities(&self) -> &[CertificateDer<'static>] {
        &self.authorities
    }

    /// Writes the TLS secrets of every handshake these options run to the
    /// file the `SSLKEYLOGFILE` environment variable names (NSS key log
    /// format, what Wireshark reads), when it is set; nothing otherwise.
    /// For debugging only: anyone with that file can decrypt the traffic.
    ///
    /// ```
    /// use amp::tls::TlsOptions;
    /// let options = TlsOptions::new().key_log();
    /// # drop(options);
    /// ```
    pub fn key_log(mut self) -> Self {
        self.key_log = true;
        self
    }

    /// The rustls configuration for the side that initiates the handshake
    /// (the side that sent `StartTLS`), with the verification these
    /// options describe. For TLS from the first byte (say with
    /// `tokio_rustls::TlsConnector`) with the same semantics as StartTLS;
    /// connect to [`server_name`](Self::server_name).
    ///
    /// ```
    /// use amp::tls::TlsOptions;
    /// let config = TlsOptions::new().client_config().unwrap();
    /// assert!(!config.enable_sni); // no name configured: none sent
    /// ```
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, TlsError> {
        self.client_config_with(rustls::DEFAULT_VERSIONS)
    }

    /// The rustls configuration for the side that accepts the handshake (the
    /// side that answered `StartTLS`), for TLS from the first byte with the
    /// same semantics (say with `tokio_rustls::TlsAcceptor`).
    ///
    /// ```
    /// use amp::tls::TlsOptions;
    /// // A throwaway self-signed certificate, as StartTLS would use.
    /// let config = TlsOptions::new().server_config().unwrap();
    /// # drop(config);
    /// ```
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        self.server_config_with(rustls::DEFAULT_VERSIONS)
    }

    /// The name a client connects to: the configured one, or a placeholder
    /// (neither sent nor checked) when names are not checked.
    ///
    /// ```
    /// use amp::tls::TlsOptions;
    /// let named = TlsOptions::new().server_name("amp.example").unwrap();
    /// assert_eq!(named.expected_server_name().to_str(), "amp.example");
    /// ```
    pub fn expected_server_name(&self) -> ServerName<'static> {
        match &self.server_name {
            Some(name) => name.clone(),
            None => ServerName::try_from(PLACEHOLDER_SERVER_NAME).expect("a valid DNS name"),
        }
    }

    pub(super) fn client_config_with(
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
                pins: Pins::new(&self.authorities),
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
        if self.key_log {
            config.key_log = Arc::new(rustls::KeyLogFile::new());
        }
        Ok(Arc::new(config))
    }

    pub(super) fn server_config_with(
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
            let webpki = WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| TlsError::Config(rustls::Error::General(e.to_string())))?;
            builder.with_client_cert_verifier(Arc::new(AuthorityClientVerifier {
                webpki,
                pins: Pins::new(&self.authorities),
                algorithms: provider.signature_verification_algorithms,
            }))
        };
        let key = self.local_key(&provider)?;
        let mut config = builder.with_cert_resolver(Arc::new(SingleCertAndKey::from(key)));
        config.session_storage = Arc::new(NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
        if self.key_log {
            config.key_log = Arc::new(rustls::KeyLogFile::new());
        }
        Ok(Arc::new(config))
    }

    /// The configured certificate and key, or (without one) the temporary
    /// self-signed certificate, loaded once and shared between clones.
    pub(super) fn local_key(
        &self,
        provider: &CryptoProvider,
    ) -> Result<Arc<CertifiedKey>, TlsError> {
        self.local
            .get_or_init(|| match &self.certificate {
                Some(c) => certified_key(&c.chain, &c.key, provider),
                None => temporary_certificate(provider),
            })
            .clone()
    }
}
