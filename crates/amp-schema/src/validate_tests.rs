//! Each rule of `validate`, from schema files that break it.

use super::*;
use crate::format::Format;
use crate::parse::parse;

/// A schema of one command `C` whose arguments are `args` (JSON).
fn args(args: &str) -> String {
    format!(r#"{{"commands": [{{"name": "C", "arguments": [{args}]}}]}}"#)
}

/// `depth` ListOfs around an Integer, as a field `xs`.
fn lists(depth: usize) -> String {
    let mut t = r#"{"type": "Integer"}"#.to_owned();
    for _ in 0..depth {
        t = format!(r#"{{"type": "ListOf", "of": {t}}}"#);
    }
    let t = t.trim_start_matches('{').to_owned();
    args(&format!(r#"{{"name": "xs", {t}"#))
}

/// `depth` AmpLists one in another, as a field `a`.
fn amplists(depth: usize) -> String {
    let mut t = r#"{"name": "x", "type": "Integer"}"#.to_owned();
    for _ in 0..depth {
        t = format!(r#"{{"name": "a", "type": "AmpList", "fields": [{t}]}}"#);
    }
    args(&t)
}

fn long(n: usize) -> String {
    "k".repeat(n)
}

/// (schema, the problems it must have, as `place: message` prefixes).
fn cases() -> Vec<(String, Vec<String>)> {
    let s = |x: &str| x.to_owned();
    vec![
        // Command names.
        (
            s(r#"{"commands": [{"name": "A"}, {"name": "B"}, {"name": "A"}]}"#),
            vec![s("command A (command #3): a second command named `A`")],
        ),
        (
            s(r#"{"commands": [{"name": ""}]}"#),
            vec![s("command #1: the name is empty")],
        ),
        (
            format!(r#"{{"commands": [{{"name": "{}"}}]}}"#, long(256)),
            vec![format!(
                "command {}…: the name is 256 bytes, over the limit of 255",
                long(40)
            )],
        ),
        (
            format!(r#"{{"commands": [{{"name": "{}"}}]}}"#, long(255)),
            vec![],
        ),
        // Untyped commands (known by name only).
        (
            s(r#"{"commands": [{"name": "A"}], "untyped": ["Echo", "A", "Echo", ""]}"#),
            vec![
                s("untyped command A: named twice"),
                s("untyped command Echo: named twice"),
                s("untyped command : a name must be 1 to 255 bytes"),
            ],
        ),
        (
            s(r#"{"commands": [{"name": "A"}], "untyped": ["Echo"]}"#),
            vec![],
        ),
        // Field names.
        (
            args(r#"{"name": "a", "type": "Integer"}, {"name": "a", "type": "String"}"#),
            vec![s("command C, argument a: a second argument named `a`")],
        ),
        (
            s(
                r#"{"commands": [{"name": "C", "response": [{"name": "r", "type": "Integer"}, {"name": "r", "type": "Integer"}]}]}"#,
            ),
            vec![s(
                "command C, response field r: a second response field named `r`",
            )],
        ),
        (
            s(
                r#"{"commands": [{"name": "C", "arguments": [{"name": "r", "type": "Integer"}], "response": [{"name": "r", "type": "Integer"}]}]}"#,
            ),
            vec![],
        ),
        (
            args(
                r#"{"name": "l", "type": "AmpList", "fields": [{"name": "x", "type": "Integer"}, {"name": "x", "type": "Unicode"}]}"#,
            ),
            vec![s(
                "command C, argument l, field x: a second field named `x`",
            )],
        ),
        (
            args(r#"{"name": "", "type": "Integer"}"#),
            vec![s("command C, argument #1: the name is empty")],
        ),
        (
            args(
                r#"{"name": "l", "type": "AmpList", "fields": [{"name": "", "type": "Integer"}]}"#,
            ),
            vec![s("command C, argument l, field #1: the name is empty")],
        ),
        (
            args(&format!(
                r#"{{"name": "{}", "type": "Integer"}}"#,
                long(256)
            )),
            vec![format!(
                "command C, argument {}…: the name is 256 bytes",
                long(40)
            )],
        ),
        (
            args(&format!(
                r#"{{"name": "{}", "type": "Integer"}}"#,
                long(255)
            )),
            vec![],
        ),
        // Reserved keys: at the top of a box only.
        (
            args(r#"{"name": "_command", "type": "String"}"#),
            vec![s(
                "command C, argument _command: `_command` is one of AMP's own keys",
            )],
        ),
        (
            s(
                r#"{"commands": [{"name": "C", "response": [{"name": "_error_code", "type": "String"}]}]}"#,
            ),
            vec![s(
                "command C, response field _error_code: `_error_code` is one of AMP's own keys",
            )],
        ),
        (
            args(
                r#"{"name": "l", "type": "AmpList", "fields": [{"name": "_ask", "type": "Integer"}]}"#,
            ),
            vec![],
        ),
        // BigString chunks.
        (
            args(r#"{"name": "k", "type": "BigString"}, {"name": "k.2", "type": "String"}"#),
            vec![s(
                "command C, argument k.2: collides with chunk 2 of the BigString field `k`",
            )],
        ),
        (
            args(
                r#"{"name": "k", "type": "String"}, {"name": "k.2", "type": "String"}, {"name": "b", "type": "BigUnicode"}, {"name": "b.1", "type": "String"}"#,
            ),
            vec![],
        ),
        // Nesting.
        (lists(MAX_DEPTH), vec![]),
        (
            lists(MAX_DEPTH + 1),
            vec![s(
                "command C, argument xs, element ×32: ListOf/AmpList nested more than 32 deep",
            )],
        ),
        (amplists(MAX_DEPTH), vec![]),
        (
            amplists(MAX_DEPTH + 1),
            vec![s(
                "command C, argument a, field a ×32: ListOf/AmpList nested more than 32 deep",
            )],
        ),
        // What Twisted cannot put in a list.
        (
            args(r#"{"name": "fds", "type": "ListOf", "of": {"type": "Descriptor"}}"#),
            vec![s(
                "command C, argument fds: a ListOf cannot hold Descriptors",
            )],
        ),
        (
            args(
                r#"{"name": "fds", "type": "AmpList", "fields": [{"name": "fd", "type": "Descriptor"}]}"#,
            ),
            vec![],
        ),
        (
            args(
                r#"{"name": "l", "type": "ListOf", "of": {"type": "AmpList", "fields": [{"name": "x", "type": "Integer"}, {"name": "x", "type": "Integer"}]}}"#,
            ),
            vec![
                s("command C, argument l: a ListOf cannot hold an AmpList"),
                s("command C, argument l, element, field x: a second field named `x`"),
            ],
        ),
        (
            args(r#"{"name": "l", "type": "ListOf", "of": {"type": "BigUnicode"}}"#),
            vec![s(
                "command C, argument l: a ListOf cannot hold BigString/BigUnicode",
            )],
        ),
        (
            args(
                r#"{"name": "l", "type": "ListOf", "of": {"type": "ListOf", "of": {"type": "Raw"}}}"#,
            ),
            vec![],
        ),
        // Error codes.
        (
            s(r#"{"commands": [{"name": "C", "errors": {"": "E"}}]}"#),
            vec![s("command C, errors, error code : the error code is empty")],
        ),
        (
            format!(
                r#"{{"commands": [{{"name": "C", "fatalErrors": {{"{}": "E"}}}}]}}"#,
                long(256)
            ),
            vec![format!(
                "command C, fatalErrors, error code {}…: the error code is 256 bytes",
                long(40)
            )],
        ),
        (
            s(r#"{"commands": [{"name": "C", "errors": {"E": ""}}]}"#),
            vec![s(
                "command C, errors, error code E: the exception name is empty",
            )],
        ),
        (
            s(
                r#"{"commands": [{"name": "C", "errors": {"E": "m.E", "F": "m.F"}, "fatalErrors": {"E": "m.E"}}]}"#,
            ),
            vec![s("command C, error code E: in both errors and fatalErrors")],
        ),
        // Several problems at once, all reported.
        (
            s(
                r#"{"commands": [{"name": "", "arguments": [{"name": "_ask", "type": "Integer"}]}, {"name": "B", "errors": {"": "x"}}]}"#,
            ),
            vec![
                s("command #1: the name is empty"),
                s("command #1, argument _ask: `_ask` is one of AMP's own keys"),
                s("command B, errors, error code : the error code is empty"),
            ],
        ),
    ]
}

#[test]
fn every_rule() {
    for (text, want) in cases() {
        let schema = parse(&text, Format::Json).unwrap_or_else(|e| panic!("{text}: {e}"));
        let got: Vec<String> = schema.problems().iter().map(|p| p.to_string()).collect();
        assert_eq!(
            got.len(),
            want.len(),
            "{text}\n got {got:#?}\n want {want:#?}"
        );
        for (g, w) in got.iter().zip(&want) {
            assert!(g.starts_with(w.as_str()), "{text}\n got {g:?}\n want {w:?}");
        }
    }
}

#[test]
fn problems_are_capped() {
    let fields: Vec<String> = (0..MAX_PROBLEMS + 10)
        .map(|_| r#"{"name": "", "type": "Integer"}"#.to_owned())
        .collect();
    let schema = parse(&args(&fields.join(",")), Format::Json).unwrap();
    assert_eq!(schema.problems().len(), MAX_PROBLEMS);
}

#[test]
fn one_command_alone() {
    let schema = parse(
        r#"{"commands": [{"name": "A"}, {"name": "A", "arguments": [{"name": "_ask", "type": "Integer"}]}]}"#,
        Format::Json,
    )
    .unwrap();
    assert!(schema.commands[0].problems(0).is_empty());
    let p = schema.commands[1].problems(1);
    assert_eq!(p.len(), 1, "duplicates are the schema's concern: {p:?}");
}

#[test]
fn places_collapse_repeated_steps() {
    assert_eq!(collapse("command C, argument x"), "command C, argument x");
    assert_eq!(collapse("a, e, e, e"), "a, e, e, e");
    assert_eq!(collapse("a, e, e, e, e, f, e"), "a, e ×4, f, e");
}
