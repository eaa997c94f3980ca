//! Rust types describe themselves: what `#[derive(Command)]`,
//! `#[derive(Record)]` and `#[derive(AmpError)]` tell of a command, as a
//! schema would (docs/SCHEMA.md).

use amp::describe::{AmpType, Field};
use amp::{AmpError, Command, Record};
use std::path::PathBuf;

#[derive(Record)]
struct Point {
    x: i64,
    #[amp(name = "point-label")]
    label: Option<String>,
}

#[derive(Record)]
struct Base {
    id: u32,
}

#[derive(Debug, AmpError)]
enum StoreError {
    #[amp(code = "FULL")]
    Full,
    #[amp(code = "BROKEN", fatal)]
    Broken,
}

/// Store some things.
///
/// Second paragraph.
#[derive(Command)]
#[amp(response = Stored, error = StoreError)]
struct Store {
    #[amp(flatten)]
    base: Base,
    blob: bytes::Bytes,
    raw: Vec<u8>,
    text: String,
    flag: bool,
    ratio: f64,
    when: chrono::DateTime<chrono::Utc>,
    amount: amp::Decimal,
    path: PathBuf,
    tags: Vec<String>,
    nested: Vec<Vec<i32>>,
    points: Vec<Point>,
    big: amp::BigBytes,
    maybe: Option<i64>,
}

#[derive(Record)]
struct Stored {
    ok: bool,
}

#[derive(Command)]
#[amp(requires_answer = false)]
struct Log {
    line: String,
}

#[test]
fn a_derived_command_describes_itself() {
    let d = Store::describe();
    assert_eq!(d.name, "Store");
    assert_eq!(
        d.doc.as_deref(),
        Some("Store some things.\n\nSecond paragraph.")
    );
    assert!(d.requires_answer);
    let field = |name: &str, ty| Field::new(name, ty);
    assert_eq!(
        d.arguments,
        [
            field("id", AmpType::Integer), // the flattened record, where it stands
            field("blob", AmpType::String),
            field("raw", AmpType::String),
            field("text", AmpType::Unicode),
            field("flag", AmpType::Boolean),
            field("ratio", AmpType::Float),
            field("when", AmpType::DateTime),
            field("amount", AmpType::Decimal),
            field("path", AmpType::Path),
            field("tags", AmpType::ListOf(Box::new(AmpType::Unicode))),
            field(
                "nested",
                AmpType::ListOf(Box::new(AmpType::ListOf(Box::new(AmpType::Integer))))
            ),
            field(
                "points",
                AmpType::AmpList(vec![
                    field("x", AmpType::Integer),
                    field("point-label", AmpType::Unicode).optional(),
                ])
            ),
            field("big", AmpType::BigString),
            field("maybe", AmpType::Integer).optional(),
        ]
    );
    assert_eq!(d.response, [field("ok", AmpType::Boolean)]);
    assert_eq!(d.errors, ["FULL"]);
    assert_eq!(d.fatal_errors, ["BROKEN"]);

    let log = Log::describe();
    assert!(!log.requires_answer);
    assert_eq!(log.doc, None);
    assert!(log.response.is_empty() && log.errors.is_empty());
}

#[cfg(feature = "tls")]
#[derive(Command)]
#[amp(response = Stored)]
struct Go;

#[cfg(feature = "tls")]
#[test]
fn a_router_lists_what_it_answers() {
    let router = amp::Router::new()
        .route(|_: Log, _| async move { Ok(()) })
        .route_switch(|_: Go, _| async move { Ok(amp::SwitchTo::new(|_io| async {})) })
        .route_raw("Echo", |req: amp::AmpBox, _| async move { Ok(req) })
        .start_tls(amp::tls::TlsOptions::new());
    let routes = router.describe();
    let names: Vec<&str> = routes.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["Echo", "Go", "Log", "StartTLS"]);
    use amp::describe::CommandKind;
    assert_eq!(routes[0].kind, CommandKind::Plain);
    assert!(routes[0].command.is_none(), "a raw route: its name only");
    let go = routes[1].command.as_ref().unwrap();
    assert_eq!(
        (routes[1].kind, go.kind),
        (CommandKind::Switch, CommandKind::Switch)
    );
    assert_eq!(go.response, [Field::new("ok", AmpType::Boolean)]);
    assert_eq!(
        routes[2].command.as_ref().unwrap().arguments,
        [Field::new("line", AmpType::Unicode)]
    );
    assert_eq!(routes[3].kind, CommandKind::StartTls);
}
