//! What the handles and the driver of one connection share: the session
//! behind a lock, and the driver-side slots (TLS settings, the switched-to
//! protocol) that travel with it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Waker;
use tokio::sync::Notify;

use amp_wire::session::Session;
use amp_wire::{Context, Disconnect};

use crate::addr::ConnectionInfo;
#[cfg(feature = "unix")]
use crate::fd::FdChannel;
use crate::switch::{SwitchTo, Switched};
#[cfg(feature = "tls")]
use crate::tls::CertificateDer;

/// Our StartTLS, waiting for the session to say "handshake now".
#[cfg(feature = "tls")]
pub(crate) struct ClientTls {
    pub(crate) config: Arc<rustls::ClientConfig>,
    pub(crate) server_name: rustls::pki_types::ServerName<'static>,
}

/// Everything behind the lock.
pub(crate) struct State {
    pub(crate) session: Session,
    /// The driver's waker, taken by whoever needs it to run.
    driver: Option<Waker>,
    /// Wake the driver when the lock is released.
    kick: bool,
    /// The driver is polling: it will see any change itself, waking it
    /// would only schedule it again (and, on a multi-threaded runtime, wake
    /// another worker for nothing).
    running: bool,
    /// Kicked while running: the driver looks again before it sleeps.
    kicked: bool,
    #[cfg(feature = "tls")]
    pub(crate) tls_client: Option<ClientTls>,
    #[cfg(feature = "tls")]
    pub(crate) tls_server: Option<Arc<rustls::ServerConfig>>,
    /// The peer's certificates, once TLS is up.
    #[cfg(feature = "tls")]
    pub(crate) peer_certificates: Option<Vec<CertificateDer<'static>>>,
    /// The protocol our switch responder agreed to run.
    pub(crate) switch_to: Option<SwitchTo>,
    /// The stream our switch call gets.
    pub(crate) switched: Option<Switched>,
    /// Responder panics so far (the first is logged in full).
    pub(crate) panics: usize,
    /// The server's memory budget and idle clock, on a server's connection.
    pub(crate) member: Option<crate::budget::Member>,
}

impl State {
    /// Wake the driver once the lock is released.
    pub(crate) fn kick(&mut self) {
        self.kick = true;
    }

    /// After a round of the driver (the read buffer back in the session,
    /// the output taken): count the connection's buffers against its
    /// server's budget, if it is a server's.
    #[inline]
    pub(crate) fn report_buffers(&mut self) {
        if let Some(m) = &mut self.member {
            m.report(&mut self.session);
        }
    }

    /// The driver is polling, with `waker`: kicks from now on are noted,
    /// not woken.
    pub(crate) fn driver_running(&mut self, waker: &Waker) {
        self.running = true;
        match &self.driver {
            Some(w) if w.will_wake(waker) => {}
            _ => self.driver = Some(waker.clone()),
        }
    }

    /// The driver is about to sleep: from now on kicks wake it. Returns
    /// whether it was kicked meanwhile (then it must look again).
    pub(crate) fn driver_sleeping(&mut self) -> bool {
        self.running = false;
        std::mem::take(&mut self.kicked)
    }
}

pub(crate) struct Shared {
    state: Mutex<State>,
    /// Live `Connection` handles (the driver's own reference is not one).
    handles: AtomicUsize,
    /// The router answers nothing: with no handle left, nobody can use
    /// the connection, and the session closes it once idle.
    abandonable: bool,
    /// The driver is done (the session says why: its close reason).
    finished: AtomicBool,
    done: Notify,
    #[cfg(feature = "unix")]
    fds: Option<Arc<FdChannel>>,
    max_nesting: usize,
    /// [`Config::call_timeout`](amp_wire::Config::call_timeout).
    pub(crate) call_timeout: Option<std::time::Duration>,
    /// The two ends' addresses, as known when the connection opened.
    pub(crate) info: ConnectionInfo,
    max_value_size: usize,
}

impl Shared {
    pub(crate) fn new(
        session: Session,
        abandonable: bool,
        fds: Option<FdsArg>,
        info: ConnectionInfo,
    ) -> Arc<Shared> {
        let max_nesting = session.config().max_nesting();
        let call_timeout = session.config().call_timeout();
        let max_value_size = session.config().max_box_size();
        #[cfg(not(feature = "unix"))]
        let _ = fds;
        Arc::new(Shared {
            state: Mutex::new(State {
                session,
                driver: None,
                kick: false,
                running: false,
                kicked: false,
                #[cfg(feature = "tls")]
                tls_client: None,
                #[cfg(feature = "tls")]
                tls_server: None,
                #[cfg(feature = "tls")]
                peer_certificates: None,
                switch_to: None,
                switched: None,
                panics: 0,
                member: None,
            }),
            handles: AtomicUsize::new(1),
            abandonable,
            finished: AtomicBool::new(false),
            done: Notify::new(),
            #[cfg(feature = "unix")]
            fds,
            max_nesting,
            call_timeout,
            info,
            max_value_size,
        })
    }

