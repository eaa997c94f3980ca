//! `values`: every argument type's decoder on arbitrary bytes.
//!
//! Input layout: `type, value`: the first byte picks the type (modulo the
//! number of types, in the order of [`TYPES`]), the rest is the value.
//!
//! Checked, for every type `T`:
//!
//! * `from_value::<T>` never panics;
//! * when it succeeds, `to_value` of the result succeeds, the text decodes
//!   back to an equal value (floats: same bits, or both NaN; Twisted's
//!   several spellings of a value, like `+5`, ` 1_0.5`, `1e5` or a
//!   lenient date, are compared decoded, not as bytes), and encoding that
//!   again gives the same bytes (the encoding is canonical);
//! * for `f64`/`f32`, the text is also what Rust's own parser reads as the
//!   same number, laid out as Python's `repr` (positional for decimal
//!   exponents -4..16, else `e±XX`); for `DateTime`, it is 32 bytes long.

use amp_wire::{from_value, to_value, Argument, Decimal};
use bytes::Bytes;
use chrono::{DateTime, FixedOffset, Utc};
use num_bigint::{BigInt, BigUint};
use std::fmt::Debug;
use std::path::PathBuf;

/// Decode, and if that works, encode, decode again and compare.
fn check<T: Argument + Debug>(raw: &[u8], same: impl Fn(&T, &T) -> bool) -> Option<Bytes> {
    let v = from_value::<T>(Bytes::copy_from_slice(raw)).ok()?;
    let w = to_value(&v).unwrap_or_else(|e| {
        panic!(
            "{} decoded from {:?} to {v:?}, which does not encode: {e}",
            std::any::type_name::<T>(),
            String::from_utf8_lossy(raw)
        )
    });
    let back = from_value::<T>(w.clone()).unwrap_or_else(|e| {
        panic!(
            "{} {v:?} encodes to {:?}, which does not decode: {e}",
            std::any::type_name::<T>(),
            String::from_utf8_lossy(&w)
        )
    });
    assert!(
        same(&v, &back),
        "{}: {:?} decodes to {v:?}, encodes to {:?}, decodes to {back:?}",
        std::any::type_name::<T>(),
        String::from_utf8_lossy(raw),
        String::from_utf8_lossy(&w)
    );
    let again = to_value(&back).expect("encodes twice");
    assert_eq!(w, again, "the encoding is not canonical");
    Some(w)
}

fn eq<T: PartialEq>(a: &T, b: &T) -> bool {
    a == b
}

