//! The model: a schema's commands, their arguments, responses and errors.
//! docs/SCHEMA.md (at the repository's root) describes the file format in
//! full; the rules a parsed schema must also follow are in `validate.rs`.
//!
//! ```json
//! {"commands": [{
//!     "name": "Sum",
//!     "arguments": [{"name": "a", "type": "Integer"}, {"name": "b", "type": "Integer"}],
//!     "response": [{"name": "total", "type": "Integer"}],
//!     "errors": {"ZERO_DIVISION": "ZeroDivisionError"},
//!     "fatalErrors": {},
//!     "requiresAnswer": true
//! }]}
//! ```
//!
//! Every object refuses keys it does not know, fields and types included
//! (their `Deserialize` is in `raw.rs`: they are read as `RawField` and
//! `RawType`, which list every key a field may have, then checked: `of`
//! only on a `ListOf`, and so on).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A schema: the commands of a service.
///
/// ```
/// use amp_schema::{ArgType, CommandSchema, Field, Format, Schema};
///
/// let mut sum = CommandSchema::new("Sum");
/// sum.arguments.push(Field { name: "a".into(), ty: ArgType::Integer, optional: false });
/// let schema = Schema {
///     commands: vec![sum],
///     untyped: vec!["Debug".into()],
///     ..Schema::default()
/// };
/// assert!(schema.problems().is_empty());
///
/// // Written as a file, read back as the same schema.
/// let text = schema.to_text(Format::Toml)?;
/// assert_eq!(Schema::parse(&text, Format::Toml)?, schema);
/// assert_eq!(schema.command("Sum").unwrap().arguments[0].name, "a");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    /// Where the schema came from (free text, say `twisted.test.test_amp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The commands.
    pub commands: Vec<CommandSchema>,
    /// Commands known by name only: a server answers them but does not say
    /// their arguments (a raw route of a Rust router). A tool calls them
    /// untyped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub untyped: Vec<String>,
}

/// One command (a Twisted `amp.Command` subclass).
///
/// ```
/// use amp_schema::{Format, Kind, Schema};
///
/// let schema = Schema::parse(r#"{"commands": [
///     {"name": "Sum", "class": "AddNumbers",
///      "arguments": [{"name": "a", "type": "Integer"}],
///      "errors": {"OVERFLOW": "OverflowError"}, "fatalErrors": {"BAD": "BadInput"}},
///     {"name": "Log", "requiresAnswer": false}
/// ]}"#, Format::Json)?;
/// let sum = &schema.commands[0];
/// assert_eq!((sum.name.as_str(), sum.class.as_deref()), ("Sum", Some("AddNumbers")));
/// assert_eq!(sum.errors["OVERFLOW"], "OverflowError");
/// assert_eq!(sum.fatal_errors["BAD"], "BadInput");
/// assert!(sum.requires_answer && sum.kind == Kind::Command); // the defaults
/// assert!(!schema.commands[1].requires_answer);
/// # Ok::<(), amp_schema::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CommandSchema {
    /// The command name on the wire (`commandName`, by default the class
    /// name).
    pub name: String,
    /// The Python class name, when it differs from the wire name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Help text (the class docstring).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// The request's arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arguments: Vec<Field>,
    /// The answer's fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response: Vec<Field>,
    /// Error codes the command may answer, with the exception name each
    /// stands for.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub errors: std::collections::BTreeMap<String, String>,
    /// Error codes that also close the connection.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub fatal_errors: std::collections::BTreeMap<String, String>,
    /// Whether a caller waits for an answer (`requiresAnswer`, default
    /// true).
    #[serde(default = "yes")]
    pub requires_answer: bool,
    /// What the command does to the connection: a plain command, a
    /// protocol switch (`ProtocolSwitchCommand`) or StartTLS.
    #[serde(default, skip_serializing_if = "Kind::is_plain")]
    pub kind: Kind,
}

