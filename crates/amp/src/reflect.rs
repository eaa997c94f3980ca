//! Servers that describe themselves (as gRPC server reflection does).
//!
//! A router made to describe itself ([`Router::describe_itself`](crate::Router::describe_itself)) answers
//! the command [`Describe`] (`amp.describe` on the wire) with the schema of
//! every command it answers, as JSON in the format of docs/SCHEMA.md. Tools
//! ask it: `amp list ADDR`, `amp describe ADDR COMMAND`, `amp schema fetch
//! ADDR`, and `amp call` types its values from it. Twisted servers answer
//! the same command with the Python module `amp_reflect` (in this
//! repository's `python/amp_reflect`). The convention is written out in
//! docs/PROTOCOL.md, section 9, "Self-description".
//!
//! ```
//! use amp::{Command, Connection, Record, Router};
//!
//! /// Adds two integers.
//! #[derive(Command)]
//! #[amp(response = Total)]
//! struct Sum { a: i64, b: i64 }
//! #[derive(Record)]
//! struct Total { total: i64 }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let router = Router::new()
//!     .route(|s: Sum, _| async move { Ok(Total { total: s.a + s.b }) })
//!     .describe_itself();
//! let (client, server) = tokio::io::duplex(1 << 16);
//! let _server = Connection::spawn(server, router);
//! let client = Connection::spawn(client, Router::new());
//!
//! let schema = amp::reflect::fetch(&client).await?;
//! let sum = schema.command("Sum").unwrap();
//! assert_eq!(sum.doc.as_deref(), Some("Adds two integers."));
//! assert_eq!(sum.arguments[0].ty, amp::schema::ArgType::Integer);
//! # Ok(()) }
//! ```

use std::fmt;

use amp_schema::{CommandSchema, Format, Kind, ParseError, Problem, Schema};

use crate::{AmpError, BigString, CallError, Command, Connection, Record};

/// The command's name on the wire. Command names starting with `amp.` are
/// kept for amp-rs's conventions (a Python class name cannot hold a dot).
pub const COMMAND: &str = "amp.describe";

/// The format version this side writes and reads.
pub const VERSION: i64 = 1;

/// Ask a server for its schema: `amp.describe`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use amp::reflect::{parse, Describe};
/// use amp::{CallOptions, Command, Connection, Router};
/// use std::time::Duration;
///
/// #[derive(Command)]
/// struct Ping;
///
/// let (a, b) = tokio::io::duplex(1 << 16);
/// Connection::spawn(a, Router::new().route(|_: Ping, _| async { Ok(()) }).describe_itself());
/// let client = Connection::spawn(b, Router::new());
///
/// // `fetch` with a deadline: call `Describe` yourself, then read the answer.
/// assert_eq!(<Describe as Command>::NAME, "amp.describe");
/// let options = CallOptions::new().timeout(Duration::from_secs(5));
/// let answer = client.call_with(Describe::latest(), options).await?;
/// assert_eq!(parse(&answer)?.commands[0].name, "Ping");
/// # Ok(()) }
/// ```
#[derive(Command, Debug, Clone, PartialEq, Default)]
#[amp(crate = "crate", name = "amp.describe", response = Description, error = DescribeError)]
pub struct Describe {
    /// The highest format version the caller reads (1 when absent).
    pub version: Option<i64>,
}

/// The answer to [`Describe`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use amp::reflect::Describe;
/// use amp::schema::{Format, Schema};
/// use amp::{Command, Connection, Router};
///
/// #[derive(Command)]
/// struct Ping;
///
/// let (a, b) = tokio::io::duplex(1 << 16);
/// Connection::spawn(a, Router::new().route(|_: Ping, _| async { Ok(()) }).describe_itself());
/// let client = Connection::spawn(b, Router::new());
///
/// let description = client.call(Describe::latest()).await?;
/// assert_eq!(description.version, 1);
/// let schema = Schema::parse(&description.schema.0, Format::Json)?;
/// assert_eq!(schema.commands[0].name, "Ping");
/// # Ok(()) }
/// ```
#[derive(Record, Debug, Clone, PartialEq)]
#[amp(crate = "crate")]
pub struct Description {
    /// The format of `schema` (1).
    pub version: i64,
    /// The schema as JSON (docs/SCHEMA.md), `amp.describe` left out; a big
    /// value (chunked over `schema`, `schema.2`, ... past 64 KiB).
    pub schema: BigString,
}

