//! AMP over a pair of file descriptors (pipes, stdin/stdout).
//!
//! A [`Connection`](crate::Connection) runs over anything that is
//! `AsyncRead + AsyncWrite`. [`Pipes`] makes one of two descriptors, one
//! read and one written: the two ends of two pipes, a child process's
//! inherited descriptors, standard input and output.
//!
//! Twisted's process pool `ampoule` runs AMP over a child's descriptors 3
//! and 4: the parent writes to the child's descriptor 3 and reads from its
//! descriptor 4, so in the child:
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
//! // SAFETY: ampoule hands these two descriptors to the child, and nothing
//! // else in this process uses them.
//! let pipes = unsafe { amp::pipes::Pipes::from_raw_fds(3, 4)? };
//! let conn = amp::Connection::spawn(pipes, amp::Router::new());
//! conn.closed().await;
//! # Ok(()) }
//! ```

use std::fmt;
use std::io::{self, IoSlice};
use std::mem::ManuallyDrop;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use rustix::fs::FileType;
use rustix::net::{AddressFamily, SocketType};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::unix::pipe;
use tokio::net::{TcpStream, UnixStream};

/// AMP's byte stream over two file descriptors: one read, one written
/// (pipes, FIFOs, sockets, stdin/stdout).
///
/// How each descriptor is driven depends on what it is:
///
/// * a pipe or FIFO: non-blocking, through the tokio reactor
///   ([`tokio::net::unix::pipe`]);
/// * a stream socket (UNIX, TCP): non-blocking, through the tokio reactor;
/// * anything else (a terminal, a regular file, `/dev/null`, ...):
///   blocking reads and writes on tokio's blocking thread pool, as
///   [`tokio::fs::File`] does. This works everywhere but costs a thread
///   hand-off per operation, and a read waiting on a terminal cannot be
///   cancelled (the runtime waits for it when shutting down).
///
/// **Non-blocking mode** is set on the *open file description* of pipes and
/// sockets, which is shared with every other descriptor for the same open
/// pipe or socket, in this process and in others (for instance the parent
/// that passed it): a process that shares it and expects blocking I/O will
/// see `EAGAIN`. Terminals and files are left in blocking mode.
///
/// Both descriptors are marked close-on-exec, so that child processes do
/// not keep the pipes open behind our back.
///
/// Shutting the writer down ([`AsyncWrite::poll_shutdown`], which a
/// [`Connection`](crate::Connection) does when it closes) closes the
/// written descriptor (a socket is also `shutdown(SHUT_WR)`), so the peer
/// reads end-of-file, provided no other process holds the same pipe open.
/// Later writes fail with [`io::ErrorKind::BrokenPipe`].
///
/// # Example
///
/// An AMP connection over two pipes, one each way:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use amp::pipes::Pipes;
/// use amp::{AmpBox, Connection, Router};
///
/// let (a_read, b_write) = rustix::pipe::pipe()?;
/// let (b_read, a_write) = rustix::pipe::pipe()?;
/// let a = Pipes::new(a_read, a_write)?;
/// let b = Pipes::new(b_read, b_write)?;
///
/// let router = Router::new().route_raw("Echo", |req: AmpBox, _| async move {
///     let mut answer = AmpBox::new();
///     answer.insert("value", req.get_bytes("value").unwrap_or_default());
///     Ok(answer)
/// });
/// Connection::spawn(a, router);
/// let client = Connection::spawn(b, Router::new());
///
/// let mut args = AmpBox::new();
/// args.insert("value", "through two pipes");
/// let answer = client.call_raw("Echo", args).await.unwrap();
/// assert_eq!(answer.get("value").unwrap(), b"through two pipes");
/// # Ok(())
/// # }
/// ```
///
/// [`AsyncWrite::poll_shutdown`]: tokio::io::AsyncWrite::poll_shutdown
pub struct Pipes {
    read: Reader,
    /// `None` once shut down (the descriptor is closed).
    write: Option<Writer>,
}

