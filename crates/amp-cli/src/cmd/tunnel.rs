//! `amp tunnel`: local TCP connections carried through an `amp gateway`.
//! For each one: an AMP connection to the gateway (StartTLS with
//! `--starttls`), `Connect(service)`, then the local socket and the
//! switched stream joined both ways.

use amp::{CallError, Config, Router, Switched};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

use crate::args::seconds;
use crate::conn::{self, Target, TlsArgs};
use crate::exit::CliResult;
use crate::gateway_protocol::Connect;
use crate::splice::listen::{self, stop_signal, Limits, Listener};
use crate::splice::stream::{join, Stream};
use crate::splice::{self, DEFAULT_BUFFER};

/// `amp tunnel`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amp tunnel 127.0.0.1:2222 gateway.example:7000 ssh --starttls --ca gateway.pem &
  ssh -p 2222 localhost
  amp tunnel 127.0.0.1:0 127.0.0.1:7000 db --starttls --insecure    # prints the port

A connection the gateway refuses (UNKNOWN_SERVICE, CONNECT_FAILED,
TLS_REQUIRED) or cannot be reached for is logged and closed; the tunnel
keeps serving the others. Ctrl-C (or SIGTERM): stop accepting, let open
connections go on for --grace seconds, then cut them.")]
pub struct Args {
    /// Where to accept local connections: host:port (port 0: any free
    /// port) or unix:/path.
    pub listen: Target,
    /// The gateway: host:port or unix:/path.
    pub gateway: Target,
    /// The service to Connect to (see the gateway's --service).
    pub service: String,
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Seconds to reach the gateway, run StartTLS and get Connect's
    /// answer, for each connection.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = seconds)]
    pub timeout: Duration,
    #[command(flatten)]
    pub limits: Limits,
}

/// How to reach the service, for every local connection.
struct Route {
    gateway: Target,
    service: String,
    tls: TlsArgs,
    timeout: Duration,
}

/// Runs `amp tunnel` until Ctrl-C.
pub async fn run(args: Args) -> CliResult {
    if args.tls.enabled() {
        // Bad TLS flags are a usage error now, not a failure per connection.
        args.tls.client_options()?;
    }
    let route = std::sync::Arc::new(Route {
        gateway: args.gateway,
        service: args.service,
        tls: args.tls,
        timeout: args.timeout,
    });
    let stop = stop_signal()?;
    let listener = Listener::bind(&args.listen).await?;
    println!("listening on {}", listener.local());
    let carry = |n, local, peer| {
        let route = route.clone();
        async move { carry(n, local, peer, &route).await }
    };
    let stopped = listen::serve(listener, args.limits, stop, carry).await;
    listen::report_stop(stopped);
    Ok(())
}

/// Carries local connection number `n`: every failure is logged and ends
/// this connection only.
async fn carry(n: u64, local: Stream, peer: String, route: &Route) {
    let switched = match open(route).await {
        Ok(switched) => switched,
        Err(why) => return tracing::warn!("#{n} from {peer}: {why}; closed"),
    };
    tracing::info!(
        "#{n} from {peer}: connected to `{}` through {}",
        route.service,
        route.gateway
    );
    let started = Instant::now();
    // Gateway first: the bytes AMP read past the answer go to the client.
    // A plain TCP socket is joined as it is (splice(2), no copies).
    let out = match switched.downcast::<TcpStream>() {
        Ok((gateway, first)) => join(Stream::Tcp(gateway), first, local).await,
        Err(mut switched) => {
            splice::splice(&mut switched, &mut local.boxed(), DEFAULT_BUFFER).await
        }
    };
    let how = match &out.error {
        None => "done".to_owned(),
        Some((dir, e)) => format!("ended by an error going {}: {e}", dir.reverse().arrow()),
    };
    tracing::info!(
        "#{n} from {peer}: {how}: {} bytes sent, {} received in {:.3} s",
        out.b_to_a,
        out.a_to_b,
        started.elapsed().as_secs_f64()
    );
}

/// An AMP connection to the gateway, switched to the service by
/// `Connect`; or why not.
async fn open(route: &Route) -> Result<Switched, String> {
    let conn = conn::connect(
        &route.gateway,
        &route.tls,
        route.timeout,
        Router::new(),
        Config::default(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let connect = Connect {
        service: route.service.clone(),
    };
    match tokio::time::timeout(route.timeout, conn.switch(connect)).await {
        Ok(Ok(switched)) => Ok(switched),
        Ok(Err(CallError::Remote(refusal))) => Err(format!(
            "the gateway refused service `{}`: {refusal}",
            route.service
        )),
        Ok(Err(e)) => Err(format!(
            "Connect to service `{}` failed: {}",
            route.service,
            with_causes(&e)
        )),
        Err(_) => Err(format!(
            "no answer to Connect within {:?} (--timeout)",
            route.timeout
        )),
    }
}

/// `e` and its causes, `: `-separated.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(&format!(": {c}"));
        cause = c.source();
    }
    s
}
