//! Rust calls Twisted: declared, fatal, inherited and undeclared errors,
//! and what each does to the connection.

use amp::{AmpBox, CallError, Connection, Disconnect};

use crate::commands::*;
use crate::common::within;
use crate::helpers::{assert_lost_now, big, check_divide, twisted_peer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_declared_errors_keep_the_connection() {
    let (_py, conn, _) = twisted_peer().await;
    let sum = || Sum {
        a: big("2"),
        b: big("3"),
    };

    let r = within(
        "Fail ok",
        conn.call(Fail {
            mode: "ok".into(),
            text: "".into(),
        }),
    )
    .await
    .unwrap();
    assert_eq!((r.value, r.blob), (42, None));

    match within(
        "Fail declared",
        conn.call(Fail {
            mode: "declared".into(),
            text: "declared é".into(),
        }),
    )
    .await
    {
        Err(CallError::Remote(FailError::Declared(t))) => assert_eq!(t, "declared é"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        within("Sum after declared", conn.call(sum()))
            .await
            .unwrap()
            .total,
        big("5")
    );

    match within(
        "Fail other",
        conn.call(Fail {
            mode: "other".into(),
            text: "o".into(),
        }),
    )
    .await
    {
        Err(CallError::Remote(FailError::Other(t))) => assert_eq!(t, "o"),
        other => panic!("{other:?}"),
    }

    // A code Twisted declares but our table does not: unknown remote error,
    // the connection stays open.
    match within(
        "Fail secret",
        conn.call(Fail {
            mode: "secret".into(),
            text: "s3cret".into(),
        }),
    )
    .await
    {
        Err(CallError::UnknownRemote { code, description }) => {
            assert_eq!(&code[..], b"SECRET");
            assert_eq!(description, "s3cret");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        within("Sum after secret", conn.call(sum()))
            .await
            .unwrap()
            .total,
        big("5")
    );

    check_divide(&conn, 4, 0.25).await;

    // An errors table inherited by a subclass command.
    match within(
        "BaseFail base",
        conn.call(BaseFail {
            mode: "base".into(),
        }),
    )
    .await
    {
        Err(CallError::Remote(BaseFailError::Base(t))) => assert_eq!(t, "base failure"),
        other => panic!("{other:?}"),
    }
    match within(
        "ChildFail base",
        conn.call(ChildFail {
            mode: "base".into(),
        }),
    )
    .await
    {
        Err(CallError::Remote(ChildFailError::Base(BaseFailError::Base(t)))) => {
            assert_eq!(t, "base failure")
        }
        other => panic!("{other:?}"),
    }
    match within(
        "ChildFail child",
        conn.call(ChildFail {
            mode: "child".into(),
        }),
    )
    .await
    {
        Err(CallError::Remote(ChildFailError::Child(t))) => assert_eq!(t, "child failure"),
        other => panic!("{other:?}"),
    }
    within("ChildFail ok", conn.call(ChildFail { mode: "ok".into() }))
        .await
        .unwrap();

    // UNHANDLED keeps the connection.
    match within("NoSuchCommand", conn.call(NoSuchCommand {})).await {
        Err(CallError::Unhandled { description }) => {
            assert_eq!(description, "Unhandled Command: b'NoSuchCommand'")
        }
        other => panic!("{other:?}"),
    }
    // (A non-ASCII name would make Twisted's amp_NAME lookup raise and drop
    // the connection; a quote exercises Python's bytes repr.)
    match within(
        "raw unknown name",
        conn.call_raw("Nope'quote", AmpBox::new()),
    )
    .await
    {
        Err(CallError::Unhandled { description }) => {
            assert_eq!(description, r#"Unhandled Command: b"Nope'quote""#)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        within("Sum after unhandled", conn.call(sum()))
            .await
            .unwrap()
            .total,
        big("5")
    );
    assert!(!conn.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_command_declaring_unknown_gets_the_declared_error() {
    let (_py, conn, _) = twisted_peer().await;
    let r = within(
        "Choose known",
        conn.call(Choose {
            name: "known".into(),
        }),
    )
    .await
    .unwrap();
    assert_eq!(r.chosen, "known");
    match within(
        "Choose bogus",
        conn.call(Choose {
            name: "bogus é".into(),
        }),
    )
    .await
    {
        Err(CallError::Remote(ChooseError::UnknownProtocol(t))) => assert_eq!(t, "bogus é"),
        other => panic!("{other:?}"),
    }
    // A declared, non-fatal error: the connection stays open.
    let sum = Sum {
        a: big("2"),
        b: big("3"),
    };
    assert_eq!(
        within("Sum after declared UNKNOWN", conn.call(sum))
            .await
            .unwrap()
            .total,
        big("5")
    );
    // Twisted's undeclared failure is UNKNOWN / Unknown Error: declared here,
    // so it decodes as the declared variant (as Twisted's own caller would
    // see it), and Twisted closes the connection after sending it.
    match within(
        "Choose crash",
        conn.call(Choose {
            name: "crash".into(),
        }),
    )
    .await
    {
        Err(CallError::Remote(ChooseError::UnknownProtocol(t))) => {
            assert_eq!(t, "Unknown Error")
        }
        other => panic!("{other:?}"),
    }
    let why = within("the connection to close after UNKNOWN", conn.closed()).await;
    assert!(matches!(why, Disconnect::PeerClosed), "{why:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_inherited_command_with_flatten() {
    let (_py, conn, _) = twisted_peer().await;
    let zoe = Greet {
        name: "Zoë".into(),
        polite: Some(true),
    };
    let r = within("Greet", conn.call(zoe.clone())).await.unwrap();
    assert_eq!(r.greeting, "dear hello Zoë");
    let r = within(
        "GreetTwice",
        conn.call(GreetTwice {
            greet: zoe,
            times: 3,
            a_first: "hi".into(),
        }),
    )
    .await
    .unwrap();
    assert_eq!(
        r,
        GreetTwiceResult {
            base: GreetResult {
                greeting: "hi:dear hello Zoë".into()
            },
            count: 6
        }
    );
    let r = within(
        "GreetTwice absent",
        conn.call(GreetTwice {
            greet: Greet {
                name: "Al".into(),
                polite: None,
            },
            times: 0,
            a_first: String::new(),
        }),
    )
    .await
    .unwrap();
    assert_eq!((r.base.greeting.as_str(), r.count), (":hello Al", 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_fatal_error_closes_the_connection() {
    let (_py, conn, _) = twisted_peer().await;
    match within(
        "Fail fatal",
        conn.call(Fail {
            mode: "fatal".into(),
            text: "fatal text".into(),
        }),
    )
    .await
    {
        Err(CallError::Remote(FailError::Fatal(t))) => assert_eq!(t, "fatal text"),
        other => panic!("{other:?}"),
    }
    let why = within("the connection to close after a fatal error", conn.closed()).await;
    assert!(matches!(why, Disconnect::PeerClosed), "{why:?}");
    assert_lost_now(
        "Sum after fatal",
        conn.call(Sum {
            a: big("1"),
            b: big("1"),
        }),
    )
    .await;
}

async fn expect_unknown_then_closed<R: std::fmt::Debug, E: std::fmt::Debug>(
    conn: &Connection,
    what: &str,
    fut: impl std::future::Future<Output = Result<R, CallError<E>>>,
) {
    match within(what, fut).await {
        Err(CallError::UnknownRemote { code, description }) => {
            assert_eq!(&code[..], b"UNKNOWN", "{what}");
            assert_eq!(description, "Unknown Error", "{what}");
        }
        other => panic!("{what}: {other:?}"),
    }
    let why = within("the connection to close after UNKNOWN", conn.closed()).await;
    assert!(matches!(why, Disconnect::PeerClosed), "{what}: {why:?}");
    assert_lost_now(
        what,
        conn.call(Sum {
            a: big("1"),
            b: big("1"),
        }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_undeclared_exception_is_unknown_and_closes() {
    let (_py, conn, _) = twisted_peer().await;
    expect_unknown_then_closed(
        &conn,
        "Fail unknown",
        conn.call(Fail {
            mode: "unknown".into(),
            text: "boom".into(),
        }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_bad_local_return_is_unknown_and_closes() {
    let (_py, conn, _) = twisted_peer().await;
    expect_unknown_then_closed(
        &conn,
        "Fail badreturn",
        conn.call(Fail {
            mode: "badreturn".into(),
            text: "".into(),
        }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_with_undecodable_argument_is_unknown_and_closes() {
    let (_py, conn, _) = twisted_peer().await;
    let mut b = AmpBox::new();
    b.insert("a", "0x10");
    b.insert("b", "1");
    expect_unknown_then_closed(&conn, "Sum(a=0x10)", conn.call_raw("Sum", b)).await;
}
