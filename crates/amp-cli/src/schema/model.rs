//! The schema file format: commands, their arguments, responses and errors.
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
    #[serde(default)]
    pub arguments: Vec<Field>,
    /// The answer's fields.
    #[serde(default)]
    pub response: Vec<Field>,
    /// Error codes the command may answer, with the exception name each
    /// stands for.
    #[serde(default)]
    pub errors: std::collections::BTreeMap<String, String>,
    /// Error codes that also close the connection.
    #[serde(default)]
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
}

/// A named argument or response field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

impl Schema {
    /// The command named `name` on the wire.
    pub fn command(&self, name: &str) -> Option<&CommandSchema> {
        self.commands.iter().find(|c| c.name == name)
    }
}
