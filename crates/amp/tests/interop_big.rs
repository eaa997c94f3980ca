//! Values over 64 KiB against a live Twisted peer (`interop/big_peer.py`,
//! the chunking scheme of Evennia, JoinMarket and clj-amp written on plain
//! `twisted.protocols.amp`), both ways: Rust calls Twisted, Twisted calls
//! Rust. Sizes 0, 65,535, 65,536 and 10 MB; contents checked by SHA-256.
//!
//! Run: `cargo test -p amp --test interop_big` (with
//! `AMP_PYTHON=.../bin/python` if the venv is elsewhere).

mod common;

use std::time::Duration;

use amp::{BigBytes, BigString, Command, Compressed, Config, Connection, Record, Router};
use common::{within_for, Py};
use sha2::{Digest, Sha256};

/// Long enough for 10 MB through a debug build and Twisted.
const BIG_STEP: Duration = Duration::from_secs(120);

const SIZES: [usize; 4] = [0, 65_535, 65_536, 10_000_000];

#[derive(Command)]
#[amp(response = Received)]
struct Upload {
    name: String,
    data: BigBytes,
}

/// What the receiver got: size, digest, and (from Twisted) the keys of the
/// request box in the order they arrived.
#[derive(Record, Debug)]
struct Received {
    size: i64,
    sha256: String,
    keys: String,
}

#[derive(Command)]
#[amp(response = Downloaded)]
struct Download {
    size: i64,
}

#[derive(Record)]
struct Downloaded {
    data: BigBytes,
}

#[derive(Command)]
#[amp(response = Received)]
struct UploadText {
    text: BigString,
}

#[derive(Command)]
#[amp(response = DownloadedText)]
struct DownloadText {
    size: i64,
}

#[derive(Record)]
struct DownloadedText {
    text: BigString,
}

#[derive(Command)]
#[amp(name = "UploadZ", response = Received)]
struct UploadZ {
    data: Compressed,
}

#[derive(Command)]
#[amp(name = "DownloadZ", response = DownloadedZ)]
struct DownloadZ {
    size: i64,
}

#[derive(Record)]
struct DownloadedZ {
    data: Compressed,
}

/// `size` bytes of 0, 1, ..., 255 repeated.
fn pattern(size: usize) -> Vec<u8> {
    (0..size).map(|i| i as u8).collect()
}

/// `size` bytes of UTF-8 mixing one- to four-byte characters (chunk
/// boundaries fall inside characters), as `big_peer.py`'s `text()`.
fn text(size: usize) -> String {
    let mut s = "aé€😀".repeat(size / 10);
    while s.len() < size {
        s.push('z');
    }
    s
}

