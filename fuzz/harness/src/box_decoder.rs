//! `box_decoder`: arbitrary bytes through [`BoxDecoder`], fed in arbitrary
//! chunks, compared with a plain reference parse and with [`boxes`] /
//! [`decode_all`].
//!
//! Input layout: `flags, [limits], [chunks], stream`.
//!
//! * `flags & 1`: small limits follow: `max_box_size` (u16, big-endian)
//!   and `max_entries` (u8); otherwise [`BoxDecoder::new`]'s defaults.
//! * `flags & 2`: chunk sizes follow: a count byte `n` (1..=16 sizes are
//!   read), then `n` bytes, each the size of one chunk (0: an empty read);
//!   they repeat until the stream is consumed. Otherwise the stream is
//!   given at once.
//! * the rest is the byte stream. A seed written by hand is `\x00` then
//!   the boxes.
//!
//! Checked, for every input (any failure panics):
//!
//! * decoding never panics;
//! * every decoded box holds what the reference parse says (sorted keys,
//!   the last of repeated keys wins), re-encodes with [`AmpBox::encode`]
//!   (exactly [`AmpBox::encoded_len`] bytes) to bytes that decode back
//!   equal and re-encode identically, and [`AmpBox::decode`] of its frame
//!   gives the same box (with a trailing byte: `TrailingBytes`);
//! * [`FieldWriter`] writing the entries in any order, with an extra
//!   `_answer` entry, gives exactly the sorted box;
//! * the decoder stops exactly where the reference says: a partial box
//!   left over when the stream ends, `KeyTooLong` where the reference
//!   finds it, and a limit error only on a box that breaks the limit (no
//!   box within the limits is refused);
//! * after `Ok(None)` the buffer holds less than `max_box_size` bytes (a
//!   partial box only; bytes announced past the limit were refused);
//! * [`boxes`] and [`decode_all`] on the whole stream give the same boxes
//!   and the same verdict (`TruncatedBox` with the right count, or
//!   `KeyTooLong`), and stop after their first error.

use amp_wire::{boxes, decode_all, AmpBox, BoxDecoder, FieldWriter, ProtocolError};
use bytes::{Bytes, BytesMut};

use crate::{expected_entries, ref_parse, RefStop};

/// Defaults of [`BoxDecoder::new`] (those of `Config::default()`).
const DEFAULT_MAX_BOX: usize = 4 << 20;
const DEFAULT_MAX_ENTRIES: usize = 65_536;

struct Params<'a> {
    max_box: usize,
    max_entries: usize,
    chunks: Vec<usize>,
    stream: &'a [u8],
}

fn params(data: &[u8]) -> Option<Params<'_>> {
    let (&flags, mut rest) = data.split_first()?;
    let (mut max_box, mut max_entries) = (DEFAULT_MAX_BOX, DEFAULT_MAX_ENTRIES);
    if flags & 1 != 0 {
        if rest.len() < 3 {
            return None;
        }
        max_box = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        max_entries = rest[2] as usize;
        rest = &rest[3..];
    }
    let mut chunks = Vec::new();
    if flags & 2 != 0 {
        let (&n, r) = rest.split_first()?;
        let n = (n as usize % 16) + 1;
        if r.len() < n {
            return None;
        }
        chunks = r[..n].iter().map(|&c| c as usize).collect();
        rest = &r[n..];
        if chunks.iter().all(|&c| c == 0) {
            chunks.push(1);
        }
    }
    Some(Params {
        max_box,
        max_entries,
        chunks,
        stream: rest,
    })
}

/// How the incremental decoder ended.
#[derive(Debug)]
enum End {
    /// Stream consumed; these bytes were left (a partial box, or nothing).
    Leftover(usize),
    Error(ProtocolError),
}

