//! The sockets a proxy joins, kept as what they are (TCP or UNIX) so two
//! TCP sockets can be joined without copying through user space.

use amp::Io;
use bytes::Bytes;
use std::io;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UnixStream};

use super::{splice, Outcome, DEFAULT_BUFFER};
use crate::conn::Target;

/// A connected socket.
#[derive(Debug)]
pub enum Stream {
    /// TCP (with `TCP_NODELAY`: a proxy writes on what it read at once).
    Tcp(TcpStream),
    /// A UNIX stream socket.
    Unix(UnixStream),
}

impl Stream {
    /// Connects to `target` within `timeout`.
    pub async fn connect(target: &Target, timeout: Duration) -> io::Result<Stream> {
        let open = async {
            Ok(match target {
                Target::Tcp(addr) => {
                    let s = TcpStream::connect(addr.as_str()).await?;
                    let _ = s.set_nodelay(true);
                    Stream::Tcp(s)
                }
                Target::Unix(path) => Stream::Unix(UnixStream::connect(path).await?),
            })
        };
        tokio::time::timeout(timeout, open).await.map_err(|_| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no connection within {timeout:?}"),
            )
        })?
    }

    /// The socket as any byte stream.
    pub fn boxed(self) -> Box<dyn Io> {
        match self {
            Stream::Tcp(s) => Box::new(s),
            Stream::Unix(s) => Box::new(s),
        }
    }
}

/// Joins `a` and `b` both ways (half-close aware), after writing `first`
/// to `b` (bytes already read from `a`). Two TCP sockets are joined with
/// `splice(2)` on Linux: no copy through user space.
pub async fn join(a: Stream, first: Bytes, b: Stream) -> Outcome {
    match (a, b) {
        #[cfg(target_os = "linux")]
        (Stream::Tcp(a), Stream::Tcp(mut b)) => {
            if let Err(e) = b.write_all(&first).await {
                return failed(super::Dir::AtoB, e);
            }
            let mut out = super::zero::splice_tcp(&a, &b).await;
            out.a_to_b += first.len() as u64;
            out
        }
        (a, b) => {
            let mut b = b.boxed();
            if let Err(e) = b.write_all(&first).await {
                return failed(super::Dir::AtoB, e);
            }
            let mut out = splice(&mut a.boxed(), &mut b, DEFAULT_BUFFER).await;
            out.a_to_b += first.len() as u64;
            out
        }
    }
}

fn failed(dir: super::Dir, e: io::Error) -> Outcome {
    Outcome {
        error: Some((dir, e)),
        ..Outcome::default()
    }
}
