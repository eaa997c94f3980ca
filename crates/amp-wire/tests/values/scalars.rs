//! Integers, booleans, byte strings, text and paths.

use std::path::PathBuf;

use amp_wire::{to_value, DecodeError, EncodeError};
use bytes::Bytes;
use num_bigint::{BigInt, BigUint};

use crate::{dec, enc, rt};

// ------------------------------------------------------------- integers

#[test]
fn integers_every_width() {
    macro_rules! widths {
        ($($t:ty),*) => {$(
            assert_eq!(enc(&<$t>::MIN), <$t>::MIN.to_string());
            assert_eq!(enc(&<$t>::MAX), <$t>::MAX.to_string());
            rt(<$t>::MIN);
            rt(<$t>::MAX);
            rt(0 as $t);
            assert_eq!(dec::<$t>(b" +1_0_0 ").unwrap(), 100 as $t);
            assert_eq!(dec::<$t>(b"\t-0\n").unwrap(), 0 as $t);
            assert_eq!(dec::<$t>(b"000042").unwrap(), 42 as $t);
            // One past each end is a range error, not a wrap.
            let over = (BigInt::from(<$t>::MAX) + 1u8).to_string();
            assert!(dec::<$t>(over.as_bytes()).is_err(), "{} {}", stringify!($t), over);
            let under = (BigInt::from(<$t>::MIN) - 1u8).to_string();
            assert!(dec::<$t>(under.as_bytes()).is_err(), "{} {}", stringify!($t), under);
            for bad in ["", " ", "+", "-", "1__0", "_1", "1_", "1.0", "0x10", "1e3", "+-1", "1 0", "١"] {
                assert!(dec::<$t>(bad.as_bytes()).is_err(), "{} accepted {:?}", stringify!($t), bad);
            }
        )*};
    }
    widths!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);
    assert_eq!(dec::<i32>(b" +1_000 ").unwrap(), 1000);
    assert_eq!(enc(&-42i64), "-42");
    assert!(matches!(
        dec::<u8>(b"256"),
        Err(DecodeError::Invalid { .. })
    ));
    assert!(dec::<u32>(b"-1").is_err());
    // Huge digit strings are range errors, never panics.
    assert!(dec::<u128>("9".repeat(1000).as_bytes()).is_err());
}

#[test]
fn integer_accepts_vertical_tab() {
    // Python: int(b'\x0b7\x0c') == 7
    assert_eq!(dec::<i64>(b"\x0b7\x0c").unwrap(), 7);
    assert_eq!(dec::<BigInt>(b"\x0b7").unwrap(), BigInt::from(7));
    // ...but not the other bytes Unicode calls space.
    assert!(dec::<i64>(b"\x1c7").is_err());
}

#[test]
fn big_integers() {
    let big: BigInt = "-123456789012345678901234567890123456789".parse().unwrap();
    assert_eq!(enc(&big), "-123456789012345678901234567890123456789");
    rt(big.clone());
    rt(BigInt::from(u128::MAX) * 1000u32);
    assert_eq!(
        dec::<BigInt>(b" 1_000_000_000_000_000_000_000 ").unwrap(),
        BigInt::from(10u8).pow(21)
    );
    let u: BigUint = BigUint::from(u128::MAX) + 1u8;
    assert_eq!(enc(&u), "340282366920938463463374607431768211456");
    rt(u);
    assert!(dec::<BigUint>(b"-1").is_err());
    assert_eq!(dec::<BigUint>(b"-0").unwrap(), BigUint::default());
    assert!(dec::<BigInt>(b"12a").is_err());
}

// --------------------------------------------------- bool, bytes, text, path

#[test]
fn booleans() {
    assert_eq!(enc(&true), "True");
    assert_eq!(enc(&false), "False");
    assert!(dec::<bool>(b"True").unwrap());
    assert!(!dec::<bool>(b"False").unwrap());
    for bad in ["true", "TRUE", " True", "True ", "1", "0", ""] {
        assert!(dec::<bool>(bad.as_bytes()).is_err(), "{bad:?}");
    }
}

#[test]
fn byte_strings() {
    let raw: Vec<u8> = (0..=255u8).collect();
    assert_eq!(&to_value(&raw).unwrap()[..], &raw[..]);
    rt(raw.clone());
    rt(Bytes::from(raw));
    rt(Vec::<u8>::new());
    assert_eq!(dec::<Vec<u8>>(b"").unwrap(), Vec::<u8>::new());
}

#[test]
fn unicode() {
    let s = "héllo wörld 日本語 😀 \0".to_string();
    assert_eq!(&to_value(&s).unwrap()[..], s.as_bytes());
    rt(s);
    rt(String::new());
    for bad in [&b"\xff"[..], b"\xc3", b"a\xed\xa0\x80b", b"\xc0\xaf"] {
        assert!(
            matches!(dec::<String>(bad), Err(DecodeError::Invalid { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn paths() {
    rt(PathBuf::from("/tmp/ü/x.txt"));
    rt(PathBuf::from("relative"));
    assert!(dec::<PathBuf>(b"\xff").is_err());
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let p = PathBuf::from(std::ffi::OsStr::from_bytes(b"/tmp/\xff"));
        assert!(matches!(to_value(&p), Err(EncodeError::Invalid { .. })));
    }
}