impl fmt::Debug for Pipes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipes")
            .field("read", &self.read)
            .field("write", &self.write)
            .finish()
    }
}

#[derive(Debug)]
enum Reader {
    Pipe(pipe::Receiver),
    Unix(UnixStream),
    Tcp(TcpStream),
    Blocking(tokio::fs::File),
}

#[derive(Debug)]
enum Writer {
    Pipe(pipe::Sender),
    Unix(UnixStream),
    Tcp(TcpStream),
    Blocking(tokio::fs::File),
}

/// How a descriptor is driven.
enum Kind {
    Pipe,
    Unix,
    Tcp,
    Blocking,
}

fn kind(fd: BorrowedFd<'_>) -> io::Result<Kind> {
    let stat = rustix::fs::fstat(fd)?;
    Ok(match FileType::from_raw_mode(stat.st_mode) {
        FileType::Fifo => Kind::Pipe,
        FileType::Socket => {
            if rustix::net::sockopt::socket_type(fd)? != SocketType::STREAM {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "AMP needs a stream socket (SOCK_STREAM)",
                ));
            }
            let family = rustix::net::getsockname(fd)?.address_family();
            if family == AddressFamily::INET || family == AddressFamily::INET6 {
                Kind::Tcp
            } else {
                Kind::Unix
            }
        }
        _ => Kind::Blocking,
    })
}

fn set_cloexec(fd: BorrowedFd<'_>) -> io::Result<()> {
    let flags = rustix::io::fcntl_getfd(fd)?;
    if !flags.contains(rustix::io::FdFlags::CLOEXEC) {
        rustix::io::fcntl_setfd(fd, flags | rustix::io::FdFlags::CLOEXEC)?;
    }
    Ok(())
}

fn nonblocking_socket(fd: OwnedFd) -> io::Result<OwnedFd> {
    rustix::io::ioctl_fionbio(&fd, true)?;
    Ok(fd)
}

/// A descriptor for the blocking fallback, checked for the access it needs.
fn blocking_file(fd: OwnedFd, write: bool) -> io::Result<tokio::fs::File> {
    use rustix::fs::OFlags;
    let mode = rustix::fs::fcntl_getfl(&fd)? & OFlags::RWMODE;
    let ok = mode == OFlags::RDWR
        || mode
            == if write {
                OFlags::WRONLY
            } else {
                OFlags::RDONLY
            };
    if !ok {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            if write {
                "the descriptor to write is not open for writing"
            } else {
                "the descriptor to read is not open for reading"
            },
        ));
    }
    Ok(tokio::fs::File::from_std(std::fs::File::from(fd)))
}

impl Reader {
    fn new(fd: OwnedFd) -> io::Result<Reader> {
        Ok(match kind(fd.as_fd())? {
            Kind::Pipe => Reader::Pipe(pipe::Receiver::from_owned_fd(fd)?),
            Kind::Unix => Reader::Unix(UnixStream::from_std(nonblocking_socket(fd)?.into())?),
            Kind::Tcp => Reader::Tcp(TcpStream::from_std(nonblocking_socket(fd)?.into())?),
            Kind::Blocking => Reader::Blocking(blocking_file(fd, false)?),
        })
    }
}

impl Writer {
    fn new(fd: OwnedFd) -> io::Result<Writer> {
        Ok(match kind(fd.as_fd())? {
            Kind::Pipe => Writer::Pipe(pipe::Sender::from_owned_fd(fd)?),
            Kind::Unix => Writer::Unix(UnixStream::from_std(nonblocking_socket(fd)?.into())?),
            Kind::Tcp => Writer::Tcp(TcpStream::from_std(nonblocking_socket(fd)?.into())?),
            Kind::Blocking => Writer::Blocking(blocking_file(fd, true)?),
        })
    }
}

