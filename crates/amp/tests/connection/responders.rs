//! Requests served: answers, UNHANDLED, declared and fatal errors, UNKNOWN
//! for failed responders, answerless requests.

use amp::{AmpBox, Connection, Disconnect, Router};
use tokio::time::timeout;

use crate::{boxed, served, Raw, LIMIT};

#[tokio::test]
async fn request_gets_answer_with_the_same_tag() {
    let (_c, mut peer) = served();
    peer.send(&boxed(&[
        ("_command", "Sum"),
        ("_ask", "ff"),
        ("a", "1"),
        ("b", "2"),
    ]))
    .await;
    let b = peer.recv().await.unwrap();
    assert_eq!(b, boxed(&[("_answer", "ff"), ("total", "3")]));
}

#[tokio::test]
async fn unknown_command_is_unhandled_and_connection_stays() {
    let (_c, mut peer) = served();
    peer.send(&boxed(&[("_command", "Nope"), ("_ask", "1")]))
        .await;
    let b = peer.recv().await.unwrap();
    assert_eq!(
        b,
        boxed(&[
            ("_error", "1"),
            ("_error_code", "UNHANDLED"),
            ("_error_description", "Unhandled Command: b'Nope'"),
        ])
    );
    peer.send(&boxed(&[
        ("_command", "Sum"),
        ("_ask", "2"),
        ("a", "1"),
        ("b", "2"),
    ]))
    .await;
    assert_eq!(peer.recv().await.unwrap().get("total").unwrap(), b"3");
}

#[tokio::test]
async fn declared_error_keeps_connection() {
    let (_c, mut peer) = served();
    peer.send(&boxed(&[
        ("_command", "Sum"),
        ("_ask", "1"),
        ("a", "-5"),
        ("b", "2"),
    ]))
    .await;
    assert_eq!(
        peer.recv().await.unwrap(),
        boxed(&[
            ("_error", "1"),
            ("_error_code", "NEGATIVE"),
            ("_error_description", "-5 is negative"),
        ])
    );
    peer.send(&boxed(&[
        ("_command", "Sum"),
        ("_ask", "2"),
        ("a", "5"),
        ("b", "2"),
    ]))
    .await;
    assert_eq!(peer.recv().await.unwrap().get("total").unwrap(), b"7");
}

#[tokio::test]
async fn fatal_error_is_sent_then_connection_closes() {
    let (c, mut peer) = served();
    peer.send(&boxed(&[
        ("_command", "Sum"),
        ("_ask", "1"),
        ("a", "666"),
        ("b", "2"),
    ]))
    .await;
    let boxes = peer.until_eof().await;
    assert_eq!(boxes.len(), 1);
    assert_eq!(boxes[0].get("_error_code").unwrap(), b"DOOM");
    let why = timeout(LIMIT, c.closed()).await.unwrap();
    assert!(
        matches!(why, Disconnect::FatalError { ref code, .. } if code == "DOOM"),
        "{why:?}"
    );
}

#[tokio::test]
async fn undecodable_arguments_send_unknown_and_close() {
    let (c, mut peer) = served();
    peer.send(&boxed(&[
        ("_command", "Sum"),
        ("_ask", "1"),
        ("a", "x"),
        ("b", "2"),
    ]))
    .await;
    let boxes = peer.until_eof().await;
    assert_eq!(
        boxes,
        vec![boxed(&[
            ("_error", "1"),
            ("_error_code", "UNKNOWN"),
            ("_error_description", "Unknown Error"),
        ])]
    );
    assert!(matches!(
        timeout(LIMIT, c.closed()).await.unwrap(),
        Disconnect::UnknownError { .. }
    ));
}

#[tokio::test]
async fn missing_argument_sends_unknown_and_closes() {
    let (_c, mut peer) = served();
    peer.send(&boxed(&[("_command", "Sum"), ("_ask", "1"), ("a", "1")]))
        .await;
    let boxes = peer.until_eof().await;
    assert_eq!(boxes[0].get("_error_code").unwrap(), b"UNKNOWN");
}

#[tokio::test]
async fn panicking_responder_sends_unknown_and_closes() {
    let (c, mut peer) = served();
    peer.send(&boxed(&[
        ("_command", "Sum"),
        ("_ask", "1"),
        ("a", "999"),
        ("b", "0"),
    ]))
    .await;
    let boxes = peer.until_eof().await;
    assert_eq!(boxes[0].get("_error_code").unwrap(), b"UNKNOWN");
    match timeout(LIMIT, c.closed()).await.unwrap() {
        Disconnect::UnknownError { reason, .. } => assert!(reason.contains("blew up"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn unencodable_response_sends_unknown_and_closes() {
    // A responder whose response is too large to encode (a 70 KB value).
    let (a, b) = tokio::io::duplex(1 << 20);
    let _c = Connection::spawn(
        a,
        Router::new().route_raw("Big", |_, _| async move {
            let mut r = AmpBox::new();
            r.insert("v", vec![b'x'; 70_000]);
            Ok(r)
        }),
    );
    let mut peer = Raw::new(b);
    peer.send(&boxed(&[("_command", "Big"), ("_ask", "1")]))
        .await;
    let boxes = peer.until_eof().await;
    assert_eq!(boxes.len(), 1);
    assert_eq!(boxes[0].get("_error_code").unwrap(), b"UNKNOWN");
}

#[tokio::test]
async fn failing_no_answer_request_closes_connection() {
    let (c, mut peer) = served();
    // No _ask: nothing is ever sent back, but the failure closes (Twisted).
    peer.send(&boxed(&[("_command", "Sum"), ("a", "-1"), ("b", "2")]))
        .await;
    assert!(peer.until_eof().await.is_empty());
    assert!(matches!(
        timeout(LIMIT, c.closed()).await.unwrap(),
        Disconnect::NoAnswerFailed { .. }
    ));
}

#[tokio::test]
async fn successful_no_answer_request_sends_nothing() {
    let (_c, mut peer) = served();
    peer.send(&boxed(&[("_command", "Sum"), ("a", "1"), ("b", "2")]))
        .await;
    peer.send(&boxed(&[
        ("_command", "Sum"),
        ("_ask", "7"),
        ("a", "1"),
        ("b", "1"),
    ]))
    .await;
    // The first thing back is the answer to tag 7.
    assert_eq!(peer.recv().await.unwrap().get("_answer").unwrap(), b"7");
}
