//! Incremental, zero-copy decoding of a byte stream into [`AmpBox`]es.

use bytes::{Bytes, BytesMut};

use crate::ambox::{AmpBox, Span};
use crate::config::{DEFAULT_MAX_BOX_ENTRIES, DEFAULT_MAX_BOX_SIZE};
use crate::error::{ProtocolError, MAX_KEY_LENGTH};

// `AmpBox::decode` lives beside the decoding it uses: the box does not
// depend on its decoder.
impl AmpBox {
    /// Parse exactly one box from `wire` (its terminator included), without
    /// copying: keys and values stay slices of `wire`.
    ///
    /// ```
    /// use amp_wire::{AmpBox, ProtocolError};
    /// let b = AmpBox::decode(bytes::Bytes::from_static(b"\x00\x01k\x00\x01v\x00\x00")).unwrap();
    /// assert_eq!(b.get("k"), Some(&b"v"[..]));
    /// assert!(matches!(
    ///     AmpBox::decode(bytes::Bytes::from_static(b"\x00\x01k")),
    ///     Err(ProtocolError::TruncatedBox { .. })
    /// ));
    /// ```
    pub fn decode(wire: Bytes) -> Result<AmpBox, ProtocolError> {
        let mut it = boxes(&wire);
        let first = it
            .next()
            .unwrap_or(Err(ProtocolError::TruncatedBox { buffered: 0 }))?;
        if it.offset() != wire.len() {
            return Err(ProtocolError::TrailingBytes {
                trailing: wire.len() - it.offset(),
            });
        }
        Ok(first)
    }
}

/// Splits a stream of bytes into boxes.
///
/// Feed it the connection's read buffer with [`BoxDecoder::decode`]; each
/// complete box is split off the front of the buffer and returned with its
/// keys and values as slices of that one allocation (no copy). Partial input
/// is remembered, so a box arriving one byte at a time costs no rescans.
///
/// Limits are checked from the length prefixes alone, before the bytes they
/// announce are buffered: a key length above 255, a box larger than the
/// size limit, or more entries than the entry limit is an error as soon as
/// the prefix that crosses it is seen.
///
/// ```
/// use amp_wire::{BoxDecoder, ProtocolError};
/// use bytes::BytesMut;
/// let mut dec = BoxDecoder::new();
/// let mut buf = BytesMut::from(&b"\x00\x01a\x00\x011\x00\x00\x00"[..]);
/// let b = dec.decode(&mut buf).unwrap().unwrap();
/// assert_eq!(b.get("a"), Some(&b"1"[..]));
/// assert_eq!(dec.decode(&mut buf).unwrap(), None); // one stray byte left
/// assert_eq!(&buf[..], b"\x00");
///
/// // A value announced past the box size limit is refused before it arrives.
/// let mut small = BoxDecoder::with_limits(64, 16);
/// let mut buf = BytesMut::from(&b"\x00\x01a\x01\x00"[..]);
/// assert_eq!(small.decode(&mut buf), Err(ProtocolError::BoxTooLarge { limit: 64 }));
/// ```
#[derive(Debug)]
pub struct BoxDecoder {
    /// Offset in the buffer of the next length prefix to read.
    pos: usize,
    /// The entries seen so far in the current box.
    spans: Vec<Span>,
    max_box: usize,
    max_entries: usize,
}

impl Default for BoxDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl BoxDecoder {
    /// A decoder with the default limits (those of
    /// [`Config::default`](crate::Config)).
    pub fn new() -> Self {
        Self::with_limits(DEFAULT_MAX_BOX_SIZE, DEFAULT_MAX_BOX_ENTRIES)
    }

    /// A decoder accepting boxes of at most `max_box_size` bytes on the
    /// wire (terminator included) and `max_entries` entries.
    pub fn with_limits(max_box_size: usize, max_entries: usize) -> Self {
        BoxDecoder {
            pos: 0,
            spans: Vec::new(),
            max_box: max_box_size.min(u32::MAX as usize),
            max_entries,
        }
    }

