//! `amp encode`: JSON lines in, a raw AMP byte stream out.

use bytes::BytesMut;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::PathBuf;

use crate::args::open_input;
use crate::cli::Global;
use crate::exit::{CliError, CliResult};
use crate::items::MAX_JSON;
use crate::schema;
use crate::value::record::{record_box, Asks};

/// `amp encode`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Each line is one box: a record as amp decode --json writes it
  {\"kind\":\"request\",\"command\":\"Sum\",\"tag\":\"1\",\"fields\":{\"a\":13,\"b\":81}}
(kind request, answer, error or box; offset, n and request are ignored), or
a plain JSON object of the box's keys and values, {\"_command\":\"Sum\",\"a\":13}.
Values are typed by the schema (a request's arguments, an answer's response,
matched by command or by tag); keys it does not declare, and every key
without a schema, are untyped: a string is its UTF-8, a number its text,
{\"base64\": \"...\"} exact bytes. Blank lines are skipped; a line is at most
32 MiB. Boxes are written in Twisted's byte order (sorted keys), so
`amp decode --json | amp encode` gives back a stream Twisted wrote byte for
byte.

Examples:
  echo '{\"_command\":\"Sum\",\"_ask\":\"1\",\"a\":13,\"b\":81}' | amp encode > sum.amp
  amp decode --json capture.amp | amp encode > same.amp
  amp encode boxes.jsonl | nc 127.0.0.1 1234 | amp decode"
)]
pub struct Args {
    /// The JSON lines to read (`-`: standard input).
    #[arg(value_name = "FILE", default_value = "-")]
    pub input: PathBuf,
}

/// Runs `amp encode`.
pub async fn run(args: Args, global: &Global) -> CliResult {
    let schema = schema::load(global)?;
    let stdout = std::io::stdout();
    if stdout.is_terminal() {
        return Err(CliError::usage(
            "amp encode writes binary AMP: redirect its output to a file or a pipe",
        ));
    }
    let input = open_input(&args.input)?;
    let mut input = BufReader::new(input);
    let mut out = BufWriter::new(stdout.lock());
    let mut asks = Asks::default();
    let mut line = Vec::new();
    let mut wire = BytesMut::new();
    for number in 1u64.. {
        line.clear();
        let read = (&mut input)
            .take(MAX_JSON as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| CliError::usage(format!("cannot read line {number}: {e}")))?;
        if read == 0 {
            break;
        }
        if line.len() > MAX_JSON {
            return Err(CliError::usage(format!(
                "line {number} is over {MAX_JSON} bytes"
            )));
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let v: serde_json::Value = serde_json::from_slice(&line).map_err(|e| at_line(number, e))?;
        let b = record_box(&v, schema.as_ref(), &mut asks).map_err(|e| at_line(number, e))?;
        wire.clear();
        b.encode(&mut wire).map_err(|e| at_line(number, e))?;
        if let Err(e) = out.write_all(&wire) {
            return closed_or(e);
        }
    }
    out.flush().or_else(closed_or)
}

/// A closed pipe ends quietly; another write error is reported.
fn closed_or(e: std::io::Error) -> CliResult {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return Ok(());
    }
    Err(CliError::usage(format!(
        "cannot write to standard output: {e}"
    )))
}

/// A usage error about input line `number`.
fn at_line(number: u64, e: impl std::error::Error + Send + Sync + 'static) -> CliError {
    CliError::usage(AtLine {
        number,
        source: Box::new(e),
    })
}

/// An input line that is not a box.
#[derive(Debug)]
struct AtLine {
    number: u64,
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl std::fmt::Display for AtLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}", self.number)
    }
}

impl std::error::Error for AtLine {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}
