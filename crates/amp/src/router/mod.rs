//! The responder side: which code answers which command.

mod bound;
mod ctx;
mod describe;
#[cfg(feature = "reflect")]
mod reflect;
#[cfg(feature = "tower")]
mod tower;

use bound::raw_answer;
pub use ctx::Ctx;
pub use describe::RouteDescription;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use rustc_hash::FxHashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

use amp_wire::describe::{CommandDescription, CommandKind};
use amp_wire::{AmpBox, Command, Record};

use crate::addr::ConnectionInfo;
use crate::connection::{Responding, Starter};
use crate::error::{with_causes, Fail, RawError};
use crate::panics;
use crate::switch::SwitchTo;
#[cfg(feature = "tls")]
use crate::tls::TlsOptions;

/// Starts the responder of one request with `Starter::start` (polled in
/// place; boxed only if it does not finish at once).
type Handler<S> = Arc<dyn Fn(AmpBox, Ctx<S>, Responding, &mut Starter<'_, '_>) + Send + Sync>;

struct Route<S> {
    handler: Handler<S>,
    /// What answering it negotiates (the connection stops reading AMP
    /// while a switch or StartTLS responder decides).
    kind: CommandKind,
    /// The command's description, for a typed route.
    describe: Option<fn() -> CommandDescription>,
}

impl<S> Clone for Route<S> {
    fn clone(&self) -> Self {
        Route {
            handler: self.handler.clone(),
            kind: self.kind,
            describe: self.describe,
        }
    }
}

type Fallback<S> = Arc<
    dyn Fn(Bytes, AmpBox, Ctx<S>) -> BoxFuture<'static, Result<AmpBox, RawError>> + Send + Sync,
>;

/// Maps command names to responders. Cheap to clone; one router usually
/// serves every connection of a server.
///
/// ```
/// use amp::{AmpError, Command, Record, Router};
///
/// #[derive(Command)]
/// #[amp(response = SumResult)]
/// struct Sum { a: i64, b: i64 }
///
/// #[derive(Record)]
/// struct SumResult { total: i64 }
///
/// let router = Router::new().route(|s: Sum, _| async move {
///     Ok(SumResult { total: s.a + s.b })
/// });
/// assert!(router.handles("Sum"));
/// ```
pub struct Router<S = ()> {
    state: StateSource<S>,
    routes: Arc<FxHashMap<Bytes, Route<S>>>,
    fallback: Option<Fallback<S>>,
    /// `Cancel` requests cancel responders ([`Router::cancellable`]).
    cancellable: bool,
    /// Set by [`Router::describe_itself`]: the routes with `amp.describe`
    /// added, made when the first connection binds (after the last route).
    #[cfg(feature = "reflect")]
    reflection: Option<reflect::Cell<S>>,
}

/// Where a connection's responders get their state.
enum StateSource<S> {
    /// One state for every connection ([`Router::with_state`]).
    Shared(S),
    /// A state made for each connection as it opens
    /// ([`Router::with_connection_state`]).
    PerConnection(Arc<dyn Fn(&ConnectionInfo) -> S + Send + Sync>),
}

impl<S: Clone> Clone for StateSource<S> {
    fn clone(&self) -> Self {
        match self {
            StateSource::Shared(s) => StateSource::Shared(s.clone()),
            StateSource::PerConnection(f) => StateSource::PerConnection(f.clone()),
        }
    }
}

impl<S: Clone> Clone for Router<S> {
    fn clone(&self) -> Self {
        Router {
            state: self.state.clone(),
            routes: self.routes.clone(),
            fallback: self.fallback.clone(),
            cancellable: self.cancellable,
            #[cfg(feature = "reflect")]
            reflection: self.reflection.clone(),
        }
    }
}

impl Default for Router<()> {
    fn default() -> Self {
        Router::new()
    }
}

impl Router<()> {
    /// A router with no responders and no state: every request is answered
    /// `UNHANDLED`. Use it for pure clients.
    pub fn new() -> Self {
        Router::with_state(())
    }
}

