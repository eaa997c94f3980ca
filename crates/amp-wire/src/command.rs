//! Typed commands, records and error tables.

use std::fmt;

use bytes::BytesMut;

use crate::ambox::AmpBox;
use crate::error::{DecodeError, EncodeError};
use crate::fields::FieldWriter;
use crate::types::Context;

/// A set of named, typed AMP values: a command's arguments, a response, or
/// one element of an `AmpList`. Usually derived with `#[derive(Record)]`.
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
