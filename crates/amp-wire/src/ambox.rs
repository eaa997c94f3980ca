//! [`AmpBox`]: one AMP message, an ordered map of byte keys to byte values.

use bytes::{BufMut, Bytes, BytesMut};
use std::fmt;
use std::hash::{Hash, Hasher};

use crate::error::{EncodeError, MAX_KEY_LENGTH, MAX_VALUE_LENGTH};

/// One AMP box: a set of byte-string keys mapped to byte-string values.
///
/// Entries are kept sorted by key (bytewise), so that [`AmpBox::encode`]
/// writes exactly what Twisted's `AmpBox.serialize()` writes. Keys and values
/// are [`Bytes`]: a decoded box shares the read buffer and copies nothing.
///
/// A box decoded from the wire is stored compactly: its bytes plus eight
/// bytes of index per entry, so decoding memory stays proportional to the
/// box whatever its shape (see `RELIABILITY.md`). Changing a decoded box
/// turns it into an ordinary map first.
///
/// ```
/// use amp_wire::AmpBox;
/// let mut b = AmpBox::new();
/// b.insert("b", "2");
/// b.insert("a", "1");
/// assert_eq!(b.get("a"), Some(&b"1"[..]));
/// let mut wire = bytes::BytesMut::new();
/// b.encode(&mut wire).unwrap();
/// assert_eq!(&wire[..], b"\x00\x01a\x00\x011\x00\x01b\x00\x012\x00\x00");
/// assert_eq!(AmpBox::decode(wire.freeze()).unwrap(), b);
/// ```
///
/// Building, reading and changing a box:
///
/// ```
/// use amp_wire::{AmpBox, EncodeError};
/// use bytes::Bytes;
///
/// // From entries in any order; a repeated key keeps its last value.
/// let mut b = AmpBox::from_entries(vec![
///     (Bytes::from("b"), Bytes::from("2")),
///     (Bytes::from("a"), Bytes::from("0")),
///     (Bytes::from("a"), Bytes::from("1")),
/// ]);
/// assert_eq!((b.len(), b.is_empty()), (2, false));
/// assert!(b.contains_key("a") && !b.contains_key("c"));
/// assert_eq!(b.get_bytes("a"), Some(Bytes::from("1")));
/// assert_eq!(b.keys().collect::<Vec<_>>(), [&b"a"[..], &b"b"[..]]);
/// assert_eq!(b.iter().last(), Some((&b"b"[..], &b"2"[..])));
/// assert_eq!(b.remove("b"), Some(Bytes::from("2")));
///
/// // The wire form: `encoded_len` is exactly what `to_bytes` makes.
/// let wire = b.to_bytes().unwrap();
/// assert_eq!(&wire[..], b"\x00\x01a\x00\x011\x00\x00");
/// assert_eq!(b.encoded_len(), wire.len());
///
/// // `validate` checks AMP's limits before anything is written.
/// let mut bad = AmpBox::with_capacity(1);
/// bad.insert("k", vec![0u8; 70_000]);
/// assert!(matches!(bad.validate(), Err(EncodeError::ValueTooLong { len: 70_000, .. })));
/// ```
#[derive(Clone, Default)]
pub struct AmpBox {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    /// Decoded: the box's wire bytes and where each entry sits in them,
    /// sorted by key with no repeats. `canonical`: `frame` is exactly what
    /// [`AmpBox::encode`] would write.
    Wire {
        frame: Bytes,
        index: Index,
        canonical: bool,
    },
    /// Built in memory: sorted by key, no repeats.
    Owned(Vec<(Bytes, Bytes)>),
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Owned(Vec::new())
    }
}

/// Where one entry of a decoded box sits in its frame: the key at
/// `at..at + klen`, the value right after the value's length prefix.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Span {
    at: u32,
    vlen: u16,
    klen: u8,
}

impl Span {
    /// `at` is the offset of the key bytes (after the key's length prefix).
    pub(crate) fn new(at: usize, klen: usize, vlen: usize) -> Span {
        debug_assert!(at <= u32::MAX as usize && (1..=MAX_KEY_LENGTH).contains(&klen));
        Span {
            at: at as u32,
            klen: klen as u8,
            vlen: vlen as u16,
        }
    }
    fn key<'f>(&self, frame: &'f [u8]) -> &'f [u8] {
        let at = self.at as usize;
        &frame[at..at + self.klen as usize]
    }
    fn value_range(&self) -> std::ops::Range<usize> {
        let start = self.at as usize + self.klen as usize + 2;
        start..start + self.vlen as usize
    }
    fn value<'f>(&self, frame: &'f [u8]) -> &'f [u8] {
        &frame[self.value_range()]
    }
}

/// Entries of small boxes (every request and answer of a typical command)
/// are indexed without a heap allocation.
const INLINE: usize = 6;

