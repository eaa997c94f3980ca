//! Opening connections: over any byte stream, TCP, or a UNIX socket, with
//! a [`Router`] to answer the peer.

use tokio::io::{AsyncRead, AsyncWrite};

use amp_wire::Config;

use crate::addr::ConnectionInfo;
use crate::connection::{Connection, Driver};
use crate::router::Router;

impl Connection {
    /// Start a connection over `io` on the current tokio runtime (which
    /// must have its timer enabled, as `#[tokio::main]` does), answering
    /// the peer's requests with `router`.
    pub fn spawn<T, S>(io: T, router: Router<S>) -> Connection
    where
        T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
        S: Clone + Send + Sync + 'static,
    {
        Self::spawn_with(io, router, Config::default())
    }

    /// [`Connection::spawn`] with explicit [`Config`].
    pub fn spawn_with<T, S>(io: T, router: Router<S>, config: Config) -> Connection
    where
        T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
        S: Clone + Send + Sync + 'static,
    {
        let (conn, driver) = Self::new(io, router, config);
        tokio::spawn(driver);
        conn
    }

    /// Build a connection without spawning it: poll the returned [`Driver`]
    /// (a future) to run it. It resolves with the reason the connection
    /// ended.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{Config, Connection, Disconnect, Router};
    ///
    /// let (a, b) = tokio::io::duplex(1024);
    /// let (conn, driver) = Connection::new(a, Router::new(), Config::default());
    /// drop(b); // the peer goes away
    /// assert!(matches!(driver.await, Disconnect::PeerClosed));
    /// assert!(conn.is_closed());
    /// # }
    /// ```
    pub fn new<T, S>(io: T, router: Router<S>, config: Config) -> (Connection, Driver<T>)
    where
        T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
        S: Clone + Send + Sync + 'static,
    {
        Self::build(io, &router, config, None, false, ConnectionInfo::default())
    }

    /// [`Connection::new`] for a transport whose addresses you know (a
    /// stream amp-rs cannot ask, such as a TLS stream or a proxy's): they
    /// are what [`Connection::peer_addr`] and
    /// [`Router::with_connection_state`] see.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{Addr, Config, Connection, ConnectionInfo, Router};
    ///
    /// let (a, _b) = tokio::io::duplex(1024);
    /// let peer = Addr::Tcp("192.0.2.7:4000".parse().unwrap());
    /// let info = ConnectionInfo::new(Some(peer.clone()), None);
    /// let (conn, driver) = Connection::new_with_info(a, Router::new(), Config::default(), info);
    /// tokio::spawn(driver);
    /// assert_eq!(conn.peer_addr(), Some(&peer));
    /// # }
    /// ```
    pub fn new_with_info<T, S>(
        io: T,
        router: Router<S>,
        config: Config,
        info: ConnectionInfo,
    ) -> (Connection, Driver<T>)
    where
        T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
        S: Clone + Send + Sync + 'static,
    {
        Self::build(io, &router, config, None, false, info)
    }

    /// Connect to an AMP server over TCP (with `TCP_NODELAY`) as a pure
    /// client (nothing is answered: the peer's requests get `UNHANDLED`).
    pub async fn connect(addr: impl tokio::net::ToSocketAddrs) -> std::io::Result<Connection> {
        Self::connect_with(addr, Router::new(), Config::default()).await
    }

    /// Connect over TCP, serving `router` to the server as well, with
    /// `config`.
    pub async fn connect_with<S>(
        addr: impl tokio::net::ToSocketAddrs,
        router: Router<S>,
        config: Config,
    ) -> std::io::Result<Connection>
    where
        S: Clone + Send + Sync + 'static,
    {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let info = ConnectionInfo::of_tcp(&stream);
        let (conn, driver) = Self::new_with_info(stream, router, config, info);
        tokio::spawn(driver);
        Ok(conn)
    }
}

#[cfg(feature = "unix")]
mod unix {
    use amp_wire::Config;

    use crate::connection::{Connection, Driver};
    use crate::fd::UnixFdStream;
    use crate::router::Router;

