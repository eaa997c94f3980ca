//! Where a connection's two ends are: [`Addr`] and [`ConnectionInfo`]
//! (Twisted's `transport.getPeer()` / `getHost()`).

use std::fmt;
use std::net::SocketAddr;
#[cfg(unix)]
use std::path::PathBuf;

/// The address of one end of a connection.
///
/// ```
/// use amp::Addr;
/// let a = Addr::Tcp("127.0.0.1:7777".parse().unwrap());
/// assert_eq!(a.to_string(), "127.0.0.1:7777");
/// assert_eq!(a.as_tcp().unwrap().port(), 7777);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Addr {
    /// A TCP address (Twisted's `IPv4Address`/`IPv6Address`).
    Tcp(SocketAddr),
    /// A UNIX socket: its path, or `None` for an unnamed socket (the
    /// client end of a connection usually is, as is either end of a
    /// socket pair).
    #[cfg(unix)]
    Unix(Option<PathBuf>),
}

impl Addr {
    /// The TCP address, if this is one.
    pub fn as_tcp(&self) -> Option<SocketAddr> {
        match self {
            Addr::Tcp(a) => Some(*a),
            #[cfg(unix)]
            Addr::Unix(_) => None,
        }
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Tcp(a) => a.fmt(f),
            #[cfg(unix)]
            Addr::Unix(Some(path)) => write!(f, "unix:{}", path.display()),
            #[cfg(unix)]
            Addr::Unix(None) => f.write_str("unix:(unnamed)"),
        }
    }
}

impl From<SocketAddr> for Addr {
    fn from(a: SocketAddr) -> Self {
        Addr::Tcp(a)
    }
}

#[cfg(unix)]
impl From<tokio::net::unix::SocketAddr> for Addr {
    fn from(a: tokio::net::unix::SocketAddr) -> Self {
        Addr::Unix(a.as_pathname().map(PathBuf::from))
    }
}

/// What is known of a connection when it opens: the two ends' addresses.
/// Given to [`Router::with_connection_state`](crate::Router::with_connection_state)'s
/// factory, and kept by the [`Connection`](crate::Connection).
///
/// Connections made by [`Connection::connect`](crate::Connection::connect)
/// and its variants, and accepted by [`Server`](crate::Server) and the
/// `serve*` functions, know both addresses; one started over any other
/// byte stream ([`Connection::spawn`](crate::Connection::spawn)) knows
/// what [`ConnectionInfo::new`] was given through
/// [`ConnectionBuilder::addresses`](crate::ConnectionBuilder::addresses), or
/// nothing.
///
/// ```
/// use amp::{Addr, ConnectionInfo};
/// let info = ConnectionInfo::new(
///     Some(Addr::Tcp("10.0.0.2:50000".parse().unwrap())),
///     Some(Addr::Tcp("10.0.0.1:7777".parse().unwrap())),
/// );
/// assert_eq!(info.peer_addr().unwrap().to_string(), "10.0.0.2:50000");
/// assert!(ConnectionInfo::default().local_addr().is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionInfo {
    peer: Option<Addr>,
    local: Option<Addr>,
}

impl ConnectionInfo {
    /// Info with the peer's and our own address.
    pub fn new(peer: Option<Addr>, local: Option<Addr>) -> Self {
        ConnectionInfo { peer, local }
    }

    /// The peer's address (Twisted's `transport.getPeer()`).
    pub fn peer_addr(&self) -> Option<&Addr> {
        self.peer.as_ref()
    }

    /// This side's address (Twisted's `transport.getHost()`).
    pub fn local_addr(&self) -> Option<&Addr> {
        self.local.as_ref()
    }

    /// Both addresses of a TCP stream (those the system cannot give are
    /// left out).
    pub(crate) fn of_tcp(stream: &tokio::net::TcpStream) -> Self {
        ConnectionInfo {
            peer: stream.peer_addr().ok().map(Addr::Tcp),
            local: stream.local_addr().ok().map(Addr::Tcp),
        }
    }

    /// Both addresses of a UNIX stream socket.
    #[cfg(feature = "unix")]
    pub(crate) fn of_unix(stream: &tokio::net::UnixStream) -> Self {
        ConnectionInfo {
            peer: stream.peer_addr().ok().map(Addr::from),
            local: stream.local_addr().ok().map(Addr::from),
        }
    }
}
