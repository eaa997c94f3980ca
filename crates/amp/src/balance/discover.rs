//! Which servers there are: the targets looked up (now, and again on an
//! interval), the backends added and removed to match.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Weak};

use super::backend::{self, Backend};
use super::Inner;

/// Look every target up and make the backends match: new addresses get a
/// backend (and its keeper task), vanished ones are removed. A target
/// whose lookup fails keeps the addresses it had.
pub(crate) async fn refresh(inner: &Arc<Inner>) {
    let targets = inner.targets.lock().map(|t| t.clone()).unwrap_or_default();
    let mut found = BTreeSet::new();
    for target in &targets {
        match (inner.settings.resolve)(target.clone()).await {
            Ok(addrs) => {
                if let Ok(mut known) = inner.resolved.lock() {
                    known.insert(target.clone(), addrs.clone());
                }
                found.extend(addrs);
            }
            Err(e) => {
                tracing::warn!(%target, error = %e, "lookup failed; keeping its servers");
                if let Some(addrs) = inner
                    .resolved
                    .lock()
                    .ok()
                    .and_then(|k| k.get(target).cloned())
                {
                    found.extend(addrs);
                }
            }
        }
    }
    apply(inner, &found);
}

/// Add and remove backends so that they are exactly `found`.
fn apply(inner: &Arc<Inner>, found: &BTreeSet<SocketAddr>) {
    let Ok(mut backends) = inner.backends.write() else {
        return;
    };
    backends.retain(|b| {
        let keep = found.contains(&b.addr);
        if !keep {
            tracing::debug!(addr = %b.addr, "server gone: draining");
            b.remove();
        }
        keep
    });
    for addr in found {
        if backends.iter().any(|b| b.addr == *addr) {
            continue;
        }
        tracing::debug!(%addr, "server found");
        let b = Backend::new(*addr);
        backends.push(b.clone());
        tokio::spawn(backend::keep(
            b,
            inner.settings.clone(),
            Arc::downgrade(&inner.ready),
        ));
    }
}

/// Look the targets up every `resolve_every` while the client lives.
pub(crate) async fn every(inner: Weak<Inner>) {
    let Some(period) = inner.upgrade().and_then(|i| i.settings.resolve_every) else {
        return;
    };
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await; // the first lookup was made at the start
    loop {
        ticks.tick().await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        refresh(&inner).await;
    }
}
