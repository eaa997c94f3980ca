//! `amp gateway`: one listening port in front of many TCP services. Each
//! client connection speaks AMP first (StartTLS, ListServices, Connect),
//! then carries one service's bytes (see
//! [`gateway_protocol`](crate::gateway_protocol), which `amp tunnel` speaks
//! too). A service may have several backends (see [`backends`]).

mod backends;
mod service;

use std::sync::Arc;
use std::time::Duration;

use crate::args::seconds;
use crate::conn::{ServerTlsArgs, Target};
use crate::exit::{CliError, CliResult};
use crate::splice::listen::{self, stop_signal, Limits, Listener};
use backends::Backends;
use service::Gateway;

/// `amp gateway`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amp gateway 0.0.0.0:7000 --service ssh=127.0.0.1:22 --service db=10.0.0.5:5432 \\
      --cert gateway.pem --key gateway.key --require-tls
  amp tunnel 127.0.0.1:2222 gateway.example:7000 ssh --starttls --ca gateway.pem &
  ssh -p 2222 localhost
  amp gateway 0.0.0.0:7000 --service db=10.0.0.5:5432 --service db=10.0.0.6:5432 ...

Each client connection is AMP: StartTLS (optional unless --require-tls),
ListServices -> services (a list of names) and backends (each backend's
address, health and connections), then Connect(service), a protocol
switch after which the connection is the service's byte stream
(half-close aware). Errors leave the connection usable: UNKNOWN_SERVICE,
CONNECT_FAILED, TLS_REQUIRED.

Several backends: --service repeated with one NAME gives that service a
backend per ADDR (the same NAME=ADDR twice is an error). Connect tries
the live backend with the fewest connections open through the gateway
(ties: the first given); one that refuses or does not accept within
--connect-timeout is marked down and skipped, and the next is tried in
the same Connect (so a Connect may take --connect-timeout per backend).
Backends marked down are tried after the live ones, the longest-failed
first, until their back-off has passed (1 s after the first failure,
doubling, at most 30 s): then they are tried as if live again. One that
accepts is marked up. CONNECT_FAILED once all have
failed (its description names no address: the errors go to the log).
ListServices tells the backends' addresses to clients: use --require-tls
(and --ca) to keep them to those you trust.

Limits: --max-connections at once (more wait in the listen backlog); a
client must send a whole box within --first-box-timeout (30 s) of
connecting and finish each box within 30 s; a StartTLS handshake must finish within 10 s; output the
client does not read times out after 30 s. Once switched, a connection
lasts as long as the client and the service keep it open.
Ctrl-C (or SIGTERM): stop accepting, let connections go on for --grace
seconds, then cut them. With -v each Connect is logged (peer, service,
backend, bytes each way, duration).")]
pub struct Args {
    /// Where to listen: host:port (port 0: any free port) or unix:/path.
    pub listen: Target,
    /// A service clients may Connect to: NAME=HOST:PORT (or
    /// NAME=unix:/path). Repeat for more services, or with the same NAME
    /// for more backends of one service.
    #[arg(long = "service", value_name = "NAME=ADDR", required = true, value_parser = service)]
    pub services: Vec<(String, Target)>,
    #[command(flatten)]
    pub tls: ServerTlsArgs,
    /// Answer ListServices and Connect with TLS_REQUIRED until StartTLS has
    /// run.
    #[arg(long)]
    pub require_tls: bool,
    /// Seconds a backend may take to accept a connection (then the next
    /// is tried; CONNECT_FAILED once all have failed).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = seconds)]
    pub connect_timeout: Duration,
    /// Seconds a client may take to send its first whole box; a silent
    /// connection is closed then.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = seconds)]
    pub first_box_timeout: Duration,
    #[command(flatten)]
    pub limits: Limits,
}

/// `NAME=ADDR`.
fn service(s: &str) -> Result<(String, Target), String> {
    let (name, addr) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not a service: use NAME=HOST:PORT"))?;
    if name.is_empty() {
        return Err(format!("`{s}`: the service needs a name before `=`"));
    }
    Ok((name.to_owned(), addr.parse()?))
}

/// Runs `amp gateway` until Ctrl-C.
pub async fn run(args: Args) -> CliResult {
    let services = Backends::new(args.services).map_err(CliError::usage)?;
    let tls = args.tls.server_options()?;
    for pool in services.pools() {
        let targets: Vec<String> = pool.targets().iter().map(|t| t.to_string()).collect();
        tracing::info!("service {} -> {}", pool.name(), targets.join(", "));
    }
    let gateway = Arc::new(Gateway {
        services,
        require_tls: args.require_tls,
        connect_timeout: args.connect_timeout,
    });
    let config = amp::Config::builder()
        .first_box_timeout(Some(args.first_box_timeout))
        .build()
        .map_err(CliError::usage)?;
    // Limits as a server's (see `amp::Config`): a first box within
    // --first-box-timeout of connecting, each box within 30 s, a StartTLS
    // handshake within 10 s, output read within 30 s; and on Ctrl-C a
    // graceful shutdown of each AMP connection (switched ones go on: the
    // service's bytes are theirs) until --grace ends.
    let server = args
        .limits
        .apply(amp::Server::new(service::router(gateway, tls)).config(config));
    let stop = args.limits.stopping(stop_signal()?, &server);
    let listener = Listener::bind(&args.listen).await?;
    println!("listening on {}", listener.local());
    listen::report_stop(server.serve_until(listener, stop).await);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services() {
        assert_eq!(
            service("db=127.0.0.1:5432"),
            Ok(("db".into(), Target::Tcp("127.0.0.1:5432".into())))
        );
        assert_eq!(
            service("s=unix:/tmp/s.sock"),
            Ok(("s".into(), Target::Unix("/tmp/s.sock".into())))
        );
        assert!(service("db").is_err());
        assert!(service("=127.0.0.1:1").is_err());
        assert!(service("db=nowhere").is_err());
    }
}
