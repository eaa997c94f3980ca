//! Deterministic, table-driven tests of routes (`_route`): each case is a
//! script of what the peer sends, what this side does, and what must come
//! out. No clock, no I/O.

use bytes::BytesMut;
use std::task::{Poll, Waker};
use std::time::Instant;

use super::tests::wire;
use super::*;
use crate::{AmpBox, Config, ProtocolError};

type Pairs = &'static [(&'static str, &'static str)];

#[derive(Debug)]
enum Step {
    /// `bind_route(local, remote)`.
    Bind(&'static str, &'static str),
    /// The peer sends a box.
    Peer(Pairs),
    /// The next event is a request for `name`, tag `tag`, on `route`.
    Req {
        name: &'static str,
        tag: Option<&'static str>,
        route: Option<&'static str>,
    },
    /// No event.
    Quiet,
    /// Conclude the n-th request taken so far (0-based).
    Answer(usize),
    Fail(usize),
    Unhandled(usize),
    /// Call `Sum` on a route (or the default conversation).
    Call(Option<&'static str>),
    Notify(Option<&'static str>),
    /// The n-th call (0-based) has its answer (true), an error (false).
    Replied(usize, bool),
    Pending(usize),
    /// What the session wrote since the last `Out`, box by box.
    Out(&'static [Pairs]),
    /// The connection is closing for this protocol error.
    Closing(fn(&ProtocolError) -> bool),
}
use Step::*;

struct Run {
    s: Session,
    now: Instant,
    requests: Vec<RequestId>,
    calls: Vec<u64>,
}

fn sorted(b: &AmpBox) -> Vec<(String, String)> {
    let mut v: Vec<_> = b
        .iter()
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(k).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

fn expected(p: Pairs) -> Vec<(String, String)> {
    let mut v: Vec<_> = p
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    v.sort();
    v
}

impl Run {
    fn new() -> Run {
        let now = Instant::now();
        let mut s = Session::new(Config::default(), now);
        s.negotiates_start_tls();
        s.negotiates_switch("Switch");
        Run {
            s,
            now,
            requests: Vec::new(),
            calls: Vec::new(),
        }
    }

    fn step(&mut self, case: &str, i: usize, step: &Step) {
        let at = format!("{case}, step {i} ({step:?})");
        match step {
            Bind(l, r) => self.s.bind_route(*l, *r).expect(&at),
            Peer(p) => self.s.feed(&wire(p), self.now),
            Req { name, tag, route } => match self.s.poll_event(self.now) {
                Some(Event::Request(req)) => {
                    assert_eq!(&req.name[..], name.as_bytes(), "{at}");
                    assert_eq!(req.tag.as_deref(), tag.map(str::as_bytes), "{at}");
                    assert_eq!(req.route.as_deref(), route.map(str::as_bytes), "{at}");
                    assert_eq!(req.kind, CommandKind::Plain, "{at}");
                    // Once a route is bound `_route` is taken out; before,
                    // it is an argument like any other.
                    let kept = req.args.get(keys::ROUTE).is_some();
                    assert_eq!(
                        kept,
                        self.s.routes_bound() == 0 && case.starts_with("no route"),
                        "{at}"
                    );
                    self.requests.push(req.id);
                }
                other => panic!("{at}: expected a request, got {other:?}"),
            },
            Quiet => assert!(self.s.poll_event(self.now).is_none(), "{at}"),
            Answer(n) => self
                .s
                .answer(self.requests[*n], |w| w.put_raw(b"total", b"3"), self.now)
                .expect(&at),
            Fail(n) => self
                .s
                .fail(self.requests[*n], b"BAD", "bad", false, self.now),
            Unhandled(n) => self.s.unhandled(self.requests[*n], self.now),
            Call(route) => {
                let args = |w: &mut crate::FieldWriter<'_>| w.put_raw(b"a", b"1");
                let tag = match route {
                    Some(r) => self.s.call_on(r.as_bytes(), b"Sum", args),
                    None => self.s.call(b"Sum", args),
                };
                self.calls.push(tag.expect(&at));
            }
            Notify(route) => {
                let args = |w: &mut crate::FieldWriter<'_>| w.put_raw(b"a", b"1");
                match route {
                    Some(r) => self.s.notify_on(r.as_bytes(), b"Log", args),
                    None => self.s.notify(b"Log", args),
                }
                .expect(&at)
            }
            Replied(n, ok) => {
                while self.s.poll_event(self.now).is_some() {}
                match self.s.poll_reply(self.calls[*n], Waker::noop()) {
                    Poll::Ready(Reply::Answer(b)) if *ok => {
                        assert!(b.get(keys::ROUTE).is_none(), "{at}: {b:?}")
                    }
                    Poll::Ready(Reply::Error { .. }) if !*ok => {}
                    other => panic!("{at}: got {other:?}"),
                }
            }
            Pending(n) => {
                while self.s.poll_event(self.now).is_some() {}
                let r = self.s.poll_reply(self.calls[*n], Waker::noop());
                assert!(r.is_pending(), "{at}: {r:?}");
            }
            Out(boxes) => {
                let mut out = BytesMut::new();
                let n = self.s.poll_transmit(&mut out, self.now);
                self.s.transmitted(n, self.now);
                let got: Vec<_> = crate::decode_all(&out.freeze())
                    .expect(&at)
                    .iter()
                    .map(sorted)
                    .collect();
                let want: Vec<_> = boxes.iter().map(|p| expected(p)).collect();
                assert_eq!(got, want, "{at}");
            }
            Closing(is) => {
                while self.s.poll_event(self.now).is_some() {}
                match self.s.close_reason() {
                    Some(Disconnect::Protocol(e)) if is(e) => {}
                    other => panic!("{at}: closing for {other:?}"),
                }
            }
        }
    }
}

const SUM: Pairs = &[("_ask", "1"), ("_command", "Sum")];
const SUM_A: Pairs = &[("_ask", "1"), ("_command", "Sum"), ("_route", "a")];
const SUM_B: Pairs = &[("_ask", "1"), ("_command", "Sum"), ("_route", "b")];

#[test]
fn routes() {
    let cases: &[(&str, &[Step])] = &[
        (
            "no route bound: _route is an ordinary argument, answers carry none",
            &[
                Peer(SUM_A),
                Req {
                    name: "Sum",
                    tag: Some("1"),
                    route: None,
                },
                Answer(0),
                Out(&[&[("_answer", "1"), ("total", "3")]]),
            ],
        ),
        (
            "a routed request: _route removed, the answer carries the remote name",
            &[
                Bind("a", "a-there"),
                Peer(SUM_A),
                Req {
                    name: "Sum",
                    tag: Some("1"),
                    route: Some("a"),
                },
                Answer(0),
                Out(&[&[("_answer", "1"), ("_route", "a-there"), ("total", "3")]]),
            ],
        ),
        (
            "a box without _route goes to the default conversation",
            &[
                Bind("a", "a"),
                Peer(SUM),
                Req {
                    name: "Sum",
                    tag: Some("1"),
                    route: None,
                },
                Answer(0),
                Out(&[&[("_answer", "1"), ("total", "3")]]),
            ],
        ),
        (
            "one tag in flight on two routes and the default: three requests, three answers",
            &[
                Bind("a", "a"),
                Bind("b", "b"),
                Peer(SUM_A),
                Peer(SUM),
                Peer(SUM_B),
                Req {
                    name: "Sum",
                    tag: Some("1"),
                    route: Some("a"),
                },
                Req {
                    name: "Sum",
                    tag: Some("1"),
                    route: None,
                },
                Req {
                    name: "Sum",
                    tag: Some("1"),
                    route: Some("b"),
                },
                Answer(2),
                Answer(0),
                Answer(1),
                Out(&[
                    &[("_answer", "1"), ("_route", "b"), ("total", "3")],
                    &[("_answer", "1"), ("_route", "a"), ("total", "3")],
                    &[("_answer", "1"), ("total", "3")],
                ]),
            ],
        ),
        (
            "errors and UNHANDLED on a route carry _route",
            &[
                Bind("a", "a"),
                Peer(SUM_A),
                Peer(&[("_ask", "2"), ("_command", "Nope"), ("_route", "a")]),
                Req {
                    name: "Sum",
                    tag: Some("1"),
                    route: Some("a"),
                },
                Req {
                    name: "Nope",
                    tag: Some("2"),
                    route: Some("a"),
                },
                Fail(0),
                Unhandled(1),
                Out(&[
                    &[
                        ("_error", "1"),
                        ("_error_code", "BAD"),
                        ("_error_description", "bad"),
                        ("_route", "a"),
                    ],
                    &[
                        ("_error", "2"),
                        ("_error_code", "UNHANDLED"),
                        ("_error_description", "Unhandled Command: b'Nope'"),
                        ("_route", "a"),
                    ],
                ]),
            ],
        ),
        (
            "our calls on routes carry _route; each is answered on its own route",
            &[
                Bind("a", "a-there"),
                Bind("b", "b"),
                Call(Some("a")),
                Call(None),
                Call(Some("b")),
                Notify(Some("b")),
                Out(&[
                    &[
                        ("_ask", "1"),
                        ("_command", "Sum"),
                        ("_route", "a-there"),
                        ("a", "1"),
                    ],
                    &[("_ask", "2"), ("_command", "Sum"), ("a", "1")],
                    &[
                        ("_ask", "3"),
                        ("_command", "Sum"),
                        ("_route", "b"),
                        ("a", "1"),
                    ],
                    &[("_command", "Log"), ("_route", "b"), ("a", "1")],
                ]),
                Peer(&[("_answer", "3"), ("_route", "b"), ("total", "3")]),
                Peer(&[("_answer", "2"), ("total", "3")]),
                Peer(&[
                    ("_error", "1"),
                    ("_error_code", "X"),
                    ("_error_description", "x"),
                    ("_route", "a"),
                ]),
                Replied(2, true),
                Replied(1, true),
                Replied(0, false),
                Quiet,
            ],
        ),
        (
            "an answer on another route than its call: unknown tag, the connection ends",
            &[
                Bind("a", "a"),
                Bind("b", "b"),
                Call(Some("a")),
                Peer(&[("_answer", "1"), ("_route", "b")]),
                Closing(|e| matches!(e, ProtocolError::UnknownTag { .. })),
            ],
        ),
        (
            "an answer to a routed call on the default conversation: unknown tag",
            &[
                Bind("a", "a"),
                Call(Some("a")),
                Peer(&[("_answer", "1")]),
                Closing(|e| matches!(e, ProtocolError::UnknownTag { .. })),
            ],
        ),
        (
            "an answer to a default call on a route: unknown tag",
            &[
                Bind("a", "a"),
                Call(None),
                Peer(&[("_answer", "1"), ("_route", "a")]),
                Closing(|e| matches!(e, ProtocolError::UnknownTag { .. })),
            ],
        ),
        (
            "a box for a route not bound ends the connection",
            &[
                Bind("a", "a"),
                Peer(&[("_ask", "1"), ("_command", "Sum"), ("_route", "zz")]),
                Closing(|e| matches!(e, ProtocolError::UnknownRoute { route } if route == "zz")),
            ],
        ),
        (
            "the answer to an unknown route's tag is refused before its tag is looked at",
            &[
                Bind("a", "a"),
                Call(Some("a")),
                Peer(&[("_answer", "1"), ("_route", "zz")]),
                Closing(|e| matches!(e, ProtocolError::UnknownRoute { .. })),
            ],
        ),
        (
            "StartTLS and switch commands on a route are plain requests",
            &[
                Bind("a", "a"),
                Peer(&[("_ask", "1"), ("_command", "StartTLS"), ("_route", "a")]),
                Peer(&[("_ask", "2"), ("_command", "Switch"), ("_route", "a")]),
                Req {
                    name: "StartTLS",
                    tag: Some("1"),
                    route: Some("a"),
                },
                Req {
                    name: "Switch",
                    tag: Some("2"),
                    route: Some("a"),
                },
                Unhandled(0),
                Answer(1),
                Out(&[
                    &[
                        ("_error", "1"),
                        ("_error_code", "UNHANDLED"),
                        ("_error_description", "Unhandled Command: b'StartTLS'"),
                        ("_route", "a"),
                    ],
                    &[("_answer", "2"), ("_route", "a"), ("total", "3")],
                ]),
            ],
        ),
        (
            "two calls on one route take their own tags and wait",
            &[
                Bind("a", "a"),
                Call(Some("a")),
                Call(Some("a")),
                Out(&[
                    &[
                        ("_ask", "1"),
                        ("_command", "Sum"),
                        ("_route", "a"),
                        ("a", "1"),
                    ],
                    &[
                        ("_ask", "2"),
                        ("_command", "Sum"),
                        ("_route", "a"),
                        ("a", "1"),
                    ],
                ]),
                Pending(0),
            ],
        ),
    ];
    for (case, steps) in cases {
        let mut run = Run::new();
        for (i, step) in steps.iter().enumerate() {
            run.step(case, i, step);
        }
    }
}

#[test]
fn late_answer_after_abandon_on_route() {
    let mut run = Run::new();
    run.step("late", 0, &Bind("a", "a"));
    run.step("late", 1, &Call(Some("a")));
    run.s.abandon(run.calls[0]);
    run.step("late", 2, &Peer(&[("_answer", "1"), ("_route", "a")]));
    run.step("late", 3, &Quiet);
    assert!(run.s.close_reason().is_none());
}

#[test]
fn draining_refusal_on_a_route_carries_route() {
    let mut run = Run::new();
    run.step("drain", 0, &Bind("a", "b"));
    run.step("drain", 1, &Call(None)); // keeps the session draining
    run.step(
        "drain",
        2,
        &Out(&[&[("_ask", "1"), ("_command", "Sum"), ("a", "1")]]),
    );
    run.s.shutdown(run.now);
    run.step("drain", 3, &Peer(SUM_A));
    run.step("drain", 4, &Quiet);
    run.step(
        "drain",
        5,
        &Out(&[&[
            ("_error", "1"),
            ("_error_code", "SHUTTING_DOWN"),
            ("_error_description", "the server is shutting down"),
            ("_route", "b"),
        ]]),
    );
}

#[test]
fn bind_rules() {
    let now = Instant::now();
    let mut s = Session::new(Config::default(), now);
    assert_eq!(s.routes_bound(), 0);
    s.bind_route("a", "x").unwrap();
    s.bind_route("a", "x").unwrap(); // the same pair again
    assert!(matches!(
        s.bind_route("a", "y"),
        Err(RouteError::Bound { .. })
    ));
    assert_eq!(s.route_remote(b"a").map(|b| &b[..]), Some(&b"x"[..]));
    for i in 1..MAX_ROUTES {
        s.bind_route(format!("r{i}"), "r").unwrap();
    }
    assert_eq!(s.routes_bound(), MAX_ROUTES);
    assert_eq!(s.bind_route("one-more", "r"), Err(RouteError::TooMany));
    assert_eq!(
        s.bind_route(vec![b'x'; 70_000], "r"),
        Err(RouteError::TooLong)
    );
    // A call on a route not bound is refused, nothing written.
    assert!(s.call_on(b"nope", b"Sum", |_| Ok(())).is_err());
    assert!(!s.has_output());
}

#[test]
fn connection_end_fails_routed_calls() {
    let mut run = Run::new();
    run.step("end", 0, &Bind("a", "a"));
    run.step("end", 1, &Call(Some("a")));
    run.step("end", 2, &Call(None));
    run.s.handle_eof(run.now);
    for n in 0..2 {
        match run.s.poll_reply(run.calls[n], Waker::noop()) {
            Poll::Ready(Reply::Lost(Disconnect::PeerClosed)) => {}
            other => panic!("call {n}: {other:?}"),
        }
    }
}
