//! Wiring a connection: its session set up for what the router answers,
//! the state the handle and the driver share, the first handle, and the
//! driver.

use tokio::io::{AsyncRead, AsyncWrite};

use amp_wire::session::Session;
use amp_wire::Config;

use super::driver::Driver;
use super::handle::Connection;
use super::responding::Bind;
use super::shared::{FdsArg, Shared};
use crate::addr::ConnectionInfo;

impl Connection {
    /// The one constructor: `accepted` for connections a server accepted
    /// (they must send a first box in time).
    pub(crate) fn build<T>(
        io: T,
        router: &dyn Bind,
        config: Config,
        fds: Option<FdsArg>,
        accepted: bool,
        info: ConnectionInfo,
    ) -> (Connection, Driver<T>)
    where
        T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let router = router.bind(&info);
        let now = tokio::time::Instant::now().into_std();
        let mut session = if accepted {
            Session::new_accepted(config, now)
        } else {
            Session::new(config, now)
        };
        for name in router.switch_commands() {
            session.negotiates_switch(name);
        }
        if router.answers_start_tls() {
            session.negotiates_start_tls();
        }
        if router.answers_cancel() {
            session.answers_cancel();
        }
        for (local, remote) in router.routes() {
            // Checked as the channels were bound (`Channels::channel_to`).
            let _ = session.bind_route(local, remote);
        }
        let shared = Shared::new(session, router.is_empty(), fds, info);
        let driver = Driver::new(shared.clone(), io, router);
        (Connection::first(shared), driver)
    }

    /// [`Connection::build`] over a UNIX socket, which passes descriptors.
    #[cfg(feature = "unix")]
    pub(crate) fn build_unix(
        stream: tokio::net::UnixStream,
        router: &dyn Bind,
        config: Config,
        accepted: bool,
    ) -> (Connection, Driver<crate::fd::UnixFdStream>) {
        let info = ConnectionInfo::of_unix(&stream);
        let io = crate::fd::UnixFdStream::new(stream);
        let fds = io.channel();
        Self::build(io, router, config, Some(fds), accepted, info)
    }
}
