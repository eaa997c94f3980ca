//! What derived code calls; not a public API (re-exported hidden as
//! `__private`, and by the `amp` crate likewise).

pub use crate::describe::{AmpType as DescribedType, Field as DescribedField};
pub use bytes::{Bytes, BytesMut};

use crate::error::{DecodeError, EncodeError};
use crate::types::{Argument, Context};

/// Read argument `name` from `b` (derived code calls this).
pub fn get_arg<T: Argument>(
    b: &crate::AmpBox,
    name: &'static str,
    cx: &mut Context<'_>,
) -> Result<T, DecodeError> {
    T::read_field(b, name, cx)
}

/// `Argument::encode` for a record used as a value: the record as one
/// serialised box (derived code calls this).
pub fn record_encode<R: crate::Record>(
    r: &R,
    out: &mut BytesMut,
    cx: &mut Context<'_>,
) -> Result<(), EncodeError> {
    let mut w = crate::FieldWriter::new(out, &[]);
    r.write_fields(&mut w, cx)?;
    w.finish()
}

/// `Argument::decode` for a record used as a value: exactly one box.
pub fn record_decode<R: crate::Record>(raw: Bytes, cx: &mut Context<'_>) -> Result<R, DecodeError> {
    cx.nested(|cx| {
        let b = crate::AmpBox::decode(raw).map_err(|e| DecodeError::invalid(e.to_string()))?;
        R::read_fields(&b, cx)
    })
}

/// `Argument::decode_items` for records: `AmpList`'s concatenated boxes,
/// decoded one at a time.
pub fn record_decode_items<R: crate::Record>(
    raw: Bytes,
    cx: &mut Context<'_>,
) -> Result<Vec<R>, DecodeError> {
    cx.nested(|cx| {
        let mut out = Vec::new();
        for b in crate::codec::boxes(&raw) {
            let b = b.map_err(|e| DecodeError::invalid(e.to_string()))?;
            out.push(R::read_fields(&b, cx)?);
        }
        Ok(out)
    })
}

/// Whether wire name `a` sorts before `b` (bytewise, as Twisted sorts keys).
const fn name_less(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut i = 0;
    while i < a.len() && i < b.len() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
        i += 1;
    }
    a.len() < b.len()
}

const fn name_eq(a: &str, b: &str) -> bool {
    !name_less(a, b) && !name_less(b, a)
}

/// `Record::FIELDS` of a record with `#[amp(flatten)]` fields: its own wire
/// names and those of each flattened record, as one bytewise-sorted list.
/// `N` must be the total number of names (derived code computes it).
pub const fn merge_fields<const N: usize>(parts: &[&'static [&'static str]]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut n = 0;
    let mut i = 0;
    while i < parts.len() {
        let mut j = 0;
        while j < parts[i].len() {
            out[n] = parts[i][j];
            n += 1;
            j += 1;
        }
        i += 1;
    }
    assert!(n == N, "merge_fields: wrong length");
    // Insertion sort: the lists are short, and this runs at compile time.
    let mut i = 1;
    while i < N {
        let mut j = i;
        while j > 0 && name_less(out[j], out[j - 1]) {
            let t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
            j -= 1;
        }
        i += 1;
    }
    out
}

/// Whether `fields` contains wire name `name` (compile-time duplicate check
/// of derived records with `#[amp(flatten)]` fields).
pub const fn has_field(fields: &[&str], name: &str) -> bool {
    let mut i = 0;
    while i < fields.len() {
        if name_eq(fields[i], name) {
            return true;
        }
        i += 1;
    }
    false
}

/// Whether two lists of wire names share one.
pub const fn share_field(a: &[&str], b: &[&str]) -> bool {
    let mut i = 0;
    while i < a.len() {
        if has_field(b, a[i]) {
            return true;
        }
        i += 1;
    }
    false
}

/// The description of field `name` of type `T` (derived code calls this):
/// its AMP type, optional when `T` may be absent (`Option`).
pub fn describe_field<T: Argument>(name: &str) -> crate::describe::Field {
    crate::describe::Field {
        name: name.to_owned(),
        ty: T::amp_type(),
        optional: T::absent().is_some(),
    }
}
