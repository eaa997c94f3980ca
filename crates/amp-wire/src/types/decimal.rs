//! Twisted `Decimal`: the exact value of a Python `decimal.Decimal`.

use bytes::{Bytes, BytesMut};
use num_bigint::BigUint;
use std::fmt;
use std::str::FromStr;

use super::{Argument, Context};
use crate::error::{DecodeError, EncodeError};

/// Largest adjusted exponent Python's `decimal.Decimal(str)` accepts
/// (`decimal.MAX_EMAX` on 64-bit builds).
const MAX_EMAX: i64 = 999_999_999_999_999_999;
/// Smallest exponent Python's `decimal.Decimal(str)` accepts
/// (`decimal.MIN_ETINY` on 64-bit builds).
const MIN_ETINY: i64 = -1_999_999_999_999_999_997;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    Finite,
    Infinite,
    NaN,
    SNaN,
}

/// A Python `decimal.Decimal`, exactly: sign, coefficient digits of any
/// length, exponent, and the special values `Infinity`, `NaN` and `sNaN`
/// (NaNs keep their sign and diagnostic payload).
///
/// Its text form ([`Display`](fmt::Display), and its AMP encoding) is
/// exactly Python's `str(Decimal)`; [`FromStr`] (and decoding) accepts
/// exactly what Python's `decimal.Decimal(str)` accepts, so that parsing
/// then printing reproduces what Python prints for the same input.
///
/// Equality and hashing compare the *representation*, not the numeric
/// value: `1.50 != 1.5`, `0 != -0`, `1E+2 != 100`, and a NaN equals a NaN
/// with the same sign and payload. This is what an exact wire type needs;
/// convert to [`rust_decimal::Decimal`] for arithmetic.
///
/// ```
/// use amp_wire::Decimal;
/// let d: Decimal = " 1_0.50 ".parse().unwrap();
/// assert_eq!(d.to_string(), "10.50");
/// assert_eq!(d.exponent(), Some(-2));
/// assert_eq!(d.digits(), "1050");
/// assert_ne!(d, "10.5".parse::<Decimal>().unwrap());
/// assert_eq!("1e2".parse::<Decimal>().unwrap().to_string(), "1E+2");
/// assert_eq!("-snan0012".parse::<Decimal>().unwrap().to_string(), "-sNaN12");
///
/// let r: rust_decimal::Decimal = d.clone().try_into().unwrap();
/// assert_eq!(r.to_string(), "10.50");
/// assert_eq!(Decimal::from(r), d);
///
/// // The kind of value, and its sign:
/// assert!(d.is_finite() && !d.is_infinite() && !d.is_nan());
/// let snan: Decimal = "-sNaN".parse().unwrap();
/// assert!(snan.is_nan() && snan.is_snan() && snan.is_sign_negative());
/// assert!(Decimal::infinity(false).is_infinite());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Decimal {
    negative: bool,
    kind: Kind,
    /// Finite: coefficient digits without leading zeros (`"0"` for zero).
    /// NaN/sNaN: payload digits without leading zeros (empty when none).
    /// Infinite: empty.
    digits: String,
    /// Finite only (0 otherwise).
    exponent: i64,
}

fn is_finite_in_range(n_digits: usize, is_zero: bool, exponent: i128) -> bool {
    // libmpdec's checks with Python's "exact" max context: the adjusted
    // exponent may not exceed MAX_EMAX and no digit may fall below ETINY.
    let adjusted = if is_zero {
        exponent
    } else {
        exponent + n_digits as i128 - 1
    };
    exponent >= i128::from(MIN_ETINY) && adjusted <= i128::from(MAX_EMAX)
}

fn strip_leading_zeros(d: &str) -> &str {
    d.trim_start_matches('0')
}

