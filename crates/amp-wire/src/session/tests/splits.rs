//! Input split anywhere, and two sessions wired to each other.

use super::*;

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
        h.s.answer(h.ids[0], |_| Ok(()), h.now).unwrap();
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
