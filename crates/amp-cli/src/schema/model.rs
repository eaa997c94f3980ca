//! The schema file format: commands, their arguments, responses and errors.
//! docs/SCHEMA.md describes it in full; the rules a parsed schema must also
//! follow are in `validate.rs`.
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
//! (they are read through `RawField` and `RawType`, which list every key
//! a field may have, then checked: `of` only on a `ListOf`, and so on).

use serde::{Deserialize, Serialize};

/// A schema: the commands of a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    /// Where the schema came from (free text, say `twisted.test.test_amp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The commands.
    pub commands: Vec<CommandSchema>,
}

/// One command (a Twisted `amp.Command` subclass).
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

/// What a command does to the connection once answered.
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawField")]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", try_from = "RawType")]
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
    fn simple(name: &str) -> Option<ArgType> {
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

impl Schema {
    /// The command named `name` on the wire.
    pub fn command(&self, name: &str) -> Option<&CommandSchema> {
        self.commands.iter().find(|c| c.name == name)
    }
}

/// A type as written in a file, before its keys are checked against its
/// `type`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawType {
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    of: Option<Box<ArgType>>,
    #[serde(default)]
    fields: Option<Vec<Field>>,
    #[serde(default)]
    class: Option<String>,
}

/// A field as written in a file: a name, `optional`, and a type's keys.
/// It lists `RawType`'s keys again instead of `#[serde(flatten)]`ing a
/// `RawType`: serde does not support `deny_unknown_fields` together with
/// `flatten`, and unknown keys must stay errors.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    of: Option<Box<ArgType>>,
    #[serde(default)]
    fields: Option<Vec<Field>>,
    #[serde(default)]
    class: Option<String>,
}

impl TryFrom<RawType> for ArgType {
    type Error = String;

    fn try_from(raw: RawType) -> Result<ArgType, String> {
        let RawType {
            ty,
            of,
            fields,
            class,
        } = raw;
        let stray = |key: &str, only: &str| {
            Err(format!(
                "type {ty} takes no `{key}` (`{key}` belongs to {only})"
            ))
        };
        if of.is_some() && ty != "ListOf" {
            return stray("of", "ListOf: its element type");
        }
        if fields.is_some() && ty != "AmpList" {
            return stray("fields", "AmpList: the fields of each element");
        }
        if class.is_some() && ty != "Raw" {
            return stray("class", "Raw: the Python class it stands for");
        }
        if let Some(t) = ArgType::simple(&ty) {
            return Ok(t);
        }
        match ty.as_str() {
            "ListOf" => match of {
                Some(of) => Ok(ArgType::ListOf { of }),
                None => Err("a ListOf needs `of`, its element type, say \
                     \"of\": {\"type\": \"Integer\"}"
                    .to_owned()),
            },
            "AmpList" => match fields {
                Some(fields) => Ok(ArgType::AmpList { fields }),
                None => Err(
                    "an AmpList needs `fields`, the fields of each element, say \
                     \"fields\": [{\"name\": \"x\", \"type\": \"Integer\"}]"
                        .to_owned(),
                ),
            },
            "Raw" => Ok(ArgType::Raw { class }),
            other => Err(unknown_type(other)),
        }
    }
}

/// The message for a `type` no schema knows, with the closest name.
fn unknown_type(name: &str) -> String {
    let close = ArgType::NAMES
        .iter()
        .map(|n| {
            (
                strsim::jaro_winkler(&n.to_lowercase(), &name.to_lowercase()),
                n,
            )
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let hint = match close {
        Some((_, n)) => format!(" (did you mean {n}?)"),
        None => String::new(),
    };
    format!(
        "unknown type `{name}`{hint}; the types are {}",
        ArgType::NAMES.join(", ")
    )
}

impl TryFrom<RawField> for Field {
    type Error = String;

    fn try_from(raw: RawField) -> Result<Field, String> {
        let ty = ArgType::try_from(RawType {
            ty: raw.ty,
            of: raw.of,
            fields: raw.fields,
            class: raw.class,
        })?;
        Ok(Field {
            name: raw.name,
            ty,
            optional: raw.optional,
        })
    }
}
