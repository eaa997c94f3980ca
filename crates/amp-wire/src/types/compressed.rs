//! [`Compressed`] and [`CompressedString`]: Evennia's `Compressed` argument,
//! the chunks of [`BigBytes`](super::BigBytes) each compressed with zlib.
//!
//! The byte format is documented on [`Compressed`].

use std::io::Read;

use bytes::{Bytes, BytesMut};
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;

use super::big::{read_chunks, utf8, write_chunks, CHUNK};
use crate::error::{DecodeError, EncodeError, MAX_VALUE_LENGTH};
use crate::{AmpBox, Argument, Context, FieldWriter};

/// One zlib stream of `data` at level 9.
fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = ZlibEncoder::new(Vec::with_capacity(data.len() / 2 + 64), Compression::best());
    e.write_all(data).expect("writing to a Vec cannot fail");
    e.finish().expect("writing to a Vec cannot fail")
}

/// Compressed chunks of `data`: one per 65,535 bytes, a chunk that does not
/// fit one AMP value once compressed cut in halves until it does.
fn deflate_chunks(data: &[u8]) -> Vec<Vec<u8>> {
    fn push(raw: &[u8], out: &mut Vec<Vec<u8>>) {
        let z = deflate(raw);
        if z.len() <= MAX_VALUE_LENGTH || raw.len() < 2 {
            out.push(z);
        } else {
            let (a, b) = raw.split_at(raw.len() / 2);
            push(a, out);
            push(b, out);
        }
    }
    let mut out = Vec::new();
    if data.is_empty() {
        push(data, &mut out);
    }
    for raw in data.chunks(CHUNK) {
        push(raw, &mut out);
    }
    out
}

/// Decompress one zlib stream, appending to `out`, which may hold at most
/// `limit` bytes in all.
fn inflate_into(z: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), DecodeError> {
    let room = limit.saturating_sub(out.len());
    let mut d = ZlibDecoder::new(z);
    // One byte more than the room: reading it means the value is too big.
    let got = (&mut d)
        .take((room as u64).saturating_add(1))
        .read_to_end(out)
        .map_err(|e| DecodeError::invalid(format!("invalid zlib data: {e}")))?;
    if got > room {
        out.truncate(limit);
        return Err(DecodeError::invalid(format!(
            "compressed value inflates past the limit of {limit} bytes"
        )));
    }
    Ok(())
}

/// Decompress the chunks of argument `name` and join them.
fn read_inflated(
    b: &AmpBox,
    name: &'static str,
    cx: &mut Context<'_>,
) -> Option<Result<Vec<u8>, DecodeError>> {
    let chunks = read_chunks(b, name)?;
    let limit = cx.max_value_size();
    let mut out = Vec::new();
    for c in &chunks {
        if let Err(e) = inflate_into(c, &mut out, limit) {
            return Some(Err(e.with_key(name)));
        }
    }
    Some(Ok(out))
}

/// Encode as a single value: one zlib stream, at most 65,535 bytes.
fn single(data: &[u8], out: &mut BytesMut) -> Result<(), EncodeError> {
    let z = deflate(data);
    if z.len() > MAX_VALUE_LENGTH {
        return Err(EncodeError::ValueTooLong {
            key: Bytes::new(),
            len: z.len(),
        });
    }
    out.extend_from_slice(&z);
    Ok(())
}

/// Decode a single value: one zlib stream.
fn single_decode(raw: &[u8], cx: &Context<'_>) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    inflate_into(raw, &mut out, cx.max_value_size())?;
    Ok(out)
}

