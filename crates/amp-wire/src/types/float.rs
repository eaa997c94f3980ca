//! Twisted `Float`: Python's `str(float)` on the wire, Python's `float()`
//! when reading.
//!
//! * Encoding writes the shortest digits that round-trip, laid out with
//!   Python's `repr` rules: positional notation with at least one decimal
//!   (`5.0`, `0.1`, `123456789012345.6`) when the decimal exponent is in
//!   `-4..16`, scientific notation otherwise with a signed, at least two
//!   digit exponent (`1e+16`, `1.5e-05`, `5e-324`); `inf`, `-inf`, `nan`.
//! * Decoding accepts exactly what Python's `float(bytes)` accepts:
//!   surrounding ASCII whitespace, a sign, `inf`/`infinity`/`nan` in any
//!   case, `.5`, `5.`, `1E+05`, and `_` separators between two digits.

use bytes::{Bytes, BytesMut};
use std::fmt::Write as _;

use super::{Argument, Context};
use crate::error::{DecodeError, EncodeError};

/// Whitespace as Python's `float(bytes)`/`int(bytes)` see it
/// (`Py_ISSPACE`): space, `\t`, `\n`, `\v`, `\f`, `\r`.
pub(crate) fn is_py_space(c: u8) -> bool {
    c == b' ' || (b'\t'..=b'\r').contains(&c)
}

/// Strip [`is_py_space`] whitespace from both ends.
pub(crate) fn trim_py_space(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_py_space(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_py_space(*last) {
            break;
        }
        s = rest;
    }
    s
}

/// A fixed-size stack buffer implementing [`std::fmt::Write`], so that the
/// shortest digits can be obtained from `{:e}` without allocating.
struct StackBuf {
    buf: [u8; 64],
    len: usize,
}

impl StackBuf {
    fn new() -> Self {
        StackBuf {
            buf: [0; 64],
            len: 0,
        }
    }
    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
    fn push(&mut self, c: u8) {
        // Capacity is far above the longest float text (25 bytes).
        if self.len < self.buf.len() {
            self.buf[self.len] = c;
            self.len += 1;
        }
    }
    fn extend(&mut self, s: &[u8]) {
        for &c in s {
            self.push(c);
        }
    }
}

impl std::fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if self.len + s.len() > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
        self.len += s.len();
        Ok(())
    }
}

/// Lay out Rust's shortest scientific text (`-1.5e-5`, `1e16`, `0e0`) with
/// Python's `repr` rules.
fn python_layout(sci: &[u8], out: &mut StackBuf) {
    let (neg, rest) = match sci {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, sci),
    };
    let epos = rest.iter().position(|&c| c == b'e').unwrap_or(rest.len());
    let (mantissa, exp_text) = rest.split_at(epos);
    let exp_text = exp_text.get(1..).unwrap_or(b"0");
    let (exp_neg, exp_digits) = match exp_text {
        [b'-', d @ ..] => (true, d),
        d => (false, d),
    };
    let mut exp: i32 = 0;
    for &d in exp_digits {
        exp = exp * 10 + i32::from(d - b'0');
    }
    if exp_neg {
        exp = -exp;
    }
    // Significant digits without the point.
    let mut digits = [0u8; 32];
    let mut n = 0;
    for &c in mantissa {
        if c.is_ascii_digit() && n < digits.len() {
            digits[n] = c;
            n += 1;
        }
    }
    let digits = &digits[..n];
    if neg {
        out.push(b'-');
    }
    if !(-4..16).contains(&exp) {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push(b'0');
        }
        let _ = write!(out, "{a}");
    } else if exp >= 0 {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.extend(digits);
            for _ in digits.len()..int_len {
                out.push(b'0');
            }
            out.extend(b".0");
        } else {
            out.extend(&digits[..int_len]);
            out.push(b'.');
            out.extend(&digits[int_len..]);
        }
    } else {
        out.extend(b"0.");
        for _ in 0..(-exp - 1) {
            out.push(b'0');
        }
        out.extend(digits);
    }
}

/// A binary float type as Python would print it.
trait PyFloat: Copy + PartialEq + std::fmt::LowerExp + std::str::FromStr {
    fn is_nan(self) -> bool;
    fn is_infinite(self) -> bool;
    fn is_negative(self) -> bool;
}

