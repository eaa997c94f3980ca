//! [`Router::route_service`]: a command answered by a [`tower::Service`].

use futures_util::future::poll_fn;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::Mutex;

use amp_wire::{Command, Record};

use super::{typed_handler, Router};
use crate::error::with_causes;
use crate::router::Ctx;
use crate::tower::{reply_for, BoxError};
use amp_wire::describe::CommandKind;

impl<S: Clone + Send + Sync + 'static> Router<S> {
    /// Answer command `C` with a [`tower::Service`] taking `(C, Ctx<S>)`:
    /// any stack of tower layers (timeouts, concurrency and rate limits,
    /// load shedding) over a `tower::service_fn` or a service of your own.
    ///
    /// **One service for the route**: every request of every connection
    /// the router serves goes through this one instance (behind a fair
    /// lock held only while it becomes ready and takes the request), so a
    /// concurrency or rate limit bounds the whole server's `C` requests,
    /// and the service needs neither `Clone` nor a `Buffer`. Each request
    /// waits for [`poll_ready`](tower::Service::poll_ready), in arrival
    /// order, then is [`call`](tower::Service::call)ed; its response future
    /// runs without the lock. A request waiting for readiness is not timed
    /// by a `timeout` layer (tower times the call, not the wait): put
    /// `load_shed` under the timeout to refuse instead of wait.
    ///
    /// The service's errors are answered as the [`crate::tower`] module
    /// describes: `C`'s declared errors as declared, a [`RawError`](crate::RawError)
    /// as is, a timeout `TIMEOUT` and a shed request `OVERLOADED` (both
    /// non-fatal: the connection goes on), anything else `UNKNOWN`, then
    /// the connection closes. `C::Error` must implement
    /// [`std::error::Error`] to be recognised (tower boxes errors).
    /// Undecodable arguments and panics are handled as by
    /// [`Router::route`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{CallError, Command, Connection, Ctx, NoError, Record, Router};
    /// use std::time::Duration;
    /// use tower::ServiceBuilder;
    ///
    /// #[derive(Command)]
    /// #[amp(response = Total)]
    /// struct Sum { a: i64, b: i64 }
    /// #[derive(Record, Debug, PartialEq)]
    /// struct Total { total: i64 }
    ///
    /// let sum = ServiceBuilder::new()
    ///     .timeout(Duration::from_secs(5))
    ///     .load_shed()
    ///     .concurrency_limit(64)
    ///     .service_fn(|(s, _ctx): (Sum, Ctx<()>)| async move {
    ///         Ok::<_, NoError>(Total { total: s.a + s.b })
    ///     });
    /// let router = Router::new().route_service(sum);
    ///
    /// let (a, b) = tokio::io::duplex(4096);
    /// Connection::spawn(a, router);
    /// let client = Connection::spawn(b, Router::new());
    /// assert_eq!(client.call(Sum { a: 1, b: 2 }).await.unwrap(), Total { total: 3 });
    /// # }
    /// ```
    pub fn route_service<C, Svc>(self, service: Svc) -> Self
    where
        C: Command,
        C::Error: std::error::Error + Sync,
        Svc: tower::Service<(C, Ctx<S>), Response = C::Response> + Send + 'static,
        Svc::Error: Into<BoxError>,
        Svc::Future: Send + 'static,
    {
        let service = Arc::new(Mutex::new(service));
        let call = move |cmd: C, ctx: Ctx<S>| {
            let service = service.clone();
            async move {
                let answer = {
                    let mut service = service.lock().await;
                    poll_fn(|cx| service.poll_ready(cx))
                        .await
                        .map_err(Into::into)?;
                    service.call((cmd, ctx))
                };
                answer.await.map_err(Into::into)
            }
        };
        let h = typed_handler(call, |resp, r: Result<C::Response, BoxError>| match r {
            Ok(r) => resp.answer(|w, cx| r.write_fields(w, cx)),
            Err(e) => match reply_for::<C::Error>(e) {
                Ok(reply) => resp.fail(&reply),
                Err(e) => resp.unknown(with_causes(&*e)),
            },
        });
        self.insert_described(
            Bytes::from_static(C::NAME.as_bytes()),
            h,
            CommandKind::Plain,
            Some(C::describe),
        )
    }
}
