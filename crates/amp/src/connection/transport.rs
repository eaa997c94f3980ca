//! The transport under a connection: the stream as given, or TLS after
//! StartTLS (or a handshake in progress).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::switch::Io;
#[cfg(feature = "tls")]
use crate::tls::CertificateDer;

pub(crate) enum Transport<T> {
    Plain(T),
    #[cfg(feature = "tls")]
    Client(Box<tokio_rustls::client::TlsStream<T>>),
    #[cfg(feature = "tls")]
    Server(Box<tokio_rustls::server::TlsStream<T>>),
    #[cfg(feature = "tls")]
    Connecting(Box<tokio_rustls::Connect<T>>),
    #[cfg(feature = "tls")]
    Accepting(Box<tokio_rustls::Accept<T>>),
    /// Handed over by a switch, or closed.
    Gone,
}

/// How a TLS handshake in progress ended.
#[cfg(feature = "tls")]
pub(crate) enum Handshaken {
    Done(Vec<CertificateDer<'static>>),
    Failed(io::Error),
}

impl<T> Transport<T> {
    /// Whether a TLS handshake owns the transport (no AMP reads or writes).
    pub(crate) fn handshaking(&self) -> bool {
        #[cfg(feature = "tls")]
        {
            matches!(self, Transport::Connecting(_) | Transport::Accepting(_))
        }
        #[cfg(not(feature = "tls"))]
        {
            false
        }
    }

    /// Take the plain transport (to wrap it in TLS).
    #[cfg(feature = "tls")]
    pub(crate) fn take_plain(&mut self) -> Option<T> {
        match std::mem::replace(self, Transport::Gone) {
            Transport::Plain(t) => Some(t),
            other => {
                *self = other;
                None
            }
        }
    }
}

#[cfg(feature = "tls")]
impl<T: AsyncRead + AsyncWrite + Unpin> Transport<T> {
    /// Drive a handshake in progress; on success the transport is TLS.
    pub(crate) fn poll_handshake(&mut self, cx: &mut Context<'_>) -> Poll<Handshaken> {
        let done = match self {
            Transport::Connecting(c) => match std::future::Future::poll(Pin::new(&mut **c), cx) {
                Poll::Ready(Ok(s)) => Ok(Transport::Client(Box::new(s))),
                Poll::Ready(Err(e)) => Err(e),
                Poll::Pending => return Poll::Pending,
            },
            Transport::Accepting(a) => match std::future::Future::poll(Pin::new(&mut **a), cx) {
                Poll::Ready(Ok(s)) => Ok(Transport::Server(Box::new(s))),
                Poll::Ready(Err(e)) => Err(e),
                Poll::Pending => return Poll::Pending,
            },
            _ => Err(io::ErrorKind::NotConnected.into()),
        };
        Poll::Ready(match done {
            Ok(t) => {
                *self = t;
                Handshaken::Done(self.peer_certificates())
            }
            Err(e) => {
                *self = Transport::Gone;
                Handshaken::Failed(e)
            }
        })
    }

    fn peer_certificates(&self) -> Vec<CertificateDer<'static>> {
        let certs = match self {
            Transport::Client(s) => s.get_ref().1.peer_certificates(),
            Transport::Server(s) => s.get_ref().1.peer_certificates(),
            _ => None,
        };
        certs.map(|c| c.to_vec()).unwrap_or_default()
    }
}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Transport<T> {
    /// Hand the transport over (after a switch).
    pub(crate) fn into_io(self) -> Option<Box<dyn Io>> {
        match self {
            Transport::Plain(t) => Some(Box::new(t)),
            #[cfg(feature = "tls")]
            Transport::Client(s) => Some(s),
            #[cfg(feature = "tls")]
            Transport::Server(s) => Some(s),
            _ => None,
        }
    }
}

fn not_connected() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "transport busy or handed over")
}

/// Forward one `AsyncRead`/`AsyncWrite` method to whichever stream the
/// transport holds.
macro_rules! each {
    ($self:expr, $s:ident => $e:expr, $gone:expr) => {
        match $self.get_mut() {
            Transport::Plain($s) => $e,
            #[cfg(feature = "tls")]
            Transport::Client($s) => {
                let $s = &mut **$s;
                $e
            }
            #[cfg(feature = "tls")]
            Transport::Server($s) => {
                let $s = &mut **$s;
                $e
            }
            _ => $gone,
        }
    };
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for Transport<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        each!(self, s => Pin::new(s).poll_read(cx, buf), Poll::Ready(Err(not_connected())))
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Transport<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        each!(self, s => Pin::new(s).poll_write(cx, buf), Poll::Ready(Err(not_connected())))
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => Pin::new(s).poll_flush(cx), Poll::Ready(Ok(())))
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => Pin::new(s).poll_shutdown(cx), Poll::Ready(Ok(())))
    }
}
