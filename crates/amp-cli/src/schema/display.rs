//! Schemas for people: a command as a readable declaration (what `amp
//! describe` prints), its types as `ListOf(Integer)` (`ArgType`'s
//! `Display`, in `amp-schema`).

use std::fmt::Write;

use super::{ArgType, CommandSchema, Field, Kind};

/// The indentation of one level.
const INDENT: &str = "    ";

/// `c` as a declaration:
///
/// ```text
/// command hello (Python class Hello)
///     The docstring.
///
///     arguments:
///         hello: String
///         print: Unicode (optional)
///     response: none
///     errors:
///         UNFRIENDLY: mod.UnfriendlyGreeting
///     fatal errors: none
///     requires an answer: yes
///     kind: command
/// ```
pub fn declaration(c: &CommandSchema) -> String {
    let mut out = String::new();
    let _ = write!(out, "command {}", c.name);
    if let Some(class) = c.class.as_deref().filter(|k| *k != c.name) {
        let _ = write!(out, " (Python class {class})");
    }
    out.push('\n');
    if let Some(doc) = c.doc.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        for line in doc.lines() {
            let line = line.trim_end();
            if line.is_empty() {
                out.push('\n');
            } else {
                let _ = writeln!(out, "{INDENT}{line}");
            }
        }
        out.push('\n');
    }
    section(&mut out, "arguments", &c.arguments);
    section(&mut out, "response", &c.response);
    table(&mut out, "errors", &c.errors);
    table(&mut out, "fatal errors", &c.fatal_errors);
    let answer = if c.requires_answer {
        "yes"
    } else {
        "no (the caller sends no _ask and gets no answer)"
    };
    let _ = writeln!(out, "{INDENT}requires an answer: {answer}");
    let effect = match c.kind {
        Kind::Command => "",
        Kind::Switch => " (once answered, the connection stops being AMP)",
        Kind::Starttls => " (once answered, TLS starts on the connection)",
    };
    let kind = format!("{}{effect}", c.kind.as_str());
    let _ = writeln!(out, "{INDENT}kind: {kind}");
    out
}

/// `title:` and the fields, one per line (`title: none` if there are none).
fn section(out: &mut String, title: &str, list: &[Field]) {
    if list.is_empty() {
        let _ = writeln!(out, "{INDENT}{title}: none");
        return;
    }
    let _ = writeln!(out, "{INDENT}{title}:");
    fields(out, list, 2);
}

fn fields(out: &mut String, list: &[Field], level: usize) {
    for f in list {
        let optional = if f.optional { " (optional)" } else { "" };
        let _ = writeln!(
            out,
            "{}{}: {}{optional}",
            INDENT.repeat(level),
            f.name,
            f.ty
        );
        let mut inner = &f.ty;
        while let ArgType::ListOf { of } = inner {
            inner = of;
        }
        if let ArgType::AmpList { fields: sub } = inner {
            fields(out, sub, level + 1);
        }
    }
}

/// `title:` and `CODE: Exception` lines (`title: none` if empty).
fn table(out: &mut String, title: &str, codes: &std::collections::BTreeMap<String, String>) {
    if codes.is_empty() {
        let _ = writeln!(out, "{INDENT}{title}: none");
        return;
    }
    let _ = writeln!(out, "{INDENT}{title}:");
    for (code, exception) in codes {
        let _ = writeln!(out, "{INDENT}{INDENT}{code}: {exception}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Format, Schema};

    #[test]
    fn a_declaration_shows_everything() {
        let s = Schema::parse(
            r#"{"commands": [{"name": "hello", "class": "Hello", "doc": "Says hello.\n\nTwice.",
                "arguments": [{"name": "xs", "type": "ListOf", "of": {"type": "ListOf", "of": {"type": "Integer"}}, "optional": true},
                              {"name": "body", "type": "AmpList", "fields": [{"name": "x", "type": "Raw", "class": "m.C"}]}],
                "errors": {"E": "m.E"}, "fatalErrors": {"DEAD": "m.Death"},
                "requiresAnswer": false, "kind": "switch"}]}"#,
            Format::Json,
        )
        .unwrap();
        let text = declaration(&s.commands[0]);
        let want = "command hello (Python class Hello)
    Says hello.

    Twice.

    arguments:
        xs: ListOf(ListOf(Integer)) (optional)
        body: AmpList
            x: Raw(m.C)
    response: none
    errors:
        E: m.E
    fatal errors:
        DEAD: m.Death
    requires an answer: no (the caller sends no _ask and gets no answer)
    kind: switch (once answered, the connection stops being AMP)
";
        assert_eq!(text, want);
    }
}
