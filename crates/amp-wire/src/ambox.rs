//! [`AmpBox`]: one AMP message, an ordered map of byte keys to byte values.

use bytes::{BufMut, Bytes, BytesMut};
use std::fmt;

use crate::error::{EncodeError, MAX_KEY_LENGTH, MAX_VALUE_LENGTH};

/// One AMP box: a set of byte-string keys mapped to byte-string values.
///
/// Entries are kept sorted by key (bytewise), so that [`AmpBox::encode`]
/// writes exactly what Twisted's `AmpBox.serialize()` writes. Keys and values
/// are [`Bytes`]: a decoded box shares the read buffer and copies nothing.
///
/// ```
/// use amp_wire::AmpBox;
/// let mut b = AmpBox::new();
/// b.insert("b", "2");
/// b.insert("a", "1");
/// assert_eq!(b.get("a").unwrap().as_ref(), b"1");
/// let mut wire = bytes::BytesMut::new();
/// b.encode(&mut wire).unwrap();
/// assert_eq!(&wire[..], b"\x00\x01a\x00\x011\x00\x01b\x00\x012\x00\x00");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct AmpBox {
    entries: Vec<(Bytes, Bytes)>,
}

/// Converts string-ish things into [`Bytes`] without copying where possible.
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
        AmpBox {
            entries: Vec::new(),
        }
    }

    /// An empty box with room for `n` entries.
    pub fn with_capacity(n: usize) -> Self {
        AmpBox {
            entries: Vec::with_capacity(n),
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
        AmpBox { entries: out }
    }

    fn find(&self, key: &[u8]) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.as_ref().cmp(key))
    }

    /// Set `key` to `value`, replacing any previous value.
    pub fn insert(&mut self, key: impl IntoBytes, value: impl IntoBytes) {
        let key = key.into_bytes();
        let value = value.into_bytes();
        match self.find(&key) {
            Ok(i) => self.entries[i].1 = value,
            Err(i) => self.entries.insert(i, (key, value)),
        }
    }

    /// Append an entry whose key is known to sort after every key already in
    /// the box (falls back to [`AmpBox::insert`] when it does not).
    pub fn push_sorted(&mut self, key: Bytes, value: Bytes) {
        match self.entries.last() {
            Some((last, _)) if *last >= key => self.insert(key, value),
            _ => self.entries.push((key, value)),
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Option<&Bytes> {
        self.find(key.as_ref()).ok().map(|i| &self.entries[i].1)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> bool {
        self.find(key.as_ref()).is_ok()
    }

    /// Remove `key`, returning its value.
    pub fn remove(&mut self, key: impl AsRef<[u8]>) -> Option<Bytes> {
        self.find(key.as_ref())
            .ok()
            .map(|i| self.entries.remove(i).1)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the box has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &Bytes)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// Keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &Bytes> {
        self.entries.iter().map(|(k, _)| k)
    }

    /// Exactly how many bytes [`AmpBox::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        self.entries
            .iter()
            .map(|(k, v)| 4 + k.len() + v.len())
            .sum::<usize>()
            + 2
    }

    /// Check every key and value against AMP's limits.
    pub fn validate(&self) -> Result<(), EncodeError> {
        for (k, v) in &self.entries {
            check_entry(k, v)?;
        }
        Ok(())
    }

    /// Append the wire form of this box to `dst`: every entry as
    /// `u16 length, key, u16 length, value`, sorted by key, then `00 00`.
    ///
    /// The box is checked first; on error nothing is written.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), EncodeError> {
        self.validate()?;
        self.encode_unchecked(dst);
        Ok(())
    }

    /// Like [`AmpBox::encode`] without the limit check: the caller has
    /// already called [`AmpBox::validate`].
    pub fn encode_unchecked(&self, dst: &mut BytesMut) {
        dst.reserve(self.encoded_len());
        for (k, v) in &self.entries {
            dst.put_u16(k.len() as u16);
            dst.put_slice(k);
            dst.put_u16(v.len() as u16);
            dst.put_slice(v);
        }
        dst.put_u16(0);
    }

    /// Append the wire form of this box with `extra` entries merged in at
    /// their sorted places, as if they had been inserted (an `extra` key
    /// replaces the box's own value for it). `extra` must be sorted by key.
    ///
    /// This is how a request is written without copying its arguments into
    /// a new box: `extra` holds `_ask` and `_command`.
    ///
    /// ```
    /// use amp_wire::AmpBox;
    /// let mut args = AmpBox::new();
    /// args.insert("a", "1");
    /// args.insert("_ask", "ignored");
    /// let mut merged = bytes::BytesMut::new();
    /// args.encode_with(&[(b"_ask", b"1"), (b"_command", b"Sum")], &mut merged).unwrap();
    /// let mut inserted = args.clone();
    /// inserted.insert("_ask", "1");
    /// inserted.insert("_command", "Sum");
    /// assert_eq!(merged, inserted.to_bytes().unwrap());
    /// ```
    pub fn encode_with(
        &self,
        extra: &[(&[u8], &[u8])],
        dst: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        debug_assert!(extra.windows(2).all(|w| w[0].0 < w[1].0));
        for (k, v) in extra {
            check_entry(k, v)?;
        }
        self.validate()?;
        self.encode_with_unchecked(extra, dst);
        Ok(())
    }

    /// [`AmpBox::encode_with`] without the limit checks: the caller knows
    /// every key and value is within AMP's limits.
    pub fn encode_with_unchecked(&self, extra: &[(&[u8], &[u8])], dst: &mut BytesMut) {
        let put = |dst: &mut BytesMut, k: &[u8], v: &[u8]| {
            dst.put_u16(k.len() as u16);
            dst.put_slice(k);
            dst.put_u16(v.len() as u16);
            dst.put_slice(v);
        };
        dst.reserve(
            self.encoded_len()
                + extra
                    .iter()
                    .map(|(k, v)| 4 + k.len() + v.len())
                    .sum::<usize>(),
        );
        let mut extra = extra.iter().peekable();
        for (k, v) in &self.entries {
            let mut replaced = false;
            while let Some((ek, ev)) = extra.next_if(|(ek, _)| *ek <= k.as_ref()) {
                put(dst, ek, ev);
                replaced |= *ek == k.as_ref();
            }
            if !replaced {
                put(dst, k, v);
            }
        }
        for (ek, ev) in extra {
            put(dst, ek, ev);
        }
        dst.put_u16(0);
    }

    /// The wire form as a new buffer (convenience for tests and tools).
    pub fn to_bytes(&self) -> Result<Bytes, EncodeError> {
        let mut b = BytesMut::with_capacity(self.encoded_len());
        self.encode(&mut b)?;
        Ok(b.freeze())
    }
}

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

impl fmt::Debug for AmpBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AmpBox")?;
        f.debug_map()
            .entries(
                self.entries
                    .iter()
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
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl AmpBox {
    /// Build from entries already sorted by key with no repeats (the decoder
    /// checks this as it goes).
    pub(crate) fn from_sorted_unique(entries: Vec<(Bytes, Bytes)>) -> Self {
        debug_assert!(entries.windows(2).all(|w| w[0].0 < w[1].0));
        AmpBox { entries }
    }
}
