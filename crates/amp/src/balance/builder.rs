//! [`Builder`]: where the servers are, how to reach them, and the
//! client's limits.

use futures_util::future::BoxFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::Balanced;
use crate::connection::Connection;
use amp_wire::Config;

/// Opens a connection to one server.
pub(crate) type Connect =
    dyn Fn(SocketAddr) -> BoxFuture<'static, std::io::Result<Connection>> + Send + Sync;

/// Turns a target (`host:port`) into the servers' addresses.
pub(crate) type Resolve =
    dyn Fn(String) -> BoxFuture<'static, std::io::Result<Vec<SocketAddr>>> + Send + Sync;

/// Exponential back-off with jitter between connection attempts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    pub(crate) first: Duration,
    pub(crate) max: Duration,
}

impl Backoff {
    /// The pause after `attempt` failures in a row (0: a connection that
    /// was up ended): `first · 2^attempt`, at most `max`, then between
    /// half and all of it, so that clients do not come back in step.
    pub(crate) fn delay(&self, attempt: u32, addr: SocketAddr) -> Duration {
        let full = self
            .first
            .saturating_mul(1u32 << attempt.min(20))
            .min(self.max);
        // Jitter from the clock and the address: no RNG needed.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() as u64)
            .unwrap_or(0)
            ^ (addr.port() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let fraction = 0.5 + (super::dice::mix(seed) % 1000) as f64 / 2000.0;
        full.mul_f64(fraction)
    }
}

/// What every backend of one [`Balanced`] client shares.
pub(crate) struct Settings {
    pub(crate) connect: Arc<Connect>,
    pub(crate) resolve: Arc<Resolve>,
    pub(crate) connect_timeout: Duration,
    pub(crate) backoff: Backoff,
    pub(crate) resolve_every: Option<Duration>,
    pub(crate) wait_for_backend: Duration,
    pub(crate) retries: u32,
}

/// Settings of a [`Balanced`] client; [`Builder::build`] starts it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use amp::Balanced;
/// use std::time::Duration;
///
/// let client = Balanced::builder()
///     .target("127.0.0.1:7001")
///     .target("127.0.0.1:7002")
///     .resolve_every(Duration::from_secs(10)) // names are looked up again
///     .connect_timeout(Duration::from_secs(2))
///     .backoff(Duration::from_millis(50), Duration::from_secs(5))
///     .build();
/// assert_eq!(client.targets(), ["127.0.0.1:7001", "127.0.0.1:7002"]);
/// # }
/// ```
#[must_use]
pub struct Builder {
    targets: Vec<String>,
    connect: Option<Arc<Connect>>,
    resolve: Option<Arc<Resolve>>,
    config: Config,
    connect_timeout: Duration,
    backoff: Backoff,
    resolve_every: Option<Duration>,
    wait_for_backend: Duration,
    retries: u32,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            targets: Vec::new(),
            connect: None,
            resolve: None,
            config: Config::default(),
            connect_timeout: Duration::from_secs(10),
            backoff: Backoff {
                first: Duration::from_millis(100),
                max: Duration::from_secs(10),
            },
            resolve_every: None,
            wait_for_backend: Duration::from_secs(10),
            retries: 2,
        }
    }
}

