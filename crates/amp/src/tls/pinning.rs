//! Certificate pinning: a peer whose end-entity certificate is, byte for
//! byte, one of the configured authorities.
//!
//! This is how Twisted's usual self-signed setup verifies: each side trusts
//! the other's self-signed certificate as its "authority". Twisted's own
//! certificate helpers (`KeyPair.selfSignedCert`,
//! `KeyPair.signCertificateRequest`) make X.509 **v1** certificates, which
//! webpki refuses as end-entity certificates; OpenSSL accepts a trusted
//! certificate presented as the peer's own. A pinned certificate therefore
//! skips webpki's chain building, and is checked here instead:
//!
//! * its DER must equal an authority's DER (the certificate's own signature
//!   is not checked: the trust is in these exact bytes);
//! * its validity dates must include the current time, as OpenSSL and
//!   webpki check them (read with `x509-parser`, which parses v1 too);
//! * with a server name configured (client side only), the name must be in
//!   its subjectAltName extension, as webpki and Twisted's
//!   `service_identity` require: no fallback to the subject's common name,
//!   so a v1 certificate (which has no extensions) never matches a name;
//! * its key usage, extended key usage and basic constraints are not
//!   checked (a pinned self-signed CA certificate is accepted as a peer's);
//! * intermediates sent after it are ignored: pinning applies to the
//!   end-entity certificate only.
//!
//! The handshake signature is always checked by the verifiers
//! ([`verify_any_signature`](super::verify::verify_any_signature)), with the
//! provider's algorithms, against the pinned certificate's key: a peer that
//! presents a pinned certificate without its private key fails the
//! handshake. rustls asks for the certificate verdict first and the
//! signature second; either refusal ends the handshake.
//!
//! A certificate that is not pinned takes webpki's path unchanged, except
//! that a non-v3 certificate, which webpki cannot verify, is refused as
//! [`CertificateError::UnknownIssuer`].

use x509_parser::certificate::X509Certificate;

use super::*;

/// The authorities, kept whole to recognise a pinned end-entity
/// certificate.
#[derive(Debug, Clone)]
pub(super) struct Pins {
    certificates: Vec<CertificateDer<'static>>,
}

/// How a peer's end-entity certificate stands against the pins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pinned {
    /// It is one of the authorities, and within its validity dates.
    Yes,
    /// It is not; it is an X.509 v3 certificate, for webpki to verify.
    No,
}

impl Pins {
    pub(super) fn new(authorities: &[CertificateDer<'static>]) -> Self {
        Pins {
            certificates: authorities.to_vec(),
        }
    }

    /// Whether `end_entity` is pinned, and then whether it is within its
    /// validity dates at `now`. A certificate that is neither pinned nor
    /// v3 is refused: webpki cannot verify it.
    pub(super) fn check(
        &self,
        end_entity: &CertificateDer<'_>,
        now: UnixTime,
    ) -> Result<Pinned, rustls::Error> {
        let parsed = parse_certificate(end_entity)?;
        if self
            .certificates
            .iter()
            .any(|pinned| pinned.as_ref() == end_entity.as_ref())
        {
            check_validity(&parsed, now)?;
            return Ok(Pinned::Yes);
        }
        if is_v3(&parsed) {
            Ok(Pinned::No)
        } else {
            Err(CertificateError::UnknownIssuer.into())
        }
    }
}

/// Refuses a certificate outside its validity dates (`notBefore` ..=
/// `notAfter`, as webpki compares them).
fn check_validity(cert: &X509Certificate<'_>, now: UnixTime) -> Result<(), rustls::Error> {
    let validity = cert.validity();
    // Dates before 1970 count as 1970: `UnixTime` starts there.
    let at = |seconds: i64| UnixTime::since_unix_epoch(Duration::from_secs(seconds.max(0) as u64));
    let not_before = at(validity.not_before.timestamp());
    let not_after = at(validity.not_after.timestamp());
    if now < not_before {
        return Err(CertificateError::NotValidYetContext {
            time: now,
            not_before,
        }
        .into());
    }
    if now > not_after {
        return Err(CertificateError::ExpiredContext {
            time: now,
            not_after,
        }
        .into());
    }
    Ok(())
}

/// Checks `name` against a pinned certificate's subjectAltName extension
/// (webpki's rules). A certificate older than v3 has no extensions, so no
/// name to match.
pub(super) fn check_name(
    cert: &CertificateDer<'_>,
    name: &ServerName<'_>,
) -> Result<(), rustls::Error> {
    if is_v3(&parse_certificate(cert)?) {
        rustls::client::verify_server_name(&ParsedCertificate::try_from(cert)?, name)
    } else {
        Err(CertificateError::NotValidForNameContext {
            expected: name.to_owned(),
            presented: Vec::new(),
        }
        .into())
    }
}
