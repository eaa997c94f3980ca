//! Python parses what we write: random values encoded here, read by
//! golden.py.

use amp_wire::{to_value, Decimal};
use bytes::Bytes;
use chrono::{DateTime, FixedOffset};
use num_bigint::BigInt;

use crate::describe::{describe_datetime, describe_decimal, describe_float, float_of};
use crate::{hex, run_script, Json};

/// xorshift64*: deterministic pseudo-random numbers without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

enum Expect {
    /// Python's description and re-encoding must equal ours exactly.
    Same(String),
    /// An f32 we sent: Python's double must narrow back to it.
    F32(f32),
}

#[test]
fn python_parses_our_encodings() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut lines = String::new();
    let mut expects: Vec<(String, Bytes, Expect)> = Vec::new();
    let mut push = |ty: &str, wire: Bytes, e: Expect, lines: &mut String| {
        lines.push_str(&format!("{ty} {}\n", hex(&wire)));
        expects.push((ty.to_string(), wire, e));
    };

    // Floats: random bit patterns, random "decimal-looking" values, specials.
    let mut floats: Vec<f64> = vec![
        0.0,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        f64::MAX,
        f64::MIN,
        f64::MIN_POSITIVE,
        f64::EPSILON,
        5e-324,
        1e16,
        9999999999999998.0,
        1e-4,
        9.999999999999999e-5,
    ];
    for _ in 0..1500 {
        floats.push(f64::from_bits(rng.next()));
    }
    for _ in 0..500 {
        let m = rng.below(1_000_000) as f64;
        let e = rng.below(44) as i32 - 22;
        floats.push(m * 10f64.powi(e));
    }
    for x in floats {
        let w = to_value(&x).unwrap();
        push("float", w, Expect::Same(describe_float(x)), &mut lines);
    }
    // f32: random bit patterns.
    for _ in 0..500 {
        let x = f32::from_bits(rng.next() as u32);
        if x.is_nan() {
            continue;
        }
        push("float", to_value(&x).unwrap(), Expect::F32(x), &mut lines);
    }
    // Decimals: random coefficients and exponents, and specials.
    for _ in 0..600 {
        let ndigits = 1 + rng.below(40) as usize;
        let digits: String = (0..ndigits)
            .map(|_| char::from(b'0' + rng.below(10) as u8))
            .collect();
        let exp = match rng.below(4) {
            0 => rng.below(20) as i64 - 10,
            1 => rng.below(200) as i64 - 100,
            2 => rng.below(2_000_000) as i64 - 1_000_000,
            _ => {
                (rng.next() % 999_999_999_999_999_000) as i64
                    * if rng.below(2) == 0 { 1 } else { -1 }
            }
        };
        let Some(d) = Decimal::from_parts(rng.below(2) == 0, digits.parse().unwrap(), exp) else {
            continue;
        };
        push(
            "decimal",
            to_value(&d).unwrap(),
            Expect::Same(describe_decimal(&d)),
            &mut lines,
        );
    }
    for text in [
        "NaN",
        "-NaN",
        "sNaN",
        "-sNaN",
        "NaN42",
        "-sNaN7",
        "Infinity",
        "-Infinity",
    ] {
        let d: Decimal = text.parse().unwrap();
        push(
            "decimal",
            to_value(&d).unwrap(),
            Expect::Same(describe_decimal(&d)),
            &mut lines,
        );
    }
    // DateTimes: random instants and offsets.
    for _ in 0..300 {
        let off = rng.below(2 * 1439 + 1) as i32 - 1439;
        let tz = FixedOffset::east_opt(off * 60).unwrap();
        let secs = rng.below(253_402_300_800 - 86_400 * 2) as i64 - 62_135_596_800 + 86_400;
        let nanos = rng.below(1_000_000_000) as u32;
        let t = DateTime::from_timestamp(secs, nanos)
            .unwrap()
            .with_timezone(&tz);
        let w = to_value(&t).unwrap();
        // Python only has microseconds: compare with the truncated value.
        let trunc = DateTime::from_timestamp(secs, nanos / 1000 * 1000)
            .unwrap()
            .with_timezone(&tz);
        push(
            "datetime",
            w,
            Expect::Same(describe_datetime(&trunc)),
            &mut lines,
        );
    }
    // Integers of every size.
    for _ in 0..300 {
        let words = 1 + rng.below(4) as usize;
        let mut v = BigInt::from(0);
        for _ in 0..words {
            v = (v << 64) + BigInt::from(rng.next());
        }
        if rng.below(2) == 0 {
            v = -v;
        }
        push(
            "integer",
            to_value(&v).unwrap(),
            Expect::Same(v.to_string()),
            &mut lines,
        );
    }
    for v in [i64::MIN as i128, i64::MAX as i128, i128::MIN, i128::MAX, 0] {
        push(
            "integer",
            to_value(&v).unwrap(),
            Expect::Same(v.to_string()),
            &mut lines,
        );
    }
    push(
        "integer",
        to_value(&u128::MAX).unwrap(),
        Expect::Same(u128::MAX.to_string()),
        &mut lines,
    );

    let out = run_script(&["check"], lines.as_bytes());
    let results: Vec<_> = out
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            Json {
                s: l.as_bytes(),
                i: 0,
            }
            .object()
        })
        .collect();
    assert_eq!(results.len(), expects.len());
    for ((ty, ours, expect), py) in expects.iter().zip(&results) {
        let text = String::from_utf8_lossy(ours);
        assert!(
            !py.contains_key("error"),
            "Python rejected our {ty} {text:?}: {py:?}"
        );
        match expect {
            Expect::Same(desc) => {
                assert_eq!(
                    &py["value"], desc,
                    "Python read our {ty} {text:?} as another value"
                );
                assert_eq!(
                    py["wire"],
                    hex(ours),
                    "Python writes {ty} {text:?} differently"
                );
            }
            Expect::F32(x) => {
                let back = float_of(&py["value"]) as f32;
                assert_eq!(back.to_bits(), x.to_bits(), "f32 {text:?}");
            }
        }
    }
}
