//! [`Channels`]: the responders of a connection that serves several
//! channels (Divmod Epsilon's `amprouter.Router`, whose channels are
//! "routes"): one [`Router`] per local channel name, plus the one of the
//! default conversation.

use bytes::Bytes;
use rustc_hash::FxHashMap;
use std::sync::Arc;

use amp_wire::session::{RouteError as ChannelError, MAX_ROUTES};
use amp_wire::{AmpBox, IntoBytes, MAX_VALUE_LENGTH};

use crate::addr::ConnectionInfo;
use crate::connection::{Bind, Dispatch, Responding, Starter};
use crate::router::Router;

/// Routers by channel: what a connection answers on each of its channels.
/// Give it to [`Connection::spawn`](crate::Connection::spawn), a
/// [`ConnectionBuilder`](crate::ConnectionBuilder) or a
/// [`Server`](crate::Server) in place of a router.
///
/// A box the peer sends with `_route: name` goes to the router bound to
/// channel `name`; a box without `_route` to the default router; a box for
/// a channel bound nowhere ends the connection (as Epsilon's router does).
/// The answers and errors of a channel's responders carry `_route:
/// <remote name>`. Each channel is a conversation of its own, with its own
/// tags; StartTLS and protocol switches belong to the default router only
/// (on a channel they are plain commands). When the connection ends, every
/// channel ends.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use amp::{Channels, Command, Connection, Record, Router};
///
/// #[derive(Command)]
/// #[amp(response = Said)]
/// struct Who;
/// #[derive(Record, Debug, PartialEq)]
/// struct Said { name: String }
///
/// fn says(name: &'static str) -> Router {
///     Router::new().route(move |_: Who, _| async move { Ok(Said { name: name.into() }) })
/// }
///
/// let (a, b) = tokio::io::duplex(4096);
/// let channels = Channels::new(says("default"))
///     .channel("left", says("left")).unwrap()
///     .channel("right", says("right")).unwrap();
/// Connection::spawn(a, channels);
/// let client = Connection::spawn(b, Router::new());
/// let right = client.channel("right").unwrap();
/// assert_eq!(right.call(Who).await.unwrap().name, "right");
/// assert_eq!(client.call(Who).await.unwrap().name, "default");
/// # }
/// ```
#[derive(Clone)]
pub struct Channels {
    default: Arc<dyn Bind>,
    /// Local name → (remote name, router).
    routes: FxHashMap<Bytes, (Bytes, Arc<dyn Bind>)>,
}

impl std::fmt::Debug for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channels")
            .field("channels", &self.routes.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Channels {
    /// Channels with `default` answering the default conversation (boxes
    /// without `_route`), and no channel bound yet.
    pub fn new<S: Clone + Send + Sync + 'static>(default: Router<S>) -> Channels {
        Channels {
            default: Arc::new(default),
            routes: FxHashMap::default(),
        }
    }

    /// Answer channel `name` with `router`: boxes with `_route: name` go
    /// to it, and its replies carry `_route: name`
    /// ([`Channels::channel_to`] with one name for both ends).
    pub fn channel<S: Clone + Send + Sync + 'static>(
        self,
        name: impl IntoBytes,
        router: Router<S>,
    ) -> Result<Channels, ChannelError> {
        let name = name.into_bytes();
        self.channel_to(name.clone(), name, router)
    }

    /// Answer channel `local` (the `_route` the peer sends to reach it)
    /// with `router`; its replies carry `_route: remote`. Binding a local
    /// name again replaces its router; at most
    /// [`MAX_ROUTES`] are bound.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{Channels, Command, Connection, Record, Router};
    ///
    /// #[derive(Command)]
    /// #[amp(response = Said)]
    /// struct Who;
    /// #[derive(Record, Debug, PartialEq)]
    /// struct Said { name: String }
    ///
    /// let (a, b) = tokio::io::duplex(4096);
    /// let router = Router::new().route(|_: Who, _| async { Ok(Said { name: "srv".into() }) });
    /// // Reached as "service"; replies to the peer's channel "me".
    /// Connection::spawn(a, Channels::new(Router::new()).channel_to("service", "me", router).unwrap());
    /// let client = Connection::spawn(b, Router::new());
    /// let ch = client.channel_to("me", "service").unwrap();
    /// assert_eq!(ch.call(Who).await.unwrap().name, "srv");
    /// # }
    /// ```
    pub fn channel_to<S: Clone + Send + Sync + 'static>(
        mut self,
        local: impl IntoBytes,
        remote: impl IntoBytes,
        router: Router<S>,
    ) -> Result<Channels, ChannelError> {
        let (local, remote) = (local.into_bytes(), remote.into_bytes());
        if local.len() > MAX_VALUE_LENGTH || remote.len() > MAX_VALUE_LENGTH {
            return Err(ChannelError::TooLong);
        }
        if !self.routes.contains_key(&local) && self.routes.len() >= MAX_ROUTES {
            return Err(ChannelError::TooMany);
        }
        self.routes.insert(local, (remote, Arc::new(router)));
        Ok(self)
    }
}

impl Bind for Channels {
    fn bind(&self, info: &ConnectionInfo) -> Arc<dyn Dispatch> {
        Arc::new(Bound {
            default: self.default.bind(info),
            routes: self
                .routes
                .iter()
                .map(|(l, (r, b))| (l.clone(), (r.clone(), b.bind(info))))
                .collect(),
        })
    }
}

/// [`Channels`] bound to one connection.
struct Bound {
    default: Arc<dyn Dispatch>,
    routes: FxHashMap<Bytes, (Bytes, Arc<dyn Dispatch>)>,
}

impl Dispatch for Bound {
    fn dispatch(
        &self,
        args: AmpBox,
        responding: Responding,
        starter: &mut Starter<'_, '_>,
    ) -> Result<(), Responding> {
        self.default.dispatch(args, responding, starter)
    }

    fn dispatch_on(
        &self,
        local: &Bytes,
        args: AmpBox,
        responding: Responding,
        starter: &mut Starter<'_, '_>,
    ) -> Result<(), Responding> {
        match self.routes.get(local) {
            Some((_, d)) => d.dispatch(args, responding, starter),
            None => Err(responding),
        }
    }

    fn routes(&self) -> Vec<(Bytes, Bytes)> {
        self.routes
            .iter()
            .map(|(l, (r, _))| (l.clone(), r.clone()))
            .collect()
    }

    fn is_empty(&self) -> bool {
        self.default.is_empty() && self.routes.values().all(|(_, d)| d.is_empty())
    }

    fn switch_commands(&self) -> Vec<Bytes> {
        self.default.switch_commands()
    }

    fn answers_start_tls(&self) -> bool {
        self.default.answers_start_tls()
    }

    /// `Cancel` is taken by the session for every conversation once any
    /// router of the connection is [`cancellable`](crate::Router::cancellable).
    fn answers_cancel(&self) -> bool {
        self.default.answers_cancel() || self.routes.values().any(|(_, d)| d.answers_cancel())
    }
}