macro_rules! py_float {
    ($($t:ty),*) => {$(
        impl PyFloat for $t {
            fn is_nan(self) -> bool { <$t>::is_nan(self) }
            fn is_infinite(self) -> bool { <$t>::is_infinite(self) }
            fn is_negative(self) -> bool { self < 0.0 }
        }
    )*};
}
py_float!(f32, f64);

/// Write `x` as Python's `repr` would (for `f32`, applied to the `f32`'s own
/// shortest digits).
fn write_float<F: PyFloat>(x: F, out: &mut StackBuf) {
    if x.is_nan() {
        out.extend(b"nan");
    } else if x.is_infinite() {
        out.extend(if x.is_negative() {
            &b"-inf"[..]
        } else {
            b"inf"
        });
    } else {
        let mut sci = StackBuf::new();
        let _ = write!(sci, "{x:e}");
        let sci = ties_to_even(sci, |prec, buf| {
            let _ = write!(buf, "{x:.prec$e}");
            std::str::from_utf8(buf.as_bytes())
                .ok()
                .and_then(|t| t.parse::<F>().ok())
                == Some(x)
        });
        python_layout(sci.as_bytes(), out);
    }
}

/// Rust's shortest `{:e}` and Python's `repr` agree on the number of
/// digits, but when two shortest candidates are equally near the exact
/// binary value Rust rounds the tie up, while Python (David Gay's dtoa)
/// rounds it to even: 2**50 + 0.25 is `1125899906842624.2` in Python.
/// Re-render with that many digits using exact (ties-to-even) rounding and
/// keep it if it still round-trips.
fn ties_to_even(shortest: StackBuf, render: impl Fn(usize, &mut StackBuf) -> bool) -> StackBuf {
    let b = shortest.as_bytes();
    let mantissa_end = b.iter().position(|&c| c == b'e').unwrap_or(b.len());
    let digits = b[..mantissa_end]
        .iter()
        .filter(|c| c.is_ascii_digit())
        .count();
    if digits < 2 {
        return shortest;
    }
    let mut exact = StackBuf::new();
    if render(digits - 1, &mut exact) {
        exact
    } else {
        shortest
    }
}

/// Python's `repr(x)` (= `str(x)`) of a float: the text Twisted's `Float`
/// argument puts on the wire.
///
/// ```
/// use amp_wire::types::format_python_float;
/// assert_eq!(format_python_float(5.0), "5.0");
/// assert_eq!(format_python_float(0.1), "0.1");
/// assert_eq!(format_python_float(1e16), "1e+16");
/// assert_eq!(format_python_float(1.5e-5), "1.5e-05");
/// assert_eq!(format_python_float(-0.0), "-0.0");
/// assert_eq!(format_python_float(f64::NEG_INFINITY), "-inf");
/// assert_eq!(format_python_float(f64::NAN), "nan");
/// assert_eq!(format_python_float(5e-324), "5e-324");
/// // Ties between two shortest texts go to the even digit, as in Python:
/// assert_eq!(format_python_float(2f64.powi(50) + 0.25), "1125899906842624.2");
/// ```
pub fn format_python_float(x: f64) -> String {
    let mut b = StackBuf::new();
    write_float(x, &mut b);
    // StackBuf only ever holds ASCII.
    String::from_utf8_lossy(b.as_bytes()).into_owned()
}

/// Check `t` (already trimmed) against Python's float grammar and return it
/// without `_` separators, ready for Rust's (correctly rounding) parser.
/// Infinity and NaN literals are not handled here.
fn clean_float_literal(t: &[u8]) -> Option<std::borrow::Cow<'_, str>> {
    // Python's `_Py_string_to_number_with_underscores`: every `_` must sit
    // between two digits.
    let has_us = t.contains(&b'_');
    if has_us {
        for (i, &c) in t.iter().enumerate() {
            if c == b'_' {
                let before = i > 0 && t[i - 1].is_ascii_digit();
                let after = t.get(i + 1).is_some_and(u8::is_ascii_digit);
                if !before || !after {
                    return None;
                }
            }
        }
    }
    // Grammar (ignoring `_`): [sign] (digits [. digits*] | . digits)
    // [(e|E) [sign] digits].
    let mut it = t.iter().copied().filter(|&c| c != b'_').peekable();
    if matches!(it.peek(), Some(b'+' | b'-')) {
        it.next();
    }
    let mut mant_digits = 0usize;
    while it.peek().is_some_and(u8::is_ascii_digit) {
        it.next();
        mant_digits += 1;
    }
    if it.peek() == Some(&b'.') {
        it.next();
        while it.peek().is_some_and(u8::is_ascii_digit) {
            it.next();
            mant_digits += 1;
        }
    }
    if mant_digits == 0 {
        return None;
    }
    if matches!(it.peek(), Some(b'e' | b'E')) {
        it.next();
        if matches!(it.peek(), Some(b'+' | b'-')) {
            it.next();
        }
        let mut exp_digits = 0usize;
        while it.peek().is_some_and(u8::is_ascii_digit) {
            it.next();
            exp_digits += 1;
        }
        if exp_digits == 0 {
            return None;
        }
    }
    if it.next().is_some() {
        return None;
    }
    // Only ASCII remains, so these conversions cannot fail.
    if has_us {
        let v: Vec<u8> = t.iter().copied().filter(|&c| c != b'_').collect();
        String::from_utf8(v).ok().map(std::borrow::Cow::Owned)
    } else {
        std::str::from_utf8(t).ok().map(std::borrow::Cow::Borrowed)
    }
}

