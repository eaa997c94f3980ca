//! Reading a schema's text (JSON or TOML) into a [`Schema`], with errors
//! that say where: `command Hello, argument print: unknown field ...`
//! rather than `commands[0].arguments[2]`.

use serde_json::Value;
use serde_path_to_error::Segment;
use std::fmt;

use crate::format::Format;
use crate::model::Schema;
use crate::validate::{collapse, shorten};

impl Schema {
    /// Reads a schema from `text` in `format`: well-formed JSON or TOML in
    /// the schema's shape (docs/SCHEMA.md), no key it does not know.
    ///
    /// The schema's rules are not checked here: see [`Schema::problems`].
    ///
    /// # Errors
    ///
    /// A [`ParseError`] naming the place (the command, argument, ... by
    /// name) and what is wrong there.
    pub fn parse(text: &str, format: Format) -> Result<Schema, ParseError> {
        parse(text, format).map_err(|message| ParseError { message })
    }
}

/// Text that is not a schema: not well-formed JSON or TOML, or not in the
/// schema's shape. Its message names the place, such as `command Sum,
/// argument a: unknown field `optinal``, with the line and column when the
/// text itself is malformed.
///
/// ```
/// use amp_schema::{Format, Schema};
///
/// let text = r#"{"commands": [{"name": "Sum",
///     "arguments": [{"name": "a", "type": "Integer", "optinal": true}]}]}"#;
/// let err = Schema::parse(text, Format::Json).unwrap_err();
/// assert!(err.to_string().starts_with("command Sum, argument a: unknown field `optinal`"));
///
/// // Malformed TOML: the message gives the line and column.
/// let err = Schema::parse("[[commands]]\nname = \n", Format::Toml).unwrap_err();
/// assert!(err.to_string().contains("line 2, column"), "{err}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses `text` as a schema in `format`. The error names the place (the
/// command, argument, ... by name) and what is wrong there; the schema's
/// rules (`validate`) are not checked here.
pub(crate) fn parse(text: &str, format: Format) -> Result<Schema, String> {
    let (place, message) = match format {
        Format::Json => {
            let mut de = serde_json::Deserializer::from_str(text);
            match serde_path_to_error::deserialize(&mut de) {
                Ok(schema) => match de.end() {
                    Ok(()) => return Ok(schema),
                    Err(e) => (String::new(), e.to_string()),
                },
                Err(e) => located(e, text, format),
            }
        }
        Format::Toml => match toml::Deserializer::parse(text) {
            Ok(de) => match serde_path_to_error::deserialize(de) {
                Ok(schema) => return Ok(schema),
                Err(e) => located(e, text, format),
            },
            Err(e) => (String::new(), e.to_string()),
        },
    };
    let message = bounded_lines(message.trim_end());
    let place = collapse(&place);
    Err(if place.is_empty() {
        message.to_owned()
    } else if message.contains('\n') {
        format!("{place}:\n{message}")
    } else {
        format!("{place}: {message}")
    })
}

/// The longest line of an error message kept whole (TOML quotes the line
/// at fault, which may be a whole file).
const MAX_LINE: usize = 300;

/// `message` with every line over [`MAX_LINE`] characters cut.
fn bounded_lines(message: &str) -> String {
    let lines: Vec<String> = message
        .lines()
        .map(|line| match line.char_indices().nth(MAX_LINE) {
            Some((at, _)) => format!("{}…", &line[..at]),
            None => line.to_owned(),
        })
        .collect();
    lines.join("\n")
}

/// The place (named) and the message of a deserialization error.
fn located<E: std::fmt::Display>(
    e: serde_path_to_error::Error<E>,
    text: &str,
    format: Format,
) -> (String, String) {
    let message = e.inner().to_string();
    let mut segments: Vec<&Segment> = e.path().iter().collect();
    // `unknown field `x`` at `...x`: the message names the key already.
    if let Some(Segment::Map { key }) = segments.last() {
        if message.contains(&format!("`{key}`")) {
            segments.pop();
        }
    }
    (place(&segments, lenient(text, format).as_ref()), message)
}

/// The document as plain data, to name the commands and fields a path goes
/// through; `None` if it does not even parse as that.
fn lenient(text: &str, format: Format) -> Option<Value> {
    match format {
        Format::Json => serde_json::from_str(text).ok(),
        Format::Toml => toml::from_str(text).ok(),
    }
}

