//! Opening connections: two shortcuts ([`Connection::connect`],
//! [`Connection::spawn`]) and [`ConnectionBuilder`] for everything else
//! (a router, a [`Config`], the addresses of a stream, StartTLS, UNIX
//! sockets with descriptor passing, running the driver yourself).

use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};

use amp_wire::Config;

use crate::addr::ConnectionInfo;
use crate::connection::{Bind, Connection, Driver};
use crate::responders::Responders;
use crate::router::Router;

impl Connection {
    /// Connect over TCP (with `TCP_NODELAY`) and answer nothing: the peer's
    /// requests get `UNHANDLED`. Everything else: [`Connection::builder`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let addr = listener.local_addr()?;
    /// # tokio::spawn(amp::Server::new(amp::Router::new()).serve(listener));
    /// let conn = amp::Connection::connect(addr).await?;
    /// assert_eq!(conn.peer_addr().and_then(|a| a.as_tcp()), Some(addr));
    /// # Ok(()) }
    /// ```
    pub async fn connect(addr: impl tokio::net::ToSocketAddrs) -> std::io::Result<Connection> {
        Connection::builder().connect(addr).await
    }

    /// Start a connection over any byte stream `io` on the current tokio
    /// runtime (its timer enabled, as `#[tokio::main]` has it), answering
    /// the peer's requests with `responders` (a [`Router`], or
    /// [`Channels`](crate::Channels)).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{Connection, Router};
    ///
    /// let (a, b) = tokio::io::duplex(1024);
    /// let server = Connection::spawn(a, Router::new());
    /// let client = Connection::spawn(b, Router::new());
    /// # drop((server, client)); }
    /// ```
    pub fn spawn<T>(io: T, responders: impl Responders) -> Connection
    where
        T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        Connection::builder().router(responders).spawn(io)
    }

    /// Every other way to open a connection: see [`ConnectionBuilder`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{Config, Connection, Router};
    ///
    /// let config = Config::builder().max_in_flight(8).build().unwrap();
    /// let (a, _b) = tokio::io::duplex(1024);
    /// let conn = Connection::builder().router(Router::new()).config(config).spawn(a);
    /// assert!(!conn.is_closed());
    /// # }
    /// ```
    pub fn builder() -> ConnectionBuilder {
        ConnectionBuilder {
            responders: Arc::new(Router::new()),
            config: Config::default(),
            info: None,
            #[cfg(feature = "tls")]
            start_tls: None,
        }
    }
}

/// How to open a connection: what answers the peer, its [`Config`], the
/// addresses of a stream, StartTLS; then where the bytes go
/// ([`connect`](ConnectionBuilder::connect),
/// [`connect_unix`](ConnectionBuilder::connect_unix),
/// [`spawn`](ConnectionBuilder::spawn),
/// [`spawn_unix`](ConnectionBuilder::spawn_unix), or
/// [`build`](ConnectionBuilder::build) to run the [`Driver`] yourself).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use amp::{Config, Connection, Disconnect, Router};
///
/// let config = Config::builder().max_in_flight(64).build().unwrap();
/// let (a, b) = tokio::io::duplex(1024);
/// let (conn, driver) = Connection::builder()
///     .router(Router::new())
///     .config(config)
///     .build(a);
/// drop(b); // the peer goes away
/// assert!(matches!(driver.await, Disconnect::PeerClosed));
/// assert!(conn.is_closed());
/// # }
/// ```
#[must_use = "a builder does nothing until connect, spawn or build"]
pub struct ConnectionBuilder {
    responders: Arc<dyn Bind>,
    config: Config,
    info: Option<ConnectionInfo>,
    #[cfg(feature = "tls")]
    start_tls: Option<crate::tls::TlsOptions>,
}

