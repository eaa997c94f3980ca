//! The counters of [`Stats`]: a table of scenarios, each checked against
//! the exact snapshot it must leave, and the bound on the error-code table.

use super::*;

/// Feed a box, returning its size on the wire.
fn fed(h: &mut H, pairs: &[(&str, &str)]) -> u64 {
    let bytes = wire(pairs);
    h.s.feed(&bytes, h.now);
    bytes.len() as u64
}

/// Transmit everything the session has written; returns how many bytes.
fn flush(h: &mut H) -> u64 {
    let mut out = BytesMut::new();
    let n = h.s.poll_transmit(&mut out, h.now);
    h.s.transmitted(n, h.now);
    n as u64
}

/// The counters a scenario must leave (errors as `(code, count)` lists).
#[derive(Debug, Default, PartialEq)]
struct Counts {
    calls_in_flight: usize,
    requests_in_flight: usize,
    requests_waiting: usize,
    boxes_received: u64,
    boxes_sent: u64,
    requests_received: u64,
    requests_sent: u64,
    answers_received: u64,
    answers_sent: u64,
    errors_received: Vec<(&'static str, u64)>,
    errors_sent: Vec<(&'static str, u64)>,
}

fn counts(s: &Stats) -> Counts {
    fn codes(e: &ErrorCounts) -> Vec<(&'static str, u64)> {
        assert_eq!(e.other(), 0);
        e.iter()
            .map(|(c, n)| {
                let c: &'static str = String::from_utf8(c.to_vec()).unwrap().leak();
                (c, n)
            })
            .collect()
    }
    Counts {
        calls_in_flight: s.calls_in_flight,
        requests_in_flight: s.requests_in_flight,
        requests_waiting: s.requests_waiting,
        boxes_received: s.boxes_received,
        boxes_sent: s.boxes_sent,
        requests_received: s.requests_received,
        requests_sent: s.requests_sent,
        answers_received: s.answers_received,
        answers_sent: s.answers_sent,
        errors_received: codes(&s.errors_received),
        errors_sent: codes(&s.errors_sent),
    }
}

struct Case {
    name: &'static str,
    /// Runs the scenario; returns the bytes fed and transmitted.
    run: fn(&mut H) -> (u64, u64),
    expect: Counts,
    /// What `end` must be.
    end: fn(Option<&Disconnect>) -> bool,
}

fn open(end: Option<&Disconnect>) -> bool {
    end.is_none()
}

#[test]
fn counters() {
    let cases = [
        Case {
            name: "a call answered",
            run: |h| {
                h.call();
                let sent = flush(h);
                (fed(h, &[("_answer", "1"), ("total", "3")]), sent)
            },
            expect: Counts {
                requests_sent: 1,
                boxes_sent: 1,
                boxes_received: 1,
                answers_received: 1,
                ..Counts::default()
            },
            end: open,
        },
        Case {
            name: "a call waiting, and a notification",
            run: |h| {
                h.call();
                h.s.notify(b"Log", |_| Ok(())).unwrap();
                (0, flush(h))
            },
            expect: Counts {
                calls_in_flight: 1,
                requests_sent: 2,
                boxes_sent: 2,
                ..Counts::default()
            },
            end: open,
        },
        Case {
            name: "a call failed with a code",
            run: |h| {
                h.call();
                let sent = flush(h);
                let e = [("_error", "1"), ("_error_code", "OOPS")];
                (fed(h, &e), sent)
            },
            expect: Counts {
                requests_sent: 1,
                boxes_sent: 1,
                boxes_received: 1,
                errors_received: vec![("OOPS", 1)],
                ..Counts::default()
            },
            end: open,
        },
        Case {
            name: "the answer to a call given up is still counted",
            run: |h| {
                let t = h.call();
                h.s.abandon(t);
                let sent = flush(h);
                (fed(h, &[("_answer", "1")]), sent)
            },
            expect: Counts {
                requests_sent: 1,
                boxes_sent: 1,
                boxes_received: 1,
                answers_received: 1,
                ..Counts::default()
            },
            end: open,
        },
        Case {
            name: "a request being answered",
            run: |h| (fed(h, &[("_command", "Sum"), ("_ask", "a")]), 0),
            expect: Counts {
                requests_in_flight: 1,
                boxes_received: 1,
                requests_received: 1,
                ..Counts::default()
            },
            end: open,
        },
        Case {
            name: "requests answered, failed, unhandled, and one wanting no answer",
            run: |h| {
                let mut n = 0;
                for tag in ["a", "b", "c"] {
                    n += fed(h, &[("_command", "Sum"), ("_ask", tag)]);
                }
                n += fed(h, &[("_command", "Log")]);
                let evs = h.events();
                assert_eq!(evs.len(), 4);
                let ids = h.ids.clone();
                h.s.answer(ids[0], |w| w.put_raw(b"total", b"3"), h.now)
                    .unwrap();
                h.s.fail(ids[1], b"BAD", "bad", false, h.now);
                h.s.unhandled(ids[2], h.now);
                h.s.answer(ids[3], |_| Ok(()), h.now).unwrap();
                (n, flush(h))
            },
            expect: Counts {
                boxes_received: 4,
                requests_received: 4,
                boxes_sent: 3,
                answers_sent: 1,
                errors_sent: vec![("BAD", 1), ("UNHANDLED", 1)],
                ..Counts::default()
            },
            end: open,
        },
        Case {
            name: "an undeclared failure: UNKNOWN, and the end",
            run: |h| {
                let n = fed(h, &[("_command", "Sum"), ("_ask", "a")]);
                h.events();
                h.s.fail_unknown(h.last(), "boom".into(), h.now);
                (n, flush(h))
            },
            expect: Counts {
                boxes_received: 1,
                requests_received: 1,
                boxes_sent: 1,
                errors_sent: vec![("UNKNOWN", 1)],
                ..Counts::default()
            },
            end: |e| matches!(e, Some(Disconnect::UnknownError { .. })),
        },
        Case {
            name: "requests past max_in_flight wait",
            run: |h| {
                let mut n = 0;
                for tag in ["a", "b", "c", "d", "e"] {
                    n += fed(h, &[("_command", "Sum"), ("_ask", tag)]);
                }
                assert_eq!(h.events().len(), 4);
                (n, 0)
            },
            expect: Counts {
                requests_in_flight: 4,
                requests_waiting: 1,
                boxes_received: 5,
                requests_received: 5,
                ..Counts::default()
            },
            end: open,
        },
        Case {
            name: "a refusal written by the session while draining",
            run: |h| {
                h.call();
                h.s.shutdown(h.now);
                let n = fed(h, &[("_command", "Sum"), ("_ask", "a")]);
                assert!(h.events().is_empty());
                (n, flush(h))
            },
            expect: Counts {
                calls_in_flight: 1,
                boxes_received: 1,
                requests_received: 1,
                requests_sent: 1,
                boxes_sent: 2,
                errors_sent: vec![("SHUTTING_DOWN", 1)],
                ..Counts::default()
            },
            end: open,
        },
        Case {
            name: "a switch agreed: its empty answer is sent",
            run: |h| {
                let n = fed(h, &[("_command", "Switch"), ("_ask", "s")]);
                h.events();
                assert!(h.s.accept_switch(h.last()));
                (n, flush(h))
            },
            expect: Counts {
                boxes_received: 1,
                requests_received: 1,
                boxes_sent: 1,
                answers_sent: 1,
                ..Counts::default()
            },
            end: |e| matches!(e, Some(Disconnect::Switched)),
        },
        Case {
            name: "half a box is not received; the peer closing ends it",
            run: |h| {
                h.s.feed(&wire(&[("_command", "Sum")])[..5], h.now);
                assert!(h.events().is_empty());
                h.s.handle_eof(h.now);
                (0, 0)
            },
            expect: Counts::default(),
            end: |e| matches!(e, Some(Disconnect::Protocol(_))),
        },
        Case {
            name: "the peer closing: calls lost, the end recorded",
            run: |h| {
                h.call();
                let sent = flush(h);
                h.s.handle_eof(h.now);
                (0, sent)
            },
            expect: Counts {
                requests_sent: 1,
                boxes_sent: 1,
                ..Counts::default()
            },
            end: |e| matches!(e, Some(Disconnect::PeerClosed)),
        },
        Case {
            name: "a box that is none of request, answer, error",
            run: |h| {
                let n = fed(h, &[("x", "1")]);
                h.events();
                (n, 0)
            },
            expect: Counts {
                boxes_received: 1,
                ..Counts::default()
            },
            end: |e| matches!(e, Some(Disconnect::Protocol(_))),
        },
    ];
    for case in cases {
        let config = Config::builder().max_in_flight(4).build().unwrap();
        let mut h = H::with(config);
        let (fed, sent) = (case.run)(&mut h);
        h.events();
        let stats = h.s.stats();
        assert_eq!(counts(&stats), case.expect, "{}", case.name);
        assert_eq!(stats.bytes_received, fed, "{}: bytes received", case.name);
        assert_eq!(stats.bytes_sent, sent, "{}: bytes sent", case.name);
        assert!(
            (case.end)(stats.end.as_ref()),
            "{}: {:?}",
            case.name,
            stats.end
        );
    }
}

#[test]
fn bytes_sent_are_the_bytes_the_transport_took() {
    let mut h = H::new();
    h.call();
    let mut out = BytesMut::new();
    let n = h.s.poll_transmit(&mut out, h.now);
    assert_eq!(
        n,
        wire(&[("_ask", "1"), ("_command", "Sum"), ("a", "1")]).len()
    );
    assert_eq!(h.s.stats().bytes_sent, 0, "given out, not yet written");
    h.s.transmitted(5, h.now);
    assert_eq!(h.s.stats().bytes_sent, 5);
    // A driver reporting more than it was given is not believed.
    h.s.transmitted(1000, h.now);
    assert_eq!(h.s.stats().bytes_sent, n as u64);
}

#[test]
fn ten_thousand_distinct_error_codes_take_bounded_memory() {
    let mut h = H::new();
    let calls = 10_000;
    for _ in 0..calls {
        h.call();
    }
    flush(&mut h);
    for i in 1..=calls {
        let tag = format!("{i:x}");
        let code = format!("CODE_{i}");
        h.feed(&[("_error", &tag), ("_error_code", &code)]);
        h.events();
        let e = &h.s.stats().errors_received;
        assert!(e.distinct() <= MAX_ERROR_CODES);
    }
    // A long code is never kept by name, even with room in the table.
    let mut h2 = H::new();
    h2.call();
    let long = "X".repeat(MAX_ERROR_CODE_LEN + 1);
    h2.feed(&[("_error", "1"), ("_error_code", &long)]);
    h2.events();
    let e2 = h2.s.stats().errors_received;
    assert_eq!((e2.distinct(), e2.other(), e2.get(&long)), (0, 1, 0));

    let stats = h.s.stats();
    assert!(stats.end.is_none(), "{:?}", stats.end);
    let e = &stats.errors_received;
    assert_eq!(e.distinct(), MAX_ERROR_CODES);
    assert_eq!(e.total(), calls as u64);
    assert_eq!(e.other(), (calls - MAX_ERROR_CODES) as u64);
    assert_eq!(e.get("CODE_1"), 1);
    assert_eq!(e.get(format!("CODE_{MAX_ERROR_CODES}")), 1);
    assert_eq!(e.get(format!("CODE_{}", MAX_ERROR_CODES + 1)), 0);
    // Codes repeat into their own count, not a new one.
    let mut h3 = H::new();
    for tag in ["1", "2", "3"] {
        h3.call();
        h3.feed(&[("_error", tag), ("_error_code", "SAME")]);
    }
    h3.events();
    let e3 = h3.s.stats().errors_received;
    assert_eq!(e3.iter().collect::<Vec<_>>(), vec![(&b"SAME"[..], 3)]);
}
