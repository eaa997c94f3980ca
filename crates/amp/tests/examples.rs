//! The examples, run as a user would run them, against live Twisted peers:
//! the negotiate–secure–switch pair (`switch_server`, `switch_client`) and
//! AMP over a child process's stdin/stdout (`math_server --stdio`, and a
//! Twisted peer spawned by Rust).
//!
//! Run: `cargo test -p amp --test examples`.

mod common;

use amp::pipes::Pipes;
use amp::{CallError, Connection, Router};
use common::certs::Pki;
use common::raw::{Sum, Total};
use common::{example_binary, within, Py, READY_TIMEOUT};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const FINISH: Duration = Duration::from_secs(120);

/// Start `switch_server` and wait for its `listening on ADDR` line.
async fn switch_server(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(example_binary("switch_server"))
        .arg("127.0.0.1:0")
        .args(args)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start switch_server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = within_ready(lines.next_line())
        .await
        .unwrap()
        .expect("a line");
    let addr = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, addr)
}

async fn within_ready<F: std::future::Future>(f: F) -> F::Output {
    common::within_for(READY_TIMEOUT, "the example to start", f).await
}

/// Run `switch_client` to completion; return its stdout.
async fn switch_client(addr: &str, args: &[&str]) -> String {
    let out = within(
        "switch_client",
        Command::new(example_binary("switch_client"))
            .arg(addr)
            .args(args)
            .output(),
    )
    .await
    .expect("run switch_client");
    assert!(
        out.status.success(),
        "switch_client failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `switch_server` flags: the CA-signed certificate, client certificates
/// required.
fn mutual_tls_server(pki: &Pki) -> [&str; 6] {
    [
        "--cert",
        s(&pki.server_cert),
        "--key",
        s(&pki.server_key),
        "--ca",
        s(&pki.ca),
    ]
}

#[tokio::test]
async fn switch_client_and_server_with_mutual_tls() {
    let pki = Pki::generate();
    let (_server, addr) = switch_server(&mutual_tls_server(&pki)).await;
    let out = switch_client(
        &addr,
        &[
            "--ca",
            s(&pki.ca),
            "--cert",
            s(&pki.client_cert),
            "--key",
            s(&pki.client_key),
            "--message",
            "negotiated, secured, switched",
        ],
    )
    .await;
    assert_eq!(out, "negotiated, secured, switched\n");
}

#[tokio::test]
async fn twisted_client_secures_and_switches_through_switch_server() {
    let pki = Pki::generate();
    let (_server, addr) = switch_server(&mutual_tls_server(&pki)).await;
    let port = addr.rsplit(':').next().unwrap();
    let out = Py::spawn(
        "switch_peer.py",
        &[
            "client",
            port,
            "--cert",
            s(&pki.client_cert),
            "--key",
            s(&pki.client_key),
            "--ca",
            s(&pki.ca),
            "tls_then_switch",
        ],
    )
    .finish(FINISH)
    .await;
    out.assert_success("switch_peer.py client against switch_server");
    out.assert_line("PASS tls_switch.still_tls");
}

#[tokio::test]
async fn switch_client_secures_and_switches_a_twisted_server() {
    let pki = Pki::generate();
    let (_py, port) = Py::serve(
        "switch_peer.py",
        &[
            "serve",
            "--cert",
            s(&pki.server_cert),
            "--key",
            s(&pki.server_key),
        ],
    )
    .await;
    let out = switch_client(&format!("127.0.0.1:{port}"), &["--ca", s(&pki.ca)]).await;
    assert_eq!(out, "hello through AMP\n");
}

#[tokio::test]
async fn twisted_spawns_the_rust_server_over_stdio() {
    let server = example_binary("math_server");
    let out = Py::spawn("spawn_peer.py", &[s(&server), "--stdio"])
        .finish(FINISH)
        .await;
    out.assert_success("spawn_peer.py math_server --stdio");
    out.line_starting("PASS child.exit0");
}

#[tokio::test]
async fn rust_talks_to_a_twisted_child_over_its_stdio() {
    let mut child = std::process::Command::new(common::python())
        .arg(common::script("peer.py"))
        .arg("stdio")
        .current_dir(common::workspace().join("interop"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start peer.py stdio");
    let to_child: OwnedFd = child.stdin.take().unwrap().into();
    let from_child: OwnedFd = child.stdout.take().unwrap().into();
    let conn = Connection::spawn(Pipes::new(from_child, to_child).unwrap(), Router::new());
    assert_eq!(
        within("Sum over pipes", conn.call(Sum { a: 13, b: 81 }))
            .await
            .unwrap(),
        Total { total: 94 }
    );
    let calls = (0..200).map(|i| conn.call(Sum { a: i, b: i }));
    for (i, r) in within("200 Sums", futures_util::future::join_all(calls))
        .await
        .into_iter()
        .enumerate()
    {
        assert_eq!(r.unwrap().total, 2 * i as i64);
    }
    // Closing our end closes the child's stdin: it exits.
    within("close", conn.close()).await;
    assert!(matches!(
        conn.call(Sum { a: 1, b: 1 }).await,
        Err(CallError::ConnectionLost(_))
    ));
    let status = within(
        "the child to exit",
        tokio::task::spawn_blocking(move || child.wait()),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(status.success(), "{status}");
}

/// Start an example server with stderr captured; return it, its address
/// and its stderr.
async fn server_with_stderr(
    name: &str,
    args: &[&str],
) -> (Child, String, tokio::process::ChildStderr) {
    let mut child = Command::new(example_binary(name))
        .arg("127.0.0.1:0")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = within_ready(lines.next_line())
        .await
        .unwrap()
        .expect("a line");
    let addr = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    let stderr = child.stderr.take().unwrap();
    (child, addr, stderr)
}

#[tokio::test]
async fn the_servers_stop_cleanly_on_ctrl_c() {
    for name in ["math_server", "switch_server"] {
        let (mut child, addr, mut stderr) = server_with_stderr(name, &[]).await;
        let conn = Connection::connect(&addr).await.unwrap();
        // A round trip: the server has accepted the connection.
        if name == "math_server" {
            assert_eq!(
                conn.call(Sum { a: 1, b: 2 }).await.unwrap(),
                Total { total: 3 }
            );
        } else {
            let r = conn.call_raw("Ping", amp::AmpBox::new()).await;
            assert!(matches!(r, Err(CallError::Unhandled { .. })), "{r:?}");
        }
        let pid = rustix::process::Pid::from_raw(child.id().unwrap() as i32).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
        let status = within("the server to stop", child.wait()).await.unwrap();
        let mut err = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut err)
            .await
            .unwrap();
        assert!(status.success(), "{name}: {status}\n{err}");
        assert!(
            err.contains(&format!("{name}: shut down (1 connections open, 0 cut)")),
            "{name}: {err}"
        );
        assert!(matches!(
            within("the connection to close", conn.closed()).await,
            amp::Disconnect::PeerClosed
        ));
    }
}

// ---------------------------------------------------------------------------
// big_transfer: values over 64 KiB
// ---------------------------------------------------------------------------

/// `big_transfer send` uploads a 10 MB file in one argument; the server's
/// size and SHA-256 are the file's. `fetch` downloads the pattern back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_transfer_sends_a_ten_megabyte_file() {
    use sha2::{Digest, Sha256};
    let hex = |d: &[u8]| -> String {
        Sha256::digest(d)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let exe = example_binary("big_transfer");
    let mut server = Command::new(&exe)
        .args(["serve", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start big_transfer serve");
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let line = within_ready(lines.next_line())
        .await
        .unwrap()
        .expect("a line");
    let addr = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(!addr.ends_with(":0"), "not the bound address: {addr}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("upload.bin");
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let data: Vec<u8> = (0..10_500_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&file, &data).unwrap();

    let run = |args: Vec<String>| {
        let exe = exe.clone();
        async move {
            let out = common::within_for(
                Duration::from_secs(120),
                "big_transfer",
                Command::new(exe).args(args).output(),
            )
            .await
            .unwrap();
            assert!(
                out.status.success(),
                "big_transfer failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        }
    };
    let out = run(vec!["send".into(), addr.clone(), s(&file).into()]).await;
    assert_eq!(
        out,
        format!("size: {}\nsha256: {}\n", data.len(), hex(&data)),
        "send"
    );

    let pattern: Vec<u8> = (0..200_000).map(|i| i as u8).collect();
    let out = run(vec!["fetch".into(), addr, "200000".into()]).await;
    assert_eq!(
        out,
        format!("size: 200000\nsha256: {}\n", hex(&pattern)),
        "fetch"
    );
}
