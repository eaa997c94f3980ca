//! One client connection of the gateway, from accept to close: its AMP
//! connection (then the spliced service), the first-box deadline, and
//! the graceful stop.
//!
//! The gateway accepts connections itself instead of using
//! [`amp::Server`], to keep a second descriptor of each TCP socket (for
//! joining it to the service without copies); it enforces the same limits
//! as a server: [`amp::Config`]'s (a box within 30 s of connecting, each
//! box within 30 s, a StartTLS handshake within 10 s, output read within
//! 30 s), a cap on connections, and on Ctrl-C a graceful shutdown of each
//! AMP connection before the grace period ends.

use amp::tls::TlsOptions;
use amp::{Addr, Config, Connection, ConnectionInfo};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::service::{self, Client, Gateway};
use crate::splice::stream::Stream;

/// What every client connection shares.
pub struct Clients {
    gateway: Arc<Gateway>,
    tls: TlsOptions,
    config: Config,
    /// The connections being served, to shut them down on Ctrl-C.
    live: Mutex<HashMap<u64, Connection>>,
}

impl Clients {
    /// Clients of `gateway`, with `tls` for StartTLS and `config`'s limits.
    pub fn new(gateway: Arc<Gateway>, tls: TlsOptions, config: Config) -> Clients {
        Clients {
            gateway,
            tls,
            config,
            live: Mutex::new(HashMap::new()),
        }
    }

    /// Serves client connection `n` until it ends.
    pub async fn serve(&self, n: u64, stream: Stream, peer: String) {
        let tcp = stream.tcp_clone();
        let info = match &stream {
            Stream::Tcp(s) => ConnectionInfo::new(
                s.peer_addr().ok().map(Addr::Tcp),
                s.local_addr().ok().map(Addr::Tcp),
            ),
            Stream::Unix(_) => ConnectionInfo::default(),
        };
        let client = Arc::new(Client {
            gateway: self.gateway.clone(),
            tcp: Mutex::new(tcp),
        });
        let router = service::router(client, self.tls.clone());
        let (conn, driver) = Connection::builder()
            .router(router)
            .config(self.config.clone())
            .addresses(info)
            .build(stream.boxed());
        self.live_set(|live| live.insert(n, conn.clone()));
        tokio::pin!(driver);
        let ended = match self.config.first_box_timeout() {
            None => Some(driver.as_mut().await),
            Some(limit) => tokio::select! {
                reason = driver.as_mut() => Some(reason),
                () = tokio::time::sleep(limit) => None,
            },
        };
        let reason = match ended {
            Some(reason) => Some(reason),
            None if conn.stats().boxes_received == 0 => {
                tracing::debug!(%peer, "no box within {limit:?}: closed",
                    limit = self.config.first_box_timeout());
                None // dropping the driver closes the connection
            }
            None => Some(driver.await),
        };
        if let Some(reason) = reason {
            tracing::debug!(%peer, %reason, "connection ended");
        }
        self.live_set(|live| live.remove(&n));
    }

    /// Asks every AMP connection to finish what it is answering and close
    /// (switched ones go on: the service's bytes are theirs).
    pub fn stop(&self) {
        self.live_set(|live| live.values().for_each(Connection::shutdown));
    }

    fn live_set<R>(&self, f: impl FnOnce(&mut HashMap<u64, Connection>) -> R) -> R {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut live)
    }
}
