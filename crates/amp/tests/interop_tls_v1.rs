//! StartTLS against live Twisted peers using the X.509 **v1** self-signed
//! certificates Twisted's own helpers make
//! (`KeyPair.generate().selfSignedCert(...)`, generated afresh by
//! `interop/v1_certs.py` for each test), in Twisted's usual setup: each side
//! trusts the other's certificate as its authority. webpki cannot verify
//! v1 certificates; amp-rs accepts them pinned (the peer's certificate is
//! exactly one of the authorities). Both directions, each with a negative
//! case: a different v1 certificate (with the same name) is refused.
//!
//! Run: `cargo test -p amp --test interop_tls_v1` (after
//! `scripts/setup-interop.sh`, or with `AMP_PYTHON` set).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use amp::tls::{TlsError, TlsOptions};
use amp::{CallError, Command, Connection, Disconnect, Record, Router};
use common::raw::{Sum, Total};
use common::{within, Py};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::CertificateError;

#[derive(Command)]
#[amp(response = PeerCertIs)]
struct PeerCert;

#[derive(Record, Debug, PartialEq)]
struct PeerCertIs {
    der: Vec<u8>,
    tls: bool,
}

const FINISH: Duration = Duration::from_secs(120);

/// Twisted's certificates, in a temporary directory.
struct V1 {
    dir: tempfile::TempDir,
}

