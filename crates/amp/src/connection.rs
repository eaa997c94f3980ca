//! The symmetric connection: one task per connection that reads, writes,
//! tracks outstanding calls and runs responders.

use bytes::{Buf, Bytes, BytesMut};
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use futures_util::task::AtomicWaker;
use futures_util::StreamExt;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context as TaskCx, Poll};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot, Notify};
use tracing::Instrument;

use amp_wire::dispatch::{self, Dispatcher, Incoming};
use amp_wire::{AmpBox, BoxDecoder, Command, Context, IntoBytes, NoError, ProtocolError, Record};

use crate::error::{CallError, Disconnect, RawError};
use crate::fd::{FdChannel, UnixFdStream};
use crate::router::{Dispatch, Outcome, Router};
use crate::starttls::{StartTlsError, ONLY_ONE_TLS};
use crate::switch::{Handshaken, Stream, SwitchTo, Switched};
use crate::tls::{CertificateDer, TlsError, TlsOptions};

/// Tuning knobs of a connection. The defaults suit most services.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Requests from the peer being answered at once; past this the
    /// connection stops reading (TCP back-pressure) until some finish.
    pub max_in_flight: usize,
    /// Bytes queued for writing past which the connection stops taking new
    /// outgoing boxes and stops reading (the peer is not keeping up).
    pub write_high_water: usize,
    /// Capacity of the queue between callers and the connection task;
    /// callers wait (asynchronously) when it is full.
    pub queue: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_in_flight: 4096,
            write_high_water: 256 * 1024,
            queue: 256,
        }
    }
}

const READ_RESERVE: usize = 4096;
const KEEP_READ_CAPACITY: usize = 64 * 1024;
const KEEP_WRITE_CAPACITY: usize = 64 * 1024;
const POLL_BUDGET: usize = 32;

pub(crate) enum Reply {
    Answer(AmpBox),
    Error {
        code: Bytes,
        description: String,
    },
    Lost(Disconnect),
    /// Refused here, nothing sent: TLS already started.
    OnlyOneTls,
}

type SwitchReply = Result<Switched, Reply>;

enum Outgoing {
    Call {
        name: Bytes,
        args: AmpBox,
        reply: oneshot::Sender<Reply>,
    },
    Notify {
        name: Bytes,
        args: AmpBox,
    },
    Switch {
        name: Bytes,
        args: AmpBox,
        reply: oneshot::Sender<SwitchReply>,
    },
    StartTls {
        config: Arc<rustls::ClientConfig>,
        server_name: rustls::pki_types::ServerName<'static>,
        reply: oneshot::Sender<Reply>,
    },
    Close,
}

/// What an outstanding tag is waiting for.
enum Pending {
    Call(oneshot::Sender<Reply>),
    Switch(oneshot::Sender<SwitchReply>),
    StartTls {
        config: Arc<rustls::ClientConfig>,
        server_name: rustls::pki_types::ServerName<'static>,
        reply: oneshot::Sender<Reply>,
    },
}

impl Pending {
    fn lost(self, reason: &Disconnect) {
        match self {
            Pending::Call(tx) | Pending::StartTls { reply: tx, .. } => {
                let _ = tx.send(Reply::Lost(reason.clone()));
            }
            Pending::Switch(tx) => {
                let _ = tx.send(Err(Reply::Lost(reason.clone())));
            }
        }
    }
}

/// Whether boxes may be sent (protocol switching locks the connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    Open,
    /// A switch request is out: nothing may be sent until its answer.
    Switching,
    /// Switched: AMP is over.
    Switched,
}

/// Where StartTLS stands on this connection.
enum TlsPhase {
    None,
    /// Caller: StartTLS is out; boxes are held until TLS is up.
    Asked,
    /// Accepted: writing what precedes the handshake, in clear.
    Flush(TlsSide),
    /// The handshake is running (the stream is `Connecting`/`Accepting`).
    Handshake(Option<oneshot::Sender<Reply>>),
    Up,
}

enum TlsSide {
    Client {
        config: Arc<rustls::ClientConfig>,
        server_name: rustls::pki_types::ServerName<'static>,
        reply: oneshot::Sender<Reply>,
    },
    Server(Arc<rustls::ServerConfig>),
}

/// A switch that was accepted: once what precedes it is written, the
/// stream goes to the caller, or to the responder's protocol.
enum Handover {
    Caller(oneshot::Sender<SwitchReply>),
    Responder(SwitchTo),
}

struct Shared {
    reason: OnceLock<Disconnect>,
    finished: AtomicBool,
    done: Notify,
    driver: AtomicWaker,
    /// Live [`Connection`] handles (the driver's own reference is not one).
    users: AtomicUsize,
    /// The driver is inside `poll`: it will notice dropped handles itself.
    polling: AtomicBool,
    /// The router answers nothing: with no handles left the connection is
    /// useless and closes.
    close_when_abandoned: bool,
    /// StartTLS was asked for or accepted (Twisted's `hostCertificate`).
    tls_started: AtomicBool,
    /// The peer's certificates, once TLS is up.
    peer_certificates: OnceLock<Vec<CertificateDer<'static>>>,
}

struct Inner {
    tx: mpsc::Sender<Outgoing>,
    /// Checked and changed together with queueing a box, so a box queued
    /// after a switch request always fails.
    gate: Mutex<Gate>,
    /// Descriptor passing (UNIX sockets only).
    fds: Option<Arc<FdChannel>>,
    shared: Shared,
}

impl Inner {
    fn gate(&self) -> std::sync::MutexGuard<'_, Gate> {
        self.gate.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A handle on an AMP connection: call the peer with it. Cheap to clone;
/// all clones share the connection.
///
/// The connection itself runs as one task (see [`Connection::spawn`]) that
/// reads and writes the stream, matches answers to calls and runs the
/// [`Router`]'s responders for the peer's requests, concurrently. Either side
/// may call at any time; answers come back in any order.
///
/// The connection ends when the peer closes it, on an I/O or protocol error,
/// after a fatal error, on [`Connection::close`], or when every handle is
/// dropped and the router has nothing to serve.
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
    inner: Arc<Inner>,
}

