//! [`Routes`]: the responders of a connection that serves several routes
//! (Divmod Epsilon's `amprouter.Router`): one [`Router`] per local route
//! name, plus the one of the default conversation.

use bytes::Bytes;
use rustc_hash::FxHashMap;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};

use amp_wire::session::{RouteError, MAX_ROUTES};
use amp_wire::{AmpBox, Config, IntoBytes, MAX_VALUE_LENGTH};

use crate::addr::ConnectionInfo;
use crate::connection::{Bind, Connection, Dispatch, Driver, Responding, Starter};
use crate::router::Router;
use crate::serve::Server;

/// Routers by route: what a connection answers on each of its routes.
///
/// A box the peer sends with `_route: name` goes to the router bound to
/// `name`; a box without `_route` to the default router; a box for a route
/// bound nowhere ends the connection (as Epsilon's router does). The
/// answers and errors of a route's responders carry `_route: <remote
/// name>`. Each route is a conversation of its own, with its own tags;
/// StartTLS and protocol switches belong to the default router only (on a
/// route they are plain commands). When the connection ends, every route
/// ends.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use amp::{Command, Connection, Record, Router, Routes};
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
/// Routes::new(says("default"))
///     .bind_route("left", says("left")).unwrap()
///     .bind_route("right", says("right")).unwrap()
///     .spawn(a);
/// let client = Connection::spawn(b, Router::new());
/// let right = client.route("right").unwrap();
/// assert_eq!(right.call(Who).await.unwrap().name, "right");
/// assert_eq!(client.call(Who).await.unwrap().name, "default");
/// # }
/// ```
#[derive(Clone)]
pub struct Routes {
    default: Arc<dyn Bind>,
    /// Local name → (remote name, router).
    routes: FxHashMap<Bytes, (Bytes, Arc<dyn Bind>)>,
}

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Routes")
            .field("routes", &self.routes.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Routes {
    /// Routes with `default` answering the default conversation (boxes
    /// without `_route`), and no route bound yet.
    pub fn new<S: Clone + Send + Sync + 'static>(default: Router<S>) -> Routes {
        Routes {
            default: Arc::new(default),
            routes: FxHashMap::default(),
        }
    }

    /// Answer route `name` with `router`: boxes with `_route: name` go to
    /// it, and its replies carry `_route: name` ([`Routes::bind_route_to`]
    /// with one name for both ends).
    pub fn bind_route<S: Clone + Send + Sync + 'static>(
        self,
        name: impl IntoBytes,
        router: Router<S>,
    ) -> Result<Routes, RouteError> {
        let name = name.into_bytes();
        self.bind_route_to(name.clone(), name, router)
    }

    /// Answer route `local` (the `_route` the peer sends to reach it) with
    /// `router`; its replies carry `_route: remote`. Binding a local name
    /// again replaces its router; at most
    /// [`MAX_ROUTES`] are bound.
    pub fn bind_route_to<S: Clone + Send + Sync + 'static>(
        mut self,
        local: impl IntoBytes,
        remote: impl IntoBytes,
        router: Router<S>,
    ) -> Result<Routes, RouteError> {
        let (local, remote) = (local.into_bytes(), remote.into_bytes());
        if local.len() > MAX_VALUE_LENGTH || remote.len() > MAX_VALUE_LENGTH {
            return Err(RouteError::TooLong);
        }
        if !self.routes.contains_key(&local) && self.routes.len() >= MAX_ROUTES {
            return Err(RouteError::TooMany);
        }
        self.routes.insert(local, (remote, Arc::new(router)));
        Ok(self)
    }

    /// Start a connection over `io` answering with these routes
    /// ([`Connection::spawn`] for routes).
    pub fn spawn<T>(&self, io: T) -> Connection
    where
        T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        self.spawn_with(io, Config::default())
    }

    /// [`Routes::spawn`] with explicit [`Config`].
    pub fn spawn_with<T>(&self, io: T, config: Config) -> Connection
    where
        T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let (conn, driver) = self.connection(io, config);
        tokio::spawn(driver);
        conn
    }

    /// Build a connection without spawning it ([`Connection::new`] for
    /// routes).
    pub fn connection<T>(&self, io: T, config: Config) -> (Connection, Driver<T>)
    where
        T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        Connection::build(io, self, config, None, false, ConnectionInfo::default())
    }

    /// A [`Server`] whose connections answer with these routes.
    pub fn server(&self) -> Server {
        Server::from_bind(Arc::new(self.clone()))
    }
}

impl Bind for Routes {
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

/// [`Routes`] bound to one connection.
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
