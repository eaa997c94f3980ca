//! [`Driver`]: the task that runs one connection. It only moves bytes
//! between the transport and the session, runs responders, keeps the
//! session's timer, and performs what the session asks for (a TLS
//! handshake, a hand-over). Every protocol decision is the session's.

mod handover;
mod io;

use bytes::BytesMut;
use futures_util::future::BoxFuture;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskCx, Poll, Waker};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Sleep;

use amp_wire::session::{Event, Request, RequestId};
use amp_wire::Disconnect;

use super::handle::Connection;
use super::responding::{Dispatch, Responding};
use super::running::Running;
use super::shared::Shared;
use super::starter::{Slot, Starter};
use super::transport::Transport;
use io::{io_disconnect, short_read_drains};

/// Requests decoded in the first round of a burst: a burst of requests is
/// answered (and written) in slices, so the peer works on the first slice
/// while this side makes the next instead of the two taking turns. Each
/// slice cut short (more buffered) makes the next twice as long, up to
/// [`MAX_BOXES_PER_ROUND`]: a short burst is answered in a few slices, a
/// long backlog (a thousand calls in flight) without a write and a
/// wake-up every few requests. Answers to our calls are not sliced (see
/// [`Session::start_round`](amp_wire::session::Session::start_round)).
/// BENCHMARKS.md has the figures for 16, 32, 64, no slices and these
/// growing ones.
const BOXES_PER_ROUND: usize = 32;
/// The longest slice (see [`BOXES_PER_ROUND`]).
const MAX_BOXES_PER_ROUND: usize = 512;
/// Rounds of work per poll before yielding to other tasks.
const POLL_BUDGET: usize = 32;

/// The connection task: a future that runs the connection until it ends and
/// resolves with the reason. [`Connection::spawn`] spawns it for you.
///
/// After a protocol switch accepted by a responder here, the task goes on
/// running the new protocol (the [`SwitchTo`](crate::SwitchTo) handler) and
/// resolves with [`Disconnect::Switched`] when that finishes.
///
/// Dropped before the connection ended, it ends it for every handle with
/// [`Disconnect::DriverDropped`] ([`Disconnect::DriverPanicked`] if it is
/// dropped by a panic).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use amp::{Command, Connection, Disconnect, Record, Router};
///
/// #[derive(Command)]
/// #[amp(response = Pong)]
/// struct Ping;
/// #[derive(Record)]
/// struct Pong {}
///
/// let (a, b) = tokio::io::duplex(4096);
/// Connection::spawn(a, Router::new().route(|_: Ping, _| async { Ok(Pong {}) }));
///
/// // Run the connection in place, beside the code that uses it: no task.
/// let (client, driver) = Connection::builder().build(b);
/// let (answer, reason) = tokio::join!(
///     async {
///         let answer = client.call(Ping).await;
///         client.close().await;
///         answer
///     },
///     driver,
/// );
/// assert!(answer.is_ok());
/// assert!(matches!(reason, Disconnect::LocalClose));
/// # }
/// ```
pub struct Driver<T> {
    shared: Arc<Shared>,
    io: Transport<T>,
    router: Arc<dyn Dispatch>,
    /// Responders still running.
    responders: Running,
    /// Where the next responder is polled first (kept while responders
    /// finish at once; see `starter.rs`).
    spare: Option<Slot>,
    /// The router answers `Cancel`: responders can be cancelled.
    cancellable: bool,
    /// Requests taken from the session, to start once the lock is released.
    requests: Vec<Request>,
    /// Requests the peer cancelled, taken from the session likewise.
    cancels: Vec<RequestId>,
    /// Bytes being written.
    out: BytesMut,
    /// The session's read buffer while it is being read into; given back
    /// at the next look under the lock once bytes came.
    input: Option<BytesMut>,
    /// Bytes came into `input` (`Some(None)`), or the stream ended
    /// (`Some(Some(..))`): to tell the session at the next look.
    read: Option<Option<std::io::Result<()>>>,
    /// The transport is a tokio TCP or UNIX socket, whose short read means
    /// it is drained (see `read`).
    short_read_drains: bool,
    /// Bytes written since the last look, and the write error if any.
    written: usize,
    write_error: Option<std::io::Error>,
    /// A read came back `Pending` in this poll: the waker is registered,
    /// no need to try again before the next wake.
    read_blocked: bool,
    flush_needed: bool,
    /// The session said the connection is idle: give back the buffers.
    release_buffers: bool,
    /// What the session asked for, done once the output is flushed.
    action: Option<Event>,
    /// The session said to shut the transport down: done, then
    /// [`Session::finish`](amp_wire::session::Session::finish).
    shutting_down: bool,
    /// AMP is over: drop every responder (outside the lock: dropping
    /// one may use the connection).
    drop_responders: bool,
    /// The session said the connection ended, and why.
    closed: Option<Disconnect>,
    /// Boxes the next round decodes (see [`BOXES_PER_ROUND`]).
    slice: usize,
    timer: Option<Pin<Box<Sleep>>>,
    timer_at: Option<Instant>,
    /// The protocol switched to, run by this task to completion.
    after: Option<BoxFuture<'static, ()>>,
    wakers: Vec<Waker>,
    /// Why the connection ended, once it has.
    ended: Option<Disconnect>,
    /// `amp.connection`, entered while the task runs (responders' spans
    /// are its children).
    span: tracing::Span,
}