impl std::fmt::Debug for ConnectionBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionBuilder")
            .field("config", &self.config)
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl ConnectionBuilder {
    /// Answer the peer's requests with `responders`: a [`Router`], or
    /// [`Channels`](crate::Channels). Default: an empty router (every
    /// request gets `UNHANDLED`).
    pub fn router(mut self, responders: impl Responders) -> Self {
        self.responders = responders.into_bind().0;
        self
    }

    /// The connection's limits and timeouts. Default: [`Config::default`].
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// The addresses of a stream amp-rs cannot ask (a TLS stream, a
    /// proxy's): what [`Connection::peer_addr`] and
    /// [`Ctx::peer_addr`](crate::Ctx::peer_addr) give. For
    /// [`spawn`](ConnectionBuilder::spawn) and
    /// [`build`](ConnectionBuilder::build); `connect` and `connect_unix`
    /// know them.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{Addr, Connection, ConnectionInfo};
    ///
    /// let peer: std::net::SocketAddr = "10.0.0.7:4000".parse().unwrap();
    /// let (a, _b) = tokio::io::duplex(1024);
    /// let conn = Connection::builder()
    ///     .addresses(ConnectionInfo::new(Some(Addr::Tcp(peer)), None))
    ///     .spawn(a);
    /// assert_eq!(conn.peer_addr().and_then(|a| a.as_tcp()), Some(peer));
    /// # }
    /// ```
    pub fn addresses(mut self, info: ConnectionInfo) -> Self {
        self.info = Some(info);
        self
    }

    /// Secure the connection with StartTLS as soon as it is open, with
    /// `options` (see [`Connection::start_tls`]); for
    /// [`connect`](ConnectionBuilder::connect) and
    /// [`connect_unix`](ConnectionBuilder::connect_unix), which fail if it
    /// fails: its `CallError<StartTlsError>` is inside the `io::Error`
    /// ([`std::io::Error::get_ref`], `into_inner`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// use amp::{tls::TlsOptions, Connection, Router, Server};
    ///
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let addr = listener.local_addr()?;
    /// tokio::spawn(Server::new(Router::new().start_tls(TlsOptions::new())).serve(listener));
    /// let conn = Connection::builder().start_tls(TlsOptions::new()).connect(addr).await?;
    /// assert!(conn.is_tls());
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "tls")]
    pub fn start_tls(mut self, options: crate::tls::TlsOptions) -> Self {
        self.start_tls = Some(options);
        self
    }

    /// Connect over TCP (with `TCP_NODELAY`), on the current tokio runtime.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// use amp::{Command, Connection, Record, Router, Server};
    ///
    /// #[derive(Command)]
    /// #[amp(response = Pong)]
    /// struct Ping;
    /// #[derive(Record)]
    /// struct Pong { ok: bool }
    ///
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let addr = listener.local_addr()?;
    /// let router = Router::new().route(|_: Ping, _| async { Ok(Pong { ok: true }) });
    /// tokio::spawn(Server::new(router).serve(listener));
    /// let conn = Connection::builder().connect(addr).await?;
    /// assert!(conn.call(Ping).await.unwrap().ok);
    /// # Ok(()) }
    /// ```
    pub async fn connect(
        self,
        addr: impl tokio::net::ToSocketAddrs,
    ) -> std::io::Result<Connection> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let info = ConnectionInfo::of_tcp(&stream);
        let (conn, driver) = Connection::build(
            stream,
            &*self.responders,
            self.config.clone(),
            None,
            false,
            info,
        );
        tokio::spawn(driver);
        self.secure(conn).await
    }

    /// Start a connection over `io` on the current tokio runtime (its
    /// timer enabled, as `#[tokio::main]` has it).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{Command, Connection, Record, Router};
    ///
    /// #[derive(Command)]
    /// #[amp(response = Pong)]
    /// struct Ping;
    /// #[derive(Record)]
    /// struct Pong { ok: bool }
    ///
    /// let (a, b) = tokio::io::duplex(4096);
    /// let router = Router::new().route(|_: Ping, _| async { Ok(Pong { ok: true }) });
    /// Connection::builder().router(router).spawn(a);
    /// let client = Connection::builder().spawn(b);
    /// assert!(client.call(Ping).await.unwrap().ok);
    /// # }
    /// ```
    pub fn spawn<T>(self, io: T) -> Connection
    where
        T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let (conn, driver) = self.build(io);
        tokio::spawn(driver);
        conn
    }

    /// Make the connection over `io` without running it: poll the returned
    /// [`Driver`] (a future) to run it; it resolves with the reason the
    /// connection ended. See the example on [`ConnectionBuilder`].
    pub fn build<T>(self, io: T) -> (Connection, Driver<T>)
    where
        T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let info = self.info.unwrap_or_default();
        Connection::build(io, &*self.responders, self.config, None, false, info)
    }

    /// StartTLS, if asked for, on a connection just opened.
    async fn secure(self, conn: Connection) -> std::io::Result<Connection> {
        #[cfg(feature = "tls")]
        if let Some(options) = self.start_tls {
            conn.start_tls(options)
                .await
                .map_err(std::io::Error::other)?;
        }
        Ok(conn)
    }
}

