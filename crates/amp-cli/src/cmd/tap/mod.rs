//! `amp tap`: a transparent TCP proxy that prints every AMP box going by,
//! both ways, for each connection it carries.

mod print;
mod watch;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::args::seconds;
use crate::cli::Global;
use crate::conn::Target;
use crate::exit::CliResult;
use crate::schema::{self, Kind};
use crate::splice::listen::{self, stop_signal, Limits, Listener};
use crate::splice::stream::Stream;
use crate::splice::{self, DEFAULT_BUFFER};
use print::{Printer, What};
use watch::{Known, Watch};

/// `amp tap`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amp tap 127.0.0.1:4321 127.0.0.1:1234      # then point the client at port 4321
  amp tap 127.0.0.1:0 127.0.0.1:1234 --json | jq .

Output, per box: `#CONN +SECONDS DIR HEADLINE` then `    key: value` lines
(DIR `->` client to server, `<-` back; an answer's headline names the
request and its latency). Bytes pass through unchanged, whatever they are.
After a StartTLS answer both ways are TLS: reported, then passed through
unparsed. A direction that stops parsing as AMP just after an answer is
reported `switched (not AMP any more)` (a schema's `switch` commands are
known in advance); other bytes that are not AMP are reported with their
offset, and the rest of that direction is passed through.

Bounded: each direction buffers at most one box (4 MiB); traffic never
waits for stdout: at most 4096 events (16 MiB of boxes) wait to be
printed, and past that events are dropped and counted in the output.")]
pub struct Args {
    /// Where clients connect: host:port (port 0: any free port) or
    /// unix:/path.
    pub listen: Target,
    /// The AMP server to pass connections on to: host:port or unix:/path.
    pub upstream: Target,
    /// Print JSON lines (one event each) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Seconds the upstream may take to accept each connection.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = seconds)]
    pub timeout: Duration,
    #[command(flatten)]
    pub limits: Limits,
}

/// Runs `amp tap` until Ctrl-C.
pub async fn run(args: Args, global: &Global) -> CliResult {
    let mut known = Known::default();
    if let Some(schema) = schema::load(global)? {
        for c in &schema.commands {
            match c.kind {
                Kind::Switch => known.switches.insert(c.name.clone()),
                Kind::Starttls => known.starttls.insert(c.name.clone()),
                Kind::Command => false,
            };
        }
    }
    let known = Arc::new(known);
    let stop = stop_signal()?;
    let listener = Listener::bind(&args.listen).await?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({"event": "listening", "addr": listener.local()})
        );
    } else {
        println!("listening on {}", listener.local());
    }
    let (printer, thread) = Printer::start(args.json);
    let upstream = Arc::new(args.upstream);
    let timeout = args.timeout;
    let carry = |n, client: Stream, peer| {
        let (printer, known, upstream) = (printer.clone(), known.clone(), upstream.clone());
        async move { tap(n, client.boxed(), peer, &upstream, timeout, printer, known).await }
    };
    let stopped = listen::serve(listener, args.limits, stop, carry).await;
    drop(printer);
    // Every event queued is printed before exiting.
    let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    listen::report_stop(stopped);
    Ok(())
}

/// Taps connection `n`.
async fn tap(
    n: u64,
    mut client: Box<dyn amp::Io>,
    peer: String,
    upstream: &Target,
    timeout: Duration,
    printer: Printer,
    known: Arc<Known>,
) {
    let mut server = match Stream::connect(upstream, timeout).await {
        Ok(s) => s.boxed(),
        Err(e) => {
            let error = e.to_string();
            printer.emit(n, What::Unreachable { peer, error });
            return;
        }
    };
    let upstream = upstream.to_string();
    printer.emit(n, What::Connected { peer, upstream });
    let started = Instant::now();
    let mut watch = Watch::new(n, printer.clone(), known);
    let out = splice::splice_observed(&mut client, &mut server, DEFAULT_BUFFER, &mut watch).await;
    watch.finish();
    let closed = What::Closed {
        up: out.a_to_b,
        down: out.b_to_a,
        secs: started.elapsed().as_secs_f64(),
        error: out
            .error
            .map(|(dir, e)| format!("error going {}: {e}", dir.arrow())),
    };
    printer.emit(n, closed);
}
