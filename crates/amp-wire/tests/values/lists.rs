//! Lists and options.

use amp_wire::__private::get_arg;
use amp_wire::types::Context;
use amp_wire::{to_value, AmpBox, Decimal, DecodeError, EncodeError, FieldWriter};
use bytes::BytesMut;
use num_bigint::BigInt;

use crate::{dec, rt};

#[test]
fn lists() {
    assert_eq!(
        &to_value(&vec![1i32, -2, 300]).unwrap()[..],
        b"\x00\x011\x00\x02-2\x00\x03300"
    );
    assert_eq!(&to_value(&Vec::<i32>::new()).unwrap()[..], b"");
    assert_eq!(dec::<Vec<i32>>(b"").unwrap(), Vec::<i32>::new());
    let nested = vec![vec![1i32, 2], vec![], vec![3]];
    assert_eq!(
        &to_value(&nested).unwrap()[..],
        b"\x00\x06\x00\x011\x00\x012\x00\x00\x00\x03\x00\x013"
    );
    rt(nested);
    rt(vec![Vec::<i32>::new()]);
    rt(vec![String::new(), "é".to_string()]);
    rt(vec![0.1f64, -0.0, f64::INFINITY]);
    rt(vec![Decimal::nan(true, true), "1.50".parse().unwrap()]);
    rt(vec![vec![vec![BigInt::from(1) << 100]]]);
    // Vec<u8> is Twisted's String, not a list of integers.
    assert_eq!(&to_value(&vec![1u8, 2]).unwrap()[..], b"\x01\x02");
}

#[test]
fn list_errors() {
    for bad in [&b"\x00"[..], b"\x00\x05ab", b"\x00\x011\x00", b"\x00\x02-x"] {
        assert!(
            matches!(dec::<Vec<i32>>(bad), Err(DecodeError::Invalid { .. })),
            "{bad:?}"
        );
    }
    assert!(dec::<Vec<Vec<i32>>>(b"\x00\x03\x00\x05a").is_err());
    assert!(dec::<Vec<String>>(b"\x00\x01\xff").is_err());
    // An element longer than 65535 bytes cannot be encoded.
    let long = vec!["x".repeat(65536)];
    assert!(matches!(
        to_value(&long),
        Err(EncodeError::ValueTooLong { .. })
    ));
    assert!(to_value(&vec!["x".repeat(65535)]).is_ok());
}

#[test]
fn options() {
    let mut cx = Context::none();
    let mut out = BytesMut::new();
    let mut w = FieldWriter::new(&mut out, &[]);
    w.put("absent", &None::<i32>, &mut cx).unwrap();
    w.put("present", &Some(5i32), &mut cx).unwrap();
    w.finish().unwrap();
    let b = AmpBox::decode(out.freeze()).unwrap();
    assert!(!b.contains_key("absent"));
    assert_eq!(b.get("present").unwrap(), b"5");
    assert_eq!(get_arg::<Option<i32>>(&b, "absent", &mut cx).unwrap(), None);
    assert_eq!(
        get_arg::<Option<i32>>(&b, "present", &mut cx).unwrap(),
        Some(5)
    );
    assert!(matches!(
        get_arg::<i32>(&b, "absent", &mut cx),
        Err(DecodeError::Missing { .. })
    ));
    assert!(to_value(&None::<i32>).is_err());
    assert_eq!(dec::<Option<f64>>(b"1.5").unwrap(), Some(1.5));
    assert!(dec::<Option<i32>>(b"x").is_err());
    // An undecodable present value names its key.
    let mut b = AmpBox::new();
    b.insert("n", "x");
    match get_arg::<i32>(&b, "n", &mut cx) {
        Err(DecodeError::Invalid { key, .. }) => assert_eq!(&key[..], b"n"),
        other => panic!("{other:?}"),
    }
}
