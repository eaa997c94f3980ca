//! `#[amp(flatten)]`: Twisted's command inheritance.

use amp::{AmpBox, Command, Record};
use bytes::Bytes;

use crate::wire;

/// Twisted: `class Greet(Command): arguments = [(b"name", Unicode()),
/// (b"polite", Boolean(optional=True))]; response = [(b"greeting", Unicode())]`.
#[derive(Debug, Clone, PartialEq, Command)]
#[amp(response = GreetResult)]
struct Greet {
    name: String,
    polite: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Record)]
struct GreetResult {
    greeting: String,
}

/// Twisted: `class GreetTwice(Greet): arguments = Greet.arguments +
/// [(b"times", Integer()), (b"a-first", Unicode())]; response =
/// Greet.response + [(b"count", Integer())]`.
#[derive(Debug, Clone, PartialEq, Command)]
#[amp(response = GreetTwiceResult)]
struct GreetTwice {
    #[amp(flatten)]
    greet: Greet,
    times: i64,
    #[amp(name = "a-first")]
    a_first: String,
}

#[derive(Debug, Clone, PartialEq, Record)]
struct GreetTwiceResult {
    #[amp(flatten)]
    base: GreetResult,
    count: i64,
}

#[test]
fn flattened_command_writes_what_twisted_writes_for_the_subclass() {
    assert_eq!(
        GreetTwice::FIELDS,
        &["a-first", "name", "polite", "times"],
        "flattened names included, bytewise sorted"
    );
    assert_eq!(<GreetTwice as Command>::NAME, "GreetTwice");
    let c = GreetTwice {
        greet: Greet {
            name: "Zoë".into(),
            polite: Some(true),
        },
        times: 3,
        a_first: "hi".into(),
    };
    let b = c.to_box().unwrap();
    // Twisted 26.10: AmpBox(GreetTwice.makeArguments({...}, None)).serialize()
    let twisted: &[u8] = b"\x00\x07a-first\x00\x02hi\x00\x04name\x00\x04Zo\xc3\xab\
        \x00\x06polite\x00\x04True\x00\x05times\x00\x013\x00\x00";
    assert_eq!(&b.to_bytes().unwrap()[..], twisted);
    assert_eq!(GreetTwice::from_box(&b).unwrap(), c);

    // Written straight into a buffer, with `_ask`/`_command` merged in.
    let mut out = bytes::BytesMut::new();
    let mut w = amp::FieldWriter::new(&mut out, &[(b"_ask", b"1"), (b"_command", b"GreetTwice")]);
    c.write_fields(&mut w, &mut amp::Context::none()).unwrap();
    w.finish().unwrap();
    let mut want = b"\x00\x04_ask\x00\x011\x00\x08_command\x00\x0aGreetTwice".to_vec();
    want.extend_from_slice(twisted);
    assert_eq!(&out[..], &want[..]);

    let absent = GreetTwice {
        greet: Greet {
            name: "Al".into(),
            polite: None,
        },
        times: 0,
        a_first: String::new(),
    };
    assert_eq!(
        &absent.to_box().unwrap().to_bytes().unwrap()[..],
        &b"\x00\x07a-first\x00\x00\x00\x04name\x00\x02Al\x00\x05times\x00\x010\x00\x00"[..]
    );

    let r = GreetTwiceResult {
        base: GreetResult {
            greeting: "hello".into(),
        },
        count: 6,
    };
    assert_eq!(GreetTwiceResult::FIELDS, &["count", "greeting"]);
    let rb = r.to_box().unwrap();
    // Twisted: AmpBox(GreetTwice.makeResponse({...}, None)).serialize()
    assert_eq!(
        &rb.to_bytes().unwrap()[..],
        &b"\x00\x05count\x00\x016\x00\x08greeting\x00\x05hello\x00\x00"[..]
    );
    assert_eq!(GreetTwiceResult::from_box(&rb).unwrap(), r);
}

#[test]
fn flattened_fields_are_required_as_declared() {
    // A flattened record's missing required key is reported by name.
    let b = AmpBox::decode(Bytes::from_static(
        b"\x00\x07a-first\x00\x00\x00\x05times\x00\x010\x00\x00",
    ))
    .unwrap();
    let e = GreetTwice::from_box(&b).unwrap_err();
    assert!(e.to_string().contains("name"), "{e}");
}

#[derive(Debug, Clone, PartialEq, Record)]
struct Inner2 {
    b: i64,
    #[amp(name = "d")]
    dee: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Record)]
struct Middle {
    #[amp(flatten)]
    inner: Inner2,
    c: i64,
}

#[derive(Debug, Clone, PartialEq, Record)]
struct Outer2 {
    e: i64,
    #[amp(flatten)]
    middle: Middle,
    a: i64,
    #[amp(flatten)]
    greet: GreetResult,
}

#[derive(Debug, Clone, PartialEq, Record)]
struct OnlyFlat {
    #[amp(flatten)]
    inner: Inner2,
}

#[test]
fn flatten_nests_and_mixes() {
    assert_eq!(Middle::FIELDS, &["b", "c", "d"]);
    assert_eq!(Outer2::FIELDS, &["a", "b", "c", "d", "e", "greeting"]);
    assert_eq!(OnlyFlat::FIELDS, &["b", "d"]);
    let o = Outer2 {
        e: 5,
        middle: Middle {
            inner: Inner2 {
                b: 2,
                dee: Some("four".into()),
            },
            c: 3,
        },
        a: 1,
        greet: GreetResult {
            greeting: "g".into(),
        },
    };
    let b = o.to_box().unwrap();
    assert_eq!(
        &b.to_bytes().unwrap()[..],
        &wire(&[
            ("a", b"1"),
            ("b", b"2"),
            ("c", b"3"),
            ("d", b"four"),
            ("e", b"5"),
            ("greeting", b"g"),
        ])[..]
    );
    assert_eq!(Outer2::from_box(&b).unwrap(), o);

    let only = OnlyFlat {
        inner: Inner2 { b: 7, dee: None },
    };
    let b = only.to_box().unwrap();
    assert_eq!(&b.to_bytes().unwrap()[..], &wire(&[("b", b"7")])[..]);
    assert_eq!(OnlyFlat::from_box(&b).unwrap(), only);

    // A record with flattened fields is still a value: an AmpList of them.
    let list = vec![o.clone(), o];
    let raw = amp::to_value(&list).unwrap();
    let back: Vec<Outer2> = amp::from_value(raw).unwrap();
    assert_eq!(back, list);
}
