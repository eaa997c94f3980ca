//! Values over 64 KiB: uploads and downloads of whole files in one AMP
//! argument ([`amp::BigBytes`], chunked over `data`, `data.2`, ...).
//!
//! ```text
//! cargo run --example big_transfer serve ADDR          # e.g. 127.0.0.1:0
//! cargo run --example big_transfer send ADDR FILE      # Upload: prints size and sha256
//! cargo run --example big_transfer fetch ADDR SIZE     # Download: prints size and sha256
//! ```
//!
//! `serve` prints `listening on ADDR` (the bound address) and serves
//!
//! * `Upload(name: Unicode, data: BigString) -> (size: Integer, sha256: Unicode)`
//! * `Download(size: Integer) -> (data: BigString)`, `size` bytes of the
//!   pattern 0, 1, ..., 255 repeated.
//!
//! `BigString` there is the Python name (JoinMarket's, clj-amp's), where
//! `String` is AMP's byte string; its Rust type is [`amp::BigBytes`]. The
//! UTF-8 [`amp::BigString`] (Python's `BigUnicode`) could not carry a file,
//! nor the download pattern, whose bytes 128–255 are not valid UTF-8 on
//! their own.
//!
//! Both sides raise the box size limit ([`amp::Config::max_box_size`],
//! 4 MiB by default) to 64 MiB, so values of 10 MB and more fit in a box;
//! `--max-box-size BYTES` changes it.

use amp::{BigBytes, Command, Config, Connection, Record, Router};
use sha2::{Digest, Sha256};

/// `Upload(name, data) -> (size, sha256)`.
#[derive(Command)]
#[amp(response = UploadResult)]
pub struct Upload {
    pub name: String,
    pub data: BigBytes,
}

/// The answer to [`Upload`]: what the server received.
#[derive(Record, Debug)]
pub struct UploadResult {
    pub size: i64,
    pub sha256: String,
}

/// `Download(size) -> data`.
#[derive(Command)]
#[amp(response = DownloadResult)]
pub struct Download {
    pub size: i64,
}

/// The answer to [`Download`].
#[derive(Record, Debug)]
pub struct DownloadResult {
    pub data: BigBytes,
}

fn hex_sha256(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn usage() -> ! {
    eprintln!(
        "usage: big_transfer serve ADDR | send ADDR FILE | fetch ADDR SIZE  [--max-box-size BYTES]"
    );
    std::process::exit(2);
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut max_box_size = 64 << 20;
    if let Some(i) = args.iter().position(|a| a == "--max-box-size") {
        max_box_size = args
            .get(i + 1)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| usage());
        args.drain(i..i + 2);
    }
    let config = Config::builder()
        .max_box_size(max_box_size)
        .build()
        .map_err(std::io::Error::other)?;
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["serve", addr] => serve(addr, config).await,
        ["send", addr, file] => {
            let data = std::fs::read(file)?;
            let conn = Connection::builder()
                .router(Router::new())
                .config(config)
                .connect(addr)
                .await?;
            let r = conn
                .call(Upload {
                    name: file.to_owned(),
                    data: data.into(),
                })
                .await
                .map_err(std::io::Error::other)?;
            println!("size: {}", r.size);
            println!("sha256: {}", r.sha256);
            Ok(())
        }
        ["fetch", addr, size] => {
            let size = size.parse().unwrap_or_else(|_| usage());
            let conn = Connection::builder()
                .router(Router::new())
                .config(config)
                .connect(addr)
                .await?;
            let r = conn
                .call(Download { size })
                .await
                .map_err(std::io::Error::other)?;
            println!("size: {}", r.data.len());
            println!("sha256: {}", hex_sha256(&r.data));
            Ok(())
        }
        _ => usage(),
    }
}

async fn serve(addr: &str, config: Config) -> std::io::Result<()> {
    let router = Router::new()
        .route(|u: Upload, _| async move {
            eprintln!("big_transfer: {} ({} bytes)", u.name, u.data.len());
            Ok(UploadResult {
                size: u.data.len() as i64,
                sha256: hex_sha256(&u.data),
            })
        })
        .route(|d: Download, _| async move {
            let data: Vec<u8> = (0..d.size.max(0)).map(|i| i as u8).collect();
            Ok(DownloadResult { data: data.into() })
        });
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on {}", listener.local_addr()?);
    amp::Server::new(router)
        .config(config)
        .serve(listener)
        .await;
    Ok(())
}