impl V1 {
    /// Makes `server`, `client` and `other` with Twisted's helpers.
    async fn generate() -> V1 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().display().to_string();
        let out = Py::spawn("v1_certs.py", &[&path]).finish(FINISH).await;
        out.assert_success("v1_certs.py");
        let v1 = V1 { dir };
        for name in ["server", "client", "other"] {
            out.assert_line(&format!("v1 {name}"));
            // What webpki refuses as a peer's certificate: what this is about.
            let der = v1.der(name);
            assert!(rustls::server::ParsedCertificate::try_from(&der).is_err());
        }
        v1
    }

    fn cert(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.pem"))
    }

    fn key(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.key"))
    }

    fn der(&self, name: &str) -> CertificateDer<'static> {
        CertificateDer::from_pem_file(self.cert(name)).unwrap()
    }

    /// Our options: `name`'s certificate and key, trusting `pinned`.
    fn options(&self, name: &str, pinned: &str) -> TlsOptions {
        TlsOptions::new()
            .certificate_files(self.cert(name), self.key(name))
            .unwrap()
            .authorities_file(self.cert(pinned))
            .unwrap()
    }

    /// `--cert`/`--key` of `name` and `--ca` of `pinned` for
    /// `switch_peer.py` (Twisted's `CertificateOptions` through
    /// `amp.StartTLS`).
    fn args(&self, name: &str, pinned: Option<&str>) -> Vec<String> {
        let mut args = vec![
            "--cert".into(),
            path(&self.cert(name)),
            "--key".into(),
            path(&self.key(name)),
        ];
        if let Some(pinned) = pinned {
            args.extend(["--ca".into(), path(&self.cert(pinned))]);
        }
        args
    }
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// The rustls error a TLS disconnect carries.
fn tls_failure(reason: &Disconnect) -> &rustls::Error {
    match reason {
        Disconnect::Tls(e) => match e.downcast_ref::<TlsError>() {
            Some(TlsError::Handshake(e)) => e,
            other => panic!("expected a handshake failure, got {other:?}"),
        },
        other => panic!("expected a TLS disconnect, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Rust calls a Twisted server
// ---------------------------------------------------------------------------

async fn twisted_server(args: &[String]) -> (Py, Connection) {
    let mut full = vec!["serve"];
    full.extend(args.iter().map(String::as_str));
    let (py, port) = Py::serve("switch_peer.py", &full).await;
    let conn = within("connect", Connection::connect(("127.0.0.1", port)))
        .await
        .unwrap();
    (py, conn)
}

#[tokio::test]
async fn rust_client_pins_twisted_v1_server_and_presents_a_v1_client_certificate() {
    let v1 = V1::generate().await;
    // Twisted serves "server" and requires a client certificate, pinning
    // "client"; we present "client" and pin "server".
    let (_py, conn) = twisted_server(&v1.args("server", Some("client"))).await;
    within("StartTLS", conn.start_tls(v1.options("client", "server")))
        .await
        .unwrap();
    assert!(conn.is_tls());
    assert_eq!(
        within("Sum", conn.call(Sum { a: 40, b: 2 })).await.unwrap(),
        Total { total: 42 }
    );
    assert_eq!(conn.peer_certificates().unwrap(), vec![v1.der("server")]);
    let seen = within("PeerCert", conn.call(PeerCert)).await.unwrap();
    assert_eq!(
        seen,
        PeerCertIs {
            der: v1.der("client").to_vec(),
            tls: true
        },
        "Twisted sees our v1 client certificate"
    );
}

#[tokio::test]
async fn rust_client_refuses_a_twisted_server_with_another_v1_certificate() {
    let v1 = V1::generate().await;
    // Twisted serves "other" (same name, "localhost"); we pin "server".
    let (_py, conn) = twisted_server(&v1.args("other", None)).await;
    let e = within("StartTLS", conn.start_tls(v1.options("client", "server")))
        .await
        .unwrap_err();
    match &e {
        CallError::ConnectionLost(reason) => assert_eq!(
            tls_failure(reason),
            &rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
        ),
        other => panic!("expected a TLS failure, got {other:?}"),
    }
    assert!(conn.is_closed());
    assert!(!conn.is_tls());
    let closed = within("closed", conn.closed()).await;
    assert_eq!(
        tls_failure(&closed),
        &rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
    );
}

// ---------------------------------------------------------------------------
// A Twisted client calls a Rust server
// ---------------------------------------------------------------------------

fn rust_router(tls: TlsOptions) -> Router {
    Router::new()
        .route(|s: Sum, _| async move { Ok(Total { total: s.a + s.b }) })
        .route(|_: PeerCert, ctx| async move {
            let certs = ctx.peer().peer_certificates();
            Ok(PeerCertIs {
                tls: certs.is_some(),
                der: certs
                    .and_then(|c| c.first().map(|c| c.to_vec()))
                    .unwrap_or_default(),
            })
        })
        .start_tls(tls)
}

/// Accepts the Twisted client's connections (one per scenario) with
/// `tls`, runs `scenarios` from `switch_peer.py client`, and returns how
/// each of our connections ended.
async fn twisted_client(tls: TlsOptions, args: &[String], scenarios: &[&str]) -> Vec<Disconnect> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let count = scenarios.len();
    let server = tokio::spawn(async move {
        let mut ended = Vec::new();
        for _ in 0..count {
            let (stream, _) = listener.accept().await.unwrap();
            let conn = Connection::spawn(stream, rust_router(tls.clone()));
            ended.push(tokio::spawn(async move { conn.closed().await }));
        }
        let mut reasons = Vec::new();
        for e in ended {
            reasons.push(e.await.unwrap());
        }
        reasons
    });
    let mut full = vec!["client", port.as_str()];
    full.extend(args.iter().map(String::as_str));
    full.extend_from_slice(scenarios);
    let out = Py::spawn("switch_peer.py", &full).finish(FINISH).await;
    out.assert_success("switch_peer.py client");
    within("our side of every connection to end", server)
        .await
        .unwrap()
}

#[tokio::test]
async fn twisted_client_with_a_v1_certificate_to_a_rust_server_pinning_it() {
    let v1 = V1::generate().await;
    // We serve "server" and pin "client"; Twisted presents "client" and
    // pins "server". The scenarios check that Twisted sees TLS and that we
    // see its certificate.
    let reasons = twisted_client(
        v1.options("server", "client"),
        &v1.args("client", Some("server")),
        &["starttls", "starttls_queued"],
    )
    .await;
    for reason in reasons {
        assert!(!matches!(reason, Disconnect::Tls(_)), "{reason:?}");
    }
}

#[tokio::test]
async fn rust_server_refuses_a_twisted_client_with_another_v1_certificate() {
    let v1 = V1::generate().await;
    // We pin "client"; Twisted presents "other" (and verifies nothing).
    let reasons = twisted_client(
        v1.options("server", "client"),
        &v1.args("other", None),
        &["starttls_fails"],
    )
    .await;
    assert_eq!(reasons.len(), 1);
    assert_eq!(
        tls_failure(&reasons[0]),
        &rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
    );
}
