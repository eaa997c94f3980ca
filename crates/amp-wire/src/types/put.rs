//! Writing [`Argument`]s with a [`FieldWriter`]: the typed side of the
//! writer, which itself only knows keys and bytes.

use super::{Argument, Context};
use crate::error::EncodeError;
use crate::fields::FieldWriter;

impl<'a> FieldWriter<'a> {
    /// Write `key = value` if the value is present (`None` is not written).
    ///
    /// ```
    /// use amp_wire::{Context, FieldWriter};
    /// let mut out = bytes::BytesMut::new();
    /// let mut w = FieldWriter::new(&mut out, &[]);
    /// w.put("n", &7i64, &mut Context::none()).unwrap();
    /// w.put("gone", &None::<i64>, &mut Context::none()).unwrap();
    /// w.finish().unwrap();
    /// assert_eq!(&out[..], b"\x00\x01n\x00\x017\x00\x00");
    /// ```
    pub fn put<T: Argument>(
        &mut self,
        name: &'static str,
        value: &T,
        cx: &mut Context<'_>,
    ) -> Result<(), EncodeError> {
        if !value.is_present() {
            return Ok(());
        }
        self.put_encoded(name, |out| {
            value.encode(out, cx).map_err(|e| e.with_key(name))
        })
    }

    /// Write the argument `name`: what [`Argument::write_field`] writes
    /// (for most types [`FieldWriter::put`]; the chunked types write
    /// `name`, `name.2`, ...). Derived records call this for every field.
    ///
    /// ```
    /// use amp_wire::types::BigBytes;
    /// use amp_wire::{AmpBox, Context, FieldWriter};
    ///
    /// let mut out = bytes::BytesMut::new();
    /// let mut w = FieldWriter::new(&mut out, &[]);
    /// w.put_field("n", &7i64, &mut Context::none()).unwrap(); // as `put`
    /// let big = BigBytes::from(vec![1u8; 70_000]);
    /// w.put_field("data", &big, &mut Context::none()).unwrap(); // chunked
    /// w.finish().unwrap();
    /// let b = AmpBox::decode(out.freeze()).unwrap();
    /// assert_eq!(b.get("n"), Some(&b"7"[..]));
    /// assert_eq!(b.get("data.2").map(<[u8]>::len), Some(70_000 - 65_535));
    /// ```
    pub fn put_field<T: Argument>(
        &mut self,
        name: &'static str,
        value: &T,
        cx: &mut Context<'_>,
    ) -> Result<(), EncodeError> {
        value.write_field(self, name, cx)
    }
}
