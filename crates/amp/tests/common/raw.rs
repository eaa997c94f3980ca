//! Scripted raw peers: write boxes by hand, read what the connection sent.

use amp::AmpBox;
use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt};

/// `Sum(a, b) -> total`, the command most tests use.
#[derive(amp::Command)]
#[amp(response = Total)]
pub struct Sum {
    pub a: i64,
    pub b: i64,
}

/// The answer to [`Sum`].
#[derive(amp::Record, Debug, PartialEq)]
pub struct Total {
    pub total: i64,
}

/// `Slow(seconds) -> slept`, as interop/conn_peer.py and
/// interop/tower_peer.py declare it: answered after `seconds`.
#[derive(amp::Command)]
#[amp(response = Slept)]
pub struct Slow {
    pub seconds: f64,
}

/// The answer to [`Slow`].
#[derive(amp::Record, Debug)]
pub struct Slept {
    pub slept: f64,
}

/// A protocol-switch command with no arguments.
#[derive(amp::Command)]
pub struct Switch;

/// The error a refusing switch responder sends.
#[derive(Debug, PartialEq, amp::AmpError)]
pub enum Refused {
    #[amp(code = "REFUSED")]
    Refused,
}

/// A switch command whose responder refuses.
#[derive(amp::Command)]
#[amp(error = Refused)]
pub struct Refuse;

/// A box's wire bytes.
pub fn encode(b: &AmpBox) -> Vec<u8> {
    let mut out = BytesMut::new();
    b.encode(&mut out).unwrap();
    out.to_vec()
}

/// Read exactly one box; fail if anything came after it in the same reads.
pub async fn read_box(r: &mut (impl AsyncRead + Unpin)) -> AmpBox {
    let (b, rest) = read_box_rest(r).await;
    assert!(rest.is_empty(), "the peer sent more than one box");
    b
}

/// Read one box; also return whatever came after it in the same reads.
pub async fn read_box_rest(r: &mut (impl AsyncRead + Unpin)) -> (AmpBox, Vec<u8>) {
    let mut buf = BytesMut::new();
    let mut dec = amp::BoxDecoder::new();
    loop {
        if let Some(b) = dec.decode(&mut buf).unwrap() {
            return (b, buf.to_vec());
        }
        let mut chunk = [0u8; 256];
        let n = r.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed before a whole box");
        buf.extend_from_slice(&chunk[..n]);
    }
}
