//! What a connection is carried over, and what it turns into after a
//! protocol switch (Twisted's `ProtocolSwitchCommand`).

use bytes::{Buf, Bytes};
use futures_util::future::BoxFuture;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::tls::CertificateDer;

/// Any byte stream a connection can run over: what [`Switched`] wraps.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// The byte stream of a connection after a protocol switch: the same
/// transport AMP ran over (still encrypted if StartTLS ran first), with
/// every byte AMP had already read past the switch box replayed first (the
/// idea of hyper's `Rewind`).
///
/// Read and write it as any tokio stream; dropping it closes the
/// connection.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use amp::{Command, Connection, Router, SwitchTo};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// #[derive(Command)]
/// struct Switch;
///
/// let (a, b) = tokio::io::duplex(4096);
/// // The responder turns the connection into a byte echo.
/// Connection::spawn(a, Router::new().route_switch(|_: Switch, _| async move {
///     Ok(SwitchTo::new(|mut stream| async move {
///         let (mut r, mut w) = tokio::io::split(&mut stream);
///         let _ = tokio::io::copy(&mut r, &mut w).await;
///     }))
/// }));
/// let client = Connection::spawn(b, Router::new());
/// let mut stream = client.switch(Switch).await.unwrap();
/// stream.write_all(b"no longer AMP").await.unwrap();
/// let mut echoed = [0; 13];
/// stream.read_exact(&mut echoed).await.unwrap();
/// assert_eq!(&echoed, b"no longer AMP");
/// # }
/// ```
pub struct Switched {
    io: Box<dyn Io>,
    prefix: Bytes,
    peer_certificates: Option<Vec<CertificateDer<'static>>>,
}

impl std::fmt::Debug for Switched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Switched")
            .field("buffered", &self.prefix.len())
            .field("tls", &self.peer_certificates.is_some())
            .finish()
    }
}

impl Switched {
    pub(crate) fn new(
        io: Box<dyn Io>,
        prefix: Bytes,
        peer_certificates: Option<Vec<CertificateDer<'static>>>,
    ) -> Self {
        Switched {
            io,
            prefix,
            peer_certificates,
        }
    }

    /// Bytes AMP read past the switch box that have not been read from this
    /// stream yet (the new protocol's first bytes).
    pub fn buffered(&self) -> &[u8] {
        &self.prefix
    }

    /// The peer's certificate chain if the connection did StartTLS before
    /// switching (`Some(empty)` if the peer presented none).
    pub fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        self.peer_certificates.as_deref()
    }

    /// The transport and the bytes already read from it, for protocols
    /// that want to do their own buffering (feed the bytes first).
    pub fn into_parts(self) -> (Box<dyn Io>, Bytes) {
        (self.io, self.prefix)
    }
}

impl AsyncRead for Switched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if !this.prefix.is_empty() {
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix[..n]);
            this.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Switched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

type Handler = Box<dyn FnOnce(Switched) -> BoxFuture<'static, ()> + Send>;

/// What a switch responder ([`Router::route_switch`](crate::Router::route_switch))
/// returns on success: the protocol to run on the connection once the
/// answer is written. It receives the stream as a [`Switched`]; the
/// connection's task runs it to completion.
pub struct SwitchTo {
    pub(crate) handler: Handler,
}

impl std::fmt::Debug for SwitchTo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SwitchTo(..)")
    }
}

impl SwitchTo {
    /// Switch to the protocol `f` implements.
    pub fn new<F, Fut>(f: F) -> Self
    where
        F: FnOnce(Switched) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        SwitchTo {
            handler: Box::new(move |s| Box::pin(f(s))),
        }
    }
}

/// The transport under a connection: plain, or TLS after StartTLS.
pub(crate) enum Stream<T> {
    Plain(T),
    Client(Box<tokio_rustls::client::TlsStream<T>>),
    Server(Box<tokio_rustls::server::TlsStream<T>>),
    Connecting(Box<tokio_rustls::Connect<T>>),
    Accepting(Box<tokio_rustls::Accept<T>>),
    /// Taken by a handshake being set up, or handed over by a switch.
    Gone,
}

