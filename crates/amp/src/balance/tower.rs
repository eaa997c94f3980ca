//! [`Balanced`] as a [`tower::Service`], as a [`Connection`](crate::Connection)
//! is: typed calls (any [`Command`]) and raw ones ([`RawCall`]), so a
//! balanced client goes under the same tower layers (timeouts, rate
//! limits, retries of your own).

use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use amp_wire::{AmpBox, Command, NoError};

use super::Balanced;
use crate::error::CallError;
use crate::tower::RawCall;

/// A typed call: `service.call(Sum { a: 1, b: 2 })` is [`Balanced::call`].
/// Always ready: a call made while no server is connected waits for one
/// (see [`Builder::wait_for_backend`](super::Builder::wait_for_backend)).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use amp::{Balanced, Command, Record, Router};
/// use tower::ServiceExt;
///
/// #[derive(Command)]
/// #[amp(response = Total)]
/// struct Sum { a: i64, b: i64 }
/// #[derive(Record)]
/// struct Total { total: i64 }
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// let addr = listener.local_addr().unwrap().to_string();
/// let router = Router::new().route(|s: Sum, _| async move { Ok(Total { total: s.a + s.b }) });
/// tokio::spawn(amp::Server::new(router).serve(listener));
///
/// let client = Balanced::builder().target(addr).build();
/// let total = client.oneshot(Sum { a: 1, b: 2 }).await.unwrap();
/// assert_eq!(total.total, 3);
/// # }
/// ```
impl<C: Command> tower::Service<C> for Balanced {
    type Response = C::Response;
    type Error = CallError<C::Error>;
    type Future = BoxFuture<'static, Result<C::Response, CallError<C::Error>>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, cmd: C) -> Self::Future {
        let client = self.clone();
        async move { client.call(cmd).await }.boxed()
    }
}

/// A raw call: [`Balanced::call_raw_with`] with the default options.
impl tower::Service<RawCall> for Balanced {
    type Response = AmpBox;
    type Error = CallError<NoError>;
    type Future = BoxFuture<'static, Result<AmpBox, CallError<NoError>>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: RawCall) -> Self::Future {
        let client = self.clone();
        async move {
            client
                .call_raw_with(req.name, req.args, crate::CallOptions::new())
                .await
        }
        .boxed()
    }
}
