//! What a typed command looks like on the wire, told by the types
//! themselves: each [`Argument`](crate::types::Argument) names its AMP type,
//! each [`Record`](crate::Record) lists its fields, each
//! [`Command`](crate::Command) describes itself (arguments, response,
//! errors, whether it wants an answer, its doc comment). This is what a
//! schema is made of (docs/SCHEMA.md), without a schema library.
//!
//! ```
//! use amp_wire::describe::{AmpType, Field};
//! use amp_wire::types::Argument;
//!
//! assert_eq!(i64::amp_type(), AmpType::Integer);
//! assert_eq!(<Vec<String>>::amp_type(), AmpType::ListOf(Box::new(AmpType::Unicode)));
//! assert_eq!(<Vec<u8>>::amp_type(), AmpType::String);
//! assert_eq!(Field::new("b", AmpType::Integer).optional().optional, true);
//! ```
//!
//! With the derives (through the `amp` crate), `Sum::describe()` gives
//! the whole command; see `crates/amp/tests/describe.rs`.

/// An AMP argument type (Twisted's `amp.Integer`, `amp.ListOf`, ...).
///
/// Every [`Argument`](crate::types::Argument) names its own:
///
/// ```
/// use amp_wire::describe::AmpType;
/// use amp_wire::Argument;
///
/// assert_eq!(<Option<f64>>::amp_type(), AmpType::Float); // optional is the field's business
/// assert_eq!(String::amp_type(), AmpType::Unicode);
/// assert_eq!(
///     <Vec<Vec<bool>>>::amp_type(),
///     AmpType::ListOf(Box::new(AmpType::ListOf(Box::new(AmpType::Boolean))))
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AmpType {
    /// `amp.Integer`.
    Integer,
    /// `amp.String`: bytes.
    String,
    /// `amp.Unicode`: UTF-8 text.
    Unicode,
    /// `amp.Boolean`.
    Boolean,
    /// `amp.Float`.
    Float,
    /// `amp.Decimal`.
    Decimal,
    /// `amp.DateTime`.
    DateTime,
    /// `amp.Path`.
    Path,
    /// `amp.Descriptor`.
    Descriptor,
    /// Bytes of any size, chunked over `name`, `name.2`, ...
    BigString,
    /// Text of any size, chunked the same way.
    BigUnicode,
    /// `amp.ListOf(T)`.
    ListOf(Box<AmpType>),
    /// `amp.AmpList([...])`: a list of records with these fields.
    AmpList(Vec<Field>),
    /// A type of its own (a custom [`Argument`](crate::types::Argument)):
    /// its bytes as they are.
    Raw,
}

/// One field of a command's arguments or response, or of an `AmpList`
/// element.
///
/// ```
/// use amp_wire::describe::{AmpType, Field};
///
/// let limit = Field::new("limit", AmpType::Integer).optional();
/// assert_eq!(limit.name, "limit");
/// assert_eq!((&limit.ty, limit.optional), (&AmpType::Integer, true));
/// // The elements of an `AmpList` are described by their fields.
/// let rows = AmpType::AmpList(vec![Field::new("id", AmpType::Integer), limit]);
/// assert!(matches!(&rows, AmpType::AmpList(fields) if fields.len() == 2));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Field {
    /// The wire name.
    pub name: String,
    /// Its type.
    pub ty: AmpType,
    /// May be left out (an `Option`).
    pub optional: bool,
}

impl Field {
    /// A required field.
    pub fn new(name: impl Into<String>, ty: AmpType) -> Field {
        Field {
            name: name.into(),
            ty,
            optional: false,
        }
    }

    /// The same field, optional.
    pub fn optional(mut self) -> Field {
        self.optional = true;
        self
    }
}

/// A command as a schema describes it.
///
/// [`Command::describe`](crate::Command::describe) gives it for a typed
/// command; a tool that reads commands from elsewhere builds it field by
/// field.
///
/// ```
/// use amp_wire::describe::{AmpType, CommandDescription, CommandKind, Field};
///
/// let mut sum = CommandDescription::new("Sum");
/// sum.arguments = vec![Field::new("a", AmpType::Integer), Field::new("b", AmpType::Integer)];
/// sum.response = vec![Field::new("total", AmpType::Integer)];
/// sum.errors.push("OVERFLOW".to_owned());
/// assert!(sum.requires_answer);
/// assert_eq!(sum.kind, CommandKind::Plain);
/// assert_eq!(sum.fatal_errors, Vec::<String>::new());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommandDescription {
    /// The `_command` value.
    pub name: String,
    /// Its arguments, in wire order.
    pub arguments: Vec<Field>,
    /// Its answer's fields.
    pub response: Vec<Field>,
    /// Declared error codes (Twisted's `errors`).
    pub errors: Vec<String>,
    /// Declared fatal error codes (`fatalErrors`).
    pub fatal_errors: Vec<String>,
    /// Whether callers ask for an answer (`requiresAnswer`).
    pub requires_answer: bool,
    /// What its answer does to the connection.
    pub kind: CommandKind,
    /// The doc comment of the type, if any.
    pub doc: Option<String>,
}

impl CommandDescription {
    /// A command called `name` with nothing declared: no arguments, no
    /// response, no errors, asking for an answer, plain.
    pub fn new(name: impl Into<String>) -> CommandDescription {
        CommandDescription {
            name: name.into(),
            arguments: Vec::new(),
            response: Vec::new(),
            errors: Vec::new(),
            fatal_errors: Vec::new(),
            requires_answer: true,
            kind: CommandKind::Plain,
            doc: None,
        }
    }
}

/// What a command's answer does to the connection (a schema's `kind`):
/// the one definition the session (what a request negotiates, what a call
/// is for), routers and schemas share.
///
/// A session tells which kind a request from the peer is:
///
/// ```
/// use amp_wire::describe::CommandKind;
/// use amp_wire::session::{Event, Phase, Session};
/// use amp_wire::{AmpBox, Config};
/// use std::time::Instant;
///
/// let now = Instant::now();
/// let mut s = Session::new(Config::default(), now);
/// s.negotiates_switch("Upgrade"); // a protocol-switch command of ours
/// let ask: AmpBox = [("_ask", "1"), ("_command", "Upgrade")].into_iter().collect();
/// s.feed(&ask.to_bytes().unwrap(), now);
/// let Some(Event::Request(req)) = s.poll_event(now) else { panic!("no request") };
/// assert_eq!(req.kind, CommandKind::Switch);
/// assert_eq!(s.phase(), Phase::Deciding(CommandKind::Switch));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum CommandKind {
    /// Nothing: AMP goes on.
    #[default]
    Plain,
    /// A protocol switch (`ProtocolSwitchCommand`): after the answer the
    /// connection carries another protocol.
    Switch,
    /// `StartTLS`: after the answer, TLS.
    StartTls,
}
