//! [`Control`]: a server's hold on a connection it serves.

use std::sync::Arc;

use amp_wire::Disconnect;

use super::handle::Connection;
use super::shared::Shared;

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
}
