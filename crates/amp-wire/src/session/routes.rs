//! Routes: several independent AMP conversations over one connection, told
//! apart by a `_route` key (the scheme of Divmod Epsilon's `amprouter`).
//!
//! The rules are on [`Session::bind_route`].
//!
//! # Why in the session
//!
//! The routes share everything but the tags and the responders: one
//! decoder, one output buffer, one phase (a close, a switch or StartTLS of
//! the connection is every route's), one set of limits. So they are kept
//! as tables inside the one [`Session`] (which route each of our routed
//! calls was made on; which remote name each request's reply carries), not
//! as one session per route, which would duplicate the phase machine and
//! need the routes' output merged.

use bytes::Bytes;
use rustc_hash::FxHashMap;
use std::time::Instant;

use super::calls::CommandKind;
use super::keys::ROUTE;
use super::{SendError, Session};
use crate::ambox::AmpBox;
use crate::error::{EncodeError, ProtocolError, MAX_VALUE_LENGTH};
use crate::fields::FieldWriter;

/// How many routes one session may have bound.
pub const MAX_ROUTES: usize = 1024;

/// Why a route could not be bound.
///
/// ```
/// use amp_wire::session::{RouteError, Session};
/// use amp_wire::Config;
/// use std::time::Instant;
///
/// let mut s = Session::new(Config::default(), Instant::now());
/// s.bind_route("calc", "calc").unwrap();
/// assert_eq!(s.bind_route("calc", "calc"), Ok(())); // the same pair again: nothing to do
/// match s.bind_route("calc", "calculator") {
///     Err(RouteError::Bound { local, remote }) => {
///         assert_eq!(local, "calc");
///         assert_eq!(remote, "calc"); // what it is bound to already
///     }
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// [`MAX_ROUTES`] routes are bound already.
    #[error("at most {MAX_ROUTES} routes may be bound on one connection")]
    TooMany,
    /// The local name is bound already, to another remote name.
    #[error("route {local:?} is already bound to remote route {remote:?}")]
    Bound {
        /// The local name.
        local: Bytes,
        /// The remote name it is connected to.
        remote: Bytes,
    },
    /// A name longer than an AMP value may be.
    #[error("a route name may be at most {MAX_VALUE_LENGTH} bytes")]
    TooLong,
}

/// The route tables of a session that has bound a route.
#[derive(Debug, Default)]
pub(crate) struct Routes {
    /// Local name → remote name.
    bound: FxHashMap<Bytes, Bytes>,
    /// Our calls made on a route, unanswered: tag → local name.
    calls: FxHashMap<u64, Bytes>,
}

/// The route a received box came on.
pub(crate) struct Via {
    pub(crate) local: Bytes,
}

