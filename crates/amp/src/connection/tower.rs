//! [`Connection`] as a [`tower::Service`]: typed calls (any [`Command`])
//! and raw ones ([`RawCall`](crate::tower::RawCall)).

use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use amp_wire::session::SendError;
use amp_wire::{AmpBox, Command, NoError};

use super::handle::Connection;
use crate::error::CallError;
use crate::tower::RawCall;

impl Connection {
    /// Tower readiness: an error once the connection has ended (for good),
    /// `Pending` while its output is past
    /// [`Config::write_high_water`](amp_wire::Config::write_high_water)
    /// (woken when it drains), else ready. Readiness reserves nothing: the
    /// call itself still waits for room if other callers filled it since.
    fn poll_call_ready<E>(&self, cx: &mut Context<'_>) -> Poll<Result<(), CallError<E>>> {
        self.shared().with(|st| match st.session.check_call() {
            Err(SendError::Closed(d)) => Poll::Ready(Err(CallError::ConnectionLost(d))),
            // A protocol switch locks the connection, perhaps only until
            // its answer: the call fails with the reason, the service
            // stays usable.
            Err(_) => Poll::Ready(Ok(())),
            Ok(()) => st.session.poll_writable(cx.waker()).map(Ok),
        })
    }
}

/// A typed call: `service.call(Sum { a: 1, b: 2 })` is
/// [`Connection::call`]. See [`crate::tower`] for readiness and errors.
impl<C: Command> tower::Service<C> for Connection {
    type Response = C::Response;
    type Error = CallError<C::Error>;
    type Future = BoxFuture<'static, Result<C::Response, CallError<C::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.poll_call_ready(cx)
    }

    fn call(&mut self, cmd: C) -> Self::Future {
        let conn = self.clone();
        async move { conn.call(cmd).await }.boxed()
    }
}

/// A raw call: [`Connection::call_raw`].
impl tower::Service<RawCall> for Connection {
    type Response = AmpBox;
    type Error = CallError<NoError>;
    type Future = BoxFuture<'static, Result<AmpBox, CallError<NoError>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.poll_call_ready(cx)
    }

    fn call(&mut self, req: RawCall) -> Self::Future {
        let conn = self.clone();
        async move { conn.call_raw(req.name, req.args).await }.boxed()
    }
}
