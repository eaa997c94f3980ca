//! Deterministic, table-driven tests of the session: phase × event →
//! phase + actions. No clock (time is an `Instant` we move by hand), no
//! I/O, no scheduler.

use bytes::{BufMut, Bytes, BytesMut};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use super::*;
use crate::{Config, ConfigBuilder, ProtocolError};

mod stats;

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

    /// Every event now.
    fn events(&mut self) -> Vec<Event> {
        let evs: Vec<Event> = std::iter::from_fn(|| self.s.poll_event()).collect();
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
    h.s.shutdown();
    h
}

fn closing() -> H {
    let mut h = H::new();
    h.call();
    h.s.close();
    h
}

fn closed() -> H {
    let mut h = closing();
    h.out();
    h.s.finish();
    h
}

// --- the transition table ----------------------------------------------

struct Case {
    name: &'static str,
    from: fn() -> H,
    on: fn(&mut H),
    to: Phase,
    then: fn(&mut H),
}

fn none(_: &mut H) {}

#[test]
fn transitions() {
    use Phase::*;
    let cases = [
        // Open
        Case {
            name: "open: a call is written",
            from: open,
            on: |h| {
                h.call();
            },
            to: Open,
            then: |h| assert_eq!(get(&h.out()[0], "_ask"), b"1"),
        },
        Case {
            name: "open: switch locks",
            from: open,
            on: |h| {
                h.s.switch(b"Switch", |_| Ok(())).unwrap();
            },
            to: Switching,
            then: |h| {
                assert_eq!(get(&h.out()[0], "_command"), b"Switch");
                assert!(matches!(
                    h.s.call(b"X", |_| Ok(())),
                    Err(SendError::Switched)
                ));
            },
        },
        Case {
            name: "open: start_tls",
            from: open,
            on: |h| {
                h.s.start_tls().unwrap();
            },
            to: TlsRequested,
            then: |h| assert_eq!(get(&h.out()[0], "_command"), b"StartTLS"),
        },
        Case {
            name: "open: the peer's switch request is decided, reading stops",
            from: open,
            on: |h| {
                let mut b = wire(&[("_command", "Switch"), ("_ask", "9")]);
                b.extend_from_slice(&wire(&[("_command", "Sum"), ("_ask", "10")]));
                h.s.feed(&b, h.now);
                assert_eq!(h.events().len(), 1);
            },
            to: Deciding(RequestKind::Switch),
            then: |h| assert!(!h.s.wants_read()),
        },
        Case {
            name: "open: the peer's StartTLS is decided",
            from: open,
            on: |h| {
                h.requested("StartTLS", Some("1"));
            },
            to: Deciding(RequestKind::StartTls),
            then: none,
        },
        Case {
            name: "open: shutdown with nothing in flight closes",
            from: open,
            on: |h| {
                h.s.shutdown();
                h.events();
            },
            to: Closing,
            then: |h| assert!(matches!(h.reason(), Disconnect::Shutdown)),
        },
        // Deciding
        Case {
            name: "deciding: accept the switch",
            from: deciding_switch,
            on: |h| assert!(h.s.accept_switch(h.last())),
            to: HandingOver(Role::Responder),
            then: |h| {
                let out = h.out();
                assert_eq!(out.len(), 1);
                assert_eq!(get(&out[0], "_answer"), b"s1");
                assert_eq!(out[0].len(), 1, "a switch answer carries only _answer");
            },
        },
        Case {
            name: "deciding: refuse the switch, reading resumes",
            from: deciding_switch,
            on: |h| h.s.fail(h.last(), b"NO", "no", false),
            to: Open,
            then: |h| assert!(h.s.wants_read()),
        },
        Case {
            name: "deciding: accept StartTLS",
            from: deciding_tls,
            on: |h| assert!(h.s.accept_start_tls(h.last())),
            to: TlsFlushing(Role::Responder),
            then: |h| {
                assert!(h.s.tls_agreed());
                assert_eq!(get(&h.out()[0], "_answer"), b"t1");
            },
        },
        Case {
            name: "deciding: our own switch is refused meanwhile",
            from: deciding_switch,
            on: |h| {
                assert!(matches!(
                    h.s.switch(b"Switch", |_| Ok(())),
                    Err(SendError::Switched)
                ))
            },
            to: Deciding(RequestKind::Switch),
            then: |h| {
                h.call(); // plain calls go out
                assert_eq!(h.out().len(), 1);
            },
        },
        Case {
            name: "deciding: a request reusing the decided one's tag does not end it",
            from: open,
            on: |h| {
                let mut b = wire(&[("_command", "Ping"), ("_ask", "3")]);
                b.extend_from_slice(&wire(&[("_command", "Switch"), ("_ask", "3")]));
                b.extend_from_slice(b"not AMP");
                h.s.feed(&b, h.now);
                assert_eq!(h.events().len(), 2);
                let (ping, switch) = (h.ids[0], h.ids[1]);
                h.s.answer(ping, |_| Ok(())).unwrap();
                assert!(h.events().is_empty(), "nothing after the switch is decoded");
                assert!(!h.s.accept_switch(ping), "not the switch");
                h.ids.push(switch);
            },
            to: Deciding(RequestKind::Switch),
            then: |h| assert!(h.s.accept_switch(h.last())),
        },
        // Switching
        Case {
            name: "switching: the answer hands over",
            from: switching,
            on: |h| {
                h.feed(&[("_answer", "1")]);
                h.events();
            },
            to: Switched,
            then: none,
        },
        Case {
            name: "switching: an error unlocks and releases held answers",
            from: switching,
            on: |h| {
                let r = h.requested("Sum", Some("p1"));
                h.s.answer(r.id, |w| w.put_raw(b"total", b"3")).unwrap();
                assert!(h.out().is_empty(), "held while locked");
                h.feed(&[
                    ("_error", "1"),
                    ("_error_code", "NO"),
                    ("_error_description", "d"),
                ]);
                h.events();
            },
            to: Open,
            then: |h| {
                assert_eq!(get(&h.out()[0], "_answer"), b"p1");
                assert!(matches!(h.reply(1), Poll::Ready(Reply::Error { .. })));
            },
        },
        Case {
            name: "switching: the peer's StartTLS is refused at once",
            from: switching,
            on: |h| {
                h.feed(&[("_command", "StartTLS"), ("_ask", "x")]);
                assert!(h.events().is_empty());
            },
            to: Switching,
            then: |h| {
                // Written at once (not held): a peer negotiating at the same
                // time must hear it.
                let out = h.out();
                assert_eq!(get(&out[0], "_error_code"), b"TLS_ERROR");
            },
        },
        Case {
            name: "switching: start_tls is refused",
            from: switching,
            on: |h| assert!(matches!(h.s.start_tls(), Err(SendError::Switched))),
            to: Switching,
            then: none,
        },
        // TlsRequested
        Case {
            name: "tls requested: the answer starts the handshake",
            from: tls_requested,
            on: |h| {
                h.feed(&[("_answer", "1")]);
                assert!(matches!(
                    h.events().as_slice(),
                    [Event::StartTls(Role::Requester)]
                ));
            },
            to: TlsHandshake(Role::Requester),
            then: none,
        },
        Case {
            name: "tls requested: an error goes back to clear AMP",
            from: tls_requested,
            on: |h| {
                h.call();
                h.feed(&[("_error", "1"), ("_error_code", "TLS_ERROR")]);
                h.events();
            },
            to: Open,
            then: |h| {
                assert!(!h.s.tls_agreed());
                assert_eq!(get(&h.out()[0], "_ask"), b"2", "the held call goes out");
            },
        },
        Case {
            name: "tls requested: a second start_tls is OnlyOneTls",
            from: tls_requested,
            on: |h| assert!(matches!(h.s.start_tls(), Err(SendError::OnlyOneTls))),
            to: TlsRequested,
            then: none,
        },
        Case {
            name: "tls requested: calls are held",
            from: tls_requested,
            on: |h| {
                h.call();
            },
            to: TlsRequested,
            then: |h| assert!(h.out().is_empty()),
        },
        // TlsFlushing
        Case {
            name: "tls flushing: written output starts the handshake",
            from: tls_flushing,
            on: |h| {
                h.out();
                assert!(matches!(
                    h.events().as_slice(),
                    [Event::StartTls(Role::Requester)]
                ));
            },
            to: TlsHandshake(Role::Requester),
            then: none,
        },
        Case {
            name: "tls flushing: plaintext after the answer is injection",
            from: tls_flushing,
            on: |h| {
                h.s.feed(b"plaintext", h.now);
                h.out();
                h.events();
            },
            to: Closing,
            then: |h| {
                assert!(matches!(
                    h.reason(),
                    Disconnect::PlaintextBeforeTls { buffered: 9 }
                ))
            },
        },
        // TlsHandshake
        Case {
            name: "tls handshake: established releases held boxes",
            from: tls_handshake_requester,
            on: |h| {
                h.call();
                assert!(h.out().is_empty());
                h.s.tls_established();
            },
            to: Open,
            then: |h| {
                assert_eq!(h.out().len(), 1);
                assert!(matches!(h.reply(1), Poll::Ready(Reply::Answer(_))));
            },
        },
        Case {
            name: "tls handshake: failure ends the connection",
            from: tls_handshake_responder,
            on: |h| {
                h.s.tls_failed(std::sync::Arc::new(std::io::Error::other("bad")))
            },
            to: Closing,
            then: |h| assert!(matches!(h.reason(), Disconnect::Tls(_))),
        },
        Case {
            name: "tls handshake: it times out",
            from: tls_handshake_requester,
            on: |h| h.advance(Duration::from_secs(11)),
            to: Closing,
            then: |h| {
                assert!(matches!(
                    h.reason(),
                    Disconnect::Timeout(Timeout::TlsHandshake)
                ));
                assert!(h.s.discard_output());
            },
        },
        // HandingOver
        Case {
            name: "handing over: written output hands the transport over",
            from: handing_over,
            on: |h| {
                h.s.feed(b"new protocol", h.now);
                h.out();
                match h.events().as_slice() {
                    [Event::HandOver {
                        role: Role::Requester,
                        buffered,
                    }] => assert_eq!(&buffered[..], b"new protocol"),
                    other => panic!("{other:?}"),
                }
                assert!(h.s.handed_over());
            },
            to: Switched,
            then: |h| {
                assert!(matches!(h.reply(2), Poll::Ready(Reply::Answer(_))));
                assert!(matches!(
                    h.reply(1),
                    Poll::Ready(Reply::Lost(Disconnect::Switched))
                ));
            },
        },
        Case {
            name: "handing over: calls are refused",
            from: handing_over,
            on: |h| {
                assert!(matches!(
                    h.s.call(b"X", |_| Ok(())),
                    Err(SendError::Switched)
                ))
            },
            to: HandingOver(Role::Requester),
            then: none,
        },
        // Draining
        Case {
            name: "draining: new requests are refused",
            from: draining,
            on: |h| {
                h.feed(&[("_command", "Sum"), ("_ask", "b")]);
                assert!(h.events().is_empty());
            },
            to: Draining,
            then: |h| {
                let out = h.out();
                assert_eq!(get(&out[0], "_error_code"), b"SHUTTING_DOWN");
            },
        },
        Case {
            name: "draining: the last answer closes",
            from: draining,
            on: |h| {
                h.s.answer(h.last(), |_| Ok(())).unwrap();
                h.events();
            },
            to: Closing,
            then: |h| {
                assert_eq!(get(&h.out()[0], "_answer"), b"a");
                assert!(h.s.ready_to_close());
            },
        },
        Case {
            name: "draining: no switch",
            from: draining,
            on: |h| {
                assert!(matches!(
                    h.s.switch(b"Switch", |_| Ok(())),
                    Err(SendError::Closed(_))
                ))
            },
            to: Draining,
            then: none,
        },
        // Closing, Closed
        Case {
            name: "closing: flushes, then finish closes",
            from: closing,
            on: |h| {
                assert!(!h.s.ready_to_close());
                assert_eq!(h.out().len(), 1);
                assert!(h.s.ready_to_close());
                h.s.finish();
            },
            to: Closed,
            then: |h| assert!(matches!(h.reason(), Disconnect::LocalClose)),
        },
        Case {
            name: "closing: the deadline ends a flush that never completes",
            from: closing,
            on: |h| h.advance(Duration::from_secs(31)),
            to: Closed,
            then: none,
        },
        Case {
            name: "closing: calls are refused with the reason",
            from: closing,
            on: |h| {
                assert!(matches!(
                    h.s.call(b"X", |_| Ok(())),
                    Err(SendError::Closed(Disconnect::LocalClose))
                ))
            },
            to: Closing,
            then: |h| {
                assert!(matches!(
                    h.reply(1),
                    Poll::Ready(Reply::Lost(Disconnect::LocalClose))
                ))
            },
        },
        Case {
            name: "closed: input is ignored",
            from: closed,
            on: |h| {
                h.s.feed(b"\xff\xff", h.now);
                assert!(h.events().is_empty());
            },
            to: Closed,
            then: |h| assert!(!h.s.wants_read()),
        },
    ];
    for case in cases {
        let mut h = (case.from)();
        (case.on)(&mut h);
        assert_eq!(h.phase(), case.to, "{}", case.name);
        (case.then)(&mut h);
    }
}