/// Recognise `inf`, `infinity`, `nan` (any case, optional sign) as Python
/// does. Returns (negative, is_nan).
fn special_literal(t: &[u8]) -> Option<(bool, bool)> {
    let (neg, body) = match t {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, t),
    };
    if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        Some((neg, false))
    } else if body.eq_ignore_ascii_case(b"nan") {
        Some((neg, true))
    } else {
        None
    }
}

fn float_error(raw: &[u8]) -> DecodeError {
    DecodeError::invalid(format!(
        "could not convert string to float: {}",
        crate::display_bytes(raw)
    ))
}

/// Parse a float exactly as Python's `float(bytes)` does (Twisted's
/// `Float.fromString`).
///
/// Accepts surrounding ASCII whitespace, a sign, `inf`/`infinity`/`nan` in
/// any case, `_` between two digits, `.5`, `5.`, `1E+05`. Values beyond the
/// range of `f64` become infinities or zeros, as in Python. `-nan` gives a
/// NaN with the sign bit set, as in CPython.
///
/// ```
/// use amp_wire::types::parse_python_float;
/// assert_eq!(parse_python_float(b" 1_000.5\n").unwrap(), 1000.5);
/// assert_eq!(parse_python_float(b"-Infinity").unwrap(), f64::NEG_INFINITY);
/// assert_eq!(parse_python_float(b".5e1").unwrap(), 5.0);
/// assert!(parse_python_float(b"nAn").unwrap().is_nan());
/// assert!(parse_python_float(b"1__0").is_err());
/// assert!(parse_python_float(b"0x10").is_err());
/// assert!(parse_python_float(b"1e").is_err());
/// assert!(parse_python_float(b"").is_err());
/// ```
pub fn parse_python_float(raw: &[u8]) -> Result<f64, DecodeError> {
    let t = trim_py_space(raw);
    if let Some((neg, nan)) = special_literal(t) {
        let v = if nan { f64::NAN } else { f64::INFINITY };
        return Ok(if neg { -v } else { v });
    }
    let s = clean_float_literal(t).ok_or_else(|| float_error(raw))?;
    s.parse::<f64>().map_err(|_| float_error(raw))
}

/// Python's `float()` rules, rounding the decimal text straight to `f32`
/// (no double rounding through `f64`). A finite text whose value is beyond
/// the `f32` range is an error rather than an infinity.
fn parse_python_f32(raw: &[u8]) -> Result<f32, DecodeError> {
    let t = trim_py_space(raw);
    if let Some((neg, nan)) = special_literal(t) {
        let v = if nan { f32::NAN } else { f32::INFINITY };
        return Ok(if neg { -v } else { v });
    }
    let s = clean_float_literal(t).ok_or_else(|| float_error(raw))?;
    let v = s.parse::<f32>().map_err(|_| float_error(raw))?;
    if v.is_infinite() {
        // Python would read a finite double here; it does not fit an f32.
        let as_f64 = s.parse::<f64>().map_err(|_| float_error(raw))?;
        if as_f64.is_finite() {
            return Err(DecodeError::invalid(format!(
                "float {} out of range for f32",
                crate::display_bytes(t)
            )));
        }
    }
    Ok(v)
}

/// Twisted `Float`: Python's `str(float)`, parsed with Python's `float()`.
///
/// ```
/// let v = amp_wire::to_value(&1e22f64).unwrap();
/// assert_eq!(&v[..], b"1e+22");
/// assert_eq!(amp_wire::from_value::<f64>(&b" 1_0.5 "[..]).unwrap(), 10.5);
/// ```
impl Argument for f64 {
    fn amp_type() -> crate::describe::AmpType {
        crate::describe::AmpType::Float
    }