#[derive(Clone)]
enum Index {
    Inline { len: u8, spans: [Span; INLINE] },
    Heap(Vec<Span>),
}

impl Index {
    /// Take the spans of `v` (which is left empty, keeping its capacity
    /// when they fit inline).
    pub(crate) fn take(v: &mut Vec<Span>) -> Index {
        if v.len() <= INLINE {
            let mut spans = [Span::default(); INLINE];
            spans[..v.len()].copy_from_slice(v);
            let len = v.len() as u8;
            v.clear();
            Index::Inline { len, spans }
        } else {
            let mut owned = std::mem::take(v);
            if owned.capacity() > owned.len() + owned.len() / 4 {
                owned.shrink_to_fit();
            }
            Index::Heap(owned)
        }
    }
    fn as_slice(&self) -> &[Span] {
        match self {
            Index::Inline { len, spans } => &spans[..*len as usize],
            Index::Heap(v) => v,
        }
    }
}

/// Converts string-ish things into [`Bytes`] without copying where possible.
///
/// What [`AmpBox::insert`] takes for keys and values: static text and
/// bytes are shared, not copied; a `String` or `Vec<u8>` is taken over.
///
/// ```
/// use amp_wire::{AmpBox, IntoBytes};
///
/// let mut b = AmpBox::new();
/// b.insert("name", format!("user-{}", 7)); // a String
/// b.insert(b"raw", vec![0u8, 1]); // a Vec<u8>
/// assert_eq!(b.get("name"), Some(&b"user-7"[..]));
/// assert_eq!(b.get("raw"), Some(&[0u8, 1][..]));
///
/// let shared = IntoBytes::into_bytes("static text"); // no copy
/// assert_eq!(shared, bytes::Bytes::from_static(b"static text"));
/// ```
pub trait IntoBytes {
    /// Convert.
    fn into_bytes(self) -> Bytes;
}

impl IntoBytes for Bytes {
    fn into_bytes(self) -> Bytes {
        self
    }
}
impl IntoBytes for &'static str {
    fn into_bytes(self) -> Bytes {
        Bytes::from_static(self.as_bytes())
    }
}
impl IntoBytes for &'static [u8] {
    fn into_bytes(self) -> Bytes {
        Bytes::from_static(self)
    }
}
impl<const N: usize> IntoBytes for &'static [u8; N] {
    fn into_bytes(self) -> Bytes {
        Bytes::from_static(self)
    }
}
impl IntoBytes for String {
    fn into_bytes(self) -> Bytes {
        Bytes::from(self)
    }
}
impl IntoBytes for Vec<u8> {
    fn into_bytes(self) -> Bytes {
        Bytes::from(self)
    }
}

impl AmpBox {
    /// An empty box.
    pub fn new() -> Self {
        AmpBox::default()
    }

    /// An empty box with room for `n` entries.
    pub fn with_capacity(n: usize) -> Self {
        AmpBox {
            repr: Repr::Owned(Vec::with_capacity(n)),
        }
    }

