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
use std::sync::{Arc, OnceLock};
use std::task::{Context as TaskCx, Poll};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot, Notify};
use tracing::Instrument;

use amp_wire::dispatch::{self, Dispatcher, Incoming};
use amp_wire::{AmpBox, BoxDecoder, Command, Context, IntoBytes, NoError, ProtocolError, Record};

use crate::error::{CallError, Disconnect, RawError};
use crate::router::{Dispatch, Outcome, Router};

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
    Error { code: Bytes, description: String },
    Lost(Disconnect),
}

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
    Close,
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
}

struct Inner {
    tx: mpsc::Sender<Outgoing>,
    shared: Shared,
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
        T: AsyncRead + AsyncWrite + Unpin,
        S: Clone + Send + Sync + 'static,
    {
        Self::with_dispatch(io, Arc::new(router), config)
    }

    fn with_dispatch<T>(io: T, router: Arc<dyn Dispatch>, config: Config) -> (Connection, Driver<T>)
    where
        T: AsyncRead + AsyncWrite + Unpin,
    {
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        let inner = Arc::new(Inner {
            tx,
            shared: Shared {
                reason: OnceLock::new(),
                finished: AtomicBool::new(false),
                done: Notify::new(),
                driver: AtomicWaker::new(),
                users: AtomicUsize::new(1),
                polling: AtomicBool::new(false),
                close_when_abandoned: router.is_empty(),
            },
        });
        let driver = Driver {
            io,
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
            let args = encode_args(&cmd)?;
            let reply = self
                .ask(Bytes::from_static(C::NAME.as_bytes()), args)
                .await?;
            match reply {
                Reply::Answer(b) => C::Response::read_fields(&b, &mut Context::none())
                    .map_err(CallError::BadResponse),
                Reply::Error { code, description } => {
                    tracing::debug!(code = %amp_wire::display_bytes(&code), "error answer");
                    Err(CallError::from_wire(code, description))
                }
                Reply::Lost(d) => Err(CallError::ConnectionLost(d)),
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
        let args = encode_args(&cmd)?;
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
                Reply::Error { code, description } => Err(CallError::from_wire(code, description)),
                Reply::Lost(d) => Err(CallError::ConnectionLost(d)),
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

    async fn push<E>(&self, msg: Outgoing) -> Result<(), CallError<E>> {
        if self.inner.shared.reason.get().is_some() {
            return Err(self.lost());
        }
        self.inner.tx.send(msg).await.map_err(|_| self.lost())
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

fn encode_args<C: Command>(cmd: &C) -> Result<AmpBox, amp_wire::EncodeError> {
    let mut args = AmpBox::with_capacity(C::FIELDS.len() + 2);
    cmd.write_fields(&mut args, &mut Context::none())?;
    args.validate()?;
    Ok(args)
}

/// A responder running for one request.
struct Running {
    tag: Option<Bytes>,
    name: Bytes,
    span: tracing::Span,
    fut: BoxFuture<'static, Outcome>,
}

impl Future for Running {
    type Output = (Option<Bytes>, Bytes, Outcome);
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskCx<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let _e = this.span.enter();
        match this.fut.as_mut().poll(cx) {
            Poll::Ready(o) => Poll::Ready((this.tag.take(), std::mem::take(&mut this.name), o)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The connection task: a future that runs the connection until it ends and
/// resolves with the reason. [`Connection::spawn`] spawns it for you.
pub struct Driver<T> {
    io: T,
    rbuf: BytesMut,
    wbuf: BytesMut,
    decoder: BoxDecoder,
    dispatcher: Dispatcher<oneshot::Sender<Reply>>,
    rx: mpsc::Receiver<Outgoing>,
    /// The connection's shared half (not counted as a user handle).
    own: Arc<Inner>,
    router: Arc<dyn Dispatch>,
    responders: FuturesUnordered<Running>,
    /// Requests received while `max_in_flight` responders were running.
    held: VecDeque<(Bytes, Option<Bytes>, AmpBox)>,
    config: Config,
    /// Set once the connection is ending: flush what may be flushed, shut
    /// down, finish.
    closing: Option<(Disconnect, bool)>,
    flush_needed: bool,
    shutdown_done: bool,
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

    fn write_box(&mut self, b: &AmpBox) {
        b.encode_unchecked(&mut self.wbuf);
    }

    /// Start ending the connection. `flush`: write what is queued first.
    fn begin_close(&mut self, reason: Disconnect, flush: bool) {
        if self.closing.is_some() {
            return;
        }
        match &reason {
            Disconnect::PeerClosed | Disconnect::LocalClose => {
                tracing::debug!(%reason, "AMP connection closing")
            }
            _ => tracing::warn!(%reason, "AMP connection closing"),
        }
        let _ = self.own.shared.reason.set(reason.clone());
        for pending in self.dispatcher.drain() {
            let _ = pending.send(Reply::Lost(reason.clone()));
        }
        self.rx.close();
        while let Ok(msg) = self.rx.try_recv() {
            if let Outgoing::Call { reply, .. } = msg {
                let _ = reply.send(Reply::Lost(reason.clone()));
            }
        }
        self.responders = FuturesUnordered::new();
        self.held.clear();
        if !flush {
            self.wbuf.clear();
        }
        self.closing = Some((reason, flush));
    }

    fn on_outgoing(&mut self, msg: Outgoing) {
        match msg {
            Outgoing::Call { name, args, reply } => {
                if reply.is_closed() {
                    return; // the caller gave up before we got to it
                }
                self.dispatcher
                    .ask_into(&name, &args, reply, &mut self.wbuf);
            }
            Outgoing::Notify { name, args } => {
                self.dispatcher.notify_into(&name, &args, &mut self.wbuf);
            }
            Outgoing::Close => self.begin_close(Disconnect::LocalClose, true),
        }
    }

    fn on_box(&mut self, b: AmpBox, cx: &mut TaskCx<'_>) {
        match self.dispatcher.receive(b) {
            Ok(Incoming::Answer { pending, body }) => {
                let _ = pending.send(Reply::Answer(body));
            }
            Ok(Incoming::Error {
                pending,
                code,
                description,
            }) => {
                let _ = pending.send(Reply::Error { code, description });
            }
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
            Some(fut) => {
                let mut running = Running {
                    tag,
                    name,
                    span,
                    fut,
                };
                // Most responders finish at once: answer without a trip
                // through the responder set.
                match Pin::new(&mut running).poll(cx) {
                    Poll::Ready((tag, name, outcome)) => self.on_outcome(tag, name, outcome),
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

    fn on_outcome(&mut self, tag: Option<Bytes>, name: Bytes, outcome: Outcome) {
        let command = || amp_wire::display_bytes(&name);
        match (tag, outcome) {
            (Some(tag), Outcome::Answer(b)) => dispatch::write_answer(&tag, &b, &mut self.wbuf),
            (None, Outcome::Answer(_)) => {}
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
            || self.responders.len() >= self.config.max_in_flight
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
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> Driver<T> {
    fn decode_buffered(&mut self, cx: &mut TaskCx<'_>) {
        while self.closing.is_none() {
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

    /// One pass over every source of work. Returns whether anything moved.
    fn pass(&mut self, cx: &mut TaskCx<'_>) -> bool {
        let mut progress = false;
        if self.closing.is_none() {
            // Outgoing calls from handles.
            while self.closing.is_none() && self.wbuf.len() < self.config.write_high_water {
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
                    Poll::Ready(Some((tag, name, outcome))) => {
                        self.on_outcome(tag, name, outcome);
                        progress = true;
                    }
                    _ => break,
                }
            }
            // Requests parked at the in-flight limit.
            while self.closing.is_none() && self.responders.len() < self.config.max_in_flight {
                match self.held.pop_front() {
                    Some((name, tag, args)) => {
                        self.start_request(name, tag, args, cx);
                        progress = true;
                    }
                    None => break,
                }
            }
            // Incoming bytes.
            if self.closing.is_none() && !self.reading_paused() {
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
                        self.begin_close(e.into(), false);
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
            if self.closing.is_none() && self.idle_and_abandoned() {
                self.begin_close(Disconnect::LocalClose, true);
                progress = true;
            }
        }
        // Outgoing bytes.
        while !self.wbuf.is_empty() {
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
                    self.begin_close(e.into(), false);
                }
                Poll::Pending => break,
            }
        }
        if self.wbuf.is_empty() {
            if self.wbuf.capacity() > KEEP_WRITE_CAPACITY {
                self.wbuf = BytesMut::new();
            }
            if self.flush_needed {
                match Pin::new(&mut self.io).poll_flush(cx) {
                    Poll::Ready(r) => {
                        self.flush_needed = false;
                        if let Err(e) = r {
                            self.begin_close(e.into(), false);
                        }
                    }
                    Poll::Pending => {}
                }
            }
        }
        progress
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> Future for Driver<T> {
    type Output = Disconnect;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskCx<'_>) -> Poll<Disconnect> {
        let this = &mut *self;
        this.own.shared.driver.register(cx.waker());
        this.own.shared.polling.store(true, Ordering::SeqCst);
        let r = this.poll_inner(cx);
        this.own.shared.polling.store(false, Ordering::SeqCst);
        if r.is_pending() && this.closing.is_none() && this.idle_and_abandoned() {
            // The last handle went while we were polling; go round again.
            cx.waker().wake_by_ref();
        }
        r
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> Driver<T> {
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
        let (_, driver) = Connection::with_dispatch(stream, router.clone(), config.clone());
        tokio::spawn(driver);
    }
}
