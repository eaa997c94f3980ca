//! Schema → generated Rust → `Command::describe()` → schema gives the
//! schema back, and so do derive types written by hand for the same
//! commands: derive → schema → generated → derive is closed.
//!
//! What the Rust side cannot know, and the comparison therefore leaves
//! out (`normalize`):
//!
//! * Python exception names: a Rust error table has codes only, so
//!   `CommandSchema::from` makes each code stand for itself;
//! * the Python class name (`class`): the Rust type's name is not part of
//!   a description;
//! * the Python class of a `Raw` argument: Rust says only "a type of its
//!   own";
//! * `kind`: a derived command describes itself as plain; its kind comes
//!   from how a router serves it (`Router::route_switch`), so a generated
//!   switch command is plain here, and its doc ends with the generated
//!   note on its kind (asserted exactly below).

use std::path::PathBuf;

use amp::{AmpError, Command, Record};
use amp_schema::{ArgType, CommandSchema, Field, Format, Kind, Schema};

fn schema_file(name: &str) -> Schema {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let schema = Schema::parse(&text, Format::Json).unwrap();
    assert!(schema.problems().is_empty(), "{:?}", schema.problems());
    schema
}

/// The schema's commands as a Rust description can tell them.
fn normalize(commands: &[CommandSchema]) -> Vec<CommandSchema> {
    fn fields(fs: &[Field]) -> Vec<Field> {
        fs.iter()
            .map(|f| Field {
                ty: ty(&f.ty),
                ..f.clone()
            })
            .collect()
    }
    fn ty(t: &ArgType) -> ArgType {
        match t {
            ArgType::Raw { .. } => ArgType::Raw { class: None },
            ArgType::ListOf { of } => ArgType::ListOf {
                of: Box::new(ty(of)),
            },
            ArgType::AmpList { fields: fs } => ArgType::AmpList { fields: fields(fs) },
            other => other.clone(),
        }
    }
    let codes = |m: &std::collections::BTreeMap<String, String>| {
        m.keys().map(|c| (c.clone(), c.clone())).collect()
    };
    commands
        .iter()
        .map(|c| CommandSchema {
            class: None,
            arguments: fields(&c.arguments),
            response: fields(&c.response),
            errors: codes(&c.errors),
            fatal_errors: codes(&c.fatal_errors),
            kind: Kind::Command,
            ..c.clone()
        })
        .collect()
}

macro_rules! described {
    ($($t:ty),* $(,)?) => {
        vec![$(CommandSchema::from(&<$t>::describe())),*]
    };
}

const SWITCH_NOTE: &str = "Kind: switch (a protocol switch). Call it with `Connection::switch`, \
                           answer it with `Router::route_switch`.";

/// The generated switch command's doc is the schema's, then the note.
fn strip_switch_note(c: &mut CommandSchema, schema_doc: Option<&str>) {
    let want = match schema_doc {
        Some(d) => format!("{d}\n\n{SWITCH_NOTE}"),
        None => SWITCH_NOTE.to_owned(),
    };
    assert_eq!(c.doc.as_deref(), Some(want.as_str()), "{}", c.name);
    c.doc = schema_doc.map(str::to_owned);
}

#[test]
fn every_type_generated_describes_as_the_schema() {
    use codegen_check::every_type::*;
    let file = schema_file("every_type.json");
    let mut got = described![EveryType, Notify, PassFd, SwitchProto, Empty];
    let switch = file
        .commands
        .iter()
        .position(|c| c.kind == Kind::Switch)
        .unwrap();
    strip_switch_note(&mut got[switch], file.commands[switch].doc.as_deref());
    assert_eq!(got, normalize(&file.commands));

    // With Integer as BigInt the description is the same.
    use codegen_check::every_type_bigint as big;
    let mut got_big = described![
        big::EveryType,
        big::Notify,
        big::PassFd,
        big::SwitchProto,
        big::Empty
    ];
    strip_switch_note(&mut got_big[switch], file.commands[switch].doc.as_deref());
    assert_eq!(got_big, got);
}

#[test]
fn test_amp_generated_describes_as_the_imported_schema() {
    use codegen_check::test_amp::*;
    let file = schema_file("test_amp.json");
    let mut got = described![
        Hello,
        Wtf,
        BrokenReturn,
        Goodbye,
        WaitForever,
        GetList,
        DontRejectMe,
        SecuredPing,
        TestSwitchProto,
        SimpleGreeting,
        BaseCommand,
        InheritedCommand,
        AddErrorsCommand,
        ProtocolIncludingCommand,
        MagicSchemaCommand,
        ProtocolIncludingCommandWithDifferentCommandType,
    ];
    assert_eq!(
        got.len(),
        file.commands.len(),
        "every command is listed here"
    );
    for (i, c) in file.commands.iter().enumerate() {
        if c.kind == Kind::Switch {
            strip_switch_note(&mut got[i], c.doc.as_deref());
        }
    }
    assert_eq!(got, normalize(&file.commands));
}