// --- Twisted's rules ----------------------------------------------------

#[test]
fn dispatch_and_close_rules() {
    struct Rule {
        name: &'static str,
        input: Vec<u8>,
        closes: fn(&Disconnect) -> bool,
    }
    let rules = [
        Rule {
            name: "a box with no routing key",
            input: wire(&[("x", "1")]),
            closes: |d| matches!(d, Disconnect::Protocol(ProtocolError::NotRouted { .. })),
        },
        Rule {
            name: "an answer for a tag we never used",
            input: wire(&[("_answer", "7")]),
            closes: |d| matches!(d, Disconnect::Protocol(ProtocolError::UnknownTag { .. })),
        },
        Rule {
            name: "a non-canonical tag",
            input: wire(&[("_answer", "01")]),
            closes: |d| matches!(d, Disconnect::Protocol(ProtocolError::UnknownTag { .. })),
        },
        Rule {
            name: "an error without a code",
            input: wire(&[("_error", "1")]),
            closes: |d| {
                matches!(
                    d,
                    Disconnect::Protocol(ProtocolError::MissingErrorCode { .. })
                )
            },
        },
        Rule {
            name: "a key longer than 255",
            input: vec![0x01, 0x00],
            closes: |d| {
                matches!(
                    d,
                    Disconnect::Protocol(ProtocolError::KeyTooLong { len: 256 })
                )
            },
        },
    ];
    for rule in rules {
        let mut h = H::new();
        h.s.feed(&rule.input, h.now);
        assert!(h.events().is_empty(), "{}", rule.name);
        assert_eq!(h.phase(), Phase::Closing, "{}", rule.name);
        assert!(
            (rule.closes)(&h.reason()),
            "{}: {:?}",
            rule.name,
            h.reason()
        );
    }
}

