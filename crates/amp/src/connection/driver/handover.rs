//! What the session asks the driver to do with the transport: a TLS
//! handshake, or handing it over to the protocol switched to.

use std::sync::Arc;
use std::task::Context as TaskCx;
use tokio::io::{AsyncRead, AsyncWrite};

use amp_wire::session::{Event, Role};

use super::super::shared::Shared;
use super::super::transport::Transport;
use super::Driver;
use crate::switch::Switched;

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Driver<T> {
    /// Drive a TLS handshake in progress; returns whether it ended.
    #[cfg(feature = "tls")]
    pub(super) fn poll_handshake(&mut self, cx: &mut TaskCx<'_>) -> bool {
        use super::super::transport::Handshaken;
        if !self.io.handshaking() {
            return false;
        }
        match self.io.poll_handshake(cx) {
            std::task::Poll::Pending => false,
            std::task::Poll::Ready(Handshaken::Done(certs)) => {
                tracing::debug!(peer_certificates = certs.len(), "TLS is up");
                self.shared.with(|st| {
                    st.peer_certificates = Some(certs);
                    st.session.tls_established();
                });
                true
            }
            std::task::Poll::Ready(Handshaken::Failed(e)) => {
                let error = Arc::new(crate::tls::TlsError::from(e));
                self.shared.with(|st| st.session.tls_failed(error));
                true
            }
        }
    }

    #[cfg(not(feature = "tls"))]
    pub(super) fn poll_handshake(&mut self, _: &mut TaskCx<'_>) -> bool {
        false
    }

    /// Do what the session asked for once everything before it is written.
    pub(super) fn perform_action(&mut self) -> bool {
        if self.action.is_none() || !self.out.is_empty() || self.flush_needed {
            return false;
        }
        match self.action.take() {
            Some(Event::StartTls(role)) => self.begin_handshake(role),
            Some(Event::HandOver { role, buffered }) => self.hand_over(role, buffered),
            _ => {}
        }
        true
    }

    #[cfg(feature = "tls")]
    pub(super) fn begin_handshake(&mut self, role: Role) {
        let (client, server) = self
            .shared
            .with(|st| (st.tls_client.take(), st.tls_server.take()));
        let plain = self.io.take_plain();
        match (role, plain, client, server) {
            (Role::Requester, Some(io), Some(c), _) => {
                let connect = tokio_rustls::TlsConnector::from(c.config).connect(c.server_name, io);
                self.io = Transport::Connecting(Box::new(connect));
            }
            (Role::Responder, Some(io), _, Some(config)) => {
                let accept = tokio_rustls::TlsAcceptor::from(config).accept(io);
                self.io = Transport::Accepting(Box::new(accept));
            }
            _ => {
                let error = Arc::new(crate::tls::TlsError::NotPlain);
                self.shared.with(|st| st.session.tls_failed(error));
            }
        }
    }

    #[cfg(not(feature = "tls"))]
    pub(super) fn begin_handshake(&mut self, _: Role) {
        // Unreachable: without TLS nothing asks for StartTLS or answers it.
        let error = Arc::new(std::io::Error::other(
            "TLS support is not compiled in (cargo feature `tls`)",
        ));
        self.shared.with(|st| st.session.tls_failed(error));
    }

    /// AMP is over: give the transport to the new protocol.
    pub(super) fn hand_over(&mut self, role: Role, buffered: bytes::Bytes) {
        let io = std::mem::replace(&mut self.io, Transport::Gone).into_io();
        tracing::debug!(buffered = buffered.len(), "protocol switched");
        let stream = io.map(|io| Switched::new(io, buffered));
        let stream = watch(stream, &self.shared);
        #[cfg(feature = "tls")]
        let stream = {
            let certs = self.shared.with(|st| st.peer_certificates.clone());
            stream.map(|s| s.with_peer_certificates(certs))
        };
        let after = self.shared.with(|st| {
            let waited = st.session.handed_over();
            match role {
                Role::Requester => {
                    if waited {
                        st.switched = stream;
                    }
                    None
                }
                Role::Responder => st.switch_to.take().zip(stream),
            }
        });
        if let Some((to, stream)) = after {
            self.after = Some((to.handler)(stream));
        }
    }
}

/// The stream of a connection switched to another protocol: on a server,
/// it keeps the connection's idle clock.
fn watch(stream: Option<Switched>, shared: &Shared) -> Option<Switched> {
    let stream = stream?;
    match shared.with(|st| st.member.as_ref().map(|m| m.holding().clone())) {
        Some(mine) => {
            mine.touch();
            Some(stream.watched(mine))
        }
        None => Some(stream),
    }
}
