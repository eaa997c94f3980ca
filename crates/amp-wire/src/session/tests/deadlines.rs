//! Deadlines and keepalive, with a clock moved by hand.

use super::*;

// --- deadlines ----------------------------------------------------------

#[test]
fn deadlines() {
    struct Deadline {
        name: &'static str,
        config: ConfigBuilder,
        accepted: bool,
        setup: fn(&mut H),
        after: Duration,
        expect: Option<Timeout>,
    }
    let secs = Duration::from_secs;
    let rows = [
        Deadline {
            name: "an accepted connection that never sends a box",
            config: Config::builder(),
            accepted: true,
            setup: none,
            after: secs(31),
            expect: Some(Timeout::FirstBox),
        },
        Deadline {
            name: "a connection we opened may stay quiet",
            config: Config::builder(),
            accepted: false,
            setup: none,
            after: secs(3600),
            expect: None,
        },
        Deadline {
            name: "a box that stalls half way",
            config: Config::builder(),
            accepted: false,
            setup: |h| h.s.feed(b"\x00\x08_command\x00", h.now),
            after: secs(31),
            expect: Some(Timeout::Box),
        },
        Deadline {
            name: "output the peer never reads",
            config: Config::builder(),
            accepted: false,
            setup: |h| {
                h.call();
                let mut out = BytesMut::new();
                h.s.poll_transmit(&mut out, h.now);
            },
            after: secs(31),
            expect: Some(Timeout::Write),
        },
        Deadline {
            name: "idle, when asked for",
            config: Config::builder().idle_timeout(Some(secs(60))),
            accepted: false,
            setup: none,
            after: secs(61),
            expect: Some(Timeout::Idle),
        },
        Deadline {
            name: "not idle while a call waits",
            config: Config::builder().idle_timeout(Some(secs(60))),
            accepted: false,
            setup: |h| {
                h.call();
                h.out();
            },
            after: secs(600),
            expect: None,
        },
    ];
    for row in rows {
        let config = row.config.build().unwrap();
        let now = Instant::now();
        let s = if row.accepted {
            Session::new_accepted(config, now)
        } else {
            Session::new(config, now)
        };
        let mut h = H {
            s,
            now,
            ids: Vec::new(),
        };
        (row.setup)(&mut h);
        // Just before: nothing; just after: the expected timeout.
        h.advance(row.after - Duration::from_millis(1) - secs(1).min(row.after / 2));
        assert!(!h.s.is_over(), "{}: closed early", row.name);
        h.advance(secs(1).min(row.after / 2) + Duration::from_millis(1));
        match row.expect {
            Some(t) => assert!(
                matches!(h.s.close_reason(), Some(Disconnect::Timeout(got)) if *got == t),
                "{}: {:?}",
                row.name,
                h.s.close_reason()
            ),
            None => assert!(!h.s.is_over(), "{}: {:?}", row.name, h.s.close_reason()),
        }
    }
}

#[test]
fn keepalive_pings_a_silent_peer_and_closes_a_dead_one() {
    let secs = Duration::from_secs;
    let config = || {
        Config::builder()
            .keepalive_interval(Some(secs(10)))
            .keepalive_timeout(Some(secs(5)))
            .keepalive_command("Ping")
            .build()
            .unwrap()
    };
    // The peer's reply to the ping, if any, as a function of its tag.
    type ReplyTo = Option<fn(&str) -> Vec<(String, String)>>;
    let rows: [(&str, ReplyTo, bool); 3] = [
        (
            "an answer",
            Some(|t| vec![("_answer".into(), t.into())]),
            false,
        ),
        (
            "UNHANDLED (a peer without the command)",
            Some(|t| {
                vec![
                    ("_error".into(), t.into()),
                    ("_error_code".into(), "UNHANDLED".into()),
                ]
            }),
            false,
        ),
        ("no reply", None, true),
    ];
    for (name, reply, dies) in rows {
        let mut h = H::with(config());
        // Quiet for less than the interval: nothing is sent.
        h.advance(secs(9));
        assert!(h.out().is_empty(), "{name}");
        // The interval passes: a ping with `_ask`, no arguments.
        h.advance(secs(1));
        let out = h.out();
        assert_eq!(out.len(), 1, "{name}");
        assert_eq!(get(&out[0], "_command"), b"Ping");
        let tag = String::from_utf8(get(&out[0], "_ask").to_vec()).unwrap();
        assert_eq!(out[0].len(), 2, "{name}: no arguments");
        if let Some(reply) = reply {
            let pairs = reply(&tag);
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (&k[..], &v[..])).collect();
            h.advance(secs(4));
            h.feed(&pairs);
            assert!(h.events().is_empty(), "{name}: the reply is the session's");
            h.advance(secs(2)); // past the reply deadline
        } else {
            h.advance(secs(4));
            assert_eq!(h.phase(), Phase::Open, "{name}: the reply may still come");
            h.advance(secs(1));
        }
        if dies {
            assert!(
                matches!(h.reason(), Disconnect::Timeout(Timeout::Keepalive)),
                "{name}"
            );
            assert!(h.out().is_empty(), "{name}: nothing more is written");
        } else {
            assert_eq!(h.phase(), Phase::Open, "{name}");
            // The next ping comes an interval after the reply was received.
            h.advance(secs(7));
            assert!(h.out().is_empty(), "{name}");
            h.advance(secs(1));
            assert_eq!(h.out().len(), 1, "{name}: the next ping");
        }
    }
    // Any byte received restarts the interval; no ping during a switch.
    let mut h = H::with(config());
    h.advance(secs(8));
    h.feed(&[("_command", "Sum"), ("a", "1")]);
    h.events();
    h.advance(secs(8));
    assert!(h.out().is_empty(), "input restarted the interval");
    h.s.switch(b"Switch", |_| Ok(())).unwrap();
    h.out();
    h.advance(secs(60));
    assert!(h.out().is_empty(), "no ping while our boxes are held");
    assert_eq!(h.phase(), Phase::Switching);
}

