//! Errors seen by callers, and sent by raw responders.

use bytes::Bytes;
use std::fmt;

use amp_wire::session::keys;
use amp_wire::{DecodeError, Disconnect, EncodeError, ErrorTable};

/// Why a call failed. `E` is the command's declared error table.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use amp::{AmpError, CallError, Command, Connection, Disconnect, Router};
/// use std::error::Error;
///
/// #[derive(AmpError, Debug, PartialEq)]
/// enum DivError {
///     #[amp(code = "ZERO_DIVISION")]
///     ZeroDivision,
/// }
/// #[derive(Command)]
/// #[amp(error = DivError)]
/// struct Divide { n: i64, d: i64 }
/// #[derive(Command)]
/// struct Missing;
///
/// let (a, b) = tokio::io::duplex(4096);
/// Connection::spawn(a, Router::new().route(|v: Divide, _| async move {
///     if v.d == 0 { Err(DivError::ZeroDivision) } else { Ok(()) }
/// }));
/// let conn = Connection::spawn(b, Router::new());
///
/// // A declared error (the connection goes on), then no responder at all.
/// let err = conn.call(Divide { n: 1, d: 0 }).await.unwrap_err();
/// assert_eq!(err.remote(), Some(&DivError::ZeroDivision));
/// assert!(matches!(conn.call(Missing).await, Err(CallError::Unhandled { .. })));
///
/// // Once the connection has ended, calls fail with the reason as the source.
/// conn.close().await;
/// let err = conn.call(Missing).await.unwrap_err();
/// assert!(err.is_connection_lost());
/// let reason = err.source().unwrap().downcast_ref::<Disconnect>();
/// assert!(matches!(reason, Some(Disconnect::LocalClose)));
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum CallError<E> {
    /// The peer answered with one of the command's declared errors.
    Remote(E),
    /// The peer has no responder for the command (`UNHANDLED`).
    Unhandled {
        /// The peer's description (Twisted: `Unhandled Command: b'NAME'`).
        description: String,
    },
    /// The peer answered with an error code the command does not declare
    /// (`UNKNOWN` included, unless the command declares it: the peer failed
    /// in an undeclared way).
    UnknownRemote {
        /// `_error_code`.
        code: Bytes,
        /// `_error_description`.
        description: String,
    },
    /// The connection ended before the answer came, or had already ended.
    ConnectionLost(Disconnect),
    /// The arguments could not be encoded; nothing was sent.
    Encode(EncodeError),
    /// The answer arrived but does not match the response schema.
    BadResponse(DecodeError),
    /// The connection is locked by a protocol switch (one is under way or
    /// done): no AMP box can be sent on it. Nothing was sent.
    ProtocolSwitched,
    /// StartTLS on a connection that already did (or is doing) StartTLS
    /// (Twisted's `OnlyOneTLS`). Nothing was sent.
    OnlyOneTls,
    /// The local TLS options could not be used. Nothing was sent.
    #[cfg(feature = "tls")]
    Tls(crate::tls::TlsError),
    /// No answer came within the call's timeout ([`CallOptions::timeout`](crate::CallOptions::timeout)
    /// or [`Config::call_timeout`](amp_wire::Config::call_timeout)). The
    /// connection goes on; the answer, if it comes later, is dropped
    /// quietly.
    Timeout(std::time::Duration),
    /// A [`Balanced`](crate::Balanced) client had no connected server for
    /// the call within the time it could wait. Nothing was sent.
    Unavailable(Unavailable),
}

impl<E: ErrorTable> fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Remote(e) => write!(f, "remote error {}: {}", e.code(), e.description()),
            CallError::Unhandled { description } => write!(f, "unhandled command: {description}"),
            CallError::UnknownRemote { code, description } => write!(
                f,
                "unknown remote error {}: {description}",
                amp_wire::display_bytes(code)
            ),
            CallError::ConnectionLost(_) => f.write_str("connection lost"),
            CallError::Encode(_) => f.write_str("arguments could not be encoded"),
            CallError::BadResponse(_) => f.write_str("answer could not be decoded"),
            CallError::ProtocolSwitched => f.write_str(
                "the connection has switched (or is switching) to another protocol: no AMP traffic allowed",
            ),
            CallError::OnlyOneTls => f.write_str("TLS was already started on this connection"),
            #[cfg(feature = "tls")]
            CallError::Tls(_) => f.write_str("the TLS options could not be used"),
            CallError::Timeout(after) => write!(f, "no answer within {after:?}"),
            CallError::Unavailable(_) => f.write_str("no server to call"),
        }
    }
}