pub fn run(data: &[u8]) {
    let Some(p) = params(data) else {
        return;
    };
    let stream = p.stream;

    // The incremental decoder, fed chunk by chunk.
    let mut dec = BoxDecoder::with_limits(p.max_box, p.max_entries);
    let effective_max_box = p.max_box.min(u32::MAX as usize);
    let mut buf = BytesMut::new();
    let mut decoded: Vec<AmpBox> = Vec::new();
    let mut fed = 0;
    let mut chunk_i = 0;
    let end = 'feed: loop {
        let want = if p.chunks.is_empty() {
            stream.len() - fed
        } else {
            let c = p.chunks[chunk_i % p.chunks.len()];
            chunk_i += 1;
            c.min(stream.len() - fed)
        };
        buf.extend_from_slice(&stream[fed..fed + want]);
        fed += want;
        loop {
            match dec.decode(&mut buf) {
                Ok(Some(b)) => decoded.push(b),
                Ok(None) => break,
                Err(e) => break 'feed End::Error(e),
            }
        }
        // Only a partial box is buffered, within the size limit.
        assert!(
            buf.len() < effective_max_box.max(2),
            "{} bytes buffered with max_box_size {}",
            buf.len(),
            p.max_box
        );
        if fed == stream.len() {
            break End::Leftover(buf.len());
        }
    };

    // The reference.
    let (frames, stop) = ref_parse(stream);
    assert!(
        decoded.len() <= frames.len(),
        "decoded {} boxes, the stream has {}",
        decoded.len(),
        frames.len()
    );
    for (i, b) in decoded.iter().enumerate() {
        let f = &frames[i];
        check_box(
            b,
            &stream[f.start..f.end],
            &expected_entries(&f.entries),
            i < FULL,
        );
        assert!(
            f.entries.len() <= p.max_entries,
            "box {i} breaks the entry limit"
        );
        // (An empty box, two bytes, is never refused, even under a limit
        // below two bytes, which Config does not allow anyway.)
        assert!(
            f.end - f.start <= effective_max_box.max(2),
            "box {i} breaks the size limit"
        );
    }
    let j = decoded.len();
    match &end {
        End::Leftover(left) => {
            assert_eq!(j, frames.len(), "complete boxes left undecoded");
            match stop {
                None => assert_eq!(*left, 0),
                Some(RefStop::Truncated { start, .. }) => assert_eq!(*left, stream.len() - start),
                Some(RefStop::KeyTooLong { .. }) => {
                    panic!("a key longer than 255 went unnoticed")
                }
            }
        }
        End::Error(ProtocolError::KeyTooLong { len }) => {
            assert_eq!(j, frames.len());
            match stop {
                Some(RefStop::KeyTooLong { len: l, .. }) => assert_eq!(*len, l),
                other => panic!("KeyTooLong({len}) where the reference says {other:?}"),
            }
        }
        End::Error(ProtocolError::TooManyEntries { limit }) => {
            assert_eq!(*limit, p.max_entries);
            let begun = match frames.get(j) {
                Some(f) => f.entries.len(),
                None => match stop {
                    Some(RefStop::Truncated { entries_begun, .. }) => entries_begun,
                    // The decoder counts entries before it checks lengths
                    // past the key's.
                    Some(RefStop::KeyTooLong { .. }) => usize::MAX,
                    None => panic!("TooManyEntries past the end of the stream"),
                },
            };
            assert!(
                begun > p.max_entries,
                "TooManyEntries on box {j} with {begun} entries (limit {})",
                p.max_entries
            );
        }
        End::Error(ProtocolError::BoxTooLarge { limit }) => {
            assert_eq!(*limit, effective_max_box);
            if let Some(f) = frames.get(j) {
                assert!(
                    f.end - f.start > effective_max_box,
                    "BoxTooLarge on box {j} of {} bytes (limit {limit})",
                    f.end - f.start
                );
            } else {
                assert!(stop.is_some(), "BoxTooLarge past the end of the stream");
            }
        }
        End::Error(e) => panic!("unexpected decoder error {e:?}"),
    }

    // boxes() and decode_all() on the whole stream.
    let whole = Bytes::copy_from_slice(stream);
    let mut it = boxes(&whole);
    let mut n = 0;
    let mut verdict = None;
    for item in it.by_ref() {
        match item {
            Ok(b) => {
                match decoded.get(n) {
                    Some(d) => assert_eq!(&b, d),
                    None => {
                        let f = &frames[n];
                        check_box(
                            &b,
                            &stream[f.start..f.end],
                            &expected_entries(&f.entries),
                            false,
                        );
                    }
                }
                n += 1;
            }
            Err(e) => {
                verdict = Some(e);
                break;
            }
        }
    }
    assert!(it.next().is_none(), "boxes() goes on after an error");
    assert_eq!(n, frames.len());
    match (stop, &verdict) {
        (None, None) => {}
        (
            Some(RefStop::Truncated { start, .. }),
            Some(ProtocolError::TruncatedBox { buffered }),
        ) => {
            assert_eq!(*buffered, stream.len() - start)
        }
        (Some(RefStop::KeyTooLong { len, .. }), Some(ProtocolError::KeyTooLong { len: l })) => {
            assert_eq!(len, *l)
        }
        (s, v) => panic!("boxes() ended with {v:?}, the reference with {s:?}"),
    }
    match decode_all(&whole) {
        Ok(all) => {
            assert!(verdict.is_none());
            assert_eq!(all.len(), frames.len());
            for (a, b) in all.iter().zip(&decoded) {
                assert_eq!(a, b);
            }
        }
        Err(e) => assert_eq!(Some(e), verdict),
    }
}