    fn encode(&self, out: &mut BytesMut, _: &mut Context<'_>) -> Result<(), EncodeError> {
        let mut b = StackBuf::new();
        write_float(*self, &mut b);
        out.extend_from_slice(b.as_bytes());
        Ok(())
    }
    fn decode(raw: Bytes, _: &mut Context<'_>) -> Result<Self, DecodeError> {
        parse_python_float(&raw)
    }
}

/// Twisted `Float` for `f32`.
///
/// Encoding applies Python's `repr` layout to the shortest digits that
/// round-trip *as an `f32`*: `0.1f32` is sent as `0.1` (not as
/// `0.10000000149011612`, the exact value widened to `f64`). Python reads
/// that as the double nearest 0.1, which narrows back to the same `f32`.
///
/// Decoding rounds the decimal text directly to the nearest `f32`; a finite
/// value beyond the `f32` range (such as `1e300`) is a decoding error, while
/// values too small become zero, as narrowing would.
///
/// ```
/// assert_eq!(&amp_wire::to_value(&0.1f32).unwrap()[..], b"0.1");
/// assert_eq!(amp_wire::from_value::<f32>(&b"0.1"[..]).unwrap(), 0.1f32);
/// assert!(amp_wire::from_value::<f32>(&b"1e300"[..]).is_err());
/// ```
impl Argument for f32 {
    fn amp_type() -> crate::describe::AmpType {
        crate::describe::AmpType::Float
    }

    fn encode(&self, out: &mut BytesMut, _: &mut Context<'_>) -> Result<(), EncodeError> {
        let mut b = StackBuf::new();
        write_float(*self, &mut b);
        out.extend_from_slice(b.as_bytes());
        Ok(())
    }
    fn decode(raw: Bytes, _: &mut Context<'_>) -> Result<Self, DecodeError> {
        parse_python_f32(&raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32_text(x: f32) -> String {
        let mut b = StackBuf::new();
        write_float(x, &mut b);
        String::from_utf8(b.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn layout() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (5.0, "5.0"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-5, "1.5e-05"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1234567890123456.8, "1234567890123456.8"),
            (123456789012345.6, "123456789012345.6"),
            (1e22, "1e+22"),
            (1.5e300, "1.5e+300"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (5e-324, "5e-324"),
            (-123.456, "-123.456"),
            (100.0, "100.0"),
            (1e-4, "0.0001"),
            (0.000123, "0.000123"),
        ];
        for (x, s) in cases {
            assert_eq!(format_python_float(*x), *s, "{x:e}");
        }
    }

    #[test]
    fn f32_layout() {
        assert_eq!(f32_text(0.1), "0.1");
        assert_eq!(f32_text(-0.0), "-0.0");
        assert_eq!(f32_text(f32::MAX), "3.4028235e+38");
        assert_eq!(f32_text(1e-5), "1e-05");
        assert_eq!(f32_text(16777216.0), "16777216.0");
        assert_eq!(f32_text(f32::NAN), "nan");
    }

    #[test]
    fn grammar() {
        for ok in [
            "1",
            "+1",
            "-1",
            ".5",
            "5.",
            "1e5",
            "1E+05",
            "1e-5",
            " 1 ",
            "\x0b1\x0c",
            "1_0",
            "1_0.0_1e1_0",
            "00",
            "0e0",
            "1e99999999999999999999",
            "inf",
            "-INFINITY",
            "+nan",
            "iNf",
        ] {
            assert!(parse_python_float(ok.as_bytes()).is_ok(), "{ok:?}");
        }
        for bad in [
            "", " ", ".", "e5", "1e", "1e+", "_1", "1_", "1__0", "1_.5", "1._5", "1_e5", "1e_5",
            "0x10", "in_f", "nan(1)", "+-1", "1 0", "infinit", "1.5.5", "--1", "\x001", "\u{a0}1",
            "١",
        ] {
            assert!(parse_python_float(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_python_float(b"1e99999999999999999999").unwrap(),
            f64::INFINITY
        );
        assert_eq!(
            parse_python_float(b"-1e-99999").unwrap().to_bits(),
            (-0.0f64).to_bits()
        );
        assert!(parse_python_float(b"-nan").unwrap().is_sign_negative());
    }
}
