//! Rust calls Twisted: answerless calls, concurrency, calls back from
//! inside responders, raw calls, hang-ups, local errors and cancellation.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amp::{AmpBox, CallError, Connection, Disconnect};
use futures_util::future::join_all;

use crate::commands::*;
use crate::common::{within, Py};
use crate::helpers::{assert_lost_now, big, twisted_peer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_without_answer_and_observes_the_side_effect() {
    let (_py, conn, _) = twisted_peer().await;
    within(
        "notify",
        conn.notify(Record {
            key: "n1".into(),
            value: big("7"),
        }),
    )
    .await
    .unwrap();
    // send() follows callRemote: no answer asked for a requires_answer=false command.
    let r = within(
        "send",
        conn.send(Record {
            key: "n2".into(),
            value: big("1180591620717411303424"),
        }),
    )
    .await
    .unwrap();
    assert!(r.is_none());
    let mut b = AmpBox::new();
    b.insert("key", "n3");
    b.insert("value", "9");
    within("notify_raw", conn.notify_raw("Record", b))
        .await
        .unwrap();
    let look = |k: &str| conn.call(Lookup { key: k.into() });
    assert_eq!(
        within("Lookup n1", look("n1")).await.unwrap().value,
        Some(big("7"))
    );
    assert_eq!(
        within("Lookup n2", look("n2")).await.unwrap().value,
        Some(big("1180591620717411303424"))
    );
    assert_eq!(
        within("Lookup n3", look("n3")).await.unwrap().value,
        Some(big("9"))
    );
    assert_eq!(
        within("Lookup absent", look("never")).await.unwrap().value,
        None
    );
    assert!(!conn.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_no_answer_request_failing_in_twisted_closes_the_connection() {
    let (_py, conn, _) = twisted_peer().await;
    within(
        "notify",
        conn.notify(Record {
            key: "neg".into(),
            value: big("-1"),
        }),
    )
    .await
    .unwrap();
    // Twisted logs the failure and drops the connection; nothing is sent back.
    let why = within("Twisted to drop the connection", conn.closed()).await;
    assert!(matches!(why, Disconnect::PeerClosed), "{why:?}");
    assert_lost_now("Lookup after", conn.call(Lookup { key: "neg".into() })).await;
}

fn delays(n: usize) -> Vec<f64> {
    (0..n).map(|i| ((i * 37) % 50) as f64 / 1000.0).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_250_concurrent_calls_answered_out_of_order() {
    let (_py, conn, _) = twisted_peer().await;
    const N: usize = 250;
    let delays = delays(N);
    let order = Arc::new(Mutex::new(Vec::new()));
    let calls = (0..N).map(|i| {
        let conn = conn.clone();
        let order = order.clone();
        let delay = delays[i];
        async move {
            let r = conn
                .call(Slow {
                    id: i as i64,
                    delay,
                })
                .await;
            order.lock().unwrap().push(i);
            r
        }
    });
    let results = within("250 Slow calls", join_all(calls)).await;
    let mut seqs = Vec::new();
    for (i, r) in results.into_iter().enumerate() {
        let r = r.unwrap_or_else(|e| panic!("Slow {i}: {e:?}"));
        assert_eq!(r.id, i as i64, "answer matched to the wrong call");
        seqs.push(r.seq);
    }
    let mut sorted = seqs.clone();
    sorted.sort();
    assert_eq!(sorted, (0..N as i64).collect::<Vec<_>>());
    let order = order.lock().unwrap().clone();
    assert_ne!(
        order,
        (0..N).collect::<Vec<_>>(),
        "answers should arrive out of order"
    );
    let longest = delays.iter().cloned().fold(0.0, f64::max);
    let longest = delays.iter().position(|d| *d == longest).unwrap();
    assert!(seqs[0] < seqs[longest], "Twisted answered by delay");
    assert!(
        order.iter().position(|&i| i == 0) < order.iter().position(|&i| i == longest),
        "the zero-delay call completes before the longest one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_calls_back_into_rust_from_inside_its_responder() {
    let (_py, conn, state) = twisted_peer().await;
    let r = within("Bounce(3)", conn.call(Bounce { depth: 3 }))
        .await
        .unwrap();
    assert_eq!(r.trace, ["rust", "python", "rust", "python"]);
    assert_eq!(
        state.bounces.load(Ordering::SeqCst),
        2,
        "Twisted called our Bounce twice"
    );
    // Many interleaved call-backs at once.
    let calls = (0..20).map(|d| conn.call(Bounce { depth: d % 4 }));
    let rs = within("20 Bounces", join_all(calls)).await;
    for (d, r) in rs.into_iter().enumerate() {
        let t = r.unwrap().trace;
        assert_eq!(t.len(), d % 4 + 1);
        assert_eq!(t.last().map(String::as_str), Some("python"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_raw_calls_reach_twisted_amp_methods() {
    let (_py, conn, _) = twisted_peer().await;
    let mut b = AmpBox::new();
    b.insert("data", &b"\x00bin\xff"[..]);
    let ans = within("RawEcho", conn.call_raw("RawEcho", b))
        .await
        .unwrap();
    assert_eq!(ans.get("echo"), Some(&b"\x00bin\xff"[..]));
    assert_eq!(ans.get("command"), Some(&b"RawEcho"[..]));
    // The raw responder saw the whole box, reserved keys included.
    assert_eq!(ans.get("keys"), Some(&b"_ask,_command,data"[..]));
    assert!(ans.get("_answer").is_none(), "call_raw strips _answer");

    // amp_NAME dispatch upper-cases the name: any case reaches amp_RAWECHO.
    let mut b = AmpBox::new();
    b.insert("data", "x");
    let ans = within("rawecho", conn.call_raw("rawecho", b))
        .await
        .unwrap();
    assert_eq!(ans.get("command"), Some(&b"rawecho"[..]));

    let mut b = AmpBox::new();
    b.insert("data", "error");
    match within("RawEcho error", conn.call_raw("RawEcho", b)).await {
        Err(CallError::UnknownRemote { code, description }) => {
            assert_eq!(&code[..], b"RAW_ERR");
            assert_eq!(description, "raw failure");
        }
        other => panic!("{other:?}"),
    }
    // A typed command called raw.
    let mut b = AmpBox::new();
    b.insert("a", "18446744073709551616");
    b.insert("b", "-1");
    let ans = within("Sum raw", conn.call_raw("Sum", b)).await.unwrap();
    assert_eq!(ans.get("total"), Some(&b"18446744073709551615"[..]));
    assert!(!conn.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_hangs_up_with_rust_calls_outstanding() {
    let (_py, conn, _) = twisted_peer().await;
    let slow = join_all((0..20).map(|i| conn.call(Slow { id: i, delay: 30.0 })));
    let hang = conn.call(Hangup {});
    let (slow, hang) = within("outstanding calls to fail", async {
        tokio::join!(slow, hang)
    })
    .await;
    for (i, r) in slow.into_iter().enumerate() {
        match r {
            Err(CallError::ConnectionLost(Disconnect::PeerClosed)) => {}
            other => panic!("Slow {i}: {other:?}"),
        }
    }
    assert!(
        matches!(hang, Err(CallError::ConnectionLost(_))),
        "{hang:?}"
    );
    let why = within("closed", conn.closed()).await;
    assert!(matches!(why, Disconnect::PeerClosed), "{why:?}");
    assert_lost_now(
        "Sum after hangup",
        conn.call(Sum {
            a: big("1"),
            b: big("1"),
        }),
    )
    .await;
    assert_lost_now("call_raw after hangup", conn.call_raw("Sum", AmpBox::new())).await;
    assert!(matches!(
        conn.notify(Record {
            key: "k".into(),
            value: big("1")
        })
        .await,
        Err(CallError::ConnectionLost(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_local_encode_error_sends_nothing_and_keeps_the_connection() {
    let (_py, conn, _) = twisted_peer().await;
    match within(
        "too long",
        conn.call(EchoString {
            value: vec![b'x'; 70_000],
        }),
    )
    .await
    {
        Err(CallError::Encode(_)) => {}
        other => panic!("{other:?}"),
    }
    // The largest value there is goes through, both ways.
    let r = within(
        "EchoString 65535 bytes",
        conn.call(EchoString {
            value: vec![b'y'; 65_535],
        }),
    )
    .await
    .unwrap();
    assert_eq!(r.value.len(), 65_535);
    assert_eq!(r.repr, "<65538 chars>");
    assert!(!conn.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_closes_with_its_calls_to_twisted_outstanding() {
    let (_py, conn, _) = twisted_peer().await;
    let slow = join_all((0..20).map(|i| conn.call(Slow { id: i, delay: 30.0 })));
    let close = async {
        // Close once every Slow request has been handed to the connection:
        // a round trip that Twisted answers after reading all of them.
        conn.call(Slow { id: 99, delay: 0.0 }).await.unwrap();
        conn.close().await;
    };
    let (slow, ()) = within("close with calls outstanding", async {
        tokio::join!(slow, close)
    })
    .await;
    for (i, r) in slow.into_iter().enumerate() {
        match r {
            Err(CallError::ConnectionLost(Disconnect::LocalClose)) => {}
            other => panic!("Slow {i}: {other:?}"),
        }
    }
    assert!(matches!(conn.closed().await, Disconnect::LocalClose));
    assert_lost_now(
        "Sum after close",
        conn.call(Sum {
            a: big("1"),
            b: big("1"),
        }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_cancelled_call_whose_answer_comes_later_is_harmless() {
    let (_py, conn, _) = twisted_peer().await;
    // Give up on a call (drop its future) before Twisted answers it.
    let gave_up = tokio::time::timeout(
        Duration::from_millis(50),
        conn.call(Slow { id: 1, delay: 0.3 }),
    )
    .await;
    assert!(gave_up.is_err(), "answered too early: {gave_up:?}");
    // Twisted answers by delay, so the abandoned answer (0.3 s) arrives
    // before this one (0.6 s); it must be dropped quietly.
    let r = within(
        "Slow after a cancelled call",
        conn.call(Slow { id: 2, delay: 0.6 }),
    )
    .await
    .unwrap();
    assert_eq!(
        (r.id, r.seq),
        (2, 1),
        "the cancelled call was answered first"
    );
    assert_eq!(
        within(
            "Sum",
            conn.call(Sum {
                a: big("1"),
                b: big("2")
            })
        )
        .await
        .unwrap()
        .total,
        big("3")
    );
    assert!(!conn.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twisted_calling_a_pure_rust_client_gets_unhandled() {
    // A client with an empty router answers the server's calls UNHANDLED.
    // Twisted's Bounce responder calls us back, gets UnhandledCommand (not
    // declared by Bounce), so it answers UNKNOWN and drops the connection.
    let (_py, port) = Py::serve("peer.py", &["serve"]).await;
    let conn = within("connect", Connection::connect(("127.0.0.1", port)))
        .await
        .unwrap();
    match within("Bounce(1)", conn.call(Bounce { depth: 1 })).await {
        Err(CallError::UnknownRemote { code, description }) => {
            assert_eq!(&code[..], b"UNKNOWN");
            assert_eq!(description, "Unknown Error");
        }
        other => panic!("{other:?}"),
    }
    let why = within("closed", conn.closed()).await;
    assert!(matches!(why, Disconnect::PeerClosed), "{why:?}");
}