impl Pipes {
    /// AMP over `read` (read from) and `write` (written to).
    ///
    /// Each may be a pipe or FIFO, a stream socket, or anything else that
    /// `read(2)`/`write(2)` work on (see the type's documentation for how
    /// each is driven). `read` and `write` may be two descriptors for the
    /// same socket or FIFO.
    ///
    /// # Errors
    ///
    /// A descriptor that cannot be inspected (`fstat`), a pipe opened in
    /// the wrong direction, a socket that is not a stream socket.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (pipes and sockets are registered with its
    /// reactor).
    pub fn new(read: OwnedFd, write: OwnedFd) -> io::Result<Pipes> {
        set_cloexec(read.as_fd())?;
        set_cloexec(write.as_fd())?;
        Ok(Pipes {
            read: Reader::new(read)?,
            write: Some(Writer::new(write)?),
        })
    }

    /// AMP over inherited descriptors, for example `3` and `4` in a child
    /// process of Twisted's `ampoule` (which writes to the child's 3 and
    /// reads from its 4), or one socket for both (`read == write`; it is
    /// then duplicated so each side owns its own).
    ///
    /// # Safety
    ///
    /// `read` and `write` must be open file descriptors that nothing else
    /// in this process owns or will use or close: the [`Pipes`] takes
    /// ownership and closes them when it is dropped (or, for `write`, shut
    /// down). The same number may be given for both.
    ///
    /// Take inherited descriptors before anything in the process can open
    /// files, the tokio runtime included: if the parent did *not* pass
    /// them, the numbers are free, and the runtime's own epoll and wake-up
    /// descriptors may land on them; owning those would break the runtime.
    /// `examples/ampoule_worker.rs` checks that 3 and 4 are open before
    /// building its runtime.
    ///
    /// # Errors and panics
    ///
    /// As for [`Pipes::new`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// use amp::{pipes::Pipes, Command, Connection, Record, Router};
    /// use std::os::fd::IntoRawFd;
    ///
    /// #[derive(Command)]
    /// #[amp(response = Pong)]
    /// struct Ping;
    /// #[derive(Record)]
    /// struct Pong { ok: bool }
    ///
    /// // One socket for both directions, as an inherited descriptor would be.
    /// let (ours, theirs) = tokio::net::UnixStream::pair()?;
    /// let fd = theirs.into_std()?.into_raw_fd();
    /// // SAFETY: `fd` was just released by its owner; the Pipes owns it now.
    /// let pipes = unsafe { Pipes::from_raw_fds(fd, fd)? };
    /// Connection::spawn(pipes, Router::new().route(|_: Ping, _| async { Ok(Pong { ok: true }) }));
    /// let client = Connection::spawn(ours, Router::new());
    /// assert!(client.call(Ping).await.unwrap().ok);
    /// # Ok(()) }
    /// ```
    pub unsafe fn from_raw_fds(read: RawFd, write: RawFd) -> io::Result<Pipes> {
        // SAFETY: the caller gives us these descriptors.
        let write = unsafe { OwnedFd::from_raw_fd(write) };
        let read = if read == write.as_raw_fd() {
            rustix::io::fcntl_dupfd_cloexec(&write, 0)?
        } else {
            // SAFETY: as above, and distinct from `write`.
            unsafe { OwnedFd::from_raw_fd(read) }
        };
        Pipes::new(read, write)
    }