impl<T: 'static> Driver<T> {
    pub(crate) fn new(shared: Arc<Shared>, io: T, router: Arc<dyn Dispatch>) -> Self {
        let cancellable = router.answers_cancel();
        let span = tracing::debug_span!(
            "amp.connection",
            peer = super::spans::peer(shared.info.peer_addr())
        );
        Driver {
            span,
            shared,
            io: Transport::Plain(io),
            router,
            cancellable,
            responders: Running::default(),
            spare: None,
            requests: Vec::new(),
            cancels: Vec::new(),
            out: BytesMut::new(),
            input: None,
            read: None,
            written: 0,
            write_error: None,
            short_read_drains: short_read_drains::<T>(),
            read_blocked: false,
            flush_needed: false,
            release_buffers: false,
            action: None,
            shutting_down: false,
            drop_responders: false,
            closed: None,
            slice: BOXES_PER_ROUND,
            timer: None,
            timer_at: None,
            after: None,
            wakers: Vec::new(),
            ended: None,
        }
    }
}

impl<T> Drop for Driver<T> {
    fn drop(&mut self) {
        if self.ended.is_none() {
            let reason = if std::thread::panicking() {
                Disconnect::DriverPanicked
            } else {
                Disconnect::DriverDropped
            };
            self.shared.with(|st| {
                st.session.abort(reason);
                st.session.finish();
            });
            self.shared.finish();
        }
    }
}

/// What one round of work came to.
enum Step {
    /// Asleep until the deadline (if any), an I/O event or a kick.
    Idle(Option<Instant>),
    Progress,
    /// Progress, and the callers woken should run before more; the
    /// session's next deadline (checked before yielding: a connection that
    /// never lacks work still keeps its deadlines).
    Yield(Option<Instant>),
    Done(Disconnect),
}

/// The session's view after a round under the lock.
struct View {
    next: Next,
    /// Boxes are left for another round.
    more: bool,
    /// The session's next deadline, when boxes are left (the driver may
    /// yield before it sleeps).
    deadline: Option<Instant>,
}

