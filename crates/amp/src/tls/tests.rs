//! Handshakes between our own configurations, every combination.

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

    fn issue(&self, cn: &str, sans: &[&str]) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
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
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
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
    v1_certificate_valid(
        key,
        cn,
        &tlv(0x17, b"000101000000Z"),
        &tlv(0x18, b"20991231235959Z"),
    )
}

/// [`v1_certificate`] valid from `not_before` to `not_after` (encoded
/// `UTCTime` or `GeneralizedTime` elements).
fn v1_certificate_valid(
    key: &PrivateKeyDer<'static>,
    cn: &str,
    not_before: &[u8],
    not_after: &[u8],
) -> CertificateDer<'static> {
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
    let validity = seq(&[not_before, not_after]);
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
    async fn client_error(self) -> rustls::Error {
        match self.client {
            Err(e) => protocol_error(e),
            Ok(mut c) => {
                let mut buf = [0u8; 1];
                let read = tokio::time::timeout(Duration::from_secs(10), c.read(&mut buf));
                match read.await.expect("client read timed out") {
                    Err(e) => protocol_error(TlsError::from(e)),
                    Ok(n) => panic!("the client read {n} bytes from a failed handshake"),
                }
            }
        }
    }

    fn server_error(&self) -> rustls::Error {
        match &self.server {
            Err(e) => protocol_error(e.clone()),
            Ok(_) => panic!("the server accepted the handshake"),
        }
    }
}

/// The rustls error a failed handshake carries (anything else fails the
/// test).
fn protocol_error(e: TlsError) -> rustls::Error {
    match e {
        TlsError::Handshake(e) => e,
        other => panic!("expected a TLS protocol error, got {other:?}"),
    }
}

fn bad_certificate(e: &rustls::Error) -> Option<&CertificateError> {
    match e {
        rustls::Error::InvalidCertificate(c) => Some(c),
        _ => None,
    }
}

fn fatal_alert(e: &rustls::Error) -> bool {
    matches!(e, rustls::Error::AlertReceived(_))
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
async fn client_error(
    client: &TlsOptions,
    server: &TlsOptions,
    versions: Versions,
) -> rustls::Error {
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
        assert_eq!(
            bad_certificate(&error),
            Some(&CertificateError::BadSignature),
            "{error:?}"
        );
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
    let server = TlsOptions::new().with_certificate(vec![cert.clone(), intermediate.der()], key);
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
            bad_certificate(&error),
            Some(&CertificateError::UnknownIssuer),
            "{error:?}"
        );
        assert_eq!(
            server_error,
            rustls::Error::AlertReceived(rustls::AlertDescription::UnknownCA)
        );
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
            assert_eq!(
                bad_certificate(&error),
                Some(&CertificateError::UnknownIssuer),
                "{error:?}"
            );
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
    assert!(
        matches!(
            bad_certificate(&error),
            Some(CertificateError::Expired | CertificateError::ExpiredContext { .. })
        ),
        "{error:?}"
    );
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
        assert_eq!(
            bad_certificate(&error),
            Some(&CertificateError::BadSignature),
            "{error:?}"
        );
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
        assert_eq!(
            bad_certificate(&error),
            Some(&CertificateError::BadSignature),
            "{error:?}"
        );
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
            matches!(
                bad_certificate(&error),
                Some(
                    CertificateError::NotValidForName
                        | CertificateError::NotValidForNameContext { .. }
                )
            ),
            "{error:?}"
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
            rustls::Error::NoCertificatesPresented
        );
        let error = outcome.client_error().await;
        assert!(fatal_alert(&error), "{error:?}");

        // A certificate from the server's authority.
        let client =
            TlsOptions::new().with_certificate(vec![client_cert.clone()], client_key.clone_key());
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
            bad_certificate(&outcome.server_error()),
            Some(&CertificateError::UnknownIssuer)
        );
        let error = outcome.client_error().await;
        assert!(fatal_alert(&error), "{error:?}");
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
            let rejected = match bad_certificate(&error) {
                Some(CertificateError::BadSignature) => same_type,
                Some(CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext {
                    ..
                }) => !same_type,
                _ => false,
            };
            assert!(rejected, "{error:?}");
        }
    }
}

// --- pinned certificates ----------------------------------------------

fn ec_key() -> PrivateKeyDer<'static> {
    key_der(&rcgen::KeyPair::generate().unwrap())
}