impl Decimal {
    /// A finite value `(-1)^negative × coefficient × 10^exponent`, or
    /// `None` when Python could not represent it (the exponent is outside
    /// Python's limits: adjusted exponent above 999999999999999999, or
    /// exponent below -1999999999999999997).
    ///
    /// ```
    /// use amp_wire::Decimal;
    /// let d = Decimal::from_parts(false, 150u32.into(), -2).unwrap();
    /// assert_eq!(d.to_string(), "1.50");
    /// let z = Decimal::from_parts(true, 0u32.into(), -7).unwrap();
    /// assert_eq!(z.to_string(), "-0E-7");
    /// assert!(Decimal::from_parts(false, 1u32.into(), i64::MAX).is_none());
    /// ```
    pub fn from_parts(negative: bool, coefficient: BigUint, exponent: i64) -> Option<Decimal> {
        let digits = coefficient.to_str_radix(10);
        let is_zero = digits == "0";
        if !is_finite_in_range(digits.len(), is_zero, i128::from(exponent)) {
            return None;
        }
        Some(Decimal {
            negative,
            kind: Kind::Finite,
            digits,
            exponent,
        })
    }

    /// `Infinity` or `-Infinity`.
    ///
    /// ```
    /// assert_eq!(amp_wire::Decimal::infinity(true).to_string(), "-Infinity");
    /// ```
    pub fn infinity(negative: bool) -> Decimal {
        Decimal {
            negative,
            kind: Kind::Infinite,
            digits: String::new(),
            exponent: 0,
        }
    }

    /// A quiet (`NaN`) or signalling (`sNaN`) NaN without payload.
    ///
    /// ```
    /// use amp_wire::Decimal;
    /// assert_eq!(Decimal::nan(false, false).to_string(), "NaN");
    /// assert_eq!(Decimal::nan(true, true).to_string(), "-sNaN");
    /// ```
    pub fn nan(negative: bool, signaling: bool) -> Decimal {
        Decimal {
            negative,
            kind: if signaling { Kind::SNaN } else { Kind::NaN },
            digits: String::new(),
            exponent: 0,
        }
    }

    /// Whether this is a NaN, quiet or signalling.
    pub fn is_nan(&self) -> bool {
        matches!(self.kind, Kind::NaN | Kind::SNaN)
    }

    /// Whether this is a signalling NaN (`sNaN`).
    pub fn is_snan(&self) -> bool {
        self.kind == Kind::SNaN
    }

    /// Whether this is `Infinity` or `-Infinity`.
    pub fn is_infinite(&self) -> bool {
        self.kind == Kind::Infinite
    }

    /// Whether this is a finite number.
    pub fn is_finite(&self) -> bool {
        self.kind == Kind::Finite
    }

    /// Whether the sign is negative (also for `-0`, `-Infinity`, `-NaN`).
    pub fn is_sign_negative(&self) -> bool {
        self.negative
    }

    /// The coefficient of a finite value (`None` for specials).
    ///
    /// ```
    /// let d: amp_wire::Decimal = "-1.50".parse().unwrap();
    /// assert_eq!(d.coefficient(), Some(150u32.into()));
    /// ```
    pub fn coefficient(&self) -> Option<BigUint> {
        if self.kind != Kind::Finite {
            return None;
        }
        BigUint::parse_bytes(self.digits.as_bytes(), 10)
    }

    /// The exponent of a finite value (`None` for specials): the value is
    /// `coefficient × 10^exponent`.
    pub fn exponent(&self) -> Option<i64> {
        (self.kind == Kind::Finite).then_some(self.exponent)
    }

