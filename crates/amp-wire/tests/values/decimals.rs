//! Decimals: Python's text, accessors, rejects, `rust_decimal`.

use amp_wire::{Decimal, DecodeError};
use num_bigint::BigUint;

use crate::{dec, enc};

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
