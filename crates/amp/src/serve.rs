//! Accepting connections: [`Server`], [`serve`], and graceful shutdown.

use futures_util::FutureExt;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use amp_wire::{Config, Disconnect, Timeout};

use crate::addr::ConnectionInfo;
use crate::connection::{Bind, Connection, Control};
use crate::router::Router;

/// A listening socket a [`Server`] accepts connections on.
#[derive(Debug)]
#[non_exhaustive]
pub enum Listener {
    /// TCP (accepted connections get `TCP_NODELAY`).
    Tcp(tokio::net::TcpListener),
    /// A UNIX socket (accepted connections pass descriptors).
    #[cfg(feature = "unix")]
    Unix(tokio::net::UnixListener),
}

impl From<tokio::net::TcpListener> for Listener {
    fn from(l: tokio::net::TcpListener) -> Self {
        Listener::Tcp(l)
    }
}

#[cfg(feature = "unix")]
impl From<tokio::net::UnixListener> for Listener {
    fn from(l: tokio::net::UnixListener) -> Self {
        Listener::Unix(l)
    }
}

/// What a graceful shutdown came to ([`Server::serve_until`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Connections open when the shutdown began.
    pub open: usize,
    /// Of those, connections cut when the grace period ended (their work
    /// was not done).
    pub cut: usize,
}

/// Serves a [`Router`] on every connection accepted from a listener, with
/// a [`Config`], an optional limit on connections, and graceful shutdown.
///
/// * Accepting never gives up: errors (out of descriptors, `EMFILE` and
///   `ENFILE`; connections aborted before they were accepted) are logged
///   and retried, backing off from 10 ms to 1 s while they last.
/// * At [`Server::max_connections`], accepting pauses until one ends (new
///   clients wait in the listen backlog).
/// * [`Server::serve_until`] stops accepting when its signal fires, lets
///   every connection finish the requests it is answering and write their
///   answers (new requests are refused with `SHUTTING_DOWN`), and cuts the
///   connections still busy when the grace period ends.
///
/// ```no_run
/// # async fn run(router: amp::Router) -> std::io::Result<()> {
/// use std::time::Duration;
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:1234").await?;
/// let report = amp::Server::new(router)
///     .max_connections(10_000)
///     .grace_period(Duration::from_secs(10))
///     .serve_until(listener, async { tokio::signal::ctrl_c().await.unwrap() })
///     .await;
/// println!("{} connections open at shutdown, {} cut", report.open, report.cut);
/// # Ok(()) }
/// ```
pub struct Server {
    router: Arc<dyn Bind>,
    config: Config,
    max_connections: Option<usize>,
    grace: Duration,
}

impl Server {
    /// A server answering with `router`, with the default [`Config`], no
    /// connection limit and a 30 s grace period.
    pub fn new<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Server {
        Server::from_bind(Arc::new(router))
    }

    /// A server answering with any [`Bind`] (a router, [`Routes`](crate::Routes)).
    pub(crate) fn from_bind(router: Arc<dyn Bind>) -> Server {
        Server {
            router,
            config: Config::default(),
            max_connections: None,
            grace: Duration::from_secs(30),
        }
    }

    /// The configuration of every connection.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Accept at most `n` connections at once (at least 1).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = Some(n.max(1));
        self
    }

    /// How long a graceful shutdown waits for connections to finish their
    /// work before cutting them.
    pub fn grace_period(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Accept connections forever.
    pub async fn serve(self, listener: impl Into<Listener>) {
        self.serve_until(listener, std::future::pending()).await;
    }

    /// Accept connections until `shutdown` resolves, then shut down
    /// gracefully (see [`Server`]); returns once every connection has
    /// ended.
    pub async fn serve_until(
        self,
        listener: impl Into<Listener>,
        shutdown: impl Future<Output = ()>,
    ) -> ShutdownReport {
        let listener = listener.into();
        let slots = Arc::new(Semaphore::new(
            self.max_connections.unwrap_or(Semaphore::MAX_PERMITS),
        ));
        let mut live = Live::default();
        let mut backoff = Backoff::default();
        tokio::pin!(shutdown);
        loop {
            let permit = tokio::select! {
                biased;
                () = &mut shutdown => break,
                Some(done) = live.tasks.join_next_with_id() => {
                    live.ended(done);
                    continue;
                }
                p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            };
            let accepted = tokio::select! {
                biased;
                () = &mut shutdown => break,
                Some(done) = live.tasks.join_next_with_id() => {
                    live.ended(done);
                    continue;
                }
                r = accept(&listener) => r,
            };
            let (conn, driver) = match accepted {
                Ok(Accepted::Tcp(stream, peer)) => {
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::debug!(%peer, "set_nodelay failed: {e}");
                    }
                    tracing::debug!(%peer, "AMP connection accepted");
                    let info = ConnectionInfo::of_tcp(&stream);
                    let (conn, driver) = Connection::build(
                        stream,
                        &*self.router,
                        self.config.clone(),
                        None,
                        true,
                        info,
                    );
                    (conn, driver.boxed())
                }
                #[cfg(feature = "unix")]
                Ok(Accepted::Unix(stream)) => {
                    tracing::debug!("AMP connection accepted on a UNIX socket");
                    let (conn, driver) =
                        Connection::build_unix(stream, &*self.router, self.config.clone(), true);
                    (conn, driver.boxed())
                }
                Err(e) => {
                    drop(permit);
                    backoff.wait(&e).await;
                    continue;
                }
            };
            backoff.reset();
            live.spawn(conn, async move {
                let reason = driver.await;
                drop(permit);
                reason
            });
        }
        drop(listener);
        live.shut_down(self.grace).await
    }
}