#[test]
fn conclusions_of_a_request() {
    type Conclude = fn(&mut Session, RequestId);
    struct Row {
        name: &'static str,
        conclude: Conclude,
        tagged_error: Option<&'static str>,
        tagged_closes: bool,
        untagged_closes: bool,
    }
    let rows = [
        Row {
            name: "answer",
            conclude: |s, id| s.answer(id, |_| Ok(())).unwrap(),
            tagged_error: None,
            tagged_closes: false,
            untagged_closes: false,
        },
        Row {
            name: "declared error",
            conclude: |s, id| s.fail(id, b"BAD", "bad", false),
            tagged_error: Some("BAD"),
            tagged_closes: false,
            untagged_closes: true,
        },
        Row {
            name: "fatal error",
            conclude: |s, id| s.fail(id, b"BAD", "bad", true),
            tagged_error: Some("BAD"),
            tagged_closes: true,
            untagged_closes: true,
        },
        Row {
            name: "unknown error",
            conclude: |s, id| s.fail_unknown(id, "boom".into()),
            tagged_error: Some("UNKNOWN"),
            tagged_closes: true,
            untagged_closes: true,
        },
        Row {
            name: "unhandled",
            conclude: |s, id| s.unhandled(id),
            tagged_error: Some("UNHANDLED"),
            tagged_closes: false,
            untagged_closes: true,
        },
        Row {
            name: "an answer that cannot be encoded",
            conclude: |s, id| {
                let _ = s.answer(id, |w| w.put_raw(b"", b"x"));
            },
            tagged_error: Some("UNKNOWN"),
            tagged_closes: true,
            untagged_closes: false,
        },
    ];
    for row in rows {
        // Asked: the box written, and whether the connection closes.
        let mut h = H::new();
        let r = h.requested("Sum", Some("5"));
        (row.conclude)(&mut h.s, r.id);
        let out = h.out();
        match row.tagged_error {
            None => assert_eq!(get(&out[0], "_answer"), b"5", "{}", row.name),
            Some(code) => {
                assert_eq!(get(&out[0], "_error"), b"5", "{}", row.name);
                assert_eq!(get(&out[0], "_error_code"), code.as_bytes(), "{}", row.name);
            }
        }
        assert_eq!(h.s.is_over(), row.tagged_closes, "{} (asked)", row.name);
        assert_eq!(h.s.in_flight(), 0, "{}", row.name);
        // Not asked: nothing written; failures close (Twisted).
        let mut h = H::new();
        let r = h.requested("Sum", None);
        (row.conclude)(&mut h.s, r.id);
        assert!(h.out().is_empty(), "{} (no answer)", row.name);
        assert_eq!(
            h.s.is_over(),
            row.untagged_closes,
            "{} (no answer)",
            row.name
        );
        // Marked close_after_reply (Twisted's QuitBox): the same reply,
        // then the connection closes, with its own reason if it had one.
        for tag in [Some("5"), None] {
            let mut h = H::new();
            let r = h.requested("Sum", tag);
            assert!(h.s.close_after_reply(r.id), "{}", row.name);
            (row.conclude)(&mut h.s, r.id);
            let out = h.out();
            assert_eq!(out.len(), usize::from(tag.is_some()), "{}", row.name);
            assert!(h.s.is_over(), "{} (quit, tag {tag:?})", row.name);
            let closes_anyway = if tag.is_some() {
                row.tagged_closes
            } else {
                row.untagged_closes
            };
            let quit = matches!(h.reason(), Disconnect::Quit { ref command } if command == "Sum");
            assert_eq!(
                quit,
                !closes_anyway,
                "{} (quit, tag {tag:?}): {:?}",
                row.name,
                h.reason()
            );
            assert!(!h.s.close_after_reply(r.id), "concluded already");
        }
    }
}