fn yes() -> bool {
    true
}

impl CommandSchema {
    /// A command called `name` with nothing declared: no arguments, no
    /// response, no errors, asking for an answer, plain.
    ///
    /// ```
    /// let c = amp_schema::CommandSchema::new("Ping");
    /// assert!(c.requires_answer && c.arguments.is_empty());
    /// ```
    pub fn new(name: impl Into<String>) -> CommandSchema {
        CommandSchema {
            name: name.into(),
            class: None,
            doc: None,
            arguments: Vec::new(),
            response: Vec::new(),
            errors: Default::default(),
            fatal_errors: Default::default(),
            requires_answer: true,
            kind: Kind::Command,
        }
    }
}

/// What a command does to the connection once answered.
///
/// ```
/// use amp_schema::{Format, Kind, Schema};
///
/// let text = r#"{"commands": [{"name": "StartTLS", "kind": "starttls"}, {"name": "Sum"}]}"#;
/// let schema = Schema::parse(text, Format::Json)?;
/// assert_eq!(schema.commands[0].kind, Kind::Starttls);
/// assert_eq!(schema.commands[0].kind.as_str(), "starttls");
/// assert_eq!(schema.commands[1].kind, Kind::Command); // no `kind`: a plain command
/// # Ok::<(), amp_schema::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// An ordinary command.
    #[default]
    Command,
    /// A `ProtocolSwitchCommand`: after the answer, the connection is no
    /// longer AMP.
    Switch,
    /// `StartTLS`: after the answer, TLS.
    Starttls,
}

impl Kind {
    fn is_plain(&self) -> bool {
        *self == Kind::Command
    }

    /// The name used in schema files: `command`, `switch` or `starttls`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Command => "command",
            Kind::Switch => "switch",
            Kind::Starttls => "starttls",
        }
    }
}

/// A named argument or response field.
///
/// ```
/// use amp_schema::{ArgType, Field, Format, Schema};
///
/// let schema = Schema::parse(r#"{"commands": [{"name": "Hello", "arguments": [
///     {"name": "hello", "type": "Unicode"},
///     {"name": "print", "type": "Unicode", "optional": true}
/// ]}]}"#, Format::Json)?;
/// let print = &schema.commands[0].arguments[1];
/// assert_eq!(*print, Field { name: "print".into(), ty: ArgType::Unicode, optional: true });
/// assert!(!schema.commands[0].arguments[0].optional);
/// # Ok::<(), amp_schema::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    /// The key on the wire.
    pub name: String,
    /// Its type.
    #[serde(flatten)]
    pub ty: ArgType,
    /// Whether it may be missing (`optional=True`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

/// An argument type (a Twisted `amp.Argument` class).
///
/// ```
/// use amp_schema::{ArgType, Format, Schema};
///
/// let schema = Schema::parse(r#"{"commands": [{"name": "Tag", "arguments": [
///     {"name": "tags", "type": "ListOf", "of": {"type": "Unicode"}}
/// ]}]}"#, Format::Json)?;
/// let ty = &schema.commands[0].arguments[0].ty;
/// assert_eq!(*ty, ArgType::ListOf { of: Box::new(ArgType::Unicode) });
/// assert_eq!(ty.name(), "ListOf");
/// assert_eq!(ty.to_string(), "ListOf(Unicode)");
/// # Ok::<(), amp_schema::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum ArgType {
    /// `Integer`: decimal text, any size.
    Integer,
    /// `String`: bytes.
    String,
    /// `Unicode`: UTF-8 text.
    Unicode,
    /// `Boolean`: `True` / `False`.
    Boolean,
    /// `Float`: Python's `repr` of a float.
    Float,
    /// `Decimal`: Python's `str` of a `decimal.Decimal`.
    Decimal,
    /// `DateTime`: `YYYY-MM-DDTHH:MM:SS.ffffff+HH:MM`.
    DateTime,
    /// `Path`: a file path (UTF-8).
    Path,
    /// `Descriptor`: a file descriptor (UNIX sockets only).
    Descriptor,
    /// `BigString` (Evennia and others): bytes over 64 KiB, chunked over
    /// `k`, `k.2`, ...
    BigString,
    /// `BigUnicode`: text over 64 KiB, chunked the same way.
    BigUnicode,
    /// `ListOf(T)`: a list of one type.
    ListOf {
        /// The element type.
        of: Box<ArgType>,
    },
    /// `AmpList([...])`: a list of boxes with these fields.
    AmpList {
        /// The fields of each element.
        fields: Vec<Field>,
    },
    /// An argument class the schema does not know: the raw wire bytes.
    Raw {
        /// The Python class it stood for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        class: Option<String>,
    },
}

