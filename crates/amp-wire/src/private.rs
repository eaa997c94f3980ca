//! What derived code calls; not a public API (re-exported hidden as
//! `__private`, and by the `amp` crate likewise).

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
