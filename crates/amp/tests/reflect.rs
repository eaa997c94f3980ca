//! Servers that describe themselves: `Router::describe_itself` answers
//! `amp.describe` and `amp::reflect::fetch` reads it (docs/PROTOCOL.md,
//! section 9, "Self-description").

use amp::reflect::{self, Describe, DescribeError, FetchError};
use amp::schema::{ArgType, Kind};
use amp::{AmpBox, AmpError, CallError, Command, Connection, Record, Router};

/// Adds two integers.
#[derive(Command)]
#[amp(response = Total, error = SumError)]
struct Sum {
    a: i64,
    #[amp(name = "second-term")]
    b: Option<i64>,
}

#[derive(Record)]
struct Total {
    total: i64,
}

#[derive(AmpError, Debug)]
enum SumError {
    #[amp(code = "OVERFLOW")]
    Overflow,
    #[amp(code = "BROKEN", fatal)]
    Broken,
}

#[derive(Command)]
struct Ping;

/// Two connected ends, the server's answered by `router`.
fn pair(router: Router) -> (Connection, Connection) {
    let (c, s) = tokio::io::duplex(1 << 20);
    (
        Connection::spawn(c, Router::new()),
        Connection::spawn(s, router),
    )
}

fn sum_router() -> Router {
    Router::new()
        .route(|s: Sum, _| async move {
            let total = s.a.checked_add(s.b.unwrap_or(0));
            match total {
                Some(total) => Ok(Total { total }),
                None if s.a == i64::MIN => Err(SumError::Broken),
                None => Err(SumError::Overflow),
            }
        })
        .route_raw("Echo", |b: AmpBox, _| async move { Ok(b) })
}

#[tokio::test]
async fn a_router_answers_its_schema() {
    let router = sum_router().describe_itself();
    let expected = router.schema();
    let (client, _server) = pair(router);
    let schema = reflect::fetch(&client).await.unwrap();
    assert_eq!(schema, expected);

    let sum = schema.command("Sum").unwrap();
    assert_eq!(sum.doc.as_deref(), Some("Adds two integers."));
    assert_eq!(sum.arguments.len(), 2);
    assert_eq!(sum.arguments[1].name, "second-term");
    assert!(sum.arguments[1].optional);
    assert_eq!(sum.response[0].ty, ArgType::Integer);
    assert_eq!(sum.errors.keys().collect::<Vec<_>>(), ["OVERFLOW"]);
    assert_eq!(sum.fatal_errors.keys().collect::<Vec<_>>(), ["BROKEN"]);
    // The raw route by name; amp.describe itself is not listed.
    assert_eq!(schema.untyped, ["Echo"]);
    assert_eq!(schema.commands.len(), 1);
    assert!(schema.command(reflect::COMMAND).is_none());
    assert!(schema.source.unwrap().starts_with("amp-rs "));
}

#[tokio::test]
async fn kinds_are_described() {
    #[derive(Command)]
    struct Upgrade;
    let router = Router::new()
        .route_switch(|_: Upgrade, _| async move { Ok(amp::SwitchTo::new(|_io| async {})) })
        .start_tls(amp::tls::TlsOptions::new())
        .describe_itself();
    let (client, _server) = pair(router);
    let schema = reflect::fetch(&client).await.unwrap();
    assert_eq!(schema.command("Upgrade").unwrap().kind, Kind::Switch);
    assert_eq!(schema.command("StartTLS").unwrap().kind, Kind::Starttls);
    assert!(schema.untyped.is_empty());
}

#[tokio::test]
async fn routes_added_later_are_described() {
    let router = Router::new().describe_itself();
    assert!(router.handles(reflect::COMMAND));
    let first = router.clone();
    // A connection binds `first`: its description is made, without Ping.
    let (client, _server) = pair(first);
    assert!(reflect::fetch(&client).await.unwrap().commands.is_empty());
    // Routes added after that, and after describe_itself, are described.
    let later = router.route(|_: Ping, _| async { Ok(()) });
    let (client, _server) = pair(later);
    let schema = reflect::fetch(&client).await.unwrap();
    assert_eq!(schema.commands[0].name, "Ping");
}

#[tokio::test]
async fn a_router_that_does_not_describe_itself_says_unhandled() {
    let router = sum_router();
    assert!(!router.handles(reflect::COMMAND));
    let (client, _server) = pair(router);
    let err = reflect::fetch(&client).await.unwrap_err();
    assert!(matches!(err, FetchError::NotDescribed), "{err:?}");
    // The connection goes on.
    let total = client.call(Sum { a: 1, b: Some(2) }).await.unwrap();
    assert_eq!(total.total, 3);
}

#[tokio::test]
async fn versions() {
    let (client, _server) = pair(sum_router().describe_itself());
    // Absent: version 1.
    let d = client.call(Describe { version: None }).await.unwrap();
    assert_eq!(d.version, 1);
    // A caller that reads later versions gets the one this side writes.
    let d = client.call(Describe { version: Some(7) }).await.unwrap();
    assert_eq!(d.version, 1);
    assert!(reflect::parse(&d).is_ok());
    // None below 1.
    for v in [0, -1] {
        let err = client
            .call(Describe { version: Some(v) })
            .await
            .unwrap_err();
        assert!(
            matches!(err, CallError::Remote(DescribeError::UnsupportedVersion)),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn a_schema_over_64_kib_is_chunked() {
    // 400 raw routes with 200-byte names: about 81 KiB of JSON.
    let mut router = Router::new().describe_itself();
    let names: Vec<String> = (0..400).map(|i| format!("{i:0>200}")).collect();
    for name in &names {
        router = router.route_raw(name.clone(), |b: AmpBox, _| async move { Ok(b) });
    }
    let (client, _server) = pair(router);
    let raw = client
        .call_raw(reflect::COMMAND, AmpBox::new())
        .await
        .unwrap();
    assert!(raw.get_bytes("schema.2").is_some(), "not chunked");
    let schema = reflect::fetch(&client).await.unwrap();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(schema.untyped, sorted);
}

#[test]
fn a_bad_answer_is_a_typed_error() {
    use reflect::Description;
    let bad = Description {
        version: 1,
        schema: "{\"commands\": [{\"name\": \"A\", \"argumets\": []}]}".into(),
    };
    assert!(matches!(reflect::parse(&bad), Err(FetchError::Syntax(_))));
    // One bad command: known by name only, the others kept.
    let one_bad = Description {
        version: 1,
        schema: r#"{"commands": [{"name": "A", "arguments": [{"name": "_ask", "type": "Integer"}]},
                                 {"name": "B"}]}"#
            .into(),
    };
    let schema = reflect::parse(&one_bad).unwrap();
    assert_eq!(schema.commands.len(), 1);
    assert_eq!(schema.commands[0].name, "B");
    assert_eq!(schema.untyped, ["A"]);
    let invalid = Description {
        version: 1,
        schema: r#"{"commands": [{"name": "A"}, {"name": "A"}]}"#.into(),
    };
    let err = reflect::parse(&invalid).unwrap_err();
    assert!(matches!(err, FetchError::Invalid(_)));
    assert!(
        err.to_string().contains("a second command named `A`"),
        "{err}"
    );
    let later = Description {
        version: 2,
        schema: "".into(),
    };
    let err = reflect::parse(&later).unwrap_err();
    assert!(matches!(err, FetchError::Version(2)));
}
