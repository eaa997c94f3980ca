//! `#[derive(Command)]` and `#[derive(AmpError)]`: commands and their error
//! tables.

use amp::{AmpBox, AmpError, CallError, Command, ErrorTable, NoError, RawError, Record};
use bytes::Bytes;

use crate::wire;

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