impl Session {
    /// Bind a route: boxes the peer sends with `_route: local` belong to
    /// it, and boxes sent on it carry `_route: remote`. Binding the same
    /// pair again does nothing.
    ///
    /// # Rules
    ///
    /// * A route is bound on this side under a *local* name (what the peer
    ///   puts in `_route` to reach it) and connected to a *remote* name (what
    ///   this side puts in `_route` to reach the peer's route):
    ///   [`Session::bind_route`]. Usually both ends use one name for both.
    /// * Every box this side sends on a route carries `_route: <remote>`: its
    ///   requests ([`Session::call_on`], [`Session::notify_on`]) and the
    ///   answers and errors to the peer's requests that came on the route.
    /// * A received box with `_route` has the key removed and is handled by the
    ///   route bound under that local name; a box without `_route` belongs to
    ///   the default conversation (the connection's own, as when no route is
    ///   used). [`Request::route`](super::Request::route) tells the driver which
    ///   route a request came on, so it can run that route's responders.
    /// * A box naming a route not bound here ends the connection with
    ///   [`ProtocolError::UnknownRoute`] (Epsilon's `Router.ampBoxReceived`
    ///   raises `KeyError` out of the parser, which Twisted logs and answers
    ///   by dropping the connection).
    /// * Each route has its own conversation: an answer or error must come on
    ///   the route its call was made on, else its tag is unknown there
    ///   ([`ProtocolError::UnknownTag`]). Our tags are taken from one counter
    ///   for all routes, so they are unique per route too; the peer's tags are
    ///   its own business, one tag may be in flight on several routes at once.
    /// * Routes carry plain requests only: a request on a route is never a
    ///   protocol switch or StartTLS (those change the transport, which belongs
    ///   to the whole connection), and the driver answers it like any other.
    /// * When the connection ends, every route ends with it: their calls fail
    ///   with the connection's reason (Epsilon's `Router.stopReceivingBoxes`
    ///   stops every route's receiver).
    /// * Until a route is bound the session is plain AMP: a `_route` key is
    ///   then an ordinary argument (as for a Twisted `AMP` with no router).
    ///   This is also why the default conversation costs nothing extra: with
    ///   no route bound nothing here runs.
    /// * Routes are bound, never unbound (a route's name stays reserved for the
    ///   connection's life), and at most [`MAX_ROUTES`] are bound.
    ///
    /// ```
    /// use amp_wire::session::{Event, Session};
    /// use amp_wire::Config;
    /// use std::time::Instant;
    ///
    /// let now = Instant::now();
    /// let mut s = Session::new(Config::default(), now);
    /// s.bind_route("calc", "calc").unwrap();
    /// s.feed(b"\x00\x04_ask\x00\x011\x00\x08_command\x00\x03Sum\x00\x06_route\x00\x04calc\x00\x00", now);
    /// let Some(Event::Request(req)) = s.poll_event(now) else { panic!() };
    /// assert_eq!(req.route.as_deref(), Some(&b"calc"[..]));
    /// assert!(req.args.get("_route").is_none());
    /// s.answer(req.id, |w| w.put_raw(b"total", b"3"), now).unwrap();
    /// let mut out = bytes::BytesMut::new();
    /// s.poll_transmit(&mut out, now);
    /// assert_eq!(&out[..], b"\x00\x07_answer\x00\x011\x00\x06_route\x00\x04calc\x00\x05total\x00\x013\x00\x00");
    /// ```
    pub fn bind_route(
        &mut self,
        local: impl Into<Bytes>,
        remote: impl Into<Bytes>,
    ) -> Result<(), RouteError> {
        let (local, remote) = (local.into(), remote.into());
        if local.len() > MAX_VALUE_LENGTH || remote.len() > MAX_VALUE_LENGTH {
            return Err(RouteError::TooLong);
        }
        let routes = self.routes.get_or_insert_with(Default::default);
        if let Some(bound) = routes.bound.get(&local) {
            if *bound == remote {
                return Ok(());
            }
            return Err(RouteError::Bound {
                local,
                remote: bound.clone(),
            });
        }
        if routes.bound.len() >= MAX_ROUTES {
            return Err(RouteError::TooMany);
        }
        routes.bound.insert(local, remote);
        Ok(())
    }

    /// The remote name of the route bound under `local`, if any.
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// let mut s = Session::new(Config::default(), now);
    /// s.bind_route("calc", "calculator").unwrap();
    /// assert_eq!(s.route_remote(b"calc").map(|r| &r[..]), Some(&b"calculator"[..]));
    /// assert!(s.route_remote(b"chat").is_none());
    /// ```
    pub fn route_remote(&self, local: &[u8]) -> Option<&Bytes> {
        self.routes.as_ref()?.bound.get(local)
    }

    /// How many routes are bound.
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// let mut s = Session::new(Config::default(), now);
    /// assert_eq!(s.routes_bound(), 0);
    /// s.bind_route("calc", "calc").unwrap();
    /// s.bind_route("calc", "calc").unwrap(); // the same binding again
    /// assert_eq!(s.routes_bound(), 1);
    /// ```
    pub fn routes_bound(&self) -> usize {
        self.routes.as_ref().map_or(0, |r| r.bound.len())
    }

