//! [`Connection`]: the handle callers use.

use std::future::Future;
use std::sync::Arc;
use tracing::Instrument;

use amp_wire::session::{Phase, Reply, Stats};
#[cfg(doc)]
use amp_wire::Config;
use amp_wire::{AmpBox, Command, Disconnect, IntoBytes, NoError};

use super::errors::{not_sent, reply_error};
use super::options::CallOptions;
use super::request::{Kind, ReplyFuture, SendRequest};
use super::shared::Shared;
use super::spans;
use crate::addr::{Addr, ConnectionInfo};
use crate::error::CallError;
use crate::switch::Switched;

/// A handle on an AMP connection: call the peer with it. Cheap to clone;
/// all clones share the connection.
///
/// The connection itself runs as one task (see [`Connection::spawn`]) that
/// reads and writes the stream and runs the [`Router`](crate::Router)'s responders for the
/// peer's requests, concurrently. Either side may call at any time; answers
/// come back in any order. Calls write their request straight into the
/// connection's output (no queue, no allocation), so a refusal (the
/// connection ended, or is locked by a protocol switch) is immediate.
///
/// The connection ends when the peer closes it, on an I/O or protocol error,
/// after a fatal error, when a limit or deadline of its [`Config`] is
/// passed, on [`Connection::close`], or when every handle is dropped and the
/// router has nothing to serve.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use amp::{Command, Connection, Record, Router};
///
/// #[derive(Command)]
/// #[amp(response = SumResult)]
/// struct Sum { a: i64, b: i64 }
/// #[derive(Record, Debug, PartialEq)]
/// struct SumResult { total: i64 }
///
/// let (a, b) = tokio::io::duplex(4096);
/// Connection::spawn(a, Router::new().route(|s: Sum, _| async move {
///     Ok(SumResult { total: s.a + s.b })
/// }));
/// let client = Connection::spawn(b, Router::new());
/// assert_eq!(client.call(Sum { a: 13, b: 81 }).await.unwrap(), SumResult { total: 94 });
/// # }
/// ```
pub struct Connection {
    shared: Arc<Shared>,
}

impl Clone for Connection {
    fn clone(&self) -> Self {
        self.shared.add_handle();
        Connection {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.shared.drop_handle();
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let phase = self.shared.with(|st| st.session.phase());
        f.debug_struct("Connection").field("phase", &phase).finish()
    }
}

impl Connection {
    /// The first handle on a connection just wired (the count of handles
    /// starts at one).
    pub(super) fn first(shared: Arc<Shared>) -> Connection {
        Connection { shared }
    }

    /// The peer's address, if known (Twisted's `transport.getPeer()`):
    /// always for connections over TCP or a UNIX socket that amp-rs opened
    /// or accepted; see [`ConnectionInfo`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let addr = listener.local_addr()?;
    /// tokio::spawn(amp::Server::new(amp::Router::new()).serve(listener));
    /// let conn = amp::Connection::connect(addr).await?;
    /// assert_eq!(conn.peer_addr().and_then(|a| a.as_tcp()), Some(addr));
    /// # Ok(()) }
    /// ```
    pub fn peer_addr(&self) -> Option<&Addr> {
        self.shared.info.peer_addr()
    }

    /// This side's address, if known (Twisted's `transport.getHost()`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let addr = listener.local_addr()?;
    /// tokio::spawn(amp::Server::new(amp::Router::new()).serve(listener));
    /// let conn = amp::Connection::connect(addr).await?;
    /// let local = conn.local_addr().and_then(|a| a.as_tcp()).unwrap();
    /// assert!(local.ip().is_loopback());
    /// assert_ne!(local, addr);
    /// # Ok(()) }
    /// ```
    pub fn local_addr(&self) -> Option<&Addr> {
        self.shared.info.local_addr()
    }

    /// What is known of the connection's two ends.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{Connection, Router};
    ///
    /// // Over an in-memory stream neither end has an address.
    /// let (a, _b) = tokio::io::duplex(1024);
    /// let conn = Connection::spawn(a, Router::new());
    /// assert!(conn.info().peer_addr().is_none());
    /// assert!(conn.info().local_addr().is_none());
    /// # }
    /// ```
    pub fn info(&self) -> &ConnectionInfo {
        &self.shared.info
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// A handle for a responder (the driver's own reference is not one).
    pub(crate) fn from_shared(shared: Arc<Shared>) -> Connection {
        shared.add_handle();
        Connection { shared }
    }

    /// Call command `C` and wait for its answer (Twisted's `callRemote`).
    ///
    /// Always asks for an answer, whatever `C::REQUIRES_ANSWER` says; see
    /// [`Connection::send`] for Twisted's exact behaviour and
    /// [`Connection::notify`] to never ask. Arguments that cannot be encoded
    /// fail here, before anything is written. Dropping the returned future
    /// forgets the call: its answer, if it comes, is dropped quietly. The
    /// connection's [`Config::call_timeout`] applies, if set.
    pub fn call<C: Command>(
        &self,
        cmd: C,
    ) -> impl Future<Output = Result<C::Response, CallError<C::Error>>> + use<'_, C> {
        super::calling::call(&self.shared, None, cmd, CallOptions::new())
    }