#[test]
fn answers_come_back_in_any_order_and_an_abandoned_call_is_dropped_quietly() {
    let mut h = H::new();
    let (a, b, c) = (h.call(), h.call(), h.call());
    h.s.abandon(b);
    h.feed(&[("_answer", "3"), ("total", "c")]);
    h.feed(&[("_answer", "2")]);
    h.feed(&[("_answer", "1"), ("total", "a")]);
    assert!(h.events().is_empty());
    assert_eq!(
        h.phase(),
        Phase::Open,
        "a late answer to an abandoned call is not an error"
    );
    for (tag, total) in [(c, "c"), (a, "a")] {
        match h.reply(tag) {
            Poll::Ready(Reply::Answer(b)) => assert_eq!(get(&b, "total"), total.as_bytes()),
            other => panic!("{other:?}"),
        }
    }
    // A second answer for a tag already answered is a protocol error.
    h.feed(&[("_answer", "1")]);
    h.events();
    assert!(matches!(
        h.reason(),
        Disconnect::Protocol(ProtocolError::UnknownTag { .. })
    ));
}

// --- budgets ------------------------------------------------------------

#[test]
fn calls_given_up_by_the_thousand_cost_bounded_memory_and_their_answers_stay_quiet() {
    // A peer that never answers while our callers keep giving up (dropped
    // futures, timeouts): what is remembered of them stays bounded, and
    // every late answer, however old, is still dropped quietly.
    let mut h = H::with(Config::builder().max_in_flight(8).build().unwrap());
    let tags: Vec<u64> = (0..1_000)
        .map(|_| {
            let t = h.call();
            h.s.abandon(t);
            t
        })
        .collect();
    h.out();
    assert_eq!(h.s.calls.unanswered(), 0);
    assert!(h.s.calls.late_remembered() <= 8);
    for t in [tags[0], tags[500]] {
        h.feed(&[("_answer", &format!("{t:x}"))]);
    }
    h.feed(&[
        ("_error", &format!("{:x}", tags[999])),
        ("_error_code", "X"),
    ]);
    assert!(h.events().is_empty());
    assert_eq!(h.phase(), Phase::Open);
    // A tag we never used is still the peer's protocol error.
    h.feed(&[("_answer", &format!("{:x}", tags[999] + 1))]);
    h.events();
    assert!(matches!(
        h.reason(),
        Disconnect::Protocol(ProtocolError::UnknownTag { .. })
    ));
}