fn sha(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The keys `arg`, `arg.2`, ... of `chunks` chunks plus `others`, in
/// bytewise order: how Twisted orders a box on the wire.
fn sorted_keys(arg: &str, chunks: usize, others: &[&str]) -> String {
    let mut keys: Vec<String> = others.iter().map(|s| s.to_string()).collect();
    keys.push(arg.to_owned());
    keys.extend((2..=chunks).map(|n| format!("{arg}.{n}")));
    keys.sort();
    keys.join(",")
}

fn chunks(size: usize) -> usize {
    size.div_ceil(65_535).max(1)
}

fn big_config() -> Config {
    Config::builder().max_box_size(64 << 20).build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted() {
    let (mut py, port) = Py::serve("big_peer.py", &["serve"]).await;
    let conn = Connection::builder()
        .router(Router::new())
        .config(big_config())
        .connect(("127.0.0.1", port))
        .await
        .unwrap();
    for n in SIZES {
        let data = pattern(n);
        let want = (n as i64, sha(&data));

        let r = within_for(BIG_STEP, "Upload", async {
            conn.call(Upload {
                name: format!("f{n}"),
                data: data.clone().into(),
            })
            .await
        })
        .await
        .unwrap();
        assert_eq!((r.size, r.sha256.clone()), want, "Upload {n}");
        // Twisted received the chunks under data, data.2, ..., in its own
        // (bytewise) order: data.10 before data.2.
        assert_eq!(r.keys, sorted_keys("data", chunks(n), &["name"]), "{n}");

        let r = within_for(BIG_STEP, "Download", conn.call(Download { size: n as i64 }))
            .await
            .unwrap();
        assert_eq!((r.data.len() as i64, sha(&r.data)), want, "Download {n}");

        let t = text(n);
        let r = within_for(
            BIG_STEP,
            "UploadText",
            conn.call(UploadText {
                text: t.clone().into(),
            }),
        )
        .await
        .unwrap();
        assert_eq!((r.size, r.sha256), (n as i64, sha(t.as_bytes())), "{n}");
        assert_eq!(r.keys, sorted_keys("text", chunks(n), &[]), "{n}");
        let r = within_for(
            BIG_STEP,
            "DownloadText",
            conn.call(DownloadText { size: n as i64 }),
        )
        .await
        .unwrap();
        assert!(r.text.0 == t, "DownloadText {n}: text differs");

        let r = within_for(
            BIG_STEP,
            "UploadZ",
            conn.call(UploadZ {
                data: data.clone().into(),
            }),
        )
        .await
        .unwrap();
        assert_eq!((r.size, r.sha256), want, "UploadZ {n}");
        // The pattern compresses: one compressed entry per 65,535 bytes.
        assert_eq!(r.keys, sorted_keys("data", chunks(n), &[]), "{n}");
        let r = within_for(
            BIG_STEP,
            "DownloadZ",
            conn.call(DownloadZ { size: n as i64 }),
        )
        .await
        .unwrap();
        assert_eq!((r.data.len() as i64, sha(&r.data)), want, "DownloadZ {n}");
    }

    // Data zlib cannot shrink: its 65,535-byte pieces do not fit one AMP
    // value once compressed, so they go in halves; Twisted reads them.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let noise: Vec<u8> = (0..300_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect();
    let r = within_for(
        BIG_STEP,
        "UploadZ noise",
        conn.call(UploadZ {
            data: noise.clone().into(),
        }),
    )
    .await
    .unwrap();
    assert_eq!((r.size, r.sha256), (noise.len() as i64, sha(&noise)));
    assert!(
        r.keys.split(',').count() > chunks(noise.len()),
        "{}",
        r.keys
    );
    py.close_stdin();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_calls_rust() {
    let router = Router::new()
        .route(|u: Upload, _| async move {
            Ok(Received {
                size: u.data.len() as i64,
                sha256: sha(&u.data),
                keys: String::new(),
            })
        })
        .route(|d: Download, _| async move {
            Ok(Downloaded {
                data: pattern(d.size as usize).into(),
            })
        })
        .route(|u: UploadText, _| async move {
            Ok(Received {
                size: u.text.len() as i64,
                sha256: sha(u.text.as_bytes()),
                keys: String::new(),
            })
        })
        .route(|d: DownloadText, _| async move {
            Ok(DownloadedText {
                text: text(d.size as usize).into(),
            })
        })
        .route(|u: UploadZ, _| async move {
            Ok(Received {
                size: u.data.len() as i64,
                sha256: sha(&u.data),
                keys: String::new(),
            })
        })
        .route(|d: DownloadZ, _| async move {
            Ok(DownloadedZ {
                data: pattern(d.size as usize).into(),
            })
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let server = tokio::spawn(
        amp::Server::new(router)
            .config(big_config())
            .serve(listener),
    );
    let sizes: Vec<String> = SIZES.iter().map(|n| n.to_string()).collect();
    let mut args = vec!["client", &port];
    args.extend(sizes.iter().map(String::as_str));
    let out = Py::spawn("big_peer.py", &args)
        .finish(Duration::from_secs(600))
        .await;
    out.assert_success("big_peer.py client");
    for n in SIZES {
        for check in [
            "upload",
            "download",
            "upload_text",
            "download_text",
            "upload_z",
            "download_z",
        ] {
            out.assert_line(&format!("PASS {check}.{n}"));
        }
    }
    out.assert_line("24 passed, 0 failed");
    server.abort();
}

/// The argument box Rust writes is byte for byte the one Twisted's own
/// serialisation (`makeArguments` + `AmpBox.serialize`) produces for the
/// same values, chunk keys and their order included (700,000 bytes are 11
/// chunks: `data.10` and `data.11` sort before `data.2`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn argument_boxes_equal_twisted_serialisation() {
    let sizes = [0usize, 1, 65_535, 65_536, 131_070, 131_071, 700_000];
    let args: Vec<String> = std::iter::once("golden".to_owned())
        .chain(sizes.iter().map(|n| n.to_string()))
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = Py::spawn("big_peer.py", &args)
        .finish(Duration::from_secs(60))
        .await;
    out.assert_success("big_peer.py golden");
    fn wire<R: Record>(r: &R) -> Vec<u8> {
        let mut out = bytes::BytesMut::new();
        let mut w = amp::FieldWriter::new(&mut out, &[]);
        r.write_fields(&mut w, &mut amp::Context::none()).unwrap();
        w.finish().unwrap();
        out.to_vec()
    }
    for n in sizes {
        let up = wire(&Upload {
            name: "f".into(),
            data: pattern(n).into(),
        });
        out.assert_line(&format!("GOLDEN Upload {n} {} {}", up.len(), sha(&up)));
        let text = wire(&UploadText {
            text: text(n).into(),
        });
        out.assert_line(&format!(
            "GOLDEN UploadText {n} {} {}",
            text.len(),
            sha(&text)
        ));
    }
}

/// Over the receiver's box limit the call fails; the bound on the Rust side
/// is `Config::max_box_size` (here the default, 4 MiB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_megabytes_need_the_limit_raised() {
    let (mut py, port) = Py::serve("big_peer.py", &["serve"]).await;
    let conn = Connection::connect(("127.0.0.1", port)).await.unwrap();
    let r = within_for(
        BIG_STEP,
        "Download over the limit",
        conn.call(Download { size: 10_000_000 }),
    )
    .await;
    assert!(r.is_err(), "a 10 MB answer went through a 4 MiB limit");
    py.close_stdin();
}
