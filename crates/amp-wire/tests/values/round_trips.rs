//! Property tests: every value round-trips, parsers never panic.

use amp_wire::types::parse_python_float;
use amp_wire::{from_value, to_value, Decimal};
use bytes::Bytes;
use chrono::{DateTime, FixedOffset, Utc};
use num_bigint::BigInt;
use proptest::prelude::*;

use crate::{dec, rt};

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
