//! A throwaway PKI for TLS tests, in PEM files that both amp-rs and
//! Twisted/pyOpenSSL load:
//!
//! * `ca`: the CA "amp-rs test CA";
//! * `server_cert`/`server_key`: CN "localhost", SANs `localhost` and
//!   `127.0.0.1`, signed by `ca` (extended key usage: server);
//! * `client_cert`/`client_key`: CN "amp-rs test client", signed by `ca`
//!   (extended key usage: client);
//! * `other_ca`: an unrelated CA, "other CA";
//! * `other_client_cert`/`other_client_key`: CN "other client", signed by
//!   `other_ca`.
//!
//! Keys are ECDSA P-256 in PKCS#8 PEM (`PRIVATE KEY`); certificates are
//! X.509 v3, valid from 1975 to 4096.
//!
//! In Python: `ssl.PrivateCertificate.loadPEM(open(cert).read() +
//! open(key).read())` and `ssl.Certificate.loadPEM(open(ca).read())`.

use std::path::{Path, PathBuf};

use amp::tls::TlsOptions;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// The generated files (in `dir`, deleted on drop) and their contents.
pub struct Pki {
    /// The directory holding the files.
    pub dir: tempfile::TempDir,
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    pub other_ca: PathBuf,
    pub other_client_cert: PathBuf,
    pub other_client_key: PathBuf,
    pub ca_pem: String,
    pub server_cert_pem: String,
    pub server_key_pem: String,
    pub client_cert_pem: String,
    pub client_key_pem: String,
    pub other_ca_pem: String,
    pub other_client_cert_pem: String,
    pub other_client_key_pem: String,
}

/// A CA: its certificate and key.
struct Authority {
    cert: rcgen::Certificate,
    key: KeyPair,
}

fn distinguished_name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

impl Authority {
    fn new(cn: &str) -> Authority {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.distinguished_name = distinguished_name(cn);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).expect("CA certificate");
        Authority { cert, key }
    }

    /// A leaf certificate and its key, as PEM.
    fn issue(&self, cn: &str, sans: &[&str], usage: ExtendedKeyUsagePurpose) -> (String, String) {
        let key = KeyPair::generate().expect("leaf key");
        let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(sans).expect("leaf params");
        params.distinguished_name = distinguished_name(cn);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![usage];
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("leaf certificate");
        (cert.pem(), key.serialize_pem())
    }
}

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write a PEM file");
    path
}

impl Pki {
    /// Generates everything afresh in a new temporary directory.
    pub fn generate() -> Pki {
        let dir = tempfile::tempdir().expect("temporary directory");
        let ca = Authority::new("amp-rs test CA");
        let other_ca = Authority::new("other CA");
        let (server_cert_pem, server_key_pem) = ca.issue(
            "localhost",
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let (client_cert_pem, client_key_pem) = ca.issue(
            "amp-rs test client",
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        let (other_client_cert_pem, other_client_key_pem) =
            other_ca.issue("other client", &[], ExtendedKeyUsagePurpose::ClientAuth);
        let ca_pem = ca.cert.pem();
        let other_ca_pem = other_ca.cert.pem();

        let d = dir.path();
        Pki {
            ca: write(d, "ca.pem", &ca_pem),
            server_cert: write(d, "server.pem", &server_cert_pem),
            server_key: write(d, "server.key", &server_key_pem),
            client_cert: write(d, "client.pem", &client_cert_pem),
            client_key: write(d, "client.key", &client_key_pem),
            other_ca: write(d, "other-ca.pem", &other_ca_pem),
            other_client_cert: write(d, "other-client.pem", &other_client_cert_pem),
            other_client_key: write(d, "other-client.key", &other_client_key_pem),
            dir,
            ca_pem,
            server_cert_pem,
            server_key_pem,
            client_cert_pem,
            client_key_pem,
            other_ca_pem,
            other_client_cert_pem,
            other_client_key_pem,
        }
    }
}

/// A server with the "localhost" certificate that asks for no client
/// certificate.
pub fn server_options(pki: &Pki) -> TlsOptions {
    TlsOptions::new()
        .certificate_files(&pki.server_cert, &pki.server_key)
        .expect("server certificate")
}

/// A server with the "localhost" certificate that requires a client
/// certificate signed by the test CA.
pub fn verifying_server_options(pki: &Pki) -> TlsOptions {
    server_options(pki)
        .authorities_file(&pki.ca)
        .expect("test CA")
}

/// A client without a certificate that requires the server's to be signed
/// by the test CA (host name not checked, as in Twisted).
pub fn client_options(pki: &Pki) -> TlsOptions {
    TlsOptions::new()
        .authorities_file(&pki.ca)
        .expect("test CA")
}

/// [`client_options`] presenting the "amp-rs test client" certificate.
pub fn client_options_certificate(pki: &Pki) -> TlsOptions {
    client_options(pki)
        .certificate_files(&pki.client_cert, &pki.client_key)
        .expect("client certificate")
}

/// [`client_options`] presenting the "other client" certificate, which a
/// verifying server rejects (it comes from the other CA).
pub fn other_client_options(pki: &Pki) -> TlsOptions {
    client_options(pki)
        .certificate_files(&pki.other_client_cert, &pki.other_client_key)
        .expect("other client certificate")
}

/// A client trusting only the other CA: it rejects the test server.
pub fn distrusting_client_options(pki: &Pki) -> TlsOptions {
    TlsOptions::new()
        .authorities_file(&pki.other_ca)
        .expect("other CA")
}
