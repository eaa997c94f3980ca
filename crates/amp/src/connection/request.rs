//! The futures behind a call: waiting for room to write, writing the
//! request, and waiting for the reply (forgetting the tag if dropped).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskCx, Poll};

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

/// Write a request once there is room: resolves to its tag (`0` for a
/// notification), or the refusal. `args` runs under the session lock.
pub(crate) struct SendRequest<'a, F> {
    shared: &'a Shared,
    /// The local name of the route it goes on (`None`: the default one).
    route: Option<&'a [u8]>,
    name: &'a [u8],
    kind: Kind,
    args: Option<F>,
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
        }
    }
}

// `args` is never pinned (it is taken out and called by value), so the
// request may move whatever the closure holds.
impl<F> Unpin for SendRequest<'_, F> {}

impl<F> Future for SendRequest<'_, F>
where
    F: FnOnce(&mut FieldWriter<'_>, &mut Context<'_>) -> Result<(), EncodeError>,
{
    type Output = Result<u64, SendError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskCx<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let shared = this.shared;
        shared.with(|st| {
            let allowed = match this.kind {
                Kind::Switch => st.session.check_switch(),
                _ => st.session.check_call(),
            };
            if let Err(e) = allowed {
                return Poll::Ready(Err(e));
            }
            if st.session.poll_writable(cx.waker()).is_pending() {
                return Poll::Pending;
            }
            let Some(args) = this.args.take() else {
                return Poll::Ready(Err(SendError::Encode(EncodeError::invalid(
                    "request polled after it was sent",
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
            if r.is_ok() {
                st.kick();
            }
            Poll::Ready(r)
        })
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
