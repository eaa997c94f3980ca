//! What every client subcommand shares: the address (`host:port` or
//! `unix:/path`), the TLS flags, and opening a connection with them.

use amp::tls::TlsOptions;
use amp::{Balanced, Config, Connection, Io, Router};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;
use tokio::net::TcpStream;

use crate::exit::{Cause, CliError, CliResult};

/// Where to connect or listen: `host:port` or `unix:/path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A TCP address (`host:port`; the host may be a name).
    Tcp(String),
    /// A UNIX socket path (`unix:/path`).
    Unix(PathBuf),
}

impl FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err("unix: needs a path, as in unix:/tmp/amp.sock".into());
            }
            return Ok(Target::Unix(PathBuf::from(path)));
        }
        match s.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                Ok(Target::Tcp(s.to_owned()))
            }
            _ => Err(format!(
                "`{s}` is not an address: use host:port (127.0.0.1:1234) or unix:/path"
            )),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Tcp(a) => f.write_str(a),
            Target::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// TLS flags of the client subcommands.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TlsArgs {
    /// Secure the connection with AMP's StartTLS right after connecting.
    #[arg(long, conflicts_with = "tls")]
    pub starttls: bool,
    /// Speak TLS from the first byte.
    #[arg(long)]
    pub tls: bool,
    /// Verify the server's certificate against this CA (PEM); a
    /// self-signed server certificate given here is trusted as is.
    #[arg(long, value_name = "PEM")]
    pub ca: Option<PathBuf>,
    /// Present this client certificate (PEM chain).
    #[arg(long, value_name = "PEM", requires = "key")]
    pub cert: Option<PathBuf>,
    /// The private key of --cert (PEM).
    #[arg(long, value_name = "PEM", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Also check that the server's certificate names this host (needs --ca).
    #[arg(long, value_name = "NAME", requires = "ca")]
    pub server_name: Option<String>,
    /// Accept any server certificate (TLS without verification; explicit,
    /// never implied).
    #[arg(long, conflicts_with = "ca")]
    pub insecure: bool,
}

impl TlsArgs {
    /// Whether TLS is asked for at all.
    pub fn enabled(&self) -> bool {
        self.starttls || self.tls
    }

    /// The client's TLS options, checking that verification is either
    /// configured (`--ca`) or explicitly off (`--insecure`). Keys go to
    /// `SSLKEYLOGFILE` when it is set.
    pub fn client_options(&self) -> CliResult<TlsOptions> {
        if self.ca.is_none() && !self.insecure {
            return Err(CliError::usage(
                "TLS needs --ca FILE to verify the server, or --insecure to accept any certificate",
            ));
        }
        let mut options = key_files(self.cert.as_ref(), self.key.as_ref(), self.ca.as_ref())?;
        if let Some(name) = &self.server_name {
            options = options.server_name(name).map_err(CliError::usage)?;
        }
        Ok(options)
    }
}

/// TLS flags of the subcommands that serve StartTLS (`serve`, `gateway`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ServerTlsArgs {
    /// The certificate chain StartTLS presents (PEM); without it, a
    /// throwaway self-signed one.
    #[arg(long, value_name = "PEM", requires = "key")]
    pub cert: Option<PathBuf>,
    /// The private key of --cert (PEM).
    #[arg(long, value_name = "PEM", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Require StartTLS clients to present a certificate issued by (or
    /// equal to) one in this PEM file.
    #[arg(long, value_name = "PEM")]
    pub ca: Option<PathBuf>,
}

impl ServerTlsArgs {
    /// The server's TLS options (a throwaway self-signed certificate
    /// without `--cert`; client certificates required with `--ca`), checked
    /// now (and the throwaway certificate made once): a bad file is a usage
    /// error at start, not a failed StartTLS later. Keys go to
    /// `SSLKEYLOGFILE` when it is set.
    pub fn server_options(&self) -> CliResult<TlsOptions> {
        let options = key_files(self.cert.as_ref(), self.key.as_ref(), self.ca.as_ref())?;
        options.server_config().map_err(|e| {
            CliError::usage(Cause::new("cannot set up TLS from --cert/--key/--ca", e))
        })?;
        Ok(options)
    }
}

/// TLS options with our certificate `cert` and its `key` (when both are
/// given) and the authorities in `ca` (when given), keys logged to
/// `SSLKEYLOGFILE` when it is set; an unreadable file is a usage error.
fn key_files(
    cert: Option<&PathBuf>,
    key: Option<&PathBuf>,
    ca: Option<&PathBuf>,
) -> CliResult<TlsOptions> {
    let mut options = TlsOptions::new().key_log();
    if let (Some(cert), Some(key)) = (cert, key) {
        options = options
            .certificate_files(cert, key)
            .map_err(CliError::usage)?;
    }
    if let Some(ca) = ca {
        options = options.authorities_file(ca).map_err(CliError::usage)?;
    }
    Ok(options)
}

