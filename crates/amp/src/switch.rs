//! What a connection is carried over, and what it turns into after a
//! protocol switch (Twisted's `ProtocolSwitchCommand`).

use bytes::{Buf, Bytes};
use futures_util::future::BoxFuture;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::budget::Holding;
#[cfg(feature = "tls")]
use crate::tls::CertificateDer;

/// Any byte stream a connection can run over: what [`Switched`] wraps.
/// Every `AsyncRead + AsyncWrite + Send + Unpin` type is one (the sealed
/// supertrait lets [`Switched::downcast`] find the concrete stream again).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use amp::{Connection, Io, Router};
///
/// // Any stream, boxed (to choose its type at run time, say).
/// let (a, _b) = tokio::io::duplex(4096);
/// let io: Box<dyn Io> = Box::new(a);
/// let conn = Connection::spawn(io, Router::new());
/// assert!(!conn.is_closed());
/// # }
/// ```
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + sealed::AsAny {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

pub(crate) mod sealed {
    use std::any::{Any, TypeId};

    /// The concrete type behind a `dyn Io` (opaque outside the crate).
    pub trait AsAny {
        /// The stream's type.
        fn stream_type(&self) -> TypeId
        where
            Self: 'static;
        /// The stream, to downcast.
        fn into_any(self: Box<Self>) -> Box<dyn Any + Send>
        where
            Self: 'static;
    }

    impl<T: Send> AsAny for T {
        fn stream_type(&self) -> TypeId
        where
            Self: 'static,
        {
            TypeId::of::<T>()
        }
        fn into_any(self: Box<Self>) -> Box<dyn Any + Send>
        where
            Self: 'static,
        {
            self
        }
    }
}

/// `io` as the `T` it is (looking inside a `Box<dyn Io>` given as the
/// stream); else `io` (or the stream inside it).
fn downcast_io<T: Io + 'static>(io: Box<dyn Io>) -> Result<T, Box<dyn Io>> {
    use sealed::AsAny;
    use std::any::TypeId;
    let found = AsAny::stream_type(&*io);
    if found == TypeId::of::<T>() {
        let any = AsAny::into_any(io);
        return Ok(*any.downcast::<T>().expect("checked: the same type"));
    }
    if found == TypeId::of::<Box<dyn Io>>() {
        let any = AsAny::into_any(io);
        let inner = *any
            .downcast::<Box<dyn Io>>()
            .expect("checked: the same type");
        return downcast_io(inner);
    }
    Err(io)
}

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
///
/// What it holds: the bytes already read ([`Switched::buffered`]), the
/// peer's certificates after StartTLS ([`Switched::peer_certificates`]),
/// and the transport itself ([`Switched::into_parts`]).
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
/// Connection::spawn(a, Router::new().route_switch(|_: Switch, _| async move {
///     Ok(SwitchTo::new(|mut stream| async move {
///         let mut byte = [0; 1];
///         stream.read_exact(&mut byte).await.unwrap();
///         stream.write_all(&byte).await.unwrap();
///     }))
/// }));
/// let client = Connection::spawn(b, Router::new());
/// let stream = client.switch(Switch).await.unwrap();
/// // The server writes nothing before we do, and there was no StartTLS.
/// assert!(stream.buffered().is_empty());
/// assert!(stream.peer_certificates().is_none());
/// let (mut io, first) = stream.into_parts();
/// assert!(first.is_empty());
/// io.write_all(b"x").await.unwrap();
/// let mut echoed = [0; 1];
/// io.read_exact(&mut echoed).await.unwrap();
/// assert_eq!(&echoed, b"x");
/// # }
/// ```
pub struct Switched(Box<Parts>);

/// What a [`Switched`] holds, boxed: every AMP connection keeps room for a
/// `Switched` in its shared state, and most never switch (8 bytes each
/// instead of 80).
struct Parts {
    io: Box<dyn Io>,
    prefix: Bytes,
    #[cfg(feature = "tls")]
    peer_certificates: Option<Vec<CertificateDer<'static>>>,
    /// On a server: notes when bytes last moved (the connection's idle
    /// clock, for closing the longest idle when out of room).
    watch: Option<Arc<Holding>>,
}

impl std::fmt::Debug for Switched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Switched")
            .field("buffered", &self.0.prefix.len())
            .finish_non_exhaustive()
    }
}

impl Switched {
    pub(crate) fn new(io: Box<dyn Io>, prefix: Bytes) -> Self {
        Switched(Box::new(Parts {
            io,
            prefix,
            #[cfg(feature = "tls")]
            peer_certificates: None,
            watch: None,
        }))
    }

    /// Note on `watch` when bytes move (a server's connection).
    pub(crate) fn watched(mut self, watch: Arc<Holding>) -> Self {
        self.0.watch = Some(watch);
        self
    }

    #[inline]
    fn moved<T>(&self, r: &Poll<io::Result<T>>, some: impl FnOnce(&T) -> bool) {
        if let (Some(w), Poll::Ready(Ok(n))) = (&self.0.watch, r) {
            if some(n) {
                w.touch();
            }
        }
    }

    #[cfg(feature = "tls")]
    pub(crate) fn with_peer_certificates(
        mut self,
        certs: Option<Vec<CertificateDer<'static>>>,
    ) -> Self {
        self.0.peer_certificates = certs;
        self
    }

    /// Bytes AMP read past the switch box that have not been read from this
    /// stream yet (the new protocol's first bytes).
    pub fn buffered(&self) -> &[u8] {
        &self.0.prefix
    }

