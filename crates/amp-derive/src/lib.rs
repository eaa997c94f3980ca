//! Derive macros for amp-rs: [`Record`](macro@Record),
//! [`Command`](macro@Command) and [`AmpError`](macro@AmpError).
//!
//! Use them through the `amp` crate (`use amp::{AmpError, Command, Record};`);
//! the generated code refers to `::amp`. Put `#[amp(crate = "path")]` on the
//! type to name the crate differently; the path must provide what `amp`
//! provides (`Record`, `Command`, `ErrorTable`, `Argument`, `AmpBox`,
//! `Context`, `FieldWriter`, `EncodeError`, `DecodeError`, `NoError` and the hidden
//! `__private` module).
//!
//! Every attribute is written `#[amp(...)]`. Type-valued keys accept both
//! `key = Type` and `key = "Type"`.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod attr;
mod error_table;
mod record;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Derive `amp::Record` and `amp::Argument` for a struct with named fields:
/// a set of named AMP values (a command's response, or one element of an
/// `AmpList`).
///
/// * Each field is one key of the box; its type must implement
///   `amp::Argument`. `Option<T>` fields are optional arguments (absent key
///   = `None`).
/// * The wire name is the field name (a raw identifier's `r#` is dropped),
///   or `#[amp(name = "wire-name")]` on the field. Wire names must be 1 to
///   255 bytes, unique, and not one of AMP's reserved keys (`_command`,
///   `_ask`, `_answer`, `_error`, `_error_code`, `_error_description`).
/// * Fields are written in bytewise order of their wire names, as Twisted
///   does; `Record::FIELDS` lists the wire names in that order.
/// * `#[amp(flatten)]` on a field whose type is itself a `Record` (derived
///   with `Record` or `Command`) writes that record's fields into this box,
///   and reads them from it, instead of nesting it as one value: Twisted's
///   command inheritance (`class Child(Parent)` with `arguments =
///   Parent.arguments + [...]`). `FIELDS` includes the flattened names, and
///   the box is still written in key order (the writer sorts the entries
///   when the box is finished). A wire name used twice across the record
///   and its flattened records is a compile-time error (a constant check
///   that fails to evaluate, pointing at the field). `flatten` takes no
///   `name`, and `Option<Record>` cannot be flattened: make the inner
///   record's fields optional instead.
/// * The `Argument` implementation makes the record usable as a value:
///   `Vec<TheRecord>` is Twisted's `AmpList` (boxes concatenated), and a
///   record field holds one serialised box.
///
/// Container attributes: `#[amp(crate = "path")]`.
/// Field attributes: `#[amp(name = "wire-name")]`, `#[amp(flatten)]`.
///
/// Unit structs and `struct Empty {}` are records with no fields. Generic
/// structs, tuple structs, enums and unions are rejected.
///
/// ```
/// use amp::Record;
///
/// #[derive(Debug, PartialEq, Record)]
/// struct Point {
///     x: i64,
///     y: i64,
///     #[amp(name = "point-label")]
///     label: Option<String>,
/// }
///
/// #[derive(Debug, PartialEq, Record)]
/// struct Shape {
///     points: Vec<Point>, // an AmpList
/// }
///
/// let p = Point { x: 1, y: 2, label: None };
/// let b = p.to_box().unwrap();
/// // Keys in bytewise order, the absent optional left out, as Twisted writes it.
/// assert_eq!(
///     &b.to_bytes().unwrap()[..],
///     b"\x00\x01x\x00\x011\x00\x01y\x00\x012\x00\x00"
/// );
/// assert_eq!(Point::from_box(&b).unwrap(), p);
/// assert_eq!(Point::FIELDS, &["point-label", "x", "y"]);
///
/// // An AmpList: the boxes of its elements, concatenated into one value.
/// let shape = Shape { points: vec![Point { x: 0, y: 0, label: Some("o".into()) }] };
/// let b = shape.to_box().unwrap();
/// assert_eq!(
///     b.get("points").unwrap(),
///     b"\x00\x0bpoint-label\x00\x01o\x00\x01x\x00\x010\x00\x01y\x00\x010\x00\x00"
/// );
/// assert_eq!(Shape::from_box(&b).unwrap(), shape);
///
/// // Twisted: `class Point3(Point): arguments = Point.arguments + [(b"z", Integer())]`
/// #[derive(Debug, PartialEq, Record)]
/// struct Point3 {
///     #[amp(flatten)]
///     point: Point,
///     z: i64,
/// }
///
/// let p3 = Point3 { point: p, z: 3 };
/// let b = p3.to_box().unwrap();
/// assert_eq!(b.get("x").unwrap(), &b"1"[..]); // not nested
/// assert_eq!(Point3::FIELDS, &["point-label", "x", "y", "z"]);
/// assert_eq!(Point3::from_box(&b).unwrap(), p3);
/// ```
#[proc_macro_derive(Record, attributes(amp))]
pub fn derive_record(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    record::expand(input, false)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Derive `amp::Command` (and `amp::Record`, for the arguments) for a
/// struct with named fields or a unit struct.
///
/// The fields are the command's arguments, exactly as for
/// [`Record`](macro@Record) (field attributes `#[amp(name = "wire-name")]`
/// and `#[amp(flatten)]`: a subclass command flattens its parent command).
/// The struct does not get an `Argument` implementation: derive `Record`
/// on a separate type to send a record as a value.
///
/// Container attributes (any order, one or several `#[amp(...)]`):
///
/// | attribute | meaning | default |
/// |---|---|---|
/// | `name = "Sum"` | the `_command` name (1 to 65535 bytes) | the struct name |
/// | `response = Type` | the response record (`Record`) | `()` |
/// | `error = Type` | the declared errors (`ErrorTable`, e.g. from `#[derive(AmpError)]`) | `amp::NoError` |
/// | `requires_answer = false` | Twisted's `requiresAnswer` | `true` |
/// | `crate = "path"` | path of the `amp` crate | `::amp` |
///
/// ```
/// use amp::{AmpError, Command, Record};
///
/// #[derive(Debug, PartialEq, Record)]
/// struct Total {
///     total: i64,
/// }
///
/// #[derive(Debug, AmpError)]
/// enum SumError {
///     #[amp(code = "OVERFLOW")]
///     Overflow,
/// }
///
/// #[derive(Debug, PartialEq, Command)]
/// #[amp(name = "Sum", response = Total, error = SumError)]
/// struct Sum {
///     a: i64,
///     b: i64,
/// }
///
/// #[derive(Debug, Command)]
/// #[amp(requires_answer = false)]
/// struct Ping;
///
/// assert_eq!(<Sum as Command>::NAME, "Sum");
/// assert_eq!(Sum::describe().errors, ["OVERFLOW"]);
/// assert_eq!(<Ping as Command>::NAME, "Ping");
/// assert!(!<Ping as Command>::REQUIRES_ANSWER);
///
/// // The arguments box (the connection adds `_command` and `_ask`).
/// let args = Sum { a: 13, b: 81 }.to_box().unwrap();
/// assert_eq!(
///     &args.to_bytes().unwrap()[..],
///     b"\x00\x01a\x00\x0213\x00\x01b\x00\x0281\x00\x00"
/// );
/// assert_eq!(Sum::from_box(&args).unwrap(), Sum { a: 13, b: 81 });
///
/// // The response is read from the answer box.
/// let answer: amp::AmpBox = [("_answer", "1"), ("total", "94")].into_iter().collect();
/// assert_eq!(Total::from_box(&answer).unwrap(), Total { total: 94 });
/// ```
#[proc_macro_derive(Command, attributes(amp))]
pub fn derive_command(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    record::expand(input, true)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Derive `amp::ErrorTable` for an enum: a command's declared errors
/// (Twisted's `errors` and `fatalErrors`).
///
/// Each variant is one of:
///
/// * `#[amp(code = "CODE")] Name` — a unit variant. Its description is
///   `#[amp(description = "...")]` if given, else empty.
/// * `#[amp(code = "CODE")] Name(String)` or
///   `#[amp(code = "CODE")] Name { message: String }` — the field carries
///   the `_error_description` (sent, and filled in when received).
/// * `#[amp(extends)] Name(OtherTable)` — includes every error of another
///   `ErrorTable` (Twisted's inherited errors). `code`, `is_fatal` and
///   `description` delegate to it; when decoding, this enum's own codes are
///   tried first, then each `extends` variant in declaration order.
///
/// Add `fatal` to a coded variant (`#[amp(code = "BAD", fatal)]`) to make it
/// a fatal error: the connection is closed after it is sent.
///
/// Codes must be 1 to 65535 bytes, unique within the enum, and not
/// `UNHANDLED`: a received `UNHANDLED` always means the peer has no
/// responder for the command, so such a variant could never be received.
///
/// `UNKNOWN` may be declared, as Twisted allows (`errors =
/// {UnknownProtocol: b"UNKNOWN"}`). A received `_error_code` is looked up
/// in the declared errors first, so a declared `UNKNOWN` decodes to its
/// variant (`CallError::Remote`), with the received description; only an
/// undeclared `UNKNOWN` is `CallError::UnknownRemote`. This includes the
/// `UNKNOWN` / `Unknown Error` the peer sends when its responder fails in an
/// undeclared way (the peer then closes the connection), exactly as a
/// Twisted caller would see it. Sending the declared variant is an ordinary
/// declared error: the connection stays open unless the variant is `fatal`.
///
/// Container attributes: `#[amp(display)]` also implements `Display`
/// (the description, or the code when the description is empty);
/// `#[amp(crate = "path")]`. `std::error::Error` is never implemented for
/// you. The enum must implement `Debug` (and be `Send + 'static`), as
/// `ErrorTable` requires.
///
/// ```
/// use amp::{AmpError, ErrorTable};
///
/// #[derive(Debug, PartialEq, AmpError)]
/// enum BaseError {
///     #[amp(code = "ZERO_DIVISION", description = "divided by zero")]
///     ZeroDivision,
/// }
///
/// #[derive(Debug, PartialEq, AmpError)]
/// #[amp(display)]
/// enum CalcError {
///     #[amp(code = "OVERFLOW")]
///     Overflow,
///     #[amp(code = "BAD", fatal)]
///     Bad(String),
///     #[amp(extends)]
///     Base(BaseError),
/// }
///
/// // A received `_error_code` / `_error_description`, decoded.
/// let e = CalcError::from_wire(b"ZERO_DIVISION", "x").unwrap();
/// assert_eq!(e, CalcError::Base(BaseError::ZeroDivision));
/// assert_eq!(e.code(), "ZERO_DIVISION");
/// assert_eq!(e.to_string(), "divided by zero");
/// assert_eq!(
///     CalcError::from_wire(b"BAD", "boom"),
///     Some(CalcError::Bad("boom".into()))
/// );
/// assert_eq!(CalcError::from_wire(b"OTHER", ""), None);
///
/// // What is sent for an error: code, description, and whether it is fatal.
/// let bad = CalcError::Bad("boom".into());
/// assert_eq!((bad.code(), bad.description()), ("BAD", "boom".to_string()));
/// assert!(bad.is_fatal());
/// assert_eq!(
///     CalcError::codes(),
///     [("OVERFLOW", false), ("BAD", true), ("ZERO_DIVISION", false)]
/// );
/// ```
#[proc_macro_derive(AmpError, attributes(amp))]
pub fn derive_error(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    error_table::expand(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
