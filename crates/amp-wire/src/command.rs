//! Typed commands, records and error tables.

use std::fmt;

use bytes::BytesMut;

use crate::ambox::AmpBox;
use crate::error::{DecodeError, EncodeError};
use crate::fields::FieldWriter;
use crate::types::Context;

/// A set of named, typed AMP values: a command's arguments, a response, or
/// one element of an `AmpList`. Usually derived with `#[derive(Record)]`.
///
/// Written by hand, a record reads and writes each field with
/// [`Argument`](crate::Argument)'s field methods (what the derive does):
///
/// ```
/// use amp_wire::{AmpBox, Argument, Context, DecodeError, EncodeError, FieldWriter, Record};
///
/// #[derive(Debug, PartialEq)]
/// struct Point {
///     x: i64,
///     y: Option<i64>,
/// }
///
/// impl Record for Point {
///     const FIELDS: &'static [&'static str] = &["x", "y"];
///     fn write_fields(
///         &self,
///         w: &mut FieldWriter<'_>,
///         cx: &mut Context<'_>,
///     ) -> Result<(), EncodeError> {
///         w.put_field("x", &self.x, cx)?;
///         w.put_field("y", &self.y, cx)
///     }
///     fn read_fields(b: &AmpBox, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
///         Ok(Point {
///             x: i64::read_field(b, "x", cx)?,
///             y: Option::read_field(b, "y", cx)?,
///         })
///     }
/// }
///
/// let b = Point { x: 1, y: None }.to_box().unwrap();
/// assert_eq!(b.to_bytes().unwrap(), &b"\x00\x01x\x00\x011\x00\x00"[..]); // no `y`
/// assert_eq!(Point::from_box(&b).unwrap(), Point { x: 1, y: None });
/// assert_eq!(Point::from_box(&AmpBox::new()), Err(DecodeError::missing("x")));
/// ```
pub trait Record: Sized {
    /// Wire names of the fields, in the order they are written (bytewise
    /// key order). A derived record lists the fields of its
    /// `#[amp(flatten)]` records too, merged in at compile time.
    const FIELDS: &'static [&'static str];

    /// The fields as a schema describes them (wire name, AMP type,
    /// optional), in declaration order ([`crate::describe`]). Derived
    /// records list theirs; a record written by hand lists none unless it
    /// says.
    fn describe_fields() -> Vec<crate::describe::Field> {
        Vec::new()
    }

    /// Write every present field into `w` (in key order, ideally: the
    /// derive does for its own fields; the entries of flattened records
    /// come after them and are put in order by [`FieldWriter::finish`]).
    fn write_fields(
        &self,
        w: &mut FieldWriter<'_>,
        cx: &mut Context<'_>,
    ) -> Result<(), EncodeError>;

    /// Read the fields from `b`. Keys the record does not know are ignored.
    fn read_fields(b: &AmpBox, cx: &mut Context<'_>) -> Result<Self, DecodeError>;

    /// The record as a new box (no descriptor channel).
    fn to_box(&self) -> Result<AmpBox, EncodeError> {
        let mut out = BytesMut::new();
        let mut w = FieldWriter::new(&mut out, &[]);
        self.write_fields(&mut w, &mut Context::none())?;
        w.finish()?;
        AmpBox::decode(out.freeze()).map_err(|e| EncodeError::invalid(e.to_string()))
    }

    /// Parse a box (no descriptor channel).
    fn from_box(b: &AmpBox) -> Result<Self, DecodeError> {
        Self::read_fields(b, &mut Context::none())
    }
}

/// The empty record: a command with no arguments or an empty response.
impl Record for () {
    const FIELDS: &'static [&'static str] = &[];
    fn write_fields(
        &self,
        _: &mut FieldWriter<'_>,
        _: &mut Context<'_>,
    ) -> Result<(), EncodeError> {
        Ok(())
    }
    fn read_fields(_: &AmpBox, _: &mut Context<'_>) -> Result<Self, DecodeError> {
        Ok(())
    }
}