impl<E: ErrorTable> std::error::Error for CallError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CallError::ConnectionLost(d) => Some(d),
            CallError::Encode(e) => Some(e),
            CallError::BadResponse(e) => Some(e),
            #[cfg(feature = "tls")]
            CallError::Tls(e) => Some(e),
            CallError::Unavailable(u) => Some(u),
            _ => None,
        }
    }
}

impl<E> From<EncodeError> for CallError<E> {
    fn from(e: EncodeError) -> Self {
        CallError::Encode(e)
    }
}

impl<E: ErrorTable> CallError<E> {
    /// Map a received error box onto the command's error table (Twisted's
    /// `_errorReceived` + `_massageError`), in Twisted's order: `UNHANDLED`
    /// is always [`CallError::Unhandled`]; any other code is looked up in
    /// the declared errors (so a declared `UNKNOWN` is
    /// [`CallError::Remote`]); what is left is
    /// [`CallError::UnknownRemote`].
    ///
    /// ```
    /// use amp::{AmpError, CallError};
    ///
    /// #[derive(AmpError, Debug, PartialEq)]
    /// enum DivError {
    ///     #[amp(code = "ZERO_DIVISION")]
    ///     ZeroDivision,
    /// }
    ///
    /// let e = CallError::<DivError>::from_wire("ZERO_DIVISION".into(), "d is 0".into());
    /// assert_eq!(e.remote(), Some(&DivError::ZeroDivision));
    /// let e = CallError::<DivError>::from_wire("UNHANDLED".into(), "no".into());
    /// assert!(matches!(e, CallError::Unhandled { .. }));
    /// let e = CallError::<DivError>::from_wire("OTHER".into(), "?".into());
    /// assert!(matches!(e, CallError::UnknownRemote { code, .. } if &code[..] == b"OTHER"));
    /// ```
    pub fn from_wire(code: Bytes, description: String) -> Self {
        if code.as_ref() == keys::UNHANDLED.as_bytes() {
            return CallError::Unhandled { description };
        }
        match E::from_wire(&code, &description) {
            Some(e) => CallError::Remote(e),
            None => CallError::UnknownRemote { code, description },
        }
    }

