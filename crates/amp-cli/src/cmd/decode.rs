//! `amp decode`: a raw AMP byte stream printed box by box.

use amp::{AmpBox, BoxDecoder, ProtocolError};
use bytes::{Bytes, BytesMut};
use serde_json::{Map, Value as Json};
use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;

use crate::args::open_input;
use crate::cli::Global;
use crate::exit::{CliError, CliResult};
use crate::schema::{self, Schema};
use crate::value::record::{Asks, Head, Kind};
use crate::value::{read_box, render};

/// `amp decode`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Each box is printed with its number and byte offset, what it is
(request, answer to #n, error to #n, or a plain box) and its values as
`key: value` lines (see amp call --help for how values are shown), typed by
the schema: a request by its command's arguments, an answer or error by the
command of the request it answers (matched by tag). With --json, one JSON
record per line, the form amp encode reads back:
  {\"offset\":0,\"n\":1,\"kind\":\"request\",\"command\":\"Sum\",\"tag\":\"1\",\"fields\":{\"a\":13,\"b\":81}}

The stream is read as it comes (a box is at most 4 MiB). Bytes that are not
AMP stop the decoding: the boxes before them are printed, then
`malformed at byte OFFSET: reason` on standard error (OFFSET: where the bad
box starts), exit code 2. Answers are matched to the latest request with
their tag, so a capture of both directions where both sides use the same
tags may pair them wrongly.

A capture file (pcap or pcapng: tcpdump -w, Wireshark, dumpcap) is read
as such: each TCP connection's two directions are put back in order
(segments out of order held, retransmissions dropped), and each box is
labelled with its connection, direction (FROM -> TO) and capture time
(+seconds since the first packet; with --json, `conn`, `from`, `to`,
`time` in seconds since the epoch, and `latency_us` for an answer). Answers
are matched to the asks of their own connection. A connection picked up in
its middle, or with bytes the capture lost, resumes at the next whole box;
one that stops being AMP (StartTLS, a protocol switch) is no longer
followed. Each of these is said once. --port PORT follows only connections
to or from PORT. Segments wait for the bytes missing before them up to
4 MiB or 65,536 segments a direction; past that the missing bytes count as
lost. Link layers read: Ethernet, Linux cooked (v1, v2: tcpdump -i any),
raw IP, BSD loopback.

Examples:
  amp decode capture.amp
  tcpdump -i lo -w amp.pcap port 1234 &   # ... then, after some traffic:
  amp decode amp.pcap --port 1234
  amp call 127.0.0.1:1234 Sum a:=1 b:=2 --offline --json | amp encode | amp decode
  amp --schema api.json decode --json capture.amp | jq .fields"
)]
pub struct Args {
    /// The file to read (`-`: standard input).
    #[arg(value_name = "FILE", default_value = "-")]
    pub input: PathBuf,
    /// One JSON record per box instead of text.
    #[arg(long)]
    pub json: bool,
    /// In a capture, follow only connections with this port at one end
    /// (the AMP server's); it also tells which side is the server when
    /// the capture missed the connection's start.
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
}

/// Bytes read at a time.
const READ_SIZE: usize = 64 * 1024;

/// Runs `amp decode`.
pub async fn run(args: Args, global: &Global) -> CliResult {
    let schema = schema::load(global)?;
    let mut input = open_input(&args.input)?;
    // A capture file (pcap, pcapng) or a raw AMP stream: the first four
    // bytes tell.
    let mut magic = Vec::with_capacity(4);
    (&mut input)
        .take(4)
        .read_to_end(&mut magic)
        .map_err(|e| CliError::usage(format!("cannot read the input: {e}")))?;
    let input = std::io::Cursor::new(magic.clone()).chain(input);
    if crate::capture::packets::is_capture(&magic) {
        let out = BufWriter::new(std::io::stdout().lock());
        let skipped = crate::capture::decode(input, schema.as_ref(), args.json, args.port, out)?;
        if skipped.truncated > 0 {
            eprintln!(
                "amp decode: {} packets were cut short by the capture's snap length",
                skipped.truncated
            );
        }
        return Ok(());
    }
    let out = BufWriter::new(std::io::stdout().lock());
    let mut printer = Printer {
        schema: schema.as_ref(),
        json: args.json,
        asks: Asks::default(),
        out,
    };
    let result = decode_stream(input, |offset, n, b| printer.print(offset, n, b));
    let flushed = printer.out.flush();
    match result {
        Err(Stop::Closed) => Ok(()),
        Err(Stop::Failed(e)) => Err(e),
        Ok(()) => flushed.or_else(|e| write_failed(&e)),
    }
}

/// Why decoding stopped early.
enum Stop {
    /// Standard output was closed (a pipe into `head`): not an error.
    Closed,
    /// A real failure.
    Failed(CliError),
}

