//! Behaviour of `#[derive(Record)]`, `#[derive(Command)]` and
//! `#[derive(AmpError)]`.

use amp::{
    AmpBox, AmpError, Argument, CallError, Command, DecodeError, ErrorTable, NoError, RawError,
    Record,
};
use bytes::Bytes;

/// Serialise `entries` (already in wire order) as one box, by hand.
fn wire(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in entries {
        out.extend_from_slice(&(k.len() as u16).to_be_bytes());
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(&(v.len() as u16).to_be_bytes());
        out.extend_from_slice(v);
    }
    out.extend_from_slice(&[0, 0]);
    out
}

#[allow(non_snake_case)]
#[derive(Debug, PartialEq, Record)]
struct Unsorted {
    z: i32,
    a: String,
    B: bool,
}

#[test]
fn fields_are_written_in_bytewise_wire_name_order() {
    assert_eq!(Unsorted::FIELDS, &["B", "a", "z"]);
    let r = Unsorted {
        z: -7,
        a: "hé".into(),
        B: true,
    };
    let b = r.to_box().unwrap();
    let keys: Vec<&[u8]> = b.keys().collect();
    assert_eq!(keys, [&b"B"[..], b"a", b"z"]);
    assert_eq!(
        &b.to_bytes().unwrap()[..],
        &wire(&[("B", b"True"), ("a", "hé".as_bytes()), ("z", b"-7")])[..]
    );
    assert_eq!(Unsorted::from_box(&b).unwrap(), r);
}

#[derive(Debug, PartialEq, Record)]
struct Dashed {
    #[amp(name = "user-name")]
    user_name: String,
    #[amp(name = "user_id")]
    id: u64,
    plain: i8,
}

#[test]
fn dash_and_renamed_wire_names() {
    assert_eq!(Dashed::FIELDS, &["plain", "user-name", "user_id"]);
    let r = Dashed {
        user_name: "bob".into(),
        id: 9,
        plain: 1,
    };
    let b = r.to_box().unwrap();
    assert_eq!(b.get("user-name").unwrap(), &b"bob"[..]);
    assert_eq!(b.get("user_id").unwrap(), &b"9"[..]);
    assert!(b.get("user_name").is_none());
    assert!(b.get("id").is_none());
    assert_eq!(
        &b.to_bytes().unwrap()[..],
        &wire(&[("plain", b"1"), ("user-name", b"bob"), ("user_id", b"9")])[..]
    );
    assert_eq!(Dashed::from_box(&b).unwrap(), r);
}

#[derive(Debug, PartialEq, Record)]
struct Optional {
    required: i32,
    maybe: Option<String>,
}

#[test]
fn option_fields_absent_and_present() {
    let none = Optional {
        required: 1,
        maybe: None,
    };
    let b = none.to_box().unwrap();
    assert_eq!(b.len(), 1);
    assert!(!b.contains_key("maybe"));
    assert_eq!(Optional::from_box(&b).unwrap(), none);

    let some = Optional {
        required: 1,
        maybe: Some("x".into()),
    };
    let b = some.to_box().unwrap();
    assert_eq!(b.get("maybe").unwrap(), &b"x"[..]);
    assert_eq!(Optional::from_box(&b).unwrap(), some);

    // A missing required key is an error; an unknown key is ignored.
    let mut b = AmpBox::new();
    b.insert("maybe", "x");
    b.insert("extra", "ignored");
    let err: DecodeError = Optional::from_box(&b).unwrap_err();
    assert!(err.to_string().contains("required"), "{err}");
    b.insert("required", "5");
    assert_eq!(
        Optional::from_box(&b).unwrap(),
        Optional {
            required: 5,
            maybe: Some("x".into())
        }
    );
}

#[derive(Debug, PartialEq, Record)]
struct Item {
    name: String,
    qty: u32,
}

#[derive(Debug, PartialEq, Record)]
struct Order {
    id: u32,
    items: Vec<Item>,
}

#[derive(Debug, PartialEq, Record)]
struct Orders {
    orders: Vec<Order>,
    #[amp(name = "best-item")]
    best: Option<Item>,
}

