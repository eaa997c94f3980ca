//! AMP, the Asynchronous Messaging Protocol of Twisted
//! (`twisted.protocols.amp`), for Rust: byte-compatible with Twisted peers,
//! typed, symmetric and fast.
//!
//! # The model
//!
//! An AMP connection carries *boxes*: small maps of byte keys to byte values
//! ([`AmpBox`]). A *command* is a named request whose arguments are typed
//! values in a box; the peer answers with a response box, or an error box
//! carrying a code. Either side may call the other at any time, and answers
//! may come back in any order.
//!
//! In amp-rs:
//!
//! * a command is a struct deriving [`Command`](derive@Command); its response
//!   a struct deriving [`Record`](derive@Record); its declared errors an enum
//!   deriving [`AmpError`](derive@AmpError);
//! * a [`Router`] maps commands to async responders;
//! * a [`Connection`] runs over any `AsyncRead + AsyncWrite` (TCP, UNIX
//!   sockets, pipes, an in-memory duplex), serves its router to the peer and
//!   lets you [`call`](Connection::call) the peer.
//!
//! # A two-minute tour
//!
//! ```
//! use amp::{AmpError, CallError, Command, Connection, Record, Router};
//!
//! /// `Sum(a, b) -> total` (Twisted: `arguments = [(b"a", Integer()), ...]`).
//! #[derive(Command)]
//! #[amp(response = Total)]
//! struct Sum { a: i64, b: i64 }
//!
//! #[derive(Record, Debug, PartialEq)]
//! struct Total { total: i64 }
//!
//! /// `Divide` declares one error (Twisted: `errors = {ZeroDivisionError: b"ZERO_DIVISION"}`).
//! #[derive(Command)]
//! #[amp(response = Quotient, error = MathError)]
//! struct Divide { numerator: i64, denominator: i64 }
//!
//! #[derive(Record)]
//! struct Quotient { result: f64 }
//!
//! #[derive(AmpError, Debug, PartialEq)]
//! enum MathError {
//!     #[amp(code = "ZERO_DIVISION")]
//!     ZeroDivision,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! // Serve them...
//! let router = Router::new()
//!     .route(|s: Sum, _| async move { Ok(Total { total: s.a + s.b }) })
//!     .route(|d: Divide, _| async move {
//!         if d.denominator == 0 {
//!             return Err(MathError::ZeroDivision);
//!         }
//!         Ok(Quotient { result: d.numerator as f64 / d.denominator as f64 })
//!     });
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! tokio::spawn(amp::Server::new(router).serve(listener));
//!
//! // ...and call them (a Twisted server would answer the same way).
//! let conn = Connection::connect(addr).await?;
//! assert_eq!(conn.call(Sum { a: 13, b: 81 }).await.unwrap(), Total { total: 94 });
//! match conn.call(Divide { numerator: 1234, denominator: 0 }).await {
//!     Err(CallError::Remote(MathError::ZeroDivision)) => {}
//!     other => panic!("unexpected {:?}", other.map(|q| q.result)),
//! }
//! conn.close().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Mapping from Twisted
//!
//! | Twisted | amp-rs |
//! |---|---|
//! | `class Sum(amp.Command)` with `arguments`, `response` | `#[derive(Command)] struct Sum`, `#[amp(response = R)]` with `#[derive(Record)] struct R` |
//! | `commandName = b"x"` / argument named `b"dash-arg"` | `#[amp(name = "x")]` on the struct / on the field |
//! | `errors = {E: b"CODE"}`, `fatalErrors = {...}` | `#[derive(AmpError)]` enum, variants `#[amp(code = "CODE")]`, `#[amp(code = "...", fatal)]` |
//! | inherited `errors` of a parent command | a variant `#[amp(extends)] Base(ParentErrors)` |
//! | `class Child(Parent)`, `arguments = Parent.arguments + [...]` | a field `#[amp(flatten)] parent: Parent` (see *Command inheritance* below) |
//! | `errors = {UnknownProtocol: b"UNKNOWN"}` | a variant `#[amp(code = "UNKNOWN")]`: received `UNKNOWN` is that variant |
//! | `requiresAnswer = False` | `#[amp(requires_answer = false)]`; [`Connection::send`] then sends no `_ask`; [`Connection::notify`] never asks |
//! | `callRemote(Sum, a=1, b=2)` | `conn.call(Sum { a: 1, b: 2 }).await` |
//! | `callRemoteString(b"Sum", a=b"1")` | [`Connection::call_raw`] |
//! | `@Sum.responder` | [`Router::route`] |
//! | `amp_NAME` methods / `locateResponder` | [`Router::route_raw`] / [`Router::fallback`] |
//! | `Integer`, `String`, `Unicode`, `Boolean`, `Float`, `Decimal`, `DateTime`, `ListOf`, `AmpList`, `Path`, `Descriptor`, `optional=True` | see [`types`] |
//! | `UnhandledCommand`, `UnknownRemoteError`, `ConnectionLost` | [`CallError::Unhandled`], [`CallError::UnknownRemote`], [`CallError::ConnectionLost`] |
//! | `ProtocolSwitchCommand`, `_protoToSwitchToFactory` | [`Connection::switch`] → [`Switched`]; [`Router::route_switch`] → [`SwitchTo`] |
//! | `StartTLS` (`tls_localCertificate`, `tls_verifyAuthorities`) | [`Connection::start_tls`] / [`Router::start_tls`] with [`tls::TlsOptions`] |
//! | `ProtocolSwitched`, `OnlyOneTLS` | [`CallError::ProtocolSwitched`], [`CallError::OnlyOneTls`] |
//! | `connectUNIX`/`listenUNIX` with `Descriptor` | [`ConnectionBuilder::connect_unix`], [`ConnectionBuilder::spawn_unix`], [`Server::serve`] on a `UnixListener` |
//! | AMP over a child's pipes (`ampoule`) or stdio | [`pipes::Pipes`] |
//! | `transport.getPeer()` / `getHost()` | [`Ctx::peer_addr`] / [`Ctx::local_addr`], [`Connection::peer_addr`] |
//! | a protocol instance per connection | [`Router::with_connection_state`] |
//! | `responseType = QuitBox` | [`Ctx::close_after_reply`] |
//! | a responder raising an undeclared exception | [`Router::route_fallible`] with [`Fail::unknown`] |
//! | `callRemote(..).addTimeout(..)` | [`Connection::call_with`] with [`CallOptions::timeout`], or [`Config::call_timeout`]: [`CallError::Timeout`], the late answer dropped quietly |
//! | a responder that must answer in time | [`Router::route_with_deadline`] |
//! | a hand-written keepalive loop | [`Config::keepalive_interval`] |
//! | cancelling a call remotely | [`CallOptions::cancel_remotely`], [`Router::cancellable`] |
//! | `amp_reflect.Reflect` (this repository's Python module: a server that describes itself) | [`Router::describe_itself`], [`reflect::fetch`] |
//! | a responder throttled by a `DeferredSemaphore`, or refusing when busy | `Router::route_service` with tower layers (feature `tower`, see its module) |
//! | `callRemote` of a no-answer command on a lost connection (returns nothing) | [`Connection::send`]/[`Connection::notify`] fail with [`CallError::ConnectionLost`] |
//!
//! # Command inheritance: `#[amp(flatten)]`
//!
//! A Twisted command that subclasses another reuses the parent's arguments
//! (and response). In Rust, put the parent in a field marked
//! `#[amp(flatten)]`: its fields are written into, and read from, the same
//! box, not nested as one value. Any type deriving `Record` or `Command`
//! can be flattened, in a command's arguments, a response or a record.
//!
//! ```
//! use amp::{Command, Record};
//!
//! /// Twisted: `class Hello(Command): arguments = [(b"hello", Unicode()),
//! /// (b"print", Unicode(optional=True))]`
//! #[derive(Command, Debug, PartialEq)]
//! #[amp(name = "hello")]
//! struct Hello {
//!     hello: String,
//!     print: Option<String>,
//! }
//!
//! /// Twisted: `class LoudHello(Hello): commandName = b"loud";
//! /// arguments = Hello.arguments + [(b"volume", Integer())]`
//! #[derive(Command, Debug, PartialEq)]
//! #[amp(name = "loud")]
//! struct LoudHello {
//!     #[amp(flatten)]
//!     base: Hello,
//!     volume: i64,
//! }
//!
//! let c = LoudHello {
//!     base: Hello { hello: "world".into(), print: None },
//!     volume: 11,
//! };
//! assert_eq!(LoudHello::FIELDS, &["hello", "print", "volume"]);
//! let b = c.to_box().unwrap();
//! // One flat box, keys in Twisted's (sorted) order.
//! assert_eq!(
//!     &b.to_bytes().unwrap()[..],
//!     b"\x00\x05hello\x00\x05world\x00\x06volume\x00\x0211\x00\x00"
//! );
//! assert_eq!(LoudHello::from_box(&b).unwrap(), c);
//! ```
//!
//! A wire name used both by the record and by a flattened record (or by two
//! flattened records) is a compile-time error.
//!
//! # Rules kept exactly as Twisted keeps them
//!
//! * Keys are written sorted, so every box is byte-identical to Twisted's.
//! * A request with no responder gets `UNHANDLED` and the connection stays.
//! * A declared error is sent with its code; a *fatal* one closes the
//!   connection after it is written.
//! * Anything else (undecodable arguments, a responder that panics, a
//!   response that cannot be encoded) sends `UNKNOWN` and closes.
//! * A no-answer request whose responder fails closes the connection.
//! * A box with none of `_answer`/`_error`/`_command`, an answer to an
//!   unknown tag, a key over 255 bytes: the connection closes with a
//!   [`ProtocolError`].
//! * When the connection is lost, every outstanding call fails with
//!   [`CallError::ConnectionLost`], and so does every later call.
//!
//! # Beyond RPC: switching, TLS, descriptors
//!
//! * **Protocol switching**: [`Connection::switch`] sends a switch command
//!   and locks the connection; on the answer you get the byte stream
//!   ([`Switched`]), with the bytes already read past the answer replayed
//!   first. A responder registered with [`Router::route_switch`] returns a
//!   [`SwitchTo`]: the answer is written, then the handler gets the stream,
//!   including any bytes the peer pipelined after its request. Nothing is
//!   lost or replayed whatever the segment boundaries.
//! * **StartTLS**: [`Connection::start_tls`] and [`Router::start_tls`], on
//!   rustls. Boxes sent during the handshake are held and delivered over
//!   TLS; the peer's certificates are in [`Connection::peer_certificates`].
//!   A switch after StartTLS stays encrypted: negotiate, secure, switch.
//! * **Descriptor passing**: over a UNIX socket
//!   ([`ConnectionBuilder::spawn_unix`], [`ConnectionBuilder::connect_unix`],
//!   [`Server`] on a `UnixListener`) a [`Descriptor`]
//!   argument travels as SCM_RIGHTS beside its box, numbered as Twisted
//!   numbers them.
//! * **Any byte stream**: TCP, UNIX sockets, TLS, in-memory duplexes, and
//!   pairs of descriptors or stdin/stdout ([`pipes::Pipes`]), as Twisted's
//!   process pool `ampoule` uses.
//!
//! # Limits, timeouts, shutdown
//!
//! Every input from the peer is bounded by a [`Config`] (box size and
//! entries, list nesting, requests in flight, output waiting, deadlines for
//! a first box, a box in progress, writes, a TLS handshake, idleness); a
//! peer that passes one gets a typed error or a closed connection, whose
//! [`Disconnect`] says which. A [`Server`] retries failed `accept`s, may cap
//! connections, and shuts down gracefully. The protocol itself, limits
//! included, is [`session::Session`]: a state machine with no I/O, which
//! the connection's task only feeds.
//!
//! # Observability
//!
//! [`Connection::stats`] gives a connection's counters ([`Stats`]): calls
//! and requests in flight, boxes and bytes each way, answers, errors by
//! code, and why it ended. With a `tracing` subscriber, connections, calls
//! and responders run in spans (`amp.connection`, `amp.call`,
//! `amp.respond`) naming the peer, the command and the tag.
//!
//! # Cargo features
//!
//! * `tls` (default): StartTLS on rustls ([`tls`], [`Connection::start_tls`]).
//! * `unix` (default): UNIX sockets with descriptor passing, and AMP over
//!   pipes and stdio ([`pipes`], [`UnixFdStream`]).
//! * `reflect` (default): a server that describes itself
//!   ([`Router::describe_itself`]), the client that asks ([`reflect`]),
//!   and the schema model ([`schema`], the `amp-schema` crate).
//! * `tower` (off by default): a [`Connection`] is a `tower::Service`, and
//!   `Router::route_service` answers a command with one, so tower's
//!   timeouts, concurrency and rate limits and load shedding wrap either
//!   side (see the `tower` module).
//!
//! # Performance
//!
//! Decoding is zero-copy (values are [`bytes::Bytes`] slices of the read
//! buffer), writes are coalesced (everything queued is written in one
//! syscall), TCP connections use `TCP_NODELAY`, and each connection is one
//! task: responders run as futures inside it, not as tasks per message.
//! See `BENCHMARKS.md` for measured figures against Twisted.

