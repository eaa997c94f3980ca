//! What `amp demo` shows of the wire: a stream wrapper that keeps a copy
//! of every byte each way, and readers that turn those bytes into AMP
//! boxes (in clear) or TLS records (after StartTLS).

use amp::{AmpBox, BoxDecoder};
use bytes::{Buf, BytesMut};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The bytes seen each way since they were last taken.
#[derive(Default)]
struct Seen {
    sent: BytesMut,
    received: BytesMut,
}

/// A stream that records what passes through it (the demo's own
/// connection, so nothing bounds it but the demo's few kilobytes).
pub struct Tap<S> {
    inner: S,
    seen: Arc<Mutex<Seen>>,
}

/// The reading end of a [`Tap`]: takes what it recorded.
#[derive(Clone)]
pub struct Recording(Arc<Mutex<Seen>>);

impl<S> Tap<S> {
    /// Wraps `inner`; the [`Recording`] gives what passes through.
    pub fn new(inner: S) -> (Tap<S>, Recording) {
        let seen = Arc::new(Mutex::new(Seen::default()));
        (
            Tap {
                inner,
                seen: seen.clone(),
            },
            Recording(seen),
        )
    }

    fn record(&self, f: impl FnOnce(&mut Seen)) {
        if let Ok(mut seen) = self.seen.lock() {
            f(&mut seen);
        }
    }
}

impl Recording {
    /// The bytes (sent, received) since the last call.
    pub fn take(&self) -> (BytesMut, BytesMut) {
        match self.0.lock() {
            Ok(mut seen) => (seen.sent.split(), seen.received.split()),
            Err(_) => Default::default(),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tap<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r {
            let new = &buf.filled()[before..];
            self.record(|s| s.received.extend_from_slice(new));
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tap<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            self.record(|s| s.sent.extend_from_slice(&buf[..n]));
        }
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Reads one direction of the wire: AMP boxes while in clear, TLS
/// records once TLS has started (partial ones kept for the next read).
pub struct Reader {
    buf: BytesMut,
    boxes: BoxDecoder,
    tls: bool,
}

/// What one direction carried.
pub enum Item {
    /// A whole AMP box.
    Box(AmpBox),
    /// A TLS record: its content type and length.
    Tls(u8, usize),
    /// Bytes that are neither (a switched protocol in clear, or a broken
    /// box).
    Raw(BytesMut),
}

impl Reader {
    /// A reader of clear AMP.
    pub fn new() -> Self {
        Reader {
            buf: BytesMut::new(),
            boxes: BoxDecoder::new(),
            tls: false,
        }
    }

    /// From now on the bytes are TLS records.
    pub fn start_tls(&mut self) {
        self.tls = true;
    }

    /// What `bytes` and the bytes left over from before carry: at most
    /// `max_boxes` boxes in clear (the rest waits), TLS records after
    /// [`Reader::start_tls`].
    pub fn read(&mut self, bytes: &[u8], max_boxes: usize) -> Vec<Item> {
        self.buf.extend_from_slice(bytes);
        let mut items = Vec::new();
        let mut boxes = 0;
        while !self.tls && boxes < max_boxes {
            match self.boxes.decode(&mut self.buf) {
                Ok(Some(b)) => {
                    items.push(Item::Box(b));
                    boxes += 1;
                }
                Ok(None) => break,
                Err(_) => {
                    items.push(Item::Raw(self.buf.split()));
                    self.boxes.reset();
                    break;
                }
            }
        }
        if self.tls {
            while let Some(record) = self.tls_record() {
                items.push(record);
            }
        }
        items
    }

    /// One whole TLS record off the buffer (header: type, version, length).
    fn tls_record(&mut self) -> Option<Item> {
        if self.buf.len() < 5 {
            return None;
        }
        let (kind, len) = (self.buf[0], u16::from_be_bytes([self.buf[3], self.buf[4]]));
        let total = 5 + len as usize;
        if self.buf.len() < total {
            return None;
        }
        self.buf.advance(total);
        Some(Item::Tls(kind, total))
    }
}

/// A box as `{key: value, ...}`, bytes shown with `amp::display_bytes`
/// (an empty value as `b''`).
pub fn show_box(b: &AmpBox) -> String {
    let show = |v: &[u8]| match v {
        [] => "b''".to_owned(),
        v => amp::display_bytes(v),
    };
    let entries: Vec<String> = b
        .iter()
        .map(|(k, v)| format!("{}: {}", show(k), show(v)))
        .collect();
    format!("{{{}}}", entries.join(", "))
}

/// A TLS record content type's name.
pub fn record_name(kind: u8) -> &'static str {
    match kind {
        20 => "change_cipher_spec",
        21 => "alert",
        22 => "handshake",
        23 => "application_data",
        _ => "unknown",
    }
}
