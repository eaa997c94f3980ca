//! The box codec: encode/decode round trips, arbitrary stream splits,
//! malformed input and encode errors.

use amp_wire::__private::record_decode_items;
use amp_wire::types::{Argument, Context};
use amp_wire::{
    decode_all, AmpBox, BoxDecoder, DecodeError, EncodeError, ProtocolError, Record,
    MAX_KEY_LENGTH, MAX_VALUE_LENGTH,
};
use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

fn wire(b: &AmpBox) -> Bytes {
    b.to_bytes().expect("valid box")
}

/// Feed `stream` to a fresh decoder in the given chunks; collect the boxes.
fn decode_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> (Vec<AmpBox>, BytesMut) {
    let mut dec = BoxDecoder::new();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(b) = dec.decode(&mut buf).expect("valid stream") {
            out.push(b);
        }
    }
    (out, buf)
}

fn sample_boxes() -> Vec<AmpBox> {
    let mut a = AmpBox::new();
    a.insert("_ask", "1");
    a.insert("_command", "Sum");
    a.insert("a", "1");
    a.insert("b", "2");
    let mut b = AmpBox::new();
    b.insert("_answer", "1");
    b.insert("total", "3");
    b.insert("empty", "");
    let mut c = AmpBox::new();
    c.insert(Bytes::from(vec![b'k'; 255]), Bytes::from(vec![0u8; 300]));
    c.insert(Bytes::from_static(b"\x00"), Bytes::from_static(b"\xff\x00"));
    vec![a, AmpBox::new(), b, c, AmpBox::new()]
}

fn sample_stream() -> Vec<u8> {
    let mut s = Vec::new();
    for b in sample_boxes() {
        s.extend_from_slice(&wire(&b));
    }
    s
}

#[test]
fn twisted_example_bytes() {
    let mut b = AmpBox::new();
    b.insert("_command", "Sum");
    b.insert("_ask", "1");
    b.insert("b", "2");
    b.insert("a", "1");
    assert_eq!(
        &wire(&b)[..],
        b"\x00\x04_ask\x00\x011\x00\x08_command\x00\x03Sum\x00\x01a\x00\x011\x00\x01b\x00\x012\x00\x00"
    );
}

#[test]
fn empty_box() {
    assert_eq!(&wire(&AmpBox::new())[..], b"\x00\x00");
    let (boxes, rest) = decode_chunks([&b"\x00\x00"[..]]);
    assert_eq!(boxes, vec![AmpBox::new()]);
    assert!(rest.is_empty());
    assert_eq!(
        decode_all(&Bytes::from_static(b"\x00\x00\x00\x00"))
            .unwrap()
            .len(),
        2
    );
    assert_eq!(decode_all(&Bytes::new()).unwrap(), Vec::<AmpBox>::new());
}

#[test]
fn every_split_point_and_byte_by_byte() {
    let stream = sample_stream();
    let expected = sample_boxes();
    for at in 0..=stream.len() {
        let (boxes, rest) = decode_chunks([&stream[..at], &stream[at..]]);
        assert_eq!(boxes, expected, "split at {at}");
        assert!(rest.is_empty());
    }
    // Three pieces, at a stride to keep this quick.
    for a in (0..=stream.len()).step_by(7) {
        for b in (a..=stream.len()).step_by(13) {
            let (boxes, _) = decode_chunks([&stream[..a], &stream[a..b], &stream[b..]]);
            assert_eq!(boxes, expected, "split at {a},{b}");
        }
    }
    let (boxes, rest) = decode_chunks(stream.chunks(1));
    assert_eq!(boxes, expected, "byte by byte");
    assert!(rest.is_empty());
    assert_eq!(decode_all(&Bytes::from(stream)).unwrap(), expected);
}

#[test]
fn unsorted_and_repeated_keys() {
    // b before a, and a repeated: last value wins, keys come out sorted.
    let raw = b"\x00\x01b\x00\x012\x00\x01a\x00\x011\x00\x01a\x00\x013\x00\x00";
    let (boxes, _) = decode_chunks([&raw[..]]);
    let b = &boxes[0];
    assert_eq!(b.len(), 2);
    assert_eq!(b.get("a").unwrap(), b"3");
    assert_eq!(
        b.keys().map(|k| k.to_vec()).collect::<Vec<_>>(),
        vec![b"a".to_vec(), b"b".to_vec()]
    );
    assert_eq!(decode_all(&Bytes::from_static(raw)).unwrap()[0], *b);
}

