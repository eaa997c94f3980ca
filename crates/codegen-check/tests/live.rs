//! The Rust generated from `twisted.test.test_amp` (schemas/test_amp.json,
//! compiled by build.rs) calling Twisted's own test protocol live
//! (`SimpleSymmetricCommandProtocol`, served by interop/codegen_peer.py):
//! plain arguments and optional ones under renamed fields, an AmpList
//! answer, an optional AmpList argument, a declared error, and a fatal one
//! that closes the connection.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use amp::{CallError, Connection};
use codegen_check::test_amp::{
    DontRejectMe, DontRejectMeList, GetList, GetListResponseBody, Hello, HelloError, HelloResponse,
};

/// The pinned Python with Twisted: `$AMP_PYTHON`, else the workspace's
/// interop/.venv. The test fails (it is never skipped) without it.
fn python() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let p = match std::env::var_os("AMP_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace.join("interop/.venv/bin/python"),
    };
    assert!(
        p.is_file(),
        "this test needs Python with Twisted, and {} does not exist: run \
         scripts/setup-interop.sh (or set AMP_PYTHON)",
        p.display()
    );
    p
}

/// The Twisted peer; killed when dropped.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts interop/codegen_peer.py and returns it with its port.
fn start_peer() -> (Peer, u16) {
    let interop = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../interop");
    let mut child = Command::new(python())
        .arg("-u")
        .arg(interop.join("codegen_peer.py"))
        .current_dir(&interop)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start interop/codegen_peer.py");
    let out = child.stdout.take().expect("piped");
    let peer = Peer(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if let Some(port) = line.strip_prefix("PORT ") {
                let _ = tx.send(port.trim().parse::<u16>().expect("a port number"));
            }
        }
    });
    let port = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("codegen_peer.py said PORT within 30 s");
    (peer, port)
}

async fn within<F: std::future::Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within 20 s"))
}

#[tokio::test]
async fn generated_commands_call_twisted_test_amp() {
    let (_peer, port) = start_peer();
    let conn = Connection::connect(("127.0.0.1", port)).await.unwrap();

    // hello: bytes in, bytes out; optional Unicode `print` sent and
    // answered; renamed optional fields (`mixedCase`, `dash-arg`) sent.
    let answer = within(
        "hello",
        conn.call(Hello {
            hello: b"world".to_vec(),
            print: Some("ça va".into()),
            mixed_case: Some(b"m".to_vec()),
            dash_arg: Some(b"d".to_vec()),
            ..Hello::default()
        }),
    )
    .await
    .unwrap();
    assert_eq!(
        answer,
        HelloResponse {
            hello: b"world".to_vec(),
            print: Some("ça va".into()),
        }
    );

    // A declared error: UnfriendlyGreeting is `UNFRIENDLY`, with its text.
    let e = within(
        "hello fuck",
        conn.call(Hello {
            hello: b"fuck you".to_vec(),
            ..Hello::default()
        }),
    )
    .await
    .unwrap_err();
    match e {
        CallError::Remote(HelloError::Unfriendly(d)) => assert_eq!(d, "Don't be a dick."),
        other => panic!("want UNFRIENDLY, got {other:?}"),
    }
    assert!(!conn.is_closed(), "a declared error leaves AMP going");

    // getlist: an AmpList answer, as generated records.
    let answer = within("getlist", conn.call(GetList { length: 3 }))
        .await
        .unwrap();
    assert_eq!(answer.body, vec![GetListResponseBody { x: 1 }; 3]);

    // dontrejectme: an optional AmpList argument, given and left out.
    let answer = within(
        "dontrejectme",
        conn.call(DontRejectMe {
            magic_word: "please".into(),
            list: Some(vec![DontRejectMeList { name: "bob".into() }]),
        }),
    )
    .await
    .unwrap();
    assert_eq!(answer.response, "bob accepted");
    let answer = within(
        "dontrejectme without list",
        conn.call(DontRejectMe {
            magic_word: "please".into(),
            list: None,
        }),
    )
    .await
    .unwrap();
    assert_eq!(answer.response, "list omitted");

    // A fatal error: DeathThreat is `DEAD`, in fatalErrors: Twisted sends
    // it, then closes the connection.
    let e = within(
        "hello die",
        conn.call(Hello {
            hello: b"die".to_vec(),
            ..Hello::default()
        }),
    )
    .await
    .unwrap_err();
    match e {
        CallError::Remote(HelloError::Dead(d)) => assert_eq!(d, "aieeeeeeeee"),
        other => panic!("want DEAD, got {other:?}"),
    }
    within("the close after the fatal error", conn.closed()).await;
    assert!(conn.is_closed());
    let after = within("a call after the close", conn.call(GetList { length: 1 })).await;
    assert!(
        matches!(after, Err(CallError::ConnectionLost(_))),
        "{after:?}"
    );
}
