//! Certificate verifiers with Twisted's semantics, and the certificate
//! reading they share (x509-parser, for certificates webpki cannot read).

use x509_parser::asn1_rs::{Any, FromDer};
use x509_parser::certificate::{X509Certificate, X509CertificateParser};
use x509_parser::nom::Parser;
use x509_parser::x509::{SubjectPublicKeyInfo, X509Version};

use super::*;

/// The handshake-signature methods every verifier here shares: checked
/// with the provider's algorithms against the certificate's own key
/// ([`verify_any_signature`]), whatever the certificate's version.
macro_rules! signature_checks {
    () => {
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
    };
}

/// Verifies the server against the authorities: a certificate that is one
/// of them is pinned (see [`pinning`](super::pinning)); any other must chain
/// to one, with webpki checking the chain, validity dates and key usage.
/// The name is checked only when asked (Twisted checks no names).
#[derive(Debug)]
pub(super) struct AuthorityServerVerifier {
    pub(super) roots: Arc<RootCertStore>,
    pub(super) pins: Pins,
    pub(super) algorithms: WebPkiSupportedAlgorithms,
    pub(super) check_name: bool,
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
        if self.pins.check(end_entity, now)? == Pinned::Yes {
            if self.check_name {
                pinning::check_name(end_entity, server_name)?;
            }
            return Ok(ServerCertVerified::assertion());
        }
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

    signature_checks!();
}

/// Requires a client certificate and verifies it against the authorities:
/// pinned (see [`pinning`](super::pinning)) or, for any other, webpki's
/// client verifier (chain, validity dates, key usage).
#[derive(Debug)]
pub(super) struct AuthorityClientVerifier {
    pub(super) webpki: Arc<dyn ClientCertVerifier>,
    pub(super) pins: Pins,
    pub(super) algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AuthorityClientVerifier {
    fn offer_client_auth(&self) -> bool {
        self.webpki.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.webpki.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.webpki.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        match self.pins.check(end_entity, now)? {
            Pinned::Yes => Ok(ClientCertVerified::assertion()),
            Pinned::No => self
                .webpki
                .verify_client_cert(end_entity, intermediates, now),
        }
    }

    signature_checks!();
}

/// Accepts any server certificate (Twisted's client without authorities),
/// but still checks that the server holds its key: the handshake must be
/// signed by the certificate's key.
#[derive(Debug)]
pub(super) struct AnonymousServerVerifier {
    pub(super) algorithms: WebPkiSupportedAlgorithms,
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

    signature_checks!();
}

/// `cert` parsed by x509-parser, which reads every X.509 version (webpki
/// reads only v3, and Twisted makes v1). Anything after the certificate is
/// refused, as is anything unparsable: [`CertificateError::BadEncoding`].
/// Extensions are read as a whole but not one by one: nothing here needs
/// their contents.
pub(super) fn parse_certificate<'a>(
    cert: &'a CertificateDer<'_>,
) -> Result<X509Certificate<'a>, rustls::Error> {
    let mut parser = X509CertificateParser::new().with_deep_parse_extensions(false);
    match parser.parse(cert.as_ref()) {
        Ok(([], parsed)) => Ok(parsed),
        _ => Err(CertificateError::BadEncoding.into()),
    }
}

/// Whether `cert` is an X.509 v3 certificate, the only version webpki
/// verifies.
pub(super) fn is_v3(cert: &X509Certificate<'_>) -> bool {
    cert.version() == X509Version::V3
}

/// A SubjectPublicKeyInfo's key algorithm, as webpki's algorithm ids are
/// written (the contents of its AlgorithmIdentifier, without the SEQUENCE
/// header), and its key (the bit string's bits, which must fill whole
/// bytes).
pub(super) fn key_algorithm_and_bits<'a>(
    spki: &'a SubjectPublicKeyInfo<'_>,
) -> Option<(&'a [u8], &'a [u8])> {
    let (_, whole) = Any::from_der(spki.raw).ok()?;
    let (_, algorithm) = Any::from_der(whole.data).ok()?;
    let key = &spki.subject_public_key;
    (key.unused_bits == 0).then_some((algorithm.data, key.data.as_ref()))
}

/// Checks a handshake signature against the key of `cert`, whatever its
/// X.509 version: rustls' helpers for v3 certificates, the bare public key
/// for older ones (which webpki refuses to parse, and Twisted makes).
pub(super) fn verify_any_signature(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
    algorithms: &WebPkiSupportedAlgorithms,
    tls13: bool,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    let parsed = parse_certificate(cert)?;
    match (is_v3(&parsed), tls13) {
        (true, false) => rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms),
        (true, true) => rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms),
        (false, true) => rustls::crypto::verify_tls13_signature_with_raw_key(
            message,
            &SubjectPublicKeyInfoDer::from(parsed.public_key().raw),
            dss,
            algorithms,
        ),
        (false, false) => {
            // What webpki does for TLS 1.2, on the bare key: try every
            // algorithm of the scheme that fits the key's type.
            let (key_algorithm, key) =
                key_algorithm_and_bits(parsed.public_key()).ok_or(CertificateError::BadEncoding)?;
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