enum Accepted {
    Tcp(tokio::net::TcpStream, std::net::SocketAddr),
    #[cfg(feature = "unix")]
    Unix(tokio::net::UnixStream),
}

async fn accept(listener: &Listener) -> io::Result<Accepted> {
    match listener {
        Listener::Tcp(l) => l.accept().await.map(|(s, a)| Accepted::Tcp(s, a)),
        #[cfg(feature = "unix")]
        Listener::Unix(l) => l.accept().await.map(|(s, _)| Accepted::Unix(s)),
    }
}

/// Retrying after accept errors: at once for errors of one connection,
/// backing off while the process is out of resources.
#[derive(Default)]
struct Backoff {
    delay: Duration,
}

impl Backoff {
    const MIN: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);

    fn reset(&mut self) {
        self.delay = Duration::ZERO;
    }

    async fn wait(&mut self, e: &io::Error) {
        if is_connection_error(e) {
            tracing::debug!("accept failed for one connection: {e}");
            return;
        }
        if self.delay.is_zero() {
            tracing::warn!("accept failed: {e}; retrying with back-off while it lasts");
            self.delay = Self::MIN;
        } else {
            tracing::debug!("accept failed again: {e}");
            self.delay = (self.delay * 2).min(Self::MAX);
        }
        tokio::time::sleep(self.delay).await;
    }
}

/// Errors about the one connection being accepted (the listener is fine).
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// The connections being served, to shut them down.
#[derive(Default)]
struct Live {
    tasks: JoinSet<Disconnect>,
    handles: HashMap<tokio::task::Id, Control>,
}

impl Live {
    fn spawn(
        &mut self,
        conn: Connection,
        driver: impl Future<Output = Disconnect> + Send + 'static,
    ) {
        let id = self.tasks.spawn(driver).id();
        // Not a user handle: a connection nobody calls still closes when
        // its router serves nothing.
        self.handles.insert(id, Control::of(&conn));
    }

    fn ended(&mut self, done: Result<(tokio::task::Id, Disconnect), tokio::task::JoinError>) {
        let id = match &done {
            Ok((id, _)) => *id,
            Err(e) => e.id(),
        };
        self.handles.remove(&id);
        if let Ok((_, reason)) = done {
            tracing::debug!(%reason, "AMP connection ended");
        }
    }

    async fn shut_down(mut self, grace: Duration) -> ShutdownReport {
        let open = self.tasks.len();
        for conn in self.handles.values() {
            conn.shutdown();
        }
        let deadline = tokio::time::Instant::now() + grace;
        while !self.tasks.is_empty() {
            match tokio::time::timeout_at(deadline, self.tasks.join_next_with_id()).await {
                Ok(Some(done)) => self.ended(done),
                Ok(None) => break,
                Err(_) => break,
            }
        }
        let cut = self.tasks.len();
        if cut > 0 {
            tracing::info!(cut, "grace period over: cutting connections still busy");
            for conn in self.handles.values() {
                conn.abort(Disconnect::Timeout(Timeout::Grace));
            }
            // AMP connections end at once; a protocol switched to is the
            // application's, and is stopped.
            let brief = tokio::time::Instant::now() + Duration::from_secs(1);
            while let Ok(Some(done)) =
                tokio::time::timeout_at(brief, self.tasks.join_next_with_id()).await
            {
                self.ended(done);
            }
            self.tasks.abort_all();
            while self.tasks.join_next().await.is_some() {}
        }
        ShutdownReport { open, cut }
    }
}

/// Accept AMP connections on a TCP listener forever, serving `router` on
/// each (with `TCP_NODELAY`). Accept errors are retried, never returned
/// (see [`Server`] for limits and graceful shutdown).
pub async fn serve<S>(listener: tokio::net::TcpListener, router: Router<S>)
where
    S: Clone + Send + Sync + 'static,
{
    Server::new(router).serve(listener).await
}

/// [`serve`] with explicit [`Config`] for every connection.
///
/// ```no_run
/// # async fn run(router: amp::Router) -> std::io::Result<()> {
/// let config = amp::Config::builder().max_in_flight(64).build().unwrap();
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:1234").await?;
/// amp::serve_with(listener, router, config).await;
/// # Ok(()) }
/// ```
pub async fn serve_with<S>(listener: tokio::net::TcpListener, router: Router<S>, config: Config)
where
    S: Clone + Send + Sync + 'static,
{
    Server::new(router).config(config).serve(listener).await
}

/// Accept AMP connections on a UNIX socket forever, serving `router` on
/// each, with descriptor passing (see
/// [`Connection::spawn_unix`](crate::Connection::spawn_unix); an example is
/// at [`Connection::connect_unix`](crate::Connection::connect_unix)).
#[cfg(feature = "unix")]
pub async fn serve_unix<S>(listener: tokio::net::UnixListener, router: Router<S>)
where
    S: Clone + Send + Sync + 'static,
{
    Server::new(router).serve(listener).await
}

/// [`serve_unix`] with explicit [`Config`] for every connection.
#[cfg(feature = "unix")]
pub async fn serve_unix_with<S>(
    listener: tokio::net::UnixListener,
    router: Router<S>,
    config: Config,
) where
    S: Clone + Send + Sync + 'static,
{
    Server::new(router).config(config).serve(listener).await
}