    /// The declared error, if that is what this is.
    pub fn remote(&self) -> Option<&E> {
        match self {
            CallError::Remote(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the connection is gone.
    pub fn is_connection_lost(&self) -> bool {
        matches!(self, CallError::ConnectionLost(_))
    }

    /// Convert the declared-error type (e.g. to widen into another table).
    ///
    /// ```
    /// use amp::{AmpError, CallError};
    ///
    /// #[derive(AmpError, Debug, PartialEq)]
    /// enum DivError {
    ///     #[amp(code = "ZERO_DIVISION")]
    ///     ZeroDivision,
    /// }
    /// #[derive(Debug, PartialEq)]
    /// enum AppError { Math(DivError) }
    ///
    /// let e = CallError::<DivError>::from_wire("ZERO_DIVISION".into(), String::new());
    /// let widened: CallError<AppError> = e.map_remote(AppError::Math);
    /// assert!(matches!(widened, CallError::Remote(AppError::Math(DivError::ZeroDivision))));
    /// ```
    pub fn map_remote<F>(self, f: impl FnOnce(E) -> F) -> CallError<F> {
        match self {
            CallError::Remote(e) => CallError::Remote(f(e)),
            CallError::Unhandled { description } => CallError::Unhandled { description },
            CallError::UnknownRemote { code, description } => {
                CallError::UnknownRemote { code, description }
            }
            CallError::ConnectionLost(d) => CallError::ConnectionLost(d),
            CallError::Encode(e) => CallError::Encode(e),
            CallError::BadResponse(e) => CallError::BadResponse(e),
            CallError::ProtocolSwitched => CallError::ProtocolSwitched,
            CallError::OnlyOneTls => CallError::OnlyOneTls,
            CallError::Timeout(after) => CallError::Timeout(after),
            CallError::Unavailable(u) => CallError::Unavailable(u),
            #[cfg(feature = "tls")]
            CallError::Tls(e) => CallError::Tls(e),
        }
    }
}

/// An error a raw responder (or fallback) sends back.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use amp::{AmpBox, CallError, Connection, RawError, Router};
///
/// let router = Router::new().route_raw("Get", |req: AmpBox, _| async move {
///     match req.get("key") {
///         Some(b"answer") => Ok([("value", "42")].into_iter().collect()),
///         _ => Err(RawError::new("NOT_FOUND", "no such key")),
///     }
/// });
/// let (a, b) = tokio::io::duplex(4096);
/// Connection::spawn(a, router);
/// let client = Connection::spawn(b, Router::new());
///
/// let question: AmpBox = [("key", "question")].into_iter().collect();
/// match client.call_raw("Get", question).await {
///     Err(CallError::UnknownRemote { code, description }) => {
///         assert_eq!((&code[..], description.as_str()), (&b"NOT_FOUND"[..], "no such key"));
///     }
///     other => panic!("unexpected {other:?}"),
/// }
/// // Not fatal: the connection goes on.
/// let answer: AmpBox = [("key", "answer")].into_iter().collect();
/// let value = client.call_raw("Get", answer).await.unwrap();
/// assert_eq!(value.get("value"), Some(&b"42"[..]));
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawError {
    /// `_error_code`.
    pub code: Bytes,
    /// `_error_description`.
    pub description: String,
    /// Close the connection after sending it.
    pub fatal: bool,
}

impl RawError {
    /// A non-fatal error with this code and description.
    pub fn new(code: impl Into<Bytes>, description: impl Into<String>) -> Self {
        RawError {
            code: code.into(),
            description: description.into(),
            fatal: false,
        }
    }

    /// A fatal error: sent, then the connection closes.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{AmpBox, CallError, Connection, RawError, Router};
    ///
    /// let (a, b) = tokio::io::duplex(4096);
    /// Connection::spawn(a, Router::new().route_raw("Boom", |_: AmpBox, _| async {
    ///     Err(RawError::fatal("BOOM", "cannot go on"))
    /// }));
    /// let client = Connection::spawn(b, Router::new());
    /// let r = client.call_raw("Boom", AmpBox::new()).await;
    /// assert!(matches!(r, Err(CallError::UnknownRemote { code, .. }) if &code[..] == b"BOOM"));
    /// client.closed().await; // the server closed the connection after sending it
    /// assert!(client.is_closed());
    /// # }
    /// ```
    pub fn fatal(code: impl Into<Bytes>, description: impl Into<String>) -> Self {
        RawError {
            fatal: true,
            ..RawError::new(code, description)
        }
    }

    /// `UNHANDLED` for command `name`, exactly as Twisted words it.
    ///
    /// ```
    /// use amp::RawError;
    ///
    /// let e = RawError::unhandled(b"Frobnicate");
    /// assert_eq!(&e.code[..], b"UNHANDLED");
    /// assert_eq!(e.description, "Unhandled Command: b'Frobnicate'");
    /// assert!(!e.fatal);
    /// ```
    pub fn unhandled(name: &[u8]) -> Self {
        RawError::new(
            Bytes::from_static(keys::UNHANDLED.as_bytes()),
            amp_wire::unhandled_description(name),
        )
    }

    /// `UNKNOWN` (fatal), as sent for any undeclared failure.
    ///
    /// ```
    /// use amp::RawError;
    ///
    /// let e = RawError::unknown();
    /// assert_eq!(&e.code[..], b"UNKNOWN");
    /// assert_eq!(e.description, "Unknown Error");
    /// assert!(e.fatal);
    /// ```
    pub fn unknown() -> Self {
        RawError::fatal(
            Bytes::from_static(keys::UNKNOWN.as_bytes()),
            keys::UNKNOWN_DESCRIPTION,
        )
    }

    /// A declared error of a typed command.
    ///
    /// ```
    /// use amp::{AmpError, RawError};
    ///
    /// #[derive(AmpError, Debug)]
    /// enum StoreError {
    ///     #[amp(code = "FULL")]
    ///     Full,
    ///     #[amp(code = "CORRUPT", fatal)]
    ///     Corrupt,
    /// }
    ///
    /// assert_eq!(&RawError::from_table(&StoreError::Full).code[..], b"FULL");
    /// assert!(!RawError::from_table(&StoreError::Full).fatal);
    /// assert!(RawError::from_table(&StoreError::Corrupt).fatal);
    /// ```
    pub fn from_table<E: ErrorTable>(e: &E) -> Self {
        RawError {
            code: Bytes::from_static(e.code().as_bytes()),
            description: e.description(),
            fatal: e.is_fatal(),
        }
    }
}

impl fmt::Display for RawError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            amp_wire::display_bytes(&self.code),
            self.description
        )
    }
}

impl std::error::Error for RawError {}

