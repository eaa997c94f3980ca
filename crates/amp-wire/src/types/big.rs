//! Values over 64 KiB: [`BigBytes`] and [`BigString`], chunked over several
//! box entries.
//!
//! The byte format and its edge cases are documented on the
//! [`types`](crate::types) module (section "Values over 64 KiB").

use bytes::{Bytes, BytesMut};

use crate::error::{DecodeError, EncodeError, MAX_VALUE_LENGTH};
use crate::{AmpBox, Argument, Context, FieldWriter};

/// The size of every chunk but the last.
pub(crate) const CHUNK: usize = MAX_VALUE_LENGTH;

/// The key of chunk `n` (`n` ≥ 2) of argument `name`: `name.n`.
fn chunk_key(name: &str, n: usize) -> String {
    format!("{name}.{n}")
}

/// Write `chunks` (each at most 65,535 bytes; at least one) as `name`,
/// `name.2`, ... in bytewise key order (`name.10` before `name.2`), the order
/// Twisted writes a box in, so the writer has nothing to sort.
pub(crate) fn write_chunks<C: AsRef<[u8]>>(
    w: &mut FieldWriter<'_>,
    name: &'static str,
    chunks: &[C],
) -> Result<(), EncodeError> {
    let Some((first, rest)) = chunks.split_first() else {
        return w.put_raw(name.as_bytes(), b"");
    };
    w.put_raw(name.as_bytes(), first.as_ref())
        .map_err(|e| e.with_key(name))?;
    let mut keys: Vec<(String, &[u8])> = rest
        .iter()
        .enumerate()
        .map(|(i, c)| (chunk_key(name, i + 2), c.as_ref()))
        .collect();
    keys.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    for (key, chunk) in keys {
        w.put_raw(key.as_bytes(), chunk)
            .map_err(|e| e.with_key(name))?;
    }
    Ok(())
}

/// The chunks of argument `name` in `b`: `name`, then `name.2`, `name.3`,
/// ... up to the first one missing. `None` if `name` itself is absent.
pub(crate) fn read_chunks(b: &AmpBox, name: &str) -> Option<Vec<Bytes>> {
    let first = b.get_bytes(name)?;
    let mut chunks = vec![first];
    let mut key = String::with_capacity(name.len() + 6);
    for n in 2.. {
        key.clear();
        key.push_str(name);
        key.push('.');
        key.push_str(&n.to_string());
        match b.get_bytes(&key) {
            Some(c) => chunks.push(c),
            None => break,
        }
    }
    Some(chunks)
}

/// The chunks of argument `name` joined into one value: the first chunk
/// itself (zero-copy) if there is only one, else one copy of them all.
fn read_joined(b: &AmpBox, name: &'static str) -> Option<Bytes> {
    let mut chunks = read_chunks(b, name)?;
    if chunks.len() == 1 {
        return chunks.pop();
    }
    let mut out = BytesMut::with_capacity(chunks.iter().map(Bytes::len).sum());
    for c in &chunks {
        out.extend_from_slice(c);
    }
    Some(out.freeze())
}

/// The value of a chunked argument `name`, or [`Argument::absent`].
fn read_big<T: Argument>(
    b: &AmpBox,
    name: &'static str,
    cx: &mut Context<'_>,
    from: impl FnOnce(Bytes, &mut Context<'_>) -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    match read_joined(b, name) {
        Some(v) => from(v, cx).map_err(|e| e.with_key(name)),
        None => T::absent().ok_or_else(|| DecodeError::missing(name)),
    }
}

/// Check that a value used on its own (in a `ListOf`, with
/// [`to_value`](crate::to_value)) fits one AMP value.
fn single(len: usize) -> Result<(), EncodeError> {
    if len > MAX_VALUE_LENGTH {
        return Err(EncodeError::ValueTooLong {
            key: Bytes::new(),
            len,
        });
    }
    Ok(())
}

