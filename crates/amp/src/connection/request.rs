//! The futures behind a call: waiting for room to write, writing the
//! request, and waiting for the reply (forgetting the tag if dropped).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskCx, Poll};
use std::time::{Duration, Instant};
use tokio::time::Sleep;

use amp_wire::session::{Reply, SendError};
use amp_wire::{Context, EncodeError, FieldWriter};

use super::shared::Shared;

/// Which session method sends the request.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Call,
    Notify,
    Switch,
}

/// Why a request was not sent.
pub(crate) enum NotSent {
    /// The session refused it.
    Refused(SendError),
    /// Its time ran out while it waited for room to be written.
    TimedOut,
}

/// Write a request once there is room: resolves to its tag (`0` for a
/// notification), or why not. `args` runs under the session lock.
///
/// A call with a time limit ([`SendRequest::timed`]) gets its deadline when
/// first polled; once written, the session keeps it with the call (one
/// timer for all calls, see `Session::set_call_deadline`). Only while it
/// waits for room (output past the high-water mark) does it keep a timer
/// of its own.
pub(crate) struct SendRequest<'a, F> {
    shared: &'a Shared,
    /// The local name of the route it goes on (`None`: the default one).
    route: Option<&'a [u8]>,
    name: &'a [u8],
    kind: Kind,
    args: Option<F>,
    timed: Option<Timed>,
}

/// A call's time limit.
struct Timed {
    limit: Duration,
    /// Send `Cancel` when it passes.
    cancel: bool,
    /// Set at the first poll.
    deadline: Option<Instant>,
    /// Armed only while waiting for room.
    sleep: Option<Pin<Box<Sleep>>>,
}

impl<'a, F> SendRequest<'a, F>
where
    F: FnOnce(&mut FieldWriter<'_>, &mut Context<'_>) -> Result<(), EncodeError>,
{
    pub(crate) fn new(shared: &'a Shared, name: &'a [u8], kind: Kind, args: F) -> Self {
        Self::on(shared, None, name, kind, args)
    }

    /// A request on route `route` (bound under that local name).
    pub(crate) fn on(
        shared: &'a Shared,
        route: Option<&'a [u8]>,
        name: &'a [u8],
        kind: Kind,
        args: F,
    ) -> Self {
        SendRequest {
            shared,
            route,
            name,
            kind,
            args: Some(args),
            timed: None,
        }
    }

    /// A call that fails if not answered within `limit` (writing it
    /// included); if `cancel`, `Cancel` is sent for it then.
    pub(crate) fn timed(mut self, limit: Option<Duration>, cancel: bool) -> Self {
        self.timed = limit.map(|limit| Timed {
            limit,
            cancel,
            deadline: None,
            sleep: None,
        });
        self
    }
}

// `args` is never pinned (it is taken out and called by value), so the
// request may move whatever the closure holds.
impl<F> Unpin for SendRequest<'_, F> {}

impl<F> Future for SendRequest<'_, F>
where
    F: FnOnce(&mut FieldWriter<'_>, &mut Context<'_>) -> Result<(), EncodeError>,
{
    type Output = Result<u64, NotSent>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskCx<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let shared = this.shared;
        let deadline = this.timed.as_mut().map(|t| {
            *t.deadline
                .get_or_insert_with(|| tokio::time::Instant::now().into_std() + t.limit)
        });
        let r = shared.with(|st| {
            let allowed = match this.kind {
                Kind::Switch => st.session.check_switch(),
                _ => st.session.check_call(),
            };
            if let Err(e) = allowed {
                return Poll::Ready(Err(NotSent::Refused(e)));
            }
            if st.session.poll_writable(cx.waker()).is_pending() {
                return Poll::Pending;
            }
            let Some(args) = this.args.take() else {
                return Poll::Ready(Err(NotSent::Refused(SendError::Encode(
                    EncodeError::invalid("request polled after it was sent"),
                ))));
            };
            let write = |w: &mut FieldWriter<'_>| shared.with_context(|cx| args(w, cx));
            let r = match (this.kind, this.route) {
                (Kind::Call, None) => st.session.call(this.name, write),
                (Kind::Call, Some(r)) => st.session.call_on(r, this.name, write),
                (Kind::Notify, None) => st.session.notify(this.name, write).map(|()| 0),
                (Kind::Notify, Some(r)) => st.session.notify_on(r, this.name, write).map(|()| 0),
                (Kind::Switch, _) => st.session.switch(this.name, write),
            };
            if let (Ok(tag), Some(at), Some(t)) = (&r, deadline, &this.timed) {
                st.session.set_call_deadline(*tag, at, t.cancel);
            }
            if r.is_ok() {
                st.kick();
            }
            Poll::Ready(r.map_err(NotSent::Refused))
        });
        match (r, deadline, &mut this.timed) {
            // Waiting for room, with a time limit: a timer of its own.
            (Poll::Pending, Some(at), Some(t)) => {
                let sleep = t.sleep.get_or_insert_with(|| {
                    Box::pin(tokio::time::sleep_until(tokio::time::Instant::from_std(at)))
                });
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(NotSent::TimedOut)),
                    Poll::Pending => Poll::Pending,
                }
            }
            (r, ..) => r,
        }
    }
}

/// The reply to call `tag`. Dropped before the reply came, it tells the
/// session to forget the tag (a late answer is then dropped quietly).
pub(crate) struct ReplyFuture<'a> {
    shared: &'a Shared,
    tag: u64,
    /// The call is our protocol switch.
    switch: bool,
    /// Given up, it sends `Cancel` ([`CallOptions::cancel_remotely`](crate::CallOptions::cancel_remotely)).
    cancel_remotely: bool,
    done: bool,
}

impl<'a> ReplyFuture<'a> {
    pub(crate) fn new(shared: &'a Shared, tag: u64, switch: bool) -> Self {
        ReplyFuture {
            shared,
            tag,
            switch,
            cancel_remotely: false,
            done: false,
        }
    }

    /// Given up, send `Cancel` for the call.
    pub(crate) fn cancelling_remotely(mut self, yes: bool) -> Self {
        self.cancel_remotely = yes;
        self
    }
}

impl Future for ReplyFuture<'_> {
    type Output = Reply;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskCx<'_>) -> Poll<Reply> {
        let tag = self.tag;
        let r = self
            .shared
            .with(|st| st.session.poll_reply(tag, cx.waker()));
        if r.is_ready() {
            self.done = true;
        }
        r
    }
}

impl Drop for ReplyFuture<'_> {
    fn drop(&mut self) {
        if !self.done {
            let (tag, switch) = (self.tag, self.switch);
            let cancel = self.cancel_remotely;
            self.shared.with(|st| {
                if cancel {
                    st.kick(); // the `Cancel` is to be written
                    st.session.cancel(tag);
                } else {
                    st.session.abandon(tag);
                }
                if switch {
                    // A stream nobody will take is closed now.
                    st.switched = None;
                }
            });
        }
    }
}