fn same_f64(a: &f64, b: &f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn same_f32(a: &f32, b: &f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn same_vec<T>(a: &[T], b: &[T], same: impl Fn(&T, &T) -> bool) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
}

/// `rust_decimal`: the same number with the same scale and sign.
fn same_rd(a: &rust_decimal::Decimal, b: &rust_decimal::Decimal) -> bool {
    a == b && a.scale() == b.scale() && a.is_sign_negative() == b.is_sign_negative()
}

/// Chrono compares instants only: also compare the offsets.
fn same_dt(a: &DateTime<FixedOffset>, b: &DateTime<FixedOffset>) -> bool {
    a == b && a.offset() == b.offset()
}

/// The text of a float, checked against Rust's parser and Python's layout.
fn check_float_text(w: &[u8], bits_match: impl Fn(f64) -> bool) {
    let s = std::str::from_utf8(w).expect("float text is ASCII");
    match s {
        "nan" => return,
        "inf" | "-inf" => {
            assert!(bits_match(s.parse::<f64>().unwrap()));
            return;
        }
        _ => {}
    }
    let parsed: f64 = s
        .parse()
        .unwrap_or_else(|_| panic!("Rust cannot parse {s:?}"));
    assert!(bits_match(parsed), "Rust reads {s:?} as another number");
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    let (mantissa, exp) = match unsigned.split_once('e') {
        Some((m, e)) => {
            let digits = e.strip_prefix(['+', '-']).expect("signed exponent");
            assert!(digits.len() >= 2, "{s:?}: exponent of one digit");
            (m, Some(e.parse::<i32>().unwrap()))
        }
        None => (unsigned, None),
    };
    // The decimal exponent of the leading significant digit.
    let lead = if parsed == 0.0 {
        0
    } else {
        parsed.abs().log10().floor() as i32
    };
    match exp {
        None => {
            assert!(mantissa.contains('.'), "{s:?}: positional without a '.'");
            // log10 may be off by one at powers of ten: allow the edges.
            assert!((-5..=16).contains(&lead), "{s:?}: positional out of range");
        }
        Some(e) => {
            assert!(
                !(-4..16).contains(&e),
                "{s:?}: scientific in positional range"
            );
            assert!(!mantissa.ends_with('.'), "{s:?}");
        }
    }
}

/// The types checked, in the order the first input byte selects them.
pub const TYPES: &[&str] = &[
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "BigInt",
    "BigUint",
    "bool",
    "Bytes",
    "Vec<u8>",
    "String",
    "PathBuf",
    "f64",
    "f32",
    "Decimal",
    "rust_decimal::Decimal",
    "DateTime<FixedOffset>",
    "DateTime<Utc>",
    "Vec<i64>",
    "Vec<Vec<String>>",
    "Option<i64>",
    "Option<Vec<f64>>",
    "Vec<Decimal>",
    "Vec<DateTime<Utc>>",
    "Vec<bool>",
    "Vec<Vec<u8>>",
    "Vec<u16>",
    "Vec<BigInt>",
    "Vec<Option<i32>>",
    "Vec<f32>",
    "Vec<Vec<Vec<i64>>>",
    "Option<DateTime<FixedOffset>>",
    "Vec<rust_decimal::Decimal>",
];

pub fn run(data: &[u8]) {
    let Some((&sel, raw)) = data.split_first() else {
        return;
    };
    match TYPES[sel as usize % TYPES.len()] {
        "i8" => drop(check::<i8>(raw, eq)),
        "i16" => drop(check::<i16>(raw, eq)),
        "i32" => drop(check::<i32>(raw, eq)),
        "i64" => {
            if let Some(w) = check::<i64>(raw, eq) {
                // Every spelling Python's int() reads is one BigInt too.
                let big: BigInt = from_value(w.clone()).unwrap();
                assert_eq!(to_value(&big).unwrap(), w);
            }
        }
        "i128" => drop(check::<i128>(raw, eq)),
        "isize" => drop(check::<isize>(raw, eq)),
        "u8" => drop(check::<u8>(raw, eq)),
        "u16" => drop(check::<u16>(raw, eq)),
        "u32" => drop(check::<u32>(raw, eq)),
        "u64" => drop(check::<u64>(raw, eq)),
        "u128" => drop(check::<u128>(raw, eq)),
        "usize" => drop(check::<usize>(raw, eq)),
        "BigInt" => {
            if let Some(w) = check::<BigInt>(raw, eq) {
                // Whatever fits an i128 decodes the same as one.
                let big: BigInt = from_value(w.clone()).unwrap();
                if let Ok(small) = i128::try_from(&big) {
                    assert_eq!(from_value::<i128>(w).unwrap(), small);
                }
            }
        }
        "BigUint" => drop(check::<BigUint>(raw, eq)),
        "bool" => drop(check::<bool>(raw, eq)),
        "Bytes" => {
            let w = check::<Bytes>(raw, eq).expect("any bytes are a String");
            assert_eq!(&w[..], raw);
        }
        "Vec<u8>" => {
            let w = check::<Vec<u8>>(raw, eq).expect("any bytes are a String");
            assert_eq!(&w[..], raw);
        }
        "String" => {
            let ok = check::<String>(raw, eq).is_some();
            assert_eq!(ok, std::str::from_utf8(raw).is_ok());
        }
        "PathBuf" => drop(check::<PathBuf>(raw, eq)),
        "f64" => {
            if let Some(w) = check::<f64>(raw, same_f64) {
                let x: f64 = from_value(w.clone()).unwrap();
                check_float_text(&w, |y| same_f64(&x, &y));
                assert_eq!(amp_wire::types::format_python_float(x).as_bytes(), &w[..]);
            }
        }
        "f32" => {
            if let Some(w) = check::<f32>(raw, same_f32) {
                let x: f32 = from_value(w.clone()).unwrap();
                check_float_text(&w, |y| same_f32(&x, &(y as f32)));
            }
        }
        "Decimal" => {
            if let Some(w) = check::<Decimal>(raw, eq) {
                let d: Decimal = from_value(w.clone()).unwrap();
                assert_eq!(d.to_string().as_bytes(), &w[..]);
                assert_eq!(d.to_string().parse::<Decimal>().unwrap(), d);
                // What rust_decimal can hold converts, keeping the value.
                if let Ok(r) = rust_decimal::Decimal::try_from(d.clone()) {
                    let again: rust_decimal::Decimal = from_value(w).unwrap();
                    assert!(same_rd(&r, &again));
                }
            }
        }
        "rust_decimal::Decimal" => drop(check::<rust_decimal::Decimal>(raw, same_rd)),
        "DateTime<FixedOffset>" => {
            if let Some(w) = check::<DateTime<FixedOffset>>(raw, same_dt) {
                assert_eq!(w.len(), 32);
                // The same text read as UTC is the same instant, unless it is
                // outside Python's years in UTC.
                let t: DateTime<FixedOffset> = from_value(w.clone()).unwrap();
                match from_value::<DateTime<Utc>>(w) {
                    Ok(u) => assert_eq!(u, t.with_timezone(&Utc)),
                    Err(_) => {
                        use chrono::Datelike;
                        let y = t.with_timezone(&Utc).year();
                        assert!(!(1..=9999).contains(&y), "{t:?} refused as UTC");
                    }
                }
            }
        }
        "DateTime<Utc>" => {
            if let Some(w) = check::<DateTime<Utc>>(raw, eq) {
                assert_eq!(w.len(), 32);
                assert!(w.ends_with(b"-00:00"));
            }
        }
        "Vec<i64>" => drop(check::<Vec<i64>>(raw, eq)),
        "Vec<Vec<String>>" => drop(check::<Vec<Vec<String>>>(raw, eq)),
        "Option<i64>" => drop(check::<Option<i64>>(raw, eq)),
        "Option<Vec<f64>>" => drop(check::<Option<Vec<f64>>>(raw, |a, b| match (a, b) {
            (Some(a), Some(b)) => same_vec(a, b, same_f64),
            _ => false,
        })),
        "Vec<Decimal>" => drop(check::<Vec<Decimal>>(raw, eq)),
        "Vec<DateTime<Utc>>" => drop(check::<Vec<DateTime<Utc>>>(raw, eq)),
        "Vec<bool>" => drop(check::<Vec<bool>>(raw, eq)),
        "Vec<Vec<u8>>" => drop(check::<Vec<Vec<u8>>>(raw, eq)),
        "Vec<u16>" => drop(check::<Vec<u16>>(raw, eq)),
        "Vec<BigInt>" => drop(check::<Vec<BigInt>>(raw, eq)),
        "Vec<Option<i32>>" => drop(check::<Vec<Option<i32>>>(raw, eq)),
        "Vec<f32>" => drop(check::<Vec<f32>>(raw, |a, b| same_vec(a, b, same_f32))),
        "Vec<Vec<Vec<i64>>>" => drop(check::<Vec<Vec<Vec<i64>>>>(raw, eq)),
        "Option<DateTime<FixedOffset>>" => drop(check::<Option<DateTime<FixedOffset>>>(
            raw,
            |a, b| matches!((a, b), (Some(a), Some(b)) if same_dt(a, b)),
        )),
        "Vec<rust_decimal::Decimal>" => drop(check::<Vec<rust_decimal::Decimal>>(raw, |a, b| {
            same_vec(a, b, same_rd)
        })),
        other => unreachable!("{other}"),
    }
}