    /// The decimal digits of the coefficient without leading zeros (`"0"`
    /// for zero); for a NaN its payload (empty when it has none); empty for
    /// infinities.
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// Parse Python's `decimal.Decimal(str)` syntax from bytes (the value
    /// must be ASCII, as Twisted requires).
    ///
    /// Accepted: surrounding whitespace (`str.strip()`'s ASCII set, which
    /// includes `\x1c`..`\x1f`), then, with every `_` removed (Python
    /// ignores underscores anywhere after stripping): an optional sign and
    /// either digits with an optional point and exponent (`5.`, `.5`,
    /// `1e-3`, `1E+2`), `Inf`/`Infinity`, or `NaN`/`sNaN` with optional
    /// payload digits, all case-insensitive.
    ///
    /// ```
    /// use amp_wire::{Decimal, DecodeError};
    /// let d = Decimal::parse_bytes(b" -1.5e3\n").unwrap();
    /// assert_eq!(d.to_string(), "-1.5E+3");
    /// assert!(matches!(Decimal::parse_bytes(b"1,5"), Err(DecodeError::Invalid { .. })));
    /// ```
    pub fn parse_bytes(raw: &[u8]) -> Result<Decimal, DecodeError> {
        let bad = || {
            DecodeError::invalid(format!(
                "invalid literal for Decimal: {}",
                crate::display_bytes(raw)
            ))
        };
        if !raw.is_ascii() {
            return Err(bad());
        }
        // str.strip() on ASCII: Py_UNICODE_ISSPACE.
        let is_space = |c: &u8| matches!(c, b'\t'..=b'\r' | 0x1c..=0x1f | b' ');
        let start = raw.iter().position(|c| !is_space(c)).unwrap_or(raw.len());
        let end = raw
            .iter()
            .rposition(|c| !is_space(c))
            .map_or(start, |i| i + 1);
        let t = &raw[start..end];
        let cleaned: std::borrow::Cow<'_, [u8]> = if t.contains(&b'_') {
            t.iter()
                .copied()
                .filter(|&c| c != b'_')
                .collect::<Vec<u8>>()
                .into()
        } else {
            t.into()
        };
        let (negative, body) = match &cleaned[..] {
            [b'-', rest @ ..] => (true, rest),
            [b'+', rest @ ..] => (false, rest),
            s => (false, s),
        };
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            return Ok(Decimal::infinity(negative));
        }
        let nan = |kind: Kind, payload: &[u8]| -> Result<Decimal, DecodeError> {
            if !payload.iter().all(u8::is_ascii_digit) {
                return Err(bad());
            }
            let p = std::str::from_utf8(payload).map_err(|_| bad())?;
            Ok(Decimal {
                negative,
                kind,
                digits: strip_leading_zeros(p).to_owned(),
                exponent: 0,
            })
        };
        if body.len() >= 4 && body[..4].eq_ignore_ascii_case(b"snan") {
            return nan(Kind::SNaN, &body[4..]);
        }
        if body.len() >= 3 && body[..3].eq_ignore_ascii_case(b"nan") {
            return nan(Kind::NaN, &body[3..]);
        }
        // Finite: (digits [. digits*] | . digits) [(e|E) [sign] digits]
        let epos = body
            .iter()
            .position(|&c| c == b'e' || c == b'E')
            .unwrap_or(body.len());
        let (mantissa, exp_part) = body.split_at(epos);
        let (int_part, frac_part) = match mantissa.iter().position(|&c| c == b'.') {
            Some(p) => (&mantissa[..p], &mantissa[p + 1..]),
            None => (mantissa, &b""[..]),
        };
        if int_part.len() + frac_part.len() == 0
            || !int_part.iter().all(u8::is_ascii_digit)
            || !frac_part.iter().all(u8::is_ascii_digit)
        {
            return Err(bad());
        }
        // Exponent, saturating far outside the valid range.
        let mut exp: i128 = 0;
        if !exp_part.is_empty() {
            let e = &exp_part[1..];
            let (eneg, edigits) = match e {
                [b'-', rest @ ..] => (true, rest),
                [b'+', rest @ ..] => (false, rest),
                s => (false, s),
            };
            if edigits.is_empty() || !edigits.iter().all(u8::is_ascii_digit) {
                return Err(bad());
            }
            for &d in edigits {
                exp = (exp * 10 + i128::from(d - b'0')).min(10i128.pow(30));
            }
            if eneg {
                exp = -exp;
            }
        }
        exp -= frac_part.len() as i128;
        let mut digits = String::with_capacity(int_part.len() + frac_part.len());
        for &c in int_part.iter().chain(frac_part) {
            if !(digits.is_empty() && c == b'0') {
                digits.push(char::from(c));
            }
        }
        let is_zero = digits.is_empty();
        if is_zero {
            digits.push('0');
        }
        if !is_finite_in_range(digits.len(), is_zero, exp) {
            return Err(DecodeError::invalid(format!(
                "Decimal exponent out of range: {}",
                crate::display_bytes(raw)
            )));
        }
        Ok(Decimal {
            negative,
            kind: Kind::Finite,
            digits,
            // In range, hence fits an i64.
            exponent: i64::try_from(exp).map_err(|_| bad())?,
        })
    }

    /// Write Python's `str()` of this value.
    fn write_to(&self, out: &mut impl fmt::Write) -> fmt::Result {
        if self.negative {
            out.write_char('-')?;
        }
        match self.kind {
            Kind::Infinite => return out.write_str("Infinity"),
            Kind::NaN => {
                out.write_str("NaN")?;
                return out.write_str(&self.digits);
            }
            Kind::SNaN => {
                out.write_str("sNaN")?;
                return out.write_str(&self.digits);
            }
            Kind::Finite => {}
        }
        // Python's Decimal.__str__ (to-scientific-string).
        let d = self.digits.as_str();
        let n = d.len() as i128;
        let exp = i128::from(self.exponent);
        let leftdigits = exp + n;
        let dotplace = if exp <= 0 && leftdigits > -6 {
            leftdigits
        } else {
            1
        };
        if dotplace <= 0 {
            out.write_str("0.")?;
            for _ in 0..-dotplace {
                out.write_char('0')?;
            }
            out.write_str(d)?;
        } else if dotplace >= n {
            out.write_str(d)?;
            for _ in 0..dotplace - n {
                out.write_char('0')?;
            }
        } else {
            let (a, b) = d.split_at(dotplace as usize);
            out.write_str(a)?;
            out.write_char('.')?;
            out.write_str(b)?;
        }
        if leftdigits != dotplace {
            write!(out, "E{:+}", leftdigits - dotplace)?;
        }
        Ok(())
    }
}