    /// [`Connection::call`] with options: a timeout of its own (see
    /// [`CallOptions`] for an example).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{CallOptions, Command, Connection, Record, Router};
    /// use std::time::Duration;
    ///
    /// #[derive(Command)]
    /// #[amp(response = Pong)]
    /// struct Ping;
    /// #[derive(Record, Debug, PartialEq)]
    /// struct Pong { n: i64 }
    ///
    /// let (a, b) = tokio::io::duplex(4096);
    /// Connection::spawn(a, Router::new().route(|_: Ping, _| async { Ok(Pong { n: 1 }) }));
    /// let client = Connection::spawn(b, Router::new());
    /// let options = CallOptions::new().timeout(Duration::from_secs(5));
    /// assert_eq!(client.call_with(Ping, options).await.unwrap(), Pong { n: 1 });
    /// # }
    /// ```
    pub fn call_with<C: Command>(
        &self,
        cmd: C,
        options: CallOptions,
    ) -> impl Future<Output = Result<C::Response, CallError<C::Error>>> + use<'_, C> {
        super::calling::call(&self.shared, None, cmd, options)
    }

    /// Call `C` as Twisted's `callRemote` does: ask for an answer only if
    /// `C::REQUIRES_ANSWER`; without one, resolve to `None` once the request
    /// is written.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{Command, Connection, Record, Router};
    ///
    /// #[derive(Command)]
    /// #[amp(response = Pong)]
    /// struct Ping;
    /// #[derive(Record, Debug, PartialEq)]
    /// struct Pong { n: i64 }
    /// #[derive(Command)]
    /// #[amp(requires_answer = false)]
    /// struct Log { line: String }
    ///
    /// let (a, b) = tokio::io::duplex(4096);
    /// Connection::spawn(a, Router::new()
    ///     .route(|_: Ping, _| async { Ok(Pong { n: 1 }) })
    ///     .route(|_: Log, _| async { Ok(()) }));
    /// let client = Connection::spawn(b, Router::new());
    /// assert_eq!(client.send(Ping).await.unwrap(), Some(Pong { n: 1 }));
    /// // Log requires no answer: none is asked for.
    /// assert_eq!(client.send(Log { line: "hi".into() }).await.unwrap(), None);
    /// # }
    /// ```
    pub async fn send<C: Command>(
        &self,
        cmd: C,
    ) -> Result<Option<C::Response>, CallError<C::Error>> {
        super::calling::send(&self.shared, None, cmd).await
    }

    /// Send command `C` without asking for an answer (no `_ask` key):
    /// nothing comes back, not even an error. Resolves once the request is
    /// written to the connection's output. Unlike Twisted (which returns
    /// nothing), a notification on a connection that has ended fails with
    /// [`CallError::ConnectionLost`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{Command, Connection, Router};
    ///
    /// #[derive(Command)]
    /// #[amp(requires_answer = false)]
    /// struct Log { line: String }
    ///
    /// let (a, b) = tokio::io::duplex(4096);
    /// let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    /// Connection::spawn(a, Router::with_state(tx).route(|l: Log, ctx| async move {
    ///     ctx.state.send(l.line).unwrap();
    ///     Ok(())
    /// }));
    /// let client = Connection::spawn(b, Router::new());
    /// client.notify(Log { line: "hello".into() }).await.unwrap();
    /// assert_eq!(rx.recv().await.unwrap(), "hello");
    /// # }
    /// ```
    pub async fn notify<C: Command>(&self, cmd: C) -> Result<(), CallError<NoError>> {
        super::calling::notify(&self.shared, None, cmd).await
    }

    /// Call a command by name with an already-encoded box (Twisted's
    /// `callRemoteString`). Returns the answer box without `_answer`.
    /// Every error code comes back as [`CallError::UnknownRemote`] (or
    /// [`CallError::Unhandled`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{AmpBox, Connection, Router};
    ///
    /// let (a, b) = tokio::io::duplex(4096);
    /// Connection::spawn(a, Router::new().route_raw("Echo", |req: AmpBox, _| async move {
    ///     Ok(req.iter().filter(|(k, _)| !k.starts_with(b"_"))
    ///         .map(|(k, v)| (k.to_vec(), v.to_vec())).collect())
    /// }));
    /// let client = Connection::spawn(b, Router::new());
    /// let mut args = AmpBox::new();
    /// args.insert("x", "1");
    /// let answer = client.call_raw("Echo", args).await.unwrap();
    /// assert_eq!(answer.get("x"), Some(&b"1"[..]));
    /// # }
    /// ```
    pub async fn call_raw(
        &self,
        name: impl IntoBytes,
        args: AmpBox,
    ) -> Result<AmpBox, CallError<NoError>> {
        self.call_raw_with(name, args, CallOptions::new()).await
    }

