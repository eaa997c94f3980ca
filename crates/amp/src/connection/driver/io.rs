//! The driver's I/O: reading into the session's buffer, writing what it
//! gave out, and the timer for its deadlines. What moved is told to the
//! session at the driver's next look under the lock.

use bytes::{Buf, BytesMut};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskCx, Poll};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite};

use amp_wire::Disconnect;

use super::super::transport::Transport;
use super::{now, Driver};

/// Room kept free in the read buffer before each read.
const READ_RESERVE: usize = 4096;
/// The most read at once by a connection that holds no read buffer (one
/// idle long enough to give it back); the next reads use a buffer.
const FIRST_READ: usize = 1024;
/// A write buffer larger than this is given back once empty.
const KEEP_WRITE_CAPACITY: usize = 64 * 1024;
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Driver<T> {
    /// Write what is queued; returns whether anything moved. What was
    /// written (or the error) is told to the session at the next look.
    pub(super) fn write(&mut self, cx: &mut TaskCx<'_>) -> bool {
        let mut written = 0;
        let mut failed = None;
        while !self.out.is_empty() && !self.io.handshaking() {
            match Pin::new(&mut self.io).poll_write(cx, &self.out) {
                Poll::Ready(Ok(0)) => {
                    failed = Some(std::io::Error::from(std::io::ErrorKind::WriteZero));
                    break;
                }
                Poll::Ready(Ok(n)) => {
                    self.out.advance(n);
                    written += n;
                    self.flush_needed = true;
                }
                Poll::Ready(Err(e)) => {
                    failed = Some(e);
                    break;
                }
                Poll::Pending => break,
            }
        }
        if self.out.is_empty() && self.out.capacity() > KEEP_WRITE_CAPACITY {
            self.out = BytesMut::new();
        }
        let mut progress = written > 0;
        if failed.is_none() && self.out.is_empty() && self.flush_needed && !self.io.handshaking() {
            if let Poll::Ready(r) = Pin::new(&mut self.io).poll_flush(cx) {
                self.flush_needed = false;
                progress = true;
                failed = r.err();
            }
        }
        self.written += written;
        if let Some(e) = failed {
            self.write_error.get_or_insert(e);
            progress = true;
        }
        progress
    }

    /// The session found the connection idle for a while: give back the
    /// memory kept for traffic (an idle connection then costs a few
    /// hundred bytes).
    pub(super) fn release_idle_buffers(&mut self) {
        if self.out.is_empty() && self.out.capacity() > 0 {
            self.out = BytesMut::new();
        }
        if self.read.is_none() && self.input.as_ref().is_some_and(|b| b.is_empty()) {
            // Taken again (empty, no capacity) at the next look.
            self.input = None;
            self.read_blocked = false;
        }
        self.requests = Vec::new();
        self.cancels = Vec::new();
        self.spare = None;
        self.wakers = Vec::new();
    }

    /// Read once into the session's buffer (taken at the last look); it
    /// goes back at the next look. Returns whether anything moved.
    pub(super) fn read(&mut self, cx: &mut TaskCx<'_>) -> bool {
        // A tokio socket read short is drained: the runtime waits for the
        // next readiness. Any other stream (TLS, an in-memory pipe) is
        // read until it says `Pending`, which registers the wake-up.
        let drains = self.short_read_drains && matches!(self.io, Transport::Plain(_));
        let Some(buf) = &mut self.input else {
            return false;
        };
        let polled = if buf.capacity() == 0 {
            // Given back while idle: wait for the next bytes without
            // holding a buffer (an idle connection keeps none).
            let mut first = [0u8; FIRST_READ];
            let mut rb = tokio::io::ReadBuf::new(&mut first);
            match Pin::new(&mut self.io).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) => {
                    buf.extend_from_slice(rb.filled());
                    Poll::Ready(Ok(rb.filled().len()))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            }
        } else {
            if buf.capacity() - buf.len() < READ_RESERVE / 2 {
                buf.reserve(READ_RESERVE);
            }
            tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, buf)
        };
        match polled {
            Poll::Pending => {
                // Kept until bytes come (the waker is registered).
                self.read_blocked = true;
                false
            }
            Poll::Ready(Ok(0)) => {
                self.read = Some(Some(Ok(())));
                self.read_blocked = true; // nothing more will come
                false
            }
            Poll::Ready(Ok(_)) => {
                self.read = Some(None);
                !drains || buf.len() == buf.capacity()
            }
            Poll::Ready(Err(e)) => {
                self.read = Some(Some(Err(e)));
                self.read_blocked = true;
                false
            }
        }
    }

    /// Keep the timer armed for the session's earliest deadline; returns
    /// whether it fired (the session was told).
    pub(super) fn poll_timer(&mut self, deadline: Option<Instant>, cx: &mut TaskCx<'_>) -> bool {
        let Some(at) = deadline else {
            return false;
        };
        let wake_at = tokio::time::Instant::from_std(at);
        match &mut self.timer {
            None => self.timer = Some(Box::pin(tokio::time::sleep_until(wake_at))),
            // A later deadline keeps the timer as it is: it fires early,
            // the session finds nothing due, and the timer is re-armed.
            Some(t) if self.timer_at.is_none_or(|armed| at < armed) => t.as_mut().reset(wake_at),
            Some(_) => {}
        }
        self.timer_at = self.timer_at.map_or(Some(at), |armed| Some(armed.min(at)));
        let Some(t) = &mut self.timer else {
            return false;
        };
        if t.as_mut().poll(cx).is_pending() {
            return false;
        }
        self.timer_at = None;
        let now = now();
        self.shared.with(|st| st.session.handle_timeout(now));
        true
    }
}

/// Whether a short read from a `T` means it is drained: true of tokio's
/// sockets (their readiness is cleared by a short read, and set again by
/// the next bytes), not of streams in general.
pub(super) fn short_read_drains<T: 'static>() -> bool {
    use std::any::TypeId;
    let t = TypeId::of::<T>();
    #[cfg(unix)]
    if t == TypeId::of::<tokio::net::UnixStream>() {
        return true;
    }
    t == TypeId::of::<tokio::net::TcpStream>()
}

/// Why the connection ends after an I/O error: a TLS failure (say the
/// peer rejected our certificate, which TLS 1.3 reports on the first read
/// after the handshake) is [`Disconnect::Tls`], the rest [`Disconnect::Io`].
pub(super) fn io_disconnect(e: std::io::Error) -> Disconnect {
    #[cfg(feature = "tls")]
    if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
        return Disconnect::Tls(std::sync::Arc::new(crate::tls::TlsError::from(e)));
    }
    Disconnect::from(e)
}
