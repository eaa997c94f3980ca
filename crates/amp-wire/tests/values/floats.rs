//! Floats: Python's text, Python's parsing, `f32`.

use amp_wire::types::{format_python_float, parse_python_float};
use amp_wire::DecodeError;

use crate::{dec, enc};

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