#[test]
fn vec_of_records_is_an_amp_list() {
    let items = vec![
        Item {
            name: "a".into(),
            qty: 1,
        },
        Item {
            name: "bb".into(),
            qty: 22,
        },
    ];
    // AmpList: each element a complete box, concatenated, no length prefix.
    let v = amp::to_value(&items).unwrap();
    let mut expected = wire(&[("name", b"a"), ("qty", b"1")]);
    expected.extend(wire(&[("name", b"bb"), ("qty", b"22")]));
    assert_eq!(&v[..], &expected[..]);
    assert_eq!(amp::from_value::<Vec<Item>>(v).unwrap(), items);

    // Empty list: empty value.
    let empty: Vec<Item> = Vec::new();
    assert!(amp::to_value(&empty).unwrap().is_empty());
    assert_eq!(amp::from_value::<Vec<Item>>(&b""[..]).unwrap(), empty);
}

#[test]
fn nested_amp_lists_round_trip() {
    let o = Orders {
        orders: vec![
            Order {
                id: 1,
                items: vec![Item {
                    name: "x".into(),
                    qty: 3,
                }],
            },
            Order {
                id: 2,
                items: vec![],
            },
        ],
        best: Some(Item {
            name: "y".into(),
            qty: 4,
        }),
    };
    let b = o.to_box().unwrap();
    assert_eq!(Orders::FIELDS, &["best-item", "orders"]);
    // A record used as a single value is one serialised box.
    assert_eq!(
        b.get("best-item").unwrap(),
        &wire(&[("name", b"y"), ("qty", b"4")])[..]
    );
    let inner = wire(&[("name", b"x"), ("qty", b"3")]);
    let mut orders = wire(&[("id", b"1"), ("items", &inner)]);
    orders.extend(wire(&[("id", b"2"), ("items", b"")]));
    assert_eq!(b.get("orders").unwrap(), &orders[..]);
    assert_eq!(Orders::from_box(&b).unwrap(), o);
}

#[test]
fn record_as_value_needs_exactly_one_box() {
    let two = [wire(&[("name", b"a"), ("qty", b"1")]), wire(&[])].concat();
    assert!(amp::from_value::<Item>(two).is_err());
    let item = Item {
        name: "n".into(),
        qty: 0,
    };
    let v = amp::to_value(&item).unwrap();
    assert_eq!(Item::decode(v, &mut amp::Context::none()).unwrap(), item);
}

#[derive(Debug, PartialEq, Record)]
struct Raw {
    r#type: String,
    r#match: i32,
}

#[test]
fn raw_identifiers_drop_the_prefix() {
    assert_eq!(Raw::FIELDS, &["match", "type"]);
    let r = Raw {
        r#type: "t".into(),
        r#match: 2,
    };
    let b = r.to_box().unwrap();
    assert_eq!(b.get("type").unwrap(), &b"t"[..]);
    assert_eq!(Raw::from_box(&b).unwrap(), r);
}

#[derive(Debug, PartialEq, Record)]
struct Empty {}

#[derive(Debug, PartialEq, Record)]
struct UnitRecord;

#[test]
fn empty_records() {
    assert!(Empty::FIELDS.is_empty());
    assert!(Empty {}.to_box().unwrap().is_empty());
    assert_eq!(Empty::from_box(&AmpBox::new()).unwrap(), Empty {});
    assert_eq!(UnitRecord::from_box(&AmpBox::new()).unwrap(), UnitRecord);
    let v = amp::to_value(&vec![UnitRecord, UnitRecord]).unwrap();
    assert_eq!(&v[..], b"\x00\x00\x00\x00");
    assert_eq!(amp::from_value::<Vec<UnitRecord>>(v).unwrap().len(), 2);
}

// ---- commands ----

#[derive(Debug, PartialEq, Record)]
struct Total {
    total: i64,
}

#[derive(Debug, AmpError)]
enum BaseError {
    #[amp(code = "ZERO_DIVISION", description = "divided by zero")]
    ZeroDivision,
    #[amp(code = "BASE_FATAL", fatal)]
    BaseFatal(String),
}

#[derive(Debug, AmpError)]
#[amp(display)]
enum MidError {
    #[amp(code = "OVERFLOW")]
    Overflow,
    #[amp(code = "BAD", fatal)]
    Bad { message: String },
    #[amp(extends)]
    Base(BaseError),
}

#[derive(Debug, AmpError)]
#[amp(display)]
enum TopError {
    #[amp(code = "TOP")]
    Top(String),
    #[amp(extends)]
    Mid(MidError),
}

