//! Writing a schema back as text: pretty JSON (ending in a newline) or
//! TOML, either read back by [`Schema::parse`] as the same schema.

use std::fmt;

use crate::format::Format;
use crate::model::Schema;

impl Schema {
    /// The schema as text in `format`: JSON indented by two spaces, ending
    /// in a newline, or TOML (`[[commands]]` tables). Optional keys at
    /// their default (no `class`, no errors, `kind` command, ...) are left
    /// out; `requiresAnswer` is always written.
    ///
    /// # Errors
    ///
    /// A [`WriteError`] if the serializer refuses the schema.
    pub fn to_text(&self, format: Format) -> Result<String, WriteError> {
        match format {
            Format::Json => serde_json::to_string_pretty(self)
                .map(|t| t + "\n")
                .map_err(|e| WriteError(Inner::Json(e))),
            Format::Toml => toml::to_string_pretty(self).map_err(|e| WriteError(Inner::Toml(e))),
        }
    }
}

/// A schema the JSON or TOML serializer refused, with its message.
#[derive(Debug)]
pub struct WriteError(Inner);

#[derive(Debug)]
enum Inner {
    Json(serde_json::Error),
    Toml(toml::ser::Error),
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Inner::Json(e) => e.fmt(f),
            Inner::Toml(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for WriteError {}

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
