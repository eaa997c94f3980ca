//! The responders a connection is running, and cancelling one of them
//! when the peer asks ([`Event::Cancel`](amp_wire::session::Event::Cancel)).

use futures_util::future::{AbortHandle, Abortable, Aborted};
use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use rustc_hash::FxHashMap;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use amp_wire::session::RequestId;

use super::starter::Started;

/// One responder still running.
enum Responder {
    /// On a connection whose peer cannot cancel.
    Plain(Started),
    /// One the peer may cancel: it ends early if aborted.
    Cancellable(RequestId, Abortable<Started>),
}

impl Future for Responder {
    /// The request, for a cancellable one (to forget its handle).
    type Output = Option<RequestId>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<RequestId>> {
        match self.get_mut() {
            Responder::Plain(f) => Pin::new(f).poll(cx).map(|()| None),
            Responder::Cancellable(id, f) => {
                Pin::new(f).poll(cx).map(|_: Result<(), Aborted>| Some(*id))
            }
        }
    }
}

/// The responders still running (the set is made when one first is: most
/// finish at once, and an idle connection then holds no set). Only a
/// connection that answers `Cancel` pays for an abort handle a responder.
#[derive(Default)]
pub(crate) struct Running {
    set: Option<FuturesUnordered<Responder>>,
    cancel: FxHashMap<RequestId, AbortHandle>,
}

impl Running {
    /// Keep running `fut`, the responder of request `id` (already polled
    /// once, still pending).
    pub(crate) fn push(&mut self, id: RequestId, fut: Started, cancellable: bool) {
        let r = if cancellable {
            let (handle, registration) = AbortHandle::new_pair();
            self.cancel.insert(id, handle);
            Responder::Cancellable(id, Abortable::new(fut, registration))
        } else {
            Responder::Plain(fut)
        };
        self.set.get_or_insert_with(FuturesUnordered::new).push(r);
    }

    /// The peer cancelled request `id`: its responder is dropped at the
    /// next poll (its request is concluded already).
    pub(crate) fn cancel(&mut self, id: RequestId) {
        if let Some(handle) = self.cancel.remove(&id) {
            handle.abort();
        }
    }

    /// Poll every responder that can make progress; whether any finished.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> bool {
        let mut progress = false;
        if let Some(set) = &mut self.set {
            while !set.is_empty() {
                match set.poll_next_unpin(cx) {
                    Poll::Ready(Some(done)) => {
                        if let Some(id) = done {
                            self.cancel.remove(&id);
                        }
                        progress = true;
                    }
                    _ => break,
                }
            }
        }
        progress
    }

    /// AMP is over: drop every responder.
    pub(crate) fn clear(&mut self) {
        if let Some(set) = self.set.take() {
            tracing::debug!(running = set.len(), "responders dropped: AMP is over");
        }
        self.cancel.clear();
    }
}