/// How a typed responder of [`Router::route_fallible`](crate::Router::route_fallible)
/// fails: with one of the command's declared errors (sent, and the
/// connection stays unless it is fatal), or in a way the command does not
/// declare, which is logged with its causes and answered `UNKNOWN`, then
/// the connection closes — what Twisted does when a responder raises an
/// exception its command does not declare.
///
/// `?` turns a declared error into a `Fail` (`From<E>`); turn any other
/// error into one with [`Fail::unknown`] (`.map_err(Fail::unknown)?`).
///
/// ```
/// use amp::{AmpError, Fail};
///
/// #[derive(AmpError, Debug)]
/// enum ReadError {
///     #[amp(code = "NO_SUCH_FILE")]
///     NoSuchFile,
/// }
///
/// let declared: Fail<ReadError> = ReadError::NoSuchFile.into();
/// assert!(matches!(declared, Fail::Declared(ReadError::NoSuchFile)));
///
/// let io = std::io::Error::other("disk on fire");
/// let undeclared: Fail<ReadError> = Fail::unknown(io);
/// assert!(matches!(undeclared, Fail::Unknown(e) if e.to_string() == "disk on fire"));
/// ```
#[derive(Debug)]
pub enum Fail<E> {
    /// One of the command's declared errors.
    Declared(E),
    /// Anything else: the peer gets `UNKNOWN` and the connection closes.
    Unknown(Box<dyn std::error::Error + Send + Sync>),
}

impl<E> Fail<E> {
    /// An undeclared failure, from any error (or a message:
    /// `Fail::unknown("no database")`).
    pub fn unknown(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Fail::Unknown(e.into())
    }
}

impl<E> From<E> for Fail<E> {
    fn from(e: E) -> Self {
        Fail::Declared(e)
    }
}

impl<E: fmt::Display> fmt::Display for Fail<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fail::Declared(e) => e.fmt(f),
            Fail::Unknown(_) => f.write_str("undeclared error"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for Fail<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Fail::Declared(e) => e.source(),
            Fail::Unknown(e) => Some(&**e),
        }
    }
}

/// `e` and each of its causes, joined with `: ` (for a log line).
pub(crate) fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// Why a [`Balanced`](crate::Balanced) client could not start a call: no server was
/// connected within the time it could wait.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// use amp::{Balanced, CallError, Command};
/// use std::error::Error;
/// use std::time::Duration;
///
/// #[derive(Command)]
/// struct Ping;
///
/// // An address where nothing listens (bound, so nobody else takes it).
/// let closed = tokio::net::TcpSocket::new_v4()?;
/// closed.bind("127.0.0.1:0".parse().unwrap())?;
/// let addr = closed.local_addr()?;
/// let client = Balanced::builder()
///     .target(addr.to_string())
///     .wait_for_backend(Duration::from_millis(300))
///     .build();
/// match client.call(Ping).await {
///     Err(CallError::Unavailable(u)) => {
///         assert_eq!(u.servers, 1);
///         let cause = u.source().unwrap().downcast_ref::<std::io::Error>().unwrap();
///         assert_eq!(cause.kind(), std::io::ErrorKind::ConnectionRefused);
///     }
///     other => panic!("unexpected {other:?}"),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Unavailable {
    /// Servers known (found by the lookups), none of them connected.
    pub servers: usize,
    /// How long the call waited for one.
    pub waited: std::time::Duration,
    /// A connection error of one of the servers (the first listed that
    /// has one), if any failed.
    pub last_error: Option<BackendError>,
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.servers {
            0 => write!(f, "no server found"),
            n => write!(f, "none of {n} servers connected"),
        }?;
        write!(f, " (waited {:?})", self.waited)
    }
}

impl std::error::Error for Unavailable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.last_error
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl<E: ErrorTable> From<Unavailable> for CallError<E> {
    fn from(u: Unavailable) -> Self {
        CallError::Unavailable(u)
    }
}

/// Why a backend is not connected (shown by [`BackendStatus`](crate::balance::BackendStatus)).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// use amp::balance::BackendError;
/// use amp::Balanced;
/// use std::time::Duration;
///
/// // An address where nothing listens (bound, so nobody else takes it).
/// let closed = tokio::net::TcpSocket::new_v4()?;
/// closed.bind("127.0.0.1:0".parse().unwrap())?;
/// let addr = closed.local_addr()?;
/// let client = Balanced::builder().target(addr.to_string()).build();
/// let error: BackendError = loop {
///     if let Some(e) = client.backends().first().and_then(|b| b.last_error.clone()) {
///         break e;
///     }
///     tokio::time::sleep(Duration::from_millis(10)).await;
/// };
/// let io = error.downcast_ref::<std::io::Error>().unwrap();
/// assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
/// # Ok(()) }
/// ```
pub type BackendError = std::sync::Arc<dyn std::error::Error + Send + Sync>;
