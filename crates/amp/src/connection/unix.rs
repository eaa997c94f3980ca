//! The UNIX-socket transport of a connection: descriptor passing.

use std::sync::Arc;

use amp_wire::Config;

use super::{Connection, Dispatch, Driver};
use crate::fd::UnixFdStream;

impl Connection {
    pub(crate) fn build_unix(
        stream: tokio::net::UnixStream,
        router: Arc<dyn Dispatch>,
        config: Config,
        accepted: bool,
    ) -> (Connection, Driver<UnixFdStream>) {
        let io = UnixFdStream::new(stream);
        let fds = io.channel();
        Self::build(io, router, config, Some(fds), accepted)
    }
}
