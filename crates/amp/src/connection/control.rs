//! [`Control`]: a server's hold on a connection it serves.

use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

use amp_wire::session::Phase;
use amp_wire::Disconnect;

use super::handle::Connection;
use super::shared::Shared;
use crate::budget::{Holding, Member};

/// A server's hold on a connection: not a handle (a connection nobody can
/// call still closes when its router serves nothing).
pub(crate) struct Control(Arc<Shared>);

impl Control {
    pub(crate) fn of(conn: &Connection) -> Control {
        Control(conn.shared().clone())
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.0
    }

    pub(crate) fn shutdown(&self) {
        self.0.shutdown();
    }

    pub(crate) fn abort(&self, reason: Disconnect) {
        self.0.abort(reason);
    }

    /// Count the connection's buffers against its server's budget.
    pub(crate) fn join(&self, member: Member) {
        self.0.with(|st| st.member = Some(member));
    }

    /// Let the connection read again, if it was paused for the budget
    /// (under its lock, as it pauses itself).
    pub(crate) fn resume_reading(&self, mine: &Holding) {
        self.0.with(|st| {
            if mine.take_paused() {
                st.session.pause_reading(false);
                st.kick();
            }
        });
    }

    /// How long the connection has been idle (AMP: nothing in flight,
    /// nothing to write, nothing received; switched: no bytes moved), and
    /// whether it is switched; `None` if it is busy or already on its way
    /// out.
    pub(crate) fn idle_for(&self, mine: &Holding, now: Instant) -> Option<(Duration, bool)> {
        if mine.cut.load(std::sync::atomic::Ordering::Relaxed) {
            return None;
        }
        let (since, switched) = self.0.with(|st| match st.session.phase() {
            Phase::Switched => mine.active_since().map(|t| (t, true)),
            _ => st
                .session
                .idle_since()
                .map(|t| (Instant::from_std(t), false)),
        })?;
        Some((now.saturating_duration_since(since), switched))
    }
}