#[cfg(feature = "unix")]
mod unix {
    use super::ConnectionBuilder;
    use crate::connection::{Connection, Driver};
    use crate::fd::UnixFdStream;

    impl ConnectionBuilder {
        /// Connect to the UNIX socket at `path`, with descriptor passing
        /// (`Descriptor` arguments; see [`UnixFdStream`]).
        ///
        /// ```
        /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
        /// use amp::{Command, Connection, Record, Router, Server};
        ///
        /// #[derive(Command)]
        /// #[amp(response = Pong)]
        /// struct Ping;
        /// #[derive(Record)]
        /// struct Pong { ok: bool }
        ///
        /// let dir = tempfile::tempdir()?;
        /// let path = dir.path().join("amp.sock");
        /// let listener = tokio::net::UnixListener::bind(&path)?;
        /// let router = Router::new().route(|_: Ping, _| async { Ok(Pong { ok: true }) });
        /// tokio::spawn(Server::new(router).serve(listener));
        ///
        /// let conn = Connection::builder().connect_unix(&path).await?;
        /// assert!(conn.call(Ping).await.unwrap().ok);
        /// # Ok(()) }
        /// ```
        pub async fn connect_unix(
            self,
            path: impl AsRef<std::path::Path>,
        ) -> std::io::Result<Connection> {
            let stream = tokio::net::UnixStream::connect(path).await?;
            let (conn, driver) =
                Connection::build_unix(stream, &*self.responders, self.config.clone(), false);
            tokio::spawn(driver);
            self.secure(conn).await
        }

        /// Start a connection over a connected UNIX socket, with descriptor
        /// passing, on the current tokio runtime.
        ///
        /// ```
        /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
        /// use amp::{Addr, Connection, Router};
        ///
        /// let (a, b) = tokio::net::UnixStream::pair()?;
        /// let server = Connection::builder().router(Router::new()).spawn_unix(a);
        /// let client = Connection::builder().spawn_unix(b);
        /// assert!(matches!(client.peer_addr(), Some(Addr::Unix(_))));
        /// # drop(server);
        /// # Ok(()) }
        /// ```
        pub fn spawn_unix(self, stream: tokio::net::UnixStream) -> Connection {
            let (conn, driver) = self.build_unix(stream);
            tokio::spawn(driver);
            conn
        }

        /// [`ConnectionBuilder::build`] over a connected UNIX socket, with
        /// descriptor passing.
        ///
        /// ```
        /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
        /// use amp::{Connection, Disconnect};
        ///
        /// let (a, b) = tokio::net::UnixStream::pair()?;
        /// let (conn, driver) = Connection::builder().build_unix(a);
        /// drop(b); // the peer goes away
        /// assert!(matches!(driver.await, Disconnect::PeerClosed));
        /// assert!(conn.is_closed());
        /// # Ok(()) }
        /// ```
        pub fn build_unix(
            self,
            stream: tokio::net::UnixStream,
        ) -> (Connection, Driver<UnixFdStream>) {
            Connection::build_unix(stream, &*self.responders, self.config, false)
        }
    }
}
