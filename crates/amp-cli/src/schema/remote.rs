//! A server's own schema: `amp list ADDR`, `amp describe ADDR COMMAND`,
//! `amp schema fetch ADDR`, and `amp call` without a schema file ask the
//! server with `amp.describe` (docs/PROTOCOL.md, section 9,
//! "Self-description").

use amp::reflect::{self, Describe, FetchError};
use amp::{Balanced, CallOptions, Config, Connection, Router};
use std::fmt;
use std::time::Duration;

use crate::conn::{self, Targets, TlsArgs};
use crate::exit::{CliError, CliResult, Exit};
use crate::schema::Schema;

/// Where to ask, and how (the flags the asking subcommands share).
#[derive(clap::Args, Debug, Clone)]
pub struct Remote {
    /// Seconds to wait for the connection (and TLS), and again for the
    /// answer.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = crate::args::seconds)]
    pub timeout: Duration,
    #[command(flatten)]
    pub tls: TlsArgs,
}

/// Connects to `addr` and asks for its schema; the connection is closed
/// after. A server that does not describe itself is exit 1 (it answered
/// `UNHANDLED`); a connection failure, or an answer that is no schema,
/// exit 3.
pub async fn fetch(addr: &str, how: &Remote) -> CliResult<Schema> {
    let targets: Targets = addr.parse().map_err(CliError::usage)?;
    let Some(target) = targets.single(false) else {
        return Err(CliError::usage(format!(
            "`{addr}`: ask one server for its schema (several were given)"
        )));
    };
    let conn = conn::connect(
        target,
        &how.tls,
        how.timeout,
        Router::new(),
        Config::default(),
    )
    .await?;
    let result = ask(&conn, how.timeout).await;
    let _ = tokio::time::timeout(Duration::from_secs(1), conn.close()).await;
    result.map_err(|e| failed(addr, e))
}

/// Asks the peer of `conn` for its schema, waiting up to `timeout`.
pub async fn ask(conn: &Connection, timeout: Duration) -> Result<Schema, FetchError> {
    let options = CallOptions::new().timeout(timeout);
    let answer = conn.call_with(Describe::latest(), options).await?;
    reflect::parse(&answer)
}

/// [`ask`] through a balanced client (one of its servers answers).
pub async fn ask_balanced(client: &Balanced, timeout: Duration) -> Result<Schema, FetchError> {
    let options = CallOptions::new().timeout(timeout);
    let answer = client.call_with(Describe::latest(), options).await?;
    reflect::parse(&answer)
}

/// The exit for a schema that could not be had from `addr`.
pub fn failed(addr: &str, e: FetchError) -> CliError {
    let exit = match &e {
        FetchError::NotDescribed => Exit::Remote,
        FetchError::Call(amp::CallError::Remote(_) | amp::CallError::UnknownRemote { .. }) => {
            Exit::Remote
        }
        // A failed connection, or a server whose answer is no schema:
        // a protocol failure.
        _ => Exit::Connection,
    };
    CliError::new(
        exit,
        NoSchema {
            addr: addr.to_owned(),
            source: e,
        },
    )
}

/// A server's schema that could not be had.
#[derive(Debug)]
pub struct NoSchema {
    addr: String,
    source: FetchError,
}

impl fmt::Display for NoSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            FetchError::NotDescribed => write!(
                f,
                "{} does not describe itself ({} is unhandled): give its schema with \
                 --schema FILE (see docs/SCHEMA.md)",
                self.addr,
                reflect::COMMAND
            ),
            e => write!(f, "cannot get the schema of {}: {e}", self.addr),
        }
    }
}

impl std::error::Error for NoSchema {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
