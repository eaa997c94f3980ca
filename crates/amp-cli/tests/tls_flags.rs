//! The TLS flags every client subcommand shares (`--tls`, `--starttls`,
//! `--ca`, `--cert/--key`, `--server-name`, `--insecure`, `SSLKEYLOGFILE`),
//! live against Twisted serving AMP over TLS from the first byte
//! (`listenSSL`) and with a `StartTLS` responder.

#[path = "../../amp/tests/common/certs.rs"]
#[allow(dead_code)]
mod certs;
mod common;

use common::{amp, script, Proc};

/// A Twisted server with the test PKI's server certificate: (process, TLS
/// address, plain address with StartTLS).
fn twisted(pki: &certs::Pki) -> (Proc, String, String) {
    let mut peer = Proc::python(
        &script("cli_tls_peer.py"),
        &[
            pki.server_cert.to_str().unwrap(),
            pki.server_key.to_str().unwrap(),
        ],
    );
    let tls = peer.port();
    let plain = format!("127.0.0.1:{}", peer.wait_for("PLAIN "));
    (peer, tls, plain)
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

#[test]
fn tls_from_the_first_byte_verified_by_ca_and_name() {
    let pki = certs::Pki::generate();
    let (_peer, tls, _) = twisted(&pki);
    let ca = pki.ca.to_str().unwrap();
    let ok = amp()
        .args(["call", &tls, "Sum", "a=13", "b=81", "--tls", "--ca", ca])
        .assert()
        .success();
    assert!(stdout(&ok).contains("total: 94"), "{}", stdout(&ok));
    amp()
        .args(["call", &tls, "Sum", "a=1", "b=2", "--tls", "--ca", ca])
        .args(["--server-name", "localhost"])
        .assert()
        .success();
    // The certificate does not name this host: a TLS failure, exit 3.
    let wrong = amp()
        .args(["call", &tls, "Sum", "a=1", "b=2", "--tls", "--ca", ca])
        .args(["--server-name", "elsewhere.example"])
        .assert()
        .code(3);
    assert!(stderr(&wrong).contains("TLS"), "{}", stderr(&wrong));
    // Another CA: refused.
    let other = pki.other_ca.to_str().unwrap();
    amp()
        .args(["call", &tls, "Sum", "a=1", "b=2", "--tls", "--ca", other])
        .assert()
        .code(3);
}

#[test]
fn verification_is_never_off_unless_asked() {
    let pki = certs::Pki::generate();
    let (_peer, tls, plain) = twisted(&pki);
    for (addr, flag) in [(&tls, "--tls"), (&plain, "--starttls")] {
        let refused = amp()
            .args(["call", addr, "Sum", "a=1", "b=2", flag])
            .assert()
            .code(2);
        assert!(
            stderr(&refused).contains("--insecure") && stderr(&refused).contains("--ca"),
            "says what to do: {}",
            stderr(&refused)
        );
        let ok = amp()
            .args(["call", addr, "Sum", "a=1", "b=2", flag, "--insecure"])
            .assert()
            .success();
        assert!(stdout(&ok).contains("total: 3"), "{}", stdout(&ok));
    }
}

#[test]
fn starttls_against_twisted_verified_and_refused() {
    let pki = certs::Pki::generate();
    let (_peer, _, plain) = twisted(&pki);
    let ok = amp()
        .args(["call", &plain, "Sum", "a=40", "b=2", "--starttls"])
        .args(["--ca", pki.ca.to_str().unwrap()])
        .assert()
        .success();
    assert!(stdout(&ok).contains("total: 42"), "{}", stdout(&ok));
    amp()
        .args(["call", &plain, "Sum", "a=40", "b=2", "--starttls"])
        .args(["--ca", pki.other_ca.to_str().unwrap()])
        .assert()
        .code(3);
}

#[test]
fn keys_go_to_sslkeylogfile() {
    let pki = certs::Pki::generate();
    let (_peer, tls, plain) = twisted(&pki);
    let dir = tempfile::tempdir().unwrap();
    for (addr, flag) in [(&tls, "--tls"), (&plain, "--starttls")] {
        let log = dir.path().join(format!("keys{flag}.log"));
        amp()
            .env("SSLKEYLOGFILE", &log)
            .args(["call", addr, "Sum", "a=1", "b=2", flag, "--insecure"])
            .assert()
            .success();
        let text = std::fs::read_to_string(&log).expect("the key log is written");
        assert!(
            text.lines()
                .any(|l| l.starts_with("CLIENT_TRAFFIC_SECRET_0 ")
                    || l.starts_with("CLIENT_RANDOM ")),
            "{flag}: NSS key log lines: {text}"
        );
    }
}
