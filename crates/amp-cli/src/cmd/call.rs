//! `amp call`: one request, its answer printed.

use amp::{AmpBox, CallError, CallOptions, Config, Connection, NoError, Router};
use serde_json::{json, Map, Value as Json};
use std::io::Write;
use std::time::Duration;

use crate::args::seconds;
use crate::cli::Global;
use crate::conn::{self, Targets, TlsArgs};
use crate::exit::{CliError, CliResult, Exit};
use crate::items;
use crate::request::request_box;
use crate::schema::remote;
use crate::schema::{self, CommandSchema, Schema};
use crate::value::record::Head;
use crate::value::{read_box, render};
use amp::reflect::FetchError;

/// `amp call`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Arguments:
  NAME=TEXT      the text is the wire value as is (checked against the schema type)
  NAME:=JSON     a JSON value, converted by the schema type (untyped without a schema)
  The schema is --schema FILE (or AMP_SCHEMA, ./.amp.json, ./.amp.toml); with
  none, the server's own description if it gives one (amp.describe), else
  the call is untyped.
  NAME=@FILE     the file's bytes are the wire value (@- reads standard input)
  NAME:=@FILE    the file holds the JSON value
  In NAME, a backslash quotes the next character (a\\=b=1 names `a=b`).

Output: the answer's fields as `key: value` lines (lists as JSON; a value
with control characters or white space at its ends JSON-quoted, bytes that
are not UTF-8 as Python's b'...'), or one JSON object with --json, where
bytes that are not UTF-8 are {\"base64\": \"...\"}. A command the schema
marks requiresAnswer=false is sent as with --no-answer.

Examples:
  amp call 127.0.0.1:1234 Sum a:=13 b:=81
  amp call 127.0.0.1:1234 Divide numerator=1 denominator=0      # exit 1: ZERO_DIVISION: ...
  amp --schema api.json call 127.0.0.1:1234 getlist length:=3 --json
  amp call unix:/run/app.sock Hello -d @hello.json print:='\"hi\"'
  amp call 127.0.0.1:1234 Sum a:=1 b:=2 --offline --json | amp encode > sum.amp
  amp call --offline Sum a:=1 b:=2                                # no address needed

Exit codes: 0 answered, 1 the peer answered an AMP error, 2 usage (bad
arguments, schema or file), 3 connection, TLS or timeout.")]
pub struct Args {
    /// Where to connect: host:port or unix:/path (may be left out with
    /// --offline); several servers as HOST:PORT,HOST:PORT,... (the call
    /// goes to one that is up).
    #[arg(value_name = "ADDR")]
    pub addr: String,
    /// Use every address the name resolves to (a DNS name with several
    /// records is several servers): the call goes to one that is up.
    #[arg(long)]
    pub balance: bool,
    /// The command (its name on the wire).
    #[arg(value_name = "COMMAND", required_unless_present = "offline")]
    pub command: Option<String>,
    /// The command, once the positionals are sorted out.
    #[arg(skip)]
    name: String,
    /// The arguments: NAME=TEXT, NAME:=JSON, NAME=@FILE, NAME:=@FILE.
    #[arg(value_name = "ITEM")]
    pub items: Vec<String>,
    /// All arguments as one JSON object: inline, @FILE, or @- (standard
    /// input); items override its members.
    #[arg(short = 'd', long = "data", value_name = "JSON|@FILE|@-")]
    pub data: Option<String>,
    /// Print the answer (or the error) as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Send the request without asking for an answer (no `_ask`).
    #[arg(long)]
    pub no_answer: bool,
    /// Print the box that would be sent (hex and readable), and connect
    /// nowhere.
    #[arg(long)]
    pub offline: bool,
    /// Seconds to wait for the connection (and TLS), and again for the
    /// answer.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = seconds)]
    pub timeout: Duration,
    #[command(flatten)]
    pub tls: TlsArgs,
}

/// Runs `amp call`.
pub async fn run(mut args: Args, global: &Global) -> CliResult {
    let target = match args.addr.parse::<Targets>() {
        Ok(t) => Some(t),
        // `amp call --offline COMMAND [ITEM]...`: no address needed.
        Err(_) if args.offline => {
            if let Some(first) = args.command.take() {
                args.items.insert(0, first);
            }
            args.command = Some(std::mem::take(&mut args.addr));
            None
        }
        Err(e) => return Err(CliError::usage(e)),
    };
    args.name = match args.command.take() {
        Some(name) => name,
        None => {
            return Err(CliError::usage(
                "which command? amp call ADDR COMMAND [ITEM]...",
            ))
        }
    };
    let file = schema::load(global)?;
    let data = args.data.as_deref().map(items::parse_data).transpose()?;
    // The arguments are checked against the file's schema (or untyped)
    // before anything connects; against the server's own once it says it.
    let mut request = request_box(file.as_ref(), &args.name, &args.items, data.as_ref())?;
    let Some(target) = target.filter(|_| !args.offline) else {
        let declared = file.as_ref().and_then(|s| s.command(&args.name));
        let no_answer = args.no_answer || declared.is_some_and(|c| !c.requires_answer);
        return offline(&args, declared, request, no_answer);
    };
    let Some(target) = target.single(args.balance) else {
        // Several servers: the call waits (up to --timeout) for one to be
        // connected, and goes to the less loaded of two.
        let client = conn::balanced(&target, &args.tls, args.timeout, None)?;
        let schema = match file {
            Some(s) => Some(s),
            None => {
                let server = described(&args, remote::ask_balanced(&client, args.timeout).await)?;
                request = retyped(&args, server.as_ref(), request, data.as_ref())?;
                server
            }
        };
        let declared = schema.as_ref().and_then(|s| s.command(&args.name));
        let no_answer = args.no_answer || declared.is_some_and(|c| !c.requires_answer);
        let result = if no_answer {
            client
                .notify_raw(args.name.clone(), request)
                .await
                .map(|()| None)
        } else {
            let options = CallOptions::new().timeout(args.timeout);
            client
                .call_raw_with(args.name.clone(), request, options)
                .await
                .map(Some)
        };
        return finish(&args, declared, result);
    };
    let conn = conn::connect(
        target,
        &args.tls,
        args.timeout,
        Router::new(),
        Config::default(),
    )
    .await?;
    let schema = match file {
        Some(s) => Some(s),
        None => {
            let server = described(&args, remote::ask(&conn, args.timeout).await)?;
            request = retyped(&args, server.as_ref(), request, data.as_ref())?;
            server
        }
    };
    let declared = schema.as_ref().and_then(|s| s.command(&args.name));
    let no_answer = args.no_answer || declared.is_some_and(|c| !c.requires_answer);
    let result = if no_answer {
        conn.notify_raw(args.name.clone(), request)
            .await
            .map(|()| None)
    } else {
        let options = CallOptions::new().timeout(args.timeout);
        conn.call_raw_with(args.name.clone(), request, options)
            .await
            .map(Some)
    };
    close(&conn).await;
    finish(&args, declared, result)
}

/// The server's own schema, if it describes itself: `None` (untyped, as
/// without a schema) if it answers `UNHANDLED`; a failed connection is the
/// call's failure.
fn described(args: &Args, fetched: Result<Schema, FetchError>) -> CliResult<Option<Schema>> {
    match fetched {
        Ok(schema) => Ok(Some(schema)),
        Err(FetchError::NotDescribed) => Ok(None),
        Err(e @ FetchError::Call(CallError::ConnectionLost(_) | CallError::Timeout(_))) => {
            Err(remote::failed(&args.addr, e))
        }
        Err(e) => {
            eprintln!(
                "amp: warning: {}; calling untyped",
                remote::failed(&args.addr, e).error
            );
            Ok(None)
        }
    }
}

/// The request typed by the server's schema, when it describes the
/// command (and no schema file already did).
fn retyped(
    args: &Args,
    server: Option<&Schema>,
    request: AmpBox,
    data: Option<&Json>,
) -> CliResult<AmpBox> {
    match server {
        Some(schema) if schema.command(&args.name).is_some() => {
            request_box(Some(schema), &args.name, &args.items, data)
        }
        _ => Ok(request),
    }
}

/// Prints the answer, or turns the failure into the exit.
fn finish(
    args: &Args,
    declared: Option<&CommandSchema>,
    result: Result<Option<AmpBox>, CallError<NoError>>,
) -> CliResult {
    match result {
        Ok(None) => Ok(()),
        Ok(Some(answer)) => print_answer(args, declared, &answer),
        Err(e) => Err(call_failed(args, declared, e)),
    }
}

/// Closes `conn`, letting what is written go out, but not waiting on a
/// peer that does not read for more than a second.
async fn close(conn: &Connection) {
    let _ = tokio::time::timeout(Duration::from_secs(1), conn.close()).await;
}

/// Writes `text` to standard output (a closed pipe is not an error).
fn emit(text: &str) -> CliResult {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::usage(format!(
            "cannot write to standard output: {e}"
        ))),
        _ => Ok(()),
    }
}