impl fmt::Display for Decimal {
    /// Python's `str(Decimal)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Decimal(\"")?;
        self.write_to(f)?;
        f.write_str("\")")
    }
}

impl FromStr for Decimal {
    type Err = DecodeError;
    /// Python's `decimal.Decimal(str)`; see [`Decimal::parse_bytes`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Decimal::parse_bytes(s.as_bytes())
    }
}

/// Adapter so [`Decimal::write_to`] can append to a `BytesMut`.
struct BytesWriter<'a>(&'a mut BytesMut);
impl fmt::Write for BytesWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Twisted `Decimal`: Python's `str(Decimal)`, parsed with
/// `decimal.Decimal(str)`.
///
/// ```
/// use amp_wire::Decimal;
/// let d: Decimal = amp_wire::from_value(&b"1.5e3"[..]).unwrap();
/// assert_eq!(&amp_wire::to_value(&d).unwrap()[..], b"1.5E+3");
/// ```
impl Argument for Decimal {
    fn amp_type() -> crate::describe::AmpType {
        crate::describe::AmpType::Decimal
    }

    fn encode(&self, out: &mut BytesMut, _: &mut Context<'_>) -> Result<(), EncodeError> {
        self.write_to(&mut BytesWriter(out))
            .map_err(|_| EncodeError::invalid("formatting a Decimal failed"))
    }
    fn decode(raw: Bytes, _: &mut Context<'_>) -> Result<Self, DecodeError> {
        Decimal::parse_bytes(&raw)
    }
}

