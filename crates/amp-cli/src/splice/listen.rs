//! Listening for the proxies (`amp gateway`, `amp tunnel`, `amp tap`):
//! binding a TCP or UNIX listener, the `--max-connections` and `--grace`
//! flags, a graceful stop on Ctrl-C or SIGTERM, and what they tell on
//! stderr about it. Accepting, the cap and the grace period are
//! [`amp::Server`]'s.

use std::future::Future;
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};

use super::stream::Stream;
use crate::args::seconds;
use crate::conn::Target;
use crate::exit::{Cause, CliError, CliResult};

/// A bound listening socket.
#[derive(Debug)]
pub enum Listener {
    /// TCP.
    Tcp(tokio::net::TcpListener),
    /// A UNIX socket.
    Unix(tokio::net::UnixListener),
}

impl Listener {
    /// Binds `target` (`host:port`, port 0 for any free port, or
    /// `unix:/path`).
    pub async fn bind(target: &Target) -> CliResult<Listener> {
        let bound = match target {
            Target::Tcp(addr) => tokio::net::TcpListener::bind(addr.as_str())
                .await
                .map(Listener::Tcp),
            Target::Unix(path) => tokio::net::UnixListener::bind(path).map(Listener::Unix),
        };
        bound.map_err(|e| {
            CliError::connection(format!(
                "cannot listen on {target}: {e} (is something else using it?)"
            ))
        })
    }

    /// The address really bound (the port chosen for port 0), as
    /// `host:port` or `unix:/path`.
    pub fn local(&self) -> String {
        match self {
            Listener::Tcp(l) => l
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_else(|e| format!("(unknown: {e})")),
            Listener::Unix(l) => match l
                .local_addr()
                .ok()
                .and_then(|a| a.as_pathname().map(|p| format!("unix:{}", p.display())))
            {
                Some(a) => a,
                None => "unix:(unnamed)".into(),
            },
        }
    }
}

impl From<Listener> for amp::Listener {
    fn from(l: Listener) -> amp::Listener {
        match l {
            Listener::Tcp(l) => l.into(),
            Listener::Unix(l) => l.into(),
        }
    }
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM. The handlers are installed
/// now, before the caller announces it is listening, so that a signal sent
/// as soon as it does stops it gracefully.
pub fn stop_signal() -> CliResult<impl Future<Output = ()>> {
    let watch = |kind| {
        signal(kind).map_err(|e| CliError::connection(Cause::new("cannot watch for signals", e)))
    };
    let mut int = watch(SignalKind::interrupt())?;
    let mut term = watch(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    })
}

/// How many connections at once, and how long a stop waits for them: the
/// `--max-connections` and `--grace` flags of the proxies.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct Limits {
    /// Connections at once (more wait in the listen backlog).
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub max_connections: usize,
    /// Seconds connections may go on after Ctrl-C before they are cut.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = seconds)]
    pub grace: Duration,
}

impl Limits {
    /// `server` with these limits. Connections over the cap wait in the
    /// listen backlog: none is ever closed for a new client (a proxy's
    /// connection may be quiet for hours and still be in use).
    pub fn apply(self, server: amp::Server) -> amp::Server {
        server
            .max_connections(self.max_connections)
            .evict_idle_after(None)
            .grace_period(self.grace)
    }

    /// `stop`, and then, if connections are open, a line on stderr saying
    /// how long the stop waits for them.
    pub fn stopping(
        self,
        stop: impl Future<Output = ()>,
        server: &amp::Server,
    ) -> impl Future<Output = ()> {
        let stats = server.stats();
        async move {
            stop.await;
            let open = stats.connections();
            if open > 0 {
                eprintln!(
                    "amp: stopping: waiting up to {:?} for {open} open connection(s)",
                    self.grace
                );
            }
        }
    }
}

/// Accepts connections until `stop` resolves and runs `carry(n, stream,
/// peer)` for each as a task (`n` counts from 1; TCP connections have
/// `TCP_NODELAY`: a proxy writes on what it read at once). Then stops
/// accepting, lets the open connections finish for the grace period, cuts
/// the rest, and says how it went.
pub async fn serve<F, Fut>(
    listener: Listener,
    limits: Limits,
    stop: impl Future<Output = ()>,
    mut carry: F,
) -> amp::ShutdownReport
where
    F: FnMut(u64, Stream, String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let server = limits.apply(amp::Server::new(amp::Router::new()));
    let stop = limits.stopping(stop, &server);
    let mut n = 0u64;
    let carry = move |accepted| {
        n += 1;
        let work = match accepted {
            amp::Accepted::Tcp(s, peer) => Some(carry(n, Stream::Tcp(s), peer.to_string())),
            amp::Accepted::Unix(s) => Some(carry(n, Stream::Unix(s), "unix peer".into())),
            other => {
                tracing::warn!("#{n}: cannot carry {other:?}: closed");
                None
            }
        };
        async move {
            if let Some(work) = work {
                work.await;
            }
        }
    };
    server.serve_streams_until(listener, stop, carry).await
}

/// Tells on stderr how a stop went, when connections were open at it.
pub fn report_stop(report: amp::ShutdownReport) {
    let amp::ShutdownReport { open, cut, .. } = report;
    if open > 0 {
        eprintln!(
            "amp: stopped: {open} connection(s) were open, {cut} cut at the end of the grace period"
        );
    }
}
