//! The transition table: phase × event → phase + actions.

use super::*;

// --- the transition table ----------------------------------------------

struct Case {
    name: &'static str,
    from: fn() -> H,
    on: fn(&mut H),
    to: Phase,
    then: fn(&mut H),
}

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
            to: Deciding(CommandKind::Switch),
            then: |h| assert!(!h.s.wants_read()),
        },
        Case {
            name: "open: the peer's StartTLS is decided",
            from: open,
            on: |h| {
                h.requested("StartTLS", Some("1"));
            },
            to: Deciding(CommandKind::StartTls),
            then: none,
        },
        Case {
            name: "open: shutdown with nothing in flight closes",
            from: open,
            on: |h| {
                h.s.shutdown(h.now);
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
            on: |h| h.s.fail(h.last(), b"NO", "no", false, h.now),
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
            to: Deciding(CommandKind::Switch),
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
                h.s.answer(ping, |_| Ok(()), h.now).unwrap();
                assert!(h.events().is_empty(), "nothing after the switch is decoded");
                assert!(!h.s.accept_switch(ping), "not the switch");
                h.ids.push(switch);
            },
            to: Deciding(CommandKind::Switch),
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
                h.s.answer(r.id, |w| w.put_raw(b"total", b"3"), h.now)
                    .unwrap();
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
                h.s.answer(h.last(), |_| Ok(()), h.now).unwrap();
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

/// Whether StartTLS was agreed is carried by every phase after it: a
/// second StartTLS is refused whatever happened since, both ways.
#[test]
fn tls_agreed_travels_with_the_phases() {
    /// A connection back in `Open` after `from` (its handshake done, or
    /// its StartTLS refused).
    fn settled(from: fn() -> H) -> H {
        let mut h = from();
        if matches!(h.phase(), Phase::TlsHandshake(_)) {
            h.s.tls_established();
        } else if h.phase() == Phase::TlsRequested {
            h.feed(&[("_error", "1"), ("_error_code", "TLS_ERROR")]);
            h.events();
        }
        assert_eq!(h.phase(), Phase::Open);
        h
    }
    type Setup = fn() -> H;
    let cases: [(&str, Setup, bool); 4] = [
        ("never asked", open, false),
        ("ours, established", tls_handshake_requester, true),
        ("theirs, established", tls_handshake_responder, true),
        ("ours, refused", tls_requested, false),
    ];
    for (name, from, agreed) in cases {
        let mut h = settled(from);
        h.out();
        assert_eq!(h.s.tls_agreed(), agreed, "{name}: open");
        // The peer asks again: refused with ONLY_ONE_TLS once agreed.
        h.feed(&[("_command", "StartTLS"), ("_ask", "again")]);
        let evs = h.events();
        if agreed {
            assert!(evs.is_empty(), "{name}");
            assert_eq!(get(&h.out()[0], "_error_code"), b"ONLY_ONE_TLS", "{name}");
        } else {
            assert_eq!(h.phase(), Phase::Deciding(CommandKind::StartTls), "{name}");
            h.s.fail(h.last(), b"NO", "no", false, h.now);
            h.out();
        }
        // Through a graceful shutdown and a close.
        let _ = h.requested("Sum", Some("busy"));
        h.s.shutdown(h.now);
        assert_eq!(h.phase(), Phase::Draining, "{name}");
        assert_eq!(h.s.tls_agreed(), agreed, "{name}: draining");
        let refused = h.s.check_start_tls();
        if agreed {
            assert!(matches!(refused, Err(SendError::OnlyOneTls)), "{name}");
        } else {
            assert!(matches!(refused, Err(SendError::Closed(_))), "{name}");
        }
        h.s.close(h.now);
        assert_eq!(h.s.tls_agreed(), agreed, "{name}: closing");
        h.out();
        h.s.finish();
        assert_eq!(h.phase(), Phase::Closed, "{name}");
        assert_eq!(h.s.tls_agreed(), agreed, "{name}: closed");
        // Through a switch and a hand-over.
        let mut h = settled(from);
        let tag = h.s.switch(b"Switch", |_| Ok(())).unwrap();
        assert_eq!(h.s.tls_agreed(), agreed, "{name}: switching");
        h.feed(&[("_answer", &format!("{tag:x}"))]);
        h.out();
        h.events();
        assert_eq!(h.phase(), Phase::Switched, "{name}");
        assert_eq!(h.s.tls_agreed(), agreed, "{name}: switched");
    }
    // A failed handshake: agreed, and closing.
    let mut h = tls_handshake_requester();
    h.s.tls_failed(std::sync::Arc::new(std::io::Error::other("bad")));
    assert_eq!(h.phase(), Phase::Closing);
    assert!(h.s.tls_agreed());
}
