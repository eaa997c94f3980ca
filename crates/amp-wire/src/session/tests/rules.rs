//! Twisted's rules: dispatch order, what closes, how requests conclude.

use super::*;

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
    type Conclude = fn(&mut Session, RequestId, Instant);
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
            conclude: |s, id, now| s.answer(id, |_| Ok(()), now).unwrap(),
            tagged_error: None,
            tagged_closes: false,
            untagged_closes: false,
        },
        Row {
            name: "declared error",
            conclude: |s, id, now| s.fail(id, b"BAD", "bad", false, now),
            tagged_error: Some("BAD"),
            tagged_closes: false,
            untagged_closes: true,
        },
        Row {
            name: "fatal error",
            conclude: |s, id, now| s.fail(id, b"BAD", "bad", true, now),
            tagged_error: Some("BAD"),
            tagged_closes: true,
            untagged_closes: true,
        },
        Row {
            name: "unknown error",
            conclude: |s, id, now| s.fail_unknown(id, "boom".into(), now),
            tagged_error: Some("UNKNOWN"),
            tagged_closes: true,
            untagged_closes: true,
        },
        Row {
            name: "unhandled",
            conclude: |s, id, now| s.unhandled(id, now),
            tagged_error: Some("UNHANDLED"),
            tagged_closes: false,
            untagged_closes: true,
        },
        Row {
            name: "an answer that cannot be encoded",
            conclude: |s, id, now| {
                let _ = s.answer(id, |w| w.put_raw(b"", b"x"), now);
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
        (row.conclude)(&mut h.s, r.id, h.now);
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
        (row.conclude)(&mut h.s, r.id, h.now);
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
            (row.conclude)(&mut h.s, r.id, h.now);
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
