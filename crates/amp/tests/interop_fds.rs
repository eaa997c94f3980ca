//! Descriptor passing (`amp.Descriptor`, SCM_RIGHTS over a UNIX socket)
//! against live Twisted (`interop/fd_peer.py`), both directions.
//!
//! Run: `cargo test -p amp --test interop_fds`.

mod common;

use amp::{Command, Connection, Descriptor, Record, Router};
use common::{within, Py, READY_TIMEOUT};
use std::io::{Read, Seek, Write};
use std::os::fd::OwnedFd;
use std::time::Duration;

#[derive(Command)]
#[amp(response = Written)]
struct WriteInto {
    fd: Descriptor,
    text: Vec<u8>,
}

#[derive(Record, Debug)]
struct Written {
    written: i64,
}

#[derive(Command)]
#[amp(response = Text)]
struct ReadFrom {
    fd: Descriptor,
}

#[derive(Record, Debug, PartialEq)]
struct Text {
    text: Vec<u8>,
}

#[derive(Command)]
#[amp(response = Fd)]
struct MakePipe {
    text: Vec<u8>,
}

#[derive(Record, Debug)]
struct Fd {
    fd: Descriptor,
}

#[derive(Command)]
#[amp(response = Texts)]
struct Two {
    first: Descriptor,
    second: Descriptor,
}

#[derive(Record, Debug, PartialEq)]
struct Texts {
    first: Vec<u8>,
    second: Vec<u8>,
}

fn read_all(fd: OwnedFd) -> Vec<u8> {
    let mut out = Vec::new();
    std::fs::File::from(fd).read_to_end(&mut out).unwrap();
    out
}

fn pipe_with(text: &[u8]) -> OwnedFd {
    let (r, mut w) = std::io::pipe().unwrap();
    w.write_all(text).unwrap();
    drop(w);
    r.into()
}

async fn twisted_server() -> (Py, tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("amp.sock");
    let mut py = Py::spawn("fd_peer.py", &["serve", path.to_str().unwrap()]);
    py.wait_line(READY_TIMEOUT, |l| l == "READY").await;
    (py, dir, path)
}

#[tokio::test]
async fn rust_sends_and_receives_descriptors_with_twisted() {
    let (_py, _dir, path) = twisted_server().await;
    let conn = within("connect", Connection::builder().connect_unix(&path))
        .await
        .unwrap();

    // A pipe's write end crosses; Twisted writes into it.
    let (mut r, w) = std::io::pipe().unwrap();
    let res = within(
        "WriteInto",
        conn.call(WriteInto {
            fd: Descriptor(w.into()),
            text: b"written by Twisted".to_vec(),
        }),
    )
    .await
    .unwrap();
    assert_eq!(res.written, 18);
    let mut got = Vec::new();
    r.read_to_end(&mut got).unwrap(); // our copy went with the call
    assert_eq!(got, b"written by Twisted");

    // A regular file crosses; Twisted writes into it.
    let mut file = tempfile::tempfile().unwrap();
    let dup: OwnedFd = file.try_clone().unwrap().into();
    within(
        "WriteInto a file",
        conn.call(WriteInto {
            fd: Descriptor(dup),
            text: b"into a file".to_vec(),
        }),
    )
    .await
    .unwrap();
    file.rewind().unwrap();
    let mut contents = String::new();
    file.read_to_string(&mut contents).unwrap();
    assert_eq!(contents, "into a file");

    // A pipe's read end crosses; Twisted reads it.
    let res = within(
        "ReadFrom",
        conn.call(ReadFrom {
            fd: Descriptor(pipe_with(b"read by Twisted")),
        }),
    )
    .await
    .unwrap();
    assert_eq!(res.text, b"read by Twisted");

    // Twisted sends one back in its answer.
    let res = within(
        "MakePipe",
        conn.call(MakePipe {
            text: b"a pipe made by Twisted".to_vec(),
        }),
    )
    .await
    .unwrap();
    assert_eq!(read_all(res.fd.0), b"a pipe made by Twisted");

    // Two in one box, repeatedly: ordinals go on counting.
    for i in 0..5 {
        let res = within(
            "Two",
            conn.call(Two {
                first: Descriptor(pipe_with(format!("first {i}").as_bytes())),
                second: Descriptor(pipe_with(format!("second {i}").as_bytes())),
            }),
        )
        .await
        .unwrap();
        assert_eq!(res.first, format!("first {i}").as_bytes());
        assert_eq!(res.second, format!("second {i}").as_bytes());
    }

    // Many concurrent callers: each descriptor lands with its own box.
    let calls = (0..50).map(|i| {
        let conn = conn.clone();
        async move {
            conn.call(ReadFrom {
                fd: Descriptor(pipe_with(format!("pipe {i}").as_bytes())),
            })
            .await
            .unwrap()
            .text
        }
    });
    let texts = within(
        "50 concurrent ReadFrom",
        futures_util::future::join_all(calls),
    )
    .await;
    for (i, t) in texts.into_iter().enumerate() {
        assert_eq!(t, format!("pipe {i}").as_bytes());
    }
}

fn rust_router() -> Router {
    Router::new()
        .route(|c: WriteInto, _| async move {
            let mut f = std::fs::File::from(c.fd.0);
            f.write_all(&c.text).unwrap();
            Ok(Written {
                written: c.text.len() as i64,
            })
        })
        .route(|c: ReadFrom, _| async move {
            // Small pipes already written and closed: reading cannot block
            // for long.
            Ok(Text {
                text: read_all(c.fd.0),
            })
        })
        .route(|c: MakePipe, _| async move {
            Ok(Fd {
                fd: Descriptor(pipe_with(&c.text)),
            })
        })
        .route(|c: Two, _| async move {
            Ok(Texts {
                first: read_all(c.first.0),
                second: read_all(c.second.0),
            })
        })
}

#[tokio::test]
async fn twisted_sends_and_receives_descriptors_with_rust() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rust.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let server = tokio::spawn(amp::Server::new(rust_router()).serve(listener));
    let out = Py::spawn("fd_peer.py", &["client", path.to_str().unwrap()])
        .finish(Duration::from_secs(120))
        .await;
    server.abort();
    out.assert_success("fd_peer.py client");
    out.line_starting("PASS concurrent");
    out.assert_line("10 passed, 0 failed");
}
