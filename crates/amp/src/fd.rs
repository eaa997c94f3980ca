//! Descriptor passing over UNIX sockets (SCM_RIGHTS).
//!
//! Twisted's `amp.Descriptor` sends a file descriptor *beside* the bytes of
//! the stream: the descriptor travels as `SCM_RIGHTS` ancillary data of a
//! `sendmsg`, and the box carries an ordinal. Each side numbers the
//! descriptors it sends from 0 in order, and those it receives from 0 in
//! order, independently.
//!
//! [`UnixFdStream`] is the transport: a [`tokio::net::UnixStream`] whose
//! reads use `recvmsg` and whose writes use `sendmsg` when descriptors are
//! waiting. [`FdChannel`] is the bookkeeping shared between the transport
//! and whoever encodes and decodes arguments (the AMP connection and its
//! callers):
//!
//! * **Sending.** [`FdChannel::queue`] duplicates a descriptor, puts the
//!   duplicate at the back of the send queue and returns its ordinal, all
//!   under one lock, so ordinal order is queue order is send order. Every
//!   write of the stream attaches *all* queued descriptors (at most 253, the
//!   kernel's `SCM_MAX_FD`, per `sendmsg`) to the bytes it writes. Hence the
//!   ordering guarantee AMP relies on: **a descriptor queued before some
//!   bytes are handed to the stream is sent no later than those bytes.**
//!   Callers may therefore queue from any task (while encoding a box in
//!   their own task) and hand the encoded box to the task that writes: by
//!   the time the box's bytes are written, its descriptors are queued, and
//!   they go with that write or an earlier one.
//!
//!   A descriptor must travel with at least one byte of data. When more than
//!   253 are queued, a write sends only one byte with the first 253 so that
//!   the rest can go with the following bytes of the same buffer; a buffer
//!   of `n` bytes carries up to `253 * n` descriptors. (A box always has more
//!   bytes than it has descriptors.) An empty write sends nothing and leaves
//!   the queue alone; descriptors still queued when the stream is shut down
//!   or dropped are closed, never sent.
//!
//! * **Receiving.** Every read is a `recvmsg` with room for 253
//!   descriptors (the most one `sendmsg` can carry; Linux never merges the
//!   descriptors of two `sendmsg`s into one `recvmsg`). The descriptors it
//!   brings (close-on-exec) are registered under the next receive ordinals
//!   *before* the read returns its bytes, so when a box naming ordinal `n` is
//!   decoded, descriptor `n` is already there for [`FdChannel::take`]. If the
//!   kernel reports truncated control data, descriptors were lost and the
//!   ordinals can no longer be trusted: the read fails, and so does every
//!   later read. Received descriptors nobody takes stay in the channel until
//!   it is dropped, and are closed then.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll};

use rustix::net::{
    recvmsg, sendmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags,
    SendAncillaryBuffer, SendAncillaryMessage, SendFlags,
};
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::UnixStream;

use amp_wire::{DecodeError, Descriptors, EncodeError};

/// The most descriptors one `sendmsg` may carry on Linux (`SCM_MAX_FD`).
const SCM_MAX_FD: usize = 253;

/// Control buffer size for [`SCM_MAX_FD`] descriptors.
const CONTROL_SPACE: usize = rustix::cmsg_space!(ScmRights(SCM_MAX_FD));

