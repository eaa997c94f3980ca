//! [`FieldWriter`]: a box written straight into an output buffer.

use bytes::{BufMut, BytesMut};

use crate::ambox::{check_entry, AmpBox};
use crate::error::{EncodeError, MAX_VALUE_LENGTH};

/// Writes the entries of one box directly in wire form, with no
/// intermediate [`AmpBox`](crate::AmpBox): how requests, answers and
/// `AmpList` elements are encoded.
///
/// Entries are expected in bytewise key order (derived records write their
/// fields sorted); *extra* entries given when the writer is made (such as
/// `_ask` and `_command`) are merged in at their places. Entries written out
/// of order are sorted when the box is finished, so the output is always
/// exactly what Twisted writes. A key that repeats keeps its last value; an
/// entry with the same key as an extra entry is dropped (the extra wins).
///
/// If the writer is dropped before [`FieldWriter::finish`] (an encoding
/// error, a panic), everything it wrote is removed from the buffer.
///
/// ```
/// use amp_wire::{Context, FieldWriter};
/// let mut out = bytes::BytesMut::new();
/// let mut w = FieldWriter::new(&mut out, &[(b"_ask", b"1"), (b"_command", b"Sum")]);
/// w.put("a", &13i64, &mut Context::none()).unwrap();
/// w.put("b", &None::<i64>, &mut Context::none()).unwrap(); // absent: not written
/// w.finish().unwrap();
/// assert_eq!(
///     &out[..],
///     b"\x00\x04_ask\x00\x011\x00\x08_command\x00\x03Sum\x00\x01a\x00\x0213\x00\x00"
/// );
/// ```
pub struct FieldWriter<'a> {
    out: &'a mut BytesMut,
    /// Where this box starts in `out`.
    start: usize,
    extras: &'a [(&'a [u8], &'a [u8])],
    /// Extras before this index have been written.
    next_extra: usize,
    /// The previous key written (its range in `out`).
    last_key: Option<(usize, usize)>,
    /// Every entry so far was written in key order.
    sorted: bool,
    finished: bool,
}

impl<'a> FieldWriter<'a> {
    /// A writer appending one box to `out`. `extras` must be sorted by key
    /// and within AMP's limits.
    pub fn new(out: &'a mut BytesMut, extras: &'a [(&'a [u8], &'a [u8])]) -> Self {
        debug_assert!(extras.windows(2).all(|w| w[0].0 < w[1].0));
        let start = out.len();
        FieldWriter {
            out,
            start,
            extras,
            next_extra: 0,
            last_key: None,
            sorted: true,
            finished: false,
        }
    }

    /// Write the entry `name` with a value that `encode` appends to the
    /// buffer (the typed writers, in `types/put.rs`, give it the value's
    /// encoder). On an error, or a value too long, nothing is left written.
    pub(crate) fn put_encoded(
        &mut self,
        name: &'static str,
        encode: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        let key = name.as_bytes();
        if self.shadowed(key) {
            return Ok(());
        }
        check_entry(key, b"")?;
        self.before(key);
        let at = self.out.len();
        self.out.put_u16(key.len() as u16);
        self.out.put_slice(key);
        self.out.put_u16(0);
        let value_at = self.out.len();
        let result = encode(self.out);
        let len = self.out.len() - value_at;
        let result = result.and_then(|()| {
            if len > MAX_VALUE_LENGTH {
                Err(EncodeError::ValueTooLong {
                    key: bytes::Bytes::from_static(key),
                    len,
                })
            } else {
                Ok(())
            }
        });
        if let Err(e) = result {
            self.out.truncate(at);
            return Err(e);
        }
        self.out[value_at - 2..value_at].copy_from_slice(&(len as u16).to_be_bytes());
        self.last_key = Some((at + 2, key.len()));
        Ok(())
    }

    /// Write `key = value` as raw bytes. The key may be built at run time
    /// (as the chunk keys `name.2`, `name.3`, ... are); keys given out of
    /// order are sorted when the box is finished.
    ///
    /// ```
    /// use amp_wire::{EncodeError, FieldWriter};
    ///
    /// let mut out = bytes::BytesMut::new();
    /// let mut w = FieldWriter::new(&mut out, &[]);
    /// w.put_raw(b"z.2", b"tail").unwrap();
    /// w.put_raw(b"z", b"head").unwrap(); // out of order: sorted at the end
    /// assert!(matches!(w.put_raw(b"", b"x"), Err(EncodeError::BadKeyLength { len: 0, .. })));
    /// w.finish().unwrap();
    /// assert_eq!(&out[..], b"\x00\x01z\x00\x04head\x00\x03z.2\x00\x04tail\x00\x00");
    /// ```
    pub fn put_raw(&mut self, key: &[u8], value: &[u8]) -> Result<(), EncodeError> {
        check_entry(key, value)?;
        if self.shadowed(key) {
            return Ok(());
        }
        self.before(key);
        let at = self.out.len();
        self.entry(key, value);
        self.last_key = Some((at + 2, key.len()));
        Ok(())
    }

    /// Whether `key` is one of the extra entries (which win).
    fn shadowed(&self, key: &[u8]) -> bool {
        self.extras.iter().any(|(k, _)| *k == key)
    }

    fn entry(&mut self, key: &[u8], value: &[u8]) {
        self.out.reserve(4 + key.len() + value.len());
        self.out.put_u16(key.len() as u16);
        self.out.put_slice(key);
        self.out.put_u16(value.len() as u16);
        self.out.put_slice(value);
    }

