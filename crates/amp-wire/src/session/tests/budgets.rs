//! Budgets: in flight, buffered output, held boxes, box size and entries.

use super::*;

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
    h.s.answer(h.ids[0], |_| Ok(()), h.now).unwrap();
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
        h.s.answer(r.id, |w| w.put_raw(b"total", b"12345678"), h.now)
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

/// How many `ReleaseBuffers` events are waiting (the other events are
/// taken too).
fn releases(h: &mut H) -> usize {
    std::iter::from_fn(|| h.s.poll_event(h.now))
        .filter(|e| matches!(e, Event::ReleaseBuffers))
        .count()
}

#[test]
fn buffers_are_kept_while_busy_and_given_back_once_idle() {
    // (what happened last, how long after it, release due?)
    type Setup = fn(&mut H);
    let rows: [(&str, Setup, bool); 4] = [
        ("nothing ever happened", |_| {}, false),
        (
            "a request answered",
            |h| {
                let r = h.requested("Sum", Some("1"));
                h.s.answer(r.id, |w| w.put_raw(b"total", b"3"), h.now)
                    .unwrap();
                h.out();
            },
            true,
        ),
        (
            "a call answered",
            |h| {
                let tag = h.call();
                h.out();
                h.feed(&[("_answer", &tag.to_string()), ("total", "2")]);
                h.events();
                assert!(h.reply(tag).is_ready());
            },
            true,
        ),
        (
            "a call still unanswered (not idle)",
            |h| {
                h.call();
                h.out();
            },
            false,
        ),
    ];
    for (name, setup, due) in rows {
        let mut h = H::new();
        setup(&mut h);
        let start = h.now;
        // Just before the delay: nothing.
        h.advance(KEEP_BUFFERS_FOR - Duration::from_millis(1));
        assert_eq!(releases(&mut h), 0, "{name}: too early");
        let deadline = h.s.poll_timeout();
        h.advance(Duration::from_millis(1));
        assert_eq!(releases(&mut h), usize::from(due), "{name}");
        if due {
            assert_eq!(deadline, Some(start + KEEP_BUFFERS_FOR), "{name}");
            // Once only, until the next traffic.
            assert_eq!(h.s.poll_timeout(), None, "{name}: nothing more is due");
            assert_eq!(
                h.s.in_flight.capacity(),
                0,
                "{name}: the requests' table too"
            );
            h.advance(KEEP_BUFFERS_FOR * 4);
            assert_eq!(releases(&mut h), 0, "{name}: released once");
            assert_eq!(h.phase(), Phase::Open, "{name}");
        }
    }
}

#[test]
fn a_release_does_not_hide_a_deadline_due_at_the_same_time() {
    // The idle timeout and the buffer release pass in one step: the
    // connection still closes for being idle.
    let mut h = H::with(
        Config::builder()
            .idle_timeout(Some(Duration::from_secs(1)))
            .build()
            .unwrap(),
    );
    let r = h.requested("Sum", Some("1"));
    h.s.answer(r.id, |w| w.put_raw(b"total", b"3"), h.now)
        .unwrap();
    h.out();
    h.advance(Duration::from_secs(2));
    assert!(matches!(h.reason(), Disconnect::Timeout(Timeout::Idle)));
}

#[test]
fn a_round_decodes_at_most_its_boxes() {
    // (boxes buffered, round limit) -> requests per round, then nothing.
    let rows: [(usize, usize, &[usize]); 4] = [
        (40, 16, &[16, 16, 8]),
        (16, 16, &[16]),
        (3, 16, &[3]),
        (5, 1, &[1, 1, 1, 1, 1]),
    ];
    for (boxes, limit, rounds) in rows {
        let mut h = H::new();
        let mut input = Vec::new();
        for i in 0..boxes {
            input.extend(wire(&[("_command", "Sum"), ("_ask", &format!("{i:x}"))]));
        }
        h.s.feed(&input, h.now);
        for (n, &expect) in rounds.iter().enumerate() {
            h.s.start_round(limit);
            let got = std::iter::from_fn(|| h.s.poll_event(h.now)).count();
            assert_eq!(got, expect, "{boxes} boxes by {limit}: round {n}");
            let last = n + 1 == rounds.len();
            // More is buffered exactly when the round was cut short.
            assert_eq!(
                h.s.round_cut(),
                !last && expect == limit,
                "{boxes}/{limit} round {n}"
            );
        }
        h.s.start_round(limit);
        assert!(h.s.poll_event(h.now).is_none());
        assert!(!h.s.round_cut());
        assert_eq!(h.s.in_flight(), boxes);
    }
    // Answers do not count: every buffered one reaches its caller in the
    // round, however short, and only requests cut a round.
    let mut h = H::new();
    let tags: Vec<u64> = (0..4).map(|_| h.call()).collect();
    h.out();
    let mut input = Vec::new();
    for t in &tags[..3] {
        input.extend(wire(&[("_answer", &format!("{t:x}")), ("total", "1")]));
    }
    input.extend(wire(&[("_command", "Sum"), ("_ask", "a")]));
    input.extend(wire(&[("_command", "Sum"), ("_ask", "b")]));
    input.extend(wire(&[
        ("_answer", &format!("{:x}", tags[3])),
        ("total", "1"),
    ]));
    h.s.feed(&input, h.now);
    h.s.start_round(1);
    assert!(matches!(h.s.poll_event(h.now), Some(Event::Request(_))));
    assert!(h.s.poll_event(h.now).is_none());
    assert!(h.s.round_cut(), "the second request waits for a round");
    assert_eq!(tags.iter().filter(|t| h.reply(**t).is_ready()).count(), 3);
    h.s.start_round(1);
    assert!(matches!(h.s.poll_event(h.now), Some(Event::Request(_))));
    assert!(h.s.poll_event(h.now).is_none());
    // (Whether what follows a round's last request is an answer is only
    // known once it is decoded: the next round.)
    assert!(h.s.round_cut());
    assert!(!h.reply(tags[3]).is_ready());
    h.s.start_round(1);
    assert!(h.s.poll_event(h.now).is_none());
    assert!(!h.s.round_cut());
    assert!(h.reply(tags[3]).is_ready());
}