/// Prints the answer's fields, typed by the command's response if known.
fn print_answer(args: &Args, declared: Option<&CommandSchema>, answer: &AmpBox) -> CliResult {
    let values = read_box(declared.map(|c| c.response.as_slice()), answer, &[]);
    if !args.json {
        return emit(&render::lines(&values));
    }
    let (mut obj, binary) = values.to_json();
    for pair in binary {
        if let Some(key) = pair.get(0).and_then(|k| crate::value::json_bytes(k).ok()) {
            let shown = amp::display_bytes(&key);
            eprintln!("amp: the answer's key {shown} is not UTF-8; printed as {shown:?}");
            obj.insert(shown, pair.get(1).cloned().unwrap_or(Json::Null));
        }
    }
    emit(&format!("{}\n", Json::Object(obj)))
}

/// The exit for a failed call: an AMP error answer is exit 1 (printed as
/// `CODE: description`, and as a JSON object with --json).
fn call_failed(args: &Args, declared: Option<&CommandSchema>, e: CallError<NoError>) -> CliError {
    let (code, description) = match e {
        CallError::UnknownRemote { code, description } => {
            (String::from_utf8_lossy(&code).into_owned(), description)
        }
        CallError::Unhandled { description } => ("UNHANDLED".to_owned(), description),
        CallError::Timeout(after) => {
            return CliError::connection(format!(
                "no answer to {} from {} within {after:?} (--timeout)",
                args.name, args.addr
            ))
        }
        CallError::Encode(e) => return CliError::usage(e),
        other => {
            return CliError::connection(CallFailed {
                command: args.name.clone(),
                source: other,
            })
        }
    };
    let is_declared = declared
        .is_some_and(|c| c.errors.contains_key(&code) || c.fatal_errors.contains_key(&code));
    if args.json {
        let body =
            json!({"error": {"code": code, "description": description, "declared": is_declared}});
        let _ = emit(&format!("{body}\n"));
    }
    eprintln!("{code}: {description}");
    CliError::new(Exit::Remote, format!("{code}: {description}")).reported()
}