/// A client presenting `cert` but signing with `key`, accepting any server:
/// the server must notice.
fn impostor_client(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    versions: Versions,
) -> Arc<rustls::ClientConfig> {
    let provider = provider();
    let signing = provider.key_provider.load_private_key(key).unwrap();
    let certified = CertifiedKey::new(vec![cert], signing);
    let verifier = Arc::new(AnonymousServerVerifier {
        algorithms: provider.signature_verification_algorithms,
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(Arc::new(SingleCertAndKey::from(certified)));
    Arc::new(config)
}

#[tokio::test]
async fn a_pinned_v1_server_certificate_is_accepted() {
    let rsa = PrivateKeyDer::from_pem_slice(RSA_PKCS8_PEM.as_bytes()).unwrap();
    for key in [rsa, ec_key()] {
        let cert = v1_certificate(&key, "localhost");
        let server = TlsOptions::new().with_certificate(vec![cert.clone()], key);
        // Pinned among other authorities, of either kind.
        let client = TlsOptions::new().with_authorities([
            Ca::new("some CA").der(),
            v1_certificate(&ec_key(), "another"),
            cert.clone(),
        ]);
        for versions in BOTH {
            let (c, s) = handshake(&client, &server, versions).await.ok();
            assert_eq!(peer_of_client(&c), std::slice::from_ref(&cert));
            ping(c, s).await;
        }
    }
}

#[tokio::test]
async fn an_unpinned_v1_server_certificate_is_refused() {
    let key = ec_key();
    let server = TlsOptions::new().with_certificate(vec![v1_certificate(&key, "server")], key);
    // Another v1 certificate with the same name, and a CA.
    let client = TlsOptions::new()
        .with_authorities([v1_certificate(&ec_key(), "server"), Ca::new("CA").der()]);
    for versions in BOTH {
        let outcome = handshake(&client, &server, versions).await;
        assert_eq!(
            outcome.server_error(),
            rustls::Error::AlertReceived(rustls::AlertDescription::UnknownCA)
        );
        let error = outcome.client_error().await;
        assert_eq!(
            bad_certificate(&error),
            Some(&CertificateError::UnknownIssuer),
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn a_pinned_server_certificate_without_its_key_is_refused() {
    let rsa = PrivateKeyDer::from_pem_slice(RSA_PKCS8_PEM.as_bytes()).unwrap();
    for key in [rsa, ec_key()] {
        let cert = v1_certificate(&key, "pinned");
        let client = TlsOptions::new().with_authorities([cert.clone()]);
        let same_type = matches!(signature_algorithm(&key), SignatureAlgorithm::ECDSA);
        for versions in BOTH {
            let outcome = handshake_configs(
                client.client_config_with(versions).unwrap(),
                client.server_name(),
                impostor_server(cert.clone(), ec_key(), versions),
            )
            .await;
            let error = outcome.client_error().await;
            let rejected = match bad_certificate(&error) {
                Some(CertificateError::BadSignature) => same_type,
                Some(CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext {
                    ..
                }) => !same_type,
                _ => false,
            };
            assert!(rejected, "{error:?}");
        }
    }
}

#[tokio::test]
async fn pinned_certificates_are_checked_for_dates() {
    let key = ec_key();
    let expired = v1_certificate_valid(
        &key,
        "expired",
        &tlv(0x17, b"900101000000Z"),
        &tlv(0x17, b"000101000000Z"),
    );
    let future = v1_certificate_valid(
        &key,
        "future",
        &tlv(0x18, b"20980101000000Z"),
        &tlv(0x18, b"20991231235959Z"),
    );
    for (cert, want_expired) in [(expired, true), (future, false)] {
        let server = TlsOptions::new().with_certificate(vec![cert.clone()], key.clone_key());
        let client = TlsOptions::new().with_authorities([cert.clone()]);
        let error = client_error(&client, &server, TLS13_ONLY).await;
        match bad_certificate(&error) {
            Some(CertificateError::ExpiredContext { not_after, .. }) if want_expired => {
                assert_eq!(not_after.as_secs(), 946_684_800); // 2000-01-01
            }
            Some(CertificateError::NotValidYetContext { not_before, .. }) if !want_expired => {
                assert_eq!(not_before.as_secs(), 4_039_372_800); // 2098-01-01
            }
            _ => panic!("{error:?}"),
        }
        // The same for a pinned client certificate.
        let server = TlsOptions::new().with_authorities([cert.clone()]);
        let client = TlsOptions::new().with_certificate(vec![cert], key.clone_key());
        let error = handshake(&client, &server, TLS13_ONLY).await.server_error();
        assert!(
            matches!(
                bad_certificate(&error),
                Some(CertificateError::ExpiredContext { .. })
                    | Some(CertificateError::NotValidYetContext { .. })
            ),
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn pinned_certificates_and_server_names() {
    // A v1 certificate has no subjectAltName: a name never matches, even
    // its common name (as webpki and Twisted's service_identity).
    let key = ec_key();
    let v1 = v1_certificate(&key, "localhost");
    let server = TlsOptions::new().with_certificate(vec![v1.clone()], key);
    let named = TlsOptions::new()
        .with_authorities([v1])
        .with_server_name("localhost")
        .unwrap();
    for versions in BOTH {
        let error = client_error(&named, &server, versions).await;
        match bad_certificate(&error) {
            Some(CertificateError::NotValidForNameContext {
                expected,
                presented,
            }) => {
                assert_eq!(expected.to_str(), "localhost");
                assert!(presented.is_empty());
            }
            _ => panic!("{error:?}"),
        }
    }
    // A pinned v3 certificate's subjectAltNames are checked.
    let (v3, key) = self_signed("some CN");
    let server = TlsOptions::new().with_certificate(vec![v3.clone()], key);
    let pinned = TlsOptions::new().with_authorities([v3]);
    for versions in BOTH {
        let good = pinned.clone().with_server_name("localhost").unwrap();
        let (c, s) = handshake(&good, &server, versions).await.ok();
        ping(c, s).await;
        let bad = pinned.clone().with_server_name("example.com").unwrap();
        let error = client_error(&bad, &server, versions).await;
        assert!(
            matches!(
                bad_certificate(&error),
                Some(CertificateError::NotValidForNameContext { .. })
            ),
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn a_pinned_certificate_ignores_intermediates_and_webpki_rules() {
    // A self-signed v3 CA certificate, which webpki refuses as an
    // end-entity certificate...
    let ca = Ca::new("self-signed CA as a server");
    let der = ca.der();
    let parsed = ParsedCertificate::try_from(&der).unwrap();
    let webpki = rustls::client::verify_server_cert_signed_by_trust_anchor(
        &parsed,
        &root_store(&[ca.der()]).unwrap(),
        &[],
        UnixTime::now(),
        provider().signature_verification_algorithms.all,
    );
    assert!(webpki.is_err(), "{webpki:?}");
    // ...is accepted pinned, with an unrelated certificate sent as an
    // intermediate.
    let key = PrivateKeyDer::Pkcs8(ca.key.serialize_der().into());
    let server = TlsOptions::new().with_certificate(vec![ca.der(), Ca::new("stray").der()], key);
    let client = TlsOptions::new().with_authorities([ca.der()]);
    for versions in BOTH {
        let (c, s) = handshake(&client, &server, versions).await.ok();
        ping(c, s).await;
    }
}

#[tokio::test]
async fn a_pinned_v1_client_certificate_is_accepted() {
    let rsa = PrivateKeyDer::from_pem_slice(RSA_PKCS8_PEM.as_bytes()).unwrap();
    let server_key = ec_key();
    let server_cert = v1_certificate(&server_key, "server");
    for key in [rsa, ec_key()] {
        let cert = v1_certificate(&key, "client");
        // Twisted's usual setup: each side pins the other's certificate.
        let server = TlsOptions::new()
            .with_certificate(vec![server_cert.clone()], server_key.clone_key())
            .with_authorities([Ca::new("CA").der(), cert.clone()]);
        let client = TlsOptions::new()
            .with_certificate(vec![cert.clone()], key)
            .with_authorities([server_cert.clone()]);
        for versions in BOTH {
            let (c, s) = handshake(&client, &server, versions).await.ok();
            assert_eq!(
                s.get_ref().1.peer_certificates().unwrap(),
                std::slice::from_ref(&cert)
            );
            ping(c, s).await;
        }
    }
}

#[tokio::test]
async fn an_unpinned_or_keyless_v1_client_certificate_is_refused() {
    let key = ec_key();
    let cert = v1_certificate(&key, "client");
    let server = TlsOptions::new().with_authorities([v1_certificate(&ec_key(), "client")]);
    let pinning = TlsOptions::new().with_authorities([cert.clone()]);
    let client = TlsOptions::new().with_certificate(vec![cert.clone()], key);
    for versions in BOTH {
        // Not pinned.
        let outcome = handshake(&client, &server, versions).await;
        assert_eq!(
            bad_certificate(&outcome.server_error()),
            Some(&CertificateError::UnknownIssuer)
        );
        let error = outcome.client_error().await;
        assert!(fatal_alert(&error), "{error:?}");
        // Pinned, but signed with another key.
        let outcome = handshake_configs(
            impostor_client(cert.clone(), ec_key(), versions),
            TlsOptions::new().server_name(),
            pinning.server_config_with(versions).unwrap(),
        )
        .await;
        assert_eq!(
            bad_certificate(&outcome.server_error()),
            Some(&CertificateError::BadSignature)
        );
    }
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
fn io_errors_become_typed_tls_errors() {
    use std::error::Error;
    let rejected = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
    let wrapped = std::io::Error::new(std::io::ErrorKind::InvalidData, rejected.clone());
    let error = TlsError::from(wrapped);
    assert!(matches!(&error, TlsError::Handshake(e) if *e == rejected));
    // The message says what failed; the cause is the source, not repeated.
    assert_eq!(error.to_string(), "TLS failed");
    let source = error.source().unwrap().downcast_ref::<rustls::Error>();
    assert_eq!(source, Some(&rejected));
    let eof = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "tls handshake eof");
    match TlsError::from(eof) {
        TlsError::Io(e) => assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof),
        other => panic!("{other:?}"),
    }
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
