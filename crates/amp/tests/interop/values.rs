//! Rust calls Twisted with every value type, lists, `AmpList`s, optional
//! and dash-named arguments.

use std::path::PathBuf;

use amp::{AmpBox, Decimal};
use bytes::Bytes;
use chrono::{DateTime, FixedOffset};
use num_bigint::BigInt;

use crate::commands::*;
use crate::common::within;
use crate::helpers::{big, check_echo, dec, dt, same_f64, twisted_peer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_every_value_type() {
    let (_py, conn, _) = twisted_peer().await;
    let eq = |a: &BigInt, b: &BigInt| a == b;
    for (v, repr) in [
        ("0", "0"),
        ("1", "1"),
        ("-1", "-1"),
        ("42", "42"),
        ("9223372036854775807", "9223372036854775807"),
        ("-9223372036854775808", "-9223372036854775808"),
        ("18446744073709551616", "18446744073709551616"),
        (
            "1267650600228229401496703205383",
            "1267650600228229401496703205383",
        ),
        (
            "-170141183460469231731687303715884118073",
            "-170141183460469231731687303715884118073",
        ),
    ] {
        check_echo::<EchoInteger>(&conn, big(v), repr, eq).await;
    }

    let eq = |a: &Vec<u8>, b: &Vec<u8>| a == b;
    check_echo::<EchoString>(&conn, vec![], "b''", eq).await;
    check_echo::<EchoString>(&conn, b"abc".to_vec(), "b'abc'", eq).await;
    check_echo::<EchoString>(&conn, vec![0, 0xff, 0x80, b'\n'], r"b'\x00\xff\x80\n'", eq).await;
    let all: Vec<u8> = (0..=255).collect();
    check_echo::<EchoString>(&conn, all, &python_bytes_repr_all(), eq).await;

    let eq = |a: &String, b: &String| a == b;
    for (v, repr) in [
        ("", "''"),
        ("hello", "'hello'"),
        ("héllo wörld", r"'h\xe9llo w\xf6rld'"),
        ("日本語", r"'\u65e5\u672c\u8a9e'"),
        ("😀", r"'\U0001f600'"),
        ("a\0b", r"'a\x00b'"),
    ] {
        check_echo::<EchoUnicode>(&conn, v.to_string(), repr, eq).await;
    }

    let eq = |a: &bool, b: &bool| a == b;
    check_echo::<EchoBoolean>(&conn, true, "True", eq).await;
    check_echo::<EchoBoolean>(&conn, false, "False", eq).await;

    let eq = |a: &f64, b: &f64| same_f64(*a, *b);
    for (v, repr) in [
        (0.1, "0.1"),
        (-0.0, "-0.0"),
        (0.0, "0.0"),
        (1.0, "1.0"),
        (5.0, "5.0"),
        (1e16, "1e+16"),
        (1e-5, "1e-05"),
        (5e-324, "5e-324"),
        (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
        (f64::MAX, "1.7976931348623157e+308"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
        (f64::NAN, "nan"),
        (123456789.123, "123456789.123"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e22, "1e+22"),
        (123456789012345680.0, "1.2345678901234568e+17"),
        (0.0001, "0.0001"),
    ] {
        check_echo::<EchoFloat>(&conn, v, repr, eq).await;
    }

    let eq = |a: &Decimal, b: &Decimal| a.to_string() == b.to_string() && a == b;
    for s in [
        "1.50",
        "1E+2",
        "-0",
        "0",
        "NaN",
        "-NaN",
        "sNaN",
        "-sNaN",
        "Infinity",
        "-Infinity",
        "123456789012345678901234567890.123456789",
        "1E-7",
        "-0.000",
        "0E+3",
        "0.000001",
        "1.5E+300",
    ] {
        let d = dec(s);
        assert_eq!(d.to_string(), s, "Decimal text must round-trip");
        check_echo::<EchoDecimal>(&conn, d, s, eq).await;
    }

    let eq = |a: &DateTime<FixedOffset>, b: &DateTime<FixedOffset>| {
        a == b && a.offset() == b.offset() && a.naive_local() == b.naive_local()
    };
    for (v, repr) in [
        (
            dt(2024, 1, 2, 3, 4, 5, 6, 0),
            "2024-01-02T03:04:05.000006+00:00",
        ),
        (
            dt(2024, 2, 29, 23, 59, 59, 999_999, 330),
            "2024-02-29T23:59:59.999999+05:30",
        ),
        (
            dt(1999, 12, 31, 16, 0, 0, 0, -480),
            "1999-12-31T16:00:00.000000-08:00",
        ),
        (
            dt(1, 1, 1, 0, 0, 0, 0, 330),
            "0001-01-01T00:00:00.000000+05:30",
        ),
        (
            dt(9999, 12, 31, 23, 59, 59, 999_999, -480),
            "9999-12-31T23:59:59.999999-08:00",
        ),
    ] {
        check_echo::<EchoDateTime>(&conn, v, repr, eq).await;
    }
    // Twisted writes a zero offset as "-00:00"; so must we.
    assert_eq!(
        &amp::to_value(&dt(2024, 1, 2, 3, 4, 5, 6, 0)).unwrap()[..],
        b"2024-01-02T03:04:05.000006-00:00"
    );

    let eq = |a: &PathBuf, b: &PathBuf| a == b;
    check_echo::<EchoPath>(&conn, PathBuf::from("/"), "FilePath('/')", eq).await;
    check_echo::<EchoPath>(
        &conn,
        PathBuf::from("/tmp/amp test/été.txt"),
        r"FilePath('/tmp/amp test/\xe9t\xe9.txt')",
        eq,
    )
    .await;

    // Still one healthy connection after all that.
    assert!(!conn.is_closed());
}

/// Python's repr of bytes(range(256)).
fn python_bytes_repr_all() -> String {
    let mut s = String::from("b'");
    for c in 0u8..=255 {
        match c {
            b'\\' => s.push_str(r"\\"),
            b'\'' => s.push_str(r"\'"),
            b'\t' => s.push_str(r"\t"),
            b'\n' => s.push_str(r"\n"),
            b'\r' => s.push_str(r"\r"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('\'');
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_lists_nested_and_empty() {
    let (_py, conn, _) = twisted_peer().await;
    let full = EchoLists {
        ints: vec![
            big("0"),
            big("-1"),
            big("1180591620717411303424"),
            big("-1208925819614629174706176"),
            big("7"),
        ],
        texts: vec!["".into(), "é".into(), "a\0b".into(), "😀".into()],
        nested: vec![
            vec![big("1"), big("2")],
            vec![],
            vec![big("3")],
            vec![big("-36893488147419103232")],
        ],
        bins: vec![vec![], vec![0, 1], vec![0xff]],
        floats: vec![0.1, -0.0, f64::INFINITY, f64::NAN, 1e16],
    };
    let r = within("EchoLists", conn.call(full.clone())).await.unwrap();
    assert_eq!(
        r.repr,
        r"{bins: [b'', b'\x00\x01', b'\xff'], floats: [0.1, -0.0, inf, nan, 1e+16], ints: [0, -1, 1180591620717411303424, -1208925819614629174706176, 7], nested: [[1, 2], [], [3], [-36893488147419103232]], texts: ['', '\xe9', 'a\x00b', '\U0001f600']}"
    );
    assert_eq!(r.ints, full.ints);
    assert_eq!(r.texts, full.texts);
    assert_eq!(r.nested, full.nested);
    assert_eq!(r.bins, full.bins);
    assert_eq!(r.floats.len(), 5);
    for (a, b) in r.floats.iter().zip(&full.floats) {
        assert!(same_f64(*a, *b), "{a} vs {b}");
    }

    let empty = EchoLists {
        ints: vec![],
        texts: vec![],
        nested: vec![vec![], vec![]],
        bins: vec![],
        floats: vec![],
    };
    let r = within("EchoLists empty", conn.call(empty.clone()))
        .await
        .unwrap();
    assert_eq!(
        r.repr,
        "{bins: [], floats: [], ints: [], nested: [[], []], texts: []}"
    );
    assert_eq!(r.nested, empty.nested);
    assert!(r.ints.is_empty() && r.texts.is_empty() && r.bins.is_empty() && r.floats.is_empty());

    // Byte-for-byte: Twisted re-encodes our list values identically.
    let mut b = AmpBox::new();
    let ours = [
        ("ints", amp::to_value(&full.ints).unwrap()),
        ("texts", amp::to_value(&full.texts).unwrap()),
        ("nested", amp::to_value(&full.nested).unwrap()),
        ("bins", amp::to_value(&full.bins).unwrap()),
        ("floats", amp::to_value(&full.floats).unwrap()),
    ];
    for (k, v) in &ours {
        b.insert(*k, v.clone());
    }
    let ans = within("EchoLists raw", conn.call_raw("EchoLists", b))
        .await
        .unwrap();
    for (k, v) in &ours {
        assert_eq!(ans.get(*k), Some(&v[..]), "ListOf value {k}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_amp_list_nested_and_empty() {
    let (_py, conn, _) = twisted_peer().await;
    let orders = vec![
        Order {
            id: 1,
            items: vec![
                Item {
                    name: "apple".into(),
                    qty: big("3"),
                },
                Item {
                    name: "pär".into(),
                    qty: big("1180591620717411303424"),
                },
            ],
            note: Some("rush".into()),
        },
        Order {
            id: 2,
            items: vec![],
            note: None,
        },
        Order {
            id: 3,
            items: vec![Item {
                name: "".into(),
                qty: big("-1"),
            }],
            note: Some("".into()),
        },
    ];
    let r = within(
        "EchoAmpList",
        conn.call(EchoAmpList {
            orders: orders.clone(),
        }),
    )
    .await
    .unwrap();
    assert_eq!(r.orders, orders);
    assert_eq!(
        r.repr,
        r"[{id: 1, items: [{name: 'apple', qty: 3}, {name: 'p\xe4r', qty: 1180591620717411303424}], note: 'rush'}, {id: 2, items: [], note: None}, {id: 3, items: [{name: '', qty: -1}], note: ''}]"
    );
    let r = within(
        "EchoAmpList empty",
        conn.call(EchoAmpList { orders: vec![] }),
    )
    .await
    .unwrap();
    assert!(r.orders.is_empty());
    assert_eq!(r.repr, "[]");

    let ours = amp::to_value(&orders).unwrap();
    let mut b = AmpBox::new();
    b.insert("orders", ours.clone());
    let ans = within("EchoAmpList raw", conn.call_raw("EchoAmpList", b))
        .await
        .unwrap();
    assert_eq!(ans.get("orders"), Some(&ours[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_optional_and_dash_named_arguments() {
    let (_py, conn, _) = twisted_peer().await;
    let r = within(
        "Options absent",
        conn.call(Options {
            required: 1,
            maybe: None,
            dash_arg: 5,
            opt_list: None,
        }),
    )
    .await
    .unwrap();
    assert_eq!(r.repr, "required=1 maybe=None dash-arg=5 opt-list=None");
    assert_eq!((r.maybe, r.dash_arg, r.opt_list), (None, 5, None));

    let r = within(
        "Options present but empty",
        conn.call(Options {
            required: 2,
            maybe: Some("".into()),
            dash_arg: -5,
            opt_list: Some(vec![]),
        }),
    )
    .await
    .unwrap();
    assert_eq!(r.repr, "required=2 maybe='' dash-arg=-5 opt-list=[]");
    assert_eq!(
        (r.maybe, r.dash_arg, r.opt_list),
        (Some("".into()), -5, Some(vec![]))
    );

    let r = within(
        "Options present",
        conn.call(Options {
            required: 3,
            maybe: Some("xé".into()),
            dash_arg: 0,
            opt_list: Some(vec![1, 2]),
        }),
    )
    .await
    .unwrap();
    assert_eq!(
        r.repr,
        r"required=3 maybe='x\xe9' dash-arg=0 opt-list=[1, 2]"
    );
    assert_eq!((r.maybe, r.opt_list), (Some("xé".into()), Some(vec![1, 2])));

    // On the wire: an absent optional is no key at all; Twisted does the same.
    let mut b = AmpBox::new();
    b.insert("required", "1");
    b.insert("dash-arg", "5");
    let ans = within("Options raw", conn.call_raw("Options", b))
        .await
        .unwrap();
    let mut keys: Vec<_> = ans.keys().map(Bytes::copy_from_slice).collect();
    keys.sort();
    assert_eq!(keys, vec![Bytes::from("dash-arg"), Bytes::from("repr")]);
}