    /// Get ready to write `key`: write the extras that sort before it, and
    /// note whether the order still holds.
    fn before(&mut self, key: &[u8]) {
        if let Some((at, len)) = self.last_key {
            if self.out[at..at + len] >= *key {
                self.sorted = false;
            }
        }
        if self.sorted {
            while let Some(&(k, v)) = self.extras.get(self.next_extra) {
                if k >= key {
                    break;
                }
                self.entry(k, v);
                self.next_extra += 1;
            }
        }
    }

    /// Write the remaining extras and the terminator. Entries written out
    /// of order are put in order first.
    pub fn finish(mut self) -> Result<(), EncodeError> {
        if self.sorted {
            for &(k, v) in &self.extras[self.next_extra..] {
                self.entry(k, v);
            }
        } else {
            self.sort();
        }
        self.out.put_u16(0);
        self.finished = true;
        Ok(())
    }

    /// Rewrite what was written, plus the extras not written yet, in key
    /// order (a repeated key keeps its last value).
    fn sort(&mut self) {
        let body = self.out.split_off(self.start).freeze();
        let mut entries: Vec<(&[u8], &[u8])> = Vec::new();
        let mut pos = 0;
        while pos < body.len() {
            let klen = u16::from_be_bytes([body[pos], body[pos + 1]]) as usize;
            let key = &body[pos + 2..pos + 2 + klen];
            let vat = pos + 2 + klen;
            let vlen = u16::from_be_bytes([body[vat], body[vat + 1]]) as usize;
            entries.push((key, &body[vat + 2..vat + 2 + vlen]));
            pos = vat + 2 + vlen;
        }
        entries.extend(self.extras[self.next_extra..].iter().copied());
        entries.sort_by(|a, b| a.0.cmp(b.0));
        let mut i = 0;
        while i < entries.len() {
            let mut last = i;
            while last + 1 < entries.len() && entries[last + 1].0 == entries[i].0 {
                last += 1;
            }
            let (k, v) = entries[last];
            self.entry(k, v);
            i = last + 1;
        }
    }
}

// `AmpBox::write_entries` lives beside the writer it uses: the box does
// not depend on its writer.
impl AmpBox {
    /// Write every entry into `w`: a request or answer carrying this box's
    /// entries (see [`FieldWriter`]).
    ///
    /// ```
    /// use amp_wire::{AmpBox, FieldWriter};
    ///
    /// let args: AmpBox = [("b", "2"), ("a", "1")].into_iter().collect();
    /// let mut out = bytes::BytesMut::new();
    /// let mut w = FieldWriter::new(&mut out, &[(b"_command", b"Sum")]);
    /// args.write_entries(&mut w).unwrap();
    /// w.finish().unwrap();
    /// let sent = AmpBox::decode(out.freeze()).unwrap();
    /// assert_eq!(sent.get("_command"), Some(&b"Sum"[..]));
    /// assert_eq!(sent.get("b"), Some(&b"2"[..]));
    /// ```
    pub fn write_entries(&self, w: &mut FieldWriter<'_>) -> Result<(), EncodeError> {
        for (k, v) in self.iter() {
            w.put_raw(k, v)?;
        }
        Ok(())
    }
}

impl Drop for FieldWriter<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.out.truncate(self.start);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Context;

    fn written(extras: &[(&[u8], &[u8])], entries: &[(&[u8], &[u8])]) -> AmpBox {
        let mut out = BytesMut::new();
        let mut w = FieldWriter::new(&mut out, extras);
        for (k, v) in entries {
            w.put_raw(k, v).unwrap();
        }
        w.finish().unwrap();
        let b = AmpBox::decode(out.clone().freeze()).unwrap();
        // Whatever the order given, the output is canonical.
        assert_eq!(b.to_bytes().unwrap(), out);
        b
    }

    #[test]
    fn extras_merge_and_win() {
        let b = written(
            &[(b"_ask", b"1"), (b"_command", b"X")],
            &[(b"A", b"upper"), (b"_ask", b"mine"), (b"z", b"1")],
        );
        assert_eq!(b.get("_ask"), Some(&b"1"[..]));
        assert_eq!(b.get("A"), Some(&b"upper"[..]));
        assert_eq!(b.len(), 4);
    }

    #[test]
    fn out_of_order_entries_are_sorted_and_the_last_repeat_wins() {
        let b = written(
            &[(b"_answer", b"7")],
            &[(b"b", b"1"), (b"a", b"2"), (b"b", b"3"), (b"_a", b"x")],
        );
        let keys: Vec<&[u8]> = b.keys().collect();
        assert_eq!(keys, [&b"_a"[..], b"_answer", b"a", b"b"]);
        assert_eq!(b.get("b"), Some(&b"3"[..]));
    }

    #[test]
    fn a_failed_value_leaves_nothing_behind() {
        let mut out = BytesMut::from(&b"keep"[..]);
        {
            let mut w = FieldWriter::new(&mut out, &[(b"_ask", b"1")]);
            w.put("a", &1i64, &mut Context::none()).unwrap();
            let big = vec![0u8; MAX_VALUE_LENGTH + 1];
            assert!(matches!(
                w.put("b", &big, &mut Context::none()),
                Err(EncodeError::ValueTooLong { .. })
            ));
            // dropped without finish
        }
        assert_eq!(&out[..], b"keep");
    }
}