    /// Whether part of a box has been parsed (its first bytes arrived).
    ///
    /// ```
    /// use amp_wire::BoxDecoder;
    /// use bytes::BytesMut;
    /// let mut dec = BoxDecoder::new();
    /// let mut buf = BytesMut::from(&b"\x00\x01a"[..]);
    /// assert_eq!(dec.decode(&mut buf), Ok(None)); // the box is not complete
    /// assert!(dec.in_box(&buf));
    /// ```
    pub fn in_box(&self, buf: &BytesMut) -> bool {
        !buf.is_empty()
    }

    /// Forget any partial box (after the buffer was taken away, e.g. by a
    /// protocol switch).
    ///
    /// ```
    /// use amp_wire::BoxDecoder;
    /// use bytes::BytesMut;
    /// let mut dec = BoxDecoder::new();
    /// let mut buf = BytesMut::from(&b"\x00\x01a\x00\x011"[..]);
    /// assert_eq!(dec.decode(&mut buf), Ok(None));
    /// // The partial box's bytes are taken away (say, by a protocol switch).
    /// let _raw = buf.split();
    /// dec.reset();
    /// let mut next = BytesMut::from(&b"\x00\x01b\x00\x012\x00\x00"[..]);
    /// let b = dec.decode(&mut next).unwrap().unwrap();
    /// assert_eq!(b.get("b"), Some(&b"2"[..]));
    /// ```
    pub fn reset(&mut self) {
        self.pos = 0;
        self.spans.clear();
    }

    /// Decode the next complete box from the front of `buf`.
    ///
    /// Returns `Ok(None)` when more bytes are needed. On `Ok(Some(_))` the
    /// box's bytes have been removed from `buf`. An error means the stream is
    /// not AMP (or breaks a limit); the connection should be dropped.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<AmpBox>, ProtocolError> {
        loop {
            let pos = self.pos;
            if buf.len() < pos + 2 {
                return Ok(None);
            }
            let klen = u16::from_be_bytes([buf[pos], buf[pos + 1]]) as usize;
            if klen == 0 {
                let frame = buf.split_to(pos + 2).freeze();
                self.pos = 0;
                return Ok(Some(AmpBox::from_frame(frame, &mut self.spans)));
            }
            if klen > MAX_KEY_LENGTH {
                return Err(ProtocolError::KeyTooLong { len: klen });
            }
            if self.spans.len() >= self.max_entries {
                return Err(ProtocolError::TooManyEntries {
                    limit: self.max_entries,
                });
            }
            // Key, value length, an empty value and the terminator at least.
            let vlen_at = pos + 2 + klen;
            if vlen_at + 4 > self.max_box {
                return Err(ProtocolError::BoxTooLarge {
                    limit: self.max_box,
                });
            }
            if buf.len() < vlen_at + 2 {
                return Ok(None);
            }
            let vlen = u16::from_be_bytes([buf[vlen_at], buf[vlen_at + 1]]) as usize;
            let vend = vlen_at + 2 + vlen;
            if vend + 2 > self.max_box {
                return Err(ProtocolError::BoxTooLarge {
                    limit: self.max_box,
                });
            }
            if buf.len() < vend {
                // Make room for the rest of this value in one go.
                buf.reserve(vend + 2 - buf.len());
                return Ok(None);
            }
            self.spans.push(Span::new(pos + 2, klen, vlen));
            self.pos = vend;
        }
    }
}

/// The boxes of a buffer holding a whole number of boxes (as an `AmpList`
/// value does), decoded one at a time without copying: every key and value
/// is a slice of `data`. A trailing partial box is an error (the last item).
///
/// ```
/// let data = bytes::Bytes::from_static(b"\x00\x01k\x00\x01v\x00\x00\x00\x00");
/// let boxes: Vec<_> = amp_wire::boxes(&data).collect::<Result<_, _>>().unwrap();
/// assert_eq!(boxes.len(), 2);
/// assert!(boxes[1].is_empty());
/// ```
pub fn boxes(data: &Bytes) -> Boxes<'_> {
    Boxes {
        data,
        pos: 0,
        spans: Vec::new(),
        failed: false,
    }
}