/// A UNIX stream socket that carries file descriptors beside the bytes.
///
/// Reads register the descriptors that arrive with the bytes in the
/// stream's descriptor channel; writes send the descriptors queued in it.
/// [`ConnectionBuilder::spawn_unix`](crate::ConnectionBuilder::spawn_unix) runs AMP over
/// one, so that [`Descriptor`](crate::Descriptor) arguments work.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// use amp::{Command, Connection, Descriptor, Driver, Record, Router, UnixFdStream};
/// use std::io::{Read, Seek, Write};
///
/// /// Read the file whose descriptor comes with the request.
/// #[derive(Command)]
/// #[amp(response = Text)]
/// struct ReadFile { file: Descriptor }
/// #[derive(Record)]
/// struct Text { text: String }
///
/// let router = Router::new().route(|r: ReadFile, _| async move {
///     let mut text = String::new();
///     std::fs::File::from(r.file.0).read_to_string(&mut text).unwrap();
///     Ok(Text { text })
/// });
/// let (a, b) = tokio::net::UnixStream::pair()?;
/// let (_server, driver): (Connection, Driver<UnixFdStream>) =
///     Connection::builder().router(router).build_unix(a);
/// tokio::spawn(driver);
/// let client = Connection::builder().spawn_unix(b);
///
/// let mut file = tempfile::tempfile()?;
/// file.write_all(b"sent beside the bytes")?;
/// file.rewind()?;
/// let got = client.call(ReadFile { file: Descriptor(file.into()) }).await.unwrap();
/// assert_eq!(got.text, "sent beside the bytes");
/// # Ok(()) }
/// ```
pub struct UnixFdStream {
    stream: UnixStream,
    chan: Arc<FdChannel>,
    /// Descriptors were lost on receive: the stream is unusable for reading.
    broken: bool,
}

impl fmt::Debug for UnixFdStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixFdStream")
            .field("stream", &self.stream)
            .field("channel", &self.chan)
            .finish()
    }
}

impl UnixFdStream {
    /// Wrap a connected UNIX stream socket.
    pub fn new(stream: UnixStream) -> Self {
        UnixFdStream {
            stream,
            chan: Arc::new(FdChannel::new()),
            broken: false,
        }
    }

    /// Connect to the UNIX socket at `path`.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<Self> {
        Ok(UnixFdStream::new(UnixStream::connect(path).await?))
    }

    /// The socket underneath.
    pub fn get_ref(&self) -> &UnixStream {
        &self.stream
    }

    /// The descriptor channel of this stream, to share with whoever encodes
    /// and decodes `Descriptor` arguments.
    pub(crate) fn channel(&self) -> Arc<FdChannel> {
        self.chan.clone()
    }

    /// One `recvmsg` into `buf`, registering the descriptors it brings.
    /// `Ok(None)`: control data was truncated, descriptors were lost.
    fn recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        let mut space = [MaybeUninit::<u8>::uninit(); CONTROL_SPACE];
        let mut control = RecvAncillaryBuffer::new(&mut space);
        let msg = recvmsg(
            &self.stream,
            &mut [IoSliceMut::new(buf)],
            &mut control,
            RecvFlags::CMSG_CLOEXEC,
        )?;
        let mut fds = Vec::new();
        for message in control.drain() {
            if let RecvAncillaryMessage::ScmRights(received) = message {
                fds.extend(received);
            }
        }
        if msg.flags.contains(ReturnFlags::CTRUNC) {
            // `fds` (what did fit) is closed on return.
            return Ok(None);
        }
        if !fds.is_empty() {
            self.chan.received(fds)?;
        }
        Ok(Some(msg.bytes))
    }

    /// One `sendmsg` of `bufs` with queued descriptors attached, or a plain
    /// write if none are queued.
    fn poll_send(&self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        loop {
            if self.chan.lock().outgoing.is_empty() {
                return self.plain_write(cx, bufs);
            }
            let Some(first) = bufs.iter().find(|b| !b.is_empty()) else {
                // Descriptors need at least one byte to travel with; they
                // wait for the next write.
                return Poll::Ready(Ok(0));
            };
            ready!(self.stream.poll_write_ready(cx))?;
            let mut state = self.chan.lock();
            let queued = state.outgoing.len();
            if queued == 0 {
                // Cannot happen (only writes take from the queue), but a
                // plain write is right if it does.
                continue;
            }
            let count = queued.min(SCM_MAX_FD);
            let result = {
                let fds: Vec<BorrowedFd<'_>> = state
                    .outgoing
                    .iter()
                    .take(count)
                    .map(|fd| fd.as_fd())
                    .collect();
                let mut space = [MaybeUninit::<u8>::uninit(); CONTROL_SPACE];
                let mut control = SendAncillaryBuffer::new(&mut space);
                let pushed = control.push(SendAncillaryMessage::ScmRights(&fds));
                debug_assert!(pushed, "control buffer sized for SCM_MAX_FD descriptors");
                // More queued than one message carries: send one byte now so
                // the rest of this buffer can carry the rest.
                let one = [IoSlice::new(&first[..1])];
                let data = if queued > SCM_MAX_FD { &one[..] } else { bufs };
                self.stream.try_io(Interest::WRITABLE, || {
                    Ok(sendmsg(
                        &self.stream,
                        data,
                        &mut control,
                        SendFlags::NOSIGNAL,
                    )?)
                })
            };
            match result {
                Ok(written) => {
                    // The kernel now holds its own references; close ours.
                    state.outgoing.drain(..count);
                    return Poll::Ready(Ok(written));
                }
                // Readiness was cleared by `try_io`: poll again to register.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    fn plain_write(&self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.stream.poll_write_ready(cx))?;
            match self.stream.try_write_vectored(bufs) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }
}

fn descriptors_lost() -> io::Error {
    io::Error::other(format!(
        "file descriptors were lost: control data was truncated (more than \
         {SCM_MAX_FD} descriptors in one message?); descriptor ordinals can no \
         longer be trusted"
    ))
}

impl AsFd for UnixFdStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.stream.as_fd()
    }
}

