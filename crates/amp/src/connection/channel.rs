//! [`Channel`]: a handle on one channel of a connection, an AMP
//! conversation of its own multiplexed with the others by a `_route` key
//! (what Divmod Epsilon's `amprouter` calls a route). The rules are the
//! session's: see
//! [`Session::bind_route`](amp_wire::session::Session::bind_route).

use bytes::Bytes;
use std::future::Future;

pub use amp_wire::session::RouteError as ChannelError;
use amp_wire::{AmpBox, Command, IntoBytes, NoError};

use super::calling;
use super::handle::Connection;
use super::options::CallOptions;
use crate::error::CallError;

/// A handle on one channel of a [`Connection`] (an Epsilon route): its
/// calls carry `_route: <remote name>`, and are answered on the channel
/// (the peer's answers carry `_route: <local name>`). Cheap to clone; it
/// keeps the
/// connection open as a [`Connection`] handle does.
///
/// Get one with [`Connection::channel`]; serve a channel's requests with
/// [`Channels`](crate::Channels).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use amp::{Channels, Command, Connection, Record, Router};
///
/// #[derive(Command)]
/// #[amp(response = Total)]
/// struct Sum { a: i64, b: i64 }
/// #[derive(Record, Debug, PartialEq)]
/// struct Total { total: i64 }
///
/// let (a, b) = tokio::io::duplex(4096);
/// // The server answers Sum on channel "calc" only.
/// let channels = Channels::new(Router::new())
///     .channel("calc", Router::new().route(|s: Sum, _| async move {
///         Ok(Total { total: s.a + s.b })
///     }))
///     .unwrap();
/// Connection::spawn(a, channels);
/// let client = Connection::spawn(b, Router::new());
/// let calc = client.channel("calc").unwrap();
/// assert_eq!(calc.call(Sum { a: 1, b: 2 }).await.unwrap(), Total { total: 3 });
/// // On the default conversation nothing answers Sum.
/// assert!(client.call(Sum { a: 1, b: 2 }).await.is_err());
/// # }
/// ```
///
/// Every way of calling a [`Connection`] works on a channel too:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use amp::{AmpBox, CallOptions, Channels, Command, Connection, Record, Router};
///
/// #[derive(Command)]
/// #[amp(response = Total)]
/// struct Sum { a: i64, b: i64 }
/// #[derive(Record, Debug, PartialEq)]
/// struct Total { total: i64 }
/// #[derive(Command)]
/// #[amp(requires_answer = false)]
/// struct Log { line: String }
///
/// let (a, b) = tokio::io::duplex(4096);
/// let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
/// let calc = Router::with_state(tx)
///     .route(|s: Sum, _| async move { Ok(Total { total: s.a + s.b }) })
///     .route(|l: Log, ctx| async move { ctx.state.send(l.line).unwrap(); Ok(()) })
///     .route_raw("Echo", |req: AmpBox, _| async move {
///         Ok(req.iter().filter(|(k, _)| !k.starts_with(b"_"))
///             .map(|(k, v)| (k.to_vec(), v.to_vec())).collect())
///     });
/// Connection::spawn(a, Channels::new(Router::new()).channel("calc", calc).unwrap());
/// let client = Connection::spawn(b, Router::new());
/// let ch = client.channel("calc").unwrap();
/// assert_eq!(&ch.name()[..], b"calc");
/// assert!(!ch.connection().is_closed());
///
/// let sum = Sum { a: 2, b: 3 };
/// assert_eq!(ch.call_with(sum, CallOptions::new()).await.unwrap(), Total { total: 5 });
/// assert_eq!(ch.send(Sum { a: 1, b: 1 }).await.unwrap(), Some(Total { total: 2 }));
/// ch.notify(Log { line: "one".into() }).await.unwrap();
/// assert_eq!(rx.recv().await.unwrap(), "one");
///
/// let mut args = AmpBox::new();
/// args.insert("x", "1");
/// let answer = ch.call_raw("Echo", args.clone()).await.unwrap();
/// assert_eq!(answer.get("x"), Some(&b"1"[..]));
/// let answer = ch.call_raw_with("Echo", args, CallOptions::new()).await.unwrap();
/// assert_eq!(answer.get("x"), Some(&b"1"[..]));
/// let mut log = AmpBox::new();
/// log.insert("line", "two");
/// ch.notify_raw("Log", log).await.unwrap();
/// assert_eq!(rx.recv().await.unwrap(), "two");
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Channel {
    conn: Connection,
    local: Bytes,
}

