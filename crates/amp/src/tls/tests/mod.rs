//! Handshakes between our own configurations, every combination.

use std::time::Duration;

use rustls::version::{TLS12, TLS13};
use rustls::{SignatureAlgorithm, SignatureScheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio_rustls::{client, server, TlsAcceptor, TlsConnector};
use x509_parser::asn1_rs::{Any, Class, FromDer, Header, Length, Oid, Tag, ToDer};
use x509_parser::oid_registry::{
    OID_PKCS1_SHA256WITHRSA, OID_SIG_ECDSA_WITH_SHA256, OID_X509_COMMON_NAME,
};

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

// --- DER (asn1-rs) and PEM, for keys and certificates rcgen won't make -

/// A DER element of universal `tag` around `contents`.
fn tlv(tag: Tag, contents: &[u8]) -> Vec<u8> {
    let constructed = tag == Tag::Sequence || tag == Tag::Set;
    element(Class::Universal, constructed, tag, contents)
}

/// A DER element of any class and tag around `contents`.
fn element(class: Class, constructed: bool, tag: Tag, contents: &[u8]) -> Vec<u8> {
    let header = Header::new(class, constructed, tag, Length::Definite(contents.len()));
    Any::new(header, contents).to_der_vec().unwrap()
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(Tag::Sequence, &parts.concat())
}

/// An OBJECT IDENTIFIER element.
fn oid(oid: &Oid<'_>) -> Vec<u8> {
    oid.to_der_vec().unwrap()
}

/// The DER element at the front of `input`, and what follows it.
fn split(input: &[u8]) -> (Any<'_>, &[u8]) {
    let (rest, any) = Any::from_der(input).unwrap();
    (any, rest)
}

/// An element's whole encoding.
fn whole(any: &Any<'_>) -> Vec<u8> {
    any.to_der_vec().unwrap()
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
    let (body, _) = split(pkcs8);
    let (_version, rest) = split(body.data);
    let (algorithm, rest) = split(rest);
    let (key, _) = split(rest);
    assert_eq!(key.tag(), Tag::OctetString);
    (algorithm.data, key.data)
}

/// PKCS#8 RSA to PKCS#1 (`RSA PRIVATE KEY`).
fn rsa_pkcs1(pkcs8: &[u8]) -> Vec<u8> {
    pkcs8_parts(pkcs8).1.to_vec()
}

/// PKCS#8 EC to SEC1 (`EC PRIVATE KEY`), with the curve parameters
/// OpenSSL writes.
fn ec_sec1(pkcs8: &[u8]) -> Vec<u8> {
    let (algorithm, key) = pkcs8_parts(pkcs8);
    let (_id_ec_public_key, curve) = split(algorithm);
    let (ec, _) = split(key);
    let (version, rest) = split(ec.data);
    let (private, rest) = split(rest);
    let parameters = |any: &Any<'_>| any.class() == Class::ContextSpecific && any.tag() == Tag(0);
    if !rest.is_empty() && parameters(&split(rest).0) {
        return key.to_vec(); // parameters already there
    }
    seq(&[
        &whole(&version),
        &whole(&private),
        &element(Class::ContextSpecific, true, Tag(0), curve),
        rest,
    ])
}

/// An X.509 **v1** self-signed certificate, as Twisted's
/// `KeyPair.selfSignedCert` makes (rcgen only makes v3).
fn v1_certificate(key: &PrivateKeyDer<'static>, cn: &str) -> CertificateDer<'static> {
    v1_certificate_valid(
        key,
        cn,
        &tlv(Tag::UtcTime, b"000101000000Z"),
        &tlv(Tag::GeneralizedTime, b"20991231235959Z"),
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
    let signing = provider()
        .key_provider
        .load_private_key(key.clone_key())
        .unwrap();
    let (scheme, algorithm) = match signing.algorithm() {
        SignatureAlgorithm::RSA => (
            SignatureScheme::RSA_PKCS1_SHA256,
            seq(&[&oid(&OID_PKCS1_SHA256WITHRSA), &tlv(Tag::Null, &[])]),
        ),
        SignatureAlgorithm::ECDSA => (
            SignatureScheme::ECDSA_NISTP256_SHA256,
            seq(&[&oid(&OID_SIG_ECDSA_WITH_SHA256)]),
        ),
        other => panic!("no v1 certificates for {other:?} keys"),
    };
    let name = seq(&[&tlv(
        Tag::Set,
        &seq(&[
            &oid(&OID_X509_COMMON_NAME),
            &tlv(Tag::Utf8String, cn.as_bytes()),
        ]),
    )]);
    let validity = seq(&[not_before, not_after]);
    let spki = signing.public_key().unwrap();
    let tbs = seq(&[
        &tlv(Tag::Integer, &[1]),
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
    CertificateDer::from(seq(&[&tbs, &algorithm, &tlv(Tag::BitString, &bits)]))
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
        client.expected_server_name(),
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

mod files;
mod pinning;
mod verify;