/// every_type.json's commands written by hand with the derives.
mod by_hand {
    use super::*;
    use codegen_check::every_type::RawValue as Custom;
    use std::path::PathBuf;

    /// Every argument type a schema knows.
    ///
    /// Second paragraph, with `code`.
    #[derive(Command)]
    #[amp(name = "everyType", response = EveryResponse, error = EveryError)]
    pub struct Every {
        integer: i64,
        string: Vec<u8>,
        unicode: String,
        boolean: bool,
        float: f64,
        decimal: amp::Decimal,
        #[amp(name = "dateTime")]
        date_time: chrono::DateTime<chrono::FixedOffset>,
        path: PathBuf,
        #[amp(name = "big-string")]
        big_string: amp::BigBytes,
        big_unicode: amp::BigString,
        raw: Custom,
        r#type: Option<i64>,
        ints: Vec<i64>,
        matrix: Option<Vec<Vec<String>>>,
        raws: Vec<Custom>,
        items: Vec<Item>,
    }

    #[derive(Record)]
    pub struct Item {
        name: String,
        score: Option<f64>,
        tags: Vec<Vec<u8>>,
        sub: Vec<Sub>,
    }

    #[derive(Record)]
    pub struct Sub {
        deep: bool,
    }

    #[derive(Record)]
    pub struct EveryResponse {
        integer: num_bigint::BigInt,
        when: Option<chrono::DateTime<chrono::Utc>>,
        rows: Option<Vec<Row>>,
    }

    #[derive(Record)]
    pub struct Row {
        d: amp::Decimal,
    }

    #[derive(Debug, AmpError)]
    pub enum EveryError {
        #[amp(code = "BAD_VALUE")]
        Bad,
        #[amp(code = "TOO_BIG")]
        TooBig(String),
        #[amp(code = "FATAL_THING", fatal)]
        Fatal,
    }

    /// Fire and forget.
    #[derive(Command)]
    #[amp(name = "notify", requires_answer = false)]
    pub struct Notify {
        line: String,
    }

    #[derive(Command)]
    pub struct PassFd {
        fd: amp::Descriptor,
        fds: Vec<Fd>,
    }

    #[derive(Record)]
    pub struct Fd {
        fd: amp::Descriptor,
    }

    /// Switch to another protocol.
    #[derive(Command)]
    #[amp(name = "Switch-Proto", error = SwitchError)]
    pub struct Switch {
        name: bytes_alias::Bytes,
    }

    mod bytes_alias {
        pub type Bytes = Vec<u8>;
    }

    #[derive(Debug, AmpError)]
    pub enum SwitchError {
        #[amp(code = "UNKNOWN")]
        Unknown,
    }

    #[derive(Command)]
    #[amp(name = "empty")]
    pub struct Empty;
}

#[test]
fn hand_written_derives_describe_as_the_same_schema() {
    let file = schema_file("every_type.json");
    let got = described![
        by_hand::Every,
        by_hand::Notify,
        by_hand::PassFd,
        by_hand::Switch,
        by_hand::Empty
    ];
    assert_eq!(got, normalize(&file.commands));
}

#[test]
fn generated_values_cross_a_box_and_back() {
    use amp::Record as _;
    use codegen_check::every_type::*;
    let value = EveryType {
        integer: -7,
        string: b"\x00bytes".to_vec(),
        unicode: "ünïcode".into(),
        boolean: true,
        float: 1.5,
        decimal: "1.50".parse().unwrap(),
        date_time: "2024-02-29T12:34:56.789+05:30".parse().unwrap(),
        path: "/tmp/x".into(),
        big_string: vec![b'x'; 70_000].into(),
        big_unicode: "é".repeat(40_000).into(),
        raw: RawValue(b"as is".to_vec()),
        r#type: Some(3),
        ints: vec![1, -2, 3],
        matrix: Some(vec![vec!["a".into()], vec![]]),
        raws: vec![RawValue(b"r1".to_vec()), RawValue(vec![])],
        items: vec![EveryTypeItems {
            name: "n".into(),
            score: None,
            tags: vec![b"t".to_vec()],
            sub: vec![EveryTypeItemsSub { deep: false }],
        }],
    };
    let b = value.to_box().unwrap();
    assert_eq!(
        b.get("dateTime"),
        Some(&b"2024-02-29T12:34:56.789000+05:30"[..])
    );
    assert_eq!(b.get("raw"), Some(&b"as is"[..]));
    assert!(b.get("big-string.2").is_some(), "a BigString is chunked");
    assert_eq!(EveryType::from_box(&b).unwrap(), value);

    // Default where every field has one; Clone and PartialEq throughout.
    assert_eq!(EveryTypeResponse::default().rows, None);
    let e = EveryTypeError::TooBig("over".into());
    assert_eq!(e.clone(), e);
    assert_eq!(e.to_string(), "over");
    let boxed: Box<dyn std::error::Error> = Box::new(e);
    assert_eq!(boxed.to_string(), "over");
    const { assert!(!<Notify as amp::Command>::REQUIRES_ANSWER) };
}