/// Boxes of an input that get every check (the others get the cheap ones:
/// inputs of hundreds of tiny boxes would otherwise be slow to fuzz).
const FULL: usize = 4;

/// A decoded box against its frame and the entries it must hold; `full`:
/// also the encoders and the owned representation.
fn check_box(b: &AmpBox, frame: &[u8], want: &[(&[u8], &[u8])], full: bool) {
    assert!(
        b.iter().eq(want.iter().copied()),
        "entries of a decoded box"
    );
    assert_eq!(b.len(), want.len());
    for (k, v) in want {
        assert_eq!(b.get(k), Some(*v));
        assert!(b.contains_key(k));
        assert_eq!(b.get_bytes(k).as_deref(), Some(*v));
    }

    // encode -> decode -> equal, and the encoding is canonical.
    let mut out = BytesMut::new();
    b.encode(&mut out).expect("a decoded box encodes");
    assert_eq!(out.len(), b.encoded_len());
    let canonical = out.freeze();
    let back = AmpBox::decode(canonical.clone()).expect("an encoded box decodes");
    assert_eq!(&back, b);
    if !full {
        return;
    }
    assert_eq!(back.to_bytes().unwrap(), canonical);
    let mut sorted_wire = Vec::new();
    crate::wire(want, &mut sorted_wire);
    assert_eq!(&canonical[..], &sorted_wire[..]);

    // AmpBox::decode of the frame itself.
    let again = AmpBox::decode(Bytes::copy_from_slice(frame)).expect("the frame decodes");
    assert_eq!(&again, b);
    let mut trailing = frame.to_vec();
    trailing.push(0);
    assert!(matches!(
        AmpBox::decode(Bytes::from(trailing)),
        Err(ProtocolError::TrailingBytes { trailing: 1 })
    ));

    // An owned copy (changed, then changed back) is equal too.
    // (A key the box does not have: one longer than every key it has.)
    let extra = vec![b'x'; b.keys().map(<[u8]>::len).max().unwrap_or(0) + 1];
    let mut owned = b.clone();
    owned.insert(extra.clone(), "x");
    assert_eq!(owned.remove(&extra).as_deref(), Some(&b"x"[..]));
    assert_eq!(&owned, b);
    assert_eq!(owned.to_bytes().unwrap(), canonical);

    // FieldWriter, entries given backwards (sorted on finish) and forwards,
    // with an extra entry that wins over a written one.
    let answer: (&[u8], &[u8]) = (b"_answer", b"1f");
    let mut with_answer: Vec<(&[u8], &[u8])> = want
        .iter()
        .copied()
        .filter(|(k, _)| *k != b"_answer")
        .collect();
    with_answer.push(answer);
    with_answer.sort();
    let mut expect = Vec::new();
    crate::wire(&with_answer, &mut expect);
    for backwards in [false, true] {
        let mut out = BytesMut::from(&b"prefix"[..]);
        let extras = [answer];
        let mut w = FieldWriter::new(&mut out, &extras);
        let mut order: Vec<_> = b.iter().collect();
        if backwards {
            order.reverse();
        }
        for (k, v) in order {
            w.put_raw(k, v)
                .expect("a decoded entry is within AMP's limits");
        }
        w.finish().unwrap();
        assert_eq!(&out[..6], b"prefix");
        assert_eq!(
            &out[6..],
            &expect[..],
            "FieldWriter (backwards: {backwards})"
        );
    }
}