/// Bytes of any length as a box argument: Twisted's `String`, chunked
/// over `k`, `k.2`, `k.3`, ... as the `BigString` argument of Evennia,
/// JoinMarket and clj-amp does (the [`types`](crate::types) module has the
/// byte format and its edge cases, under "Values over 64 KiB").
///
/// A value that fits in one chunk is a zero-copy slice of the received
/// frame; a longer one is joined in one copy. As an element of a list (or a
/// field of an `AmpList` record) it is an ordinary `String` value of at most
/// 65,535 bytes.
///
/// ```
/// use amp_wire::types::BigBytes;
/// use amp_wire::{AmpBox, Record};
///
/// #[derive(Debug, PartialEq)]
/// struct Upload {
///     data: BigBytes,
/// }
/// // What `#[derive(Record)]` generates, by hand:
/// impl Record for Upload {
///     const FIELDS: &'static [&'static str] = &["data"];
///     fn write_fields(
///         &self,
///         w: &mut amp_wire::FieldWriter<'_>,
///         cx: &mut amp_wire::Context<'_>,
///     ) -> Result<(), amp_wire::EncodeError> {
///         w.put_field("data", &self.data, cx)
///     }
///     fn read_fields(
///         b: &AmpBox,
///         cx: &mut amp_wire::Context<'_>,
///     ) -> Result<Self, amp_wire::DecodeError> {
///         Ok(Upload { data: amp_wire::__private::get_arg(b, "data", cx)? })
///     }
/// }
///
/// let up = Upload { data: BigBytes::from(vec![7u8; 65_536]) };
/// let b = up.to_box().unwrap();
/// assert_eq!(b.get("data").unwrap().len(), 65_535);
/// assert_eq!(b.get("data.2"), Some(&[7u8][..]));
/// assert_eq!(Upload::from_box(&b).unwrap(), up);
/// assert_eq!(up.data.into_inner().len(), 65_536); // back to `Bytes`
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BigBytes(pub Bytes);

bytes_newtype!(BigBytes, "The bytes.");

impl Argument for BigBytes {
    fn amp_type() -> crate::describe::AmpType {
        crate::describe::AmpType::BigString
    }

    fn encode(&self, out: &mut BytesMut, _: &mut Context<'_>) -> Result<(), EncodeError> {
        single(self.0.len())?;
        out.extend_from_slice(&self.0);
        Ok(())
    }
    fn decode(raw: Bytes, _: &mut Context<'_>) -> Result<Self, DecodeError> {
        Ok(BigBytes(raw))
    }
    fn write_field(
        &self,
        w: &mut FieldWriter<'_>,
        name: &'static str,
        _: &mut Context<'_>,
    ) -> Result<(), EncodeError> {
        let chunks: Vec<&[u8]> = self.0.chunks(CHUNK).collect();
        write_chunks(w, name, &chunks)
    }
    fn read_field(
        b: &AmpBox,
        name: &'static str,
        cx: &mut Context<'_>,
    ) -> Result<Self, DecodeError> {
        read_big(b, name, cx, |v, _| Ok(BigBytes(v)))
    }
}

/// Text of any length as a box argument: Twisted's `Unicode` (UTF-8),
/// chunked over `k`, `k.2`, `k.3`, ... as the `BigUnicode` argument of
/// Evennia, JoinMarket and clj-amp does: the text is encoded first and the
/// bytes are cut every 65,535 bytes, so a chunk boundary may fall inside a
/// character. The text is checked once it is joined.
///
/// As an element of a list it is an ordinary `Unicode` value of at most
/// 65,535 bytes.
///
/// ```
/// use amp_wire::types::BigString;
/// use amp_wire::{AmpBox, Argument, Context, FieldWriter};
///
/// // 40,000 "é" are 80,000 bytes: two chunks, the cut inside a character.
/// let text = BigString::from("é".repeat(40_000));
/// let mut out = bytes::BytesMut::new();
/// let mut w = FieldWriter::new(&mut out, &[]);
/// w.put_field("text", &text, &mut Context::none()).unwrap();
/// w.finish().unwrap();
/// let b = AmpBox::decode(out.freeze()).unwrap();
/// assert_eq!(b.get("text.2").unwrap().len(), 80_000 - 65_535);
/// let back = BigString::read_field(&b, "text", &mut Context::none()).unwrap();
/// assert_eq!(back, text);
/// assert_eq!(back.into_inner(), "é".repeat(40_000)); // back to `String`
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BigString(pub String);

string_newtype!(BigString);

/// The bytes as UTF-8 text.
pub(crate) fn utf8(v: Vec<u8>) -> Result<String, DecodeError> {
    String::from_utf8(v).map_err(|e| DecodeError::invalid(format!("invalid UTF-8: {e}")))
}

impl Argument for BigString {
    fn amp_type() -> crate::describe::AmpType {
        crate::describe::AmpType::BigUnicode
    }