/// A `rust_decimal::Decimal` can travel as a Twisted `Decimal`: it is sent
/// with its scale (`1.50` as `1.50`), and a received value is converted with
/// [`TryFrom<Decimal>`](#impl-TryFrom<Decimal>-for-Decimal) (specials and
/// values out of `rust_decimal`'s range are decoding errors).
///
/// ```
/// let r = rust_decimal::Decimal::new(150, 2);
/// assert_eq!(&amp_wire::to_value(&r).unwrap()[..], b"1.50");
/// let back: rust_decimal::Decimal = amp_wire::from_value(&b"1.5E+2"[..]).unwrap();
/// assert_eq!(back.to_string(), "150");
/// ```
impl Argument for rust_decimal::Decimal {
    fn amp_type() -> crate::describe::AmpType {
        crate::describe::AmpType::Decimal
    }

    fn encode(&self, out: &mut BytesMut, cx: &mut Context<'_>) -> Result<(), EncodeError> {
        Decimal::from(*self).encode(out, cx)
    }
    fn decode(raw: Bytes, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
        rust_decimal::Decimal::try_from(Decimal::decode(raw, cx)?)
    }
}

/// Exact, scale kept: `rust_decimal` `1.50` becomes `1.50`, `-0.0` stays
/// `-0.0`.
impl From<rust_decimal::Decimal> for Decimal {
    fn from(r: rust_decimal::Decimal) -> Self {
        let digits = r.mantissa().unsigned_abs().to_string();
        Decimal {
            negative: r.is_sign_negative(),
            kind: Kind::Finite,
            digits,
            exponent: -i64::from(r.scale()),
        }
    }
}

/// Largest `rust_decimal` mantissa (96 bits).
const RUST_DECIMAL_MAX_MANTISSA: u128 = (1u128 << 96) - 1;
/// Largest `rust_decimal` scale.
const RUST_DECIMAL_MAX_SCALE: i64 = 28;

