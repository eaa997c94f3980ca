//! Linux: two TCP sockets joined with `splice(2)` through a pipe per
//! direction, so the bytes never enter user space (the kernel moves page
//! references from one socket to the pipe and from the pipe to the other
//! socket). Half-close aware, as [`splice`](super::splice) is.

use rustix::pipe::{fcntl_getpipe_size, fcntl_setpipe_size, pipe_with, PipeFlags, SpliceFlags};
use std::io;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::Interest;
use tokio::net::TcpStream;

use super::{Dir, Outcome};

/// The pipe size asked for: the most an unprivileged process may have by
/// default (`/proc/sys/fs/pipe-max-size`); the system's default (64 KiB)
/// is kept if refused.
const PIPE_SIZE: usize = 1 << 20;

/// Copies `a` → `b` and `b` → `a` with `splice(2)` until both directions
/// have ended or one fails.
pub async fn splice_tcp(a: &TcpStream, b: &TcpStream) -> Outcome {
    let (up_count, down_count) = (AtomicU64::new(0), AtomicU64::new(0));
    let up = pump(a, b, &up_count);
    let down = pump(b, a, &down_count);
    tokio::pin!(up, down);
    let (mut up_done, mut down_done) = (false, false);
    let error = loop {
        tokio::select! {
            r = &mut up, if !up_done => match r {
                Ok(()) => up_done = true,
                Err(e) => break Some((Dir::AtoB, e)),
            },
            r = &mut down, if !down_done => match r {
                Ok(()) => down_done = true,
                Err(e) => break Some((Dir::BtoA, e)),
            },
        }
        if up_done && down_done {
            break None;
        }
    };
    Outcome {
        a_to_b: up_count.load(Ordering::Relaxed),
        b_to_a: down_count.load(Ordering::Relaxed),
        error,
    }
}

/// One direction: `src` → pipe → `dst` until `src` ends, then shuts
/// `dst`'s write side.
async fn pump(src: &TcpStream, dst: &TcpStream, copied: &AtomicU64) -> io::Result<()> {
    let (pipe_out, pipe_in): (OwnedFd, OwnedFd) =
        pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
    let _ = fcntl_setpipe_size(&pipe_in, PIPE_SIZE);
    let room = fcntl_getpipe_size(&pipe_in)?;
    let flags = SpliceFlags::MOVE | SpliceFlags::NONBLOCK;
    loop {
        // The pipe is empty here: fill it with what the socket has.
        let mut in_pipe = src
            .async_io(Interest::READABLE, || {
                Ok(rustix::pipe::splice(
                    src, None, &pipe_in, None, room, flags,
                )?)
            })
            .await?;
        if in_pipe == 0 {
            rustix::net::shutdown(dst, rustix::net::Shutdown::Write)?;
            return Ok(());
        }
        while in_pipe > 0 {
            let n = dst
                .async_io(Interest::WRITABLE, || {
                    Ok(rustix::pipe::splice(
                        &pipe_out, None, dst, None, in_pipe, flags,
                    )?)
                })
                .await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            in_pipe -= n;
            copied.fetch_add(n as u64, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A connected pair of TCP sockets.
    async fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (b, _) = l.accept().await.unwrap();
        (a, b)
    }

    #[tokio::test]
    async fn both_ways_with_half_close_and_no_copy() {
        let (mut client, a) = pair().await;
        let (b, mut server) = pair().await;
        let joined = tokio::spawn(async move { splice_tcp(&a, &b).await });
        // The server answers only after end of file.
        let echo = tokio::spawn(async move {
            let mut all = Vec::new();
            server.read_to_end(&mut all).await.unwrap();
            server.write_all(&all).await.unwrap();
            server.shutdown().await.unwrap();
        });
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        client.write_all(&data).await.unwrap();
        client.shutdown().await.unwrap();
        let mut back = Vec::new();
        client.read_to_end(&mut back).await.unwrap();
        assert!(back == data, "every byte back, then end of file");
        echo.await.unwrap();
        let out = joined.await.unwrap();
        assert!(out.error.is_none(), "{:?}", out.error);
        assert_eq!((out.a_to_b, out.b_to_a), (3_000_000, 3_000_000));
    }
}