    /// Build a box from entries in any order; a repeated key keeps its last
    /// value (as on the wire).
    pub fn from_entries(mut entries: Vec<(Bytes, Bytes)>) -> Self {
        // Stable sort keeps arrival order among equal keys; keep the last.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(Bytes, Bytes)> = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = v,
                _ => out.push((k, v)),
            }
        }
        AmpBox {
            repr: Repr::Owned(out),
        }
    }

    /// A decoded box: `frame` holds its wire bytes, `spans` (in arrival
    /// order, emptied by the call) say where each entry is.
    pub(crate) fn from_frame(frame: Bytes, spans: &mut Vec<Span>) -> AmpBox {
        let mut sorted = true;
        for w in spans.windows(2) {
            if w[0].key(&frame) >= w[1].key(&frame) {
                sorted = false;
                break;
            }
        }
        if !sorted {
            // Among repeated keys the last one wins, as on the wire: ties
            // go by position (an unstable sort needs no extra memory).
            spans.sort_unstable_by(|a, b| a.key(&frame).cmp(b.key(&frame)).then(a.at.cmp(&b.at)));
            let mut w = 0;
            for r in 0..spans.len() {
                if w > 0 && spans[w - 1].key(&frame) == spans[r].key(&frame) {
                    spans[w - 1] = spans[r];
                } else {
                    spans[w] = spans[r];
                    w += 1;
                }
            }
            spans.truncate(w);
        }
        AmpBox {
            repr: Repr::Wire {
                index: Index::take(spans),
                frame,
                canonical: sorted,
            },
        }
    }

    /// The entries, turned into an ordinary map (for changes).
    fn owned(&mut self) -> &mut Vec<(Bytes, Bytes)> {
        if let Repr::Wire { frame, index, .. } = &self.repr {
            let v = index
                .as_slice()
                .iter()
                .map(|s| {
                    let at = s.at as usize;
                    (
                        frame.slice(at..at + s.klen as usize),
                        frame.slice(s.value_range()),
                    )
                })
                .collect();
            self.repr = Repr::Owned(v);
        }
        match &mut self.repr {
            Repr::Owned(v) => v,
            Repr::Wire { .. } => unreachable!("converted above"),
        }
    }

    fn find(&self, key: &[u8]) -> Result<usize, usize> {
        match &self.repr {
            Repr::Wire { frame, index, .. } => {
                index.as_slice().binary_search_by(|s| s.key(frame).cmp(key))
            }
            Repr::Owned(v) => v.binary_search_by(|(k, _)| k.as_ref().cmp(key)),
        }
    }

    /// Where `key` is, if present (a lookup: no insertion point needed).
    fn position(&self, key: &[u8]) -> Option<usize> {
        match &self.repr {
            Repr::Wire {
                frame,
                index: Index::Inline { len, spans },
                ..
            } => spans[..*len as usize]
                .iter()
                .position(|s| s.klen as usize == key.len() && s.key(frame) == key),
            _ => self.find(key).ok(),
        }
    }

    /// Set `key` to `value`, replacing any previous value.
    pub fn insert(&mut self, key: impl IntoBytes, value: impl IntoBytes) {
        let key = key.into_bytes();
        let value = value.into_bytes();
        let at = self.find(&key);
        let v = self.owned();
        match at {
            Ok(i) => v[i].1 = value,
            Err(i) => v.insert(i, (key, value)),
        }
    }

    /// The value of `key`, as a view into the box.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Option<&[u8]> {
        let i = self.position(key.as_ref())?;
        Some(match &self.repr {
            Repr::Wire { frame, index, .. } => index.as_slice()[i].value(frame),
            Repr::Owned(v) => &v[i].1,
        })
    }

    /// The value of `key` as [`Bytes`] sharing the box's memory (no copy).
    pub fn get_bytes(&self, key: impl AsRef<[u8]>) -> Option<Bytes> {
        let i = self.position(key.as_ref())?;
        Some(match &self.repr {
            Repr::Wire { frame, index, .. } => frame.slice(index.as_slice()[i].value_range()),
            Repr::Owned(v) => v[i].1.clone(),
        })
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> bool {
        self.position(key.as_ref()).is_some()
    }

    /// Remove `key`, returning its value.
    pub fn remove(&mut self, key: impl AsRef<[u8]>) -> Option<Bytes> {
        let i = self.find(key.as_ref()).ok()?;
        Some(self.owned().remove(i).1)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Wire { index, .. } => index.as_slice().len(),
            Repr::Owned(v) => v.len(),
        }
    }

    /// Whether the box has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries in key order.
    pub fn iter(&self) -> Iter<'_> {
        Iter { b: self, i: 0 }
    }

    /// Keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.iter().map(|(k, _)| k)
    }

    fn entry(&self, i: usize) -> Option<(&[u8], &[u8])> {
        match &self.repr {
            Repr::Wire { frame, index, .. } => {
                let s = index.as_slice().get(i)?;
                Some((s.key(frame), s.value(frame)))
            }
            Repr::Owned(v) => v.get(i).map(|(k, v)| (k.as_ref(), v.as_ref())),
        }
    }

    /// Exactly how many bytes [`AmpBox::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        self.iter()
            .map(|(k, v)| 4 + k.len() + v.len())
            .sum::<usize>()
            + 2
    }

    /// Check every key and value against AMP's limits.
    pub fn validate(&self) -> Result<(), EncodeError> {
        if let Repr::Owned(v) = &self.repr {
            for (k, v) in v {
                check_entry(k, v)?;
            }
        }
        Ok(())
    }

    /// Append the wire form of this box to `dst`: every entry as
    /// `u16 length, key, u16 length, value`, sorted by key, then `00 00`.
    ///
    /// The box is checked first; on error nothing is written.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), EncodeError> {
        if let Repr::Wire {
            frame,
            canonical: true,
            ..
        } = &self.repr
        {
            dst.extend_from_slice(frame);
            return Ok(());
        }
        self.validate()?;
        dst.reserve(self.encoded_len());
        for (k, v) in self.iter() {
            dst.put_u16(k.len() as u16);
            dst.put_slice(k);
            dst.put_u16(v.len() as u16);
            dst.put_slice(v);
        }
        dst.put_u16(0);
        Ok(())
    }

    /// The wire form as a new buffer (convenience for tests and tools).
    pub fn to_bytes(&self) -> Result<Bytes, EncodeError> {
        let mut b = BytesMut::with_capacity(self.encoded_len());
        self.encode(&mut b)?;
        Ok(b.freeze())
    }
}