    fn encode(&self, out: &mut BytesMut, _: &mut Context<'_>) -> Result<(), EncodeError> {
        single(self.0.len())?;
        out.extend_from_slice(self.0.as_bytes());
        Ok(())
    }
    fn decode(raw: Bytes, _: &mut Context<'_>) -> Result<Self, DecodeError> {
        utf8(raw.into()).map(BigString)
    }
    fn write_field(
        &self,
        w: &mut FieldWriter<'_>,
        name: &'static str,
        _: &mut Context<'_>,
    ) -> Result<(), EncodeError> {
        let chunks: Vec<&[u8]> = self.0.as_bytes().chunks(CHUNK).collect();
        write_chunks(w, name, &chunks)
    }
    fn read_field(
        b: &AmpBox,
        name: &'static str,
        cx: &mut Context<'_>,
    ) -> Result<Self, DecodeError> {
        read_big(b, name, cx, |v, _| utf8(v.into()).map(BigString))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Record;

    /// One `BigBytes` argument `k` next to two ordinary ones that sort
    /// around its chunk keys (`k-` before `k.`, `l` after).
    #[derive(Debug, PartialEq)]
    struct R {
        k: BigBytes,
        k_dash: i64,
        l: Option<BigString>,
    }

    impl Record for R {
        const FIELDS: &'static [&'static str] = &["k", "k-", "l"];
        fn write_fields(
            &self,
            w: &mut FieldWriter<'_>,
            cx: &mut Context<'_>,
        ) -> Result<(), EncodeError> {
            w.put_field("k", &self.k, cx)?;
            w.put_field("k-", &self.k_dash, cx)?;
            w.put_field("l", &self.l, cx)
        }
        fn read_fields(b: &AmpBox, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
            Ok(R {
                k: crate::__private::get_arg(b, "k", cx)?,
                k_dash: crate::__private::get_arg(b, "k-", cx)?,
                l: crate::__private::get_arg(b, "l", cx)?,
            })
        }
    }

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 251) as u8).collect()
    }

    fn wire(r: &R) -> Bytes {
        let mut out = BytesMut::new();
        let mut w = FieldWriter::new(&mut out, &[(b"_ask", b"1")]);
        r.write_fields(&mut w, &mut Context::none()).unwrap();
        w.finish().unwrap();
        out.freeze()
    }

    /// The keys on the wire, in order, with their value lengths.
    fn layout(frame: &Bytes) -> Vec<(String, usize)> {
        let b = AmpBox::decode(frame.clone()).unwrap();
        b.iter()
            .map(|(k, v)| (String::from_utf8(k.to_vec()).unwrap(), v.len()))
            .collect()
    }

    fn chunked(n: usize) -> Vec<(String, usize)> {
        let r = R {
            k: BigBytes::from(pattern(n)),
            k_dash: 1,
            l: None,
        };
        let frame = wire(&r);
        // The frame is canonical: re-encoding the decoded box (entries in
        // Twisted's sorted order) gives the same bytes.
        let b = AmpBox::decode(frame.clone()).unwrap();
        assert_eq!(b.to_bytes().unwrap(), frame);
        assert_eq!(R::from_box(&b).unwrap(), r);
        layout(&frame)
            .into_iter()
            .filter(|(k, _)| k == "k" || k.starts_with("k."))
            .collect()
    }

    fn keys(spec: &[(&str, usize)]) -> Vec<(String, usize)> {
        spec.iter().map(|&(k, n)| (k.to_owned(), n)).collect()
    }

    #[test]
    fn chunk_boundaries() {
        assert_eq!(chunked(0), keys(&[("k", 0)]));
        assert_eq!(chunked(1), keys(&[("k", 1)]));
        assert_eq!(chunked(65_535), keys(&[("k", 65_535)]));
        assert_eq!(chunked(65_536), keys(&[("k", 65_535), ("k.2", 1)]));
        assert_eq!(chunked(131_070), keys(&[("k", 65_535), ("k.2", 65_535)]));
        assert_eq!(
            chunked(131_071),
            keys(&[("k", 65_535), ("k.2", 65_535), ("k.3", 1)])
        );
    }

    #[test]
    fn keys_are_in_bytewise_order_on_the_wire() {
        // 11 chunks: k, k.10, k.11, k.2, ..., k.9 (as Twisted sorts them).
        let n = CHUNK * 10 + 5;
        let r = R {
            k: BigBytes::from(pattern(n)),
            k_dash: 7,
            l: Some(BigString::from("x")),
        };
        let got: Vec<String> = layout(&wire(&r)).into_iter().map(|(k, _)| k).collect();
        let want = [
            "_ask", "k", "k-", "k.10", "k.11", "k.2", "k.3", "k.4", "k.5", "k.6", "k.7", "k.8",
            "k.9", "l",
        ];
        assert_eq!(got, want);
        // And the last chunk (k.11) holds the remainder.
        let b = AmpBox::decode(wire(&r)).unwrap();
        assert_eq!(b.get("k.11").unwrap().len(), 5);
        assert_eq!(R::from_box(&b).unwrap(), r);
    }

    #[test]
    fn golden_bytes() {
        // Two one-byte chunks, written by hand: what Twisted sends for
        // {"k": b"a", "k.2": b"b"} (plus the other fields).
        let mut b = AmpBox::new();
        b.insert("k", "a");
        b.insert("k.2", "b");
        b.insert("k-", "3");
        let got = R::from_box(&b).unwrap();
        assert_eq!(&got.k[..], b"ab");
        assert_eq!(got.l, None);
        let r = R {
            k: BigBytes::from(pattern(65_536)),
            k_dash: 3,
            l: None,
        };
        let frame = wire(&r);
        let mut want = Vec::new();
        for (k, v) in [
            (&b"_ask"[..], &b"1"[..]),
            (b"k", &pattern(65_535)[..]),
            (b"k-", b"3"),
            (b"k.2", &pattern(65_536)[65_535..]),
        ] {
            want.extend_from_slice(&(k.len() as u16).to_be_bytes());
            want.extend_from_slice(k);
            want.extend_from_slice(&(v.len() as u16).to_be_bytes());
            want.extend_from_slice(v);
        }
        want.extend_from_slice(b"\0\0");
        assert_eq!(&frame[..], &want[..]);
    }

    #[test]
    fn a_gap_ends_the_value() {
        let mut b = AmpBox::new();
        b.insert("k", "a");
        b.insert("k.2", "b");
        b.insert("k.4", "d"); // k.3 missing: k.4 is not part of the value
        b.insert("k-", "0");
        assert_eq!(&R::from_box(&b).unwrap().k[..], b"ab");
    }

    #[test]
    fn a_missing_first_chunk_is_a_missing_argument() {
        let mut b = AmpBox::new();
        b.insert("k.2", "b");
        b.insert("k-", "0");
        assert!(matches!(
            R::from_box(&b),
            Err(DecodeError::Missing { key }) if key == "k"
        ));
        // Optional: absent means None; present is read in chunks.
        let mut b = AmpBox::new();
        b.insert("k", "");
        b.insert("k-", "0");
        b.insert("l.2", "ignored: no l");
        assert_eq!(R::from_box(&b).unwrap().l, None);
        b.insert("l", "é".as_bytes()[..1].to_vec());
        b.insert("l.2", "é".as_bytes()[1..].to_vec());
        assert_eq!(
            R::from_box(&b).unwrap().l.as_deref().map(|s| &s[..]),
            Some("é")
        );
    }

    #[test]
    fn invalid_utf8_is_refused_once_joined() {
        let mut b = AmpBox::new();
        b.insert("k", "");
        b.insert("k-", "0");
        b.insert("l", &b"ok"[..]);
        b.insert("l.2", &b"\xff"[..]);
        assert!(matches!(
            R::from_box(&b),
            Err(DecodeError::Invalid { key, .. }) if key == "l"
        ));
    }

    #[test]
    fn one_chunk_is_zero_copy() {
        let frame = wire(&R {
            k: BigBytes::from(pattern(1000)),
            k_dash: 0,
            l: None,
        });
        let b = AmpBox::decode(frame.clone()).unwrap();
        let r = R::from_box(&b).unwrap();
        let range = frame.as_ptr_range();
        assert!(range.contains(&r.k.as_ptr()), "a slice of the frame");
    }

    #[test]
    fn as_a_single_value_it_is_limited_to_one_amp_value() {
        assert_eq!(
            crate::to_value(&BigBytes::from(pattern(65_535)))
                .unwrap()
                .len(),
            65_535
        );
        assert!(matches!(
            crate::to_value(&BigBytes::from(pattern(65_536))),
            Err(EncodeError::ValueTooLong { len: 65_536, .. })
        ));
        assert!(matches!(
            crate::to_value(&vec![BigString::from("x".repeat(65_536))]),
            Err(EncodeError::ValueTooLong { .. })
        ));
        let l = crate::to_value(&vec![BigBytes::from(&b"ab"[..])]).unwrap();
        assert_eq!(&l[..], b"\x00\x02ab");
        assert_eq!(
            crate::from_value::<Vec<BigBytes>>(l).unwrap(),
            vec![BigBytes::from(&b"ab"[..])]
        );
    }

    #[test]
    fn the_box_limit_bounds_the_whole() {
        // A box of 4 MiB + 1 of chunks does not fit the default box limit:
        // the decoder refuses the frame before any argument is read.
        let r = R {
            k: BigBytes::from(pattern(4 << 20)),
            k_dash: 0,
            l: None,
        };
        let frame = wire(&r);
        assert!(frame.len() > 4 << 20);
        let mut buf = BytesMut::from(&frame[..]);
        assert!(matches!(
            crate::BoxDecoder::new().decode(&mut buf),
            Err(crate::ProtocolError::BoxTooLarge { limit: 4194304 })
        ));
        // Raised, it goes through.
        let mut buf = BytesMut::from(&frame[..]);
        let b = crate::BoxDecoder::with_limits(8 << 20, 65_536)
            .decode(&mut buf)
            .unwrap()
            .unwrap();
        assert_eq!(R::from_box(&b).unwrap(), r);
    }
}
