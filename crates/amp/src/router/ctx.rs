//! [`Ctx`]: what a responder knows of its request and connection.

use amp_wire::session::RequestId;

use crate::addr::Addr;
use crate::connection::Connection;

/// Per-request context handed to every responder.
///
/// It carries the router's shared state and a handle on the connection the
/// request came in on, so a responder can call the peer back (AMP is
/// symmetric).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use amp::{Command, Connection, Record, Router};
///
/// #[derive(Command)]
/// #[amp(response = Greeting)]
/// struct Greet;
/// #[derive(Record)]
/// struct Greeting { text: String }
///
/// /// What the server asks the client back while it answers `Greet`.
/// #[derive(Command)]
/// #[amp(response = Name)]
/// struct WhoAreYou;
/// #[derive(Record)]
/// struct Name { name: String }
///
/// let server = Router::with_state("Hello").route(|_: Greet, ctx| async move {
///     let name = ctx.peer().call(WhoAreYou).await.map(|n| n.name).unwrap_or_default();
///     Ok(Greeting { text: format!("{}, {name}", ctx.state) })
/// });
/// let client = Router::new().route(|_: WhoAreYou, _| async { Ok(Name { name: "Ada".into() }) });
///
/// let (a, b) = tokio::io::duplex(4096);
/// Connection::spawn(a, server);
/// let conn = Connection::spawn(b, client);
/// assert_eq!(conn.call(Greet).await.unwrap().text, "Hello, Ada");
/// # }
/// ```
pub struct Ctx<S> {
    /// The state given to [`Router::with_state`](crate::Router::with_state)
    /// (or made for this connection by
    /// [`Router::with_connection_state`](crate::Router::with_connection_state)).
    pub state: S,
    pub(super) peer: Connection,
    pub(super) request: RequestId,
}

impl<S> Ctx<S> {
    /// The connection this request arrived on.
    pub fn peer(&self) -> &Connection {
        &self.peer
    }

    /// The peer's address, if known (Twisted's `transport.getPeer()`; see
    /// [`Connection::peer_addr`]).
    ///
    /// ```
    /// use amp::{Command, Record, Router};
    ///
    /// #[derive(Command)]
    /// #[amp(response = Me)]
    /// struct WhoAmI;
    /// #[derive(Record)]
    /// struct Me { addr: String }
    ///
    /// let router = Router::new().route(|_: WhoAmI, ctx| async move {
    ///     Ok(Me { addr: ctx.peer_addr().map(|a| a.to_string()).unwrap_or_default() })
    /// });
    /// # let _ = router;
    /// ```
    pub fn peer_addr(&self) -> Option<&Addr> {
        self.peer.peer_addr()
    }

    /// This side's address, if known (Twisted's `transport.getHost()`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// use amp::{Command, Connection, Record, Router, Server};
    ///
    /// #[derive(Command)]
    /// #[amp(response = Host)]
    /// struct WhereAmI;
    /// #[derive(Record)]
    /// struct Host { addr: String }
    ///
    /// let router = Router::new().route(|_: WhereAmI, ctx| async move {
    ///     Ok(Host { addr: ctx.local_addr().map(|a| a.to_string()).unwrap_or_default() })
    /// });
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let addr = listener.local_addr()?;
    /// tokio::spawn(Server::new(router).serve(listener));
    /// let conn = Connection::connect(addr).await?;
    /// assert_eq!(conn.call(WhereAmI).await.unwrap().addr, addr.to_string());
    /// # Ok(()) }
    /// ```
    pub fn local_addr(&self) -> Option<&Addr> {
        self.peer.local_addr()
    }

    /// Close the connection once this request's reply is written
    /// (Twisted's `QuitBox`): the reply (answer or error) goes out, then
    /// the connection closes with [`Disconnect::Quit`](crate::Disconnect::Quit), in the same
    /// step, so no request the peer sends meanwhile is answered. Other
    /// responders still running are not waited for (their replies are
    /// dropped), and our calls still outstanding fail. Unlike Twisted,
    /// which sends no `QuitBox` for a request that asked for no answer,
    /// the connection closes then too.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{CallError, Command, Connection, Disconnect, Record, Router};
    ///
    /// #[derive(Command)]
    /// #[amp(response = Bye)]
    /// struct Quit;
    /// #[derive(Record, Debug)]
    /// struct Bye { done: String }
    ///
    /// let (a, b) = tokio::io::duplex(4096);
    /// Connection::spawn(a, Router::new().route(|_: Quit, ctx| async move {
    ///     ctx.close_after_reply();
    ///     Ok(Bye { done: "done".into() })
    /// }));
    /// let client = Connection::spawn(b, Router::new());
    /// assert_eq!(client.call(Quit).await.unwrap().done, "done");
    /// client.closed().await;
    /// assert!(matches!(client.call(Quit).await, Err(CallError::ConnectionLost(Disconnect::PeerClosed))));
    /// # }
    /// ```
    pub fn close_after_reply(&self) {
        self.peer
            .shared()
            .with(|st| st.session.close_after_reply(self.request));
    }
}
