//! Joining two byte streams both ways: what `amp gateway`, `amp tunnel` and
//! `amp tap` do with every connection they carry.
//!
//! [`splice`] copies A → B and B → A at once, in one task, through one
//! bounded buffer per direction. It is half-close aware: when one direction
//! reaches end of file, the other stream's write side is shut down (TCP
//! `shutdown(SHUT_WR)`, a TLS `close_notify`) and the other direction goes
//! on until it ends too, so a client that shuts its write side still gets
//! every byte of the answer. An I/O error in either direction ends both.
//! [`splice_observed`] also shows every chunk to an [`Observer`] before it
//! is written on (how `amp tap` watches the boxes go by).
//! [`stream::join`] joins two sockets, two TCP sockets on Linux with
//! `splice(2)`, without copying the bytes through user space.

pub mod listen;
pub mod stream;
#[cfg(target_os = "linux")]
mod zero;

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes buffered per direction by default: large enough that a bulk
/// transfer costs few system calls per megabyte (see BENCHMARKS.md).
pub const DEFAULT_BUFFER: usize = 256 * 1024;

/// Chunks copied in one direction per poll before yielding, so a stream
/// that is always ready cannot starve the other direction or other tasks.
const CHUNKS_PER_POLL: usize = 16;

/// Which way bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    /// From the first stream to the second (client to server: `->`).
    AtoB,
    /// From the second stream to the first (server to client: `<-`).
    BtoA,
}

impl Dir {
    /// The other way.
    pub fn reverse(self) -> Dir {
        match self {
            Dir::AtoB => Dir::BtoA,
            Dir::BtoA => Dir::AtoB,
        }
    }

    /// `->` or `<-`.
    pub fn arrow(self) -> &'static str {
        match self {
            Dir::AtoB => "->",
            Dir::BtoA => "<-",
        }
    }
}

/// Sees every chunk read, before it is written on.
pub trait Observer {
    /// `bytes` were read going `dir`.
    fn chunk(&mut self, dir: Dir, bytes: &[u8]);
}

/// An observer that looks at nothing.
pub struct Quiet;

impl Observer for Quiet {
    fn chunk(&mut self, _: Dir, _: &[u8]) {}
}

/// What a splice came to.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Bytes written A → B.
    pub a_to_b: u64,
    /// Bytes written B → A.
    pub b_to_a: u64,
    /// The I/O error that ended it, and the direction it happened in;
    /// `None` when both directions reached end of file.
    pub error: Option<(Dir, io::Error)>,
}

/// Copies `a` → `b` and `b` → `a` until both directions have ended (see
/// the module documentation), with `buffer` bytes per direction.
pub async fn splice<A, B>(a: &mut A, b: &mut B, buffer: usize) -> Outcome
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    splice_observed(a, b, buffer, &mut Quiet).await
}

