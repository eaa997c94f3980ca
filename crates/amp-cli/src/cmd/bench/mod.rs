//! `amp bench ADDR COMMAND [ARG=VALUE]...`: a load generator. K
//! connections, C calls in flight in all (split across them, as ghz's
//! `-c`), N calls in all or until a duration; a latency histogram per
//! connection; a report in text or JSON.

mod load;
mod report;

use amp::{AmpBox, Config, Router};
use bytes::Bytes;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::args::seconds;
use crate::cli::Global;
use crate::conn::{self, Targets, TlsArgs};
use crate::exit::{CliError, CliResult, Exit};
use load::{Caller, Plan, Progress, Tally};
use report::Report;

/// Calls when neither --calls nor --duration is given.
const DEFAULT_CALLS: u64 = 10_000;

/// `amp bench`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Load: --connections K connections, --concurrency C calls in flight in all,
split across the connections (as ghz's -c: with -c 50 --connections 2, 25 on
each); --calls N in all, or as many as fit in --duration (both: whichever
ends first). No task per call: each connection keeps its share in flight.

Report: calls, errors by code, elapsed, latency p50/p90/p99/max (µs, per
call), and a last line `throughput: N calls/s`; --json prints one JSON object
with the same numbers. A progress bar is drawn on stderr when it is a terminal.

Several servers (HOST:PORT,HOST:PORT or --balance): each of the K
connections becomes a balanced client with one connection per server, and
each call goes to the less loaded of two servers drawn at random. A server
that is lost fails the calls it had (CONNECTION_LOST, never sent again) and
the run goes on with the others; it is reconnected when it comes back.

Exit: 0 if every call was answered; 1 if any call was answered with an AMP
error (the report is printed); 3 if a connection could not be opened (no
report), or calls failed on our side: timeouts, a connection lost (report
printed).

Examples:
  amp serve 127.0.0.1:1234 &
  amp bench 127.0.0.1:1234 Sum a=1 b=2 --calls 100000 --concurrency 100 --connections 4
  amp bench 127.0.0.1:1234 Sum a=1 b=2 --duration 10 --json
  amp bench 127.0.0.1:1234 Sum a=1 b=2 --starttls --insecure
  amp bench 10.0.0.1:1234,10.0.0.2:1234 Sum a=1 b=2 --concurrency 200
  amp bench app.svc.cluster.local:1234 Sum a=1 b=2 --balance --resolve-every 5"
)]
pub struct Args {
    /// The server: host:port or unix:/path; several servers as
    /// HOST:PORT,HOST:PORT,... (calls spread over them).
    pub target: Targets,
    /// Use every address the name(s) resolve to (a DNS name with several
    /// records is several servers), even when one target is given.
    #[arg(long)]
    pub balance: bool,
    /// With several servers (or --balance): look the names up again this
    /// often, so that servers added meanwhile get calls.
    #[arg(long, value_name = "SECS", value_parser = seconds)]
    pub resolve_every: Option<Duration>,
    /// The command to call.
    pub command: String,
    /// Its arguments, NAME=VALUE.
    pub items: Vec<String>,
    /// Calls in all [default: 10000, or unbounded with --duration].
    #[arg(short = 'n', long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub calls: Option<u64>,
    /// Calls in flight in all, split across the connections (ghz's -c).
    #[arg(short = 'c', long, value_name = "C", default_value_t = 50,
          value_parser = clap::value_parser!(u64).range(1..100_000))]
    pub concurrency: u64,
    /// Connections to open (at most --concurrency).
    #[arg(long, value_name = "K", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..10_000))]
    pub connections: u64,
    /// Start no call after this many seconds.
    #[arg(short = 'z', long, value_name = "SECS", value_parser = seconds)]
    pub duration: Option<Duration>,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Seconds to connect (and StartTLS), and to wait for each answer.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = seconds)]
    pub timeout: Duration,
    #[command(flatten)]
    pub tls: TlsArgs,
}