#![deny(missing_docs)]

mod addr;
pub mod balance;
mod budget;
mod channels;
mod connection;
mod error;
#[cfg(feature = "unix")]
mod fd;
mod open;
mod panics;
#[cfg(feature = "unix")]
pub mod pipes;
#[cfg(feature = "reflect")]
pub mod reflect;
mod responders;
mod router;
mod serve;
#[cfg(feature = "tls")]
mod starttls;
mod switch;
#[cfg(feature = "tls")]
pub mod tls;
#[cfg(feature = "tower")]
pub mod tower;

pub use addr::{Addr, ConnectionInfo};
pub use balance::Balanced;
pub use budget::{ServerStats, DEFAULT_EVICT_IDLE_AFTER, DEFAULT_MEMORY_BUDGET};
pub use channels::Channels;
pub use connection::{CallOptions, Channel, ChannelError, Connection, Driver};
pub use error::{CallError, Fail, RawError};
#[cfg(feature = "unix")]
pub use fd::UnixFdStream;
pub use open::ConnectionBuilder;
pub use responders::Responders;
pub use router::{Ctx, RouteDescription, Router};
pub use serve::{Accepted, Listener, Server, ShutdownReport};
#[cfg(feature = "tls")]
pub use starttls::StartTlsError;
pub use switch::{Io, SwitchTo, Switched};

pub use amp_derive::{AmpError, Command, Record};
/// The schema model (the `amp-schema` crate): what
/// [`Router::schema`] and [`reflect::fetch`] give.
#[cfg(feature = "reflect")]
pub use amp_schema as schema;
pub use amp_wire::session::{self, ErrorCounts, Phase, Stats};
pub use amp_wire::{
    boxes, decode_all, describe, display_bytes, from_value, to_value, types, AmpBox, Argument,
    BigBytes, BigString, BoxDecoder, Command, Compressed, CompressedString, Config, ConfigBuilder,
    ConfigError, Context, Decimal, DecodeError, Descriptor, Descriptors, Disconnect, EncodeError,
    ErrorTable, FieldWriter, IntoBytes, NoError, ProtocolError, Record, Timeout,
    DEFAULT_KEEPALIVE_COMMAND, MAX_KEY_LENGTH, MAX_VALUE_LENGTH,
};

/// Support for derived code; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use amp_wire::__private::*;
}
