//! `amp serve ADDR`: a ready demo server (`Sum`, `Divide`, `Echo`,
//! `StartTLS`, `Switch`; see `demo_commands`) on TCP or a UNIX socket,
//! stopped cleanly by Ctrl-C or SIGTERM.

use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::time::Duration;

use crate::conn::{ServerTlsArgs, Target};
use crate::demo_commands;
use crate::exit::{Cause, CliError, CliResult};
use crate::splice::listen::stop_signal;

/// How long a shutdown waits for connections to finish their calls (and
/// switched echoes to end) before cutting them.
pub const GRACE: Duration = Duration::from_secs(5);

/// `amp serve`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Commands served (Twisted's documented example, plus three):
  Sum(a: Integer, b: Integer) -> total: Integer
  Divide(numerator: Integer, denominator: Integer) -> result: Float   errors: ZERO_DIVISION
  Echo(anything) -> the same arguments back (a raw route)
  StartTLS  (--cert/--key, else a throwaway self-signed certificate; --ca: client certificates required)
  Switch()  a protocol switch: the connection becomes a byte echo (half-close aware)

Prints `listening on ADDR` (the real address with port 0) once ready. Ctrl-C or
SIGTERM stops it: no new connections, calls in flight answered (5 s at most),
then a one-line summary and exit 0.

UNIX sockets: a file already at the path is removed only if it is a socket
nobody listens on (a stale one); our socket is removed on exit.

Examples:
  amp serve 127.0.0.1:1234 -v
  amp call 127.0.0.1:1234 Sum a=13 b=81
  amp serve 127.0.0.1:0 --cert server.pem --key server.key --ca clients-ca.pem
  amp serve unix:/tmp/amp.sock"
)]
pub struct Args {
    /// Where to listen: host:port (port 0: any free port) or unix:/path.
    pub addr: Target,
    #[command(flatten)]
    pub tls: ServerTlsArgs,
}

/// Runs `amp serve`.
pub async fn run(args: Args) -> CliResult {
    let tls = args.tls.server_options()?;
    let (router, counters) = demo_commands::router(tls);
    let server = amp::Server::new(router).grace_period(GRACE);
    let stop = stop_signal()?;
    let stop = async {
        stop.await;
        tracing::info!("stopping: no new connections, answering the calls in flight");
    };
    let report = match &args.addr {
        Target::Tcp(addr) => {
            let listener = tokio::net::TcpListener::bind(addr.as_str())
                .await
                .map_err(|e| {
                    CliError::connection(Cause::new(format!("cannot listen on {addr}"), e))
                })?;
            let local = listener.local_addr().map_err(CliError::connection)?;
            announce(&local.to_string())?;
            server.serve_until(listener, stop).await
        }
        Target::Unix(path) => {
            let (listener, ours) = bind_unix(path).await?;
            announce(&args.addr.to_string())?;
            let report = server.serve_until(listener, stop).await;
            remove_if_ours(path, ours);
            report
        }
    };
    println!(
        "amp serve: stopped after {counters}; {} open at shutdown, {} cut",
        report.open, report.cut
    );
    Ok(())
}

/// Prints `listening on ADDR`, flushed: what scripts and tests wait for.
fn announce(addr: &str) -> CliResult {
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {addr}")
        .and_then(|()| out.flush())
        .map_err(|e| CliError::connection(Cause::new("cannot write to stdout", e)))
}

/// Which file a socket is (device and inode), to remove only ours.
type FileId = (u64, u64);

/// Listens on the UNIX socket `path`. A file already there is removed only
/// if it is a socket nobody accepts on (connecting is refused): a stale
/// socket left by a process that died. Anything else is left alone.
async fn bind_unix(path: &Path) -> CliResult<(tokio::net::UnixListener, FileId)> {
    let shown = path.display();
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(CliError::connection(Cause::new(
                format!("cannot inspect {shown}"),
                e,
            )))
        }
        Ok(m) if !m.file_type().is_socket() => {
            return Err(CliError::usage(format!(
                "{shown} exists and is not a socket: not touching it (choose another path)"
            )))
        }
        Ok(_) => {
            let probe = tokio::net::UnixStream::connect(path);
            match tokio::time::timeout(Duration::from_secs(1), probe).await {
                Err(_) | Ok(Ok(_)) => {
                    return Err(CliError::connection(format!(
                        "another process listens on {shown}: stop it or choose another path"
                    )))
                }
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    std::fs::remove_file(path).map_err(|e| {
                        CliError::connection(Cause::new(
                            format!("cannot remove the stale socket {shown}"),
                            e,
                        ))
                    })?;
                    tracing::info!("removed the stale socket {shown} (nobody listened on it)");
                }
                Ok(Err(e)) => {
                    return Err(CliError::connection(Cause::new(
                        format!("{shown} is a socket we cannot probe; not removing it"),
                        e,
                    )))
                }
            }
        }
    }
    let listener = tokio::net::UnixListener::bind(path)
        .map_err(|e| CliError::connection(Cause::new(format!("cannot listen on {shown}"), e)))?;
    let m = std::fs::symlink_metadata(path).map_err(CliError::connection)?;
    Ok((listener, (m.dev(), m.ino())))
}

/// Removes the socket file at `path` if it is still the one we made.
fn remove_if_ours(path: &Path, ours: FileId) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if (m.dev(), m.ino()) == ours => {
            if let Err(e) = std::fs::remove_file(path) {
                tracing::warn!("cannot remove our socket {}: {e}", path.display());
            }
        }
        _ => tracing::info!("{} is no longer our socket: left alone", path.display()),
    }
}