/// How a TLS handshake in progress ended.
pub(crate) enum Handshaken<T> {
    Done(Stream<T>),
    Failed(io::Error),
}

impl<T> Stream<T> {
    /// Whether a TLS handshake is running (no AMP reads or writes).
    pub(crate) fn handshaking(&self) -> bool {
        matches!(self, Stream::Connecting(_) | Stream::Accepting(_))
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> Stream<T> {
    /// Drive a handshake in progress.
    pub(crate) fn poll_handshake(&mut self, cx: &mut Context<'_>) -> Poll<Handshaken<T>> {
        let r = match self {
            Stream::Connecting(c) => match Pin::new(&mut **c).poll(cx) {
                Poll::Ready(Ok(s)) => Handshaken::Done(Stream::Client(Box::new(s))),
                Poll::Ready(Err(e)) => Handshaken::Failed(e),
                Poll::Pending => return Poll::Pending,
            },
            Stream::Accepting(a) => match Pin::new(&mut **a).poll(cx) {
                Poll::Ready(Ok(s)) => Handshaken::Done(Stream::Server(Box::new(s))),
                Poll::Ready(Err(e)) => Handshaken::Failed(e),
                Poll::Pending => return Poll::Pending,
            },
            _ => return Poll::Ready(Handshaken::Failed(io::ErrorKind::NotConnected.into())),
        };
        *self = Stream::Gone;
        Poll::Ready(r)
    }

    /// The peer's certificates after a handshake.
    pub(crate) fn peer_certificates(&self) -> Option<Vec<CertificateDer<'static>>> {
        let certs = match self {
            Stream::Client(s) => s.get_ref().1.peer_certificates(),
            Stream::Server(s) => s.get_ref().1.peer_certificates(),
            _ => return None,
        };
        Some(certs.map(|c| c.to_vec()).unwrap_or_default())
    }

    /// Take the plain transport (to wrap it in TLS).
    pub(crate) fn take_plain(&mut self) -> Option<T> {
        match std::mem::replace(self, Stream::Gone) {
            Stream::Plain(t) => Some(t),
            other => {
                *self = other;
                None
            }
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream<T> {
    /// Hand the transport over (after a switch).
    pub(crate) fn into_io(self) -> Option<Box<dyn Io>> {
        match self {
            Stream::Plain(t) => Some(Box::new(t)),
            Stream::Client(s) => Some(s),
            Stream::Server(s) => Some(s),
            _ => None,
        }
    }
}

fn not_connected() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "transport busy or handed over")
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for Stream<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(t) => Pin::new(t).poll_read(cx, buf),
            Stream::Client(s) => Pin::new(&mut **s).poll_read(cx, buf),
            Stream::Server(s) => Pin::new(&mut **s).poll_read(cx, buf),
            _ => Poll::Ready(Err(not_connected())),
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Stream<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(t) => Pin::new(t).poll_write(cx, buf),
            Stream::Client(s) => Pin::new(&mut **s).poll_write(cx, buf),
            Stream::Server(s) => Pin::new(&mut **s).poll_write(cx, buf),
            _ => Poll::Ready(Err(not_connected())),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(t) => Pin::new(t).poll_flush(cx),
            Stream::Client(s) => Pin::new(&mut **s).poll_flush(cx),
            Stream::Server(s) => Pin::new(&mut **s).poll_flush(cx),
            _ => Poll::Ready(Ok(())),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(t) => Pin::new(t).poll_shutdown(cx),
            Stream::Client(s) => Pin::new(&mut **s).poll_shutdown(cx),
            Stream::Server(s) => Pin::new(&mut **s).poll_shutdown(cx),
            _ => Poll::Ready(Ok(())),
        }
    }
}