    impl Connection {
        /// Start a connection over a UNIX stream socket, with descriptor
        /// passing: [`Descriptor`](amp_wire::Descriptor) arguments and
        /// responses travel as SCM_RIGHTS beside the boxes, as with Twisted's
        /// `Descriptor` over `connectUNIX`.
        ///
        /// ```
        /// # #[tokio::main(flavor = "current_thread")] async fn main() {
        /// use amp::{Command, Connection, Descriptor, Record, Router};
        /// use std::io::{Read, Write};
        ///
        /// #[derive(Command)]
        /// #[amp(response = Done)]
        /// struct Greet { out: Descriptor }
        /// #[derive(Record)]
        /// struct Done {}
        ///
        /// let (a, b) = tokio::net::UnixStream::pair().unwrap();
        /// // The responder writes into the descriptor it receives.
        /// Connection::spawn_unix(a, Router::new().route(|g: Greet, _| async move {
        ///     std::fs::File::from(g.out.0).write_all(b"hello from the other side").unwrap();
        ///     Ok(Done {})
        /// }));
        /// let client = Connection::spawn_unix(b, Router::new());
        /// let (mut r, w) = std::io::pipe().unwrap();
        /// client.call(Greet { out: Descriptor(w.into()) }).await.unwrap();
        /// let mut got = String::new();
        /// r.read_to_string(&mut got).unwrap(); // our copy of `w` was dropped with the call
        /// assert_eq!(got, "hello from the other side");
        /// # }
        /// ```
        pub fn spawn_unix<S>(stream: tokio::net::UnixStream, router: Router<S>) -> Connection
        where
            S: Clone + Send + Sync + 'static,
        {
            Self::spawn_unix_with(stream, router, Config::default())
        }

        /// [`Connection::spawn_unix`] with explicit [`Config`].
        pub fn spawn_unix_with<S>(
            stream: tokio::net::UnixStream,
            router: Router<S>,
            config: Config,
        ) -> Connection
        where
            S: Clone + Send + Sync + 'static,
        {
            let (conn, driver) = Self::new_unix(stream, router, config);
            tokio::spawn(driver);
            conn
        }

        /// [`Connection::new`] over a UNIX stream socket, with descriptor
        /// passing (see [`Connection::spawn_unix`]).
        pub fn new_unix<S>(
            stream: tokio::net::UnixStream,
            router: Router<S>,
            config: Config,
        ) -> (Connection, Driver<UnixFdStream>)
        where
            S: Clone + Send + Sync + 'static,
        {
            Self::build_unix(stream, &router, config, false)
        }

        /// Connect to an AMP server on a UNIX socket (descriptor passing on) as
        /// a pure client.
        ///
        /// ```
        /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
        /// use amp::{AmpBox, Connection, Router};
        ///
        /// let dir = tempfile::tempdir()?;
        /// let path = dir.path().join("amp.sock");
        /// let listener = tokio::net::UnixListener::bind(&path)?;
        /// tokio::spawn(amp::serve_unix(listener, Router::new().route_raw("Ping", |_, _| async {
        ///     Ok(AmpBox::new())
        /// })));
        /// let conn = Connection::connect_unix(&path).await?;
        /// conn.call_raw("Ping", AmpBox::new()).await.unwrap();
        /// # Ok(()) }
        /// ```
        pub async fn connect_unix(
            path: impl AsRef<std::path::Path>,
        ) -> std::io::Result<Connection> {
            Self::connect_unix_with(path, Router::new(), Config::default()).await
        }

        /// Connect on a UNIX socket, serving `router` to the server as well,
        /// with `config`.
        pub async fn connect_unix_with<S>(
            path: impl AsRef<std::path::Path>,
            router: Router<S>,
            config: Config,
        ) -> std::io::Result<Connection>
        where
            S: Clone + Send + Sync + 'static,
        {
            let stream = tokio::net::UnixStream::connect(path).await?;
            Ok(Connection::spawn_unix_with(stream, router, config))
        }
    }
}