impl AsRawFd for UnixFdStream {
    fn as_raw_fd(&self) -> RawFd {
        self.stream.as_raw_fd()
    }
}

impl AsyncRead for UnixFdStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.broken {
            return Poll::Ready(Err(descriptors_lost()));
        }
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            ready!(self.stream.poll_read_ready(cx))?;
            // SAFETY: `recvmsg` only writes into the buffer (never reads
            // it), and only the `n` bytes it reports are marked initialized
            // (tokio's own socket reads fill uninitialized buffers the same
            // way).
            let unfilled =
                unsafe { &mut *(buf.unfilled_mut() as *mut [MaybeUninit<u8>] as *mut [u8]) };
            match self
                .stream
                .try_io(Interest::READABLE, || self.recv(unfilled))
            {
                Ok(Some(n)) => {
                    // SAFETY: the kernel wrote `n` bytes.
                    unsafe { buf.assume_init(n) };
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(None) => {
                    self.broken = true;
                    return Poll::Ready(Err(descriptors_lost()));
                }
                // Readiness was cleared by `try_io`: poll again to register.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for UnixFdStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_send(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_send(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The descriptors of one [`UnixFdStream`]: those queued to send and those
/// received, with their ordinals. Shared (in an `Arc`) by the stream and the
/// AMP connection; `&FdChannel` implements [`Descriptors`].
pub(crate) struct FdChannel {
    state: Mutex<ChannelState>,
}

#[derive(Default)]
struct ChannelState {
    /// Duplicates waiting to be sent, oldest first.
    outgoing: VecDeque<OwnedFd>,
    /// Ordinal of the next descriptor queued.
    next_send: u64,
    /// Received and not yet taken, by ordinal.
    received: HashMap<u64, OwnedFd>,
    /// Ordinal of the next descriptor received.
    next_receive: u64,
}

impl fmt::Debug for FdChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("FdChannel")
            .field("queued", &state.outgoing.len())
            .field("next_send", &state.next_send)
            .field("received_pending", &state.received.len())
            .field("next_receive", &state.next_receive)
            .finish()
    }
}

