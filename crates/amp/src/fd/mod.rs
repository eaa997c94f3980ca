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
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// use amp::UnixFdStream;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("amp.sock");
    /// let listener = tokio::net::UnixListener::bind(&path)?;
    /// let stream = UnixFdStream::connect(&path).await?;
    /// let (_accepted, _) = listener.accept().await?;
    /// assert_eq!(stream.get_ref().peer_addr()?.as_pathname(), Some(path.as_path()));
    /// # Ok(()) }
    /// ```
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<Self> {
        Ok(UnixFdStream::new(UnixStream::connect(path).await?))
    }

    /// The socket underneath.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// # let _guard = rt.enter();
    /// use amp::UnixFdStream;
    ///
    /// let (a, _b) = tokio::net::UnixStream::pair()?;
    /// let stream = UnixFdStream::new(a);
    /// // Ask the socket itself: no path for one end of a pair.
    /// assert!(stream.get_ref().local_addr()?.is_unnamed());
    /// # Ok(()) }
    /// ```
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
mod tests;