#[test]
fn requests_past_max_in_flight_wait_unread_but_answers_still_arrive() {
    let mut h = H::with(Config::builder().max_in_flight(2).build().unwrap());
    let ours = h.call();
    let mut input = Vec::new();
    for t in ["a", "b", "c", "d"] {
        input.extend_from_slice(&wire(&[("_command", "Sum"), ("_ask", t)]));
    }
    input.extend_from_slice(&wire(&[("_answer", "1")]));
    h.s.feed(&input, h.now);
    assert_eq!(h.events().len(), 2);
    assert_eq!(h.s.in_flight(), 2);
    assert!(!h.s.wants_read(), "reading stops while requests wait");
    assert!(matches!(h.reply(ours), Poll::Ready(Reply::Answer(_))));
    h.s.answer(h.ids[0], |_| Ok(())).unwrap();
    let next = h.events();
    assert!(matches!(next.as_slice(), [Event::Request(r)] if r.tag.as_deref() == Some(&b"c"[..])));
}

#[test]
fn output_past_the_high_water_mark_stops_reading_and_holds_callers() {
    let mut h = H::with(Config::builder().write_high_water(64).build().unwrap());
    while h.s.writable() {
        h.call();
    }
    assert!(!h.s.wants_read());
    assert!(h.s.poll_writable(Waker::noop()).is_pending());
    h.out();
    assert!(h.s.writable());
    assert!(h.s.wants_read());
}

#[test]
fn boxes_held_past_max_held_end_the_connection() {
    let mut h = H::with(Config::builder().max_held(100).build().unwrap());
    h.s.switch(b"Switch", |_| Ok(())).unwrap();
    for i in 0..10 {
        let tag = format!("p{i}");
        let r = h.requested("Sum", Some(&tag));
        h.s.answer(r.id, |w| w.put_raw(b"total", b"12345678"))
            .unwrap();
        if h.s.is_over() {
            break;
        }
    }
    assert!(matches!(h.reason(), Disconnect::HeldTooMuch { held } if held > 100));
    assert!(matches!(
        h.reply(1),
        Poll::Ready(Reply::Lost(Disconnect::HeldTooMuch { .. }))
    ));
}

#[test]
fn a_box_over_the_size_limit_is_cut_after_at_most_the_limit() {
    let mut h = H::with(Config::builder().max_box_size(1024).build().unwrap());
    // A value announced larger than what is left of the limit: refused from
    // its length prefix, before its bytes come.
    let mut input = wire(&[("_command", "Sum"), ("_ask", "1")]);
    input.truncate(input.len() - 2);
    input.extend_from_slice(b"\x00\x01k\x04\x00");
    h.s.feed(&input, h.now);
    h.events();
    assert!(matches!(
        h.reason(),
        Disconnect::Protocol(ProtocolError::BoxTooLarge { limit: 1024 })
    ));
    // Many small entries: cut when the running size passes the limit.
    let mut h = H::with(Config::builder().max_box_size(1024).build().unwrap());
    let mut fed = 0;
    while !h.s.is_over() {
        let entry = b"\x00\x01k\x00\x01v";
        h.s.feed(entry, h.now);
        fed += entry.len();
        h.events();
    }
    assert!(fed <= 1024 + 6, "{fed} bytes were buffered");
}