    /// Run `f` on the state under the lock; afterwards (lock released)
    /// wake the callers the session woke, and the driver if kicked.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut wakers = Vec::new();
        let mut driver = None;
        let r = {
            let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let r = f(&mut st);
            st.session.drain_wakers(&mut wakers);
            if std::mem::take(&mut st.kick) {
                if st.running {
                    st.kicked = true;
                } else {
                    driver = st.driver.take();
                }
            }
            r
        };
        for w in wakers {
            w.wake();
        }
        if let Some(w) = driver {
            w.wake();
        }
        r
    }

    /// [`Shared::with`] for the driver's round: the driver drains the
    /// session's wakers itself (into a buffer it reuses) and wakes them
    /// after. A kick while it runs is noted for its next look; a kick after
    /// it marked itself asleep wakes it.
    pub(crate) fn round<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut driver = None;
        let r = {
            let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let r = f(&mut st);
            if std::mem::take(&mut st.kick) {
                if st.running {
                    st.kicked = true;
                } else {
                    driver = st.driver.take();
                }
            }
            r
        };
        if let Some(w) = driver {
            w.wake();
        }
        r
    }

    /// Run `f` with this connection's argument context: its descriptor
    /// channel (UNIX sockets), nesting limit, and the bound on reassembled
    /// and decompressed values (the box size limit).
    pub(crate) fn with_context<R>(&self, f: impl FnOnce(&mut Context<'_>) -> R) -> R {
        #[cfg(feature = "unix")]
        if let Some(chan) = &self.fds {
            let mut d: &FdChannel = chan;
            return f(&mut Context::with_descriptors(&mut d)
                .with_max_nesting(self.max_nesting)
                .with_max_value_size(self.max_value_size));
        }
        f(&mut Context::none()
            .with_max_nesting(self.max_nesting)
            .with_max_value_size(self.max_value_size))
    }

    /// Close the connection: what is written goes out, then the stream
    /// is shut down.
    pub(crate) fn close(&self) {
        self.with(|st| {
            st.session.close(tokio::time::Instant::now().into_std());
            st.kick();
        });
    }

    /// Begin a graceful shutdown: new requests refused, close once the
    /// work in flight is done.
    pub(crate) fn shutdown(&self) {
        self.with(|st| {
            st.session.shutdown(tokio::time::Instant::now().into_std());
            st.kick();
        });
    }

    /// End the connection at once, for `reason`.
    pub(crate) fn abort(&self, reason: Disconnect) {
        self.with(|st| {
            st.session.abort(reason);
            st.kick();
        });
    }

    pub(crate) fn add_handle(&self) {
        if self.handles.fetch_add(1, Ordering::AcqRel) == 0 && self.abandonable {
            self.abandoned_changed();
        }
    }

    /// A handle went away; without the last one, a connection with nothing
    /// to serve closes once idle.
    pub(crate) fn drop_handle(&self) {
        if self.handles.fetch_sub(1, Ordering::AcqRel) == 1 && self.abandonable {
            self.abandoned_changed();
        }
    }

    /// The count of handles went to or from zero: tell the session whether
    /// the connection is abandoned. (Read under the lock: of two changes
    /// racing, the one told last reads the count both made.)
    fn abandoned_changed(&self) {
        self.with(|st| {
            st.session
                .close_when_idle(self.handles.load(Ordering::Acquire) == 0);
            st.kick();
        });
    }

    /// The driver is done: release `closed()` waiters.
    pub(crate) fn finish(&self) {
        self.finished.store(true, Ordering::Release);
        self.done.notify_waiters();
    }

    /// Wait until the driver is done; returns why the connection ended.
    pub(crate) async fn closed(&self) -> Disconnect {
        loop {
            let notified = self.done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.finished.load(Ordering::Acquire) {
                return self.with(|st| {
                    st.session
                        .close_reason()
                        .cloned()
                        .unwrap_or(Disconnect::DriverDropped)
                });
            }
            notified.await;
        }
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }
}

/// The descriptor channel, when the transport passes descriptors.
#[cfg(feature = "unix")]
pub(crate) type FdsArg = Arc<FdChannel>;
#[cfg(not(feature = "unix"))]
pub(crate) type FdsArg = std::convert::Infallible;
