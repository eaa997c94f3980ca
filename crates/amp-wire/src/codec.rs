//! Incremental, zero-copy decoding of a byte stream into [`AmpBox`]es.

use bytes::{Bytes, BytesMut};

use crate::ambox::AmpBox;
use crate::error::{ProtocolError, MAX_KEY_LENGTH, MAX_VALUE_LENGTH};

/// Splits a stream of bytes into boxes.
///
/// Feed it the connection's read buffer with [`BoxDecoder::decode`]; each
/// complete box is split off the front of the buffer and returned with its
/// keys and values as slices of that one allocation (no copy). Partial input
/// is remembered, so a box arriving one byte at a time costs no rescans.
///
/// A key length above 255 is reported as soon as its two length bytes are
/// buffered.
///
/// ```
/// use amp_wire::BoxDecoder;
/// use bytes::BytesMut;
/// let mut dec = BoxDecoder::new();
/// let mut buf = BytesMut::from(&b"\x00\x01a\x00\x011\x00\x00\x00"[..]);
/// let b = dec.decode(&mut buf).unwrap().unwrap();
/// assert_eq!(b.get("a").unwrap().as_ref(), b"1");
/// assert_eq!(dec.decode(&mut buf).unwrap(), None); // one stray byte left
/// assert_eq!(&buf[..], b"\x00");
/// ```
#[derive(Debug)]
pub struct BoxDecoder {
    /// Offset in the buffer of the next length prefix to read.
    pos: usize,
    /// (key start, key end, value start, value end) of the entries seen so
    /// far in the current box.
    spans: Vec<(usize, usize, usize, usize)>,
    max_value: usize,
}

impl Default for BoxDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl BoxDecoder {
    /// A decoder enforcing AMP's limits (keys 1..=255, values up to 65535).
    pub fn new() -> Self {
        BoxDecoder {
            pos: 0,
            spans: Vec::new(),
            max_value: MAX_VALUE_LENGTH,
        }
    }

    /// Whether part of a box is buffered (at end of stream this means the
    /// box was truncated).
    pub fn is_mid_box(&self, buf: &BytesMut) -> bool {
        !buf.is_empty()
    }

    /// Forget any partial box (after the buffer was taken away, e.g. by a
    /// protocol switch).
    pub fn reset(&mut self) {
        self.pos = 0;
        self.spans.clear();
    }

    /// Decode the next complete box from the front of `buf`.
    ///
    /// Returns `Ok(None)` when more bytes are needed. On `Ok(Some(_))` the
    /// box's bytes have been removed from `buf`. An error means the stream is
    /// not AMP; the connection should be dropped.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<AmpBox>, ProtocolError> {
        loop {
            let pos = self.pos;
            if buf.len() < pos + 2 {
                return Ok(None);
            }
            let klen = u16::from_be_bytes([buf[pos], buf[pos + 1]]) as usize;
            if klen == 0 {
                let total = pos + 2;
                let frame = buf.split_to(total).freeze();
                let b = self.finish(&frame);
                return Ok(Some(b));
            }
            if klen > MAX_KEY_LENGTH {
                return Err(ProtocolError::KeyTooLong { len: klen });
            }
            let vlen_at = pos + 2 + klen;
            if buf.len() < vlen_at + 2 {
                return Ok(None);
            }
            let vlen = u16::from_be_bytes([buf[vlen_at], buf[vlen_at + 1]]) as usize;
            if vlen > self.max_value {
                return Err(ProtocolError::ValueTooLong {
                    len: vlen,
                    max: self.max_value,
                });
            }
            let vstart = vlen_at + 2;
            let vend = vstart + vlen;
            if buf.len() < vend {
                // Make room for the rest of this box in one go.
                buf.reserve(vend + 2 - buf.len());
                return Ok(None);
            }
            self.spans.push((pos + 2, vlen_at, vstart, vend));
            self.pos = vend;
        }
    }

    fn finish(&mut self, frame: &Bytes) -> AmpBox {
        self.pos = 0;
        let mut entries = Vec::with_capacity(self.spans.len());
        let mut sorted = true;
        for &(ks, ke, vs, ve) in &self.spans {
            let k = frame.slice(ks..ke);
            if let Some((prev, _)) = entries.last() {
                if *prev >= k {
                    sorted = false;
                }
            }
            entries.push((k, frame.slice(vs..ve)));
        }
        self.spans.clear();
        if sorted {
            AmpBox::from_sorted_unique(entries)
        } else {
            AmpBox::from_entries(entries)
        }
    }
}

/// Decode a buffer holding a whole number of boxes (as an `AmpList` value
/// does), without copying: every key and value is a slice of `data`.
/// Trailing bytes that do not form a complete box are an error.
pub fn decode_all(data: &Bytes) -> Result<Vec<AmpBox>, ProtocolError> {
    let mut out = Vec::new();
    let mut entries = Vec::new();
    let mut pos = 0usize;
    let truncated = |pos: usize| ProtocolError::TruncatedBox {
        buffered: data.len() - pos,
    };
    let mut box_start = 0usize;
    while pos < data.len() {
        if data.len() < pos + 2 {
            return Err(truncated(box_start));
        }
        let klen = u16::from_be_bytes([data[pos], data[pos + 1]]) as usize;
        pos += 2;
        if klen == 0 {
            out.push(AmpBox::from_entries(std::mem::take(&mut entries)));
            box_start = pos;
            continue;
        }
        if klen > MAX_KEY_LENGTH {
            return Err(ProtocolError::KeyTooLong { len: klen });
        }
        if data.len() < pos + klen + 2 {
            return Err(truncated(box_start));
        }
        let key = data.slice(pos..pos + klen);
        pos += klen;
        let vlen = u16::from_be_bytes([data[pos], data[pos + 1]]) as usize;
        pos += 2;
        if data.len() < pos + vlen {
            return Err(truncated(box_start));
        }
        entries.push((key, data.slice(pos..pos + vlen)));
        pos += vlen;
    }
    if !entries.is_empty() {
        return Err(truncated(box_start));
    }
    Ok(out)
}