#[test]
fn a_box_with_too_many_entries_is_cut() {
    let mut h = H::with(Config::builder().max_box_entries(3).build().unwrap());
    h.s.feed(&wire(&[("a", ""), ("b", ""), ("c", ""), ("d", "")]), h.now);
    h.events();
    assert!(matches!(
        h.reason(),
        Disconnect::Protocol(ProtocolError::TooManyEntries { limit: 3 })
    ));
}

// --- deadlines ----------------------------------------------------------

#[test]
fn deadlines() {
    struct Deadline {
        name: &'static str,
        config: ConfigBuilder,
        accepted: bool,
        setup: fn(&mut H),
        after: Duration,
        expect: Option<Timeout>,
    }
    let secs = Duration::from_secs;
    let rows = [
        Deadline {
            name: "an accepted connection that never sends a box",
            config: Config::builder(),
            accepted: true,
            setup: none,
            after: secs(31),
            expect: Some(Timeout::FirstBox),
        },
        Deadline {
            name: "a connection we opened may stay quiet",
            config: Config::builder(),
            accepted: false,
            setup: none,
            after: secs(3600),
            expect: None,
        },
        Deadline {
            name: "a box that stalls half way",
            config: Config::builder(),
            accepted: false,
            setup: |h| h.s.feed(b"\x00\x08_command\x00", h.now),
            after: secs(31),
            expect: Some(Timeout::Box),
        },
        Deadline {
            name: "output the peer never reads",
            config: Config::builder(),
            accepted: false,
            setup: |h| {
                h.call();
                let mut out = BytesMut::new();
                h.s.poll_transmit(&mut out, h.now);
            },
            after: secs(31),
            expect: Some(Timeout::Write),
        },
        Deadline {
            name: "idle, when asked for",
            config: Config::builder().idle_timeout(Some(secs(60))),
            accepted: false,
            setup: none,
            after: secs(61),
            expect: Some(Timeout::Idle),
        },
        Deadline {
            name: "not idle while a call waits",
            config: Config::builder().idle_timeout(Some(secs(60))),
            accepted: false,
            setup: |h| {
                h.call();
                h.out();
            },
            after: secs(600),
            expect: None,
        },
    ];
    for row in rows {
        let config = row.config.build().unwrap();
        let now = Instant::now();
        let s = if row.accepted {
            Session::new_accepted(config, now)
        } else {
            Session::new(config, now)
        };
        let mut h = H {
            s,
            now,
            ids: Vec::new(),
        };
        (row.setup)(&mut h);
        // Just before: nothing; just after: the expected timeout.
        h.advance(row.after - Duration::from_millis(1) - secs(1).min(row.after / 2));
        assert!(!h.s.is_over(), "{}: closed early", row.name);
        h.advance(secs(1).min(row.after / 2) + Duration::from_millis(1));
        match row.expect {
            Some(t) => assert!(
                matches!(h.s.close_reason(), Some(Disconnect::Timeout(got)) if *got == t),
                "{}: {:?}",
                row.name,
                h.s.close_reason()
            ),
            None => assert!(!h.s.is_over(), "{}: {:?}", row.name, h.s.close_reason()),
        }
    }
}