    /// The peer's certificate chain if the connection did StartTLS before
    /// switching (`Some(empty)` if the peer presented none).
    #[cfg(feature = "tls")]
    pub fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        self.0.peer_certificates.as_deref()
    }

    /// The transport and the bytes already read from it, for protocols
    /// that want to do their own buffering (feed the bytes first).
    ///
    /// On a connection a [`Server`](crate::Server) accepted, the transport
    /// still keeps the connection's idle clock (see
    /// [`Server::evict_idle_after`](crate::Server::evict_idle_after)) as
    /// long as bytes move through it.
    pub fn into_parts(self) -> (Box<dyn Io>, Bytes) {
        let parts = *self.0;
        match parts.watch {
            Some(watch) => (
                Box::new(Switched(Box::new(Parts {
                    io: parts.io,
                    prefix: Bytes::new(),
                    #[cfg(feature = "tls")]
                    peer_certificates: None,
                    watch: Some(watch),
                }))),
                parts.prefix,
            ),
            None => (parts.io, parts.prefix),
        }
    }
}

impl Switched {
    /// The transport as the stream `T` it is, and the bytes already read
    /// from it (feed them first); if it is not a `T`, the stream back
    /// unchanged. For protocols that need the socket itself: to join two
    /// TCP sockets in the kernel (Linux `splice(2)`), to set socket
    /// options, to register it elsewhere.
    ///
    /// `T` is the stream the connection ran over: the
    /// [`TcpStream`](tokio::net::TcpStream) of a TCP connection a
    /// [`Server`](crate::Server) accepted or
    /// [`Connection::connect`](crate::Connection::connect) opened, the
    /// [`UnixFdStream`](crate::UnixFdStream) of a UNIX one, the stream
    /// given to [`Connection::spawn`](crate::Connection::spawn) or
    /// [`ConnectionBuilder::build`](crate::ConnectionBuilder::build) (or
    /// the stream inside a `Box<dyn Io>` given). After StartTLS the
    /// transport is a TLS stream, and no plain socket comes back.
    ///
    /// On a connection a [`Server`](crate::Server) accepted, the server
    /// sees no bytes move through a stream taken this way, so it counts
    /// the connection busy from then on: it is never closed for a new
    /// client (see [`Server::evict_idle_after`](crate::Server::evict_idle_after)).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// use amp::{Command, Connection, Router, Server, SwitchTo};
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// use tokio::net::TcpStream;
    ///
    /// #[derive(Command)]
    /// struct Raw;
    ///
    /// // The switched connection, as the TCP socket it is: told its peer's
    /// // address, and echoed.
    /// let router = Router::new().route_switch(|_: Raw, _| async move {
    ///     Ok(SwitchTo::new(|switched| async move {
    ///         let (mut socket, first) = switched
    ///             .downcast::<TcpStream>()
    ///             .expect("plain TCP, accepted by the server");
    ///         let peer = socket.peer_addr().unwrap().to_string();
    ///         socket.write_all(&first).await.unwrap();
    ///         socket.write_all(peer.as_bytes()).await.unwrap();
    ///     }))
    /// });
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let addr = listener.local_addr()?;
    /// tokio::spawn(Server::new(router).serve(listener));
    ///
    /// let conn = Connection::connect(addr).await?;
    /// let mut stream = conn.switch(Raw).await.unwrap();
    /// stream.shutdown().await?;
    /// let mut told = String::new();
    /// stream.read_to_string(&mut told).await?;
    /// let (socket, _) = stream.downcast::<TcpStream>().unwrap();
    /// assert_eq!(told, socket.local_addr()?.to_string());
    /// # Ok(()) }
    /// ```
    pub fn downcast<T: Io + 'static>(self) -> Result<(T, Bytes), Switched> {
        let parts = *self.0;
        match downcast_io::<T>(parts.io) {
            Ok(t) => {
                if let Some(watch) = &parts.watch {
                    // Its bytes no longer pass the watch: never idle.
                    watch.hand_off();
                }
                Ok((t, parts.prefix))
            }
            Err(io) => Err(Switched(Box::new(Parts { io, ..parts }))),
        }
    }
}

impl AsyncRead for Switched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self.0;
        if !this.prefix.is_empty() {
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix[..n]);
            this.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let r = Pin::new(&mut this.io).poll_read(cx, buf);
        self.moved(&r, |_| buf.filled().len() > before);
        r
    }
}

impl AsyncWrite for Switched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.0.io).poll_write(cx, buf);
        self.moved(&r, |&n| n > 0);
        r
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.0.io).poll_write_vectored(cx, bufs);
        self.moved(&r, |&n| n > 0);
        r
    }
    fn is_write_vectored(&self) -> bool {
        self.0.io.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0.io).poll_shutdown(cx)
    }
}

type Handler = Box<dyn FnOnce(Switched) -> BoxFuture<'static, ()> + Send>;

/// What a switch responder ([`Router::route_switch`](crate::Router::route_switch))
/// returns on success: the protocol to run on the connection once the
/// answer is written. It receives the stream as a [`Switched`]; the
/// connection's task runs it to completion.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use amp::{Command, Connection, Router, SwitchTo};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// #[derive(Command)]
/// struct Greet;
///
/// // After the answer, the connection carries one greeting, then closes.
/// let router = Router::new().route_switch(|_: Greet, _| async move {
///     Ok(SwitchTo::new(|mut stream| async move {
///         let _ = stream.write_all(b"hello").await;
///     }))
/// });
/// let (a, b) = tokio::io::duplex(4096);
/// Connection::spawn(a, router);
/// let mut stream = Connection::spawn(b, Router::new()).switch(Greet).await.unwrap();
/// let mut greeting = String::new();
/// stream.read_to_string(&mut greeting).await.unwrap();
/// assert_eq!(greeting, "hello");
/// # }
/// ```
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
