//! Twisted calls Rust: `peer.py client <port> <scenario>` against a Rust
//! server.

use std::sync::atomic::Ordering;
use std::time::Duration;

use amp::Disconnect;

use crate::common::Py;
use crate::helpers::{all_peer_closed, big, RustServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_calls_rust_every_value_type() {
    let mut server = RustServer::start().await;
    let out = server
        .run_twisted_client(&["values", "lists", "amplist", "optional"])
        .await;
    out.assert_line("PASS EchoFloat(nan).raw: b'nan'");
    out.assert_line("PASS EchoFloat.raw(b'1E400'): b'inf'");
    out.assert_line("PASS EchoInteger.raw(b' +1_000 '): b'1000'");
    out.assert_line("PASS EchoDecimal(-sNaN).raw: b'-sNaN'");
    out.assert_line("PASS EchoDateTime.raw(b'2024-01-02T03:04:05.000006+00:00'): b'2024-01-02T03:04:05.000006-00:00'");
    out.line_starting("PASS EchoAmpList.orders.raw: b'");
    out.assert_line("PASS Options.absent.raw-keys: [b'_answer', b'dash-arg', b'repr']");
    all_peer_closed(&mut server, 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_calls_rust_declared_errors_and_unhandled_keep_the_connection() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["errors"]).await;
    out.line_starting("PASS Fail.declared: DeclaredError('declared é')");
    out.line_starting("PASS ChildFail.inherited-base: BaseError('base failure')");
    out.line_starting("PASS ChildFail.child: ChildError('child failure')");
    out.line_starting("PASS Divide.zero: ZeroDivisionError");
    out.line_starting("PASS NoSuchCommand.unhandled");
    out.assert_line("PASS raw.unhandled: [b'UNHANDLED', \"Unhandled Command: b'TotallyUnknown'\"]");
    out.assert_line("PASS raw.unhandled.still-open: 5");
    all_peer_closed(&mut server, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_calls_rust_fatal_error_closes_the_connection() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["fatal"]).await;
    out.assert_line("PASS Fail.fatal: FatalError('fatal text')");
    out.assert_line("PASS Fail.fatal.closed");
    match server.next_disconnect().await {
        Disconnect::FatalError { code, description } => {
            assert_eq!(code, "FATAL");
            assert_eq!(description, "fatal text");
        }
        d => panic!("{d:?}"),
    }
}

async fn expect_unknown_disconnect(server: &mut RustServer, reason_has: &str) {
    match server.next_disconnect().await {
        Disconnect::UnknownError { command, reason } => {
            assert!(
                reason.contains(reason_has),
                "reason {reason:?} should mention {reason_has:?} (command {command})"
            );
        }
        d => panic!("{d:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_calls_rust_panicking_responder_is_unknown_and_closes() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["unknown"]).await;
    out.assert_line("PASS Fail.unknown: UnknownRemoteError('Code<UNKNOWN>: Unknown Error')");
    out.assert_line("PASS Fail.unknown.later-call-fails-at-once");
    expect_unknown_disconnect(&mut server, "deliberate responder failure: boom").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_calls_rust_command_declaring_unknown_gets_the_declared_error() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["declared_unknown"]).await;
    out.assert_line("PASS Choose.known: 'known'");
    out.assert_line("PASS Choose.declared: UnknownProtocol('bogus é')");
    out.assert_line("PASS Choose.declared.still-open: 5");
    out.assert_line("PASS Choose.crash: UnknownProtocol('Unknown Error')");
    out.assert_line("PASS Choose.crash.closed");
    expect_unknown_disconnect(&mut server, "deliberate undeclared failure").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_calls_rust_inherited_command_with_flatten() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["flatten"]).await;
    out.assert_line(r"PASS GreetTwice.greeting: 'hi:dear hello Zo\xeb'");
    out.assert_line("PASS GreetTwice.count: 6");
    out.assert_line("PASS GreetTwice.absent.greeting: ':hello Al'");
    out.assert_line("PASS GreetTwice.raw-order: [b'_answer', b'count', b'greeting']");
    all_peer_closed(&mut server, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_calls_rust_unserialisable_response_is_unknown_and_closes() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["badreturn"]).await;
    out.assert_line("PASS Fail.badreturn: UnknownRemoteError('Code<UNKNOWN>: Unknown Error')");
    expect_unknown_disconnect(&mut server, "could not be encoded").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_calls_rust_with_undecodable_argument_is_unknown_and_closes() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["baddata"]).await;
    out.assert_line("PASS Sum.baddata.code: b'UNKNOWN'");
    out.assert_line("PASS Sum.baddata.description: 'Unknown Error'");
    expect_unknown_disconnect(&mut server, "bad arguments").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_calls_rust_without_answer_and_observes_the_side_effect() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["noanswer"]).await;
    out.assert_line("PASS Record.observed.k1: 7");
    out.assert_line("PASS Record.observed.raw-k3: 9");
    let store = server.state.store.lock().unwrap().clone();
    assert_eq!(store.get("k1"), Some(&big("7")));
    assert_eq!(store.get("k2"), Some(&big("1180591620717411303424")));
    assert_eq!(store.get("k3"), Some(&big("9")));
    all_peer_closed(&mut server, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_no_answer_request_failing_in_rust_closes_the_connection() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["noanswer_fail"]).await;
    out.assert_line("PASS Record.negative.closed");
    match server.next_disconnect().await {
        Disconnect::NoAnswerFailed { command, reason } => {
            assert_eq!(command, "Record");
            assert!(reason.contains("negative value -1"), "{reason}");
        }
        d => panic!("{d:?}"),
    }
    assert!(server.state.store.lock().unwrap().get("neg").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_calls_rust_250_concurrent_calls_answered_out_of_order() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["concurrency"]).await;
    out.assert_line("PASS Slow.all-answered: 250 answers");
    out.assert_line("PASS Slow.ids-match");
    out.assert_line("PASS Slow.seq-is-permutation");
    out.line_starting("PASS Slow.answered-out-of-order");
    all_peer_closed(&mut server, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_back_into_twisted_from_inside_its_responder() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["callback"]).await;
    out.assert_line("PASS Bounce.depth3: ['python', 'rust', 'python', 'rust']");
    out.assert_line("PASS Bounce.concurrent");
    // depth 3: Rust answered Bounce(3) and Bounce(1); then 20 more with depth 0..3.
    // Bounce(d) from Twisted makes Rust answer depths d, d-2, ... >= 0.
    let expected = 2 + (0..20).map(|d| (d % 4) / 2 + 1).sum::<usize>();
    assert_eq!(server.state.bounces.load(Ordering::SeqCst), expected);
    all_peer_closed(&mut server, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_raw_calls_reach_rust_route_raw_and_fallback() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["raw"]).await;
    out.assert_line("PASS RawEcho.echo: b'\\x00bin\\xff'");
    out.assert_line("PASS RawEcho.keys: b'_ask,_command,data'");
    out.assert_line("PASS RawEcho.error.code: b'RAW_ERR'");
    out.assert_line("PASS Fallback.name: b'FallbackThing'");
    all_peer_closed(&mut server, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_hangs_up_with_twisted_calls_outstanding() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["hangup"]).await;
    out.assert_line("PASS Hangup.outstanding-fail-connection-lost: ['lost']");
    out.assert_line("PASS Hangup.later-call-fails-at-once");
    let d = server.next_disconnect().await;
    assert!(matches!(d, Disconnect::LocalClose), "{d:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_unhandled_no_answer_request_closes_the_rust_connection() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["noanswer_unhandled"]).await;
    out.assert_line("PASS Nobody.noanswer.closed");
    match server.next_disconnect().await {
        Disconnect::NoAnswerFailed { command, .. } => assert_eq!(command, "Nobody"),
        d => panic!("{d:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_sends_bulk_values_to_rust() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["bulk"]).await;
    out.line_starting("PASS bulk.EchoString: 100 x ");
    out.assert_line("PASS bulk.EchoLists");
    out.assert_line("PASS bulk.still-open: 5");
    all_peer_closed(&mut server, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_violations_from_twisted_side_make_rust_drop_the_connection() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["rogue"]).await;
    for case in [
        "unknown-answer-tag",
        "unknown-error-tag",
        "not-routed",
        "key-too-long",
    ] {
        out.assert_line(&format!("PASS rogue.{case}.dropped"));
        out.assert_line(&format!("PASS rogue.{case}.no-reply: b''"));
    }
    // The connections ran one after the other, so their ends arrive in order.
    let mut got = Vec::new();
    for _ in 0..5 {
        got.push(server.next_disconnect().await);
    }
    let show = format!("{got:?}");
    use amp::ProtocolError as P;
    assert!(
        matches!(&got[0], Disconnect::Protocol(P::UnknownTag { tag }) if &tag[..] == b"99"),
        "{show}"
    );
    assert!(
        matches!(&got[1], Disconnect::Protocol(P::UnknownTag { tag }) if &tag[..] == b"77"),
        "{show}"
    );
    assert!(
        matches!(&got[2], Disconnect::Protocol(P::NotRouted { .. })),
        "{show}"
    );
    assert!(
        matches!(&got[3], Disconnect::Protocol(P::KeyTooLong { len: 256 })),
        "{show}"
    );
    assert!(
        matches!(&got[4], Disconnect::Protocol(P::TruncatedBox { .. })),
        "a stream ending mid-box is a truncated box, not a clean close: {show}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_twisted_rejects_are_rejected_by_rust_too() {
    let mut server = RustServer::start().await;
    let out = server.run_twisted_client(&["strict"]).await;
    let cases = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("PASS strict.") && l.ends_with(".closed"))
        .count();
    assert!(cases >= 20, "only {cases} rejected values checked");
    for _ in 0..cases {
        match server.next_disconnect().await {
            Disconnect::UnknownError { reason, .. } => {
                assert!(reason.contains("bad arguments"), "{reason}")
            }
            d => panic!("{d:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_full_battery_against_rust() {
    let server = RustServer::start().await;
    let port = server.port.to_string();
    let py = Py::spawn("peer.py", &["client", &port]);
    let out = py.finish(Duration::from_secs(180)).await;
    out.assert_success("peer.py client (every scenario)");
    let last = out.stdout.lines().last().unwrap_or_default();
    assert!(last.ends_with(" passed, 0 failed"), "{last}");
    let passed: usize = last.split(' ').next().unwrap().parse().unwrap();
    assert!(passed > 200, "only {passed} checks ran");
}