#[test]
fn keepalive_pings_a_silent_peer_and_closes_a_dead_one() {
    let secs = Duration::from_secs;
    let config = || {
        Config::builder()
            .keepalive_interval(Some(secs(10)))
            .keepalive_timeout(Some(secs(5)))
            .keepalive_command("Ping")
            .build()
            .unwrap()
    };
    // The peer's reply to the ping, if any, as a function of its tag.
    type ReplyTo = Option<fn(&str) -> Vec<(String, String)>>;
    let rows: [(&str, ReplyTo, bool); 3] = [
        (
            "an answer",
            Some(|t| vec![("_answer".into(), t.into())]),
            false,
        ),
        (
            "UNHANDLED (a peer without the command)",
            Some(|t| {
                vec![
                    ("_error".into(), t.into()),
                    ("_error_code".into(), "UNHANDLED".into()),
                ]
            }),
            false,
        ),
        ("no reply", None, true),
    ];
    for (name, reply, dies) in rows {
        let mut h = H::with(config());
        // Quiet for less than the interval: nothing is sent.
        h.advance(secs(9));
        assert!(h.out().is_empty(), "{name}");
        // The interval passes: a ping with `_ask`, no arguments.
        h.advance(secs(1));
        let out = h.out();
        assert_eq!(out.len(), 1, "{name}");
        assert_eq!(get(&out[0], "_command"), b"Ping");
        let tag = String::from_utf8(get(&out[0], "_ask").to_vec()).unwrap();
        assert_eq!(out[0].len(), 2, "{name}: no arguments");
        if let Some(reply) = reply {
            let pairs = reply(&tag);
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (&k[..], &v[..])).collect();
            h.advance(secs(4));
            h.feed(&pairs);
            assert!(h.events().is_empty(), "{name}: the reply is the session's");
            h.advance(secs(2)); // past the reply deadline
        } else {
            h.advance(secs(4));
            assert_eq!(h.phase(), Phase::Open, "{name}: the reply may still come");
            h.advance(secs(1));
        }
        if dies {
            assert!(
                matches!(h.reason(), Disconnect::Timeout(Timeout::Keepalive)),
                "{name}"
            );
            assert!(h.out().is_empty(), "{name}: nothing more is written");
        } else {
            assert_eq!(h.phase(), Phase::Open, "{name}");
            // The next ping comes an interval after the reply was received.
            h.advance(secs(7));
            assert!(h.out().is_empty(), "{name}");
            h.advance(secs(1));
            assert_eq!(h.out().len(), 1, "{name}: the next ping");
        }
    }
    // Any byte received restarts the interval; no ping during a switch.
    let mut h = H::with(config());
    h.advance(secs(8));
    h.feed(&[("_command", "Sum"), ("a", "1")]);
    h.events();
    h.advance(secs(8));
    assert!(h.out().is_empty(), "input restarted the interval");
    h.s.switch(b"Switch", |_| Ok(())).unwrap();
    h.out();
    h.advance(secs(60));
    assert!(h.out().is_empty(), "no ping while our boxes are held");
    assert_eq!(h.phase(), Phase::Switching);
}

#[test]
fn a_caller_giving_up_sends_cancel_with_ask_and_replies_stay_quiet() {
    let mut h = H::new();
    let t = h.call();
    h.out();
    h.s.cancel(t);
    let out = h.out();
    assert_eq!(out.len(), 1);
    assert_eq!(get(&out[0], "_command"), b"Cancel");
    assert_eq!(get(&out[0], "tag"), format!("{t:x}").as_bytes());
    let own = String::from_utf8(get(&out[0], "_ask").to_vec()).unwrap();
    // A plain Twisted peer: UNHANDLED for the Cancel, then the late answer.
    h.feed(&[("_error", &own), ("_error_code", "UNHANDLED")]);
    h.feed(&[("_answer", &format!("{t:x}"))]);
    assert!(h.events().is_empty());
    assert_eq!(h.phase(), Phase::Open);
    // Cancelling again, or a call already answered, sends nothing.
    h.s.cancel(t);
    let u = h.call();
    h.out();
    h.feed(&[("_answer", &format!("{u:x}"))]);
    h.events();
    h.s.cancel(u);
    assert!(h.out().is_empty());
}

#[test]
fn cancel_from_the_peer() {
    struct Row {
        name: &'static str,
        answers_cancel: bool,
        /// Set up requests; returns the tag to cancel.
        setup: fn(&mut H) -> &'static str,
        /// The event the Cancel produces: the request it cancels.
        cancels_last: bool,
        /// What `Cancel` is answered (`None`: it is an ordinary request).
        answer: Option<&'static str>,
    }
    let rows = [
        Row {
            name: "a request being answered",
            answers_cancel: true,
            setup: |h| {
                h.requested("Sum", Some("7"));
                "7"
            },
            cancels_last: true,
            answer: Some("True"),
        },
        Row {
            name: "nothing with that tag",
            answers_cancel: true,
            setup: |_| "9",
            cancels_last: false,
            answer: Some("False"),
        },
        Row {
            name: "a switch being decided is not cancelled",
            answers_cancel: true,
            setup: |h| {
                h.requested("Switch", Some("3"));
                "3"
            },
            cancels_last: false,
            answer: None, // not read: decoding waits for the decision
        },
        Row {
            name: "a session that does not answer Cancel",
            answers_cancel: false,
            setup: |h| {
                h.requested("Sum", Some("7"));
                "7"
            },
            cancels_last: false,
            answer: None,
        },
    ];
    for row in rows {
        let mut h = H::new();
        if row.answers_cancel {
            h.s.answers_cancel();
        }
        let target = (row.setup)(&mut h);
        let before = h.ids.clone();
        h.feed(&[("_command", "Cancel"), ("_ask", "c1"), ("tag", target)]);
        let evs = h.events();
        if row.cancels_last {
            assert!(
                matches!(evs.as_slice(), [Event::Cancel(id)] if Some(id) == before.last()),
                "{}: {evs:?}",
                row.name
            );
            assert_eq!(h.s.in_flight(), 0, "{}", row.name);
        }
        let out = h.out();
        match row.answer {
            Some(answer) => {
                if row.cancels_last {
                    assert_eq!(get(&out[0], "_error"), target.as_bytes(), "{}", row.name);
                    assert_eq!(get(&out[0], "_error_code"), b"CANCELLED", "{}", row.name);
                }
                let last = out.last().unwrap();
                assert_eq!(get(last, "_answer"), b"c1", "{}", row.name);
                assert_eq!(get(last, "cancelled"), answer.as_bytes(), "{}", row.name);
            }
            None => {
                assert!(out.is_empty(), "{}: {out:?}", row.name);
                let passed_on = evs
                    .iter()
                    .any(|e| matches!(e, Event::Request(r) if r.name == "Cancel"));
                assert_eq!(passed_on, !row.answers_cancel, "{}: {evs:?}", row.name);
            }
        }
    }
    // A request still waiting to start (past max_in_flight) is cancelled
    // before it ever starts.
    let mut h = H::with(Config::builder().max_in_flight(1).build().unwrap());
    h.s.answers_cancel();
    h.requested("Sum", Some("1"));
    h.feed(&[("_command", "Sum"), ("_ask", "2")]);
    assert!(h.events().is_empty(), "parked");
    h.feed(&[("_command", "Cancel"), ("_ask", "c"), ("tag", "2")]);
    assert!(h.events().is_empty());
    let out = h.out();
    assert_eq!(get(&out[0], "_error_code"), b"CANCELLED");
    assert_eq!(get(&out[1], "cancelled"), b"True");
    let first = h.last();
    h.s.answer(first, |_| Ok(())).unwrap();
    assert!(h.events().is_empty(), "the cancelled request never starts");
}

