//! A router bound to one connection: its state made, its responders
//! dispatched.

use bytes::Bytes;
use rustc_hash::FxHashMap;
use std::future::Future;
use std::sync::Arc;
use tracing::Instrument;

use amp_wire::AmpBox;

use super::{Ctx, Fallback, Route, Router, StateSource};
use crate::addr::ConnectionInfo;
use crate::connection::{Bind, Dispatch, Responding, Starter};
use crate::error::RawError;
use crate::panics;
use amp_wire::describe::CommandKind;

/// Run a raw responder and conclude its request with what it returns.
pub(super) async fn raw_answer(
    fut: impl Future<Output = Result<AmpBox, RawError>>,
    resp: Responding,
) {
    tokio::pin!(fut);
    match panics::catch(fut).await {
        Ok(Ok(b)) => resp.answer(|w, _| b.write_entries(w)),
        Ok(Err(e)) => resp.fail(&e),
        Err(panic) => resp.panicked(panic),
    }
}

impl<S: Clone + Send + Sync + 'static> Bind for Router<S> {
    fn bind(&self, info: &ConnectionInfo) -> Arc<dyn Dispatch> {
        let state = match &self.state {
            StateSource::Shared(s) => s.clone(),
            StateSource::PerConnection(make) => make(info),
        };
        #[cfg(feature = "reflect")]
        let routes = self.routes_to_bind();
        #[cfg(not(feature = "reflect"))]
        let routes = self.routes.clone();
        Arc::new(Bound {
            state,
            routes,
            fallback: self.fallback.clone(),
            cancellable: self.cancellable,
        })
    }
}

/// A router bound to one connection: its responders and their state.
struct Bound<S> {
    state: S,
    routes: Arc<FxHashMap<Bytes, Route<S>>>,
    fallback: Option<Fallback<S>>,
    cancellable: bool,
}

impl<S: Clone + Send + Sync + 'static> Dispatch for Bound<S> {
    fn dispatch(
        &self,
        args: AmpBox,
        resp: Responding,
        starter: &mut Starter<'_, '_>,
    ) -> Result<(), Responding> {
        let route = self.routes.get(resp.name());
        if route.is_none() && self.fallback.is_none() {
            return Err(resp);
        }
        let ctx = Ctx {
            state: self.state.clone(),
            peer: resp.connection(),
            request: resp.id(),
        };
        match (route, &self.fallback) {
            (Some(r), _) => (r.handler)(args, ctx, resp, starter),
            (None, Some(f)) => {
                let span = resp.span();
                starter.start(raw_answer(f(resp.name().clone(), args, ctx), resp).instrument(span));
            }
            (None, None) => return Err(resp),
        }
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.routes.is_empty() && self.fallback.is_none()
    }

    fn switch_commands(&self) -> Vec<Bytes> {
        self.routes
            .iter()
            .filter(|(_, r)| r.kind == CommandKind::Switch)
            .map(|(n, _)| n.clone())
            .collect()
    }

    fn answers_cancel(&self) -> bool {
        self.cancellable
    }

    fn answers_start_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        {
            self.routes
                .values()
                .any(|r| r.kind == CommandKind::StartTls)
        }
        #[cfg(not(feature = "tls"))]
        {
            false
        }
    }
}
