//! Serving streams instead of AMP: each accepted connection is handed to
//! the caller, under the server's limits and graceful shutdown.

use std::future::Future;

use super::accept::{Accepted, Listener};
use super::{Server, ShutdownReport};

impl Server {
    /// Accept connections until `shutdown` resolves and hand each to
    /// `carry`, whose future is run as the connection's task, instead of
    /// running AMP on it: for proxies and other protocols that want the
    /// server's accepting (TCP with `TCP_NODELAY`, or a UNIX socket), its
    /// limits and its graceful shutdown. Returns once every connection has
    /// ended.
    ///
    /// What applies, as for AMP connections (see [`Server`]):
    ///
    /// * [`Server::max_connections`]: at the limit, new clients wait in the
    ///   listen backlog until a connection ends (its future completes);
    /// * [`Server::max_connections_per_peer`]: a client from a peer at its
    ///   cap is closed at once (counted in
    ///   [`ServerStats::refused_per_peer`](crate::ServerStats::refused_per_peer));
    /// * accept errors are retried with the same back-off;
    /// * on `shutdown` the listener is closed, the futures running go on
    ///   for the [`Server::grace_period`], and those still running then are
    ///   dropped (which closes their streams, if they hold them); the
    ///   [`ShutdownReport`] counts them as for AMP connections;
    /// * [`ServerStats::connections`](crate::ServerStats::connections)
    ///   counts the futures running.
    ///
    /// What does not: eviction ([`Server::evict_idle_after`]), since the
    /// server cannot see whether a stream is idle (it is never closed for a
    /// new client); the [`Config`](amp_wire::Config), the memory budget
    /// and the responders, since no AMP runs (`Server::new(Router::new())`
    /// is enough).
    ///
    /// `carry` is called in the accept loop: it should return at once, and
    /// leave the work to its future.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// use amp::{Accepted, Router, Server};
    /// use std::time::Duration;
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let addr = listener.local_addr()?;
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// let server = Server::new(Router::new())
    ///     .max_connections(100)
    ///     .grace_period(Duration::from_secs(5));
    /// // An echo server: each connection's bytes back to it.
    /// let serving = tokio::spawn(server.serve_streams_until(
    ///     listener,
    ///     async { stopped.await.unwrap_or(()) },
    ///     |accepted| async move {
    ///         if let Accepted::Tcp(mut stream, _peer) = accepted {
    ///             let (mut r, mut w) = stream.split();
    ///             let _ = tokio::io::copy(&mut r, &mut w).await;
    ///         }
    ///     },
    /// ));
    ///
    /// let mut client = tokio::net::TcpStream::connect(addr).await?;
    /// client.write_all(b"echo").await?;
    /// client.shutdown().await?;
    /// let mut back = Vec::new();
    /// client.read_to_end(&mut back).await?;
    /// assert_eq!(back, b"echo");
    ///
    /// stop.send(()).unwrap();
    /// let report = serving.await.unwrap();
    /// assert_eq!(report.cut, 0);
    /// # Ok(()) }
    /// ```
    pub async fn serve_streams_until<F, Fut>(
        self,
        listener: impl Into<Listener>,
        shutdown: impl Future<Output = ()>,
        mut carry: F,
    ) -> ShutdownReport
    where
        F: FnMut(Accepted) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut server = self;
        // The server cannot tell an idle stream from a busy one.
        server.evict_after = None;
        server
            .run(listener.into(), shutdown, |live, accepted, peer, permit| {
                let work = carry(accepted);
                live.spawn_stream(peer, async move {
                    work.await;
                    drop(permit);
                });
            })
            .await
    }
}