/// Bytes of any length, zlib-compressed, as a box argument: Evennia's
/// `Compressed` (the chunks of [`BigBytes`](super::BigBytes), each
/// compressed separately). Needs the `compress` feature (on by default).
///
/// The byte format, as Evennia's portal/server link writes it:
///
/// * the value (for [`CompressedString`], its UTF-8) is cut into chunks of
///   65,535 bytes *before* compression, as for `BigBytes` (an empty value is
///   one empty chunk, a value of exactly 65,535 bytes one chunk);
/// * each chunk is compressed on its own into a complete zlib stream (RFC
///   1950: header, deflate data, Adler-32), at level 9, and stored under
///   `k`, `k.2`, `k.3`, ... (so `k` for an empty value is the zlib stream of
///   nothing, 8 bytes);
/// * the reader decompresses `k`, `k.2`, ... (up to the first missing key)
///   one by one and concatenates the results. As with Python's
///   `zlib.decompress`, a truncated or corrupt stream is an error and bytes
///   after the end of a stream are ignored.
///
/// Two things differ from Evennia, neither visible to a reader:
///
/// * The deflate data is this crate's (a pure-Rust zlib), not CPython's
///   zlib: both are valid streams of the same bytes and each side reads the
///   other's, but the compressed bytes need not be identical.
/// * A chunk that does not compress (random data) is a few bytes *longer*
///   than 65,535 once compressed, which no AMP value can be: Evennia fails to
///   send it. Here such a chunk is cut in halves (again, if need be), each
///   compressed separately: more entries, read back by Evennia's reader
///   exactly as any others.
///
/// Decompression is bounded: the joined value may be at most
/// [`Context::max_value_size`] bytes (on a connection, the box size limit),
/// so a small "zip bomb" cannot make the reader allocate more than that.
///
/// As an element of a list it is one zlib stream of at most 65,535 bytes.
///
/// ```
/// use amp_wire::types::Compressed;
/// use amp_wire::{AmpBox, Argument, Context, DecodeError, FieldWriter};
///
/// let value = Compressed::from(vec![b'a'; 200_000]);
/// let mut out = bytes::BytesMut::new();
/// let mut w = FieldWriter::new(&mut out, &[]);
/// w.put_field("packed_data", &value, &mut Context::none()).unwrap();
/// w.finish().unwrap();
/// let b = AmpBox::decode(out.freeze()).unwrap();
/// // 65,535 + 65,535 + 65,535 + 3,395 bytes, each compressed on its own.
/// assert!(b.contains_key("packed_data.4") && !b.contains_key("packed_data.5"));
/// let back = Compressed::read_field(&b, "packed_data", &mut Context::none()).unwrap();
/// assert_eq!(back, value);
/// assert_eq!(back.into_inner().len(), 200_000); // back to `Bytes`
/// // Over the reader's bound: refused, without inflating the rest.
/// let mut small = Context::none().with_max_value_size(100_000);
/// assert!(matches!(
///     Compressed::read_field(&b, "packed_data", &mut small),
///     Err(DecodeError::Invalid { .. })
/// ));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Compressed(pub Bytes);

bytes_newtype!(Compressed, "The (uncompressed) bytes.");

impl Argument for Compressed {
    fn encode(&self, out: &mut BytesMut, _: &mut Context<'_>) -> Result<(), EncodeError> {
        single(&self.0, out)
    }
    fn decode(raw: Bytes, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
        single_decode(&raw, cx).map(Compressed::from)
    }
    fn write_field(
        &self,
        w: &mut FieldWriter<'_>,
        name: &'static str,
        _: &mut Context<'_>,
    ) -> Result<(), EncodeError> {
        write_chunks(w, name, &deflate_chunks(&self.0))
    }
    fn read_field(
        b: &AmpBox,
        name: &'static str,
        cx: &mut Context<'_>,
    ) -> Result<Self, DecodeError> {
        match read_inflated(b, name, cx) {
            Some(v) => v.map(Compressed::from),
            None => Self::absent().ok_or_else(|| DecodeError::missing(name)),
        }
    }
}