impl<S: Clone + Send + Sync + 'static> Router<S> {
    /// A router whose responders share `state` (cloned into each request's
    /// [`Ctx`]; wrap it in an `Arc` if cloning is not cheap).
    ///
    /// ```
    /// use amp::{Command, Record, Router};
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    ///
    /// #[derive(Command)]
    /// #[amp(response = Count)]
    /// struct Hit;
    /// #[derive(Record)]
    /// struct Count { n: u64 }
    ///
    /// let hits = Arc::new(AtomicU64::new(0));
    /// let router = Router::with_state(hits.clone()).route(|_: Hit, ctx| async move {
    ///     Ok(Count { n: ctx.state.fetch_add(1, Ordering::Relaxed) + 1 })
    /// });
    /// # let _ = router;
    /// ```
    pub fn with_state(state: S) -> Self {
        Router {
            state: StateSource::Shared(state),
            routes: Arc::default(),
            fallback: None,
            cancellable: false,
            #[cfg(feature = "reflect")]
            reflection: None,
        }
    }

    /// A router whose responders get a state made for their connection:
    /// `make` runs once as each connection opens (before any request of
    /// it is read), with what is known of it, and its result is cloned
    /// into each request's [`Ctx`] on that connection, as Twisted's
    /// protocol instance per connection is. Wrap it in an `Arc` (with a
    /// `Mutex` or atomics for what changes) so the clones share it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// use amp::{Command, Connection, Record, Router};
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    ///
    /// #[derive(Command)]
    /// #[amp(response = Count)]
    /// struct Hit;
    /// #[derive(Record)]
    /// struct Count { n: u64 }
    ///
    /// // A counter per connection, not one for the whole server.
    /// let router = Router::with_connection_state(|info| {
    ///     println!("connection from {:?}", info.peer_addr());
    ///     Arc::new(AtomicU64::new(0))
    /// })
    /// .route(|_: Hit, ctx| async move {
    ///     Ok(Count { n: ctx.state.fetch_add(1, Ordering::Relaxed) + 1 })
    /// });
    ///
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let addr = listener.local_addr()?;
    /// tokio::spawn(amp::Server::new(router).serve(listener));
    /// let (one, two) = (Connection::connect(addr).await?, Connection::connect(addr).await?);
    /// assert_eq!(one.call(Hit).await.unwrap().n, 1);
    /// assert_eq!(one.call(Hit).await.unwrap().n, 2);
    /// assert_eq!(two.call(Hit).await.unwrap().n, 1); // its own counter
    /// # Ok(()) }
    /// ```
    pub fn with_connection_state<F>(make: F) -> Self
    where
        F: Fn(&ConnectionInfo) -> S + Send + Sync + 'static,
    {
        Router {
            state: StateSource::PerConnection(Arc::new(make)),
            routes: Arc::default(),
            fallback: None,
            cancellable: false,
            #[cfg(feature = "reflect")]
            reflection: None,
        }
    }

    /// Answer command `C` with `f`.
    ///
    /// The responder gets the decoded arguments and the request's [`Ctx`];
    /// it returns the response or one of `C`'s declared errors. Declared
    /// errors keep the connection open unless marked fatal. Undecodable
    /// arguments, a panic, or a response that cannot be encoded send
    /// `UNKNOWN` and close the connection, as Twisted does.
    pub fn route<C, F, Fut>(self, f: F) -> Self
    where
        C: Command,
        F: Fn(C, Ctx<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<C::Response, C::Error>> + Send + 'static,
    {
        self.route_fallible(move |cmd: C, ctx| f(cmd, ctx).map(|r| r.map_err(Fail::Declared)))
    }

    /// Answer command `C` with `f`, which may also fail in a way `C` does
    /// not declare ([`Fail::Unknown`]): that is logged with its causes,
    /// the peer gets `UNKNOWN` and the connection closes, as when a
    /// Twisted responder raises an undeclared exception. Otherwise as
    /// [`Router::route`].
    ///
    /// ```
    /// use amp::{AmpError, Command, Fail, Record, Router};
    ///
    /// #[derive(Command)]
    /// #[amp(response = Content, error = ReadError)]
    /// struct Read { path: String }
    /// #[derive(Record)]
    /// struct Content { text: String }
    /// #[derive(AmpError, Debug)]
    /// enum ReadError {
    ///     #[amp(code = "NOT_ALLOWED")]
    ///     NotAllowed,
    /// }
    ///
    /// let router = Router::new().route_fallible(|r: Read, _| async move {
    ///     if r.path.starts_with("/etc") {
    ///         return Err(ReadError::NotAllowed.into()); // declared: sent, connection stays
    ///     }
    ///     // Anything else: UNKNOWN, and the connection closes.
    ///     let text = std::fs::read_to_string(&r.path).map_err(Fail::unknown)?;
    ///     Ok(Content { text })
    /// });
    /// assert!(router.handles("Read"));
    /// ```
    pub fn route_fallible<C, F, Fut>(self, f: F) -> Self
    where
        C: Command,
        F: Fn(C, Ctx<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<C::Response, Fail<C::Error>>> + Send + 'static,
    {
        let h = typed_handler(f, |resp, r: Result<C::Response, Fail<C::Error>>| match r {
            Ok(r) => resp.answer(|w, cx| r.write_fields(w, cx)),
            Err(Fail::Declared(e)) => resp.fail(&RawError::from_table(&e)),
            Err(Fail::Unknown(e)) => resp.unknown(with_causes(&*e)),
        });
        self.insert_described(
            Bytes::from_static(C::NAME.as_bytes()),
            h,
            CommandKind::Plain,
            Some(C::describe),
        )
    }

    /// Answer command `C` with `f`, but within `limit`: a responder still
    /// running then is dropped (cancelled at its next `.await`) and the
    /// peer gets the declared error `on_deadline` makes, instead of
    /// waiting forever. Otherwise as [`Router::route`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{AmpError, CallError, Command, Connection, Record, Router};
    /// use std::time::Duration;
    ///
    /// #[derive(Command)]
    /// #[amp(response = Found, error = LookupError)]
    /// struct Lookup { key: String }
    /// #[derive(Record)]
    /// struct Found { value: String }
    /// #[derive(AmpError, Debug, PartialEq)]
    /// enum LookupError {
    ///     #[amp(code = "TOO_SLOW")]
    ///     TooSlow,
    /// }
    ///
    /// let router = Router::new().route_with_deadline(
    ///     Duration::from_millis(50),
    ///     || LookupError::TooSlow,
    ///     |_: Lookup, _| async {
    ///         tokio::time::sleep(Duration::from_secs(3600)).await; // a stuck backend
    ///         Ok(Found { value: String::new() })
    ///     },
    /// );
    /// let (a, b) = tokio::io::duplex(4096);
    /// Connection::spawn(a, router);
    /// let client = Connection::spawn(b, Router::new());
    /// let r = client.call(Lookup { key: "k".into() }).await;
    /// assert!(matches!(r, Err(CallError::Remote(LookupError::TooSlow))));
    /// # }
    /// ```
    pub fn route_with_deadline<C, D, F, Fut>(self, limit: Duration, on_deadline: D, f: F) -> Self
    where
        C: Command,
        D: Fn() -> C::Error + Send + Sync + 'static,
        F: Fn(C, Ctx<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<C::Response, C::Error>> + Send + 'static,
    {
        let on_deadline = Arc::new(on_deadline);
        self.route(move |cmd: C, ctx| {
            let answer = f(cmd, ctx);
            let on_deadline = on_deadline.clone();
            async move {
                match tokio::time::timeout(limit, answer).await {
                    Ok(r) => r,
                    Err(_) => {
                        tracing::debug!(command = C::NAME, ?limit, "responder past its deadline");
                        Err(on_deadline())
                    }
                }
            }
        })
    }

    fn insert(self, name: Bytes, handler: Handler<S>, kind: CommandKind) -> Self {
        self.insert_described(name, handler, kind, None)
    }

    /// [`Router::insert`] for a typed route: `describe` tells its command.
    fn insert_described(
        mut self,
        name: Bytes,
        handler: Handler<S>,
        kind: CommandKind,
        describe: Option<fn() -> CommandDescription>,
    ) -> Self {
        #[cfg(feature = "reflect")]
        self.forget_description();
        Arc::make_mut(&mut self.routes).insert(
            name,
            Route {
                handler,
                kind,
                describe,
            },
        );
        self
    }

    /// Answer the protocol-switch command `C` (Twisted's
    /// `ProtocolSwitchCommand`) with `f`.
    ///
    /// From the moment the request arrives the connection stops reading
    /// AMP: whatever the peer sent after it waits. If `f` returns
    /// [`SwitchTo`], the answer (just `_answer`, whatever `C::Response`
    /// says) is written, AMP is over for good on this connection, and the
    /// [`SwitchTo`] handler gets the stream, with every byte already read
    /// past the request replayed first. Calls this side still has
    /// outstanding fail with [`Disconnect::Switched`](crate::Disconnect::Switched);
    /// answers of other responders still running are dropped. If `f`
    /// returns an error, it is sent and AMP goes on.
    ///
    /// See [`Switched`](crate::Switched) for an example.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{Command, Connection, Router, SwitchTo};
    /// use tokio::io::AsyncReadExt;
    /// use tokio::io::AsyncWriteExt;
    ///
    /// #[derive(Command)]
    /// struct Raw;
    ///
    /// let (a, b) = tokio::io::duplex(4096);
    /// let router = Router::new().route_switch(|_: Raw, _| async move {
    ///     Ok(SwitchTo::new(|mut stream| async move {
    ///         stream.write_all(b"plain bytes").await.unwrap();
    ///     }))
    /// });
    /// assert!(router.handles("Raw"));
    /// Connection::spawn(a, router);
    /// let client = Connection::spawn(b, Router::new());
    /// let mut stream = client.switch(Raw).await.unwrap();
    /// let mut got = Vec::new();
    /// stream.read_to_end(&mut got).await.unwrap();
    /// assert_eq!(got, b"plain bytes");
    /// # }
    /// ```
    pub fn route_switch<C, F, Fut>(self, f: F) -> Self
    where
        C: Command,
        F: Fn(C, Ctx<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<SwitchTo, C::Error>> + Send + 'static,
    {
        let h = typed_handler(f, |resp, r: Result<SwitchTo, C::Error>| match r {
            Ok(to) => resp.accept_switch(to),
            Err(e) => resp.fail(&RawError::from_table(&e)),
        });
        self.insert_described(
            Bytes::from_static(C::NAME.as_bytes()),
            h,
            CommandKind::Switch,
            Some(C::describe),
        )
    }

    /// Answer `StartTLS` (Twisted's `amp.StartTLS`) with `options`: this
    /// side's certificate (a throwaway self-signed one if it has none, as
    /// Twisted does) and the authorities a client certificate must chain to
    /// (none: clients are not asked for one).
    ///
    /// The answer is written in clear, then the TLS handshake runs as
    /// server; boxes this side sends meanwhile wait and go over TLS. A
    /// second StartTLS on the same connection is refused with
    /// `ONLY_ONE_TLS`. Bytes the client sent between its request and the
    /// handshake are never taken as TLS data: the connection closes with
    /// [`Disconnect::PlaintextBeforeTls`](crate::Disconnect::PlaintextBeforeTls).
    ///
    /// ```
    /// use amp::{tls::TlsOptions, Router};
    /// let router = Router::new().start_tls(TlsOptions::new()); // self-signed
    /// assert!(router.handles("StartTLS"));
    /// ```
    #[cfg(feature = "tls")]
    pub fn start_tls(self, options: TlsOptions) -> Self {
        self.start_tls_per_connection(move |_| std::future::ready(Ok(options.clone())))
    }

    /// Answer `StartTLS` with options `f` decides per request (Twisted's
    /// own `@StartTLS.responder`, which returns the certificate and
    /// authorities to use): say, a certificate by the address the client
    /// connected to, client verification only for some peers, or a refusal
    /// ([`RawError`]; AMP then goes on in clear). Otherwise as
    /// [`Router::start_tls`].
    ///
    /// ```
    /// use amp::{tls::TlsOptions, RawError, Router};
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::sync::Arc;
    ///
    /// let maintenance = Arc::new(AtomicBool::new(false));
    /// let router = Router::with_state(maintenance).start_tls_per_connection(|ctx| async move {
    ///     if ctx.state.load(Ordering::Relaxed) {
    ///         return Err(RawError::new("TLS_ERROR", "not now"));
    ///     }
    ///     Ok(TlsOptions::new())
    /// });
    /// assert!(router.handles("StartTLS"));
    /// ```
    #[cfg(feature = "tls")]
    pub fn start_tls_per_connection<F, Fut>(self, f: F) -> Self
    where
        F: Fn(Ctx<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<TlsOptions, RawError>> + Send + 'static,
    {
        let f = Arc::new(f);
        let h: Handler<S> = Arc::new(
            move |_args: AmpBox, ctx: Ctx<S>, resp: Responding, starter: &mut Starter<'_, '_>| {
                let f = f.clone();
                let span = resp.span();
                starter.start(
                    async move {
                        let fut = f(ctx);
                        tokio::pin!(fut);
                        let options = match panics::catch(fut).await {
                            Ok(Ok(options)) => options,
                            Ok(Err(e)) => return resp.fail(&e),
                            Err(panic) => return resp.panicked(panic),
                        };
                        match options.server_config() {
                            Ok(config) => resp.accept_start_tls(config),
                            Err(e) => resp.fail(&RawError::new(
                                amp_wire::session::keys::TLS_ERROR,
                                format!("TLS not available: {e}"),
                            )),
                        }
                    }
                    .instrument(span),
                );
            },
        );
        self.insert(
            Bytes::from_static(amp_wire::session::keys::START_TLS.as_bytes()),
            h,
            CommandKind::StartTls,
        )
    }

    /// Answer the command called `name` with a raw responder that gets the
    /// whole request box (reserved keys included) and returns the answer's
    /// fields (Twisted's `amp_NAME` methods, `callRemoteString`'s
    /// counterpart).
    ///
    /// ```
    /// use amp::{AmpBox, RawError, Router};
    ///
    /// let router = Router::new().route_raw("Echo", |req: AmpBox, _| async move {
    ///     let mut answer = AmpBox::new();
    ///     let value = req.get_bytes("value").ok_or_else(|| RawError::new("NO_VALUE", "value missing"))?;
    ///     answer.insert("value", value);
    ///     Ok(answer)
    /// });
    /// assert!(router.handles("Echo"));
    /// ```
    pub fn route_raw<F, Fut>(self, name: impl Into<Bytes>, f: F) -> Self
    where
        F: Fn(AmpBox, Ctx<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<AmpBox, RawError>> + Send + 'static,
    {
        let f = Arc::new(f);
        let h: Handler<S> = Arc::new(
            move |args, ctx, resp: Responding, starter: &mut Starter<'_, '_>| {
                let span = resp.span();
                starter.start(raw_answer(f(args, ctx), resp).instrument(span));
            },
        );
        self.insert(name.into(), h, CommandKind::Plain)
    }

    /// Answer every command that has no responder with `f` (given the
    /// command name and the whole box). Return [`RawError::unhandled`] to
    /// send the standard `UNHANDLED` error.
    ///
    /// ```
    /// use amp::{AmpBox, RawError, Router};
    ///
    /// // Answer any command whose name starts with "Get" with an empty box.
    /// let router = Router::new().fallback(|name, _req: AmpBox, _| async move {
    ///     if name.starts_with(b"Get") {
    ///         Ok(AmpBox::new())
    ///     } else {
    ///         Err(RawError::unhandled(&name))
    ///     }
    /// });
    /// assert!(!router.is_empty());
    /// ```
    pub fn fallback<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Bytes, AmpBox, Ctx<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<AmpBox, RawError>> + Send + 'static,
    {
        let f = Arc::new(f);
        self.fallback = Some(Arc::new(move |name, args, ctx| f(name, args, ctx).boxed()));
        self
    }

    /// Let the peer cancel requests it gave up (opt-in remote
    /// cancellation): a `Cancel` request naming the tag of one still being
    /// answered drops its responder (at its next `.await`), concludes it
    /// with the error `CANCELLED`, and is answered `cancelled: True`
    /// (`False` if there was nothing to cancel). Best effort: a responder
    /// may finish, or have done its work, before the `Cancel` arrives. A
    /// negotiation being decided is not cancelled. The caller's side is
    /// [`CallOptions::cancel_remotely`](crate::CallOptions::cancel_remotely).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{CallOptions, Command, Connection, Record, Router};
    /// use std::time::Duration;
    ///
    /// #[derive(Command)]
    /// #[amp(response = Done)]
    /// struct Crunch;
    /// #[derive(Record)]
    /// struct Done {}
    ///
    /// let (dropped_tx, dropped_rx) = tokio::sync::oneshot::channel::<()>();
    /// let dropped_tx = std::sync::Mutex::new(Some(dropped_tx));
    /// let router = Router::with_state(std::sync::Arc::new(dropped_tx))
    ///     .route(|_: Crunch, ctx| async move {
    ///         // Tells us when this responder is dropped.
    ///         struct Guard(Option<tokio::sync::oneshot::Sender<()>>);
    ///         impl Drop for Guard {
    ///             fn drop(&mut self) { let _ = self.0.take().map(|t| t.send(())); }
    ///         }
    ///         let _guard = Guard(ctx.state.lock().unwrap().take());
    ///         tokio::time::sleep(Duration::from_secs(3600)).await;
    ///         Ok(Done {})
    ///     })
    ///     .cancellable();
    /// let (a, b) = tokio::io::duplex(4096);
    /// Connection::spawn(a, router);
    /// let client = Connection::spawn(b, Router::new());
    /// let options = CallOptions::new()
    ///     .timeout(Duration::from_millis(50))
    ///     .cancel_remotely();
    /// assert!(client.call_with(Crunch, options).await.is_err()); // timed out
    /// dropped_rx.await.unwrap(); // and the server stopped working on it
    /// # }
    /// ```
    pub fn cancellable(mut self) -> Self {
        self.cancellable = true;
        self
    }

    /// Whether a responder is registered for `name` (the fallback aside).
    pub fn handles(&self, name: impl AsRef<[u8]>) -> bool {
        #[cfg(feature = "reflect")]
        if self.reflection.is_some() && name.as_ref() == crate::reflect::COMMAND.as_bytes() {
            return true;
        }
        self.routes.contains_key(name.as_ref())
    }

    /// Whether the router answers nothing (no routes, no fallback).
    ///
    /// ```
    /// use amp::{Command, Router};
    ///
    /// #[derive(Command)]
    /// struct Ping;
    ///
    /// assert!(Router::new().is_empty());
    /// assert!(!Router::new().route(|_: Ping, _| async { Ok(()) }).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty() && self.fallback.is_none()
    }

    /// Names of the commands with a responder.
    ///
    /// ```
    /// use amp::{Command, Router};
    ///
    /// #[derive(Command)]
    /// struct Ping;
    /// #[derive(Command)]
    /// struct Pong;
    ///
    /// let router = Router::new()
    ///     .route(|_: Ping, _| async { Ok(()) })
    ///     .route(|_: Pong, _| async { Ok(()) });
    /// let mut names: Vec<_> = router.commands().map(|n| n.to_vec()).collect();
    /// names.sort();
    /// assert_eq!(names, [b"Ping".to_vec(), b"Pong".to_vec()]);
    /// ```
    pub fn commands(&self) -> impl Iterator<Item = &Bytes> {
        self.routes.keys()
    }
}

/// A responder for typed command `C`: decode its arguments (undecodable
/// ones: `UNKNOWN`), run `f` with panics caught, and conclude the request
/// with `done`.
fn typed_handler<S, C, T, F, Fut>(f: F, done: fn(Responding, T)) -> Handler<S>
where
    S: Send + 'static,
    C: Command,
    T: Send + 'static,
    F: Fn(C, Ctx<S>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    let f = Arc::new(f);
    Arc::new(
        move |args: AmpBox, ctx: Ctx<S>, resp: Responding, starter: &mut Starter<'_, '_>| {
            let f = f.clone();
            let span = resp.span();
            starter.start(
                async move {
                    let cmd = match resp.decode::<C>(&args) {
                        Ok(c) => c,
                        Err(e) => return resp.unknown(format!("bad arguments: {e}")),
                    };
                    let fut = f(cmd, ctx);
                    tokio::pin!(fut);
                    match panics::catch(fut).await {
                        Ok(t) => done(resp, t),
                        Err(panic) => resp.panicked(panic),
                    }
                }
                .instrument(span),
            );
        },
    )
}