/// What the round under the lock leaves the driver to do.
enum Next {
    /// Something moved: look again.
    Again,
    /// Nothing moved, but a caller kicked the driver meanwhile: look again.
    Kicked,
    /// Nothing moved: the driver is marked asleep (from now on a kick
    /// wakes it), until this deadline if any.
    Sleep(Option<Instant>),
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Future for Driver<T> {
    type Output = Disconnect;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskCx<'_>) -> Poll<Disconnect> {
        let this = &mut *self;
        // Taken out while entered (the rest of the driver is borrowed
        // mutably meanwhile); a disabled span makes this two moves.
        let span = std::mem::replace(&mut this.span, tracing::Span::none());
        let r = span.in_scope(|| this.poll_entered(cx));
        this.span = span;
        r
    }
}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Driver<T> {
    fn poll_entered(&mut self, cx: &mut TaskCx<'_>) -> Poll<Disconnect> {
        let this = self;
        if let Some(after) = &mut this.after {
            // Switched: run the new protocol to its end.
            return match after.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.after = None;
                    Poll::Ready(Disconnect::Switched)
                }
                Poll::Pending => Poll::Pending,
            };
        }
        if let Some(reason) = &this.ended {
            return Poll::Ready(reason.clone());
        }
        // One clock reading a poll: a poll lasts microseconds.
        let now = now();
        this.read_blocked = false;
        for round in 0..POLL_BUDGET {
            match this.step(cx, now) {
                Step::Progress if round + 1 == POLL_BUDGET => {
                    // Busy for a whole budget: deadlines still count.
                    let deadline = this.shared.with(|st| st.session.poll_timeout());
                    this.poll_timer(deadline, cx);
                }
                Step::Progress => {}
                Step::Yield(deadline) => {
                    this.poll_timer(deadline, cx);
                    break;
                }
                Step::Idle(deadline) => {
                    if this.poll_timer(deadline, cx) {
                        continue; // a deadline passed: the session acted
                    }
                    return Poll::Pending;
                }
                Step::Done(reason) => {
                    this.ended = Some(reason.clone());
                    this.io = Transport::Gone; // nothing is left half-open
                    this.shared.finish();
                    if this.after.is_some() {
                        // AMP is over; go on with the protocol switched to.
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    return Poll::Ready(reason);
                }
            }
        }
        // Out of budget, or callers should run first: come back soon (the
        // driver stays marked running, so kicks meanwhile cost nothing).
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Driver<T> {
    /// One round: read (outside the lock), then one look under the lock
    /// that tells the session everything and takes everything it has,
    /// then start what it asked for and write.
    ///
    /// A burst of requests answered at once costs two rounds: this one
    /// reads, decodes, answers and writes; the next tells the session
    /// what was written and finds nothing more (the driver sleeps).
    fn step(&mut self, cx: &mut TaskCx<'_>, now: Instant) -> Step {
        // What was read (and written in the last round) is told to the
        // session in the round below.
        let mut progress = self.responders.poll(cx);
        progress |= self.poll_handshake(cx);
        if self.input.is_some() && !self.read_blocked {
            // A read that filled the buffer may have left bytes behind
            // (the socket stays readable without a new wake-up).
            progress |= self.read(cx);
        }
        let view = self.session_round(cx, now);
        progress |= matches!(view.next, Next::Again);
        let woke = !self.wakers.is_empty();
        if woke {
            for w in self.wakers.drain(..) {
                w.wake();
            }
        }
        if std::mem::take(&mut self.drop_responders) {
            self.responders.clear();
        }
        for id in self.cancels.drain(..) {
            // Not started yet (both came in one round): it never is.
            let before = self.requests.len();
            self.requests.retain(|r| r.id != id);
            if self.requests.len() == before {
                self.responders.cancel(id);
            }
        }
        if !self.requests.is_empty() {
            let mut requests = std::mem::take(&mut self.requests);
            for req in requests.drain(..) {
                self.start(req, cx);
            }
            self.requests = requests;
            // Most were answered as they started: take those answers now,
            // to write them in this round rather than the next.
            let out = &mut self.out;
            self.shared.with(|st| st.session.poll_transmit(out, now));
            progress = true;
        }
        // Bytes written are told to the session in the next round.
        progress |= self.write(cx);
        if std::mem::take(&mut self.release_buffers) {
            self.release_idle_buffers();
        }
        progress |= self.perform_action();
        if let Some(reason) = self.closed.take() {
            return Step::Done(reason);
        }
        // (A shutdown still pending is bounded by the closing deadline.)
        if self.shutting_down && Pin::new(&mut self.io).poll_shutdown(cx).is_ready() {
            self.shutting_down = false;
            self.shared.with(|st| st.session.finish());
            progress = true;
        }
        if woke && view.more {
            // Callers were given answers and more wait: let them run (and
            // call again) before the next slice, so they and the peer work
            // at the same time.
            Step::Yield(view.deadline)
        } else if progress {
            Step::Progress
        } else {
            match view.next {
                Next::Sleep(deadline) => Step::Idle(deadline),
                Next::Again | Next::Kicked => Step::Progress,
            }
        }
    }

    /// Under the lock: register our waker; report what was read and
    /// written; take the session's events and output; note what it wants
    /// next. A round in which nothing moved marks the driver asleep (from
    /// then on a caller's kick wakes it) and returns its next deadline.
    fn session_round(&mut self, cx: &mut TaskCx<'_>, now: Instant) -> View {
        let Driver {
            shared,
            requests,
            cancels,
            out,
            action,
            wakers,
            input,
            read,
            written,
            write_error,
            read_blocked,
            io,
            release_buffers: release,
            shutting_down,
            drop_responders,
            closed,
            slice,
            ..
        } = self;
        // (A shutdown under way registered the task's waker, as a read
        // does: the driver sleeps until it moves.)
        shared.round(|st| {
            st.driver_running(cx.waker());
            let mut busy = false;
            if *written > 0 || write_error.is_some() {
                // (Whatever this changes shows below as an event, a
                // waker or output.)
                st.session.transmitted(std::mem::take(written), now);
                if let Some(e) = write_error.take() {
                    // (The session says to discard what is left.)
                    st.session.abort(io_disconnect(e));
                }
            }
            if let Some(ended) = read.take() {
                // Bytes came (or the stream ended): the buffer goes back.
                if let Some(buf) = input.take() {
                    st.session.handle_input(buf, now);
                }
                match ended {
                    Some(Ok(())) => st.session.handle_eof(now),
                    Some(Err(e)) => st.session.abort(io_disconnect(e)),
                    None => {}
                }
            }
            st.session.start_round(*slice);
            while let Some(ev) = st.session.poll_event(now) {
                busy = true;
                match ev {
                    Event::Request(r) => {
                        if requests.capacity() == 0 {
                            // A connection's first request (or its first
                            // after idling): room for one, not four (a
                            // request is 208 bytes); traffic grows it.
                            requests.reserve_exact(1);
                        }
                        requests.push(r)
                    }
                    Event::Cancel(id) => cancels.push(id),
                    Event::ReleaseBuffers => *release = true,
                    Event::Over => {
                        // What was not started never is; a StartTLS not
                        // begun never is.
                        requests.clear();
                        *drop_responders = true;
                        *action = None;
                    }
                    Event::DiscardOutput => out.clear(),
                    Event::CloseTransport => *shutting_down = true,
                    Event::Closed(reason) => *closed = Some(reason),
                    other => *action = Some(other),
                }
            }
            busy |= st.session.poll_transmit(out, now) > 0;
            st.report_buffers();
            let more = st.session.round_cut();
            *slice = if more {
                (*slice * 2).min(MAX_BOXES_PER_ROUND)
            } else {
                BOXES_PER_ROUND
            };
            let wants_read = !more && !io.handshaking() && st.session.wants_read();
            if !wants_read {
                if let Some(buf) = input.take() {
                    // Reading stops (a limit, a negotiation): the bytes
                    // already read go back to the session.
                    st.session.handle_input(buf, now);
                }
            } else if input.is_none() {
                *input = Some(st.session.take_input());
                *read_blocked = false;
                busy = true; // not read from yet
            }
            // Callers woken need nothing more from us now: if they call,
            // they kick us awake.
            st.session.drain_wakers(wakers);
            busy |= more;
            let next = if busy {
                Next::Again
            } else if st.driver_sleeping() {
                Next::Kicked
            } else {
                Next::Sleep(st.session.poll_timeout())
            };
            let deadline = if more {
                st.session.poll_timeout()
            } else {
                None
            };
            View {
                next,
                more,
                deadline,
            }
        })
    }

    /// Start answering a request: most responders finish at once, without
    /// a trip through the responder set.
    fn start(&mut self, req: Request, cx: &mut TaskCx<'_>) {
        let Request {
            id,
            name,
            tag,
            args,
            route,
            ..
        } = req;
        let conn = Connection::from_shared(self.shared.clone());
        let responding = Responding::new(conn, id, tag, name);
        let mut starter = Starter::new(cx, &mut self.spare);
        let started = match &route {
            None => self.router.dispatch(args, responding, &mut starter),
            Some(local) => self
                .router
                .dispatch_on(local, args, responding, &mut starter),
        };
        match started {
            Ok(()) => {
                if let Some(fut) = starter.into_pending() {
                    self.responders.push(id, fut, self.cancellable);
                }
            }
            Err(responding) => responding.unhandled(),
        }
    }
}