/// Found by the `session` fuzz target (fuzz/regressions/session/
/// keepalive-put-off-by-unchanged-buffer): a driver takes the read buffer
/// to read into and gives it back with nothing read (its read was not
/// ready). With part of a box buffered, that counted as input, so a driver
/// that does so on every wake-up (as the `amp` driver does) put the ping
/// off for ever, and a peer that died half way through a box was never
/// pinged.
#[test]
fn keepalive_is_not_put_off_by_giving_the_read_buffer_back_unchanged() {
    let secs = Duration::from_secs;
    let config = Config::builder()
        .keepalive_interval(Some(secs(10)))
        .keepalive_timeout(Some(secs(5)))
        .box_timeout(None)
        .build()
        .unwrap();
    let mut h = H::with(config);
    h.s.feed(b"\x00\x08_command\x00", h.now); // part of a box
    assert!(h.events().is_empty());
    for _ in 0..9 {
        h.advance(secs(1));
        let buf = h.s.take_input();
        assert_eq!(buf.len(), 11);
        h.s.handle_input(buf, h.now); // nothing read
    }
    h.advance(secs(1));
    let out = h.out();
    assert_eq!(out.len(), 1, "pinged 10 s after the last byte received");
    assert_eq!(get(&out[0], "_command"), b"amp-rs.keepalive");
    // Bytes read into the taken buffer are input.
    h.advance(secs(1));
    let mut buf = h.s.take_input();
    buf.extend_from_slice(b"\x03Sum");
    h.s.handle_input(buf, h.now);
    assert_eq!(
        h.s.poll_timeout(),
        Some(h.now + secs(4)),
        "the ping's reply is due"
    );
    h.advance(secs(5));
    assert!(matches!(
        h.reason(),
        Disconnect::Timeout(Timeout::Keepalive)
    ));
}

#[test]
fn the_first_box_clears_the_first_box_deadline() {
    let now = Instant::now();
    let mut h = H {
        s: Session::new_accepted(Config::default(), now),
        now,
        ids: Vec::new(),
    };
    h.feed(&[("_command", "Ping")]);
    let _ = h.events();
    h.advance(Duration::from_secs(3600));
    assert!(!matches!(
        h.s.close_reason(),
        Some(Disconnect::Timeout(Timeout::FirstBox))
    ));
}

/// The session keeps no clock: a deadline runs from the `now` given to the
/// call that starts it, whatever times earlier calls were given.
#[test]
fn deadlines_run_from_the_time_passed_in() {
    let secs = Duration::from_secs;
    let t0 = Instant::now();
    let later = t0 + secs(100);

    // A close that writes what is queued: the write timeout from `close`.
    let mut h = H::new();
    h.call();
    h.s.close(later);
    assert_eq!(h.s.poll_timeout(), Some(later + secs(30)));
    h.s.handle_timeout(later + secs(29));
    assert_eq!(h.phase(), Phase::Closing);
    h.s.handle_timeout(later + secs(30));
    assert_eq!(h.phase(), Phase::Closed);

    // A close that writes nothing more is due at once (at a time already
    // given, so never later than the next `now`).
    let mut h = H::new();
    h.call();
    h.s.feed(b"\x00", t0 + secs(5));
    h.s.abort(Disconnect::LocalClose);
    let due = h.s.poll_timeout().expect("due");
    assert!(due <= t0 + secs(5));
    h.s.handle_timeout(t0 + secs(5));
    assert_eq!(h.phase(), Phase::Closed);

    // The TLS handshake: its timeout from the `poll_event` that starts it.
    let mut h = tls_requested();
    h.feed(&[("_answer", "1")]);
    assert!(matches!(
        h.s.poll_event(later),
        Some(Event::StartTls(Role::Requester))
    ));
    assert_eq!(h.s.poll_timeout(), Some(later + secs(10)));

    // Keepalive: the reply is awaited from when the ping went.
    let mut h = H::with(
        Config::builder()
            .keepalive_interval(Some(secs(10)))
            .keepalive_timeout(Some(secs(5)))
            .build()
            .unwrap(),
    );
    assert_eq!(h.s.poll_timeout(), Some(h.now + secs(10)));
    let ping_at = h.now + secs(12); // the timer fired late
    h.s.handle_timeout(ping_at);
    assert_eq!(h.out().len(), 1, "the ping");
    assert_eq!(h.s.poll_timeout(), Some(ping_at + secs(5)));
}