impl Builder {
    /// Add servers: `host:port` or `ip:port`. A name is looked up when the
    /// client starts (and again every [`Builder::resolve_every`]): each
    /// address it has is a server, so a DNS name with several records (a
    /// Kubernetes headless Service) is several servers.
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.targets.push(target.into());
        self
    }

    /// Add several targets (see [`Builder::target`]).
    pub fn targets<I: IntoIterator<Item = T>, T: Into<String>>(mut self, targets: I) -> Self {
        self.targets.extend(targets.into_iter().map(Into::into));
        self
    }

    /// Look the targets up again this often: servers that appear get
    /// connections, servers that disappear take no new calls and are
    /// closed once their calls are done. Default: looked up once. A
    /// failed lookup keeps the servers found before.
    pub fn resolve_every(mut self, every: Duration) -> Self {
        self.resolve_every = Some(every);
        self
    }

    /// The [`Config`] of every connection (default: `Config::default()`).
    /// The connections are pure clients: a server's requests get
    /// `UNHANDLED` (see [`Builder::connector`] to serve a router).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// use amp::{Balanced, Command, Record, Router};
    ///
    /// #[derive(Command, Clone)]
    /// #[amp(response = Pong)]
    /// struct Ping;
    /// #[derive(Record)]
    /// struct Pong { ok: bool }
    ///
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let addr = listener.local_addr()?;
    /// let router = Router::new().route(|_: Ping, _| async { Ok(Pong { ok: true }) });
    /// tokio::spawn(amp::Server::new(router).serve(listener));
    ///
    /// let config = amp::Config::builder().max_in_flight(32).build().unwrap();
    /// let client = Balanced::builder().target(addr.to_string()).config(config).build();
    /// assert!(client.call(Ping).await.unwrap().ok);
    /// # Ok(()) }
    /// ```
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Open each connection with `connect` instead of a plain TCP
    /// [`Connection::connect`]: to serve a [`Router`](crate::Router) to the servers,
    /// run StartTLS first, or anything else. It is given the server's
    /// address and must return a connection ready for calls.
    ///
    /// ```
    /// use amp::{Balanced, Config, Connection, Router};
    ///
    /// let client = Balanced::builder()
    ///     .target("127.0.0.1:7001")
    ///     .connector(|addr| async move {
    ///         Connection::builder().router(Router::new()).config(Config::default()).connect(addr).await
    ///     });
    /// ```
    pub fn connector<F, Fut>(mut self, connect: F) -> Self
    where
        F: Fn(SocketAddr) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = std::io::Result<Connection>> + Send + 'static,
    {
        self.connect = Some(Arc::new(move |addr| Box::pin(connect(addr))));
        self
    }

    /// Look targets up with `resolve` instead of the system's resolver
    /// (for a registry such as Consul, or in tests). It is given a target
    /// as passed to [`Builder::target`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// use amp::{Balanced, Command, Record, Router};
    ///
    /// #[derive(Command, Clone)]
    /// #[amp(response = Pong)]
    /// struct Ping;
    /// #[derive(Record)]
    /// struct Pong { ok: bool }
    ///
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let addr = listener.local_addr()?;
    /// let router = Router::new().route(|_: Ping, _| async { Ok(Pong { ok: true }) });
    /// tokio::spawn(amp::Server::new(router).serve(listener));
    ///
    /// // "pinger" is a name only this resolver knows.
    /// let client = Balanced::builder()
    ///     .target("pinger")
    ///     .resolver(move |target| async move {
    ///         assert_eq!(target, "pinger");
    ///         Ok(vec![addr])
    ///     })
    ///     .build();
    /// assert!(client.call(Ping).await.unwrap().ok);
    /// assert_eq!(client.backends()[0].addr, addr);
    /// # Ok(()) }
    /// ```
    pub fn resolver<F, Fut>(mut self, resolve: F) -> Self
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = std::io::Result<Vec<SocketAddr>>> + Send + 'static,
    {
        self.resolve = Some(Arc::new(move |target| Box::pin(resolve(target))));
        self
    }

    /// How long one connection attempt may take (default 10 s).
    pub fn connect_timeout(mut self, limit: Duration) -> Self {
        self.connect_timeout = limit;
        self
    }

    /// The pause after a failed attempt or a lost connection: `first`,
    /// doubling with each failure in a row up to `max`, each with jitter
    /// (half to all of it). Default 100 ms to 10 s.
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.backoff = Backoff {
            first,
            max: max.max(first),
        };
        self
    }

    /// How long a call waits for a connected server when none is
    /// (starting up, all restarting) before it fails with
    /// [`CallError::Unavailable`](crate::CallError::Unavailable); never
    /// longer than the call's own timeout. Default 10 s; zero fails at
    /// once.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// use amp::{AmpBox, Balanced, CallError};
    /// use std::time::Duration;
    ///
    /// // A port nothing listens on (bound, so nobody else takes it).
    /// let closed = tokio::net::TcpSocket::new_v4()?;
    /// closed.bind("127.0.0.1:0".parse().unwrap())?;
    /// let addr = closed.local_addr()?;
    /// let client = Balanced::builder()
    ///     .target(addr.to_string())
    ///     .wait_for_backend(Duration::from_millis(100))
    ///     .build();
    /// let r = client.call_raw_with("Ping", AmpBox::new(), Default::default()).await;
    /// assert!(matches!(r, Err(CallError::Unavailable(_))));
    /// # Ok(()) }
    /// ```
    pub fn wait_for_backend(mut self, limit: Duration) -> Self {
        self.wait_for_backend = limit;
        self
    }

    /// How many times [`Balanced::call_idempotent`] sends a call again
    /// (to another server when there is one) after its connection was
    /// lost. Default 2. Other calls are never sent again.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// use amp::{Balanced, Command, Record, Router};
    ///
    /// #[derive(Command, Clone)]
    /// #[amp(response = Pong)]
    /// struct Ping;
    /// #[derive(Record)]
    /// struct Pong { ok: bool }
    ///
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let addr = listener.local_addr()?;
    /// let router = Router::new().route(|_: Ping, _| async { Ok(Pong { ok: true }) });
    /// tokio::spawn(amp::Server::new(router).serve(listener));
    ///
    /// let client = Balanced::builder().target(addr.to_string()).retries(5).build();
    /// assert!(client.call_idempotent(Ping).await.unwrap().ok);
    /// # Ok(()) }
    /// ```
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Start the client: the targets are looked up and every server gets a
    /// connection in the background (calls made meanwhile wait, see
    /// [`Builder::wait_for_backend`]). Must be called within a tokio
    /// runtime.
    pub fn build(self) -> Balanced {
        let config = self.config;
        let connect = self.connect.unwrap_or_else(|| {
            Arc::new(move |addr| {
                let config = config.clone();
                Box::pin(async move { Connection::builder().config(config).connect(addr).await })
            })
        });
        let resolve = self.resolve.unwrap_or_else(|| {
            Arc::new(|target: String| {
                Box::pin(async move {
                    let addrs = tokio::net::lookup_host(target).await?;
                    Ok(addrs.collect())
                })
            })
        });
        let settings = Settings {
            connect,
            resolve,
            connect_timeout: self.connect_timeout,
            backoff: self.backoff,
            resolve_every: self.resolve_every,
            wait_for_backend: self.wait_for_backend,
            retries: self.retries,
        };
        Balanced::start(self.targets, settings)
    }
}
