//! A failed encode leaves no partial bytes behind.

use amp_wire::types::Context;
use amp_wire::{AmpBox, FieldWriter};
use bytes::BytesMut;

#[test]
fn failed_encode_leaves_no_partial_bytes_behind() {
    let too_big = vec!["ok".to_owned(), "x".repeat(70_000)];
    let mut out = BytesMut::new();
    let mut w = FieldWriter::new(&mut out, &[]);
    let err = w.put("a", &too_big, &mut Context::none()).unwrap_err();
    assert!(
        matches!(err, amp_wire::EncodeError::ValueTooLong { .. }),
        "{err:?}"
    );
    // The same writer still encodes the next value correctly.
    w.put("b", &7i32, &mut Context::none()).unwrap();
    w.finish().unwrap();
    let b = AmpBox::decode(out.freeze()).unwrap();
    assert_eq!(b.get("b").unwrap(), b"7");
    assert!(!b.contains_key("a"));
    // And a list whose element fails leaves the output untouched.
    let mut out = bytes::BytesMut::from(&b"keep"[..]);
    let r = amp_wire::Argument::encode(&too_big, &mut out, &mut Context::none());
    assert!(r.is_err());
    assert_eq!(&out[..], b"keep");
}