/// The errors [`Describe`] declares.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use amp::reflect::{Describe, DescribeError};
/// use amp::{Connection, Router};
///
/// let (a, b) = tokio::io::duplex(1 << 16);
/// Connection::spawn(a, Router::new().describe_itself());
/// let client = Connection::spawn(b, Router::new());
///
/// // A caller that reads no version this server writes.
/// let err = client.call(Describe { version: Some(0) }).await.unwrap_err();
/// assert_eq!(err.remote(), Some(&DescribeError::UnsupportedVersion));
/// # }
/// ```
#[derive(AmpError, Debug, Clone, PartialEq)]
#[amp(crate = "crate")]
pub enum DescribeError {
    /// The caller reads no version this server writes (it asked for one
    /// below 1).
    #[amp(code = "UNSUPPORTED_VERSION")]
    UnsupportedVersion,
}

/// The answer a server gives to `request` about `schema`.
pub(crate) fn answer(request: &Describe, json: &str) -> Result<Description, DescribeError> {
    match request.version {
        Some(v) if v < 1 => Err(DescribeError::UnsupportedVersion),
        _ => Ok(Description {
            version: VERSION,
            schema: BigString(json.to_owned()),
        }),
    }
}

/// The schema of commands described by a router: typed routes in full,
/// StartTLS by its kind, raw routes by name only (`untyped`).
pub(crate) fn schema_of(routes: &[crate::RouteDescription], source: String) -> Schema {
    let mut schema = Schema {
        source: Some(source),
        ..Schema::default()
    };
    for r in routes {
        match (&r.command, r.kind) {
            (Some(c), _) => schema.commands.push(CommandSchema::from(c)),
            (None, crate::describe::CommandKind::StartTls) => schema.commands.push(CommandSchema {
                kind: Kind::Starttls,
                ..CommandSchema::new(r.name.clone())
            }),
            (None, _) => schema.untyped.push(r.name.clone()),
        }
    }
    schema
}

/// Asks the peer of `conn` for its schema ([`Describe`]) and checks it.
///
/// A peer that does not describe itself answers `UNHANDLED`:
/// [`FetchError::NotDescribed`]. See the [module docs](self) for an
/// example.
/// With a deadline or through a [`Balanced`](crate::Balanced) client,
/// call [`Describe`] yourself and read the answer with [`parse`] (a
/// failed call converts into a `FetchError`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), amp::reflect::FetchError> {
/// use amp::{AmpBox, Command, Connection, Record, Router};
///
/// /// Adds two integers.
/// #[derive(Command)]
/// #[amp(response = Total)]
/// struct Sum { a: i64, b: i64 }
/// #[derive(Record)]
/// struct Total { total: i64 }
///
/// let router = Router::new()
///     .route(|s: Sum, _| async move { Ok(Total { total: s.a + s.b }) })
///     .route_raw("Echo", |req: AmpBox, _| async move { Ok(req) })
///     .describe_itself();
/// let (a, b) = tokio::io::duplex(1 << 16);
/// Connection::spawn(a, router);
/// let client = Connection::spawn(b, Router::new());
///
/// let schema = amp::reflect::fetch(&client).await?;
/// assert_eq!(schema.commands[0].name, "Sum");
/// assert_eq!(schema.commands[0].response[0].name, "total");
/// assert_eq!(schema.untyped, ["Echo"]); // a raw route: known by name only
/// # Ok(()) }
/// ```
pub async fn fetch(conn: &Connection) -> Result<Schema, FetchError> {
    let answer = conn.call(Describe::latest()).await?;
    parse(&answer)
}

