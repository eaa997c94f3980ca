//! Deadlines of our calls (`session/call_deadlines.rs`): kept with the
//! calls, one timer for all.

use super::*;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn a_call_past_its_deadline_times_out_and_its_late_answer_is_quiet() {
    let mut h = H::new();
    let t0 = h.now;
    let tag = h.call();
    h.out();
    assert!(h.s.set_call_deadline(tag, t0 + secs(5), false));
    assert_eq!(h.s.poll_timeout(), Some(t0 + secs(5)));
    h.advance(secs(4));
    assert!(h.reply(tag).is_pending(), "not yet");
    h.advance(secs(1));
    assert!(matches!(h.reply(tag), Poll::Ready(Reply::TimedOut)));
    assert_eq!(h.s.calls.next_deadline(), None, "no other call is due");
    assert!(h.out().is_empty(), "no Cancel unless asked");
    h.feed(&[("_answer", &format!("{tag:x}")), ("total", "3")]);
    assert!(h.events().is_empty());
    assert_eq!(h.phase(), Phase::Open, "the late answer is dropped quietly");
}

#[test]
fn a_call_that_times_out_may_send_cancel() {
    let mut h = H::new();
    let tag = h.call();
    h.out();
    h.s.set_call_deadline(tag, h.now + secs(1), true);
    h.advance(secs(1));
    assert!(matches!(h.reply(tag), Poll::Ready(Reply::TimedOut)));
    let out = h.out();
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(get(&out[0], "_command"), b"Cancel");
    assert_eq!(get(&out[0], "tag"), format!("{tag:x}").as_bytes());
}

#[test]
fn answered_calls_take_their_deadlines_with_them() {
    let mut h = H::new();
    let tag = h.call();
    h.s.set_call_deadline(tag, h.now + secs(5), true);
    h.out();
    h.feed(&[("_answer", &format!("{tag:x}"))]);
    h.events();
    assert_eq!(h.s.calls.next_deadline(), None);
    assert!(matches!(h.reply(tag), Poll::Ready(Reply::Answer(_))));
    h.advance(secs(10));
    assert!(h.out().is_empty(), "no Cancel for an answered call");
}

#[test]
fn the_earliest_deadline_goes_first_whatever_the_order_given() {
    let mut h = H::new();
    let (a, b, c) = (h.call(), h.call(), h.call());
    h.s.set_call_deadline(a, h.now + secs(30), false);
    h.s.set_call_deadline(b, h.now + secs(10), false);
    h.s.set_call_deadline(c, h.now + secs(20), false);
    assert_eq!(h.s.poll_timeout(), Some(h.now + secs(10)));
    h.advance(secs(20));
    assert!(h.reply(a).is_pending());
    assert!(matches!(h.reply(b), Poll::Ready(Reply::TimedOut)));
    assert!(matches!(h.reply(c), Poll::Ready(Reply::TimedOut)));
    assert_eq!(h.s.poll_timeout(), Some(h.now + secs(10)));
}

#[test]
fn the_queue_stays_bounded_when_calls_are_answered_out_of_order() {
    // The first call never answered keeps the front: the other entries,
    // answered, are swept, not kept until the front's deadline.
    let mut h = H::new();
    let first = h.call();
    h.s.set_call_deadline(first, h.now + secs(60), false);
    for _ in 0..10_000 {
        let tag = h.call();
        h.s.set_call_deadline(tag, h.now + secs(60), false);
        h.out();
        h.feed(&[("_answer", &format!("{tag:x}"))]);
        h.events();
        assert!(matches!(h.reply(tag), Poll::Ready(Reply::Answer(_))));
        let queued = h.s.calls.deadlines_queued();
        // (Swept when a deadline is added past twice the calls then
        // unanswered, plus 16.)
        assert!(
            queued <= 2 * (h.s.unanswered_calls() + 1) + 16,
            "{queued} queued"
        );
    }
    assert!(h.reply(first).is_pending());
}

#[test]
fn a_negotiation_or_an_ended_call_takes_no_deadline() {
    let mut h = H::new();
    let tag = h.s.switch(b"Switch", |_| Ok(())).unwrap();
    assert!(!h.s.set_call_deadline(tag, h.now, false), "a switch");
    let mut h = H::new();
    let tag = h.call();
    h.s.abandon(tag);
    assert!(!h.s.set_call_deadline(tag, h.now, false), "given up");
    assert_eq!(h.s.calls.next_deadline(), None);
}

#[test]
fn a_closed_connection_keeps_no_call_deadline() {
    let mut h = H::new();
    let tag = h.call();
    h.s.set_call_deadline(tag, h.now + secs(5), false);
    h.s.abort(Disconnect::LocalClose);
    assert!(matches!(h.reply(tag), Poll::Ready(Reply::Lost(_))));
    assert_eq!(h.s.calls.deadlines_queued(), 0);
}
