//! Accepting the connections a proxy carries (`amp tunnel`, `amp tap`):
//! a TCP or UNIX listener, a cap on connections at once, numbering, and a
//! graceful stop on Ctrl-C or SIGTERM.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

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

    /// The next connection and a name for its peer. TCP connections get
    /// `TCP_NODELAY`: a proxy writes on what it read at once.
    async fn accept(&self) -> io::Result<(Stream, String)> {
        match self {
            Listener::Tcp(l) => {
                let (s, peer) = l.accept().await?;
                let _ = s.set_nodelay(true);
                Ok((Stream::Tcp(s), peer.to_string()))
            }
            Listener::Unix(l) => {
                let (s, _) = l.accept().await?;
                Ok((Stream::Unix(s), "unix peer".into()))
            }
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

/// Accepts connections until `stop` resolves and runs `carry(n, stream,
/// peer)` for each as a task (`n` counts from 1). Then stops accepting,
/// calls `stopping` (to ask connections to wind down), lets the open
/// connections finish for the grace period, cuts the rest, and returns how
/// many were open and how many were cut.
pub async fn serve<F, Fut>(
    listener: Listener,
    limits: Limits,
    stop: impl Future<Output = ()>,
    stopping: impl FnOnce(),
    carry: F,
) -> (usize, usize)
where
    F: Fn(u64, Stream, String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut tasks = JoinSet::new();
    let mut n = 0u64;
    let mut backoff = Duration::ZERO;
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            () = &mut stop => break,
            Some(_) = tasks.join_next() => continue,
            p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
        };
        let accepted = tokio::select! {
            () = &mut stop => break,
            Some(_) = tasks.join_next() => continue,
            r = listener.accept() => r,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff = Duration::ZERO;
                n += 1;
                let work = carry(n, stream, peer);
                tasks.spawn(async move {
                    work.await;
                    drop(permit);
                });
            }
            Err(e) if is_one_connection(&e) => {
                tracing::debug!("accept failed for one connection: {e}");
            }
            Err(e) => {
                // Out of descriptors, say: back off while it lasts.
                backoff = (backoff * 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
                tracing::warn!("accept failed: {e}; retrying in {backoff:?}");
                tokio::time::sleep(backoff).await;
            }
        }
    }
    drop(listener);
    stopping();
    let open = tasks.len();
    if open > 0 {
        eprintln!(
            "amp: stopping: waiting up to {:?} for {open} open connection(s)",
            limits.grace
        );
    }
    let deadline = tokio::time::Instant::now() + limits.grace;
    while let Ok(Some(_)) = tokio::time::timeout_at(deadline, tasks.join_next()).await {}
    let cut = tasks.len();
    tasks.shutdown().await;
    (open, cut)
}

/// Tells on stderr how a stop went, when connections were open at it:
/// `serve`'s `(open, cut)`.
pub fn report_stop((open, cut): (usize, usize)) {
    if open > 0 {
        eprintln!(
            "amp: stopped: {open} connection(s) were open, {cut} cut at the end of the grace period"
        );
    }
}

/// Accept errors about the one connection being accepted.
fn is_one_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}