impl Clone for Connection {
    fn clone(&self) -> Self {
        self.inner.shared.users.fetch_add(1, Ordering::SeqCst);
        Connection {
            inner: self.inner.clone(),
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let shared = &self.inner.shared;
        if shared.users.fetch_sub(1, Ordering::SeqCst) == 1
            && shared.close_when_abandoned
            && !shared.polling.load(Ordering::SeqCst)
        {
            shared.driver.wake();
        }
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("closed", &self.inner.shared.reason.get())
            .finish()
    }
}

impl Connection {
    /// Start a connection over `io` on the current tokio runtime, answering
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
        Self::with_dispatch(io, Arc::new(router), config, None)
    }

    fn with_dispatch<T>(
        io: T,
        router: Arc<dyn Dispatch>,
        config: Config,
        fds: Option<Arc<FdChannel>>,
    ) -> (Connection, Driver<T>)
    where
        T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        let inner = Arc::new(Inner {
            tx,
            gate: Mutex::new(Gate::Open),
            fds,
            shared: Shared {
                reason: OnceLock::new(),
                finished: AtomicBool::new(false),
                done: Notify::new(),
                driver: AtomicWaker::new(),
                users: AtomicUsize::new(1),
                polling: AtomicBool::new(false),
                close_when_abandoned: router.is_empty(),
                tls_started: AtomicBool::new(false),
                peer_certificates: OnceLock::new(),
            },
        });
        let driver = Driver {
            io: Stream::Plain(io),
            hold: None,
            paused: false,
            switching: false,
            tls: TlsPhase::None,
            handover: None,
            after: None,
            rbuf: BytesMut::new(),
            wbuf: BytesMut::new(),
            decoder: BoxDecoder::new(),
            dispatcher: Dispatcher::new(),
            rx,
            own: inner.clone(),
            router,
            responders: FuturesUnordered::new(),
            held: VecDeque::new(),
            config,
            closing: None,
            flush_needed: false,
            shutdown_done: false,
        };
        (Connection { inner }, driver)
    }

    /// Connect to an AMP server over TCP (with `TCP_NODELAY`) and start the
    /// connection with an empty router (a pure client).
    pub async fn connect(addr: impl tokio::net::ToSocketAddrs) -> std::io::Result<Connection> {
        Self::connect_with(addr, Router::new()).await
    }

    /// Connect over TCP and serve `router` to the server as well.
    pub async fn connect_with<S>(
        addr: impl tokio::net::ToSocketAddrs,
        router: Router<S>,
    ) -> std::io::Result<Connection>
    where
        S: Clone + Send + Sync + 'static,
    {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Connection::spawn(stream, router))
    }

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
        let (conn, driver) = Self::new_unix(stream, router, Config::default());
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
        let io = UnixFdStream::new(stream);
        let fds = io.channel();
        Self::with_dispatch(io, Arc::new(router), config, Some(fds))
    }

    /// Connect to an AMP server on a UNIX socket (descriptor passing on),
    /// serving `router` to it.
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
    /// let conn = Connection::connect_unix(&path, Router::new()).await?;
    /// conn.call_raw("Ping", AmpBox::new()).await.unwrap();
    /// # Ok(()) }
    /// ```
    pub async fn connect_unix<S>(
        path: impl AsRef<std::path::Path>,
        router: Router<S>,
    ) -> std::io::Result<Connection>
    where
        S: Clone + Send + Sync + 'static,
    {
        let stream = tokio::net::UnixStream::connect(path).await?;
        Ok(Connection::spawn_unix(stream, router))
    }

    /// Run `f` with the argument context of this connection (its
    /// descriptor channel, on a UNIX socket).
    pub(crate) fn with_context<R>(&self, f: impl FnOnce(&mut Context<'_>) -> R) -> R {
        match &self.inner.fds {
            Some(chan) => {
                let mut d: &FdChannel = chan;
                f(&mut Context::with_descriptors(&mut d))
            }
            None => f(&mut Context::none()),
        }
    }

    fn encode_args<C: Command>(&self, cmd: &C) -> Result<AmpBox, amp_wire::EncodeError> {
        let mut args = AmpBox::with_capacity(C::FIELDS.len() + 2);
        self.with_context(|cx| cmd.write_fields(&mut args, cx))?;
        args.validate()?;
        Ok(args)
    }

    fn lost<E>(&self) -> CallError<E> {
        CallError::ConnectionLost(self.reason())
    }

    fn reason(&self) -> Disconnect {
        self.inner
            .shared
            .reason
            .get()
            .cloned()
            .unwrap_or(Disconnect::LocalClose)
    }

    /// Call command `C` and wait for its answer (Twisted's `callRemote`).
    ///
    /// Always asks for an answer, whatever `C::REQUIRES_ANSWER` says; see
    /// [`Connection::send`] for Twisted's exact behaviour and
    /// [`Connection::notify`] to never ask. Arguments that cannot be encoded
    /// fail here, before anything is written.
    pub async fn call<C: Command>(&self, cmd: C) -> Result<C::Response, CallError<C::Error>> {
        let span = tracing::debug_span!("amp.call", command = C::NAME);
        async move {
            let args = self.encode_args(&cmd)?;
            let reply = self
                .ask(Bytes::from_static(C::NAME.as_bytes()), args)
                .await?;
            match reply {
                Reply::Answer(b) => self
                    .with_context(|cx| C::Response::read_fields(&b, cx))
                    .map_err(CallError::BadResponse),
                other => Err(reply_error(other)),
            }
        }
        .instrument(span)
        .await
    }

    /// Call `C` as Twisted's `callRemote` does: ask for an answer only if
    /// `C::REQUIRES_ANSWER`; without one, resolve to `None` once the request
    /// is queued.
    pub async fn send<C: Command>(
        &self,
        cmd: C,
    ) -> Result<Option<C::Response>, CallError<C::Error>> {
        if C::REQUIRES_ANSWER {
            self.call(cmd).await.map(Some)
        } else {
            self.notify(cmd)
                .await
                .map_err(|e| e.map_remote(|n| match n {}))?;
            Ok(None)
        }
    }

    /// Send command `C` without asking for an answer (no `_ask` key):
    /// nothing comes back, not even an error. Resolves once the request is
    /// queued for writing.
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
        let args = self.encode_args(&cmd)?;
        self.push(Outgoing::Notify {
            name: Bytes::from_static(C::NAME.as_bytes()),
            args,
        })
        .await
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
    ///         .map(|(k, v)| (k.clone(), v.clone())).collect())
    /// }));
    /// let client = Connection::spawn(b, Router::new());
    /// let mut args = AmpBox::new();
    /// args.insert("x", "1");
    /// let answer = client.call_raw("Echo", args).await.unwrap();
    /// assert_eq!(answer.get("x").unwrap().as_ref(), b"1");
    /// # }
    /// ```
    pub async fn call_raw(
        &self,
        name: impl IntoBytes,
        args: AmpBox,
    ) -> Result<AmpBox, CallError<NoError>> {
        let name = name.into_bytes();
        let span = tracing::debug_span!("amp.call", command = %amp_wire::display_bytes(&name));
        async move {
            args.validate()?;
            check_name(&name)?;
            match self.ask(name, args).await? {
                Reply::Answer(mut b) => {
                    b.remove(dispatch::ANSWER);
                    Ok(b)
                }
                other => Err(reply_error(other)),
            }
        }
        .instrument(span)
        .await
    }

    /// Send a raw request that wants no answer.
    pub async fn notify_raw(
        &self,
        name: impl IntoBytes,
        args: AmpBox,
    ) -> Result<(), CallError<NoError>> {
        let name = name.into_bytes();
        args.validate()?;
        check_name(&name)?;
        self.push(Outgoing::Notify { name, args }).await
    }

    async fn ask<E>(&self, name: Bytes, args: AmpBox) -> Result<Reply, CallError<E>> {
        let (reply, rx) = oneshot::channel();
        self.push::<E>(Outgoing::Call { name, args, reply }).await?;
        rx.await.map_err(|_| self.lost())
    }

    /// The error for a send on a connection that has ended (or switched).
    fn ended<E>(&self) -> CallError<E> {
        if *self.inner.gate() == Gate::Switched {
            CallError::ProtocolSwitched
        } else {
            self.lost()
        }
    }

    async fn push<E>(&self, msg: Outgoing) -> Result<(), CallError<E>> {
        self.enqueue(msg, Gate::Open).await
    }

    /// Queue `msg` for the connection task if the gate is open, leaving it
    /// at `then`; the check, the change and the queueing happen together,
    /// so nothing queued after a switch request gets through.
    async fn enqueue<E>(&self, msg: Outgoing, then: Gate) -> Result<(), CallError<E>> {
        if self.inner.shared.reason.get().is_some() {
            return Err(self.ended());
        }
        let permit = self.inner.tx.reserve().await.map_err(|_| self.ended())?;
        let mut gate = self.inner.gate();
        if *gate != Gate::Open {
            return Err(CallError::ProtocolSwitched);
        }
        *gate = then;
        permit.send(msg);
        Ok(())
    }

    /// Call the protocol-switch command `C` (Twisted's
    /// `ProtocolSwitchCommand`): on success AMP is over on this connection
    /// and the stream is yours.
    ///
    /// The connection locks as the request is queued: from then on any box
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
    /// See [`Switched`] for an example.
    pub async fn switch<C: Command>(&self, cmd: C) -> Result<Switched, CallError<C::Error>> {
        let span = tracing::debug_span!("amp.switch", command = C::NAME);
        async move {
            let args = self.encode_args(&cmd)?;
            let (reply, rx) = oneshot::channel();
            let msg = Outgoing::Switch {
                name: Bytes::from_static(C::NAME.as_bytes()),
                args,
                reply,
            };
            self.enqueue(msg, Gate::Switching).await?;
            match rx.await {
                Ok(Ok(stream)) => Ok(stream),
                Ok(Err(r)) => Err(reply_error(r)),
                Err(_) => Err(self.lost()),
            }
        }
        .instrument(span)
        .await
    }

    /// Secure the connection with TLS (Twisted's `StartTLS`), with
    /// `options` as this side's certificate and the authorities the peer's
    /// certificate must chain to (none: the peer is not verified).
    ///
    /// Boxes sent after this call are held back until TLS is up, then go
    /// over TLS. Resolves once the handshake is done; then
    /// [`Connection::peer_certificates`] has the peer's chain. If the peer
    /// refuses, AMP goes on in clear and you get its error; if the
    /// handshake fails (say the certificate does not verify) the
    /// connection closes with [`Disconnect::Tls`] and nothing is left
    /// half-open. A second StartTLS fails with [`CallError::OnlyOneTls`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{tls::TlsOptions, Connection, Router};
    ///
    /// let (a, b) = tokio::io::duplex(64 * 1024);
    /// // The server presents a throwaway self-signed certificate.
    /// let server = Connection::spawn(a, Router::new().start_tls(TlsOptions::new()));
    /// let client = Connection::spawn(b, Router::new());
    /// client.start_tls(TlsOptions::new()).await.unwrap(); // anonymous: verifies nothing
    /// assert!(client.is_tls());
    /// assert_eq!(client.peer_certificates().unwrap().len(), 1);
    /// assert!(matches!(client.start_tls(TlsOptions::new()).await, Err(amp::CallError::OnlyOneTls)));
    /// # drop(server);
    /// # }
    /// ```
    pub async fn start_tls(&self, options: TlsOptions) -> Result<(), CallError<StartTlsError>> {
        let config = options.client_config().map_err(CallError::Tls)?;
        if self.inner.shared.tls_started.swap(true, Ordering::SeqCst) {
            return Err(CallError::OnlyOneTls);
        }
        let (reply, rx) = oneshot::channel();
        if let Err(e) = self
            .push::<StartTlsError>(Outgoing::StartTls {
                config,
                server_name: options.server_name(),
                reply,
            })
            .await
        {
            self.inner.shared.tls_started.store(false, Ordering::SeqCst);
            return Err(e);
        }
        match rx.await {
            Ok(Reply::Answer(_)) => Ok(()),
            Ok(r) => Err(reply_error(r)),
            Err(_) => Err(self.lost()),
        }
    }

    /// Whether TLS is up on this connection (after StartTLS, either side).
    pub fn is_tls(&self) -> bool {
        self.inner.shared.peer_certificates.get().is_some()
    }

    /// The peer's certificate chain, once TLS is up (empty if the peer
    /// presented none); `None` before.
    pub fn peer_certificates(&self) -> Option<Vec<CertificateDer<'static>>> {
        self.inner.shared.peer_certificates.get().cloned()
    }

    /// Close the connection: boxes already queued are written, then the
    /// stream is shut down. Outstanding calls fail with
    /// [`Disconnect::LocalClose`]. Resolves once the connection has ended.
    pub async fn close(&self) {
        let _ = self.inner.tx.send(Outgoing::Close).await;
        self.closed().await;
    }

    /// Wait until the connection has ended; returns why.
    pub async fn closed(&self) -> Disconnect {
        let shared = &self.inner.shared;
        loop {
            let notified = shared.done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if shared.finished.load(Ordering::Acquire) {
                return self.reason();
            }
            notified.await;
        }
    }

    /// Whether the connection has ended (or is ending).
    pub fn is_closed(&self) -> bool {
        self.inner.shared.reason.get().is_some()
    }
}