/// An AMP command: its arguments (the `Record` part), its wire name, its
/// response and its declared errors. Usually derived with
/// `#[derive(Command)]`.
///
/// ```
/// use amp_wire::{AmpBox, Command, NoError, Record};
///
/// /// Add two numbers.
/// struct Sum {
///     a: i64,
///     b: i64,
/// }
/// struct Total {
///     total: i64,
/// }
/// // Both are records, written by hand as in `Record`'s example:
/// # use amp_wire::{Argument, Context, DecodeError, EncodeError, FieldWriter};
/// # impl Record for Sum {
/// #     const FIELDS: &'static [&'static str] = &["a", "b"];
/// #     fn write_fields(&self, w: &mut FieldWriter<'_>, cx: &mut Context<'_>)
/// #         -> Result<(), EncodeError> {
/// #         w.put_field("a", &self.a, cx)?;
/// #         w.put_field("b", &self.b, cx)
/// #     }
/// #     fn read_fields(b: &AmpBox, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
/// #         Ok(Sum { a: i64::read_field(b, "a", cx)?, b: i64::read_field(b, "b", cx)? })
/// #     }
/// # }
/// # impl Record for Total {
/// #     const FIELDS: &'static [&'static str] = &["total"];
/// #     fn write_fields(&self, w: &mut FieldWriter<'_>, cx: &mut Context<'_>)
/// #         -> Result<(), EncodeError> {
/// #         w.put_field("total", &self.total, cx)
/// #     }
/// #     fn read_fields(b: &AmpBox, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
/// #         Ok(Total { total: i64::read_field(b, "total", cx)? })
/// #     }
/// # }
///
/// impl Command for Sum {
///     const NAME: &'static str = "Sum";
///     type Response = Total;
///     type Error = NoError;
///     const DOC: Option<&'static str> = Some("Add two numbers.");
/// }
///
/// let d = Sum::describe();
/// assert_eq!((d.name.as_str(), d.requires_answer), ("Sum", true));
/// assert_eq!(d.doc.as_deref(), Some("Add two numbers."));
/// assert!(d.errors.is_empty() && d.fatal_errors.is_empty());
/// // The answer's fields decode as the response:
/// let answer: AmpBox = [("_answer", "1"), ("total", "3")].into_iter().collect();
/// let total = <Sum as Command>::Response::from_box(&answer).unwrap();
/// assert_eq!(total.total, 3);
/// ```
pub trait Command: Record + Send + 'static {
    /// The `_command` value.
    const NAME: &'static str;
    /// Whether callers ask for an answer (Twisted's `requiresAnswer`).
    const REQUIRES_ANSWER: bool = true;
    /// The response record.
    type Response: Record + Send + 'static;
    /// The declared errors (`errors` and `fatalErrors`).
    type Error: ErrorTable;
    /// The doc comment of the type (the derive copies it), for
    /// descriptions.
    const DOC: Option<&'static str> = None;

    /// The command as a schema describes it: name, arguments, response,
    /// declared and fatal error codes, `requiresAnswer`, doc
    /// ([`crate::describe`]).
    fn describe() -> crate::describe::CommandDescription {
        let codes = Self::Error::codes();
        let pick = |fatal: bool| {
            codes
                .iter()
                .filter(|(_, f)| *f == fatal)
                .map(|(c, _)| (*c).to_owned())
                .collect()
        };
        crate::describe::CommandDescription {
            name: Self::NAME.to_owned(),
            arguments: Self::describe_fields(),
            response: Self::Response::describe_fields(),
            errors: pick(false),
            fatal_errors: pick(true),
            requires_answer: Self::REQUIRES_ANSWER,
            kind: crate::describe::CommandKind::Plain,
            doc: Self::DOC.map(str::to_owned),
        }
    }
}

/// A command's declared errors: Twisted's `errors` and `fatalErrors`
/// mappings, as a Rust enum. Usually derived with `#[derive(AmpError)]`.
///
/// ```
/// use amp_wire::ErrorTable;
///
/// #[derive(Debug, PartialEq)]
/// enum TransferError {
///     InsufficientFunds,
///     AccountFrozen,
/// }
///
/// impl ErrorTable for TransferError {
///     fn codes() -> Vec<(&'static str, bool)> {
///         vec![("INSUFFICIENT_FUNDS", false), ("ACCOUNT_FROZEN", true)]
///     }
///     fn code(&self) -> &'static str {
///         match self {
///             TransferError::InsufficientFunds => "INSUFFICIENT_FUNDS",
///             TransferError::AccountFrozen => "ACCOUNT_FROZEN",
///         }
///     }
///     fn is_fatal(&self) -> bool {
///         matches!(self, TransferError::AccountFrozen)
///     }
///     fn description(&self) -> String {
///         format!("{self:?}")
///     }
///     fn from_wire(code: &[u8], _description: &str) -> Option<Self> {
///         match code {
///             b"INSUFFICIENT_FUNDS" => Some(TransferError::InsufficientFunds),
///             b"ACCOUNT_FROZEN" => Some(TransferError::AccountFrozen),
///             _ => None,
///         }
///     }
/// }
///
/// let e = TransferError::from_wire(b"ACCOUNT_FROZEN", "frozen").unwrap();
/// assert_eq!((e.code(), e.is_fatal()), ("ACCOUNT_FROZEN", true));
/// assert_eq!(TransferError::from_wire(b"UNHANDLED", ""), None); // not declared
/// ```
pub trait ErrorTable: Sized + Send + fmt::Debug + 'static {
    /// Every (code, fatal) pair this table declares.
    fn codes() -> Vec<(&'static str, bool)>;

    /// The wire code of this error.
    fn code(&self) -> &'static str;

    /// Whether sending this error closes the connection (`fatalErrors`).
    fn is_fatal(&self) -> bool;

    /// The `_error_description` text.
    fn description(&self) -> String;

    /// The error declared for a received `_error_code`, if any.
    fn from_wire(code: &[u8], description: &str) -> Option<Self>;
}

/// The error table of a command that declares no errors.
///
/// No code is declared, so no error box maps to it, and a
/// `Result<_, NoError>` is always `Ok`:
///
/// ```
/// use amp_wire::{ErrorTable, NoError};
///
/// assert!(NoError::codes().is_empty());
/// assert_eq!(NoError::from_wire(b"UNHANDLED", "nothing matches"), None);
/// let r: Result<i64, NoError> = Ok(3);
/// let Ok(v) = r;
/// assert_eq!(v, 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoError {}

impl fmt::Display for NoError {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {}
    }
}

impl std::error::Error for NoError {}

impl ErrorTable for NoError {
    fn codes() -> Vec<(&'static str, bool)> {
        Vec::new()
    }
    fn code(&self) -> &'static str {
        match *self {}
    }
    fn is_fatal(&self) -> bool {
        match *self {}
    }
    fn description(&self) -> String {
        match *self {}
    }
    fn from_wire(_: &[u8], _: &str) -> Option<Self> {
        None
    }
}
