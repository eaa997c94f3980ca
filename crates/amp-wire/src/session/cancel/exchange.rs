//! How a session sends `Cancel` for a call it gave up, and answers the
//! peer's (the protocol is described in [`cancel`](super)).

use bytes::Bytes;
use std::time::Instant;

use super::{CANCEL, CANCELLED, CANCELLED_DESCRIPTION, CANCELLED_KEY, CANCEL_TAG};
use crate::fields::FieldWriter;
use crate::session::calls::format_tag;
use crate::session::keys::{ANSWER, ASK, COMMAND, ROUTE};
use crate::session::{Event, Request, RequestId, Session, State};

impl Session {
    /// This side answers `Cancel` by cancelling the peer's request (see
    /// the [module documentation](super)).
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
    /// s.answers_cancel();
    /// # let ask: AmpBox = [("_ask", "1"), ("_command", "Slow")].into_iter().collect();
    /// # s.feed(&ask.to_bytes().unwrap(), now);
    /// let Some(Event::Request(req)) = s.poll_event(now) else { panic!() };
    /// let cancel: AmpBox = [("_ask", "2"), ("_command", "Cancel"), ("tag", "1")]
    ///     .into_iter()
    ///     .collect();
    /// s.feed(&cancel.to_bytes().unwrap(), now);
    /// assert!(matches!(s.poll_event(now), Some(Event::Cancel(id)) if id == req.id));
    /// let replies = sent(&mut s, now);
    /// assert_eq!(replies[0].get("_error_code"), Some(&b"CANCELLED"[..]));
    /// assert_eq!(replies[1].get("cancelled"), Some(&b"True"[..]));
    /// ```
    pub fn answers_cancel(&mut self) {
        self.answers_cancel = true;
    }

    /// Our caller of `tag` gave up, and wants the peer to stop: like
    /// [`Session::abandon`], and if the call was still waiting, `Cancel`
    /// is sent for it (using the next tag). Returns whether it was.
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
    /// let tag = s.call(b"Slow", |_| Ok(())).unwrap();
    /// assert!(s.cancel(tag));
    /// let boxes = sent(&mut s, now);
    /// assert_eq!(boxes[1].get("_command"), Some(&b"Cancel"[..]));
    /// assert_eq!(boxes[1].get("tag"), Some(&b"1"[..]));
    /// assert!(!s.cancel(tag)); // given up already
    /// ```
    pub fn cancel(&mut self, tag: u64) -> bool {
        // The `Cancel` goes on the route the call went on: the tag is
        // that conversation's.
        let route = self.route_of_call(tag);
        self.forget_routed_call(tag);
        if !self.calls.abandon(tag) || self.state.phase().is_over() {
            return false;
        }
        self.write_cancel(tag, route)
    }

    /// Write `Cancel` for our call `tag`, given up, on `route` (its
    /// call's); returns whether it was written.
    pub(crate) fn write_cancel(&mut self, tag: u64, route: Option<bytes::Bytes>) -> bool {
        let own = self.calls.fire_and_forget();
        let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
        let own = format_tag(own, &mut a);
        let target = format_tag(tag, &mut b);
        let extras = [
            (ASK.as_bytes(), own),
            (COMMAND.as_bytes(), CANCEL.as_bytes()),
            (ROUTE.as_bytes(), route.as_deref().unwrap_or_default()),
        ];
        let extras = &extras[..if route.is_some() { 3 } else { 2 }];
        let Some(out) = self.out() else {
            return false; // unreachable: AMP is not over
        };
        let mut w = FieldWriter::new(out, extras);
        // Short ASCII: writing cannot fail.
        let _ = w.put_raw(CANCEL_TAG.as_bytes(), target);
        let _ = w.finish();
        self.counters.requests_sent += 1;
        self.counters.boxes_sent += 1;
        self.check_held();
        true
    }

    /// `Cancel` from the peer (when [`Session::answers_cancel`]): cancel
    /// the request it names, answer it, and tell the driver.
    pub(crate) fn on_cancel(&mut self, req: &Request, now: Instant) -> Option<Event> {
        let target: Option<Bytes> = req.args.get_bytes(CANCEL_TAG);
        // Tags are per conversation: only a request on the route the
        // `Cancel` came on is cancelled, and the answer goes back on it.
        let reply_route = self.reply_route(req.route.as_ref());
        let mut found = false;
        let mut started = None;
        if let Some(target) = &target {
            let running = self
                .in_flight
                .iter()
                .find(|(_, a)| a.tag.as_ref() == Some(target) && a.route == reply_route)
                .map(|(&id, _)| id);
            if let Some(id) = running {
                let deciding = matches!(self.state, State::Deciding { id: d, .. } if d == id);
                if !deciding {
                    found = true;
                    started = Some(RequestId(id));
                }
            } else if let Some(i) = self
                .parked
                .iter()
                .position(|r| r.tag.as_ref() == Some(target) && r.route == req.route)
            {
                // Not started yet: it never will be.
                self.parked.remove(i);
                let route = reply_route.as_deref();
                self.write_error(target, route, CANCELLED.as_bytes(), CANCELLED_DESCRIPTION);
                found = true;
            }
        }
        if let Some(id) = started {
            self.fail(id, CANCELLED.as_bytes(), CANCELLED_DESCRIPTION, false, now);
        }
        if let Some(tag) = &req.tag {
            if let Some(out) = self.out() {
                let extras = [
                    (ANSWER.as_bytes(), &tag[..]),
                    (ROUTE.as_bytes(), reply_route.as_deref().unwrap_or_default()),
                ];
                let extras = &extras[..if reply_route.is_some() { 2 } else { 1 }];
                let mut w = FieldWriter::new(out, extras);
                let value: &[u8] = if found { b"True" } else { b"False" };
                let _ = w.put_raw(CANCELLED_KEY.as_bytes(), value);
                let _ = w.finish();
                self.counters.answers_sent += 1;
                self.counters.boxes_sent += 1;
            }
        }
        started.map(Event::Cancel)
    }
}