fn check_name(name: &Bytes) -> Result<(), amp_wire::EncodeError> {
    if name.len() > amp_wire::MAX_VALUE_LENGTH {
        return Err(amp_wire::EncodeError::ValueTooLong {
            key: Bytes::from_static(dispatch::COMMAND.as_bytes()),
            len: name.len(),
        });
    }
    Ok(())
}

/// Why the connection ends after an I/O error: a TLS failure (say the
/// peer rejected our certificate, which TLS 1.3 reports on the first read
/// after the handshake) is [`Disconnect::Tls`], the rest [`Disconnect::Io`].
fn io_disconnect(e: std::io::Error) -> Disconnect {
    let is_tls = e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>());
    if is_tls {
        Disconnect::Tls(TlsError::from(e))
    } else {
        Disconnect::from(e)
    }
}

/// The caller's error for a reply that is not an answer.
fn reply_error<E: amp_wire::ErrorTable>(r: Reply) -> CallError<E> {
    match r {
        Reply::Error { code, description } => {
            tracing::debug!(code = %amp_wire::display_bytes(&code), "error answer");
            CallError::from_wire(code, description)
        }
        Reply::Lost(d) => CallError::ConnectionLost(d),
        Reply::OnlyOneTls => CallError::OnlyOneTls,
        Reply::Answer(_) => {
            CallError::BadResponse(amp_wire::DecodeError::invalid("unexpected answer"))
        }
    }
}

