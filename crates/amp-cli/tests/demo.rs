//! `amp demo`, the newcomer's tour, run as a user runs it.
mod common;

use std::time::{Duration, Instant};

#[test]
fn demo_narrates_every_step_and_exits_0() {
    let start = Instant::now();
    let out = common::amp()
        .arg("demo")
        .timeout(Duration::from_secs(30))
        .assert()
        .success();
    let took = start.elapsed();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for want in [
        // Sum: the request and the answer as they went on the wire.
        "→ {_ask: 1, _command: Sum, a: 13, b: 81}",
        "← {_answer: 1, total: 94}",
        "total = 94",
        // Divide by zero: the declared error.
        "_error_code: ZERO_DIVISION, _error_description: float division by zero}",
        "error ZERO_DIVISION",
        // Echo: bytes shown readably (display_bytes).
        "bytes: b'\\x00\\xff binary'",
        "empty: b''",
        "the same three arguments came back",
        // StartTLS: the pinned certificate is said, and the wire turns to TLS.
        "→ {_ask: 4, _command: StartTLS}",
        "pinned",
        "→ TLS records: 1 handshake",
        "total = 42",
        // Switch, then raw bytes through the echo.
        "Switch(): AMP hands the connection over to a byte echo",
        "a round trip of raw bytes: b'raw bytes, no AMP framing: \\x00\\x01\\x02\\n'",
        "echoed back",
        "The server saw 1 connection, 6 calls (1 error)",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    // Each step is timed.
    assert!(text.matches(" ms)").count() >= 7, "{text}");
    assert!(
        took < Duration::from_secs(5),
        "the tour should take well under 2 s; took {took:?}"
    );
}