/// Runs `amp bench`.
pub async fn run(args: Args, g: &Global) -> CliResult {
    let (k, c) = (args.connections as usize, args.concurrency as usize);
    if c < k {
        return Err(CliError::usage(format!(
            "--concurrency {c} is less than --connections {k}: each connection needs a call in flight"
        )));
    }
    if args.command == "StartTLS" {
        return Err(CliError::usage(
            "StartTLS is not a command to load-test: use --starttls to bench over TLS",
        ));
    }
    if args.tls.enabled() {
        // Bad TLS flags are a usage error, found before connecting.
        args.tls.client_options()?;
    }
    let schema = crate::schema::load(g)?;
    let request = crate::request::request_box(schema.as_ref(), &args.command, &args.items, None)?;
    let request = reusable(&request)?;
    let calls = match (args.calls, args.duration) {
        (None, None) => Some(DEFAULT_CALLS),
        (n, _) => n,
    };

    let callers = match args.target.single(args.balance) {
        Some(target) => {
            let open = (0..k).map(|_| {
                conn::connect(
                    target,
                    &args.tls,
                    args.timeout,
                    Router::new(),
                    Config::default(),
                )
            });
            futures_util::future::try_join_all(open)
                .await?
                .into_iter()
                .map(Caller::One)
                .collect::<Vec<_>>()
        }
        None => {
            let mut clients = Vec::with_capacity(k);
            for _ in 0..k {
                let client =
                    conn::balanced(&args.target, &args.tls, args.timeout, args.resolve_every)?;
                clients.push(Caller::Many(client));
            }
            // Every server found connected (or the time is up: then the
            // run starts with those that are).
            let all = clients.iter().map(|c| c.connected_to_all());
            if tokio::time::timeout(args.timeout, futures_util::future::join_all(all))
                .await
                .is_err()
                && !clients.iter().all(Caller::connected_to_any)
            {
                let why = clients.iter().find_map(Caller::why_not_connected);
                let what = format!(
                    "no server of {} answered within {:?}",
                    args.target, args.timeout
                );
                return Err(match why {
                    Some(e) => CliError::connection(crate::exit::Cause::new(what, e)),
                    None => CliError::connection(what),
                });
            }
            clients
        }
    };

    let plan = Arc::new(Plan {
        name: Bytes::from(args.command.clone()),
        request,
        calls,
        deadline: args.duration.map(|d| Instant::now() + d),
        call_timeout: args.timeout,
    });
    let progress = Arc::new(Progress::default());
    let bar = progress_bar(plan.calls, args.duration);
    let start = Instant::now();
    let workers: Vec<_> = callers
        .into_iter()
        .enumerate()
        .map(|(i, conn)| {
            // C split across K: the first C % K connections take one more.
            let depth = c / k + usize::from(i < c % k);
            let (plan, progress) = (plan.clone(), progress.clone());
            tokio::spawn(async move { load::drive(conn, depth, &plan, &progress).await })
        })
        .collect();
    let all = futures_util::future::join_all(workers);
    tokio::pin!(all);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let results = loop {
        tokio::select! {
            r = &mut all => break r,
            _ = tick.tick() => {
                bar.set_position(match plan.calls {
                    Some(_) => progress.done.load(Ordering::Relaxed),
                    None => start.elapsed().as_millis() as u64,
                });
                bar.set_message(format!("{} calls", progress.done.load(Ordering::Relaxed)));
            }
        }
    };
    let elapsed = start.elapsed();
    bar.finish_and_clear();
    let mut tally = Tally::new();
    for r in results {
        tally.merge(r.map_err(|e| CliError::connection(format!("a load loop failed: {e}")))?);
    }
    let report = Report {
        target: args.target.to_string(),
        command: args.command,
        connections: k,
        concurrency: c,
        elapsed,
        tally,
    };
    if args.json {
        println!("{}", report.json());
    } else {
        println!("{report}");
    }
    if report.failure_count() > 0 {
        Err(CliError::new(
            Exit::Connection,
            "some calls failed on our side (see the report)",
        )
        .reported())
    } else if report.error_count() > 0 {
        Err(CliError::new(
            Exit::Remote,
            "some calls were answered with an AMP error (see the report)",
        ))
    } else {
        Ok(())
    }
}

/// `request` decoded from its own wire form: its clones then share one
/// buffer (a clone per call is a reference count, no allocation).
fn reusable(request: &AmpBox) -> CliResult<AmpBox> {
    let wire = request
        .to_bytes()
        .map_err(|e| CliError::usage(format!("the arguments cannot be sent: {e}")))?;
    AmpBox::decode(wire).map_err(|e| CliError::usage(format!("the arguments cannot be sent: {e}")))
}

/// A bar of calls (or of milliseconds with --duration alone) on stderr,
/// hidden when stderr is not a terminal.
fn progress_bar(calls: Option<u64>, duration: Option<Duration>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let len = calls.unwrap_or_else(|| duration.map_or(0, |d| d.as_millis() as u64));
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let template = match calls {
        Some(_) => "{bar:40} {pos}/{len} calls  {per_sec}  {elapsed}",
        None => "{bar:40} {msg}  {elapsed}",
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}