    /// AMP over standard input and standard output (descriptors 0 and 1).
    ///
    /// The [`Pipes`] takes them over: it works on duplicates of 0 and 1,
    /// and then points descriptor 0 at `/dev/null` and descriptor 1 at
    /// standard error (or `/dev/null` if descriptor 2 is closed). So nothing
    /// else reads the peer's bytes, a stray `println!` cannot corrupt the
    /// AMP stream (it goes to standard error), child processes do not
    /// inherit the connection, and shutting the writer down really does
    /// give the peer end-of-file.
    ///
    /// Flush [`std::io::stdout`] before calling this if anything was
    /// printed, and do not read standard input through
    /// [`std::io::stdin`] before (its buffer may hold bytes of the peer).
    ///
    /// ```
    /// # use std::os::fd::{FromRawFd, OwnedFd};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// use amp::{pipes::Pipes, Command, Connection, Record, Router};
    ///
    /// #[derive(Command)]
    /// #[amp(response = Pong)]
    /// struct Ping;
    /// #[derive(Record)]
    /// struct Pong { ok: bool }
    ///
    /// // As in a child process whose parent talks AMP over its standard
    /// // input and output (here: one end of a socket pair on 0 and 1).
    /// # let (parent_end, child_end) = std::os::unix::net::UnixStream::pair()?;
    /// # for n in [0, 1] {
    /// #     // SAFETY: 0 and 1 stay open (dup2 replaces them); never closed here.
    /// #     let mut fd = std::mem::ManuallyDrop::new(unsafe { OwnedFd::from_raw_fd(n) });
    /// #     rustix::io::dup2(&child_end, &mut fd)?;
    /// # }
    /// # drop(child_end);
    /// let router = Router::new().route(|_: Ping, _| async { Ok(Pong { ok: true }) });
    /// let _child = Connection::spawn(Pipes::stdio()?, router);
    /// # parent_end.set_nonblocking(true)?;
    /// # let parent = Connection::spawn(tokio::net::UnixStream::from_std(parent_end)?, Router::new());
    /// assert!(parent.call(Ping).await.unwrap().ok);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors and panics
    ///
    /// As for [`Pipes::new`]; also if descriptor 0 or 1 is closed.
    pub fn stdio() -> io::Result<Pipes> {
        // SAFETY: 0 and 1 are only borrowed here, to be duplicated; if
        // either is closed, `fcntl` fails with EBADF.
        let (stdin, stdout, stderr) = unsafe {
            (
                BorrowedFd::borrow_raw(0),
                BorrowedFd::borrow_raw(1),
                BorrowedFd::borrow_raw(2),
            )
        };
        let read = rustix::io::fcntl_dupfd_cloexec(stdin, 3)?;
        let write = rustix::io::fcntl_dupfd_cloexec(stdout, 3)?;
        let pipes = Pipes::new(read, write)?;

        let null = rustix::fs::open(
            "/dev/null",
            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )?;
        let out_target = match rustix::io::fcntl_getfd(stderr) {
            Ok(_) => stderr,
            Err(_) => null.as_fd(),
        };
        // SAFETY: descriptors 0 and 1 stay open (dup2 replaces them
        // atomically) and are never closed here: ManuallyDrop.
        let (mut fd0, mut fd1) = unsafe {
            (
                ManuallyDrop::new(OwnedFd::from_raw_fd(0)),
                ManuallyDrop::new(OwnedFd::from_raw_fd(1)),
            )
        };
        rustix::io::dup2(&null, &mut fd0)?;
        rustix::io::dup2(out_target, &mut fd1)?;
        Ok(pipes)
    }
}

fn write_closed() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "the write side of these pipes was shut down",
    )
}