impl ArgType {
    /// Every type name a schema may use, in the order the docs list them.
    pub const NAMES: [&'static str; 14] = [
        "Integer",
        "String",
        "Unicode",
        "Boolean",
        "Float",
        "Decimal",
        "DateTime",
        "Path",
        "Descriptor",
        "BigString",
        "BigUnicode",
        "ListOf",
        "AmpList",
        "Raw",
    ];

    /// The type's name in schema files (`ListOf`, not its element type).
    pub fn name(&self) -> &'static str {
        match self {
            ArgType::Integer => "Integer",
            ArgType::String => "String",
            ArgType::Unicode => "Unicode",
            ArgType::Boolean => "Boolean",
            ArgType::Float => "Float",
            ArgType::Decimal => "Decimal",
            ArgType::DateTime => "DateTime",
            ArgType::Path => "Path",
            ArgType::Descriptor => "Descriptor",
            ArgType::BigString => "BigString",
            ArgType::BigUnicode => "BigUnicode",
            ArgType::ListOf { .. } => "ListOf",
            ArgType::AmpList { .. } => "AmpList",
            ArgType::Raw { .. } => "Raw",
        }
    }

    /// The type without its parameters, by name.
    pub(crate) fn simple(name: &str) -> Option<ArgType> {
        Some(match name {
            "Integer" => ArgType::Integer,
            "String" => ArgType::String,
            "Unicode" => ArgType::Unicode,
            "Boolean" => ArgType::Boolean,
            "Float" => ArgType::Float,
            "Decimal" => ArgType::Decimal,
            "DateTime" => ArgType::DateTime,
            "Path" => ArgType::Path,
            "Descriptor" => ArgType::Descriptor,
            "BigString" => ArgType::BigString,
            "BigUnicode" => ArgType::BigUnicode,
            _ => return None,
        })
    }
}

impl fmt::Display for ArgType {
    /// The type as docs/SCHEMA.md and `amp describe` write it: `Integer`,
    /// `ListOf(ListOf(Unicode))`, `AmpList`, `Raw(mod.Class)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgType::ListOf { of } => write!(f, "ListOf({of})"),
            ArgType::Raw { class: Some(c) } => write!(f, "Raw({c})"),
            other => f.write_str(other.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_written_as_in_the_docs() {
        let list = ArgType::ListOf {
            of: Box::new(ArgType::ListOf {
                of: Box::new(ArgType::Unicode),
            }),
        };
        assert_eq!(list.to_string(), "ListOf(ListOf(Unicode))");
        assert_eq!(list.name(), "ListOf");
        let raw = ArgType::Raw {
            class: Some("m.C".to_owned()),
        };
        assert_eq!(raw.to_string(), "Raw(m.C)");
        assert_eq!(ArgType::Raw { class: None }.to_string(), "Raw");
        assert_eq!(ArgType::AmpList { fields: vec![] }.to_string(), "AmpList");
        for name in ArgType::NAMES {
            if let Some(t) = ArgType::simple(name) {
                assert_eq!(t.to_string(), name);
            }
        }
    }
}
