//! `amp gateway`: one listening port in front of many TCP services. Each
//! client connection speaks AMP first (StartTLS, ListServices, Connect),
//! then carries one service's bytes (see [`protocol`]).

mod client;
pub mod protocol;
mod service;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::args::seconds;
use crate::cli::Global;
use crate::conn::{ServerTlsArgs, Target};
use crate::exit::{CliError, CliResult};
use crate::splice::listen::{self, stop_signal, Limits, Listener};
use client::Clients;
use service::Gateway;

/// `amp gateway`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amp gateway 0.0.0.0:7000 --service ssh=127.0.0.1:22 --service db=10.0.0.5:5432 \\
      --cert gateway.pem --key gateway.key --require-tls
  amp tunnel 127.0.0.1:2222 gateway.example:7000 ssh --starttls --ca gateway.pem &
  ssh -p 2222 localhost

Each client connection is AMP: StartTLS (optional unless --require-tls),
ListServices -> services (a list of names), then Connect(service), a
protocol switch after which the connection is the service's byte stream
(half-close aware). Errors leave the connection usable: UNKNOWN_SERVICE,
CONNECT_FAILED, TLS_REQUIRED.

Limits: --max-connections at once (more wait in the listen backlog); a
client must send a whole box within --first-box-timeout (30 s) of
connecting and finish each box within 30 s; a StartTLS handshake must finish within 10 s; output the
client does not read times out after 30 s. Once switched, a connection
lasts as long as the client and the service keep it open.
Ctrl-C (or SIGTERM): stop accepting, let connections go on for --grace
seconds, then cut them. With -v each Connect is logged (peer, service,
bytes each way, duration).")]
pub struct Args {
    /// Where to listen: host:port (port 0: any free port) or unix:/path.
    pub listen: Target,
    /// A service clients may Connect to: NAME=HOST:PORT (or
    /// NAME=unix:/path). Repeat for more.
    #[arg(long = "service", value_name = "NAME=ADDR", required = true, value_parser = service)]
    pub services: Vec<(String, Target)>,
    #[command(flatten)]
    pub tls: ServerTlsArgs,
    /// Answer ListServices and Connect with TLS_REQUIRED until StartTLS has
    /// run.
    #[arg(long)]
    pub require_tls: bool,
    /// Seconds a service may take to accept a connection (then
    /// CONNECT_FAILED).
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
pub async fn run(args: Args, _: &Global) -> CliResult {
    let mut services = BTreeMap::new();
    for (name, target) in args.services {
        if services.insert(name.clone(), target).is_some() {
            return Err(CliError::usage(format!(
                "--service {name} is given twice: one address per name"
            )));
        }
    }
    let tls = args.tls.server_options()?;
    for (name, target) in &services {
        tracing::info!("service {name} -> {target}");
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
    let clients = Arc::new(Clients::new(gateway, tls, config));
    let stop = stop_signal()?;
    let listener = Listener::bind(&args.listen).await?;
    println!("listening on {}", listener.local());
    let stopping = clients.clone();
    let stopped = listen::serve(
        listener,
        args.limits,
        stop,
        move || stopping.stop(),
        |n, stream, peer| {
            let clients = clients.clone();
            async move { clients.serve(n, stream, peer).await }
        },
    )
    .await;
    listen::report_stop(stopped);
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