#[test]
fn a_box_begun_keeps_its_deadline_while_the_buffer_is_out() {
    // A driver takes the read buffer (holding half a box) to read more into
    // it and looks at the session meanwhile: the box is still begun.
    let mut h = H::with(
        Config::builder()
            .box_timeout(Some(Duration::from_secs(1)))
            .build()
            .unwrap(),
    );
    let half = &wire(&[("_command", "Sum"), ("_ask", "1")])[..10];
    let mut buf = h.s.take_input();
    buf.extend_from_slice(half);
    h.s.handle_input(buf, h.now);
    assert!(h.s.poll_event(h.now).is_none());
    let deadline = h.s.poll_timeout().expect("the box deadline");
    let buf = h.s.take_input();
    for _ in 0..3 {
        assert!(
            h.s.poll_event(h.now).is_none(),
            "nothing to decode while it is out"
        );
    }
    assert_eq!(h.s.poll_timeout(), Some(deadline));
    h.advance(Duration::from_secs(1));
    assert!(matches!(h.reason(), Disconnect::Timeout(Timeout::Box)));
    drop(buf);
}

#[test]
fn buffered_bytes_counts_the_box_arriving_output_unwritten_and_boxes_held() {
    let mut h = H::new();
    assert_eq!(h.s.buffered_bytes(), 0);
    // Part of a box: counted while the session has the read buffer...
    let req = wire(&[("_command", "Sum"), ("_ask", "1")]);
    h.s.feed(&req[..10], h.now);
    assert_eq!(h.s.buffered_bytes(), 10);
    // ...while the driver reads into it, and once it is back.
    let buf = h.s.take_input();
    assert_eq!(h.s.buffered_bytes(), 10);
    h.s.handle_input(buf, h.now);
    assert_eq!(h.s.buffered_bytes(), 10);
    // The rest arrives: the box leaves the buffer as it is decoded.
    h.s.feed(&req[10..], h.now);
    assert_eq!(h.events().len(), 1);
    assert_eq!(h.s.buffered_bytes(), 0);
    // Output: queued, then given out and not yet written, then written.
    h.s.answer(h.last(), |w| w.put_raw(b"total", b"3"), h.now)
        .unwrap();
    let queued = h.s.buffered_bytes();
    assert!(queued > 0);
    let mut out = BytesMut::new();
    let n = h.s.poll_transmit(&mut out, h.now);
    assert_eq!(h.s.buffered_bytes(), queued);
    h.s.transmitted(n, h.now);
    assert_eq!(h.s.buffered_bytes(), 0);
    // Boxes held while our switch awaits its answer.
    h.s.switch(b"Switch", |_| Ok(())).unwrap();
    h.out();
    let r = h.requested("Sum", Some("2"));
    h.s.answer(r.id, |w| w.put_raw(b"total", b"12345678"), h.now)
        .unwrap();
    assert!(h.s.buffered_bytes() > 20, "{}", h.s.buffered_bytes());
}

#[test]
fn idle_since_is_the_last_activity_of_a_connection_with_nothing_going_on() {
    let mut h = H::new();
    let t0 = h.now;
    assert_eq!(h.s.idle_since(), Some(t0));
    // A request being answered: not idle.
    h.now += Duration::from_secs(1);
    let r = h.requested("Sum", Some("1"));
    assert_eq!(h.s.idle_since(), None);
    h.s.answer(r.id, |w| w.put_raw(b"total", b"3"), h.now)
        .unwrap();
    // Answered but not yet written: not idle.
    assert_eq!(h.s.idle_since(), None);
    h.now += Duration::from_secs(1);
    h.out();
    assert_eq!(h.s.idle_since(), Some(t0 + Duration::from_secs(2)));
    // Bytes of a box still arriving are activity.
    h.now += Duration::from_secs(1);
    h.s.feed(b"\x00", h.now);
    assert_eq!(h.s.idle_since(), Some(t0 + Duration::from_secs(3)));
    // Our call waiting for its answer: not idle.
    h.call();
    h.out();
    assert_eq!(h.s.idle_since(), None);
    // Closing: never idle.
    let mut h = H::new();
    h.s.close(h.now);
    assert_eq!(h.s.idle_since(), None);
}

#[test]
fn reading_paused_from_outside_stops_reading_and_the_box_deadline_until_resumed() {
    let mut h = H::new();
    h.s.feed(b"\x00\x08_com", h.now);
    h.s.pause_reading(true);
    assert!(!h.s.wants_read());
    h.advance(Duration::from_secs(60));
    assert_eq!(h.phase(), Phase::Open, "no box deadline while paused");
    h.s.pause_reading(false);
    assert!(h.s.wants_read());
    h.advance(Duration::from_secs(1));
    assert!(matches!(h.reason(), Disconnect::Timeout(Timeout::Box)));
}
