//! Anonymous TLS, and each side verifying the other: chains, host names, v1 certificates.

use super::*;

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
    let server = TlsOptions::new().certificate(vec![cert.clone()], key);
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
            TlsOptions::new().expected_server_name(),
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
    let c = b.clone().certificate(vec![own.clone()], key);
    assert_eq!(c.local_key(&p).unwrap().cert, vec![own]);
    assert_eq!(b.local_key(&p).unwrap().cert, cert);
}

// --- clients verifying servers ----------------------------------------

#[tokio::test]
async fn client_verifies_the_server_against_its_authorities() {
    let ca = Ca::new("test CA");
    // Names are not checked (Twisted's StartTLS checks none).
    let (cert, key) = ca.issue("elsewhere", &["elsewhere.example"]);
    let server = TlsOptions::new().certificate(vec![cert.clone()], key);
    let client = TlsOptions::new().authorities([ca.der()]);
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
    let server = TlsOptions::new().certificate(vec![cert.clone(), intermediate.der()], key);
    let client = TlsOptions::new().authorities([root.der()]);
    let (c, s) = handshake(&client, &server, TLS13_ONLY).await.ok();
    assert_eq!(peer_of_client(&c), vec![cert, intermediate.der()]);
    ping(c, s).await;
}

#[tokio::test]
async fn client_rejects_a_server_from_another_authority() {
    let ca = Ca::new("test CA");
    let other = Ca::new("other CA");
    let (cert, key) = other.issue("localhost", &["localhost"]);
    let server = TlsOptions::new().certificate(vec![cert], key);
    let client = TlsOptions::new().authorities([ca.der()]);
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
async fn client_authorities_rejects_self_signed_and_temporary_servers() {
    let ca = Ca::new("test CA");
    let client = TlsOptions::new().authorities([ca.der()]);
    let (cert, key) = self_signed("localhost");
    for server in [
        TlsOptions::new(),
        TlsOptions::new().certificate(vec![cert], key),
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
    let server = TlsOptions::new().certificate(vec![cert], key);
    let client = TlsOptions::new().authorities([ca.der()]);
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
    let server = TlsOptions::new().certificate(vec![forged.into()], key);
    let client = TlsOptions::new().authorities([ca.der()]);
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
async fn client_authorities_checks_handshake_signatures() {
    let ca = Ca::new("test CA");
    let (cert, _) = ca.issue("localhost", &["localhost"]);
    let (_, other_key) = ca.issue("localhost", &["localhost"]);
    let client = TlsOptions::new().authorities([ca.der()]);
    for versions in BOTH {
        let outcome = handshake_configs(
            client.client_config_with(versions).unwrap(),
            client.expected_server_name(),
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
    let server = TlsOptions::new().certificate(vec![cert], key);
    let client = TlsOptions::new().authorities([ca.der()]);
    for versions in BOTH {
        let named = client.clone().server_name("localhost").unwrap();
        let (c, s) = handshake(&named, &server, versions).await.ok();
        assert_eq!(s.get_ref().1.server_name(), Some("localhost"), "SNI");
        ping(c, s).await;

        let ip = client.clone().server_name("127.0.0.1").unwrap();
        let (c, s) = handshake(&ip, &server, versions).await.ok();
        ping(c, s).await;

        let wrong = client.clone().server_name("example.com").unwrap();
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
    let placeholder = TlsOptions::new().expected_server_name();
    assert_eq!(placeholder.to_str(), PLACEHOLDER_SERVER_NAME);
    let named = TlsOptions::new().server_name("amp.example").unwrap();
    assert_eq!(named.expected_server_name().to_str(), "amp.example");
    assert!(matches!(
        TlsOptions::new().server_name("not a name!"),
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
async fn server_authorities_requires_a_client_certificate() {
    let ca = Ca::new("test CA");
    let other = Ca::new("other CA");
    let (cert, key) = ca.issue("localhost", &["localhost"]);
    let server = TlsOptions::new()
        .certificate(vec![cert], key)
        .authorities([ca.der()]);
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
            TlsOptions::new().certificate(vec![client_cert.clone()], client_key.clone_key());
        let (c, s) = handshake(&client, &server, versions).await.ok();
        assert_eq!(
            s.get_ref().1.peer_certificates().unwrap(),
            std::slice::from_ref(&client_cert)
        );
        ping(c, s).await;

        // A certificate from another authority.
        let stranger =
            TlsOptions::new().certificate(vec![stranger_cert.clone()], stranger_key.clone_key());
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
    let client = TlsOptions::new().certificate(vec![client_cert], client_key);
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
        .certificate(vec![server_cert.clone()], server_key)
        .authorities([ca.der()]);
    let client = TlsOptions::new()
        .certificate(vec![client_cert.clone()], client_key)
        .authorities([ca.der()])
        .server_name("localhost")
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
            parse_certificate(&cert).unwrap().version().0,
            0,
            "a v1 certificate"
        );
        let pem_options = TlsOptions::new()
            .certificate_pem(
                &pem("CERTIFICATE", &cert),
                &pem("PRIVATE KEY", key.secret_der()),
            )
            .unwrap();
        let server = TlsOptions::new().certificate(vec![cert.clone()], key.clone_key());
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
                TlsOptions::new().expected_server_name(),
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