impl Describe {
    /// The request for the latest version this side reads.
    pub fn latest() -> Describe {
        Describe {
            version: Some(VERSION),
        }
    }
}

impl From<CallError<DescribeError>> for FetchError {
    /// `UNHANDLED` is [`FetchError::NotDescribed`]; anything else
    /// [`FetchError::Call`].
    fn from(e: CallError<DescribeError>) -> FetchError {
        match e {
            CallError::Unhandled { .. } => FetchError::NotDescribed,
            e => FetchError::Call(e),
        }
    }
}

/// The schema in a [`Description`], checked: a command whose description
/// breaks the format's rules is kept by name only (in `untyped`); names
/// that clash, or a schema that is not one, are errors.
///
/// ```
/// use amp::reflect::{parse, Description, FetchError};
///
/// let d = Description { version: 1, schema: r#"{"commands": [{"name": "Ping"}]}"#.into() };
/// assert_eq!(parse(&d)?.commands[0].name, "Ping");
///
/// let later = Description { version: 2, ..d };
/// assert!(matches!(parse(&later), Err(FetchError::Version(2))));
/// # Ok::<(), FetchError>(())
/// ```
pub fn parse(answer: &Description) -> Result<Schema, FetchError> {
    if answer.version != VERSION {
        return Err(FetchError::Version(answer.version));
    }
    let mut schema = Schema::parse(&answer.schema.0, Format::Json).map_err(FetchError::Syntax)?;
    // A command whose description breaks a rule (say an argument named
    // `_ask`, which a Python class may declare) is known by name only.
    let (good, bad): (Vec<_>, Vec<_>) = std::mem::take(&mut schema.commands)
        .into_iter()
        .enumerate()
        .partition(|(i, c)| c.problems(*i).is_empty());
    schema.commands = good.into_iter().map(|(_, c)| c).collect();
    schema.untyped.extend(bad.into_iter().map(|(_, c)| c.name));
    let problems = schema.problems();
    if !problems.is_empty() {
        return Err(FetchError::Invalid(problems));
    }
    Ok(schema)
}

/// Why a server's schema could not be had.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use amp::reflect::{fetch, FetchError};
/// use amp::{Connection, Router};
/// use std::error::Error;
///
/// let (a, b) = tokio::io::duplex(4096);
/// let _server = Connection::spawn(a, Router::new()); // does not describe itself
/// let client = Connection::spawn(b, Router::new());
/// assert!(matches!(fetch(&client).await, Err(FetchError::NotDescribed)));
///
/// // Once the connection is gone, the failed call is the source.
/// client.close().await;
/// let err = fetch(&client).await.unwrap_err();
/// assert!(matches!(&err, FetchError::Call(e) if e.is_connection_lost()));
/// assert!(err.source().is_some());
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum FetchError {
    /// The server does not describe itself (it answered `UNHANDLED`).
    NotDescribed,
    /// The call failed: connection, timeout, an error answer.
    Call(CallError<DescribeError>),
    /// The answer is in a format version this side does not read.
    Version(i64),
    /// The schema is not well-formed JSON in the schema's shape.
    Syntax(ParseError),
    /// The schema breaks the format's rules.
    Invalid(Vec<Problem>),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::NotDescribed => {
                write!(
                    f,
                    "the server does not describe itself ({COMMAND} is unhandled)"
                )
            }
            FetchError::Call(_) => write!(f, "{COMMAND} failed"),
            FetchError::Version(v) => write!(
                f,
                "the server described itself in format version {v}; this side reads {VERSION}"
            ),
            FetchError::Syntax(_) => write!(f, "the server's schema is not valid"),
            FetchError::Invalid(p) => {
                write!(f, "the server's schema breaks the format's rules")?;
                if let Some(first) = p.first() {
                    write!(f, ": {first}")?;
                    if p.len() > 1 {
                        write!(f, " (and {} more)", p.len() - 1)?;
                    }
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for FetchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FetchError::Call(e) => Some(e),
            FetchError::Syntax(e) => Some(e),
            _ => None,
        }
    }
}