/// Iterator returned by [`boxes`].
///
/// It stops after the first error; [`Boxes::offset`] says how far it got.
///
/// ```
/// use amp_wire::ProtocolError;
///
/// // One whole box, then the start of another.
/// let data = bytes::Bytes::from_static(b"\x00\x01k\x00\x01v\x00\x00\x00\x01");
/// let mut it = amp_wire::boxes(&data);
/// assert_eq!(it.next().unwrap().unwrap().get("k"), Some(&b"v"[..]));
/// assert_eq!(it.offset(), 8);
/// assert_eq!(it.next(), Some(Err(ProtocolError::TruncatedBox { buffered: 2 })));
/// assert_eq!(it.next(), None);
/// ```
#[derive(Debug)]
pub struct Boxes<'a> {
    data: &'a Bytes,
    pos: usize,
    spans: Vec<Span>,
    failed: bool,
}

impl Boxes<'_> {
    /// Offset of the first byte not yet decoded.
    pub fn offset(&self) -> usize {
        self.pos
    }
}

impl Iterator for Boxes<'_> {
    type Item = Result<AmpBox, ProtocolError>;

    fn next(&mut self) -> Option<Self::Item> {
        let data = self.data;
        if self.failed || self.pos >= data.len() {
            return None;
        }
        let start = self.pos;
        let mut pos = start;
        let truncated = |failed: &mut bool| {
            *failed = true;
            Some(Err(ProtocolError::TruncatedBox {
                buffered: data.len() - start,
            }))
        };
        loop {
            if data.len() < pos + 2 {
                return truncated(&mut self.failed);
            }
            let klen = u16::from_be_bytes([data[pos], data[pos + 1]]) as usize;
            if klen == 0 {
                self.pos = pos + 2;
                let frame = data.slice(start..self.pos);
                return Some(Ok(AmpBox::from_frame(frame, &mut self.spans)));
            }
            if klen > MAX_KEY_LENGTH {
                self.failed = true;
                return Some(Err(ProtocolError::KeyTooLong { len: klen }));
            }
            let vlen_at = pos + 2 + klen;
            if data.len() < vlen_at + 2 {
                return truncated(&mut self.failed);
            }
            let vlen = u16::from_be_bytes([data[vlen_at], data[vlen_at + 1]]) as usize;
            let vend = vlen_at + 2 + vlen;
            if data.len() < vend {
                return truncated(&mut self.failed);
            }
            if vend - start > u32::MAX as usize - 2 {
                self.failed = true;
                return Some(Err(ProtocolError::BoxTooLarge {
                    limit: u32::MAX as usize,
                }));
            }
            self.spans.push(Span::new(pos + 2 - start, klen, vlen));
            pos = vend;
        }
    }
}

/// Decode a buffer holding a whole number of boxes into a vector (see
/// [`boxes`] to decode them one at a time). Trailing bytes that do not form
/// a complete box are an error.
///
/// ```
/// use amp_wire::ProtocolError;
///
/// let data = bytes::Bytes::from_static(b"\x00\x01a\x00\x011\x00\x00\x00\x01b\x00\x012\x00\x00");
/// let boxes = amp_wire::decode_all(&data).unwrap();
/// assert_eq!(boxes.len(), 2);
/// assert_eq!(boxes[1].get("b"), Some(&b"2"[..]));
/// // Cut in the middle of the second box:
/// assert_eq!(
///     amp_wire::decode_all(&data.slice(..12)),
///     Err(ProtocolError::TruncatedBox { buffered: 4 })
/// );
/// ```
pub fn decode_all(data: &Bytes) -> Result<Vec<AmpBox>, ProtocolError> {
    boxes(data).collect()
}