#[derive(Debug, PartialEq, Command)]
#[amp(name = "Sum", response = Total, error = MidError)]
struct Sum {
    a: i64,
    b: i64,
}

#[derive(Debug, Command)]
#[amp(response = "Total", error = "TopError")]
#[amp(requires_answer = false)]
struct Quoted {
    #[amp(name = "the-value")]
    value: Option<i64>,
}

#[derive(Debug, Command)]
struct Ping;

#[derive(Debug, Command)]
#[amp(name = "go-away", requires_answer = true)]
struct r#Move {}

fn requires_answer<C: Command>() -> bool {
    C::REQUIRES_ANSWER
}

fn assert_types<C: Command<Response = R, Error = E>, R, E>() {}

#[test]
fn command_constants() {
    assert_eq!(Sum::NAME, "Sum");
    assert!(requires_answer::<Sum>());
    assert_types::<Sum, Total, MidError>();
    assert_eq!(Sum::FIELDS, &["a", "b"]);
    let b = Sum { a: 1, b: 2 }.to_box().unwrap();
    assert_eq!(
        &b.to_bytes().unwrap()[..],
        &wire(&[("a", b"1"), ("b", b"2")])[..]
    );
    assert_eq!(Sum::from_box(&b).unwrap(), Sum { a: 1, b: 2 });

    assert_eq!(Quoted::NAME, "Quoted");
    assert!(!requires_answer::<Quoted>());
    assert_types::<Quoted, Total, TopError>();
    assert_eq!(Quoted::FIELDS, &["the-value"]);

    assert_eq!(Move::NAME, "go-away");
    assert!(requires_answer::<Move>());
}

#[test]
fn unit_struct_command_defaults() {
    assert_eq!(Ping::NAME, "Ping");
    assert!(requires_answer::<Ping>());
    assert_types::<Ping, (), NoError>();
    assert!(Ping::FIELDS.is_empty());
    assert!(Ping.to_box().unwrap().is_empty());
    let mut b = AmpBox::new();
    b.insert("ignored", "1");
    Ping::from_box(&b).unwrap();
    assert!(<Ping as Command>::Error::codes().is_empty());
    assert!(NoError::from_wire(b"ANY", "").is_none());
}

// ---- error tables ----

#[test]
fn error_codes_and_fatality() {
    assert_eq!(
        BaseError::codes(),
        [("ZERO_DIVISION", false), ("BASE_FATAL", true)]
    );
    assert_eq!(BaseError::ZeroDivision.code(), "ZERO_DIVISION");
    assert_eq!(BaseError::ZeroDivision.description(), "divided by zero");
    assert!(!BaseError::ZeroDivision.is_fatal());
    let f = BaseError::BaseFatal("gone".into());
    assert!(f.is_fatal());
    assert_eq!(f.code(), "BASE_FATAL");
    assert_eq!(f.description(), "gone");

    assert_eq!(MidError::Overflow.description(), "");
    let bad = MidError::Bad {
        message: "nope".into(),
    };
    assert!(bad.is_fatal());
    assert_eq!(bad.description(), "nope");
}

#[test]
fn error_from_wire() {
    assert!(matches!(
        BaseError::from_wire(b"ZERO_DIVISION", "ignored"),
        Some(BaseError::ZeroDivision)
    ));
    match BaseError::from_wire(b"BASE_FATAL", "why") {
        Some(BaseError::BaseFatal(s)) => assert_eq!(s, "why"),
        other => panic!("{other:?}"),
    }
    match MidError::from_wire(b"BAD", "text") {
        Some(MidError::Bad { message }) => assert_eq!(message, "text"),
        other => panic!("{other:?}"),
    }
    assert!(BaseError::from_wire(b"OVERFLOW", "").is_none());
    assert!(MidError::from_wire(b"UNKNOWN", "").is_none());
    assert!(MidError::from_wire(b"zero_division", "").is_none());
}