/// Exact conversion. The scale is kept when `rust_decimal` can hold it;
/// otherwise trailing zeros are dropped (`1.000…0` with 30 decimals becomes
/// scale 28) or, for a positive exponent, the coefficient is multiplied out
/// (`1.5E+3` becomes `1500`). Fails, with a [`DecodeError`], for `NaN`,
/// `sNaN`, infinities and values `rust_decimal` cannot hold exactly (more
/// than 28 decimals or 96 bits). A zero with too many decimals becomes zero
/// with scale 28.
impl TryFrom<Decimal> for rust_decimal::Decimal {
    type Error = DecodeError;
    fn try_from(d: Decimal) -> Result<Self, DecodeError> {
        if d.kind != Kind::Finite {
            return Err(DecodeError::invalid(format!(
                "{d} cannot be represented as a rust_decimal::Decimal"
            )));
        }
        let range = || {
            DecodeError::invalid(format!(
                "Decimal {d} is out of the range of rust_decimal::Decimal"
            ))
        };
        let is_zero = d.digits == "0";
        let mut digits: &str = &d.digits;
        let mut exp = d.exponent;
        let (mantissa, scale) = if is_zero {
            (0u128, (-exp).clamp(0, RUST_DECIMAL_MAX_SCALE))
        } else if exp > 0 {
            // Multiply out: value is an integer.
            if digits.len() as i64 + exp > 29 {
                return Err(range());
            }
            let mut m: u128 = digits.parse().map_err(|_| range())?;
            for _ in 0..exp {
                m = m.checked_mul(10).ok_or_else(range)?;
            }
            (m, 0)
        } else {
            // Drop trailing zeros only as far as needed.
            loop {
                let fits_scale = -exp <= RUST_DECIMAL_MAX_SCALE;
                let m = if digits.len() <= 29 {
                    digits.parse::<u128>().ok()
                } else {
                    None
                };
                match m {
                    Some(m) if fits_scale && m <= RUST_DECIMAL_MAX_MANTISSA => break (m, -exp),
                    _ => {}
                }
                match digits.strip_suffix('0') {
                    Some(shorter) if exp < 0 => {
                        digits = shorter;
                        exp += 1;
                    }
                    _ => return Err(range()),
                }
            }
        };
        let mut r = rust_decimal::Decimal::try_from_i128_with_scale(
            i128::try_from(mantissa).map_err(|_| range())?,
            u32::try_from(scale).map_err(|_| range())?,
        )
        .map_err(|_| range())?;
        r.set_sign_negative(d.negative);
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> String {
        x.parse::<Decimal>().unwrap().to_string()
    }

    #[test]
    fn python_str() {
        for (i, o) in [
            ("1.50", "1.50"),
            ("1E+2", "1E+2"),
            ("100", "100"),
            ("-0", "-0"),
            ("0E-7", "0E-7"),
            ("0.0000000", "0E-7"),
            ("1E-7", "1E-7"),
            ("0.000001", "0.000001"),
            ("0.0000001", "1E-7"),
            ("123.456e-2", "1.23456"),
            ("123.456e5", "1.23456E+7"),
            ("inf", "Infinity"),
            ("-Infinity", "-Infinity"),
            ("nan", "NaN"),
            ("-NaN", "-NaN"),
            ("sNaN", "sNaN"),
            ("-snan", "-sNaN"),
            ("NaN123", "NaN123"),
            ("nan000", "NaN"),
            ("00.10", "0.10"),
            (".5", "0.5"),
            ("5.", "5"),
            ("1.e1", "1E+1"),
            (" 1_0 ", "10"),
            ("\x1c5\x1f", "5"),
            ("_1", "1"),
            ("1__0", "10"),
            ("1e_5", "1E+5"),
            ("0e5", "0E+5"),
            ("-0.00", "-0.00"),
        ] {
            assert_eq!(s(i), o, "{i:?}");
        }
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            " ",
            "_",
            ".",
            "e1",
            ".e1",
            "1e",
            "1e+",
            "0x10",
            "1 0",
            "+-1",
            "nan1.5",
            "infx",
            "snan-1",
            "_ 1",
            "\u{e9}",
            "1e1000000000000000000",
            "10e999999999999999999",
            "0e1000000000000000000",
            "1e-1999999999999999998",
            "0e-1999999999999999998",
        ] {
            assert!(bad.parse::<Decimal>().is_err(), "{bad:?}");
        }
        for ok in [
            "1e999999999999999999",
            "1e-1999999999999999997",
            "0e999999999999999999",
        ] {
            assert!(ok.parse::<Decimal>().is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn rust_decimal_round_trip() {
        let r = rust_decimal::Decimal::new(-150, 2);
        let d = Decimal::from(r);
        assert_eq!(d.to_string(), "-1.50");
        assert_eq!(
            rust_decimal::Decimal::try_from(d).unwrap().to_string(),
            "-1.50"
        );
        let big: Decimal = "1.0000000000000000000000000000000".parse().unwrap();
        let r = rust_decimal::Decimal::try_from(big).unwrap();
        assert_eq!(r.scale(), 28);
        assert!(rust_decimal::Decimal::try_from("1e29".parse::<Decimal>().unwrap()).is_err());
        assert!(rust_decimal::Decimal::try_from("1e-29".parse::<Decimal>().unwrap()).is_err());
        assert!(rust_decimal::Decimal::try_from(Decimal::nan(false, false)).is_err());
        let z = rust_decimal::Decimal::try_from("-0E-40".parse::<Decimal>().unwrap()).unwrap();
        assert_eq!((z.scale(), z.is_sign_negative()), (28, true));
        let m = rust_decimal::Decimal::try_from("1.5E+3".parse::<Decimal>().unwrap()).unwrap();
        assert_eq!(m.to_string(), "1500");
        let max = rust_decimal::Decimal::MAX;
        assert_eq!(
            rust_decimal::Decimal::try_from(Decimal::from(max)).unwrap(),
            max
        );
    }
}