/// Iterator over the entries of an [`AmpBox`], in key order.
///
/// ```
/// use amp_wire::AmpBox;
///
/// let b: AmpBox = [("b", "2"), ("a", "1")].into_iter().collect();
/// let mut it = b.iter();
/// assert_eq!(it.len(), 2);
/// assert_eq!(it.next(), Some((&b"a"[..], &b"1"[..])));
/// assert_eq!(it.next(), Some((&b"b"[..], &b"2"[..])));
/// assert_eq!(it.next(), None);
/// ```
#[derive(Clone)]
pub struct Iter<'a> {
    b: &'a AmpBox,
    i: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        let e = self.b.entry(self.i)?;
        self.i += 1;
        Some(e)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.b.len() - self.i;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// Check one key/value pair against AMP's limits.
pub(crate) fn check_entry(k: &[u8], v: &[u8]) -> Result<(), EncodeError> {
    if k.is_empty() || k.len() > MAX_KEY_LENGTH {
        return Err(EncodeError::BadKeyLength {
            key: Bytes::copy_from_slice(&k[..k.len().min(300)]),
            len: k.len(),
        });
    }
    if v.len() > MAX_VALUE_LENGTH {
        return Err(EncodeError::ValueTooLong {
            key: Bytes::copy_from_slice(k),
            len: v.len(),
        });
    }
    Ok(())
}

impl PartialEq for AmpBox {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for AmpBox {}

impl Hash for AmpBox {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.len());
        for (k, v) in self.iter() {
            k.hash(state);
            v.hash(state);
        }
    }
}

impl fmt::Debug for AmpBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AmpBox")?;
        f.debug_map()
            .entries(
                self.iter()
                    .map(|(k, v)| (crate::display_bytes(k), crate::display_bytes(v))),
            )
            .finish()
    }
}

impl<K: IntoBytes, V: IntoBytes> FromIterator<(K, V)> for AmpBox {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        AmpBox::from_entries(
            iter.into_iter()
                .map(|(k, v)| (k.into_bytes(), v.into_bytes()))
                .collect(),
        )
    }
}

impl IntoIterator for AmpBox {
    type Item = (Bytes, Bytes);
    type IntoIter = std::vec::IntoIter<(Bytes, Bytes)>;
    fn into_iter(mut self) -> Self::IntoIter {
        std::mem::take(self.owned()).into_iter()
    }
}

impl<'a> IntoIterator for &'a AmpBox {
    type Item = (&'a [u8], &'a [u8]);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(pairs: &[(&[u8], &[u8])]) -> Bytes {
        let mut out = BytesMut::new();
        for (k, v) in pairs {
            out.put_u16(k.len() as u16);
            out.put_slice(k);
            out.put_u16(v.len() as u16);
            out.put_slice(v);
        }
        out.put_u16(0);
        out.freeze()
    }

    #[test]
    fn decoded_boxes_sort_and_keep_the_last_repeat() {
        let w = wire(&[(b"b", b"1"), (b"a", b"2"), (b"b", b"3")]);
        let b = AmpBox::decode(w.clone()).unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b.get("b"), Some(&b"3"[..]));
        assert_eq!(b.keys().collect::<Vec<_>>(), [&b"a"[..], b"b"]);
        // Not canonical: re-encoding sorts.
        assert_eq!(b.to_bytes().unwrap(), wire(&[(b"a", b"2"), (b"b", b"3")]));
    }

    #[test]
    fn canonical_boxes_reencode_as_their_frame() {
        let w = wire(&[(b"a", b"1"), (b"b", b"")]);
        let b = AmpBox::decode(w.clone()).unwrap();
        assert_eq!(b.to_bytes().unwrap(), w);
        let mut owned = AmpBox::new();
        owned.insert("b", "");
        owned.insert("a", "1");
        assert_eq!(b, owned);
    }

    #[test]
    fn changing_a_decoded_box_keeps_its_entries() {
        let many: Vec<(Vec<u8>, Vec<u8>)> = (0..20u8).map(|i| (vec![b'k', i], vec![i])).collect();
        let pairs: Vec<(&[u8], &[u8])> = many.iter().map(|(k, v)| (&k[..], &v[..])).collect();
        let mut b = AmpBox::decode(wire(&pairs)).unwrap();
        assert_eq!(b.remove([b'k', 3]), Some(Bytes::from_static(&[3])));
        b.insert("z", "last");
        assert_eq!(b.len(), 20);
        assert_eq!(b.get([b'k', 19]), Some(&[19u8][..]));
        assert_eq!(b.get_bytes("z").unwrap(), "last");
    }

    #[test]
    fn the_index_is_eight_bytes_an_entry() {
        assert_eq!(std::mem::size_of::<Span>(), 8);
    }
}