/// A write error: a closed pipe ends quietly, anything else is reported.
fn write_failed(e: &std::io::Error) -> CliResult {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return Ok(());
    }
    Err(CliError::usage(format!(
        "cannot write to standard output: {e}"
    )))
}

/// Feeds `input` through a [`BoxDecoder`], calling `each(offset, n, box)`
/// for every box (numbered from 1). Memory is bounded by the decoder's
/// box size limit plus one read.
fn decode_stream(
    mut input: impl Read,
    mut each: impl FnMut(u64, u64, AmpBox) -> std::io::Result<()>,
) -> Result<(), Stop> {
    let mut dec = BoxDecoder::new();
    let mut buf = BytesMut::with_capacity(READ_SIZE);
    let mut offset: u64 = 0;
    let mut n: u64 = 0;
    let mut chunk = vec![0u8; READ_SIZE];
    loop {
        let read = match input.read(&mut chunk) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Stop::Failed(CliError::usage(format!(
                    "cannot read the input at byte {}: {e}",
                    offset + buf.len() as u64
                ))))
            }
        };
        if read == 0 {
            if buf.is_empty() {
                return Ok(());
            }
            return Err(malformed(
                offset,
                ProtocolError::TruncatedBox {
                    buffered: buf.len(),
                }
                .to_string()
                .replace("connection closed", "the input ends"),
            ));
        }
        buf.extend_from_slice(&chunk[..read]);
        loop {
            let before = buf.len();
            match dec.decode(&mut buf) {
                Ok(Some(b)) => {
                    n += 1;
                    if let Err(e) = each(offset, n, b) {
                        return match write_failed(&e) {
                            Ok(()) => Err(Stop::Closed),
                            Err(e) => Err(Stop::Failed(e)),
                        };
                    }
                    offset += (before - buf.len()) as u64;
                }
                Ok(None) => break,
                Err(e) => return Err(malformed(offset, e.to_string())),
            }
        }
    }
}

/// `malformed at byte OFFSET: reason` on standard error, exit code 2.
fn malformed(offset: u64, reason: String) -> Stop {
    let reason = reason.replace("peer sent an", "an");
    eprintln!("malformed at byte {offset}: {reason}");
    Stop::Failed(CliError::usage(format!("malformed at byte {offset}: {reason}")).reported())
}

/// Prints boxes, matching answers to the requests they answer.
struct Printer<'s, W: Write> {
    schema: Option<&'s Schema>,
    json: bool,
    asks: Asks,
    out: W,
}

impl<W: Write> Printer<'_, W> {
    /// Prints box `n`, found at `offset`.
    fn print(&mut self, offset: u64, n: u64, b: AmpBox) -> std::io::Result<()> {
        let mut head = Head::of(&b);
        let mut request = None;
        match head.kind {
            Kind::Request => {
                if let (Some(tag), Some(cmd)) = (&head.tag, &head.command) {
                    self.asks.ask(tag.clone(), n, cmd.clone());
                }
            }
            Kind::Answer | Kind::Error => {
                if let Some((m, cmd)) = head.tag.as_ref().and_then(|t| self.asks.answer(t)) {
                    request = Some(m);
                    head.command = Some(cmd);
                }
            }
            Kind::Box => {}
        }
        let values = read_box(head.fields(self.schema), &b, head.keys());
        if self.json {
            let mut extra = Map::new();
            extra.insert("offset".into(), Json::from(offset));
            extra.insert("n".into(), Json::from(n));
            if let Some(m) = request {
                extra.insert("request".into(), Json::from(m));
            }
            return writeln!(self.out, "{}", head.record(&values, extra));
        }
        let text = |b: &Option<Bytes>| b.as_deref().map(render::text).unwrap_or_default();
        let tag = match &head.tag {
            Some(t) => format!("(tag {})", render::text(t)),
            None => "(no answer wanted)".into(),
        };
        let to = match request {
            Some(m) => format!(" to #{m} {}", text(&head.command)),
            None => String::new(),
        };
        match head.kind {
            Kind::Request => writeln!(
                self.out,
                "#{n} @{offset} request {} {tag}",
                text(&head.command)
            )?,
            Kind::Answer => writeln!(self.out, "#{n} @{offset} answer{to} {tag}")?,
            Kind::Error => {
                writeln!(self.out, "#{n} @{offset} error{to} {tag}")?;
                if head.code.is_some() {
                    writeln!(self.out, "_error_code: {}", text(&head.code))?;
                }
                if head.description.is_some() {
                    writeln!(self.out, "_error_description: {}", text(&head.description))?;
                }
            }
            Kind::Box => writeln!(self.out, "#{n} @{offset} box")?,
        }
        write!(self.out, "{}", render::lines(&values))?;
        writeln!(self.out)
    }
}
