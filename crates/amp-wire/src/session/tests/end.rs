//! The end of AMP as events (`session/end.rs`): which events each way of
//! ending tells, in which order, each once; and closing once idle.

use super::*;

/// The events of the end, by name, in the order told.
fn ends(h: &mut H) -> Vec<&'static str> {
    h.all_events()
        .iter()
        .filter_map(|e| match e {
            Event::Over => Some("over"),
            Event::DiscardOutput => Some("discard"),
            Event::CloseTransport => Some("close transport"),
            Event::Closed(_) => Some("closed"),
            Event::HandOver { .. } => Some("hand over"),
            _ => None,
        })
        .collect()
}

struct Case {
    name: &'static str,
    from: fn() -> H,
    /// How it ends.
    end: fn(&mut H),
    /// The events then, before the driver does anything.
    told: &'static [&'static str],
    /// What the driver does next (shut down, hand over, write).
    then: fn(&mut H),
    /// The events after that.
    after: &'static [&'static str],
    reason: fn(&Disconnect) -> bool,
}

#[test]
fn each_way_of_ending_tells_its_events_once_in_order() {
    let cases = [
        Case {
            name: "close with nothing queued",
            from: open,
            end: |h| h.s.close(h.now),
            told: &["over", "close transport"],
            then: |h| h.s.finish(),
            after: &["closed"],
            reason: |r| matches!(r, Disconnect::LocalClose),
        },
        Case {
            name: "close with a call queued: written first",
            from: || {
                let mut h = H::new();
                h.call();
                h
            },
            end: |h| h.s.close(h.now),
            told: &["over"],
            then: |h| {
                h.out();
                assert_eq!(ends(h), ["close transport"]);
                h.s.finish();
            },
            after: &["closed"],
            reason: |r| matches!(r, Disconnect::LocalClose),
        },
        Case {
            name: "abort: nothing more is written",
            from: || {
                let mut h = H::new();
                h.call();
                h
            },
            end: |h| h.s.abort(Disconnect::DriverDropped),
            told: &["over", "discard", "close transport"],
            then: |h| h.s.finish(),
            after: &["closed"],
            reason: |r| matches!(r, Disconnect::DriverDropped),
        },
        Case {
            name: "the closing deadline ends it without the driver",
            from: || {
                let mut h = H::new();
                h.call();
                h
            },
            end: |h| h.s.close(h.now),
            told: &["over"],
            then: |h| h.advance(Duration::from_secs(31)),
            after: &["closed"],
            reason: |r| matches!(r, Disconnect::LocalClose),
        },
        Case {
            name: "the peer's end of stream",
            from: open,
            end: |h| h.s.handle_eof(h.now),
            told: &["over", "close transport"],
            then: |h| h.s.finish(),
            after: &["closed"],
            reason: |r| matches!(r, Disconnect::PeerClosed),
        },
        Case {
            name: "a switch: handed over, then closed once the driver did it",
            from: switching,
            end: |h| h.feed(&[("_answer", "1")]),
            told: &["over", "hand over"],
            then: |h| {
                h.s.handed_over();
            },
            after: &["closed"],
            reason: |r| matches!(r, Disconnect::Switched),
        },
    ];
    for c in cases {
        let mut h = (c.from)();
        h.events();
        (c.end)(&mut h);
        assert_eq!(ends(&mut h), c.told, "{}", c.name);
        assert!(ends(&mut h).is_empty(), "{}: told twice", c.name);
        (c.then)(&mut h);
        let mut closed = None;
        let after: Vec<&str> = h
            .all_events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Closed(r) => {
                    closed = Some(r);
                    Some("closed")
                }
                Event::Over => Some("over"),
                Event::DiscardOutput => Some("discard"),
                Event::CloseTransport => Some("close transport"),
                _ => None,
            })
            .collect();
        assert_eq!(after, c.after, "{}", c.name);
        let reason = closed.expect("closed");
        assert!((c.reason)(&reason), "{}: {reason:?}", c.name);
        assert_eq!(
            Some(&reason).map(|r| r.to_string()),
            h.s.close_reason().map(|r| r.to_string())
        );
        assert!(ends(&mut h).is_empty(), "{}: nothing after closed", c.name);
    }
}

/// A close that writes what is queued, with no write deadline, then the
/// transport fails: it must not wait for output that can never go out.
#[test]
fn an_abort_during_a_flushing_close_stops_the_flush() {
    let mut h = H::with(Config::builder().write_timeout(None).build().unwrap());
    h.call();
    let mut out = BytesMut::new();
    h.s.poll_transmit(&mut out, h.now); // given to the driver, not written
    h.s.close(h.now);
    assert_eq!(ends(&mut h), ["over"]);
    assert!(!h.s.ready_to_close());
    h.s.abort(Disconnect::Io(std::sync::Arc::new(std::io::Error::other(
        "reset",
    ))));
    assert_eq!(ends(&mut h), ["discard", "close transport"]);
    assert!(
        matches!(h.reason(), Disconnect::LocalClose),
        "the first reason stays"
    );
    h.s.finish();
    assert_eq!(ends(&mut h), ["closed"]);
}

#[test]
fn close_when_idle_waits_for_what_goes_on_and_can_be_taken_back() {
    // Idle already: closes at the next look.
    let mut h = H::new();
    h.s.close_when_idle(true);
    assert_eq!(ends(&mut h), ["over", "close transport"]);
    assert!(matches!(h.reason(), Disconnect::LocalClose));

    // A call unanswered, then a request being answered: not idle.
    let mut h = H::new();
    let tag = h.call();
    h.out();
    h.s.close_when_idle(true);
    assert!(ends(&mut h).is_empty());
    let req = h.requested("Sum", Some("a"));
    h.feed(&[("_answer", &format!("{tag:x}"))]);
    assert!(ends(&mut h).is_empty(), "a request is being answered");
    h.s.answer(req.id, |_| Ok(()), h.now).unwrap();
    assert!(ends(&mut h).is_empty(), "its answer is not written yet");
    h.out();
    assert_eq!(ends(&mut h), ["over", "close transport"]);

    // Taken back (a handle came back): it stays open.
    let mut h = H::new();
    h.s.close_when_idle(true);
    h.s.close_when_idle(false);
    assert!(ends(&mut h).is_empty());
    assert_eq!(h.phase(), Phase::Open);
}