#[test]
fn error_tables_extend_two_levels() {
    assert_eq!(
        TopError::codes(),
        [
            ("TOP", false),
            ("OVERFLOW", false),
            ("BAD", true),
            ("ZERO_DIVISION", false),
            ("BASE_FATAL", true),
        ]
    );
    let e = TopError::from_wire(b"ZERO_DIVISION", "x").unwrap();
    assert!(matches!(
        e,
        TopError::Mid(MidError::Base(BaseError::ZeroDivision))
    ));
    assert_eq!(e.code(), "ZERO_DIVISION");
    assert!(!e.is_fatal());
    assert_eq!(e.description(), "divided by zero");

    let e = TopError::from_wire(b"BASE_FATAL", "deep").unwrap();
    assert!(e.is_fatal());
    assert_eq!(e.code(), "BASE_FATAL");
    assert_eq!(e.description(), "deep");

    let e = TopError::from_wire(b"TOP", "t").unwrap();
    assert!(matches!(&e, TopError::Top(s) if s == "t"));
    assert!(TopError::from_wire(b"NOPE", "").is_none());
}

#[derive(Debug, AmpError)]
enum Shadowing {
    // Own codes win over an extended table's.
    #[amp(code = "OVERFLOW", description = "mine")]
    Mine,
    #[amp(extends)]
    Other(MidError),
}

#[test]
fn own_codes_are_tried_first() {
    let e = Shadowing::from_wire(b"OVERFLOW", "").unwrap();
    assert!(matches!(e, Shadowing::Mine));
    assert!(matches!(
        Shadowing::from_wire(b"BAD", "b"),
        Some(Shadowing::Other(MidError::Bad { .. }))
    ));
}

/// Twisted's own tests: `errors = {UnknownProtocol: b"UNKNOWN"}`.
#[derive(Debug, AmpError)]
enum SwitchError {
    #[amp(code = "UNKNOWN")]
    UnknownProtocol(String),
    #[amp(code = "GONE", fatal)]
    Gone,
}

#[derive(Debug, AmpError)]
enum ExtendsSwitch {
    #[amp(code = "MINE")]
    Mine,
    #[amp(extends)]
    Switch(SwitchError),
}

#[test]
fn declared_unknown_code_decodes_to_its_variant() {
    assert_eq!(SwitchError::codes(), [("UNKNOWN", false), ("GONE", true)]);
    match SwitchError::from_wire(b"UNKNOWN", "no such protocol") {
        Some(SwitchError::UnknownProtocol(d)) => assert_eq!(d, "no such protocol"),
        other => panic!("{other:?}"),
    }
    // Through an `extends` table too.
    assert!(matches!(
        ExtendsSwitch::from_wire(b"UNKNOWN", "x"),
        Some(ExtendsSwitch::Switch(SwitchError::UnknownProtocol(_)))
    ));

    // The caller's view, in Twisted's order: declared first, then generic.
    match CallError::<SwitchError>::from_wire(Bytes::from_static(b"UNKNOWN"), "why".into()) {
        CallError::Remote(SwitchError::UnknownProtocol(d)) => assert_eq!(d, "why"),
        other => panic!("{other:?}"),
    }
    // Undeclared: still the generic unknown error.
    match CallError::<BaseError>::from_wire(Bytes::from_static(b"UNKNOWN"), "Unknown Error".into())
    {
        CallError::UnknownRemote { code, description } => {
            assert_eq!(&code[..], b"UNKNOWN");
            assert_eq!(description, "Unknown Error");
        }
        other => panic!("{other:?}"),
    }
    // UNHANDLED is never looked up in the table.
    assert!(matches!(
        CallError::<SwitchError>::from_wire(Bytes::from_static(b"UNHANDLED"), "u".into()),
        CallError::Unhandled { .. }
    ));
}

#[test]
fn declared_unknown_code_round_trips_and_is_not_fatal() {
    let sent = RawError::from_table(&SwitchError::UnknownProtocol("bogus".into()));
    assert_eq!(&sent.code[..], b"UNKNOWN");
    assert_eq!(sent.description, "bogus");
    assert!(
        !sent.fatal,
        "a declared, non-fatal UNKNOWN keeps the connection"
    );
    match CallError::<SwitchError>::from_wire(sent.code, sent.description) {
        CallError::Remote(SwitchError::UnknownProtocol(d)) => assert_eq!(d, "bogus"),
        other => panic!("{other:?}"),
    }
    assert!(RawError::from_table(&SwitchError::Gone).fatal);
}

#[test]
fn display_is_description_or_code() {
    assert_eq!(MidError::Overflow.to_string(), "OVERFLOW");
    assert_eq!(
        MidError::Bad {
            message: "m".into()
        }
        .to_string(),
        "m"
    );
    assert_eq!(
        MidError::Base(BaseError::ZeroDivision).to_string(),
        "divided by zero"
    );
    assert_eq!(TopError::Top(String::new()).to_string(), "TOP");
}