/// A responder running for one request.
struct Running {
    tag: Option<Bytes>,
    name: Bytes,
    /// The connection stopped reading AMP for this one (switch, StartTLS).
    pauses: bool,
    span: tracing::Span,
    fut: BoxFuture<'static, Outcome>,
}

/// What a finished responder hands back.
struct Finished {
    tag: Option<Bytes>,
    name: Bytes,
    pauses: bool,
    outcome: Outcome,
}

impl Future for Running {
    type Output = Finished;
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskCx<'_>) -> Poll<Finished> {
        let this = &mut *self;
        let _e = this.span.enter();
        match this.fut.as_mut().poll(cx) {
            Poll::Ready(outcome) => Poll::Ready(Finished {
                tag: this.tag.take(),
                name: std::mem::take(&mut this.name),
                pauses: this.pauses,
                outcome,
            }),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The connection task: a future that runs the connection until it ends and
/// resolves with the reason. [`Connection::spawn`] spawns it for you.
///
/// After a protocol switch accepted by a responder here, the task goes on
/// running the new protocol (the [`SwitchTo`] handler) and resolves with
/// [`Disconnect::Switched`] when that finishes.
pub struct Driver<T> {
    io: Stream<T>,
    rbuf: BytesMut,
    wbuf: BytesMut,
    /// Boxes held back while StartTLS is pending or a switch request is
    /// out; written (or, after a switch, dropped) when that ends.
    hold: Option<BytesMut>,
    decoder: BoxDecoder,
    dispatcher: Dispatcher<Pending>,
    rx: mpsc::Receiver<Outgoing>,
    /// The connection's shared half (not counted as a user handle).
    own: Arc<Inner>,
    router: Arc<dyn Dispatch>,
    responders: FuturesUnordered<Running>,
    /// Requests received while `max_in_flight` responders were running.
    held: VecDeque<(Bytes, Option<Bytes>, AmpBox)>,
    config: Config,
    /// A switch or StartTLS responder is running: AMP reading stops.
    paused: bool,
    /// Our switch request is out (answers are held).
    switching: bool,
    tls: TlsPhase,
    /// A switch was accepted: flush, then hand the stream over.
    handover: Option<Handover>,
    /// The protocol switched to, run by this task to completion.
    after: Option<BoxFuture<'static, ()>>,
    /// Set once the connection is ending: flush what may be flushed, shut
    /// down, finish.
    closing: Option<(Disconnect, bool)>,
    flush_needed: bool,
    shutdown_done: bool,
}

/// Where outgoing boxes go: the hold while one is kept, else the write
/// buffer. (Fields, not `&mut self`, so the dispatcher can be borrowed too.)
fn out<'a>(hold: &'a mut Option<BytesMut>, wbuf: &'a mut BytesMut) -> &'a mut BytesMut {
    match hold {
        Some(h) => h,
        None => wbuf,
    }
}

impl<T> Drop for Driver<T> {
    /// A driver dropped before the connection ended (its runtime shut down,
    /// or the future was abandoned) still ends the connection for every
    /// handle: calls fail, `closed()` returns.
    fn drop(&mut self) {
        let shared = &self.own.shared;
        let _ = shared.reason.set(Disconnect::LocalClose);
        shared.finished.store(true, Ordering::Release);
        shared.done.notify_waiters();
    }
}

impl<T> Driver<T> {
    fn shared(&self) -> &Shared {
        &self.own.shared
    }

    /// A handle for a responder's [`Ctx`](crate::Ctx).
    fn handle(&self) -> Connection {
        self.shared().users.fetch_add(1, Ordering::SeqCst);
        Connection {
            inner: self.own.clone(),
        }
    }

    fn out_len(&self) -> usize {
        self.wbuf.len() + self.hold.as_ref().map_or(0, |h| h.len())
    }

    fn write_box(&mut self, b: &AmpBox) {
        b.encode_unchecked(out(&mut self.hold, &mut self.wbuf));
    }

    /// Whether boxes must be held back now.
    fn must_hold(&self) -> bool {
        self.switching
            || matches!(
                self.tls,
                TlsPhase::Asked | TlsPhase::Flush(_) | TlsPhase::Handshake(_)
            )
    }

    /// Start holding boxes back.
    fn hold(&mut self) {
        if self.hold.is_none() {
            self.hold = Some(BytesMut::new());
        }
    }

    /// Stop holding if nothing needs it any more: held boxes go out.
    fn release(&mut self) {
        if !self.must_hold() {
            if let Some(h) = self.hold.take() {
                self.wbuf.unsplit(h);
            }
        }
    }

    /// How much may be held back while a switch or StartTLS waits (our own
    /// calls stop at the high-water mark; answers to a peer that keeps
    /// calling would grow without bound).
    fn hold_limit(&self) -> usize {
        (self.config.write_high_water * 16).max(1 << 20)
    }

    /// AMP boxes may be decoded from the read buffer now.
    fn may_decode(&self) -> bool {
        self.closing.is_none()
            && !self.paused
            && self.handover.is_none()
            && matches!(self.tls, TlsPhase::None | TlsPhase::Asked | TlsPhase::Up)
    }

    /// Start ending the connection. `flush`: write what is queued first.
    fn begin_close(&mut self, reason: Disconnect, flush: bool) {
        if self.closing.is_some() {
            return;
        }
        match &reason {
            Disconnect::PeerClosed | Disconnect::LocalClose | Disconnect::Switched => {
                tracing::debug!(%reason, "AMP connection closing")
            }
            _ => tracing::warn!(%reason, "AMP connection closing"),
        }
        let _ = self.own.shared.reason.set(reason.clone());
        self.fail_outstanding(&reason);
        match std::mem::replace(&mut self.tls, TlsPhase::None) {
            TlsPhase::Flush(TlsSide::Client { reply, .. }) | TlsPhase::Handshake(Some(reply)) => {
                let _ = reply.send(Reply::Lost(reason.clone()));
            }
            TlsPhase::Up => self.tls = TlsPhase::Up,
            _ => {}
        }
        if let Some(Handover::Caller(tx)) = self.handover.take() {
            let _ = tx.send(Err(Reply::Lost(reason.clone())));
        }
        // Boxes held for TLS that never came up, or for a switch, are not
        // sent: the connection is ending.
        self.hold = None;
        if !flush || self.io.handshaking() {
            self.wbuf.clear();
        }
        self.closing = Some((reason, flush));
    }

    /// AMP is over (closing or switched): every call waiting for an answer
    /// or still queued fails with `reason`, nothing more is taken from the
    /// handles, and requests being answered are dropped.
    fn fail_outstanding(&mut self, reason: &Disconnect) {
        for pending in self.dispatcher.drain() {
            pending.lost(reason);
        }
        self.rx.close();
        while let Ok(msg) = self.rx.try_recv() {
            match msg {
                Outgoing::Call { reply, .. } | Outgoing::StartTls { reply, .. } => {
                    let _ = reply.send(Reply::Lost(reason.clone()));
                }
                Outgoing::Switch { reply, .. } => {
                    let _ = reply.send(Err(Reply::Lost(reason.clone())));
                }
                Outgoing::Notify { .. } | Outgoing::Close => {}
            }
        }
        if !self.responders.is_empty() || !self.held.is_empty() {
            tracing::debug!(
                running = self.responders.len(),
                parked = self.held.len(),
                %reason,
                "requests still being answered are dropped"
            );
        }
        self.responders = FuturesUnordered::new();
        self.held.clear();
    }

    fn on_outgoing(&mut self, msg: Outgoing) {
        match msg {
            Outgoing::Call { name, args, reply } => {
                if reply.is_closed() {
                    return; // the caller gave up before we got to it
                }
                let dst = out(&mut self.hold, &mut self.wbuf);
                self.dispatcher
                    .ask_into(&name, &args, Pending::Call(reply), dst);
            }
            Outgoing::Notify { name, args } => {
                let dst = out(&mut self.hold, &mut self.wbuf);
                self.dispatcher.notify_into(&name, &args, dst);
            }
            Outgoing::Switch { name, args, reply } => {
                let dst = out(&mut self.hold, &mut self.wbuf);
                self.dispatcher
                    .ask_into(&name, &args, Pending::Switch(reply), dst);
                // Locked: our responders' answers wait for the outcome.
                self.switching = true;
                self.hold();
            }
            Outgoing::StartTls {
                config,
                server_name,
                reply,
            } => {
                if !matches!(self.tls, TlsPhase::None) {
                    let _ = reply.send(Reply::OnlyOneTls);
                    return;
                }
                let dst = out(&mut self.hold, &mut self.wbuf);
                self.dispatcher.ask_into(
                    b"StartTLS",
                    &AmpBox::new(),
                    Pending::StartTls {
                        config,
                        server_name,
                        reply,
                    },
                    dst,
                );
                self.tls = TlsPhase::Asked;
                self.hold();
            }
            Outgoing::Close => self.begin_close(Disconnect::LocalClose, true),
        }
    }

    fn on_box(&mut self, b: AmpBox, cx: &mut TaskCx<'_>) {
        match self.dispatcher.receive(b) {
            Ok(Incoming::Answer { pending, body }) => match pending {
                Pending::Call(tx) => {
                    let _ = tx.send(Reply::Answer(body));
                }
                Pending::Switch(tx) => self.switch_now(Handover::Caller(tx)),
                Pending::StartTls {
                    config,
                    server_name,
                    reply,
                } => {
                    // Stop decoding here: what follows is TLS.
                    self.tls = TlsPhase::Flush(TlsSide::Client {
                        config,
                        server_name,
                        reply,
                    });
                }
            },
            Ok(Incoming::Error {
                pending,
                code,
                description,
            }) => match pending {
                Pending::Call(tx) => {
                    let _ = tx.send(Reply::Error { code, description });
                }
                Pending::Switch(tx) => {
                    // Refused: unlock, let the held answers go, AMP goes on.
                    self.switching = false;
                    *self.own.gate() = Gate::Open;
                    self.release();
                    let _ = tx.send(Err(Reply::Error { code, description }));
                }
                Pending::StartTls { reply, .. } => {
                    self.tls = TlsPhase::None;
                    self.shared().tls_started.store(false, Ordering::SeqCst);
                    self.release();
                    let _ = reply.send(Reply::Error { code, description });
                }
            },
            Ok(Incoming::Request { name, tag, args }) => {
                if self.responders.len() >= self.config.max_in_flight {
                    // At the limit: park it (reading has stopped too) and
                    // start it when a responder finishes.
                    self.held.push_back((name, tag, args));
                } else {
                    self.start_request(name, tag, args, cx);
                }
            }
            Err(e) => self.begin_close(Disconnect::Protocol(e), true),
        }
    }

    /// A switch was accepted (our request answered, or our responder said
    /// yes): AMP is over. Fail what can no longer be answered; the stream
    /// is handed over once what precedes the switch is written.
    fn switch_now(&mut self, to: Handover) {
        *self.own.gate() = Gate::Switched;
        self.switching = false;
        self.paused = false;
        let _ = self.own.shared.reason.set(Disconnect::Switched);
        if let Some(h) = self.hold.take() {
            if !h.is_empty() {
                tracing::warn!(
                    bytes = h.len(),
                    "AMP boxes produced while the switch was pending are dropped: the connection switched"
                );
            }
        }
        self.fail_outstanding(&Disconnect::Switched);
        self.handover = Some(to);
    }

    fn start_request(
        &mut self,
        name: Bytes,
        tag: Option<Bytes>,
        args: AmpBox,
        cx: &mut TaskCx<'_>,
    ) {
        let peer = self.handle();
        let span = tracing::debug_span!(
            "amp.respond",
            command = %amp_wire::display_bytes(&name),
            tag = %tag.as_ref().map(|t| amp_wire::display_bytes(t)).unwrap_or_default()
        );
        match self.router.dispatch(&name, args, peer) {
            Some((fut, pauses)) => {
                // A switch or StartTLS: what follows the request may not be
                // AMP, so stop decoding until the responder has decided.
                self.paused |= pauses;
                let mut running = Running {
                    tag,
                    name,
                    pauses,
                    span,
                    fut,
                };
                // Most responders finish at once: answer without a trip
                // through the responder set.
                match Pin::new(&mut running).poll(cx) {
                    Poll::Ready(f) => self.on_outcome(f),
                    Poll::Pending => self.responders.push(running),
                }
            }
            None => match tag {
                Some(tag) => {
                    let e = RawError::unhandled(&name);
                    self.write_error(tag, &e);
                }
                None => self.begin_close(
                    Disconnect::NoAnswerFailed {
                        command: amp_wire::display_bytes(&name),
                        reason: "no responder".into(),
                    },
                    true,
                ),
            },
        }
    }

    fn write_error(&mut self, tag: Bytes, e: &RawError) {
        let mut desc = e.description.as_str();
        if desc.len() > amp_wire::MAX_VALUE_LENGTH {
            let mut end = amp_wire::MAX_VALUE_LENGTH;
            while !desc.is_char_boundary(end) {
                end -= 1;
            }
            desc = &desc[..end];
        }
        let mut code = e.code.clone();
        if code.len() > amp_wire::MAX_VALUE_LENGTH {
            code.truncate(amp_wire::MAX_VALUE_LENGTH);
        }
        let b = dispatch::error_box(tag, code, Bytes::copy_from_slice(desc.as_bytes()));
        self.write_box(&b);
    }

    fn on_outcome(&mut self, f: Finished) {
        let Finished {
            tag,
            name,
            pauses,
            outcome,
        } = f;
        if pauses {
            self.paused = false;
        }
        let command = || amp_wire::display_bytes(&name);
        match (tag, outcome) {
            (Some(tag), Outcome::Answer(b)) => {
                let dst = out(&mut self.hold, &mut self.wbuf);
                dispatch::write_answer(&tag, &b, dst)
            }
            (None, Outcome::Answer(_)) => {}
            (tag, Outcome::Switch(to)) => {
                if self.switching || !matches!(self.tls, TlsPhase::None | TlsPhase::Up) {
                    // Our own switch or StartTLS is under way: the two
                    // cannot both happen.
                    if let Some(tag) = tag {
                        self.write_error(
                            tag,
                            &RawError::new(
                                "PROTOCOL_SWITCHED",
                                "a protocol switch or StartTLS is already under way",
                            ),
                        );
                    }
                    return;
                }
                if let Some(tag) = tag {
                    dispatch::write_answer(&tag, &AmpBox::new(), &mut self.wbuf);
                }
                self.switch_now(Handover::Responder(to));
            }
            (tag, Outcome::StartTls(config)) => {
                let refusal = if !matches!(self.tls, TlsPhase::None) {
                    Some(RawError::new(
                        ONLY_ONE_TLS,
                        "TLS was already started on this connection",
                    ))
                } else if self.switching || self.hold.is_some() {
                    Some(RawError::new(
                        crate::starttls::TLS_ERROR,
                        "a protocol switch is under way",
                    ))
                } else {
                    None
                };
                match (tag, refusal) {
                    (Some(tag), Some(e)) => self.write_error(tag, &e),
                    (None, Some(_)) => {}
                    (tag, None) => {
                        if let Some(tag) = tag {
                            dispatch::write_answer(&tag, &AmpBox::new(), &mut self.wbuf);
                        }
                        self.shared().tls_started.store(true, Ordering::SeqCst);
                        self.tls = TlsPhase::Flush(TlsSide::Server(config));
                        // Nothing more in clear: the client reads TLS next.
                        self.hold();
                    }
                }
            }
            (Some(tag), Outcome::Error(e)) => {
                self.write_error(tag, &e);
                if e.fatal {
                    self.begin_close(
                        Disconnect::FatalError {
                            code: amp_wire::display_bytes(&e.code),
                            description: e.description,
                        },
                        true,
                    );
                }
            }
            (Some(tag), Outcome::Unknown(reason)) => {
                tracing::error!(command = %command(), %reason, "responder failed; sending UNKNOWN and closing");
                self.write_error(tag, &RawError::unknown());
                self.begin_close(
                    Disconnect::UnknownError {
                        command: command(),
                        reason,
                    },
                    true,
                );
            }
            (None, Outcome::Error(e)) => self.begin_close(
                Disconnect::NoAnswerFailed {
                    command: command(),
                    reason: e.to_string(),
                },
                true,
            ),
            (None, Outcome::Unknown(reason)) => self.begin_close(
                Disconnect::NoAnswerFailed {
                    command: command(),
                    reason,
                },
                true,
            ),
        }
    }

    fn reading_paused(&self) -> bool {
        !self.held.is_empty()
            || self.paused
            || self.handover.is_some()
            || !matches!(self.tls, TlsPhase::None | TlsPhase::Asked | TlsPhase::Up)
            || self.responders.len() >= self.config.max_in_flight
            // Only what can be written counts: boxes held for StartTLS or a
            // switch wait for an answer that must still be read.
            || self.wbuf.len() >= self.config.write_high_water
    }

    /// Nothing left to do and nobody can ask for more: close.
    fn idle_and_abandoned(&self) -> bool {
        self.shared().close_when_abandoned
            && self.shared().users.load(Ordering::SeqCst) == 0
            && self.responders.is_empty()
            && self.held.is_empty()
            && self.dispatcher.outstanding() == 0
            && self.rx.is_empty()
            && matches!(self.tls, TlsPhase::None | TlsPhase::Up)
            && self.handover.is_none()
    }
}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Driver<T> {
    fn decode_buffered(&mut self, cx: &mut TaskCx<'_>) {
        while self.may_decode() {
            match self.decoder.decode(&mut self.rbuf) {
                Ok(Some(b)) => self.on_box(b, cx),
                Ok(None) => break,
                Err(e) => self.begin_close(Disconnect::Protocol(e), true),
            }
        }
        if self.rbuf.is_empty() && self.rbuf.capacity() > KEEP_READ_CAPACITY {
            self.rbuf = BytesMut::new();
        }
    }

    /// Everything before the TLS handshake or the switch is written.
    fn flushed(&self) -> bool {
        self.wbuf.is_empty() && !self.flush_needed
    }

    /// StartTLS accepted and what precedes it written: start the handshake.
    fn begin_handshake(&mut self) {
        if !self.rbuf.is_empty() {
            let buffered = self.rbuf.len();
            self.begin_close(Disconnect::PlaintextBeforeTls { buffered }, false);
            return;
        }
        self.rbuf = BytesMut::new();
        let Some(io) = self.io.take_plain() else {
            self.begin_close(
                Disconnect::Tls(TlsError::Handshake("the transport is not plain".into())),
                false,
            );
            return;
        };
        match std::mem::replace(&mut self.tls, TlsPhase::None) {
            TlsPhase::Flush(TlsSide::Client {
                config,
                server_name,
                reply,
            }) => {
                let connect = tokio_rustls::TlsConnector::from(config).connect(server_name, io);
                self.io = Stream::Connecting(Box::new(connect));
                self.tls = TlsPhase::Handshake(Some(reply));
            }
            TlsPhase::Flush(TlsSide::Server(config)) => {
                let accept = tokio_rustls::TlsAcceptor::from(config).accept(io);
                self.io = Stream::Accepting(Box::new(accept));
                self.tls = TlsPhase::Handshake(None);
            }
            other => self.tls = other,
        }
        // Boxes produced from here on wait for the handshake.
        self.hold();
    }

    /// Drive the handshake. Returns whether anything moved.
    fn poll_tls(&mut self, cx: &mut TaskCx<'_>) -> bool {
        match self.io.poll_handshake(cx) {
            Poll::Pending => false,
            Poll::Ready(Handshaken::Done(stream)) => {
                let certs = stream.peer_certificates().unwrap_or_default();
                tracing::debug!(peer_certificates = certs.len(), "TLS is up");
                let _ = self.own.shared.peer_certificates.set(certs);
                self.io = stream;
                if let TlsPhase::Handshake(Some(reply)) =
                    std::mem::replace(&mut self.tls, TlsPhase::Up)
                {
                    let _ = reply.send(Reply::Answer(AmpBox::new()));
                }
                self.release();
                true
            }
            Poll::Ready(Handshaken::Failed(e)) => {
                self.begin_close(Disconnect::Tls(TlsError::from(e)), false);
                true
            }
        }
    }

    /// Hand the stream over after a switch, once everything before it is
    /// written. Returns whether the handover happened.
    fn try_handover(&mut self) -> bool {
        if !self.flushed() {
            return false;
        }
        let Some(to) = self.handover.take() else {
            return false;
        };
        let io = std::mem::replace(&mut self.io, Stream::Gone);
        let certs = self.own.shared.peer_certificates.get().cloned();
        let prefix = self.rbuf.split().freeze();
        self.rbuf = BytesMut::new();
        self.wbuf = BytesMut::new();
        let Some(io) = io.into_io() else {
            self.begin_close(Disconnect::Switched, false);
            return true;
        };
        let stream = Switched::new(io, prefix, certs);
        tracing::debug!(buffered = stream.buffered().len(), "protocol switched");
        match to {
            Handover::Caller(tx) => {
                // If the caller gave up, the stream is dropped: closed.
                let _ = tx.send(Ok(stream));
            }
            Handover::Responder(to) => self.after = Some((to.handler)(stream)),
        }
        self.begin_close(Disconnect::Switched, false);
        self.shutdown_done = true; // the stream is not ours to shut down
        true
    }

    /// One pass over every source of work. Returns whether anything moved.
    fn pass(&mut self, cx: &mut TaskCx<'_>) -> bool {
        let mut progress = false;
        if self.closing.is_none() {
            // Outgoing calls from handles.
            while self.closing.is_none() && self.out_len() < self.config.write_high_water {
                match self.rx.poll_recv(cx) {
                    Poll::Ready(Some(msg)) => {
                        self.on_outgoing(msg);
                        progress = true;
                    }
                    _ => break,
                }
            }
            // Finished responders.
            while self.closing.is_none() {
                match self.responders.poll_next_unpin(cx) {
                    Poll::Ready(Some(f)) => {
                        self.on_outcome(f);
                        progress = true;
                    }
                    _ => break,
                }
            }
            // Requests parked at the in-flight limit (or behind a pause).
            while self.may_decode() && self.responders.len() < self.config.max_in_flight {
                match self.held.pop_front() {
                    Some((name, tag, args)) => {
                        self.start_request(name, tag, args, cx);
                        progress = true;
                    }
                    None => break,
                }
            }
            // A pause just ended: boxes already buffered go on.
            if self.may_decode() && self.held.is_empty() && !self.rbuf.is_empty() {
                let before = self.rbuf.len();
                self.decode_buffered(cx);
                progress |= self.rbuf.len() != before;
            }
            // TLS: start the handshake once what precedes it is written;
            // then drive it.
            if self.closing.is_none() && matches!(self.tls, TlsPhase::Flush(_)) && self.flushed() {
                self.begin_handshake();
                progress = true;
            }
            if self.closing.is_none() && self.io.handshaking() {
                progress |= self.poll_tls(cx);
            }
            // Incoming bytes.
            if self.closing.is_none() && !self.reading_paused() && !self.io.handshaking() {
                if self.rbuf.capacity() - self.rbuf.len() < READ_RESERVE / 2 {
                    self.rbuf.reserve(READ_RESERVE);
                }
                match tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, &mut self.rbuf) {
                    Poll::Ready(Ok(0)) => {
                        let reason = if self.rbuf.is_empty() {
                            Disconnect::PeerClosed
                        } else {
                            Disconnect::Protocol(ProtocolError::TruncatedBox {
                                buffered: self.rbuf.len(),
                            })
                        };
                        self.begin_close(reason, true);
                        progress = true;
                    }
                    Poll::Ready(Ok(_)) => {
                        self.decode_buffered(cx);
                        progress = true;
                    }
                    Poll::Ready(Err(e)) => {
                        let reason = io_disconnect(e);
                        self.begin_close(reason, false);
                        progress = true;
                    }
                    Poll::Pending => {
                        // Idle: give the read buffer back (an idle
                        // connection then costs a few hundred bytes here).
                        if self.rbuf.is_empty() {
                            self.rbuf = BytesMut::new();
                        }
                    }
                }
            }
            if let Some(held) = self.hold.as_ref().map(|h| h.len()) {
                if held > self.hold_limit() && self.closing.is_none() {
                    self.begin_close(Disconnect::HeldTooMuch { held }, false);
                    progress = true;
                }
            }
            if self.closing.is_none() && self.idle_and_abandoned() {
                self.begin_close(Disconnect::LocalClose, true);
                progress = true;
            }
        }
        // Outgoing bytes (none while a handshake owns the transport).
        while !self.wbuf.is_empty() && !self.io.handshaking() {
            match Pin::new(&mut self.io).poll_write(cx, &self.wbuf) {
                Poll::Ready(Ok(0)) => {
                    self.wbuf.clear();
                    self.begin_close(
                        std::io::Error::from(std::io::ErrorKind::WriteZero).into(),
                        false,
                    );
                }
                Poll::Ready(Ok(n)) => {
                    self.wbuf.advance(n);
                    self.flush_needed = true;
                    progress = true;
                }
                Poll::Ready(Err(e)) => {
                    self.wbuf.clear();
                    self.begin_close(io_disconnect(e), false);
                }
                Poll::Pending => break,
            }
        }
        if self.wbuf.is_empty() {
            if self.wbuf.capacity() > KEEP_WRITE_CAPACITY {
                self.wbuf = BytesMut::new();
            }
            if self.flush_needed && !self.io.handshaking() {
                match Pin::new(&mut self.io).poll_flush(cx) {
                    Poll::Ready(r) => {
                        self.flush_needed = false;
                        progress = true;
                        if let Err(e) = r {
                            self.begin_close(e.into(), false);
                        }
                    }
                    Poll::Pending => {}
                }
            }
        }
        if self.handover.is_some() && self.closing.is_none() {
            progress |= self.try_handover();
        }
        progress
    }
}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Future for Driver<T> {
    type Output = Disconnect;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskCx<'_>) -> Poll<Disconnect> {
        let this = &mut *self;
        if let Some(after) = &mut this.after {
            // Switched: run the new protocol to its end.
            return match after.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.after = None;
                    Poll::Ready(Disconnect::Switched)
                }
                Poll::Pending => Poll::Pending,
            };
        }
        this.own.shared.driver.register(cx.waker());
        this.own.shared.polling.store(true, Ordering::SeqCst);
        let r = this.poll_inner(cx);
        this.own.shared.polling.store(false, Ordering::SeqCst);
        if r.is_pending() && this.closing.is_none() && this.idle_and_abandoned() {
            // The last handle went while we were polling; go round again.
            cx.waker().wake_by_ref();
        }
        if r.is_ready() && this.after.is_some() {
            // AMP is over; go on with the protocol switched to.
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        r
    }
}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Driver<T> {
    fn poll_inner(&mut self, cx: &mut TaskCx<'_>) -> Poll<Disconnect> {
        let this = self;
        for _ in 0..POLL_BUDGET {
            let progress = this.pass(cx);
            if let Some((reason, flush)) = &this.closing {
                let flushed = !*flush || (this.wbuf.is_empty() && !this.flush_needed);
                if flushed {
                    if !this.shutdown_done {
                        match Pin::new(&mut this.io).poll_shutdown(cx) {
                            Poll::Ready(_) => this.shutdown_done = true,
                            Poll::Pending if *flush => return Poll::Pending,
                            Poll::Pending => this.shutdown_done = true,
                        }
                    }
                    let reason = reason.clone();
                    // Nothing is left half-open: the transport closes now.
                    this.io = Stream::Gone;
                    this.own.shared.finished.store(true, Ordering::Release);
                    this.own.shared.done.notify_waiters();
                    return Poll::Ready(reason);
                }
                if !progress {
                    return Poll::Pending;
                }
                continue;
            }
            if !progress {
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Accept AMP connections on `listener` forever, serving `router` on each
/// (with `TCP_NODELAY`). Returns only if accepting fails.
pub async fn serve<S>(listener: tokio::net::TcpListener, router: Router<S>) -> std::io::Result<()>
where
    S: Clone + Send + Sync + 'static,
{
    serve_with(listener, router, Config::default()).await
}

/// [`serve`] with explicit [`Config`] for every connection.
///
/// ```no_run
/// # async fn run(router: amp::Router) -> std::io::Result<()> {
/// let mut config = amp::Config::default();
/// config.max_in_flight = 64; // stop reading past 64 requests being answered
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:1234").await?;
/// amp::serve_with(listener, router, config).await
/// # }
/// ```
pub async fn serve_with<S>(
    listener: tokio::net::TcpListener,
    router: Router<S>,
    config: Config,
) -> std::io::Result<()>
where
    S: Clone + Send + Sync + 'static,
{
    let router: Arc<dyn Dispatch> = Arc::new(router);
    loop {
        let (stream, peer) = listener.accept().await?;
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(%peer, "set_nodelay failed: {e}");
        }
        tracing::debug!(%peer, "AMP connection accepted");
        let (_, driver) = Connection::with_dispatch(stream, router.clone(), config.clone(), None);
        tokio::spawn(driver);
    }
}

/// Accept AMP connections on a UNIX socket forever, serving `router` on
/// each, with descriptor passing (see [`Connection::spawn_unix`]; an
/// example is at [`Connection::connect_unix`]).
pub async fn serve_unix<S>(
    listener: tokio::net::UnixListener,
    router: Router<S>,
) -> std::io::Result<()>
where
    S: Clone + Send + Sync + 'static,
{
    let router: Arc<dyn Dispatch> = Arc::new(router);
    loop {
        let (stream, _) = listener.accept().await?;
        tracing::debug!("AMP connection accepted on a UNIX socket");
        let io = UnixFdStream::new(stream);
        let fds = io.channel();
        let (_, driver) =
            Connection::with_dispatch(io, router.clone(), Config::default(), Some(fds));
        tokio::spawn(driver);
    }
}
