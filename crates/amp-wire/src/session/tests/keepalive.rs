//! Keepalive's rules: its clock runs only while the session reads, its
//! reply comes on the default conversation only, and its command is
//! checked when the configuration is built.

use super::*;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Pings after 10 s of silence, dead 5 s after; no write timeout (a row
/// below leaves output unwritten on purpose).
fn config() -> ConfigBuilder {
    Config::builder()
        .keepalive_interval(Some(secs(10)))
        .keepalive_timeout(Some(secs(5)))
        .keepalive_command("Ping")
        .write_timeout(None)
}

/// One way the session stops reading, and how it reads again.
struct Stop {
    name: &'static str,
    config: fn(ConfigBuilder) -> ConfigBuilder,
    stop: fn(&mut H),
    resume: fn(&mut H),
}

fn stops() -> [Stop; 4] {
    [
        Stop {
            name: "paused",
            config: |c| c,
            stop: |h| h.s.pause_reading(true),
            resume: |h| h.s.pause_reading(false),
        },
        Stop {
            name: "requests at max_in_flight",
            config: |c| c.max_in_flight(1),
            stop: |h| drop(h.requested("Sum", Some("a1"))),
            resume: |h| {
                let now = h.now;
                h.s.answer(h.last(), |_| Ok(()), now).unwrap();
                h.out();
            },
        },
        Stop {
            name: "output past write_high_water",
            config: |c| c.write_high_water(64),
            stop: |h| {
                h.s.notify(b"Big", |w| w.put_raw(b"x", &[b'x'; 100]))
                    .unwrap()
            },
            resume: |h| drop(h.out()),
        },
        Stop {
            name: "deciding on the peer's switch",
            config: |c| c,
            stop: |h| drop(h.requested("Switch", Some("s1"))),
            resume: |h| {
                let now = h.now;
                h.s.unhandled(h.last(), now);
                h.out();
            },
        },
    ]
}

/// Reading resumed: the session asks to be told the time at once (to
/// note it), and is, as a driver would.
fn resumed(h: &mut H, name: &str) {
    let due = h.s.poll_timeout().expect("a deadline");
    assert!(due <= h.now, "{name}: due at once");
    h.advance(Duration::ZERO);
}

/// Fuzzing found a live peer killed by keepalive while the session itself
/// did not read: the peer's reply could not be read, so the ping "timed
/// out". Now a ping's reply deadline is not kept while the session does
/// not read, and starts over (a whole `keepalive_timeout`) once it reads
/// again.
#[test]
fn a_ping_reply_is_not_awaited_while_the_session_does_not_read() {
    for row in stops() {
        for replies in [true, false] {
            let name = format!("{} (peer replies: {replies})", row.name);
            let mut h = H::with((row.config)(config()).build().unwrap());
            h.advance(secs(10));
            let out = h.out();
            assert_eq!(out.len(), 1, "{name}: the ping");
            let tag = String::from_utf8(get(&out[0], "_ask").to_vec()).unwrap();
            h.advance(secs(1));
            (row.stop)(&mut h);
            assert!(!h.s.wants_read(), "{name}");
            // Long past the ping's deadline (t = 15 s), a second at a time.
            for _ in 0..20 {
                h.advance(secs(1));
                assert!(!h.s.is_over(), "{name}: {:?}", h.s.close_reason());
            }
            (row.resume)(&mut h);
            assert!(h.s.wants_read(), "{name}");
            resumed(&mut h, &name);
            // Reading resumed at t = 31 s: the reply is due 5 s from then.
            h.advance(secs(4));
            assert!(!h.s.is_over(), "{name}: {:?}", h.s.close_reason());
            if replies {
                h.feed(&[("_answer", &tag)]);
                assert!(h.events().is_empty(), "{name}: the reply is the session's");
                h.advance(secs(2));
                assert_eq!(h.phase(), Phase::Open, "{name}");
            } else {
                h.advance(secs(1));
                assert!(
                    matches!(h.reason(), Disconnect::Timeout(Timeout::Keepalive)),
                    "{name}: a dead peer is still found"
                );
            }
        }
    }
}

/// While the session does not read, no ping goes out either; once it
/// reads again, the next ping is a whole interval away.
#[test]
fn no_ping_is_sent_while_the_session_does_not_read() {
    for row in stops() {
        let name = row.name;
        let mut h = H::with((row.config)(config()).build().unwrap());
        h.advance(secs(1));
        (row.stop)(&mut h);
        let sent = h.s.stats().requests_sent;
        h.advance(secs(30));
        assert_eq!(h.s.stats().requests_sent, sent, "{name}: no ping");
        (row.resume)(&mut h);
        resumed(&mut h, name);
        h.advance(secs(9));
        assert!(h.out().is_empty(), "{name}: the interval starts over");
        h.advance(secs(1));
        let out = h.out();
        assert_eq!(out.len(), 1, "{name}: the ping");
        assert_eq!(get(&out[0], "_command"), b"Ping");
    }
}

/// The ping goes on the default conversation, so only a reply there is
/// its reply: a box with its tag on a route is an unknown tag in that
/// route's conversation (as an answer on the wrong route is), and the
/// ping still waits.
#[test]
fn only_a_reply_on_the_default_conversation_answers_the_ping() {
    type Reply = fn(&str) -> Vec<(&'static str, String)>;
    let rows: [(&str, Reply, bool); 4] = [
        ("an answer", |t| vec![("_answer", t.into())], true),
        (
            "an error",
            |t| vec![("_error", t.into()), ("_error_code", "UNHANDLED".into())],
            true,
        ),
        (
            "an answer on a route",
            |t| vec![("_answer", t.into()), ("_route", "r".into())],
            false,
        ),
        (
            "an error on a route",
            |t| {
                vec![
                    ("_error", t.into()),
                    ("_error_code", "UNHANDLED".into()),
                    ("_route", "r".into()),
                ]
            },
            false,
        ),
    ];
    for (name, reply, taken) in rows {
        let mut h = H::with(config().build().unwrap());
        h.s.bind_route("r", "r").unwrap();
        h.advance(secs(10));
        let out = h.out();
        assert_eq!(out.len(), 1, "{name}: the ping");
        assert!(out[0].get("_route").is_none(), "{name}: on no route");
        let tag = String::from_utf8(get(&out[0], "_ask").to_vec()).unwrap();
        let pairs = reply(&tag);
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, &v[..])).collect();
        h.advance(secs(1));
        h.feed(&pairs);
        assert!(h.events().is_empty(), "{name}");
        if taken {
            h.advance(secs(5)); // past the reply's deadline
            assert_eq!(h.phase(), Phase::Open, "{name}");
        } else {
            assert!(
                matches!(
                    h.reason(),
                    Disconnect::Protocol(ProtocolError::UnknownTag { tag: t }) if t == tag.as_bytes()
                ),
                "{name}: {:?}",
                h.s.close_reason()
            );
        }
    }
}

