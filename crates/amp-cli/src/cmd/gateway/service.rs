//! What the gateway answers: `StartTLS`, `ListServices`, and `Connect`,
//! which reaches one of the service's backends and then joins the
//! client's switched stream with it.

use amp::tls::TlsOptions;
use amp::{Ctx, Router, SwitchTo, Switched};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

use super::backends::{Backends, Lease, Pool};
use crate::gateway_protocol::{Connect, GatewayError, ListServices, Services};
use crate::splice::stream::{join, Stream};
use crate::splice::{self, Outcome, DEFAULT_BUFFER};

/// The gateway's settings, shared by every connection.
#[derive(Debug)]
pub struct Gateway {
    /// Each service's backends.
    pub services: Backends,
    /// Refuse `ListServices` and `Connect` before StartTLS.
    pub require_tls: bool,
    /// How long each backend may take to accept a connection.
    pub connect_timeout: Duration,
}

impl Gateway {
    /// `TLS_REQUIRED` unless TLS is up on `conn` or not required.
    fn check_tls(&self, conn: &amp::Connection) -> Result<(), GatewayError> {
        if self.require_tls && !conn.is_tls() {
            return Err(GatewayError::TlsRequired(
                "this gateway requires StartTLS first".into(),
            ));
        }
        Ok(())
    }
}

/// The router of every client connection.
pub fn router(gateway: Arc<Gateway>, tls: TlsOptions) -> Router<Arc<Gateway>> {
    Router::with_state(gateway)
        .start_tls(tls)
        .route(|_: ListServices, ctx: Ctx<Arc<Gateway>>| async move {
            let gw = &ctx.state;
            gw.check_tls(ctx.peer())?;
            Ok(Services {
                services: gw.services.names(),
                backends: Some(gw.services.health()),
            })
        })
        .route_switch(connect)
}

/// `Connect`: reach a backend of the service first (so a failure is an
/// error answer and the client may try another), then accept the switch
/// and splice.
async fn connect(c: Connect, ctx: Ctx<Arc<Gateway>>) -> Result<SwitchTo, GatewayError> {
    let gw = &ctx.state;
    let peer = ctx
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|| "unknown peer".into());
    let service = c.service;
    if let Err(e) = gw.check_tls(ctx.peer()) {
        tracing::info!(%peer, %service, "Connect refused: StartTLS required");
        return Err(e);
    }
    let Some(pool) = gw.services.get(&service) else {
        tracing::info!(%peer, %service, "Connect refused: no such service");
        return Err(GatewayError::UnknownService(format!(
            "no service named `{service}` (ListServices names them)"
        )));
    };
    let Some((upstream, lease)) = reach(pool, gw.connect_timeout, &peer).await else {
        // The details (addresses, errors) stay in the gateway's log.
        tracing::warn!(%peer, %service, "Connect failed: no backend accepted");
        return Err(GatewayError::ConnectFailed(format!(
            "service `{service}` is unreachable"
        )));
    };
    let backend = lease.target().to_string();
    let tls = ctx.peer().is_tls();
    Ok(SwitchTo::new(move |stream| async move {
        // The connection counts on its backend until this ends (or is
        // dropped unrun): the lease goes with it.
        let _lease = lease;
        let started = Instant::now();
        let out = carry(stream, upstream).await;
        let secs = started.elapsed().as_secs_f64();
        match out.error {
            None => tracing::info!(
                %peer, %service, %backend, tls, bytes_up = out.a_to_b,
                bytes_down = out.b_to_a, secs, "Connect done"
            ),
            Some((dir, e)) => tracing::info!(
                %peer, %service, %backend, tls, bytes_up = out.a_to_b,
                bytes_down = out.b_to_a, secs,
                "Connect ended by an error going {}: {e}", dir.arrow()
            ),
        }
    }))
}

/// Connects to the service's backends one after the other, best first
/// (see [`super::backends`]), each within `timeout`, until one accepts:
/// that connection and its lease; `None` if every backend failed. Each
/// failure marks its backend down and is logged.
async fn reach(pool: &Arc<Pool>, timeout: Duration, peer: &str) -> Option<(Stream, Lease)> {
    let service = pool.name();
    let mut tried = Vec::new();
    while let Some(mut lease) = pool.pick(&tried) {
        tried.push(lease.index());
        let backend = lease.target().to_string();
        match Stream::connect(lease.target(), timeout).await {
            Ok(stream) => {
                let failures = lease.accepted();
                if failures > 0 {
                    tracing::info!(%peer, %service, %backend,
                        "backend up again after {failures} failed connects");
                }
                return Some((stream, lease));
            }
            Err(e) => {
                tracing::warn!(%peer, %service, %backend, "backend marked down: cannot reach it: {e}");
                lease.failed(e.to_string());
            }
        }
    }
    None
}

/// Joins the switched client stream with the service: without copies when
/// both are plain TCP (the client's stream is its socket, no TLS), else
/// through buffers.
async fn carry(client: Switched, upstream: Stream) -> Outcome {
    match client.downcast::<TcpStream>() {
        Ok((client, first)) => join(Stream::Tcp(client), first, upstream).await,
        Err(mut client) => {
            let mut upstream = upstream.boxed();
            splice::splice(&mut client, &mut upstream, DEFAULT_BUFFER).await
        }
    }
}
