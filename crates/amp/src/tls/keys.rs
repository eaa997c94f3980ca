//! Loading certificates and keys, and making the temporary certificate.

use super::*;

pub(super) fn read_file(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::File {
        path: path.to_owned(),
        source: Arc::new(e),
    })
}

pub(super) fn parse_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem(Arc::new(e)))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate);
    }
    Ok(certs)
}

pub(super) fn parse_private_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::NoPrivateKey,
        e => TlsError::Pem(Arc::new(e)),
    })
}

pub(super) fn root_store(
    authorities: &[CertificateDer<'static>],
) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for ca in authorities {
        roots.add(ca.clone()).map_err(TlsError::Config)?;
    }
    Ok(roots)
}

/// Loads `key` and checks it belongs to the end-entity certificate of
/// `chain`. Unlike rustls' own loader, this accepts X.509 v1 certificates
/// (which Twisted's certificate helpers make).
pub(super) fn certified_key(
    chain: &[CertificateDer<'static>],
    key: &PrivateKeyDer<'static>,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, TlsError> {
    let leaf = chain.first().ok_or(TlsError::NoCertificate)?;
    let signing_key = provider
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(TlsError::Config)?;
    let leaf = parse_certificate(leaf).map_err(TlsError::Config)?;
    let cert_spki = leaf.public_key().raw;
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
pub(super) fn temporary_certificate(
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, TlsError> {
    let generate = |e: rcgen::Error| TlsError::Generate(Arc::new(e));
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