impl Connection {
    /// A handle on channel `name` of this connection, bound now if it is
    /// not yet (its boxes carry `_route: name`, and the peer's boxes with
    /// `_route: name` belong to it): [`Connection::channel_to`] with one
    /// name for both ends. The peer's requests on the channel are answered
    /// by the router bound to it (see [`Channels`](crate::Channels)), or
    /// `UNHANDLED` when there is none.
    ///
    /// Fails when [`MAX_ROUTES`](amp_wire::session::MAX_ROUTES) are bound
    /// already, or `name` is bound to another remote name.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{Connection, Router};
    ///
    /// let (a, _b) = tokio::io::duplex(1024);
    /// let conn = Connection::spawn(a, Router::new());
    /// let ch = conn.channel("calc").unwrap();
    /// assert_eq!(&ch.name()[..], b"calc");
    /// // Bound once, the same name gives the same channel again.
    /// assert!(conn.channel("calc").is_ok());
    /// # }
    /// ```
    pub fn channel(&self, name: impl IntoBytes) -> Result<Channel, ChannelError> {
        let name = name.into_bytes();
        self.channel_to(name.clone(), name)
    }

    /// A handle on the channel bound here as `local` (the `_route` the
    /// peer sends to reach it) and connected to the peer's channel `remote`
    /// (the `_route` its boxes carry): Epsilon's
    /// `Router.bindRoute(receiver, local).connectTo(remote)`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{Channels, Command, Connection, Record, Router};
    ///
    /// #[derive(Command)]
    /// #[amp(response = Total)]
    /// struct Sum { a: i64, b: i64 }
    /// #[derive(Record, Debug, PartialEq)]
    /// struct Total { total: i64 }
    ///
    /// let (a, b) = tokio::io::duplex(4096);
    /// let calc = Router::new().route(|s: Sum, _| async move { Ok(Total { total: s.a + s.b }) });
    /// // The server's channel "calc" answers on our channel "client".
    /// let server = Channels::new(Router::new()).channel_to("calc", "client", calc).unwrap();
    /// Connection::spawn(a, server);
    /// let client = Connection::spawn(b, Router::new());
    /// let ch = client.channel_to("client", "calc").unwrap();
    /// assert_eq!(ch.call(Sum { a: 1, b: 2 }).await.unwrap(), Total { total: 3 });
    /// // "client" is bound to "calc": it cannot be bound to another name.
    /// assert!(client.channel_to("client", "other").is_err());
    /// # }
    /// ```
    pub fn channel_to(
        &self,
        local: impl IntoBytes,
        remote: impl IntoBytes,
    ) -> Result<Channel, ChannelError> {
        let local = local.into_bytes();
        self.shared()
            .with(|st| st.session.bind_route(local.clone(), remote.into_bytes()))?;
        Ok(Channel {
            conn: self.clone(),
            local,
        })
    }
}

impl Channel {
    /// The channel's local name.
    pub fn name(&self) -> &Bytes {
        &self.local
    }

    /// The connection the channel runs on.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// [`Connection::call`] on this channel.
    pub fn call<C: Command>(
        &self,
        cmd: C,
    ) -> impl Future<Output = Result<C::Response, CallError<C::Error>>> + use<'_, C> {
        self.call_with(cmd, CallOptions::new())
    }

    /// [`Connection::call_with`] on this channel.
    pub fn call_with<C: Command>(
        &self,
        cmd: C,
        options: CallOptions,
    ) -> impl Future<Output = Result<C::Response, CallError<C::Error>>> + use<'_, C> {
        calling::call(self.conn.shared(), Some(&self.local), cmd, options)
    }

    /// [`Connection::send`] on this channel: asks for an answer only if
    /// `C::REQUIRES_ANSWER`.
    pub async fn send<C: Command>(
        &self,
        cmd: C,
    ) -> Result<Option<C::Response>, CallError<C::Error>> {
        calling::send(self.conn.shared(), Some(&self.local), cmd).await
    }

    /// [`Connection::notify`] on this channel.
    pub async fn notify<C: Command>(&self, cmd: C) -> Result<(), CallError<NoError>> {
        calling::notify(self.conn.shared(), Some(&self.local), cmd).await
    }

    /// [`Connection::call_raw`] on this channel.
    pub async fn call_raw(
        &self,
        name: impl IntoBytes,
        args: AmpBox,
    ) -> Result<AmpBox, CallError<NoError>> {
        self.call_raw_with(name, args, CallOptions::new()).await
    }

    /// [`Connection::call_raw_with`] on this channel.
    pub async fn call_raw_with(
        &self,
        name: impl IntoBytes,
        args: AmpBox,
        options: CallOptions,
    ) -> Result<AmpBox, CallError<NoError>> {
        calling::call_raw(
            self.conn.shared(),
            Some(&self.local),
            name.into_bytes(),
            args,
            options,
        )
        .await
    }

    /// [`Connection::notify_raw`] on this channel.
    pub async fn notify_raw(
        &self,
        name: impl IntoBytes,
        args: AmpBox,
    ) -> Result<(), CallError<NoError>> {
        let name = name.into_bytes();
        calling::notify_raw(self.conn.shared(), Some(&self.local), &name, args).await
    }
}
