//! The listening socket, accepting from it, and what to do after accept
//! errors.

use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

#[cfg(doc)]
use super::Server;

/// A listening socket a [`Server`] accepts connections on. The serving
/// methods take anything that converts into one: a tokio `TcpListener` or
/// `UnixListener`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let listener = amp::Listener::from(tcp);
/// assert!(matches!(listener, amp::Listener::Tcp(_)));
/// tokio::spawn(amp::Server::new(amp::Router::new()).serve(listener));
/// # Ok(()) }
/// ```
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

/// A connection a [`Server`] accepted, as
/// [`Server::serve_streams_until`] hands it over.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// use amp::{Accepted, Router, Server};
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// let (peers, mut told) = tokio::sync::mpsc::unbounded_channel();
/// let server = Server::new(Router::new());
/// tokio::spawn(server.serve_streams_until(listener, std::future::pending(), move |accepted| {
///     if let Accepted::Tcp(stream, peer) = accepted {
///         assert!(stream.nodelay().unwrap());
///         peers.send(peer).unwrap();
///     }
///     async {}
/// }));
/// let client = tokio::net::TcpStream::connect(addr).await?;
/// assert_eq!(told.recv().await, Some(client.local_addr()?));
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Accepted {
    /// TCP (with `TCP_NODELAY` set), and the peer's address.
    Tcp(tokio::net::TcpStream, std::net::SocketAddr),
    /// A UNIX socket.
    #[cfg(feature = "unix")]
    Unix(tokio::net::UnixStream),
}

impl Accepted {
    /// The peer, as [`Server::max_connections_per_peer`] counts them.
    pub(super) fn peer(&self) -> Option<IpAddr> {
        match self {
            Accepted::Tcp(_, addr) => Some(peer_key(addr.ip())),
            #[cfg(feature = "unix")]
            Accepted::Unix(_) => None,
        }
    }
}

/// An IPv4 address, or an IPv6 /64 network (IPv4-mapped addresses as
/// IPv4).
fn peer_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
    }
}

/// The next connection; TCP ones get `TCP_NODELAY` (AMP writes whole
/// boxes; a proxy writes on what it read at once).
pub(super) async fn accept(listener: &Listener) -> io::Result<Accepted> {
    match listener {
        Listener::Tcp(l) => l.accept().await.map(|(s, peer)| {
            if let Err(e) = s.set_nodelay(true) {
                tracing::debug!(%peer, "set_nodelay failed: {e}");
            }
            Accepted::Tcp(s, peer)
        }),
        #[cfg(feature = "unix")]
        Listener::Unix(l) => l.accept().await.map(|(s, _)| Accepted::Unix(s)),
    }
}

/// Retrying after accept errors: at once for errors of one connection,
/// backing off while the process is out of resources.
#[derive(Default)]
pub(super) struct Backoff {
    delay: Duration,
}

impl Backoff {
    const MIN: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);

    pub(super) fn reset(&mut self) {
        self.delay = Duration::ZERO;
    }

    /// How long to wait before accepting again after `e` (`None`: at
    /// once).
    pub(super) fn delay(&mut self, e: &io::Error) -> Option<Duration> {
        if is_connection_error(e) {
            tracing::debug!("accept failed for one connection: {e}");
            return None;
        }
        if self.delay.is_zero() {
            tracing::warn!("accept failed: {e}; retrying with back-off while it lasts");
            self.delay = Self::MIN;
        } else {
            tracing::debug!("accept failed again: {e}");
            self.delay = (self.delay * 2).min(Self::MAX);
        }
        Some(self.delay)
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

/// The process (`EMFILE`) or the system (`ENFILE`) is out of descriptors.
pub(super) fn out_of_descriptors(e: &io::Error) -> bool {
    // The same numbers on Linux, the BSDs and macOS; WSAEMFILE on Windows.
    #[cfg(unix)]
    const CODES: [i32; 2] = [24, 23];
    #[cfg(not(unix))]
    const CODES: [i32; 1] = [10024];
    e.raw_os_error().is_some_and(|c| CODES.contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_is_an_ipv4_address_or_an_ipv6_64_network() {
        let key = |s: &str| peer_key(s.parse().unwrap()).to_string();
        assert_eq!(key("192.0.2.7"), "192.0.2.7");
        assert_eq!(key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::");
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
    }

    #[cfg(unix)]
    #[test]
    fn out_of_descriptors_is_emfile_or_enfile() {
        assert!(out_of_descriptors(&io::Error::from_raw_os_error(24)));
        assert!(out_of_descriptors(&io::Error::from_raw_os_error(23)));
        assert!(!out_of_descriptors(&io::Error::from(
            io::ErrorKind::ConnectionAborted
        )));
    }
}
