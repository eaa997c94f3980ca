//! Deterministic, table-driven tests of the session: phase × event →
//! phase + actions. No clock (time is an `Instant` we move by hand), no
//! I/O, no scheduler.

use bytes::{BufMut, Bytes, BytesMut};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use super::*;
use crate::{AmpBox, Config, ConfigBuilder, ProtocolError};

mod budgets;
mod call_deadlines;
mod cancel;
mod deadlines;
mod end;
mod keepalive;
mod rules;
mod splits;
mod stats;
mod table;
mod transitions;

/// A session with a hand-driven clock, and the peer's view of its output.
struct H {
    s: Session,
    now: Instant,
    /// Every request the session let through, in order.
    ids: Vec<RequestId>,
}

pub(super) fn wire(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut out = BytesMut::new();
    for (k, v) in pairs {
        out.put_u16(k.len() as u16);
        out.put_slice(k.as_bytes());
        out.put_u16(v.len() as u16);
        out.put_slice(v.as_bytes());
    }
    out.put_u16(0);
    out.to_vec()
}

impl H {
    fn with(config: Config) -> H {
        let now = Instant::now();
        let mut s = Session::new(config, now);
        s.negotiates_switch("Switch");
        s.negotiates_start_tls();
        H {
            s,
            now,
            ids: Vec::new(),
        }
    }

    fn new() -> H {
        H::with(Config::default())
    }

    fn phase(&self) -> Phase {
        self.s.phase()
    }

    fn feed(&mut self, pairs: &[(&str, &str)]) {
        let bytes = wire(pairs);
        self.s.feed(&bytes, self.now);
    }

    /// Every event now but the memory hint [`Event::ReleaseBuffers`]
    /// (the tests of buffers look for it with `poll_event`) and the
    /// events of the end (`end.rs` tests them with [`H::all_events`]).
    fn events(&mut self) -> Vec<Event> {
        let mut evs = self.all_events();
        evs.retain(|e| {
            !matches!(
                e,
                Event::ReleaseBuffers
                    | Event::Over
                    | Event::DiscardOutput
                    | Event::CloseTransport
                    | Event::Closed(_)
            )
        });
        evs
    }

    /// Every event now.
    fn all_events(&mut self) -> Vec<Event> {
        let evs: Vec<Event> = std::iter::from_fn(|| self.s.poll_event(self.now)).collect();
        for e in &evs {
            if let Event::Request(r) = e {
                self.ids.push(r.id);
            }
        }
        evs
    }

    /// The last request let through.
    fn last(&self) -> RequestId {
        *self.ids.last().expect("a request")
    }

    /// Feed a request and take it.
    fn requested(&mut self, name: &str, tag: Option<&str>) -> Request {
        let mut pairs = vec![("_command", name)];
        if let Some(t) = tag {
            pairs.push(("_ask", t));
        }
        self.feed(&pairs);
        let mut evs = self.events();
        assert_eq!(evs.len(), 1, "{evs:?}");
        match evs.pop() {
            Some(Event::Request(r)) => r,
            other => panic!("expected a request, got {other:?}"),
        }
    }

    /// What the session wrote (and consider it written).
    fn out(&mut self) -> Vec<AmpBox> {
        let mut out = BytesMut::new();
        let n = self.s.poll_transmit(&mut out, self.now);
        self.s.transmitted(n, self.now);
        crate::decode_all(&out.freeze()).expect("the session writes whole boxes")
    }

    fn call(&mut self) -> u64 {
        self.s.call(b"Sum", |w| w.put_raw(b"a", b"1")).unwrap()
    }

    fn reply(&mut self, tag: u64) -> Poll<Reply> {
        self.s.poll_reply(tag, Waker::noop())
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        self.s.handle_timeout(self.now);
    }

    fn reason(&self) -> Disconnect {
        self.s.close_reason().cloned().expect("closed")
    }
}

fn get<'a>(b: &'a AmpBox, k: &str) -> &'a [u8] {
    b.get(k).unwrap_or_else(|| panic!("no {k} in {b:?}"))
}

// --- the phases, reached the way a connection reaches them -------------

fn open() -> H {
    H::new()
}

fn switching() -> H {
    let mut h = H::new();
    h.s.switch(b"Switch", |_| Ok(())).unwrap();
    h.out();
    h
}

fn tls_requested() -> H {
    let mut h = H::new();
    h.s.start_tls().unwrap();
    h.out();
    h
}

fn deciding_switch() -> H {
    let mut h = H::new();
    h.requested("Switch", Some("s1"));
    h
}

fn deciding_tls() -> H {
    let mut h = H::new();
    h.requested("StartTLS", Some("t1"));
    h
}

/// Our StartTLS answered while our request is still unwritten.
fn tls_flushing() -> H {
    let mut h = H::new();
    h.s.start_tls().unwrap();
    h.feed(&[("_answer", "1")]);
    assert!(h.events().is_empty());
    h
}

fn tls_handshake_requester() -> H {
    let mut h = tls_requested();
    h.feed(&[("_answer", "1")]);
    let evs = h.events();
    assert!(
        matches!(evs.as_slice(), [Event::StartTls(Role::Requester)]),
        "{evs:?}"
    );
    h
}

fn tls_handshake_responder() -> H {
    let mut h = deciding_tls();
    assert!(h.s.accept_start_tls(h.last()));
    h.out();
    let evs = h.events();
    assert!(
        matches!(evs.as_slice(), [Event::StartTls(Role::Responder)]),
        "{evs:?}"
    );
    h
}

/// Our switch answered while another box of ours is still unwritten.
fn handing_over() -> H {
    let mut h = H::new();
    h.call();
    h.s.switch(b"Switch", |_| Ok(())).unwrap();
    h.feed(&[("_answer", "2")]);
    assert!(h.events().is_empty());
    h
}

fn draining() -> H {
    let mut h = H::new();
    let _req = h.requested("Sum", Some("a"));
    h.s.shutdown(h.now);
    h
}

fn closing() -> H {
    let mut h = H::new();
    h.call();
    h.s.close(h.now);
    h
}

fn closed() -> H {
    let mut h = closing();
    h.out();
    h.s.finish();
    h
}

/// A setup that does nothing.
fn none(_: &mut H) {}