    /// [`Connection::call_raw`] with options (a timeout of its own).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{AmpBox, CallError, CallOptions, Connection, Router};
    /// use std::time::Duration;
    ///
    /// let (a, b) = tokio::io::duplex(4096);
    /// Connection::spawn(a, Router::new().route_raw("Slow", |_: AmpBox, _| async {
    ///     tokio::time::sleep(Duration::from_secs(3600)).await;
    ///     Ok(AmpBox::new())
    /// }));
    /// let client = Connection::spawn(b, Router::new());
    /// let options = CallOptions::new().timeout(Duration::from_millis(50));
    /// let r = client.call_raw_with("Slow", AmpBox::new(), options).await;
    /// assert!(matches!(r, Err(CallError::Timeout(_))));
    /// # }
    /// ```
    pub async fn call_raw_with(
        &self,
        name: impl IntoBytes,
        args: AmpBox,
        options: CallOptions,
    ) -> Result<AmpBox, CallError<NoError>> {
        super::calling::call_raw(&self.shared, None, name.into_bytes(), args, options).await
    }

    /// Send a raw request that wants no answer.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{AmpBox, Connection, Router};
    ///
    /// let (a, b) = tokio::io::duplex(4096);
    /// let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    /// Connection::spawn(a, Router::with_state(tx).route_raw("Log", |req: AmpBox, ctx| async move {
    ///     ctx.state.send(req.get("line").unwrap().to_vec()).unwrap();
    ///     Ok(AmpBox::new())
    /// }));
    /// let client = Connection::spawn(b, Router::new());
    /// let mut args = AmpBox::new();
    /// args.insert("line", "hello");
    /// client.notify_raw("Log", args).await.unwrap();
    /// assert_eq!(rx.recv().await.unwrap(), b"hello");
    /// # }
    /// ```
    pub async fn notify_raw(
        &self,
        name: impl IntoBytes,
        args: AmpBox,
    ) -> Result<(), CallError<NoError>> {
        super::calling::notify_raw(&self.shared, None, &name.into_bytes(), args).await
    }

    /// Call the protocol-switch command `C` (Twisted's
    /// `ProtocolSwitchCommand`): on success AMP is over on this connection
    /// and the stream is yours.
    ///
    /// The connection locks as the request is written: from then on any box
    /// sent on it, from any handle, fails with
    /// [`CallError::ProtocolSwitched`]; answers this side's responders
    /// produce meanwhile are held back. Calls made before still get their
    /// answers if those arrive before the switch answer; the others fail
    /// with [`Disconnect::Switched`]. On an error answer the connection
    /// unlocks (held answers go out) and AMP goes on. The answer's fields
    /// are ignored (Twisted's switch answer carries only `_answer`).
    ///
    /// The returned [`Switched`] replays first the bytes already read past
    /// the answer. A second switch, or any call after a switch, fails with
    /// [`CallError::ProtocolSwitched`].
    ///
    /// See [`Switched`] for more.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{Command, Connection, Phase, Router, SwitchTo};
    /// use tokio::io::AsyncWriteExt;
    ///
    /// #[derive(Command)]
    /// struct Switch;
    ///
    /// let (a, b) = tokio::io::duplex(4096);
    /// Connection::spawn(a, Router::new().route_switch(|_: Switch, _| async move {
    ///     Ok(SwitchTo::new(|mut stream| async move {
    ///         stream.write_all(b"hi").await.unwrap();
    ///     }))
    /// }));
    /// let client = Connection::spawn(b, Router::new());
    /// let _stream = client.switch(Switch).await.unwrap();
    /// assert_eq!(client.phase(), Phase::Switched);
    /// assert!(client.is_closed());
    /// # }
    /// ```
    pub async fn switch<C: Command>(&self, cmd: C) -> Result<Switched, CallError<C::Error>> {
        let span = spans::request_span!("amp.switch", self, command = C::NAME);
        let call_span = span.clone();
        async move {
            let send = SendRequest::new(&self.shared, C::NAME.as_bytes(), Kind::Switch, |w, cx| {
                cmd.write_fields(w, cx)
            });
            let tag = send.await.map_err(|e| not_sent(e, None))?;
            spans::record_tag(&call_span, tag);
            let reply = ReplyFuture::new(&self.shared, tag, true);
            match reply.await {
                Reply::Answer(_) => self
                    .shared
                    .with(|st| st.switched.take())
                    .ok_or(CallError::ConnectionLost(Disconnect::Switched)),
                other => Err(reply_error(other, None)),
            }
        }
        .instrument(span)
        .await
    }

