//! PEM and files, typed errors, what Debug shows, the certificate reader.

use rustls::pki_types::alg_id;
use x509_parser::oid_registry::OID_KEY_TYPE_EC_PUBLIC_KEY;
use x509_parser::x509::{SubjectPublicKeyInfo, X509Version};

use super::*;

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
            .certificate_pem(cert.pem().as_bytes(), &key_pem)
            .unwrap();
        serves(&options).await;
        // One combined file (Twisted's dumpPEM), passed twice.
        let combined = [key_pem.as_slice(), cert.pem().as_bytes()].concat();
        let options = TlsOptions::new()
            .certificate_pem(&combined, &combined)
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
        new().certificate_pem(garbage, &key_pem),
        Err(TlsError::NoCertificate)
    ));
    assert!(matches!(
        new().certificate_pem(&cert_pem, garbage),
        Err(TlsError::NoPrivateKey)
    ));
    assert!(matches!(
        new().certificate_pem(&cert_pem, &cert_pem),
        Err(TlsError::NoPrivateKey)
    ));
    assert!(matches!(
        new().certificate_pem(bad_base64, &key_pem),
        Err(TlsError::Pem(_))
    ));
    assert!(matches!(
        new().certificate_pem(&cert_pem, unterminated),
        Err(TlsError::Pem(_))
    ));
    assert!(matches!(
        new().authorities_pem(garbage),
        Err(TlsError::NoCertificate)
    ));
    assert!(matches!(
        new().authorities_pem(bad_base64),
        Err(TlsError::Pem(_))
    ));
    // Well-formed PEM around something that is not a certificate.
    let not_a_cert = pem("CERTIFICATE", b"hello");
    assert!(matches!(
        new().authorities_pem(&not_a_cert),
        Err(TlsError::Config(_))
    ));
    assert!(matches!(
        new().certificate_pem(&not_a_cert, &key_pem),
        Err(TlsError::Config(_))
    ));
    // A key that is not the certificate's.
    let (_, other_key) = ca.issue("other", &[]);
    let error = new()
        .certificate_pem(&cert_pem, &pem("PRIVATE KEY", other_key.secret_der()))
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
    let unchecked = new().certificate(vec![cert], other_key);
    assert!(matches!(
        unchecked.server_config(),
        Err(TlsError::Config(_))
    ));
    assert!(matches!(
        unchecked.client_config(),
        Err(TlsError::Config(_))
    ));
    // Good PEM loads.
    let good = new().certificate_pem(&cert_pem, &key_pem).unwrap();
    let good = good
        .authorities_pem(&[pem("CERTIFICATE", &ca.der()), cert_pem].concat())
        .unwrap();
    assert_eq!(good.trusted_authorities().len(), 2);
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
        .certificate_files(path("cert.pem"), path("key.pem"))
        .unwrap()
        .authorities_file(path("ca.pem"))
        .unwrap();
    assert!(options.has_certificate());
    assert_eq!(options.trusted_authorities(), [ca.der()]);
    options.server_config().unwrap();

    match TlsOptions::new().authorities_file(path("missing.pem")) {
        Err(TlsError::File { path: p, .. }) => assert_eq!(p, path("missing.pem")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        TlsOptions::new().certificate_files(path("cert.pem"), path("missing.pem")),
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
        .certificate(vec![cert], key)
        .authorities([Ca::new("ca").der()]);
    let debug = format!("{options:?}");
    assert!(debug.contains("private key hidden"), "{debug}");
    assert!(debug.contains("authorities: 1"), "{debug}");
    assert!(!debug.contains(&format!("{:?}", &secret[..8])), "{debug}");
}

#[test]
fn certificate_reader() {
    // v3 (rcgen's): the key webpki reads, and its algorithm as webpki's
    // algorithms name it.
    let cert = self_signed("x").0;
    let parsed = parse_certificate(&cert).unwrap();
    assert!(is_v3(&parsed));
    let webpki = ParsedCertificate::try_from(&cert).unwrap();
    let spki = parsed.public_key();
    assert_eq!(spki.raw, webpki.subject_public_key_info().as_ref());
    let (algorithm, key) = key_algorithm_and_bits(spki).unwrap();
    assert_eq!(algorithm, alg_id::ECDSA_P256.as_ref());
    assert_eq!((key.len(), key[0]), (65, 4), "an uncompressed P-256 point");
    // v1 (Twisted's), RSA: the key is the private key's own.
    let rsa = PrivateKeyDer::from_pem_slice(RSA_PKCS8_PEM.as_bytes()).unwrap();
    let v1 = v1_certificate(&rsa, "v1");
    let parsed = parse_certificate(&v1).unwrap();
    assert_eq!(parsed.version(), X509Version::V1);
    assert!(!is_v3(&parsed));
    let signing = provider().key_provider.load_private_key(rsa).unwrap();
    let spki = parsed.public_key();
    assert_eq!(spki.raw, signing.public_key().unwrap().as_ref());
    let (algorithm, _) = key_algorithm_and_bits(spki).unwrap();
    assert_eq!(algorithm, alg_id::RSA_ENCRYPTION.as_ref());
    // Truncations and trailing bytes are refused, never a panic.
    let bad_encoding = rustls::Error::InvalidCertificate(CertificateError::BadEncoding);
    let refused = |der: &[u8]| parse_certificate(&CertificateDer::from(der)).err();
    for n in 0..cert.len() {
        assert_eq!(refused(&cert[..n]), Some(bad_encoding.clone()), "{n} bytes");
    }
    assert_eq!(refused(&[cert.as_ref(), &[0]].concat()), Some(bad_encoding));
    // A key whose bits do not fill whole bytes is not a key.
    let odd = seq(&[
        &seq(&[&oid(&OID_KEY_TYPE_EC_PUBLIC_KEY)]),
        &tlv(Tag::BitString, &[1, 0x80]),
    ]);
    let (_, odd) = SubjectPublicKeyInfo::from_der(&odd).unwrap();
    assert!(key_algorithm_and_bits(&odd).is_none());
}
