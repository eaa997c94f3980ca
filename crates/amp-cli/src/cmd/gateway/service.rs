//! What the gateway answers: `StartTLS`, `ListServices`, and `Connect`,
//! which reaches the service and then joins the client's switched stream
//! with it.

use amp::tls::TlsOptions;
use amp::{Ctx, Router, SwitchTo};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::protocol::{Connect, GatewayError, ListServices, Services};
use crate::conn::{self, Target, TlsArgs};
use crate::splice::{self, DEFAULT_BUFFER};

/// The gateway's settings, shared by every connection.
#[derive(Debug)]
pub struct Gateway {
    /// Service name → where it listens.
    pub services: BTreeMap<String, Target>,
    /// Refuse `ListServices` and `Connect` before StartTLS.
    pub require_tls: bool,
    /// How long a service may take to accept a connection.
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

/// The router every gateway connection is served with.
pub fn router(gateway: Arc<Gateway>, tls: TlsOptions) -> Router<Arc<Gateway>> {
    Router::with_state(gateway)
        .start_tls(tls)
        .route(|_: ListServices, ctx: Ctx<Arc<Gateway>>| async move {
            ctx.state.check_tls(ctx.peer())?;
            Ok(Services {
                services: ctx.state.services.keys().cloned().collect(),
            })
        })
        .route_switch(connect)
}

/// `Connect`: reach the service first (so a failure is an error answer and
/// the client may try another), then accept the switch and splice.
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
    let Some(target) = gw.services.get(&service) else {
        tracing::info!(%peer, %service, "Connect refused: no such service");
        return Err(GatewayError::UnknownService(format!(
            "no service named `{service}` (ListServices names them)"
        )));
    };
    let mut upstream =
        match conn::connect_stream(target, &TlsArgs::default(), gw.connect_timeout).await {
            Ok(s) => s,
            Err(e) => {
                // The details (addresses, errors) stay in the gateway's log.
                tracing::warn!(%peer, %service, "Connect failed: {e}");
                return Err(GatewayError::ConnectFailed(format!(
                    "service `{service}` is unreachable"
                )));
            }
        };
    let tls = ctx.peer().is_tls();
    Ok(SwitchTo::new(move |mut stream| async move {
        let started = Instant::now();
        let out = splice::splice(&mut stream, &mut upstream, DEFAULT_BUFFER).await;
        let secs = started.elapsed().as_secs_f64();
        match out.error {
            None => tracing::info!(
                %peer, %service, tls, bytes_up = out.a_to_b, bytes_down = out.b_to_a,
                secs, "Connect done"
            ),
            Some((dir, e)) => tracing::info!(
                %peer, %service, tls, bytes_up = out.a_to_b, bytes_down = out.b_to_a,
                secs, "Connect ended by an error going {}: {e}", dir.arrow()
            ),
        }
    }))
}
