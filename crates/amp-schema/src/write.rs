//! Writing a schema back as text: pretty JSON (ending in a newline) or
//! TOML, either read back by [`Schema::parse`] as the same schema.

use std::fmt;

use crate::format::Format;
use crate::model::{ArgType, Schema};
use crate::validate::MAX_DEPTH;

impl Schema {
    /// The schema as text in `format`: JSON indented by two spaces, ending
    /// in a newline, or TOML (`[[commands]]` tables). Optional keys at
    /// their default (no `class`, no errors, `kind` command, ...) are left
    /// out; `requiresAnswer` is always written.
    ///
    /// # Errors
    ///
    /// A [`WriteError`] if the serializer refuses the schema, or if its
    /// `ListOf`/`AmpList` types nest more than 32 deep (the format's limit:
    /// such a schema can only be built in code, and writing it would
    /// exhaust the stack before the serializer said no).
    pub fn to_text(&self, format: Format) -> Result<String, WriteError> {
        let fields = self
            .commands
            .iter()
            .flat_map(|c| c.arguments.iter().chain(&c.response));
        if let Some(field) = fields.into_iter().find(|f| too_deep(&f.ty, 0)) {
            return Err(WriteError(Inner::TooDeep(field.name.clone())));
        }
        match format {
            Format::Json => serde_json::to_string_pretty(self)
                .map(|t| t + "\n")
                .map_err(|e| WriteError(Inner::Json(e))),
            Format::Toml => toml::to_string_pretty(self).map_err(|e| WriteError(Inner::Toml(e))),
        }
    }
}

/// Whether `t`, inside `depth` lists, has lists nested more than
/// [`MAX_DEPTH`] deep (looking no deeper than that).
fn too_deep(t: &ArgType, depth: usize) -> bool {
    match t {
        ArgType::ListOf { of } => depth >= MAX_DEPTH || too_deep(of, depth + 1),
        ArgType::AmpList { fields } => {
            depth >= MAX_DEPTH || fields.iter().any(|f| too_deep(&f.ty, depth + 1))
        }
        _ => false,
    }
}

/// A schema that could not be written: the JSON or TOML serializer
/// refused it (its error is the [`source`](std::error::Error::source)),
/// or its lists nest too deep.
///
/// ```
/// use amp_schema::{ArgType, CommandSchema, Field, Format, Schema};
///
/// // A schema built in code, with lists nested 33 deep: no file could hold it.
/// let mut ty = ArgType::Integer;
/// for _ in 0..33 {
///     ty = ArgType::ListOf { of: Box::new(ty) };
/// }
/// let mut deep = CommandSchema::new("Deep");
/// deep.arguments.push(Field { name: "xs".into(), ty, optional: false });
/// let schema = Schema { commands: vec![deep], ..Schema::default() };
///
/// let e = schema.to_text(Format::Toml).unwrap_err();
/// assert_eq!(e.to_string(), "field `xs`: ListOf/AmpList nested more than 32 deep");
/// ```
#[derive(Debug)]
pub struct WriteError(Inner);

#[derive(Debug)]
enum Inner {
    Json(serde_json::Error),
    Toml(toml::ser::Error),
    /// The field whose type nests too deep.
    TooDeep(String),
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Inner::Json(_) => f.write_str("the JSON serializer refused the schema"),
            Inner::Toml(_) => f.write_str("the TOML serializer refused the schema"),
            Inner::TooDeep(field) => write!(
                f,
                "field `{field}`: ListOf/AmpList nested more than {MAX_DEPTH} deep"
            ),
        }
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0 {
            Inner::Json(e) => Some(e),
            Inner::Toml(e) => Some(e),
            Inner::TooDeep(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"{"source": "m", "commands": [
        {"name": "Sum", "arguments": [{"name": "a", "type": "Integer"},
                                      {"name": "xs", "type": "ListOf", "of": {"type": "Unicode"}, "optional": true}],
         "response": [{"name": "rows", "type": "AmpList", "fields": [{"name": "r", "type": "Raw", "class": "m.R"}]}],
         "errors": {"E": "m.E"}, "fatalErrors": {"F": "m.F"}},
        {"name": "Go", "requiresAnswer": false, "kind": "starttls"}]}"#;

    #[test]
    fn written_text_reads_back_the_same() {
        let schema = Schema::parse(TEXT, Format::Json).unwrap();
        for format in [Format::Json, Format::Toml] {
            let text = schema.to_text(format).unwrap();
            assert_eq!(Schema::parse(&text, format).unwrap(), schema, "{text}");
        }
    }

    #[test]
    fn lists_nested_too_deep_are_refused_not_overflowing_the_stack() {
        use crate::model::{CommandSchema, Field};
        let nested = |n: usize| {
            let mut ty = ArgType::Integer;
            for _ in 0..n {
                ty = ArgType::ListOf { of: Box::new(ty) };
            }
            let mut command = CommandSchema::new("Deep");
            command.arguments.push(Field {
                name: "xs".into(),
                ty,
                optional: false,
            });
            Schema {
                commands: vec![command],
                ..Schema::default()
            }
        };
        for format in [Format::Json, Format::Toml] {
            let at_limit = nested(MAX_DEPTH).to_text(format).unwrap();
            assert_eq!(Schema::parse(&at_limit, format).unwrap(), nested(MAX_DEPTH));
            let e = nested(1_000).to_text(format).unwrap_err();
            assert!(matches!(e.0, Inner::TooDeep(ref f) if f == "xs"), "{e}");
        }
    }

    #[test]
    fn json_is_pretty_and_leaves_defaults_out() {
        let schema = Schema::parse(r#"{"commands": [{"name": "Ping"}]}"#, Format::Json).unwrap();
        let text = schema.to_text(Format::Json).unwrap();
        assert_eq!(
            text,
            "{\n  \"commands\": [\n    {\n      \"name\": \"Ping\",\n      \"requiresAnswer\": true\n    }\n  ]\n}\n"
        );
        let text = schema.to_text(Format::Toml).unwrap();
        assert_eq!(
            text,
            "[[commands]]\nname = \"Ping\"\nrequiresAnswer = true\n"
        );
    }
}
