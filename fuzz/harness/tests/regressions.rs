//! Issues found by fuzzing, as tests of the behaviour they now have (the
//! reproducers are in fuzz/regressions/<target>/).

use amp_wire::session::{Event, Phase, CommandKind, Session};
use amp_wire::Config;
use bytes::BytesMut;
use std::time::Instant;

fn wire(entries: &[(&str, &str)]) -> Vec<u8> {
    let e: Vec<(&[u8], &[u8])> = entries
        .iter()
        .map(|(k, v)| (k.as_bytes(), v.as_bytes()))
        .collect();
    let mut out = Vec::new();
    amp_fuzz_harness::wire(&e, &mut out);
    out
}

/// fuzz/regressions/session/deciding-ended-by-same-tag: the peer asks
/// `Ping` and then `Switch` with the same `_ask` tag. Answering the `Ping`
/// ended the decision on the switch (the session matched it by tag): what
/// follows the switch request (which may not be AMP) was decoded before the
/// switch was decided, and `accept_switch` then failed and wrote no answer.
/// Requests are now concluded by their `RequestId`.
#[test]
fn answering_another_request_with_the_negotiations_tag_keeps_the_decision() {
    let now = Instant::now();
    let mut s = Session::new(Config::default(), now);
    s.negotiates_switch(&b"Switch"[..]);
    let mut input = wire(&[("_command", "Ping"), ("_ask", "3")]);
    input.extend(wire(&[("_command", "Switch"), ("_ask", "3")]));
    // What follows the switch request: another protocol, in principle.
    input.extend(wire(&[("_command", "Nope"), ("_ask", "4")]));
    s.feed(&input, now);
    let Some(Event::Request(ping)) = s.poll_event(now) else {
        panic!()
    };
    let Some(Event::Request(switch)) = s.poll_event(now) else {
        panic!()
    };
    assert_eq!(switch.kind, CommandKind::Switch);
    assert_eq!(s.phase(), Phase::Deciding(CommandKind::Switch));
    assert!(s.poll_event(now).is_none(), "nothing is read while deciding");

    s.answer(ping.id, |_| Ok(()), now).unwrap();
    assert_eq!(
        s.phase(),
        Phase::Deciding(CommandKind::Switch),
        "the switch is not decided yet"
    );
    assert!(
        s.poll_event(now).is_none(),
        "the bytes after the switch request are not read as AMP"
    );
    assert!(s.accept_switch(switch.id));
    let mut out = BytesMut::new();
    s.poll_transmit(&mut out, now);
    assert!(out.ends_with(&wire(&[("_answer", "3")])));
}
