//! `amp tunnel`: local TCP connections carried through an `amp gateway`.
//! For each one: an AMP connection to the gateway (StartTLS with
//! `--starttls`), `Connect(service)`, then the local socket and the
//! switched stream joined both ways.

use amp::{Config, Router};
use std::time::{Duration, Instant};

use crate::cli::Global;
use crate::cmd::gateway::protocol::Connect;
use crate::conn::{self, Target, TlsArgs};
use crate::exit::CliResult;
use crate::splice::listen::{self, seconds, stop_signal, Limits, Listener};
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
    /// Local connections at once (more wait in the listen backlog).
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub max_connections: usize,
    /// Seconds connections may go on after Ctrl-C before they are cut.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = seconds)]
    pub grace: Duration,
}

/// How to reach the service, for every local connection.
struct Route {
    gateway: Target,
    service: String,
    tls: TlsArgs,
    timeout: Duration,
}

/// Runs `amp tunnel` until Ctrl-C.
pub async fn run(args: Args, _: &Global) -> CliResult {
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
    let listener = Listener::bind(&args.listen).await?;
    println!("listening on {}", listener.local());
    let limits = Limits {
        max_connections: args.max_connections,
        grace: args.grace,
    };
    let (open, cut) = listen::serve(listener, limits, stop_signal(), |n, local, peer| {
        let route = route.clone();
        async move { carry(n, local, peer, &route).await }
    })
    .await;
    if open > 0 {
        eprintln!("amp: stopped: {open} connection(s) were open, {cut} cut at the end of the grace period");
    }
    Ok(())
}

/// Carries local connection number `n`: every failure is logged and ends
/// this connection only.
async fn carry(n: u64, mut local: Box<dyn amp::Io>, peer: String, route: &Route) {
    let conn = match conn::connect(
        &route.gateway,
        &route.tls,
        route.timeout,
        Router::new(),
        Config::default(),
    )
    .await
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("#{n} from {peer}: closed: {e}");
            return;
        }
    };
    let connect = Connect {
        service: route.service.clone(),
    };
    let mut stream = match tokio::time::timeout(route.timeout, conn.switch(connect)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::warn!(
                "#{n} from {peer}: the gateway refused service `{}`: {e}; closed",
                route.service
            );
            return;
        }
        Err(_) => {
            tracing::warn!(
                "#{n} from {peer}: no answer to Connect within {:?} (--timeout); closed",
                route.timeout
            );
            return;
        }
    };
    tracing::info!(
        "#{n} from {peer}: connected to `{}` through {}",
        route.service,
        route.gateway
    );
    let started = Instant::now();
    let out = splice::splice(&mut local, &mut stream, DEFAULT_BUFFER).await;
    let how = match &out.error {
        None => "done".to_owned(),
        Some((dir, e)) => format!("ended by an error going {}: {e}", dir.arrow()),
    };
    tracing::info!(
        "#{n} from {peer}: {how}: {} bytes sent, {} received in {:.3} s",
        out.a_to_b,
        out.b_to_a,
        started.elapsed().as_secs_f64()
    );
}