/// A ping must not negotiate: `StartTLS` and `Cancel` are refused as the
/// keepalive command (exact names: AMP command names are case-sensitive).
#[test]
fn the_keepalive_command_may_not_negotiate() {
    for (name, ok) in [
        ("StartTLS", false),
        ("Cancel", false),
        ("starttls", true),
        ("Cancel2", true),
        ("Ping", true),
    ] {
        let built = Config::builder().keepalive_command(name).build();
        match built {
            Ok(c) => assert!(ok, "{name} accepted: {c:?}"),
            Err(e) => {
                assert!(!ok, "{name} refused: {e}");
                assert_eq!(e.setting(), "keepalive_command");
                assert!(e.to_string().contains("reserved"), "{e}");
            }
        }
    }
}

/// The command name is a value (of `_command`), so it may be as long as
/// any AMP value, 65,535 bytes (a key's limit is 255), and a ping with the
/// longest name goes out whole.
#[test]
fn the_keepalive_command_is_bounded_as_a_value() {
    let long = |n: usize| "p".repeat(n);
    for (len, ok) in [(0, false), (1, true), (255, true), (256, true)] {
        let built = Config::builder().keepalive_command(long(len)).build();
        assert_eq!(built.is_ok(), ok, "{len} bytes");
    }
    let e = Config::builder()
        .keepalive_command(long(crate::MAX_VALUE_LENGTH + 1))
        .build()
        .unwrap_err();
    assert_eq!(e.setting(), "keepalive_command");
    let name = long(crate::MAX_VALUE_LENGTH);
    let mut h = H::with(config().keepalive_command(&name[..]).build().unwrap());
    h.advance(secs(10));
    let out = h.out();
    assert_eq!(out.len(), 1, "the ping");
    assert_eq!(get(&out[0], "_command"), name.as_bytes());
}