/// Text of any length, zlib-compressed, as a box argument: [`Compressed`]
/// holding UTF-8 (the text is encoded, then chunked and compressed as
/// `Compressed` does; the joined result is checked as UTF-8). Needs the
/// `compress` feature (on by default).
///
/// ```
/// use amp_wire::types::CompressedString;
/// use amp_wire::{AmpBox, Argument, Context, FieldWriter};
///
/// let text = CompressedString::from("ça va? ".repeat(20_000));
/// let mut out = bytes::BytesMut::new();
/// let mut w = FieldWriter::new(&mut out, &[]);
/// w.put_field("text", &text, &mut Context::none()).unwrap();
/// w.finish().unwrap();
/// let b = AmpBox::decode(out.freeze()).unwrap();
/// assert!(b.get("text").unwrap().len() < 1000);
/// let back = CompressedString::read_field(&b, "text", &mut Context::none()).unwrap();
/// assert_eq!(back, text);
/// assert_eq!(back.into_inner(), "ça va? ".repeat(20_000)); // back to `String`
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CompressedString(pub String);

string_newtype!(CompressedString);

impl Argument for CompressedString {
    fn encode(&self, out: &mut BytesMut, _: &mut Context<'_>) -> Result<(), EncodeError> {
        single(self.0.as_bytes(), out)
    }
    fn decode(raw: Bytes, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
        utf8(single_decode(&raw, cx)?).map(CompressedString)
    }
    fn write_field(
        &self,
        w: &mut FieldWriter<'_>,
        name: &'static str,
        _: &mut Context<'_>,
    ) -> Result<(), EncodeError> {
        write_chunks(w, name, &deflate_chunks(self.0.as_bytes()))
    }
    fn read_field(
        b: &AmpBox,
        name: &'static str,
        cx: &mut Context<'_>,
    ) -> Result<Self, DecodeError> {
        match read_inflated(b, name, cx) {
            Some(v) => utf8(v?).map(CompressedString).map_err(|e| e.with_key(name)),
            None => Self::absent().ok_or_else(|| DecodeError::missing(name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed<T: Argument>(name: &'static str, v: &T) -> AmpBox {
        let mut out = BytesMut::new();
        let mut w = FieldWriter::new(&mut out, &[]);
        w.put_field(name, v, &mut Context::none()).unwrap();
        w.finish().unwrap();
        AmpBox::decode(out.freeze()).unwrap()
    }

    fn inflate(z: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        inflate_into(z, &mut out, usize::MAX).unwrap();
        out
    }

    #[test]
    fn empty_is_one_zlib_stream_of_nothing() {
        let b = boxed("k", &Compressed::default());
        assert_eq!(b.len(), 1);
        let z = b.get("k").unwrap();
        // Level 9 header (78 da); Python's zlib.compress(b"", 9) is
        // 78 da 03 00 00 00 00 01.
        assert_eq!(&z[..2], b"\x78\xda");
        assert!(inflate(z).is_empty());
        let back = Compressed::read_field(&b, "k", &mut Context::none()).unwrap();
        assert!(back.is_empty());
        // Python's own bytes for it read back too.
        let mut p = AmpBox::new();
        p.insert("k", &b"\x78\xda\x03\x00\x00\x00\x00\x01"[..]);
        assert!(Compressed::read_field(&p, "k", &mut Context::none())
            .unwrap()
            .is_empty());
    }

    #[test]
    fn chunks_are_cut_before_compression() {
        for (n, count) in [(1, 1), (65_535, 1), (65_536, 2), (131_070, 2), (131_071, 3)] {
            let data: Vec<u8> = (0..n).map(|i| (i % 7) as u8).collect();
            let b = boxed("k", &Compressed::from(data.clone()));
            assert_eq!(b.len(), count, "{n} bytes");
            // Each entry is a stream of its own 65,535-byte slice.
            assert_eq!(inflate(b.get("k").unwrap()), data[..n.min(CHUNK)]);
            if count > 1 {
                assert_eq!(
                    inflate(b.get("k.2").unwrap()),
                    data[CHUNK..n.min(2 * CHUNK)]
                );
            }
            let back = Compressed::read_field(&b, "k", &mut Context::none()).unwrap();
            assert_eq!(&back[..], &data[..]);
        }
    }

    #[test]
    fn incompressible_chunks_are_halved_to_fit() {
        // A simple generator of bytes zlib cannot shrink.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let data: Vec<u8> = (0..200_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        assert!(deflate(&data[..CHUNK]).len() > MAX_VALUE_LENGTH);
        let b = boxed("k", &Compressed::from(data.clone()));
        assert!(b.len() > 4, "more chunks than 65,535-byte slices");
        assert!(b.iter().all(|(_, v)| v.len() <= MAX_VALUE_LENGTH));
        let back = Compressed::read_field(&b, "k", &mut Context::none()).unwrap();
        assert_eq!(&back[..], &data[..]);
    }

    #[test]
    fn a_zip_bomb_is_refused_at_the_limit() {
        // 16 MiB of zeros compress to about 16 KB: two such chunks fit any
        // box, and would inflate to 32 MiB. The reader stops at its limit.
        let zeros = vec![0u8; 16 << 20];
        let z = deflate(&zeros);
        assert!(z.len() < MAX_VALUE_LENGTH, "{} bytes", z.len());
        let mut b = AmpBox::new();
        b.insert("k", z.clone());
        b.insert("k.2", z.clone());
        let mut cx = Context::none(); // 4 MiB
        let e = Compressed::read_field(&b, "k", &mut cx).unwrap_err();
        assert!(
            matches!(&e, DecodeError::Invalid { key, reason } if key == "k" && reason.contains("limit of 4194304")),
            "{e:?}"
        );
        // The same bound as a single value (ListOf element, to_value).
        let e = Compressed::decode(Bytes::from(z), &mut Context::none()).unwrap_err();
        assert!(matches!(e, DecodeError::Invalid { .. }), "{e:?}");
        // Exactly at the limit is fine; one byte over is not.
        let mut b = AmpBox::new();
        b.insert("k", deflate(&[1u8; 1000]));
        b.insert("k.2", deflate(&[2u8; 24]));
        let mut cx = Context::none().with_max_value_size(1024);
        assert_eq!(
            Compressed::read_field(&b, "k", &mut cx).unwrap().len(),
            1024
        );
        let mut cx = Context::none().with_max_value_size(1023);
        assert!(Compressed::read_field(&b, "k", &mut cx).is_err());
    }

    #[test]
    fn corrupt_and_truncated_streams_are_errors_trailing_bytes_are_not() {
        let z = deflate(b"hello hello hello");
        let mut b = AmpBox::new();
        b.insert("k", z[..z.len() - 3].to_vec());
        assert!(Compressed::read_field(&b, "k", &mut Context::none()).is_err());
        b.insert("k", &b"not zlib"[..]);
        assert!(Compressed::read_field(&b, "k", &mut Context::none()).is_err());
        b.insert("k", &b""[..]);
        assert!(Compressed::read_field(&b, "k", &mut Context::none()).is_err());
        let mut t = z.clone();
        t.extend_from_slice(b"xx");
        b.insert("k", t);
        let v = Compressed::read_field(&b, "k", &mut Context::none()).unwrap();
        assert_eq!(&v[..], b"hello hello hello");
    }

    #[test]
    fn compressed_string_round_trip_and_utf8() {
        let text = CompressedString::from("é".repeat(40_000));
        let b = boxed("t", &text);
        assert_eq!(b.len(), 2);
        assert_eq!(
            CompressedString::read_field(&b, "t", &mut Context::none()).unwrap(),
            text
        );
        let mut bad = AmpBox::new();
        bad.insert("t", deflate(b"\xff"));
        assert!(matches!(
            CompressedString::read_field(&bad, "t", &mut Context::none()),
            Err(DecodeError::Invalid { key, .. }) if key == "t"
        ));
        // As a list element: one stream.
        let l = crate::to_value(&vec![CompressedString::from("abc")]).unwrap();
        assert_eq!(
            crate::from_value::<Vec<CompressedString>>(l).unwrap(),
            vec![CompressedString::from("abc")]
        );
        // Optional and absent.
        assert_eq!(
            Option::<CompressedString>::read_field(&AmpBox::new(), "t", &mut Context::none())
                .unwrap(),
            None
        );
    }
}