impl FdChannel {
    fn new() -> Self {
        FdChannel {
            state: Mutex::new(ChannelState::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ChannelState> {
        // The state is consistent after every statement: poison is harmless.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queue a duplicate (close-on-exec) of `fd` to travel with the next
    /// write, and return its send ordinal.
    pub(crate) fn queue(&self, fd: BorrowedFd<'_>) -> io::Result<u64> {
        let dup = fd.try_clone_to_owned()?;
        let mut state = self.lock();
        let ordinal = state.next_send;
        state.next_send += 1;
        state.outgoing.push_back(dup);
        Ok(ordinal)
    }

    /// Take the descriptor received with `ordinal`, if it has arrived and
    /// was not taken yet.
    pub(crate) fn take(&self, ordinal: u64) -> Option<OwnedFd> {
        self.lock().received.remove(&ordinal)
    }

    /// How many received descriptors are waiting to be taken.
    #[allow(dead_code)] // tests and diagnostics
    pub(crate) fn received_pending(&self) -> usize {
        self.lock().received.len()
    }

    /// Register descriptors received together, in order. A peer that
    /// sends descriptors no box claims would fill this process's descriptor
    /// table: past [`MAX_UNCLAIMED`] waiting, reading fails (and the
    /// connection ends) instead.
    fn received(&self, fds: Vec<OwnedFd>) -> io::Result<()> {
        let mut state = self.lock();
        if state.received.len() + fds.len() > MAX_UNCLAIMED {
            return Err(io::Error::other(format!(
                "the peer sent more than {MAX_UNCLAIMED} descriptors that no box claimed"
            )));
        }
        for fd in fds {
            let ordinal = state.next_receive;
            state.next_receive += 1;
            state.received.insert(ordinal, fd);
        }
        Ok(())
    }
}

/// Received descriptors that may wait for their box at once.
pub(crate) const MAX_UNCLAIMED: usize = 1024;

impl Descriptors for &FdChannel {
    fn send(&mut self, fd: BorrowedFd<'_>) -> Result<u64, EncodeError> {
        self.queue(fd)
            .map_err(|e| EncodeError::invalid(format!("cannot duplicate the descriptor: {e}")))
    }

    fn receive(&mut self, ordinal: u64) -> Result<OwnedFd, DecodeError> {
        self.take(ordinal).ok_or_else(|| {
            DecodeError::invalid(if ordinal >= self.lock().next_receive {
                format!("descriptor ordinal {ordinal} was never received")
            } else {
                format!("descriptor ordinal {ordinal} was already taken")
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn pair() -> (UnixFdStream, UnixFdStream) {
        let (a, b) = UnixStream::pair().unwrap();
        (UnixFdStream::new(a), UnixFdStream::new(b))
    }

    fn pipe() -> (std::fs::File, std::fs::File) {
        let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
        (r.into(), w.into())
    }

    async fn read_exact(s: &mut UnixFdStream, n: usize) -> Vec<u8> {
        let mut buf = vec![0; n];
        s.read_exact(&mut buf).await.unwrap();
        buf
    }

    #[tokio::test]
    async fn a_pipe_crosses_the_socket() {
        let (mut a, mut b) = pair();
        let (mut r, w) = pipe();
        assert_eq!(a.channel().queue(w.as_fd()).unwrap(), 0);
        drop(w);
        a.write_all(b"x").await.unwrap();
        assert_eq!(read_exact(&mut b, 1).await, b"x");
        let fd = b.channel().take(0).expect("descriptor 0 arrived");
        let flags = rustix::io::fcntl_getfd(&fd).unwrap();
        assert!(flags.contains(rustix::io::FdFlags::CLOEXEC));
        std::fs::File::from(fd).write_all(b"through").unwrap();
        let mut got = String::new();
        r.read_to_string(&mut got).unwrap(); // every write end is closed now
        assert_eq!(got, "through");
    }

    #[tokio::test]
    async fn ordinals_count_from_zero_on_each_side() {
        let (mut a, mut b) = pair();
        let (ca, cb) = (a.channel(), b.channel());
        let (_r, w) = pipe();
        for i in 0..3 {
            assert_eq!(ca.queue(w.as_fd()).unwrap(), i);
        }
        for i in 0..2 {
            assert_eq!(cb.queue(w.as_fd()).unwrap(), i);
        }
        let (x, y) = tokio::join!(
            async {
                a.write_all(b"abc").await.unwrap();
                read_exact(&mut a, 2).await
            },
            async {
                b.write_all(b"de").await.unwrap();
                read_exact(&mut b, 3).await
            }
        );
        assert_eq!((x.as_slice(), y.as_slice()), (&b"de"[..], &b"abc"[..]));
        assert_eq!((ca.received_pending(), cb.received_pending()), (2, 3));
        assert!(ca.take(0).is_some() && ca.take(1).is_some() && ca.take(2).is_none());
        assert!((0..3).all(|i| cb.take(i).is_some()));
        assert_eq!(ca.queue(w.as_fd()).unwrap(), 3);
    }

    #[tokio::test]
    async fn three_hundred_at_once_arrive_in_order() {
        let (mut a, mut b) = pair();
        let pipes: Vec<_> = (0..3).map(|_| pipe()).collect();
        let ca = a.channel();
        for i in 0..300u64 {
            assert_eq!(ca.queue(pipes[i as usize % 3].1.as_fd()).unwrap(), i);
        }
        a.write_all(b"0123456789").await.unwrap();
        assert_eq!(ca.lock().outgoing.len(), 0, "all sent with the ten bytes");
        let mut first = [0u8; 10];
        let n = b.read(&mut first).await.unwrap();
        assert!(n >= 1);
        let cb = b.channel();
        assert!(cb.received_pending() <= SCM_MAX_FD, "more than one message");
        read_exact(&mut b, 10 - n).await;
        assert_eq!(cb.received_pending(), 300);
        for i in 0..300u64 {
            let mut f = std::fs::File::from(cb.take(i).unwrap());
            f.write_all(&[(i % 256) as u8]).unwrap();
        }
        for (j, (r, _)) in pipes.iter().enumerate() {
            let mut got = [0u8; 100];
            (&*r).read_exact(&mut got).unwrap();
            let want: Vec<u8> = (0..300u64)
                .filter(|i| *i as usize % 3 == j)
                .map(|i| (i % 256) as u8)
                .collect();
            assert_eq!(got.as_slice(), want.as_slice());
        }
    }

    #[tokio::test]
    async fn a_flood_of_unclaimed_descriptors_fails_the_read() {
        let (mut a, mut b) = pair();
        let (_r, w) = pipe();
        let ca = a.channel();
        for _ in 0..MAX_UNCLAIMED + SCM_MAX_FD {
            ca.queue(w.as_fd()).unwrap();
        }
        let writer = tokio::spawn(async move {
            // One byte per sendmsg of up to 253 descriptors.
            let _ = a.write_all(&[0u8; 64]).await;
            a
        });
        let mut buf = [0u8; 64];
        let err = loop {
            match b.read(&mut buf).await {
                Ok(0) => panic!("EOF before the limit was hit"),
                Ok(_) => continue,
                Err(e) => break e,
            }
        };
        assert!(err.to_string().contains("no box claimed"), "{err}");
        assert!(b.channel().received_pending() <= MAX_UNCLAIMED);
        drop(writer.await.unwrap());
    }

    #[tokio::test]
    async fn descriptors_arrive_before_the_bytes_written_after_them() {
        let (mut a, mut b) = pair();
        let (ca, cb) = (a.channel(), b.channel());
        let (_r, w) = pipe();
        for i in 0..20u8 {
            ca.queue(w.as_fd()).unwrap();
            if i % 2 == 0 {
                ca.queue(w.as_fd()).unwrap();
            }
            a.write_all(&[i]).await.unwrap();
        }
        // Bytes 0..=i were preceded by descriptors 0..ordinals_before(i+1).
        let mut needed = 0;
        for i in 0..20u8 {
            needed += if i % 2 == 0 { 2 } else { 1 };
            assert_eq!(read_exact(&mut b, 1).await, [i]);
            for ordinal in 0..needed {
                assert!(
                    cb.lock().received.contains_key(&ordinal),
                    "descriptor {ordinal} before byte {i}"
                );
            }
        }
        assert_eq!(cb.received_pending(), 30);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn descriptors_queued_while_writing_from_other_tasks() {
        let (mut a, mut b) = pair();
        let ca = a.channel();
        let (_r, w) = pipe();
        let w = Arc::new(w);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (ca, w, tx) = (ca.clone(), w.clone(), tx.clone());
            tasks.push(tokio::spawn(async move {
                for _ in 0..50 {
                    // "Encode" in this task, hand the bytes to the writer.
                    let ordinal = ca.queue(w.as_fd()).unwrap();
                    tx.send(format!("{ordinal};").into_bytes()).unwrap();
                    tokio::task::yield_now().await;
                }
            }));
        }
        drop(tx);
        let writer = tokio::spawn(async move {
            while let Some(bytes) = rx.recv().await {
                a.write_all(&bytes).await.unwrap();
            }
            a.shutdown().await.unwrap();
        });
        let cb = b.channel();
        let mut text = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            let n = b.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            text.extend_from_slice(&buf[..n]);
            // Every complete ordinal read so far has its descriptor (the
            // last piece is incomplete or empty).
            let items: Vec<&[u8]> = text.split(|c| *c == b';').collect();
            for item in &items[..items.len() - 1] {
                let ordinal: u64 = std::str::from_utf8(item).unwrap().parse().unwrap();
                assert!(cb.lock().received.contains_key(&ordinal), "{ordinal}");
            }
        }
        writer.await.unwrap();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(cb.received_pending(), 200);
    }

    #[tokio::test]
    async fn an_empty_write_keeps_descriptors_queued() {
        let (mut a, mut b) = pair();
        let (_r, w) = pipe();
        a.channel().queue(w.as_fd()).unwrap();
        assert_eq!(a.write(b"").await.unwrap(), 0);
        assert_eq!(a.channel().lock().outgoing.len(), 1);
        a.write_all(b"z").await.unwrap();
        assert_eq!(read_exact(&mut b, 1).await, b"z");
        assert_eq!(b.channel().received_pending(), 1);
    }

    #[tokio::test]
    async fn unknown_or_taken_ordinals_are_errors() {
        let (mut a, mut b) = pair();
        let (_r, w) = pipe();
        a.channel().queue(w.as_fd()).unwrap();
        a.write_all(b"x").await.unwrap();
        read_exact(&mut b, 1).await;
        let chan = b.channel();
        let mut d: &FdChannel = &chan;
        let err = d.receive(5).unwrap_err().to_string();
        assert!(
            err.contains("descriptor ordinal 5 was never received"),
            "{err}"
        );
        assert!(d.receive(0).is_ok());
        let err = d.receive(0).unwrap_err().to_string();
        assert!(
            err.contains("descriptor ordinal 0 was already taken"),
            "{err}"
        );
        let mut e: &FdChannel = &a.channel();
        assert_eq!(e.send(w.as_fd()).unwrap(), 1);
    }

    #[tokio::test]
    async fn peer_close_reads_zero() {
        let (a, mut b) = pair();
        drop(a);
        let mut buf = [0u8; 16];
        assert_eq!(b.read(&mut buf).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn shutdown_gives_the_peer_eof() {
        let (mut a, mut b) = pair();
        a.write_all(b"bye").await.unwrap();
        a.shutdown().await.unwrap();
        let mut all = Vec::new();
        b.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, b"bye");
    }

    #[tokio::test]
    async fn unclaimed_descriptors_close_with_the_channel() {
        let (mut a, mut b) = pair();
        let (mut r, w) = pipe();
        a.channel().queue(w.as_fd()).unwrap();
        drop(w);
        a.write_all(b"x").await.unwrap();
        read_exact(&mut b, 1).await;
        assert_eq!(b.channel().received_pending(), 1);
        drop(b); // the last reference to the channel
        let mut rest = Vec::new();
        assert_eq!(
            r.read_to_end(&mut rest).unwrap(),
            0,
            "EOF: no write end left"
        );
    }

    #[tokio::test]
    async fn large_data_with_descriptors_both_ways() {
        let (mut a, mut b) = pair();
        let (_r, w) = pipe();
        let data: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
        let (ca, cb) = (a.channel(), b.channel());
        for _ in 0..10 {
            ca.queue(w.as_fd()).unwrap();
            cb.queue(w.as_fd()).unwrap();
        }
        async fn run(s: &mut UnixFdStream, data: &[u8]) -> Vec<u8> {
            let (mut rd, mut wr) = tokio::io::split(s);
            let send = async {
                wr.write_all(data).await.unwrap();
                wr.shutdown().await.unwrap();
            };
            let recv = async {
                let mut got = Vec::new();
                rd.read_to_end(&mut got).await.unwrap();
                got
            };
            tokio::join!(send, recv).1
        }
        let (x, y) = tokio::join!(run(&mut a, &data), run(&mut b, &data));
        assert!(x == data && y == data);
        assert_eq!((ca.received_pending(), cb.received_pending()), (10, 10));
    }
}
