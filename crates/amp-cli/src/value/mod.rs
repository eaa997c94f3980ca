//! AMP values as JSON: what the command line accepts and prints.
//!
//! Every conversion goes through the `amp` library's own codecs
//! (`amp::to_value`/`amp::from_value` on the Rust type that matches each
//! Twisted argument type), so the bytes are exactly Twisted's.
//!
//! # The JSON form of each type
//!
//! | schema type | JSON accepted | JSON printed |
//! |---|---|---|
//! | `Integer` | an integer; or a string of digits, any size (Python `int()` syntax) | a number when it fits 64 bits, else a string of digits |
//! | `String`, `Raw`, `BigString` | a string (sent as UTF-8) | a string when the bytes are UTF-8 |
//! | `Unicode`, `BigUnicode`, `Path` | a string | a string |
//! | `Boolean` | `true` / `false` (sent `True` / `False`) | `true` / `false` |
//! | `Float` | a number; or a string Python's `float()` reads (`"nan"`, `"-inf"`) | a number; `"nan"`, `"inf"`, `"-inf"` |
//! | `Decimal` | a string (exact: `"1.10"`) or a number (its shortest text) | a string (Python's `str`) |
//! | `DateTime` | a string: Twisted's `2024-02-29T13:05:09.000000+05:30`, or RFC 3339 | a string, Twisted's form |
//! | `ListOf(T)` | an array of `T` | an array |
//! | `AmpList([...])` | an array of objects (one per box) | an array of objects |
//! | `Descriptor` | refused by `amp call` (descriptors travel beside the box); `amp encode` takes the ordinal as an integer | the ordinal, a number |
//!
//! Everywhere, `{"base64": "..."}` stands for exact wire bytes: it is how
//! bytes that are not UTF-8 (or a value that does not read back as its
//! type, byte for byte) are printed, and it is accepted back for any type.
//! An optional argument given as `null` is left out of the box.
//!
//! Without a schema (or for a key the schema does not declare) values are
//! untyped: a string is sent as UTF-8, an integer as its digits, another
//! number as Python's `repr` of the float, `true`/`false` as
//! `True`/`False`, and `{"base64": ...}` as its bytes; arrays and objects
//! need a schema to say how they are laid out. Untyped values are printed
//! as a string when they are UTF-8, else as `{"base64": ...}`.
//!
//! Limits: a value is at most 65,535 bytes on the wire (`BigString` and
//! `BigUnicode` arguments are chunked over `k`, `k.2`, ... up to the box
//! size limit, 4 MiB), a key at most 255 bytes, and lists nest at most as
//! deep as `amp::Config` allows (64 levels).

mod error;
mod fields;
mod list;
mod marker;
pub mod record;
pub mod render;
#[cfg(test)]
mod roundtrip;
mod scalar;
#[cfg(test)]
mod tests;

pub use error::ValueError;
pub use fields::{build_box, read_box, Given};
pub use marker::json_bytes;

use bytes::Bytes;
use serde_json::Value as Json;

use crate::schema::ArgType;

/// How strictly JSON becomes a box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A call: unknown arguments and missing required ones are errors, and
    /// `Descriptor` values are refused.
    Call,
    /// `amp encode`: any box may be written (unknown keys untyped, required
    /// ones may be missing); a `Descriptor` is its ordinal.
    Encode,
}

/// The most list levels a value may nest (`amp::Config`'s default).
pub fn max_nesting() -> usize {
    amp::Config::default().max_nesting()
}

/// The most bytes a box (and so a chunked value) may have on the wire
/// (`amp::Config`'s default).
pub fn max_box_size() -> usize {
    amp::Config::default().max_box_size()
}

/// The wire bytes of one value of type `ty` given as JSON `v`, at list
/// depth `depth` (0 for an argument of a box). `BigString`/`BigUnicode`
/// give the whole value; the caller chunks it.
pub fn to_wire(ty: &ArgType, v: &Json, mode: Mode, depth: usize) -> Result<Bytes, ValueError> {
    if let Some(b) = marker::as_marker(v)? {
        return Ok(b);
    }
    match ty {
        ArgType::ListOf { of } => list::list_to_wire(of, v, mode, depth),
        ArgType::AmpList { fields } => list::amplist_to_wire(fields, v, mode, depth),
        _ => scalar::to_wire(ty, v, mode),
    }
}

/// The JSON of the wire value `raw` of type `ty`, or why it cannot be
/// shown as that type: not decodable, or not written back byte for byte
/// by [`to_wire`] (so that printing and re-encoding never changes a byte).
pub fn try_from_wire(ty: &ArgType, raw: &Bytes, depth: usize) -> Result<Json, ValueError> {
    match ty {
        ArgType::ListOf { of } => list::list_from_wire(of, raw, depth),
        ArgType::AmpList { fields } => list::amplist_from_wire(fields, raw, depth),
        _ => {
            let v = scalar::from_wire(ty, raw)?;
            match to_wire(ty, &v, Mode::Encode, depth) {
                Ok(back) if back == *raw => Ok(v),
                _ => Err(ValueError::new(format!(
                    "{} is not written back byte for byte as a {}",
                    amp::display_bytes(raw),
                    type_name(ty)
                ))),
            }
        }
    }
}

/// Whether `raw` is a valid value of `ty` (what the peer's decoder would
/// accept; a one-value type's text need not be canonical, but each
/// element of a list must read back exactly): how `ARG=TEXT` is checked.
pub fn check_wire(ty: &ArgType, raw: &Bytes) -> Result<(), ValueError> {
    match ty {
        ArgType::ListOf { of } => list::list_from_wire(of, raw, 0).map(drop),
        ArgType::AmpList { fields } => list::amplist_from_wire(fields, raw, 0).map(drop),
        _ => scalar::from_wire(ty, raw).map(drop),
    }
}

/// The Twisted name of a type, for messages (`ListOf(Integer)`).
pub fn type_name(ty: &ArgType) -> String {
    match ty {
        ArgType::Integer => "Integer".into(),
        ArgType::String => "String".into(),
        ArgType::Unicode => "Unicode".into(),
        ArgType::Boolean => "Boolean".into(),
        ArgType::Float => "Float".into(),
        ArgType::Decimal => "Decimal".into(),
        ArgType::DateTime => "DateTime".into(),
        ArgType::Path => "Path".into(),
        ArgType::Descriptor => "Descriptor".into(),
        ArgType::BigString => "BigString".into(),
        ArgType::BigUnicode => "BigUnicode".into(),
        ArgType::ListOf { of } => format!("ListOf({})", type_name(of)),
        ArgType::AmpList { fields } => {
            let names: Vec<String> = fields
                .iter()
                .map(|f| format!("{}: {}", f.name, type_name(&f.ty)))
                .collect();
            format!("AmpList([{}])", names.join(", "))
        }
        ArgType::Raw { class: Some(c) } => format!("{c} (raw bytes)"),
        ArgType::Raw { class: None } => "raw bytes".into(),
    }
}

/// Whether `ty` is chunked over `k`, `k.2`, ... as an argument of a box.
pub fn is_big(ty: &ArgType) -> bool {
    matches!(ty, ArgType::BigString | ArgType::BigUnicode)
}

/// Whether `ty`'s JSON is an array (printed as JSON in `key: value` text).
pub fn is_structured(ty: &ArgType) -> bool {
    matches!(ty, ArgType::ListOf { .. } | ArgType::AmpList { .. })
}
