//! What a connection or a server answers the peer with: a [`Router`], or
//! [`Channels`] (several routers, one a channel).

use std::sync::Arc;

use crate::channels::Channels;
use crate::connection::Bind;
use crate::router::Router;

/// What answers the peer's requests: a [`Router`] or [`Channels`].
/// [`ConnectionBuilder::router`](crate::ConnectionBuilder::router) and
/// [`Server::new`](crate::Server::new) take either. Sealed: the crate's
/// own types only.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use amp::{Channels, Command, Connection, Record, Responders, Router};
///
/// #[derive(Command)]
/// #[amp(response = Pong)]
/// struct Ping;
/// #[derive(Record)]
/// struct Pong { from: String }
///
/// fn pong(from: &'static str) -> Router {
///     Router::new().route(move |_: Ping, _| async move { Ok(Pong { from: from.into() }) })
/// }
///
/// /// A client of a peer answering with `responders`: a router or channels.
/// fn client_of(responders: impl Responders) -> Connection {
///     let (a, b) = tokio::io::duplex(4096);
///     Connection::builder().router(responders).spawn(a);
///     Connection::spawn(b, Router::new())
/// }
///
/// assert_eq!(client_of(pong("router")).call(Ping).await.unwrap().from, "router");
/// let channels = Channels::new(pong("default")).channel("side", pong("side")).unwrap();
/// let side = client_of(channels).channel("side").unwrap();
/// assert_eq!(side.call(Ping).await.unwrap().from, "side");
/// # }
/// ```
pub trait Responders: sealed::IntoBind {}

pub(crate) mod sealed {
    use super::*;

    /// The responders as the connection binds them (opaque outside the
    /// crate).
    pub struct Erased(pub(crate) Arc<dyn Bind>);

    /// What makes a type [`Responders`](super::Responders).
    pub trait IntoBind: Send + 'static {
        /// The responders, type-erased.
        fn into_bind(self) -> Erased;
    }
}

impl<S: Clone + Send + Sync + 'static> sealed::IntoBind for Router<S> {
    fn into_bind(self) -> sealed::Erased {
        sealed::Erased(Arc::new(self))
    }
}

impl<S: Clone + Send + Sync + 'static> Responders for Router<S> {}

impl sealed::IntoBind for Channels {
    fn into_bind(self) -> sealed::Erased {
        sealed::Erased(Arc::new(self))
    }
}

impl Responders for Channels {}
