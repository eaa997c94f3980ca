//! Every argument type: edge cases, errors and encode→decode round trips.

use std::path::PathBuf;

use amp_wire::__private::get_arg;
use amp_wire::types::{format_python_float, parse_python_float, Argument, Context};
use amp_wire::{from_value, to_value, AmpBox, Decimal, DecodeError, EncodeError, FieldWriter};
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Timelike, Utc};
use num_bigint::{BigInt, BigUint};
use proptest::prelude::*;

fn enc<T: Argument>(v: &T) -> String {
    String::from_utf8(to_value(v).expect("encodes").to_vec()).expect("ASCII/UTF-8")
}

fn dec<T: Argument>(s: &[u8]) -> Result<T, DecodeError> {
    from_value::<T>(Bytes::copy_from_slice(s))
}

fn rt<T: Argument + PartialEq + std::fmt::Debug>(v: T) {
    let w = to_value(&v).expect("encodes");
    assert_eq!(from_value::<T>(w).expect("decodes"), v);
}

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

// ------------------------------------------------------------------ floats

#[test]
fn floats_python_text() {
    let cases: &[(f64, &str)] = &[
        (5.0, "5.0"),
        (0.1, "0.1"),
        (1e16, "1e+16"),
        (1e15, "1000000000000000.0"),
        (1.5e-5, "1.5e-05"),
        (1e-5, "1e-05"),
        (0.0001, "0.0001"),
        (-0.0, "-0.0"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
        (f64::NAN, "nan"),
        (-f64::NAN, "nan"),
        (f64::MAX, "1.7976931348623157e+308"),
        (5e-324, "5e-324"),
        (1e22, "1e+22"),
        (1.5e300, "1.5e+300"),
        (123456789012345.6, "123456789012345.6"),
        (1234567890123456.8, "1234567890123456.8"),
        (1.0 / 3.0, "0.3333333333333333"),
    ];
    for (x, s) in cases {
        assert_eq!(enc(x), *s);
        assert_eq!(format_python_float(*x), *s);
    }
}

#[test]
fn floats_python_parsing() {
    let ok: &[(&str, f64)] = &[
        (" 1_0.5 ", 10.5),
        ("1e5", 1e5),
        (".5", 0.5),
        ("5.", 5.0),
        ("1E+05", 1e5),
        ("-1e-5", -1e-5),
        ("+inf", f64::INFINITY),
        ("-Infinity", f64::NEG_INFINITY),
        ("INFINITY", f64::INFINITY),
        ("1e400", f64::INFINITY),
        ("\x0b\x0c\r\n\t 2 ", 2.0),
        ("0_0.0_0e0_0", 0.0),
    ];
    for (s, v) in ok {
        assert_eq!(dec::<f64>(s.as_bytes()).unwrap(), *v, "{s:?}");
        assert_eq!(parse_python_float(s.as_bytes()).unwrap(), *v, "{s:?}");
    }
    assert!(dec::<f64>(b"nan").unwrap().is_nan());
    assert!(dec::<f64>(b"-NAN").unwrap().is_nan());
    assert_eq!(dec::<f64>(b"-0.0").unwrap().to_bits(), (-0.0f64).to_bits());
    for bad in [
        "",
        " ",
        ".",
        "e",
        "e5",
        "1e",
        "1e+",
        "1e-",
        "_1",
        "1_",
        "1__0",
        "1_.5",
        "1._5",
        "1_e5",
        "1e_5",
        "0x10",
        "0b1",
        "in_f",
        "nan(0)",
        "infinit",
        "infinityy",
        "1 0",
        "--1",
        "+-1",
        "1.2.3",
        "1e5.0",
        "\x1c1",
        "1\0",
    ] {
        assert!(
            matches!(dec::<f64>(bad.as_bytes()), Err(DecodeError::Invalid { .. })),
            "{bad:?}"
        );
        assert!(dec::<f32>(bad.as_bytes()).is_err(), "{bad:?}");
    }
}

#[test]
fn f32_values() {
    assert_eq!(enc(&0.1f32), "0.1");
    assert_eq!(enc(&1e16f32), "1e+16");
    assert_eq!(enc(&-0.0f32), "-0.0");
    assert_eq!(enc(&f32::INFINITY), "inf");
    assert_eq!(enc(&f32::MAX), "3.4028235e+38");
    assert_eq!(enc(&f32::from_bits(1)), "1e-45");
    assert_eq!(dec::<f32>(b"0.1").unwrap(), 0.1f32);
    assert_eq!(dec::<f32>(b"-inf").unwrap(), f32::NEG_INFINITY);
    assert_eq!(dec::<f32>(b"1e-50").unwrap(), 0.0);
    assert!(dec::<f32>(b"1e39").is_err(), "finite double beyond f32");
    assert_eq!(
        dec::<f32>(b"1e400").unwrap(),
        f32::INFINITY,
        "Python reads inf"
    );
}

// ----------------------------------------------------------------- decimals

#[test]
fn decimals_python_text() {
    for (input, text) in [
        ("1.50", "1.50"),
        ("1E+2", "1E+2"),
        ("-0", "-0"),
        ("0E-7", "0E-7"),
        ("1E-7", "1E-7"),
        ("0.000001", "0.000001"),
        ("Infinity", "Infinity"),
        ("-Infinity", "-Infinity"),
        ("NaN", "NaN"),
        ("-NaN", "-NaN"),
        ("sNaN", "sNaN"),
        ("-sNaN", "-sNaN"),
        ("NaN123", "NaN123"),
        (" 1.5e3 ", "1.5E+3"),
        (
            "123456789012345678901234567890.123",
            "123456789012345678901234567890.123",
        ),
        ("-12.345e-10", "-1.2345E-9"),
        ("0.00", "0.00"),
        ("1_000", "1000"),
    ] {
        let d: Decimal = dec(input.as_bytes()).unwrap();
        assert_eq!(enc(&d), text, "{input:?}");
        assert_eq!(d.to_string(), text);
        assert_eq!(
            text.parse::<Decimal>().unwrap(),
            d,
            "exact round trip of {text}"
        );
    }
}

#[test]
fn decimal_accessors_and_equality() {
    let a: Decimal = "1.50".parse().unwrap();
    let b: Decimal = "1.5".parse().unwrap();
    assert_ne!(a, b, "representation equality");
    assert_eq!(a.coefficient(), Some(BigUint::from(150u32)));
    assert_eq!(a.exponent(), Some(-2));
    assert!(a.is_finite() && !a.is_nan() && !a.is_infinite() && !a.is_sign_negative());
    let n: Decimal = "-sNaN12".parse().unwrap();
    assert!(n.is_nan() && n.is_snan() && n.is_sign_negative());
    assert_eq!(
        (n.coefficient(), n.exponent(), n.digits()),
        (None, None, "12")
    );
    assert_eq!(n, "-snan0012".parse().unwrap());
    assert_ne!("0".parse::<Decimal>().unwrap(), "-0".parse().unwrap());
    let i = Decimal::infinity(true);
    assert!(i.is_infinite() && i.is_sign_negative());
    assert_eq!(format!("{i:?}"), "Decimal(\"-Infinity\")");
    let mut set = std::collections::HashSet::new();
    set.insert(a.clone());
    assert!(set.contains(&"1.50".parse::<Decimal>().unwrap()));
    assert!(!set.contains(&b));
}

#[test]
fn decimal_rejects() {
    for bad in [
        "",
        "_",
        ".",
        "e5",
        "1e",
        "0x1",
        "1 0",
        "+-1",
        "nan-1",
        "nan1.0",
        "infin",
        "1e1000000000000000000",
        "\u{e9}",
    ] {
        assert!(
            matches!(bad.parse::<Decimal>(), Err(DecodeError::Invalid { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn decimal_rust_decimal() {
    use rust_decimal::Decimal as R;
    let r = R::new(150, 2);
    assert_eq!(enc(&Decimal::from(r)), "1.50");
    assert_eq!(enc(&r), "1.50");
    assert_eq!(R::try_from("1.50".parse::<Decimal>().unwrap()).unwrap(), r);
    assert_eq!(
        R::try_from("1.50".parse::<Decimal>().unwrap())
            .unwrap()
            .scale(),
        2
    );
    assert_eq!(dec::<R>(b"-1E+3").unwrap(), R::new(-1000, 0));
    assert!(dec::<R>(b"NaN").is_err());
    assert!(dec::<R>(b"1E+29").is_err());
    assert!(dec::<R>(b"79228162514264337593543950336").is_err());
    assert_eq!(dec::<R>(b"79228162514264337593543950335").unwrap(), R::MAX);
    assert_eq!(enc(&R::MIN), "-79228162514264337593543950335");
    // 30 decimals of which the last two are zeros: exact at scale 28.
    let d: Decimal = "0.123456789012345678901234567800".parse().unwrap();
    assert_eq!(
        R::try_from(d).unwrap().to_string(),
        "0.1234567890123456789012345678"
    );
    let d: Decimal = "0.1234567890123456789012345678901".parse().unwrap();
    assert!(R::try_from(d).is_err(), "would lose digits");
}

// ---------------------------------------------------------------- datetimes

fn tz(minutes: i32) -> FixedOffset {
    FixedOffset::east_opt(minutes * 60).unwrap()
}

#[test]
fn datetimes() {
    let t = tz(330).with_ymd_and_hms(2024, 2, 29, 13, 5, 9).unwrap();
    assert_eq!(enc(&t), "2024-02-29T13:05:09.000000+05:30");
    let t = tz(-480)
        .from_local_datetime(
            &NaiveDate::from_ymd_opt(1999, 12, 31)
                .unwrap()
                .and_hms_micro_opt(23, 59, 59, 999_999)
                .unwrap(),
        )
        .unwrap();
    assert_eq!(enc(&t), "1999-12-31T23:59:59.999999-08:00");
    rt(t);
    let u = Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap();
    assert_eq!(enc(&u), "0001-01-01T00:00:00.000000-00:00");
    assert_eq!(
        enc(&tz(0).with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap()),
        "9999-12-31T23:59:59.000000-00:00"
    );
    rt(u);
    // Any offset decodes into Utc.
    let u: DateTime<Utc> = dec(b"2000-01-01T00:00:00.000000+23:59").unwrap();
    assert_eq!(u, Utc.with_ymd_and_hms(1999, 12, 31, 0, 1, 0).unwrap());
    // Sub-microsecond nanoseconds are truncated.
    let t = Utc
        .with_ymd_and_hms(2000, 1, 1, 0, 0, 0)
        .unwrap()
        .with_nanosecond(123_456_789)
        .unwrap();
    assert_eq!(enc(&t), "2000-01-01T00:00:00.123456-00:00");
}

#[test]
fn datetime_encode_errors() {
    let leap = Utc
        .with_ymd_and_hms(2016, 12, 31, 23, 59, 59)
        .unwrap()
        .with_nanosecond(1_500_000_000)
        .unwrap();
    assert!(matches!(to_value(&leap), Err(EncodeError::Invalid { .. })));
    let y0 = Utc.with_ymd_and_hms(0, 6, 1, 0, 0, 0).unwrap();
    assert!(to_value(&y0).is_err());
    let y10k = tz(0).with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap();
    assert!(to_value(&y10k).is_err());
    // Year 1 at UTC-1 is still year 1 locally: fine.
    assert!(to_value(&tz(60).with_ymd_and_hms(1, 1, 1, 0, 30, 0).unwrap()).is_ok());
    // Nothing is written on error.
    let mut out = BytesMut::from(&b"keep"[..]);
    assert!(leap.encode(&mut out, &mut Context::none()).is_err());
    assert_eq!(&out[..], b"keep");
}

#[test]
fn datetime_decode_errors() {
    for bad in [
        &b""[..],
        b"2012-01-23T12:34:56.054321-00:0",
        b"2012-01-23T12:34:56.054321-00:000",
        b"2012-01-23T12:34:56.054321 00:00",
        b"2012-13-23T12:34:56.054321-00:00",
        b"2012-00-23T12:34:56.054321-00:00",
        b"2011-02-29T12:34:56.054321-00:00",
        b"2012-01-23T24:34:56.054321-00:00",
        b"2012-01-23T12:60:56.054321-00:00",
        b"2012-01-23T12:34:60.054321-00:00",
        b"2012-01-23T12:34:56.05432x-00:00",
        b"2012-01-23T12:34:56.054321-24:00",
        b"2012-01-23T12:34:56.054321+00:1440",
        b"-012-01-23T12:34:56.054321-00:00",
        b"2012-01-23T12:34:56.054321-00:\xc3\xa9",
    ] {
        assert!(
            dec::<DateTime<FixedOffset>>(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
        assert!(dec::<DateTime<Utc>>(bad).is_err());
    }
}

#[test]
fn utc_datetimes_must_be_in_python_years_in_utc() {
    // Valid Twisted DateTimes whose UTC instant is in year 0 or 10000:
    // Python's astimezone(timezone.utc) raises OverflowError, and we could
    // not send them back, so decoding into Utc refuses them.
    for edge in [
        &b"0001-01-01T00:00:00.000000+05:30"[..],
        b"0001-01-01T00:00:00.000000+00:01",
        b"9999-12-31T23:59:59.999999-00:01",
    ] {
        let t: DateTime<FixedOffset> = dec(edge).unwrap();
        rt(t);
        assert!(
            matches!(dec::<DateTime<Utc>>(edge), Err(DecodeError::Invalid { .. })),
            "{}",
            String::from_utf8_lossy(edge)
        );
    }
    // Just inside the range: decodes and round-trips.
    let u: DateTime<Utc> = dec(b"0001-01-01T05:30:00.000000+05:30").unwrap();
    assert_eq!(u, Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap());
    rt(u);
    let u: DateTime<Utc> = dec(b"9999-12-31T18:29:59.999999-05:30").unwrap();
    assert_eq!(enc(&u), "9999-12-31T23:59:59.999999-00:00");
    rt(u);
}

// -------------------------------------------------------- lists and options

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

// ------------------------------------------------------------- round trips

fn arb_decimal() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        8 => (any::<bool>(), "[0-9]{1,60}", -2_000_000i64..2_000_000)
            .prop_filter_map("in range", |(neg, digits, exp)| {
                Decimal::from_parts(neg, digits.parse().unwrap(), exp)
            }),
        2 => (any::<bool>(), "[0-9]{1,25}", -1_999_999_999_999_999_997i64..=999_999_999_999_999_999)
            .prop_filter_map("in range", |(neg, digits, exp)| {
                Decimal::from_parts(neg, digits.parse().unwrap(), exp)
            }),
        1 => any::<bool>().prop_map(Decimal::infinity),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(n, s)| Decimal::nan(n, s)),
        1 => (any::<bool>(), any::<bool>(), "[1-9][0-9]{0,30}").prop_map(|(n, s, p)| {
            let prefix = if s { "snan" } else { "nan" };
            let sign = if n { "-" } else { "" };
            format!("{sign}{prefix}{p}").parse().unwrap()
        }),
    ]
}

fn arb_datetime() -> impl Strategy<Value = DateTime<FixedOffset>> {
    // Whole-minute offsets within ±23:59, instants whose local date stays in
    // Python's year range 1..=9999.
    (
        -1439i32..=1439,
        -62_135_596_800i64 + 86_400..253_402_300_799 - 86_400,
        0u32..1_000_000,
    )
        .prop_map(|(off, secs, micros)| {
            DateTime::from_timestamp(secs, micros * 1000)
                .unwrap()
                .with_timezone(&FixedOffset::east_opt(off * 60).unwrap())
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn f64_round_trip(bits in any::<u64>()) {
        let x = f64::from_bits(bits);
        let back: f64 = from_value(to_value(&x).unwrap()).unwrap();
        if x.is_nan() {
            prop_assert!(back.is_nan());
        } else {
            prop_assert_eq!(back.to_bits(), x.to_bits());
        }
    }

    #[test]
    fn f64_round_trip_specials(x in prop_oneof![
        Just(0.0f64), Just(-0.0), Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(f64::NAN),
        Just(f64::MIN_POSITIVE), Just(5e-324), Just(f64::MAX), Just(f64::MIN),
        any::<f64>(), (-1e20f64..1e20)
    ]) {
        let back: f64 = from_value(to_value(&x).unwrap()).unwrap();
        if x.is_nan() {
            prop_assert!(back.is_nan());
        } else {
            prop_assert_eq!(back.to_bits(), x.to_bits());
        }
    }

    #[test]
    fn f32_round_trip(bits in any::<u32>()) {
        let x = f32::from_bits(bits);
        let w = to_value(&x).unwrap();
        let back: f32 = from_value(w.clone()).unwrap();
        if x.is_nan() {
            prop_assert!(back.is_nan());
        } else {
            prop_assert_eq!(back.to_bits(), x.to_bits());
            // Read by a Python peer (as a double), it narrows back too.
            let wide: f64 = from_value(w).unwrap();
            prop_assert_eq!((wide as f32).to_bits(), x.to_bits());
        }
    }

    #[test]
    fn decimal_round_trip(d in arb_decimal()) {
        let w = to_value(&d).unwrap();
        let back: Decimal = from_value(w.clone()).unwrap();
        prop_assert_eq!(&back, &d);
        let text = back.to_string();
        prop_assert_eq!(text.as_bytes(), &w[..]);
    }

    #[test]
    fn rust_decimal_round_trip(m in any::<i64>(), hi in any::<u32>(), scale in 0u32..=28, neg in any::<bool>()) {
        let mut r = rust_decimal::Decimal::from_i128_with_scale(
            (i128::from(m) ^ (i128::from(hi) << 64)).rem_euclid(1i128 << 96), scale);
        r.set_sign_negative(neg);
        let d = Decimal::from(r);
        prop_assert_eq!(d.exponent(), Some(-i64::from(scale)));
        let back = rust_decimal::Decimal::try_from(d.clone()).unwrap();
        prop_assert_eq!(back, r);
        prop_assert_eq!(back.scale(), r.scale());
        prop_assert_eq!(to_value(&d).unwrap(), to_value(&r).unwrap());
    }

    #[test]
    fn datetime_round_trip(t in arb_datetime()) {
        let w = to_value(&t).unwrap();
        prop_assert_eq!(w.len(), 32);
        let back: DateTime<FixedOffset> = from_value(w.clone()).unwrap();
        prop_assert_eq!(back, t);
        prop_assert_eq!(back.offset(), t.offset());
        let u: DateTime<Utc> = from_value(w).unwrap();
        prop_assert_eq!(u, t.with_timezone(&Utc));
        let wu = to_value(&u).unwrap();
        prop_assert_eq!(from_value::<DateTime<Utc>>(wu).unwrap(), u);
    }

    #[test]
    fn integer_round_trips(a in any::<i64>(), b in any::<u64>(), c in any::<i128>(), d in any::<u128>(),
                           e in any::<i8>(), f in any::<u16>(), words in prop::collection::vec(any::<u64>(), 0..5),
                           neg in any::<bool>()) {
        rt(a); rt(b); rt(c); rt(d); rt(e); rt(f);
        let mut big = BigInt::from(0);
        for w in words { big = (big << 64) + w; }
        if neg { big = -big; }
        rt(big);
    }

    #[test]
    fn text_and_list_round_trips(s in ".{0,40}", v in prop::collection::vec(".{0,10}", 0..10),
                                 n in prop::collection::vec(prop::collection::vec(any::<i32>(), 0..5), 0..5),
                                 o in prop::option::of(any::<i64>()), raw in prop::collection::vec(any::<u8>(), 0..64)) {
        rt(s); rt(v); rt(n); rt(raw.clone()); rt(Bytes::from(raw));
        if let Some(x) = o { rt(Some(x)); }
    }

    #[test]
    fn parsers_never_panic(raw in prop::collection::vec(any::<u8>(), 0..48)) {
        let _ = parse_python_float(&raw);
        let _ = Decimal::parse_bytes(&raw);
        let _ = dec::<f32>(&raw);
        let _ = dec::<DateTime<FixedOffset>>(&raw);
        let _ = dec::<DateTime<Utc>>(&raw);
        let _ = dec::<i64>(&raw);
        let _ = dec::<BigInt>(&raw);
        let _ = dec::<Vec<Vec<i32>>>(&raw);
        let _ = dec::<Vec<Decimal>>(&raw);
    }

    #[test]
    fn parsers_never_panic_on_near_misses(
        s in "[ \t_+\\-.eE0-9]{0,12}(inf|nan|snan|infinity|NaN)?[0-9_]{0,5}",
        d in "[0-9 +\\-_]{4}.[0-9 +\\-_]{2}.[0-9 _]{2}T[0-9 _]{2}:[0-9 _]{2}:[0-9 _]{2}.[0-9 _\\-]{6}[+\\-x][0-9 _]{2}:[0-9 _]{2}",
    ) {
        let _ = parse_python_float(s.as_bytes());
        let _ = s.parse::<Decimal>();
        if let Ok(t) = dec::<DateTime<FixedOffset>>(d.as_bytes()) {
            // Whatever we accept re-encodes to a valid value.
            let w = to_value(&t).unwrap();
            prop_assert_eq!(from_value::<DateTime<FixedOffset>>(w).unwrap(), t);
        }
        if let Ok(u) = dec::<DateTime<Utc>>(d.as_bytes()) {
            let w = to_value(&u).unwrap();
            prop_assert_eq!(from_value::<DateTime<Utc>>(w).unwrap(), u);
        }
    }
}

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

/// A stand-in for the connection's descriptor channel: what is "sent" is
/// kept in order and numbered from 0; "received" descriptors are looked up
/// by ordinal.
#[derive(Default)]
struct FakeChannel {
    sent: Vec<std::os::fd::OwnedFd>,
    received: std::collections::HashMap<u64, std::os::fd::OwnedFd>,
}

impl amp_wire::Descriptors for FakeChannel {
    fn send(&mut self, fd: std::os::fd::BorrowedFd<'_>) -> Result<u64, amp_wire::EncodeError> {
        let dup = fd
            .try_clone_to_owned()
            .map_err(|e| amp_wire::EncodeError::invalid(e.to_string()))?;
        self.sent.push(dup);
        Ok(self.sent.len() as u64 - 1)
    }
    fn receive(&mut self, ordinal: u64) -> Result<std::os::fd::OwnedFd, DecodeError> {
        self.received
            .remove(&ordinal)
            .ok_or_else(|| DecodeError::invalid(format!("no descriptor {ordinal}")))
    }
}

#[test]
fn descriptors_travel_as_ordinals() {
    use amp_wire::{Argument, Context, Descriptor};
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;

    let (a, mut b) = UnixStream::pair().unwrap();
    let (c, _d) = UnixStream::pair().unwrap();
    let mut chan = FakeChannel::default();
    let mut out = bytes::BytesMut::new();
    Descriptor(c.into())
        .encode(&mut out, &mut Context::with_descriptors(&mut chan))
        .unwrap();
    out.extend_from_slice(b",");
    Descriptor(a.into())
        .encode(&mut out, &mut Context::with_descriptors(&mut chan))
        .unwrap();
    assert_eq!(&out[..], b"0,1", "ordinals count sent descriptors from 0");
    assert_eq!(chan.sent.len(), 2);

    // The receiving side maps ordinal 1 back to the descriptor that came
    // second; the descriptor works there.
    let second = chan.sent.pop().unwrap();
    chan.received.insert(1, second);
    let got = Descriptor::decode(
        bytes::Bytes::from_static(b"1"),
        &mut Context::with_descriptors(&mut chan),
    )
    .unwrap();
    let mut stream = UnixStream::from(got.0);
    stream.write_all(b"ping").unwrap();
    let mut buf = [0u8; 4];
    b.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
    // An ordinal that never arrived is a decoding error, not a panic.
    assert!(Descriptor::decode(
        bytes::Bytes::from_static(b"7"),
        &mut Context::with_descriptors(&mut chan)
    )
    .is_err());
}

#[test]
fn descriptors_need_a_descriptor_channel() {
    use amp_wire::{Argument, Context, Descriptor};
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    let mut out = bytes::BytesMut::new();
    let e = Descriptor(a.into())
        .encode(&mut out, &mut Context::none())
        .unwrap_err();
    assert!(e.to_string().contains("UNIX-socket"), "{e}");
    assert!(out.is_empty());
    assert!(Descriptor::decode(bytes::Bytes::from_static(b"0"), &mut Context::none()).is_err());
}