    /// Close the connection: what is already written to its output goes
    /// out (within [`Config::write_timeout`]), then the stream is shut
    /// down. Outstanding calls fail with [`Disconnect::LocalClose`].
    /// Resolves once the connection has ended.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{Connection, Disconnect, Router};
    ///
    /// let (a, b) = tokio::io::duplex(1024);
    /// let server = Connection::spawn(a, Router::new());
    /// let client = Connection::spawn(b, Router::new());
    /// client.close().await;
    /// assert!(client.is_closed());
    /// assert!(matches!(server.closed().await, Disconnect::PeerClosed));
    /// # }
    /// ```
    pub async fn close(&self) {
        self.shared.close();
        self.closed().await;
    }

    /// Begin a graceful shutdown of this connection: requests from now on
    /// are refused with `SHUTTING_DOWN`; once the requests being answered
    /// are answered (and written) and our calls have their answers, it
    /// closes with [`Disconnect::Shutdown`]. [`Connection::closed`] tells
    /// when.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{Connection, Disconnect, Router};
    ///
    /// let (a, _b) = tokio::io::duplex(1024);
    /// let conn = Connection::spawn(a, Router::new());
    /// conn.shutdown();
    /// assert!(matches!(conn.closed().await, Disconnect::Shutdown));
    /// # }
    /// ```
    pub fn shutdown(&self) {
        self.shared.shutdown();
    }

    /// Wait until the connection has ended; returns why.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{Connection, Disconnect, Router};
    ///
    /// let (a, b) = tokio::io::duplex(1024);
    /// let conn = Connection::spawn(a, Router::new());
    /// drop(b); // the peer goes away
    /// assert!(matches!(conn.closed().await, Disconnect::PeerClosed));
    /// # }
    /// ```
    pub async fn closed(&self) -> Disconnect {
        self.shared.closed().await
    }

    /// Whether the connection has ended, is ending, or switched: no more
    /// AMP calls can be made on it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{Connection, Router};
    ///
    /// let (a, _b) = tokio::io::duplex(1024);
    /// let conn = Connection::spawn(a, Router::new());
    /// assert!(!conn.is_closed());
    /// conn.close().await;
    /// assert!(conn.is_closed());
    /// # }
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.is_finished() || self.shared.with(|st| st.session.is_over())
    }

    /// Where the connection is in its life: open, negotiating StartTLS or
    /// a switch, closing, closed, switched (the table of phases is on
    /// [`Phase`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{Connection, Phase, Router};
    ///
    /// let (a, _b) = tokio::io::duplex(1024);
    /// let conn = Connection::spawn(a, Router::new());
    /// assert_eq!(conn.phase(), Phase::Open);
    /// # }
    /// ```
    pub fn phase(&self) -> Phase {
        self.shared.with(|st| st.session.phase())
    }

    /// A snapshot of this connection's counters: calls and requests in
    /// flight, boxes and bytes each way, answers, errors by code, and why
    /// the connection ended once it has. See [`Stats`] for what each
    /// counts. Taking it costs one lock and a copy (the error-code tables
    /// are small and bounded).
    ///
    /// Still readable after the connection has ended.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{Command, Connection, Record, Router};
    ///
    /// #[derive(Command)]
    /// #[amp(response = SumResult)]
    /// struct Sum { a: i64, b: i64 }
    /// #[derive(Record)]
    /// struct SumResult { total: i64 }
    ///
    /// let (a, b) = tokio::io::duplex(4096);
    /// let server = Connection::spawn(a, Router::new().route(|s: Sum, _| async move {
    ///     Ok(SumResult { total: s.a + s.b })
    /// }));
    /// let client = Connection::spawn(b, Router::new());
    /// client.call(Sum { a: 1, b: 2 }).await.unwrap();
    /// let _ = client.call_raw("Nope", amp::AmpBox::new()).await.unwrap_err();
    ///
    /// let c = client.stats();
    /// assert_eq!((c.requests_sent, c.answers_received), (2, 1));
    /// assert_eq!(c.errors_received.get("UNHANDLED"), 1);
    /// assert_eq!(c.calls_in_flight, 0);
    ///
    /// let s = server.stats();
    /// assert_eq!((s.requests_received, s.answers_sent), (2, 1));
    /// assert_eq!(s.bytes_received, c.bytes_sent);
    ///
    /// client.close().await;
    /// server.closed().await;
    /// assert!(matches!(server.stats().end, Some(amp::Disconnect::PeerClosed)));
    /// # }
    /// ```
    pub fn stats(&self) -> Stats {
        self.shared.with(|st| st.session.stats())
    }
}