/// Prints the box `amp call` would send, and sends nothing.
fn offline(
    args: &Args,
    declared: Option<&CommandSchema>,
    request: AmpBox,
    no_answer: bool,
) -> CliResult {
    let mut full = request;
    full.insert("_command", args.name.clone());
    if !no_answer {
        // The tag the first call on a connection carries.
        full.insert("_ask", "1");
    }
    let wire = full.to_bytes().map_err(CliError::usage)?;
    let fields = declared.map(|c| c.arguments.as_slice());
    if args.json {
        let head = Head::of(&full);
        let values = read_box(fields, &full, head.keys());
        let mut extra = Map::new();
        extra.insert(
            "hex".into(),
            Json::from(wire.iter().map(|b| format!("{b:02x}")).collect::<String>()),
        );
        return emit(&format!("{}\n", head.record(&values, extra)));
    }
    let tag = if no_answer { "no answer" } else { "tag 1" };
    let mut text = format!(
        "{} request ({tag}), {} bytes:\n{}",
        render::text(args.name.as_bytes()),
        wire.len(),
        render::hex_dump(&wire)
    );
    text.push_str(&render::lines(&read_box(fields, &full, &[])));
    emit(&text)
}

/// The call failed without an answer.
#[derive(Debug)]
struct CallFailed {
    command: String,
    source: CallError<NoError>,
}

impl std::fmt::Display for CallFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the {} call failed", self.command)
    }
}

impl std::error::Error for CallFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
