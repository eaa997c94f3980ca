//! How responders hand their outcome to the session: the one value each
//! request's responder gets to conclude it.

use bytes::Bytes;
use std::sync::Arc;

use amp_wire::session::RequestId;
use amp_wire::{AmpBox, Context, DecodeError, EncodeError, FieldWriter, Record};

use super::handle::Connection;
use super::starter::Starter;
use crate::addr::ConnectionInfo;
use crate::error::RawError;
use crate::switch::SwitchTo;

/// A router as the driver sees it: something that starts a responder for
/// a request.
/// What a connection is opened with (a router): a [`Dispatch`] for each
/// connection.
pub(crate) trait Bind: Send + Sync {
    /// The responders of the connection described by `info`, with their
    /// state (made now, for a router with per-connection state).
    fn bind(&self, info: &ConnectionInfo) -> Arc<dyn Dispatch>;
}

pub(crate) trait Dispatch: Send + Sync {
    /// Start answering the request `responding` describes (its responder
    /// goes to `starter`); give it back if nothing answers it.
    fn dispatch(
        &self,
        args: AmpBox,
        responding: Responding,
        starter: &mut Starter<'_, '_>,
    ) -> Result<(), Responding>;
    /// Whether nothing is answered at all (no route, no fallback).
    fn is_empty(&self) -> bool;
    /// The commands answered with a protocol switch.
    fn switch_commands(&self) -> Vec<Bytes>;
    /// Whether `StartTLS` is answered.
    fn answers_start_tls(&self) -> bool;
    /// Whether `Cancel` is answered (responders may be cancelled).
    fn answers_cancel(&self) -> bool;
    /// The routes served: (local name, remote name) pairs to bind.
    fn routes(&self) -> Vec<(Bytes, Bytes)> {
        Vec::new()
    }
    /// [`Dispatch::dispatch`] for a request that came on route `local`.
    fn dispatch_on(
        &self,
        local: &Bytes,
        args: AmpBox,
        responding: Responding,
        starter: &mut Starter<'_, '_>,
    ) -> Result<(), Responding> {
        let _ = (local, args, starter);
        Err(responding)
    }
}

/// One request being answered: consumed by exactly one conclusion.
pub(crate) struct Responding {
    conn: Connection,
    id: RequestId,
    tag: Option<Bytes>,
    name: Bytes,
}

impl Responding {
    pub(crate) fn new(conn: Connection, id: RequestId, tag: Option<Bytes>, name: Bytes) -> Self {
        Responding {
            conn,
            id,
            tag,
            name,
        }
    }

    /// The request being answered.
    pub(crate) fn id(&self) -> RequestId {
        self.id
    }

    /// The command being answered.
    pub(crate) fn name(&self) -> &Bytes {
        &self.name
    }

    /// The tracing span a responder runs in.
    pub(crate) fn span(&self) -> tracing::Span {
        tracing::debug_span!(
            "amp.respond",
            command = %amp_wire::display_bytes(&self.name),
            tag = %self.tag.as_deref().map(amp_wire::display_bytes).unwrap_or_default(),
            peer = super::spans::peer(self.conn.peer_addr()),
        )
    }

    /// A handle on the connection, for the responder's `Ctx`.
    pub(crate) fn connection(&self) -> Connection {
        self.conn.clone()
    }

    /// Decode the request's arguments with the connection's context.
    pub(crate) fn decode<R: Record>(&self, args: &AmpBox) -> Result<R, DecodeError> {
        self.conn
            .shared()
            .with_context(|cx| R::read_fields(args, cx))
    }

    /// Answer with the fields `write` writes.
    pub(crate) fn answer(
        self,
        write: impl FnOnce(&mut FieldWriter<'_>, &mut Context<'_>) -> Result<(), EncodeError>,
    ) {
        let shared = self.conn.shared();
        let id = self.id;
        let failed = shared.with(|st| {
            st.kick();
            st.session
                .answer(
                    id,
                    |w| shared.with_context(|cx| write(w, cx)),
                    tokio::time::Instant::now().into_std(),
                )
                .err()
        });
        if let Some(e) = failed {
            tracing::error!(
                command = %amp_wire::display_bytes(&self.name),
                error = %e,
                "response could not be encoded; sending UNKNOWN and closing"
            );
        }
    }

    /// Answer with an error.
    pub(crate) fn fail(self, e: &RawError) {
        let id = self.id;
        self.conn.shared().with(|st| {
            st.kick();
            let now = tokio::time::Instant::now().into_std();
            st.session.fail(id, &e.code, &e.description, e.fatal, now);
        });
    }

    /// An undeclared failure: `UNKNOWN`, then the connection closes.
    pub(crate) fn unknown(self, reason: String) {
        tracing::error!(
            command = %amp_wire::display_bytes(&self.name),
            %reason,
            "responder failed; sending UNKNOWN and closing"
        );
        self.unknown_quietly(reason);
    }

    fn unknown_quietly(self, reason: String) {
        let id = self.id;
        self.conn.shared().with(|st| {
            st.kick();
            st.session
                .fail_unknown(id, reason, tokio::time::Instant::now().into_std());
        });
    }

    /// The responder panicked: logged in full once per connection, then
    /// handled as an undeclared failure.
    pub(crate) fn panicked(self, message: String) {
        let first = self.conn.shared().with(|st| {
            st.panics += 1;
            st.panics == 1
        });
        let command = amp_wire::display_bytes(&self.name);
        if first {
            tracing::error!(%command, panic = %message, "responder panicked; sending UNKNOWN and closing");
        } else {
            tracing::debug!(%command, panic = %message, "responder panicked again");
        }
        self.unknown_quietly(format!("responder panicked: {message}"));
    }

    /// Nothing answers this command.
    pub(crate) fn unhandled(self) {
        let id = self.id;
        self.conn.shared().with(|st| {
            st.kick();
            st.session
                .unhandled(id, tokio::time::Instant::now().into_std());
        });
    }

    /// Agree to the peer's protocol switch: the answer is written, then the
    /// connection runs `to`.
    pub(crate) fn accept_switch(self, to: SwitchTo) {
        let id = self.id;
        let agreed = self.conn.shared().with(|st| {
            st.kick();
            let agreed = st.session.accept_switch(id);
            if agreed {
                st.switch_to = Some(to);
            }
            agreed
        });
        if !agreed {
            tracing::warn!(
                command = %amp_wire::display_bytes(&self.name),
                "a switch was accepted for a request that cannot switch (it wanted no answer); ignored"
            );
        }
    }

    /// Agree to the peer's StartTLS: the answer is written in clear, then
    /// the handshake runs as server with `config`.
    #[cfg(feature = "tls")]
    pub(crate) fn accept_start_tls(self, config: Arc<rustls::ServerConfig>) {
        let id = self.id;
        self.conn.shared().with(|st| {
            st.kick();
            if st.session.accept_start_tls(id) {
                st.tls_server = Some(config);
            }
        });
    }
}