/// `commands[0].arguments[2].of` as `command Hello, argument print,
/// element`, naming each command and field by its `name` in `doc`.
fn place(path: &[&Segment], doc: Option<&Value>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut node = doc;
    let mut section = "";
    for segment in path {
        match *segment {
            Segment::Map { key } => {
                node = node.and_then(|v| v.get(key));
                match key.as_str() {
                    code if section == "error code" => {
                        parts.push(format!("error code {}", shorten(code)))
                    }
                    "commands" | "arguments" | "response" | "fields" => section = key_noun(key),
                    "errors" | "fatalErrors" => {
                        section = key_noun(key);
                        parts.push(key.clone());
                    }
                    "of" => parts.push("element".to_owned()),
                    other => parts.push(format!("key `{}`", shorten(other))),
                }
            }
            Segment::Seq { index } => {
                node = node.and_then(|v| v.get(index));
                let noun = if section.is_empty() { "item" } else { section };
                let name = node.and_then(|v| v.get("name")).and_then(Value::as_str);
                parts.push(match name {
                    Some(n) if !n.is_empty() => format!("{noun} {}", shorten(n)),
                    _ => format!("{noun} #{}", index + 1),
                });
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    parts.join(", ")
}

/// What an item of the list under `key` is called in messages.
fn key_noun(key: &str) -> &'static str {
    match key {
        "commands" => "command",
        "arguments" => "argument",
        "response" => "response field",
        "fields" => "field",
        _ => "error code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (format, text, what the error must contain) for malformed files.
    const CASES: &[(Format, &str, &str)] = &[
        (
            Format::Json,
            r#"{"commands": [{"name": "Hello", "arguments": [{"name": "a", "type": "Integer", "optinal": true}]}]}"#,
            "command Hello, argument a: unknown field `optinal`, expected one of",
        ),
        (
            Format::Json,
            r#"{"commands": [{"name": "Hello", "argumets": []}]}"#,
            "command Hello: unknown field `argumets`",
        ),
        (
            Format::Json,
            r#"{"comands": []}"#,
            "unknown field `comands`",
        ),
        (
            Format::Json,
            r#"{"commands": [{"name": "Sum", "response": [{"name": "t", "type": "Integr"}]}]}"#,
            "command Sum, response field t: unknown type `Integr` (did you mean Integer?)",
        ),
        (
            Format::Json,
            r#"{"commands": [{"name": "L", "arguments": [{"name": "xs", "type": "ListOf", "of": {"type": "Integer", "optional": true}}]}]}"#,
            "command L, argument xs, element: unknown field `optional`",
        ),
        (
            Format::Json,
            r#"{"commands": [{"name": "L", "arguments": [{"name": "xs", "type": "ListOf"}]}]}"#,
            "command L, argument xs: a ListOf needs `of`",
        ),
        (
            Format::Json,
            r#"{"commands": [{"name": "L", "arguments": [{"name": "xs", "type": "AmpList"}]}]}"#,
            "command L, argument xs: an AmpList needs `fields`",
        ),
        (
            Format::Json,
            r#"{"commands": [{"name": "L", "arguments": [{"name": "n", "type": "Integer", "of": {"type": "Integer"}}]}]}"#,
            "command L, argument n: type Integer takes no `of`",
        ),
        (
            Format::Json,
            r#"{"commands": [{"name": "L", "arguments": [{"name": "n", "type": "String", "class": "x.Y"}]}]}"#,
            "type String takes no `class`",
        ),
        (
            Format::Json,
            r#"{"commands": [{"name": "L", "response": [{"name": "b", "type": "AmpList", "fields": [{"name": "x", "type": "Integer", "extra": 1}]}]}]}"#,
            "command L, response field b, field x: unknown field `extra`",
        ),
        (
            Format::Json,
            r#"{"commands": [{"name": "L", "arguments": [{"type": "Integer"}]}]}"#,
            "command L, argument #1: missing field `name`",
        ),
        (
            Format::Json,
            r#"{"commands": [{"name": "L", "errors": {"BAD": 3}}]}"#,
            "command L, errors, error code BAD: invalid type",
        ),
        (
            Format::Json,
            r#"{"commands": [{"name": "L", "fatalErrors": {"of": ["x"]}}]}"#,
            "command L, fatalErrors, error code of: invalid type: sequence",
        ),
        (
            Format::Json,
            r#"{"commands": [{"name": "L", "kind": "tls"}]}"#,
            "command L, key `kind`: unknown variant `tls`",
        ),
        (Format::Json, r#"{"commands": [}"#, "line 1 column 15"),
        (
            Format::Json,
            r#"{"commands": []} trailing"#,
            "trailing characters",
        ),
        (
            Format::Toml,
            "[[commands]]\nname = \"Sum\"\n[[commands.arguments]]\nname = \"a\"\ntype = \"Integer\"\noptinal = true\n",
            "command Sum, argument a:\nTOML parse error at line",
        ),
        (
            Format::Toml,
            "[[commands]]\nname = \"Sum\"\nkind = \"switch\"\nbogus = 1\n",
            "unknown field `bogus`",
        ),
        (Format::Toml, "[[commands]\n", "TOML parse error"),
        (
            Format::Json,
            r#"{"commands": [{"name": "L", "arguments": [{"name": "xs", "type": "ListOf", "of": {"type": "ListOf", "of": {"type": "ListOf", "of": {"type": "ListOf", "of": {"type": "Intger"}}}}}]}]}"#,
            "command L, argument xs, element ×4: unknown type `Intger`",
        ),
    ];

    #[test]
    fn malformed_files_say_where_and_what() {
        for (format, text, want) in CASES {
            let err = parse(text, *format).expect_err(text);
            assert!(err.contains(want), "{text}\n gave {err:?}\n want {want:?}");
        }
    }

    #[test]
    fn both_formats_read_the_same_schema() {
        let json = r#"{"source": "t", "commands": [{"name": "Sum",
            "arguments": [{"name": "a", "type": "Integer"},
                          {"name": "xs", "type": "ListOf", "of": {"type": "ListOf", "of": {"type": "Unicode"}}, "optional": true},
                          {"name": "body", "type": "AmpList", "fields": [{"name": "x", "type": "Raw", "class": "m.C"}]}],
            "errors": {"E": "m.E"}, "kind": "switch", "requiresAnswer": false}]}"#;
        let toml = r#"source = "t"
[[commands]]
name = "Sum"
requiresAnswer = false
kind = "switch"
arguments = [
  {name = "a", type = "Integer"},
  {name = "xs", type = "ListOf", of = {type = "ListOf", of = {type = "Unicode"}}, optional = true},
  {name = "body", type = "AmpList", fields = [{name = "x", type = "Raw", class = "m.C"}]},
]
errors = {E = "m.E"}
"#;
        let a = parse(json, Format::Json).unwrap();
        let b = parse(toml, Format::Toml).unwrap();
        assert_eq!(a, b);
        let back = serde_json::to_string(&a).unwrap();
        assert_eq!(parse(&back, Format::Json).unwrap(), a);
        let back = toml::to_string_pretty(&a).unwrap();
        assert_eq!(parse(&back, Format::Toml).unwrap(), a, "{back}");
    }
}

#[test]
fn messages_are_bounded() {
    let deep = format!(
        "[[commands]]\nname = \"D\"\narguments = [{{name = \"x\", type = \"ListOf\", of = {}{}}}]\n",
        "{type = \"ListOf\", of = ".repeat(5000),
        "}".repeat(5000)
    );
    let err = parse(&deep, Format::Toml).unwrap_err();
    assert!(err.len() < 2000, "{} bytes", err.len());
    assert!(err.contains("max recursion depth"), "{err}");
    let json = format!(
        r#"{{"commands": [{{"name": "{}", "bogus": 1}}]}}"#,
        "n".repeat(100_000)
    );
    let err = parse(&json, Format::Json).unwrap_err();
    assert!(
        err.starts_with(&format!(
            "command {}…: unknown field `bogus`",
            "n".repeat(40)
        )),
        "{err}"
    );
    let deep = format!(
        r#"{{"commands": [{{"name": "D", "arguments": [{{"name": "x", "type": "ListOf", "of": {}{{"type": "Integer"}}{}}}]}}]}}"#,
        r#"{"type": "ListOf", "of": "#.repeat(5000),
        "}".repeat(5000)
    );
    let err = parse(&deep, Format::Json).unwrap_err();
    assert!(err.contains("recursion limit exceeded"), "{err}");
    assert!(err.len() < 300, "{err}");
}
