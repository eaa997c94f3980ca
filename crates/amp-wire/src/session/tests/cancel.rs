//! Remote cancellation, both sides.

use super::*;

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
    h.s.answer(first, |_| Ok(()), h.now).unwrap();
    assert!(h.events().is_empty(), "the cancelled request never starts");
}