#[test]
fn the_first_box_clears_the_first_box_deadline() {
    let now = Instant::now();
    let mut h = H {
        s: Session::new_accepted(Config::default(), now),
        now,
        ids: Vec::new(),
    };
    h.feed(&[("_command", "Ping")]);
    let _ = h.events();
    h.advance(Duration::from_secs(3600));
    assert!(!matches!(
        h.s.close_reason(),
        Some(Disconnect::Timeout(Timeout::FirstBox))
    ));
}

// --- input split anywhere -------------------------------------------------

#[test]
fn every_split_of_a_conversation_gives_the_same_result() {
    let mut input = wire(&[("_answer", "1"), ("total", "3")]);
    input.extend_from_slice(&wire(&[("_command", "Sum"), ("_ask", "x"), ("a", "1")]));
    input.extend_from_slice(&wire(&[("_command", "Switch"), ("_ask", "y")]));
    input.extend_from_slice(b"after the switch");
    for cut in 0..=input.len() {
        let mut h = H::new();
        let tag = h.call();
        let mut events = Vec::new();
        for part in [&input[..cut], &input[cut..]] {
            h.s.feed(part, h.now);
            events.extend(h.events());
        }
        assert_eq!(h.ids.len(), 2, "cut {cut}");
        let names: Vec<_> = events
            .iter()
            .map(|e| match e {
                Event::Request(r) => r.name.clone(),
                other => panic!("cut {cut}: {other:?}"),
            })
            .collect();
        assert_eq!(
            names,
            [Bytes::from("Sum"), Bytes::from("Switch")],
            "cut {cut}"
        );
        assert!(
            matches!(h.reply(tag), Poll::Ready(Reply::Answer(_))),
            "cut {cut}"
        );
        h.s.answer(h.ids[0], |_| Ok(())).unwrap();
        assert!(h.s.accept_switch(h.ids[1]));
        h.out();
        match h.events().as_slice() {
            [Event::HandOver { buffered, .. }] => {
                assert_eq!(&buffered[..], b"after the switch", "cut {cut}")
            }
            other => panic!("cut {cut}: {other:?}"),
        }
    }
}

/// Two sessions, each the other's peer.
fn pipe(from: &mut H, to: &mut H) {
    let mut out = BytesMut::new();
    let n = from.s.poll_transmit(&mut out, from.now);
    from.s.transmitted(n, from.now);
    to.s.feed(&out, to.now);
}

#[test]
fn simultaneous_negotiations_are_refused_not_deadlocked() {
    type Start = fn(&mut Session) -> u64;
    let starts: [(&str, Start); 2] = [
        ("switch", |s| s.switch(b"Switch", |_| Ok(())).unwrap()),
        ("StartTLS", |s| s.start_tls().unwrap()),
    ];
    for (what, start) in starts {
        let (mut a, mut b) = (H::new(), H::new());
        let (ta, tb) = (start(&mut a.s), start(&mut b.s));
        // Each reads the other's request and refuses it at once; then each
        // reads the refusal of its own.
        for _ in 0..3 {
            pipe(&mut a, &mut b);
            pipe(&mut b, &mut a);
            a.events();
            b.events();
        }
        for (h, tag) in [(&mut a, ta), (&mut b, tb)] {
            assert_eq!(h.phase(), Phase::Open, "{what}");
            assert!(
                matches!(h.reply(tag), Poll::Ready(Reply::Error { .. })),
                "{what}"
            );
        }
    }
}