    /// [`Session::call`] on the route bound under `local`: the request
    /// carries `_route: <remote>`, and only an answer on this route
    /// answers it. A route not bound is refused with
    /// [`EncodeError`] (nothing is written).
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// # fn sent(s: &mut Session, now: Instant) -> Vec<AmpBox> {
    /// #     let mut out = bytes::BytesMut::new();
    /// #     let n = s.poll_transmit(&mut out, now);
    /// #     s.transmitted(n, now);
    /// #     amp_wire::decode_all(&out.freeze()).unwrap()
    /// # }
    /// # use amp_wire::session::SendError;
    /// let mut s = Session::new(Config::default(), now);
    /// s.bind_route("calc", "calculator").unwrap();
    /// let tag = s.call_on(b"calc", b"Sum", |w| w.put_raw(b"a", b"1")).unwrap();
    /// assert_eq!(tag, 1);
    /// assert_eq!(sent(&mut s, now)[0].get("_route"), Some(&b"calculator"[..]));
    /// let err = s.call_on(b"chat", b"Sum", |_| Ok(())).unwrap_err();
    /// assert!(matches!(err, SendError::Encode(_))); // no such route
    /// ```
    pub fn call_on(
        &mut self,
        local: &[u8],
        name: &[u8],
        args: impl FnOnce(&mut FieldWriter<'_>) -> Result<(), EncodeError>,
    ) -> Result<u64, SendError> {
        let (local, remote) = self.route_pair(local)?;
        let tag = self.send(name, Some(CommandKind::Plain), Some(&remote), args)?;
        if let Some(routes) = self.routes.as_mut() {
            routes.calls.insert(tag, local);
        }
        Ok(tag)
    }

    /// [`Session::notify`] on the route bound under `local`.
    ///
    /// ```
    /// # use amp_wire::session::{Event, Session};
    /// # use amp_wire::{AmpBox, Config};
    /// # use std::time::Instant;
    /// # let now = Instant::now();
    /// # fn sent(s: &mut Session, now: Instant) -> Vec<AmpBox> {
    /// #     let mut out = bytes::BytesMut::new();
    /// #     let n = s.poll_transmit(&mut out, now);
    /// #     s.transmitted(n, now);
    /// #     amp_wire::decode_all(&out.freeze()).unwrap()
    /// # }
    /// let mut s = Session::new(Config::default(), now);
    /// s.bind_route("log", "logger").unwrap();
    /// s.notify_on(b"log", b"Line", |w| w.put_raw(b"text", b"hi")).unwrap();
    /// let request = &sent(&mut s, now)[0];
    /// assert_eq!(request.get("_route"), Some(&b"logger"[..]));
    /// assert_eq!(request.get("_ask"), None);
    /// ```
    pub fn notify_on(
        &mut self,
        local: &[u8],
        name: &[u8],
        args: impl FnOnce(&mut FieldWriter<'_>) -> Result<(), EncodeError>,
    ) -> Result<(), SendError> {
        let (_, remote) = self.route_pair(local)?;
        self.send(name, None, Some(&remote), args).map(|_| ())
    }

    fn route_pair(&self, local: &[u8]) -> Result<(Bytes, Bytes), SendError> {
        self.routes
            .as_ref()
            .and_then(|r| r.bound.get_key_value(local))
            .map(|(l, r)| (l.clone(), r.clone()))
            .ok_or_else(|| {
                SendError::Encode(EncodeError::invalid(format!(
                    "no route {} is bound on this connection",
                    crate::display_bytes(local)
                )))
            })
    }

    /// Take `_route` out of a received box (only once a route is bound):
    /// `Ok(None)` for the default conversation, `Err` when the route is not
    /// bound (the connection is then closing).
    pub(crate) fn demux(&mut self, b: &mut AmpBox, now: Instant) -> Result<Option<Via>, ()> {
        let Some(routes) = self.routes.as_ref() else {
            return Ok(None);
        };
        let Some(name) = b.remove(ROUTE) else {
            return Ok(None);
        };
        match routes.bound.get_key_value(&name[..]) {
            Some((local, _)) => Ok(Some(Via {
                local: local.clone(),
            })),
            None => {
                self.close_flushing(ProtocolError::UnknownRoute { route: name }.into(), now);
                Err(())
            }
        }
    }

    /// Whether the reply to our call `tag` came on the route it was made
    /// on; if so, the call is no longer remembered as routed.
    pub(crate) fn reply_route_matches(&mut self, tag: u64, via: Option<&Via>) -> bool {
        let Some(routes) = self.routes.as_mut() else {
            return true;
        };
        let made_on = routes.calls.get(&tag);
        if made_on.map(|l| &l[..]) != via.map(|v| &v.local[..]) {
            return false;
        }
        routes.calls.remove(&tag);
        true
    }

    /// The remote name replies to a request that came on `local` carry.
    pub(crate) fn reply_route(&self, local: Option<&Bytes>) -> Option<Bytes> {
        let local = local?;
        self.route_remote(local).cloned()
    }

    /// The remote name of the route our unanswered call `tag` was made
    /// on (`None` on the default conversation).
    pub(crate) fn route_of_call(&self, tag: u64) -> Option<Bytes> {
        let routes = self.routes.as_ref()?;
        routes.bound.get(routes.calls.get(&tag)?).cloned()
    }

    /// Our call `tag` was given up: forget its route.
    pub(crate) fn forget_routed_call(&mut self, tag: u64) {
        if let Some(routes) = self.routes.as_mut() {
            routes.calls.remove(&tag);
        }
    }
}