#[test]
fn truncated_boxes_wait_then_fail() {
    let stream = sample_stream();
    let first_len = wire(&sample_boxes()[0]).len();
    for cut in 1..first_len {
        let mut dec = BoxDecoder::new();
        let mut buf = BytesMut::from(&stream[..cut]);
        assert_eq!(dec.decode(&mut buf).unwrap(), None, "cut {cut}");
        assert!(dec.in_box(&buf));
        // The same bytes as a complete value are a truncated box.
        assert!(matches!(
            decode_all(&Bytes::copy_from_slice(&stream[..cut])),
            Err(ProtocolError::TruncatedBox { .. })
        ));
    }
    assert!(matches!(
        decode_all(&Bytes::copy_from_slice(&stream[..first_len + 3])),
        Err(ProtocolError::TruncatedBox { .. })
    ));
}

#[test]
fn key_too_long_detected_from_the_length_bytes_alone() {
    for len in [256u16, 257, 0x0100 | 0xff, 0xFFFF] {
        let mut dec = BoxDecoder::new();
        let mut buf = BytesMut::from(&len.to_be_bytes()[..]);
        assert_eq!(
            dec.decode(&mut buf),
            Err(ProtocolError::KeyTooLong { len: len as usize })
        );
        // Also after a valid entry of the same box, with nothing after.
        let mut dec = BoxDecoder::new();
        let mut buf = BytesMut::from(&b"\x00\x01a\x00\x011"[..]);
        assert_eq!(dec.decode(&mut buf), Ok(None));
        buf.extend_from_slice(&len.to_be_bytes());
        assert_eq!(
            dec.decode(&mut buf),
            Err(ProtocolError::KeyTooLong { len: len as usize })
        );
        // And in decode_all.
        assert_eq!(
            decode_all(&Bytes::copy_from_slice(&len.to_be_bytes())),
            Err(ProtocolError::KeyTooLong { len: len as usize })
        );
    }
    // 255 is fine: the decoder waits for the key.
    let mut dec = BoxDecoder::new();
    let mut buf = BytesMut::from(&b"\x00\xff"[..]);
    assert_eq!(dec.decode(&mut buf), Ok(None));
}

#[test]
fn garbage_is_an_error_or_a_partial_box() {
    for g in [
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        b"\xff\xff\xff",
        b"\x01\x00",
        b"hello",
    ] {
        let mut dec = BoxDecoder::new();
        let mut buf = BytesMut::from(g);
        assert!(dec.decode(&mut buf).is_err(), "{g:?}");
        assert!(decode_all(&Bytes::copy_from_slice(g)).is_err());
    }
}

#[test]
fn encode_errors_write_nothing() {
    type Check = fn(&EncodeError) -> bool;
    let cases: Vec<(AmpBox, Check)> = vec![
        (
            [(Bytes::from(vec![b'k'; 256]), Bytes::new())]
                .into_iter()
                .collect(),
            |e| matches!(e, EncodeError::BadKeyLength { len: 256, .. }),
        ),
        (
            [(Bytes::new(), Bytes::from_static(b"v"))]
                .into_iter()
                .collect(),
            |e| matches!(e, EncodeError::BadKeyLength { len: 0, .. }),
        ),
        (
            [
                (Bytes::from_static(b"a"), Bytes::from_static(b"ok")),
                (
                    Bytes::from_static(b"b"),
                    Bytes::from(vec![0u8; MAX_VALUE_LENGTH + 1]),
                ),
            ]
            .into_iter()
            .collect(),
            |e| matches!(e, EncodeError::ValueTooLong { len: 65536, .. }),
        ),
    ];
    for (b, check) in cases {
        let mut dst = BytesMut::from(&b"prefix"[..]);
        let err = b.encode(&mut dst).unwrap_err();
        assert!(check(&err), "{err:?}");
        assert_eq!(&dst[..], b"prefix", "nothing written");
        assert!(b.to_bytes().is_err());
        assert!(b.validate().is_err());
    }
    // The limits themselves are fine.
    let mut ok = AmpBox::new();
    ok.insert(
        Bytes::from(vec![b'k'; MAX_KEY_LENGTH]),
        Bytes::from(vec![1u8; MAX_VALUE_LENGTH]),
    );
    let w = wire(&ok);
    assert_eq!(w.len(), ok.encoded_len());
    assert_eq!(decode_all(&w).unwrap(), vec![ok]);
}

/// A one-field record, to test `AmpList` framing errors.
#[derive(Debug, PartialEq)]
struct One {
    a: i32,
}

impl Record for One {
    const FIELDS: &'static [&'static str] = &["a"];
    fn write_fields(
        &self,
        w: &mut amp_wire::FieldWriter<'_>,
        cx: &mut Context<'_>,
    ) -> Result<(), EncodeError> {
        w.put("a", &self.a, cx)
    }
    fn read_fields(b: &AmpBox, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
        Ok(One {
            a: amp_wire::__private::get_arg(b, "a", cx)?,
        })
    }
}

