//! Pinned certificates: a peer certificate that is exactly an authority.

use super::*;

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
        let server = TlsOptions::new().certificate(vec![cert.clone()], key);
        // Pinned among other authorities, of either kind.
        let client = TlsOptions::new().authorities([
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
    let server = TlsOptions::new().certificate(vec![v1_certificate(&key, "server")], key);
    // Another v1 certificate with the same name, and a CA.
    let client =
        TlsOptions::new().authorities([v1_certificate(&ec_key(), "server"), Ca::new("CA").der()]);
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
        let client = TlsOptions::new().authorities([cert.clone()]);
        let same_type = matches!(signature_algorithm(&key), SignatureAlgorithm::ECDSA);
        for versions in BOTH {
            let outcome = handshake_configs(
                client.client_config_with(versions).unwrap(),
                client.expected_server_name(),
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
        &tlv(Tag::UtcTime, b"900101000000Z"),
        &tlv(Tag::UtcTime, b"000101000000Z"),
    );
    let future = v1_certificate_valid(
        &key,
        "future",
        &tlv(Tag::GeneralizedTime, b"20980101000000Z"),
        &tlv(Tag::GeneralizedTime, b"20991231235959Z"),
    );
    for (cert, want_expired) in [(expired, true), (future, false)] {
        let server = TlsOptions::new().certificate(vec![cert.clone()], key.clone_key());
        let client = TlsOptions::new().authorities([cert.clone()]);
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
        let server = TlsOptions::new().authorities([cert.clone()]);
        let client = TlsOptions::new().certificate(vec![cert], key.clone_key());
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
    let server = TlsOptions::new().certificate(vec![v1.clone()], key);
    let named = TlsOptions::new()
        .authorities([v1])
        .server_name("localhost")
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
    let server = TlsOptions::new().certificate(vec![v3.clone()], key);
    let pinned = TlsOptions::new().authorities([v3]);
    for versions in BOTH {
        let good = pinned.clone().server_name("localhost").unwrap();
        let (c, s) = handshake(&good, &server, versions).await.ok();
        ping(c, s).await;
        let bad = pinned.clone().server_name("example.com").unwrap();
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
    let server = TlsOptions::new().certificate(vec![ca.der(), Ca::new("stray").der()], key);
    let client = TlsOptions::new().authorities([ca.der()]);
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
            .certificate(vec![server_cert.clone()], server_key.clone_key())
            .authorities([Ca::new("CA").der(), cert.clone()]);
        let client = TlsOptions::new()
            .certificate(vec![cert.clone()], key)
            .authorities([server_cert.clone()]);
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
    let server = TlsOptions::new().authorities([v1_certificate(&ec_key(), "client")]);
    let pinning = TlsOptions::new().authorities([cert.clone()]);
    let client = TlsOptions::new().certificate(vec![cert.clone()], key);
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
            TlsOptions::new().expected_server_name(),
            pinning.server_config_with(versions).unwrap(),
        )
        .await;
        assert_eq!(
            bad_certificate(&outcome.server_error()),
            Some(&CertificateError::BadSignature)
        );
    }
}