impl AsyncRead for Pipes {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.read {
            Reader::Pipe(r) => Pin::new(r).poll_read(cx, buf),
            Reader::Unix(r) => Pin::new(r).poll_read(cx, buf),
            Reader::Tcp(r) => Pin::new(r).poll_read(cx, buf),
            Reader::Blocking(r) => Pin::new(r).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Pipes {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.write {
            Some(Writer::Pipe(w)) => Pin::new(w).poll_write(cx, buf),
            Some(Writer::Unix(w)) => Pin::new(w).poll_write(cx, buf),
            Some(Writer::Tcp(w)) => Pin::new(w).poll_write(cx, buf),
            Some(Writer::Blocking(w)) => Pin::new(w).poll_write(cx, buf),
            None => Poll::Ready(Err(write_closed())),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.write {
            Some(Writer::Pipe(w)) => Pin::new(w).poll_write_vectored(cx, bufs),
            Some(Writer::Unix(w)) => Pin::new(w).poll_write_vectored(cx, bufs),
            Some(Writer::Tcp(w)) => Pin::new(w).poll_write_vectored(cx, bufs),
            Some(Writer::Blocking(w)) => Pin::new(w).poll_write_vectored(cx, bufs),
            None => Poll::Ready(Err(write_closed())),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.write {
            Some(Writer::Pipe(w)) => w.is_write_vectored(),
            Some(Writer::Unix(w)) => w.is_write_vectored(),
            Some(Writer::Tcp(w)) => w.is_write_vectored(),
            Some(Writer::Blocking(w)) => w.is_write_vectored(),
            None => false,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.write {
            Some(Writer::Pipe(w)) => Pin::new(w).poll_flush(cx),
            Some(Writer::Unix(w)) => Pin::new(w).poll_flush(cx),
            Some(Writer::Tcp(w)) => Pin::new(w).poll_flush(cx),
            Some(Writer::Blocking(w)) => Pin::new(w).poll_flush(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    /// Flush, shut a socket's write half down, and close the written
    /// descriptor: the peer reads end-of-file.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = match &mut self.write {
            // A pipe's shutdown is closing it (below).
            Some(Writer::Pipe(_)) => Ok(()),
            // Shuts the socket down for writing even if the reader holds
            // another descriptor for it.
            Some(Writer::Unix(w)) => ready!(Pin::new(w).poll_shutdown(cx)),
            Some(Writer::Tcp(w)) => ready!(Pin::new(w).poll_shutdown(cx)),
            // Waits for the write in flight on the blocking pool.
            Some(Writer::Blocking(w)) => ready!(Pin::new(w).poll_shutdown(cx)),
            None => return Poll::Ready(Ok(())),
        };
        self.write = None; // closes the descriptor
        Poll::Ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::IntoRawFd;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Two `Pipes` connected by two OS pipes.
    fn connected() -> (Pipes, Pipes) {
        let (a_read, b_write) = rustix::pipe::pipe().unwrap();
        let (b_read, a_write) = rustix::pipe::pipe().unwrap();
        (
            Pipes::new(a_read, a_write).unwrap(),
            Pipes::new(b_read, b_write).unwrap(),
        )
    }

    #[tokio::test]
    async fn pipes_talk_both_ways() {
        let (mut a, mut b) = connected();
        assert!(matches!(a.read, Reader::Pipe(_)));
        assert!(matches!(a.write, Some(Writer::Pipe(_))));
        a.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        b.write_all(b"pong").await.unwrap();
        a.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");
    }

    #[tokio::test]
    async fn shutdown_gives_the_reader_eof() {
        let (mut a, mut b) = connected();
        a.write_all(b"last words").await.unwrap();
        a.shutdown().await.unwrap();
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"last words");
        let err = a.write_all(b"more").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        // Shutting down again has nothing to do.
        a.shutdown().await.unwrap();
        // The other direction still works.
        b.write_all(b"reply").await.unwrap();
        let mut buf = [0u8; 5];
        a.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"reply");
    }

    #[tokio::test]
    async fn descriptors_are_close_on_exec() {
        let (r, w) = rustix::pipe::pipe().unwrap();
        for fd in [&r, &w] {
            let flags = rustix::io::fcntl_getfd(fd).unwrap();
            assert!(!flags.contains(rustix::io::FdFlags::CLOEXEC));
        }
        let (raw_r, raw_w) = (r.into_raw_fd(), w.into_raw_fd());
        let pipes = unsafe { Pipes::from_raw_fds(raw_r, raw_w) }.unwrap();
        for raw in [raw_r, raw_w] {
            let fd = unsafe { BorrowedFd::borrow_raw(raw) };
            let flags = rustix::io::fcntl_getfd(fd).unwrap();
            assert!(flags.contains(rustix::io::FdFlags::CLOEXEC));
        }
        drop(pipes);
    }

    #[tokio::test]
    async fn a_socketpair_works_and_shutdown_reaches_the_peer() {
        let (x, y) = std::os::unix::net::UnixStream::pair().unwrap();
        // One socket for both directions on each side: the same number
        // twice for one, two descriptors for the other.
        let raw = x.into_raw_fd();
        let mut a = unsafe { Pipes::from_raw_fds(raw, raw) }.unwrap();
        let y2 = y.try_clone().unwrap();
        let mut b = Pipes::new(y.into(), y2.into()).unwrap();
        assert!(matches!(a.read, Reader::Unix(_)));
        a.write_all(b"over a socket").await.unwrap();
        let mut buf = [0u8; 13];
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"over a socket");
        b.write_all(b"back").await.unwrap();
        a.read_exact(&mut buf[..4]).await.unwrap();
        assert_eq!(&buf[..4], b"back");
        // `a` still holds a descriptor for its socket (the read side), so
        // only shutdown(SHUT_WR) can give `b` its end-of-file.
        a.shutdown().await.unwrap();
        assert_eq!(b.read(&mut buf).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn dev_null_reads_eof_through_the_blocking_fallback() {
        let open = |write: bool| {
            std::fs::OpenOptions::new()
                .read(!write)
                .write(write)
                .open("/dev/null")
                .unwrap()
        };
        let err = Pipes::new(open(true).into(), open(true).into()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let mut p = Pipes::new(open(false).into(), open(true).into()).unwrap();
        assert!(matches!(p.read, Reader::Blocking(_)));
        let mut buf = [0u8; 8];
        assert_eq!(p.read(&mut buf).await.unwrap(), 0);
        p.write_all(b"into the void").await.unwrap();
        p.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn regular_files_work_through_the_blocking_fallback() {
        let mut input = tempfile::tempfile().unwrap();
        input.write_all(b"recorded").unwrap();
        std::io::Seek::rewind(&mut input).unwrap();
        let output = tempfile::NamedTempFile::new().unwrap();
        let mut p = Pipes::new(input.into(), output.reopen().unwrap().into()).unwrap();
        let mut got = Vec::new();
        p.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"recorded");
        p.write_all(b"written").await.unwrap();
        p.shutdown().await.unwrap();
        assert_eq!(std::fs::read(output.path()).unwrap(), b"written");
    }

    #[tokio::test]
    async fn a_datagram_socket_is_refused() {
        let (x, _y) = std::os::unix::net::UnixDatagram::pair().unwrap();
        let x2 = x.try_clone().unwrap();
        let err = Pipes::new(x.into(), x2.into()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[tokio::test]
    async fn a_pipe_end_in_the_wrong_direction_is_refused() {
        let (r, w) = rustix::pipe::pipe().unwrap();
        assert!(Pipes::new(w, r).is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn megabytes_both_ways_at_once() {
        let (a, b) = connected();
        let data: Vec<u8> = (0..4_000_000u32).map(|i| (i % 253) as u8).collect();
        let data = std::sync::Arc::new(data);
        let run = |p: Pipes| {
            let data = data.clone();
            tokio::spawn(async move {
                let (mut rd, mut wr) = tokio::io::split(p);
                let send = async {
                    wr.write_all(&data).await.unwrap();
                    wr.shutdown().await.unwrap();
                };
                let recv = async {
                    let mut got = Vec::new();
                    rd.read_to_end(&mut got).await.unwrap();
                    got
                };
                tokio::join!(send, recv).1
            })
        };
        let (x, y) = (run(a), run(b));
        let (x, y) = (x.await.unwrap(), y.await.unwrap());
        assert!(x == *data && y == *data);
    }

    #[tokio::test]
    async fn an_amp_connection_over_pipes() {
        use crate::{AmpBox, Connection, Router};
        let (a, b) = connected();
        let router = Router::new().route_raw("Echo", |req: AmpBox, _| async move {
            let mut answer = AmpBox::new();
            answer.insert("value", req.get_bytes("value").unwrap_or_default());
            Ok(answer)
        });
        let server = Connection::spawn(a, router);
        let client = Connection::spawn(b, Router::new());
        for i in 0..100 {
            let mut args = AmpBox::new();
            args.insert("value", format!("hello {i}"));
            let answer = client.call_raw("Echo", args).await.unwrap();
            assert_eq!(
                answer.get("value").unwrap(),
                format!("hello {i}").as_bytes()
            );
        }
        client.close().await;
        server.closed().await;
    }
}