impl Argument for One {
    fn encode(&self, out: &mut BytesMut, cx: &mut Context<'_>) -> Result<(), EncodeError> {
        amp_wire::__private::record_encode(self, out, cx)
    }
    fn decode(raw: Bytes, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
        amp_wire::__private::record_decode(raw, cx)
    }
    fn encode_item(&self, out: &mut BytesMut, cx: &mut Context<'_>) -> Result<(), EncodeError> {
        amp_wire::__private::record_encode(self, out, cx)
    }
    fn decode_items(raw: Bytes, cx: &mut Context<'_>) -> Result<Vec<Self>, DecodeError> {
        record_decode_items(raw, cx)
    }
}

#[test]
fn list_values_framing_errors() {
    let items = vec![One { a: 1 }, One { a: -2 }];
    let w = amp_wire::to_value(&items).unwrap();
    assert_eq!(
        &w[..],
        b"\x00\x01a\x00\x011\x00\x00\x00\x01a\x00\x02-2\x00\x00"
    );
    assert_eq!(amp_wire::from_value::<Vec<One>>(w.clone()).unwrap(), items);
    for cut in 1..w.len() {
        if cut == 8 {
            continue; // a whole first box: valid
        }
        assert!(
            matches!(
                amp_wire::from_value::<Vec<One>>(w.slice(..cut)),
                Err(DecodeError::Invalid { .. })
            ),
            "cut {cut}"
        );
    }
    assert!(amp_wire::from_value::<Vec<One>>(Bytes::from_static(b"\x01\x00")).is_err());
    assert!(
        amp_wire::from_value::<Vec<One>>(Bytes::from_static(b"\x00\x00")).is_err(),
        "missing a"
    );
    assert!(
        amp_wire::from_value::<One>(w.clone()).is_err(),
        "two boxes for one record"
    );
    // ListOf truncated elements.
    for bad in [&b"\x00"[..], b"\x00\x02", b"\x00\x02a", b"\x00\x011\x00"] {
        assert!(matches!(
            amp_wire::from_value::<Vec<i32>>(Bytes::from_static(bad)),
            Err(DecodeError::Invalid { .. })
        ));
    }
}

// --------------------------------------------------------------- properties

fn arb_key() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 1..=255)
}

fn arb_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => prop::collection::vec(any::<u8>(), 0..64),
        1 => prop::collection::vec(any::<u8>(), 0..=65535),
        1 => Just(vec![0xAB; 65535]),
    ]
}

fn arb_box() -> impl Strategy<Value = AmpBox> {
    prop::collection::vec((arb_key(), arb_value()), 0..6).prop_map(|entries| {
        entries
            .into_iter()
            .map(|(k, v)| (Bytes::from(k), Bytes::from(v)))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn box_round_trip(b in arb_box()) {
        let w = wire(&b);
        prop_assert_eq!(w.len(), b.encoded_len());
        let mut dec = BoxDecoder::new();
        let mut buf = BytesMut::from(&w[..]);
        prop_assert_eq!(dec.decode(&mut buf).unwrap(), Some(b.clone()));
        prop_assert!(buf.is_empty());
        prop_assert_eq!(decode_all(&w).unwrap(), vec![b]);
    }

    #[test]
    fn stream_split_anywhere(boxes in prop::collection::vec(arb_box(), 1..4),
                             cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8)) {
        let mut stream = Vec::new();
        for b in &boxes {
            stream.extend_from_slice(&wire(b));
        }
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        points.push(0);
        points.push(stream.len());
        points.sort_unstable();
        let chunks: Vec<&[u8]> = points.windows(2).map(|w| &stream[w[0]..w[1]]).collect();
        let (got, rest) = decode_chunks(chunks);
        prop_assert_eq!(got, boxes);
        prop_assert!(rest.is_empty());
    }

    #[test]
    fn garbage_never_panics(raw in prop::collection::vec(any::<u8>(), 0..300),
                            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..4)) {
        let _ = decode_all(&Bytes::from(raw.clone()));
        let mut dec = BoxDecoder::new();
        let mut buf = BytesMut::new();
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(raw.len() + 1)).collect();
        points.push(0);
        points.push(raw.len());
        points.sort_unstable();
        'outer: for w in points.windows(2) {
            buf.extend_from_slice(&raw[w[0]..w[1]]);
            loop {
                match dec.decode(&mut buf) {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(_) => break 'outer,
                }
            }
        }
    }
}