/// [`splice`], showing every chunk to `observer` before writing it on.
pub async fn splice_observed<A, B, O>(
    a: &mut A,
    b: &mut B,
    buffer: usize,
    observer: &mut O,
) -> Outcome
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
    O: Observer + ?Sized,
{
    let mut up = Pipe::new(Dir::AtoB, buffer);
    let mut down = Pipe::new(Dir::BtoA, buffer);
    let error = poll_fn(|cx| {
        let up_done = match up.poll(cx, Pin::new(&mut *a), Pin::new(&mut *b), observer) {
            Poll::Ready(Err(e)) => return Poll::Ready(Some((Dir::AtoB, e))),
            Poll::Ready(Ok(())) => true,
            Poll::Pending => false,
        };
        let down_done = match down.poll(cx, Pin::new(&mut *b), Pin::new(&mut *a), observer) {
            Poll::Ready(Err(e)) => return Poll::Ready(Some((Dir::BtoA, e))),
            Poll::Ready(Ok(())) => true,
            Poll::Pending => false,
        };
        if up_done && down_done {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    })
    .await;
    Outcome {
        a_to_b: up.copied,
        b_to_a: down.copied,
        error,
    }
}

/// One direction: a buffer, how much of it is still to be written, and
/// whether the reader has ended and the writer been shut down.
struct Pipe {
    dir: Dir,
    buf: Box<[u8]>,
    /// `buf[pos..filled]` is read and still to be written.
    pos: usize,
    filled: usize,
    /// The reader reached end of file.
    eof: bool,
    /// The writer was shut down: this direction is over.
    done: bool,
    /// Bytes were written since the last flush.
    unflushed: bool,
    copied: u64,
}

impl Pipe {
    fn new(dir: Dir, size: usize) -> Pipe {
        Pipe {
            dir,
            buf: vec![0; size.max(1)].into_boxed_slice(),
            pos: 0,
            filled: 0,
            eof: false,
            done: false,
            unflushed: false,
            copied: 0,
        }
    }

    /// Moves bytes from `r` to `w` until either would block; `Ready(Ok)`
    /// once `r` has ended and `w` is shut down. Reads fill the buffer as
    /// far as the reader has bytes ready (a TLS stream gives one 16 KiB
    /// record per read) before they are written, in as few writes as
    /// possible.
    fn poll<R, W, O>(
        &mut self,
        cx: &mut Context<'_>,
        mut r: Pin<&mut R>,
        mut w: Pin<&mut W>,
        observer: &mut O,
    ) -> Poll<io::Result<()>>
    where
        R: AsyncRead + ?Sized,
        W: AsyncWrite + ?Sized,
        O: Observer + ?Sized,
    {
        if self.done {
            return Poll::Ready(Ok(()));
        }
        for _ in 0..CHUNKS_PER_POLL {
            while !self.eof && self.filled < self.buf.len() {
                let mut rb = ReadBuf::new(&mut self.buf[self.filled..]);
                match r.as_mut().poll_read(cx, &mut rb) {
                    Poll::Ready(Ok(())) => {
                        let n = rb.filled().len();
                        if n == 0 {
                            self.eof = true;
                        } else {
                            observer.chunk(self.dir, &self.buf[self.filled..self.filled + n]);
                            self.filled += n;
                        }
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => break,
                }
            }
            if self.pos == self.filled {
                if !self.eof {
                    // Nothing to read for now: push out what the writer may
                    // be holding (TLS records, say).
                    if self.unflushed {
                        ready!(w.as_mut().poll_flush(cx))?;
                        self.unflushed = false;
                    }
                    return Poll::Pending;
                }
                // Half-close: the peer of `w` sees end of file; the other
                // direction carries on.
                ready!(w.as_mut().poll_shutdown(cx))?;
                self.done = true;
                return Poll::Ready(Ok(()));
            }
            while self.pos < self.filled {
                let n = ready!(w.as_mut().poll_write(cx, &self.buf[self.pos..self.filled]))?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                self.pos += n;
                self.copied += n as u64;
                self.unflushed = true;
            }
            self.pos = 0;
            self.filled = 0;
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn both_ways_with_half_close() {
        let (mut client, mut a) = tokio::io::duplex(1024);
        let (mut b, mut server) = tokio::io::duplex(1024);
        let joined = tokio::spawn(async move { splice(&mut a, &mut b, 100).await });
        // The server echoes until end of file, then says goodbye.
        let echo = tokio::spawn(async move {
            let mut all = Vec::new();
            server.read_to_end(&mut all).await.unwrap();
            server.write_all(&all).await.unwrap();
            server.write_all(b"bye").await.unwrap();
            server.shutdown().await.unwrap();
        });
        let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        client.write_all(&data).await.unwrap();
        client.shutdown().await.unwrap();
        let mut back = Vec::new();
        client.read_to_end(&mut back).await.unwrap();
        assert_eq!(&back[..data.len()], &data[..]);
        assert_eq!(&back[data.len()..], b"bye");
        echo.await.unwrap();
        let outcome = joined.await.unwrap();
        assert!(outcome.error.is_none(), "{:?}", outcome.error);
        assert_eq!(outcome.a_to_b, 10_000);
        assert_eq!(outcome.b_to_a, 10_003);
    }

    #[tokio::test]
    async fn observer_sees_every_byte_in_order() {
        struct Collect(Vec<u8>, Vec<u8>);
        impl Observer for Collect {
            fn chunk(&mut self, dir: Dir, bytes: &[u8]) {
                match dir {
                    Dir::AtoB => self.0.extend_from_slice(bytes),
                    Dir::BtoA => self.1.extend_from_slice(bytes),
                }
            }
        }
        let (mut client, mut a) = tokio::io::duplex(64);
        let (mut b, mut server) = tokio::io::duplex(64);
        let joined = tokio::spawn(async move {
            let mut seen = Collect(Vec::new(), Vec::new());
            let outcome = splice_observed(&mut a, &mut b, 7, &mut seen).await;
            (outcome, seen)
        });
        client.write_all(b"request bytes").await.unwrap();
        client.shutdown().await.unwrap();
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.unwrap();
        server.write_all(b"answer").await.unwrap();
        drop(server);
        let mut back = Vec::new();
        client.read_to_end(&mut back).await.unwrap();
        let (outcome, seen) = joined.await.unwrap();
        assert_eq!(got, b"request bytes");
        assert_eq!(back, b"answer");
        assert_eq!(seen.0, b"request bytes");
        assert_eq!(seen.1, b"answer");
        assert!(outcome.error.is_none());
    }

    #[tokio::test]
    async fn an_error_ends_both_directions() {
        struct Broken;
        impl AsyncRead for Broken {
            fn poll_read(
                self: Pin<&mut Self>,
                _: &mut Context<'_>,
                _: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()))
            }
        }
        impl AsyncWrite for Broken {
            fn poll_write(
                self: Pin<&mut Self>,
                _: &mut Context<'_>,
                b: &[u8],
            ) -> Poll<io::Result<usize>> {
                Poll::Ready(Ok(b.len()))
            }
            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
            fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
        }
        let (_client, mut a) = tokio::io::duplex(64);
        let outcome = splice(&mut a, &mut Broken, 64).await;
        let (dir, e) = outcome.error.expect("the reset is reported");
        assert_eq!(dir, Dir::BtoA);
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
    }
}
