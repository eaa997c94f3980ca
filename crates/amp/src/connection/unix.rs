//! The UNIX-socket transport of a connection: descriptor passing.

use amp_wire::Config;

use super::{Bind, Connection, Driver};
use crate::addr::ConnectionInfo;
use crate::fd::UnixFdStream;

impl Connection {
    pub(crate) fn build_unix(
        stream: tokio::net::UnixStream,
        router: &dyn Bind,
        config: Config,
        accepted: bool,
    ) -> (Connection, Driver<UnixFdStream>) {
        let info = ConnectionInfo::of_unix(&stream);
        let io = UnixFdStream::new(stream);
        let fds = io.channel();
        Self::build(io, router, config, Some(fds), accepted, info)
    }
}