/// Opens the byte stream to `target` (TLS from the first byte with
/// `--tls`), giving up after `timeout`.
pub async fn connect_stream(
    target: &Target,
    tls: &TlsArgs,
    timeout: Duration,
) -> CliResult<Box<dyn Io>> {
    // Bad TLS flags are a usage error before anything goes on the wire.
    let options = if tls.enabled() {
        Some(tls.client_options()?)
    } else {
        None
    };
    let open = async {
        let stream: Box<dyn Io> = match target {
            Target::Tcp(addr) => {
                let s = TcpStream::connect(addr.as_str()).await.map_err(|e| {
                    CliError::connection(Cause::new(format!("cannot connect to {target}"), e))
                })?;
                let _ = s.set_nodelay(true);
                Box::new(s)
            }
            Target::Unix(path) => {
                Box::new(tokio::net::UnixStream::connect(path).await.map_err(|e| {
                    CliError::connection(Cause::new(format!("cannot connect to {target}"), e))
                })?)
            }
        };
        let Some(options) = options.filter(|_| tls.tls) else {
            return Ok(stream);
        };
        let config = options.client_config().map_err(CliError::usage)?;
        let connector = tokio_rustls::TlsConnector::from(config);
        let stream = connector
            .connect(options.expected_server_name(), stream)
            .await
            .map_err(|e| {
                CliError::connection(Cause::new(
                    "TLS handshake failed (check --ca, or use --insecure)",
                    e,
                ))
            })?;
        Ok(Box::new(stream) as Box<dyn Io>)
    };
    match tokio::time::timeout(timeout, open).await {
        Ok(r) => r,
        Err(_) => Err(CliError::connection(format!(
            "no connection to {target} within {timeout:?} (--timeout)"
        ))),
    }
}

/// One server or several: `ADDR[,ADDR...]` (several only over TCP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets(pub Vec<Target>);

impl FromStr for Targets {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let targets = s
            .split(',')
            .map(str::parse::<Target>)
            .collect::<Result<Vec<_>, _>>()?;
        if targets.len() > 1 && targets.iter().any(|t| matches!(t, Target::Unix(_))) {
            return Err(format!(
                "`{s}`: several servers must all be host:port (a UNIX socket is one server)"
            ));
        }
        Ok(Targets(targets))
    }
}

impl fmt::Display for Targets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{t}")?;
        }
        Ok(())
    }
}

impl Targets {
    /// The one target, unless there are several or `balance` asks for
    /// every address of a name.
    pub fn single(&self, balance: bool) -> Option<&Target> {
        match self.0.as_slice() {
            [one] if !balance || matches!(one, Target::Unix(_)) => Some(one),
            _ => None,
        }
    }
}

/// A client over every server of `targets` (each name looked up, every
/// address a server; again every `resolve_every`), each connection opened
/// as [`connect`] does (`--tls`, `--starttls`). Calls wait up to `timeout`
/// for a connected server.
pub fn balanced(
    targets: &Targets,
    tls: &TlsArgs,
    timeout: Duration,
    resolve_every: Option<Duration>,
) -> CliResult<Balanced> {
    if tls.enabled() {
        tls.client_options()?; // bad flags: a usage error, before connecting
    }
    let tls = tls.clone();
    let mut builder = Balanced::builder()
        .targets(targets.0.iter().map(|t| t.to_string()))
        .connect_timeout(timeout)
        .wait_for_backend(timeout)
        .connector(move |addr| {
            let tls = tls.clone();
            async move {
                connect(
                    &Target::Tcp(addr.to_string()),
                    &tls,
                    timeout,
                    Router::new(),
                    Config::default(),
                )
                .await
                .map_err(|e| std::io::Error::other(e.error))
            }
        });
    if let Some(every) = resolve_every {
        builder = builder.resolve_every(every);
    }
    Ok(builder.build())
}

/// Opens an AMP connection to `target` serving `router`: `--tls` from the
/// first byte, or `--starttls` once connected.
pub async fn connect<S: Clone + Send + Sync + 'static>(
    target: &Target,
    tls: &TlsArgs,
    timeout: Duration,
    router: Router<S>,
    config: Config,
) -> CliResult<Connection> {
    let stream = connect_stream(target, tls, timeout).await?;
    let conn = Connection::builder()
        .router(router)
        .config(config)
        .spawn(stream);
    if tls.starttls {
        let options = tls.client_options()?;
        match tokio::time::timeout(timeout, conn.start_tls(options)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                return Err(CliError::connection(Cause::new(
                    "StartTLS failed (check --ca, or use --insecure)",
                    e,
                )))
            }
            Err(_) => {
                return Err(CliError::connection(format!(
                    "StartTLS with {target} not done within {timeout:?} (--timeout)"
                )))
            }
        }
    }
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            "127.0.0.1:1234".parse::<Target>(),
            Ok(Target::Tcp("127.0.0.1:1234".into()))
        );
        assert_eq!(
            "[::1]:1234".parse::<Target>(),
            Ok(Target::Tcp("[::1]:1234".into()))
        );
        assert_eq!(
            "unix:/tmp/a.sock".parse::<Target>(),
            Ok(Target::Unix("/tmp/a.sock".into()))
        );
        assert!("localhost".parse::<Target>().is_err());
        assert!("host:notaport".parse::<Target>().is_err());
        assert!("unix:".parse::<Target>().is_err());
    }

    #[test]
    fn tls_needs_ca_or_insecure() {
        let args = TlsArgs {
            starttls: true,
            ..Default::default()
        };
        let e = args.client_options().unwrap_err();
        assert_eq!(e.exit, crate::exit::Exit::Usage);
        let args = TlsArgs {
            starttls: true,
            insecure: true,
            ..Default::default()
        };
        assert!(args.client_options().is_ok());
    }
}