#[derive(Debug, AmpError)]
enum NoVariants {}

#[derive(Debug, AmpError)]
enum OnlyExtends {
    #[amp(extends)]
    A(BaseError),
    #[amp(extends)]
    B(NoVariants),
}

#[test]
fn empty_and_extends_only_tables() {
    assert!(NoVariants::codes().is_empty());
    assert!(NoVariants::from_wire(b"X", "").is_none());
    assert_eq!(OnlyExtends::codes().len(), 2);
    assert!(matches!(
        OnlyExtends::from_wire(b"ZERO_DIVISION", ""),
        Some(OnlyExtends::A(_))
    ));
}

mod paths {
    //! The derives work without any `amp` items imported.
    #[derive(Debug, amp::Record)]
    pub struct R {
        pub x: Option<Vec<u8>>,
    }

    #[derive(Debug, amp::Command)]
    #[amp(response = R, error = E)]
    pub struct C {
        pub list: Vec<R>,
    }

    #[derive(Debug, amp::AmpError)]
    pub enum E {
        #[amp(code = "E")]
        E,
    }
}

#[test]
fn derives_need_no_imports() {
    use paths::*;
    assert_eq!(C::NAME, "C");
    let c = C {
        list: vec![R { x: None }, R { x: Some(vec![1]) }],
    };
    let b = c.to_box().unwrap();
    assert_eq!(C::from_box(&b).unwrap().list.len(), 2);
    assert_eq!(E::E.code(), "E");
}

#[no_implicit_prelude]
mod no_prelude {
    //! The generated code names everything by absolute path.
    #[derive(::amp::Record)]
    pub struct R {
        pub x: ::std::option::Option<::std::string::String>,
        pub l: ::std::vec::Vec<R>,
    }

    #[derive(::amp::Command)]
    #[amp(response = R, error = E)]
    pub struct C {
        pub r: R,
    }

    #[derive(::amp::Command)]
    pub struct Flat {
        #[amp(flatten)]
        pub c: C,
        #[amp(flatten)]
        pub s: S,
        pub z: i64,
    }

    #[derive(::amp::Record)]
    pub struct S {
        pub s: i64,
    }

    #[derive(Debug, ::amp::AmpError)]
    #[amp(display)]
    pub enum E {
        #[amp(code = "A")]
        A(::std::string::String),
        #[amp(extends)]
        B(::amp::NoError),
    }
}

#[test]
fn no_implicit_prelude_is_fine() {
    assert_eq!(<no_prelude::C as Command>::NAME, "C");
    assert_eq!(no_prelude::E::A("x".into()).to_string(), "x");
    assert_eq!(no_prelude::R::FIELDS, &["l", "x"]);
    assert_eq!(no_prelude::Flat::FIELDS, &["r", "s", "z"]);
}

// ---- #[amp(flatten)]: Twisted's command inheritance ----

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

/// Chunked arguments in a derived record: `data` spans `data`, `data.2`;
/// `note` (optional) is absent or chunked likewise.
#[derive(Debug, PartialEq, Record)]
struct Big {
    data: amp::BigBytes,
    #[amp(name = "data-len")]
    data_len: i64,
    note: Option<amp::BigString>,
    zipped: amp::Compressed,
}

#[test]
fn derived_records_chunk_big_values() {
    let r = Big {
        data: vec![9u8; 65_536].into(),
        data_len: 65_536,
        note: None,
        zipped: vec![1u8; 10].into(),
    };
    let b = r.to_box().unwrap();
    let keys: Vec<&[u8]> = b.keys().collect();
    assert_eq!(keys, [&b"data"[..], b"data-len", b"data.2", b"zipped"]);
    assert_eq!(b.get("data.2"), Some(&[9u8][..]));
    assert_eq!(Big::from_box(&b).unwrap(), r);

    let mut b = b;
    b.insert("note", "é".as_bytes()[..1].to_vec());
    b.insert("note.2", "é".as_bytes()[1..].to_vec());
    let got = Big::from_box(&b).unwrap();
    assert_eq!(got.note.as_deref().map(String::as_str), Some("é"));
    // Without `data`, the record is missing it, even with `data.2` there.
    b.remove("data");
    assert!(matches!(
        Big::from_box(&b),
        Err(DecodeError::Missing { key }) if key == "data"
    ));
}
