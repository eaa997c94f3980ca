//! Connection behaviour against a scripted raw peer (no Twisted needed):
//! malformed input, loss with calls outstanding, error rules, panics.
//!
//! Files:
//! * `responders.rs`: requests served: answers, UNHANDLED, declared and
//!   fatal errors, UNKNOWN for failed responders, answerless requests;
//! * `protocol.rs`: malformed input closes the connection, never panics;
//! * `calls.rs`: calls: loss, local encode errors, answers out of order,
//!   error answers;
//! * `lifetime.rs`: handles, the driver and `close`;
//! * `backpressure.rs`: `max_in_flight` and the write high-water mark.

use amp::{AmpBox, AmpError, BoxDecoder, Command, Connection, Record, Router};
use bytes::BytesMut;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::time::timeout;

mod backpressure;
mod calls;
mod lifetime;
mod protocol;
mod responders;

#[derive(Command, Debug)]
#[amp(response = Total, error = SumError)]
struct Sum {
    a: i64,
    b: i64,
}

#[derive(Record, Debug, PartialEq)]
struct Total {
    total: i64,
}

#[derive(AmpError, Debug, PartialEq)]
enum SumError {
    #[amp(code = "NEGATIVE")]
    Negative(String),
    #[amp(code = "DOOM", fatal)]
    Doom,
}

#[derive(Command, Debug)]
#[amp(response = Total)]
struct Blob {
    data: Vec<u8>,
}

const LIMIT: Duration = Duration::from_secs(10);

fn sum_router() -> Router {
    Router::new().route(|s: Sum, _| async move {
        if s.a < 0 {
            return Err(SumError::Negative(format!("{} is negative", s.a)));
        }
        if s.a == 666 {
            return Err(SumError::Doom);
        }
        if s.a == 999 {
            panic!("responder blew up");
        }
        Ok(Total { total: s.a + s.b })
    })
}

/// A raw peer: write boxes, read boxes.
struct Raw {
    io: DuplexStream,
    buf: BytesMut,
    dec: BoxDecoder,
}

impl Raw {
    fn new(io: DuplexStream) -> Self {
        Raw {
            io,
            buf: BytesMut::new(),
            dec: BoxDecoder::new(),
        }
    }
    async fn send(&mut self, b: &AmpBox) {
        self.io.write_all(&b.to_bytes().unwrap()).await.unwrap();
    }
    async fn recv(&mut self) -> Option<AmpBox> {
        loop {
            if let Some(b) = self.dec.decode(&mut self.buf).unwrap() {
                return Some(b);
            }
            let n = timeout(LIMIT, self.io.read_buf(&mut self.buf))
                .await
                .expect("peer silent")
                .unwrap();
            if n == 0 {
                return None;
            }
        }
    }
    /// Read until EOF, returning the boxes seen.
    async fn until_eof(&mut self) -> Vec<AmpBox> {
        let mut out = Vec::new();
        while let Some(b) = self.recv().await {
            out.push(b);
        }
        out
    }
}

fn boxed(pairs: &[(&'static str, &'static str)]) -> AmpBox {
    pairs.iter().map(|&(k, v)| (k, v)).collect()
}

fn served() -> (Connection, Raw) {
    let (a, b) = tokio::io::duplex(1 << 20);
    (Connection::spawn(a, sum_router()), Raw::new(b))
}
