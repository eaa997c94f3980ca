//! Integer, String, Unicode, Boolean and Path.

use bytes::{Bytes, BytesMut};
use num_bigint::{BigInt, BigUint};
use std::path::PathBuf;

use super::{Argument, Context};
use crate::error::{DecodeError, EncodeError};

/// Strip the bytes Python's `int(bytes)` treats as white space
/// (`Py_ISSPACE`: space, `\t`, `\n`, `\x0b`, `\x0c`, `\r`).
fn trim_python_space(raw: &[u8]) -> &[u8] {
    let is_space = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r');
    let start = raw.iter().position(|c| !is_space(c)).unwrap_or(raw.len());
    let end = raw
        .iter()
        .rposition(|c| !is_space(c))
        .map_or(start, |i| i + 1);
    &raw[start..end]
}

/// Python's `int(bytes)` rules for base 10: surrounding ASCII whitespace, an
/// optional sign, digits with single `_` separators between them. Returns
/// (negative, digits without separators).
pub(crate) fn python_int_digits(
    raw: &[u8],
) -> Result<(bool, std::borrow::Cow<'_, [u8]>), DecodeError> {
    let bad = || {
        DecodeError::invalid(format!(
            "invalid literal for int() with base 10: {}",
            crate::display_bytes(raw)
        ))
    };
    let s = trim_python_space(raw);
    let (neg, body) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() || !body[0].is_ascii_digit() || !body[body.len() - 1].is_ascii_digit() {
        return Err(bad());
    }
    if body.iter().all(u8::is_ascii_digit) {
        return Ok((neg, std::borrow::Cow::Borrowed(body)));
    }
    let mut digits = Vec::with_capacity(body.len());
    let mut prev_us = false;
    for &c in body {
        match c {
            b'0'..=b'9' => {
                digits.push(c);
                prev_us = false;
            }
            b'_' if !prev_us => prev_us = true,
            _ => return Err(bad()),
        }
    }
    Ok((neg, std::borrow::Cow::Owned(digits)))
}

/// The common case, fast: an optional `-` and at most 18 ASCII digits
/// (always fits an `i64`). Anything else takes the full Python path.
fn plain_i64(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + i64::from(d);
    }
    Some(if neg { -v } else { v })
}

/// Parse a Python-style integer into sign and 128-bit magnitude.
fn parse_wide(raw: &[u8], ty: &str) -> Result<i128OrU128, DecodeError> {
    let (neg, digits) = python_int_digits(raw)?;
    let s = std::str::from_utf8(&digits).expect("ascii digits");
    let range = || {
        DecodeError::invalid(format!(
            "integer {}{} out of range for {}",
            if neg { "-" } else { "" },
            s,
            ty
        ))
    };
    let mag: u128 = s.parse().map_err(|_| range())?;
    if !neg {
        return Ok(i128OrU128::U(mag));
    }
    if mag > i128::MAX as u128 + 1 {
        return Err(range());
    }
    Ok(i128OrU128::I((mag as i128).wrapping_neg()))
}

macro_rules! integer {
    ($($t:ty),*) => {$(
        /// Twisted `Integer`: decimal ASCII, range-checked on decode.
        impl Argument for $t {
            fn amp_type() -> crate::describe::AmpType {
                crate::describe::AmpType::Integer
            }

            fn encode(&self, out: &mut BytesMut, _: &mut Context<'_>) -> Result<(), EncodeError> {
                out.extend_from_slice(itoa::Buffer::new().format(*self).as_bytes());
                Ok(())
            }
            fn decode(raw: Bytes, _: &mut Context<'_>) -> Result<Self, DecodeError> {
                if let Some(v) = plain_i64(&raw).and_then(|v| <$t>::try_from(v).ok()) {
                    return Ok(v);
                }
                let r = match parse_wide(&raw, stringify!($t))? {
                    i128OrU128::I(v) => <$t>::try_from(v).ok(),
                    i128OrU128::U(v) => <$t>::try_from(v).ok(),
                };
                r.ok_or_else(|| DecodeError::invalid(format!(
                    "integer {} out of range for {}",
                    crate::display_bytes(trim_python_space(&raw)),
                    stringify!($t)
                )))
            }
        }
    )*};
}

/// A Python integer parsed wide: signed, or past `i128::MAX`.
#[allow(non_camel_case_types)]
enum i128OrU128 {
    I(i128),
    U(u128),
}

integer!(i8, i16, i32, i64, i128, isize, u16, u32, u64, u128, usize);

/// `u8` is an `Integer` on its own, but `Vec<u8>` is Twisted's `String`
/// (raw bytes), not a `ListOf(Integer)`: use `Vec<u16>` for a list of small
/// numbers.
impl Argument for u8 {
    fn amp_type() -> crate::describe::AmpType {
        crate::describe::AmpType::Integer
    }

    /// `Vec<u8>` is `String`.
    fn list_type() -> crate::describe::AmpType {
        crate::describe::AmpType::String
    }

    fn encode(&self, out: &mut BytesMut, _: &mut Context<'_>) -> Result<(), EncodeError> {
        out.extend_from_slice(itoa::Buffer::new().format(*self).as_bytes());
        Ok(())
    }
    fn decode(raw: Bytes, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
        let wide = u16::decode(raw, cx)?;
        u8::try_from(wide)
            .map_err(|_| DecodeError::invalid(format!("integer {wide} out of range for u8")))
    }
    fn encode_item(&self, out: &mut BytesMut, _: &mut Context<'_>) -> Result<(), EncodeError> {
        out.extend_from_slice(&[*self]);
        Ok(())
    }
    fn decode_items(raw: Bytes, _: &mut Context<'_>) -> Result<Vec<Self>, DecodeError> {
        Ok(raw.to_vec())
    }
}

/// Twisted `Integer` of any size.
impl Argument for BigInt {
    fn amp_type() -> crate::describe::AmpType {
        crate::describe::AmpType::Integer
    }

    fn encode(&self, out: &mut BytesMut, _: &mut Context<'_>) -> Result<(), EncodeError> {
        out.extend_from_slice(self.to_str_radix(10).as_bytes());
        Ok(())
    }
    fn decode(raw: Bytes, _: &mut Context<'_>) -> Result<Self, DecodeError> {
        let (neg, digits) = python_int_digits(&raw)?;
        let mag = BigUint::parse_bytes(&digits, 10)
            .ok_or_else(|| DecodeError::invalid("invalid integer"))?;
        Ok(if neg {
            -BigInt::from(mag)
        } else {
            BigInt::from(mag)
        })
    }
}

/// Twisted `Integer`, non-negative values of any size.
impl Argument for BigUint {
    fn amp_type() -> crate::describe::AmpType {
        crate::describe::AmpType::Integer
    }

    fn encode(&self, out: &mut BytesMut, _: &mut Context<'_>) -> Result<(), EncodeError> {
        out.extend_from_slice(self.to_str_radix(10).as_bytes());
        Ok(())
    }
    fn decode(raw: Bytes, _: &mut Context<'_>) -> Result<Self, DecodeError> {
        let (neg, digits) = python_int_digits(&raw)?;
        let mag = BigUint::parse_bytes(&digits, 10)
            .ok_or_else(|| DecodeError::invalid("invalid integer"))?;
        if neg && mag != BigUint::default() {
            return Err(DecodeError::invalid(
                "negative integer for an unsigned value",
            ));
        }
        Ok(mag)
    }
}

/// Twisted `Boolean`: exactly `True` or `False`.
impl Argument for bool {
    fn amp_type() -> crate::describe::AmpType {
        crate::describe::AmpType::Boolean
    }

    fn encode(&self, out: &mut BytesMut, _: &mut Context<'_>) -> Result<(), EncodeError> {
        out.extend_from_slice(if *self { b"True" } else { b"False" });
        Ok(())
    }
    fn decode(raw: Bytes, _: &mut Context<'_>) -> Result<Self, DecodeError> {
        match &raw[..] {
            b"True" => Ok(true),
            b"False" => Ok(false),
            other => Err(DecodeError::invalid(format!(
                "Bad boolean value: {}",
                crate::display_bytes(other)
            ))),
        }
    }
}

/// Twisted `String`: the bytes as they are (zero-copy).
impl Argument for Bytes {
    fn amp_type() -> crate::describe::AmpType {
        crate::describe::AmpType::String
    }

    fn encode(&self, out: &mut BytesMut, _: &mut Context<'_>) -> Result<(), EncodeError> {
        out.extend_from_slice(self);
        Ok(())
    }
    fn decode(raw: Bytes, _: &mut Context<'_>) -> Result<Self, DecodeError> {
        Ok(raw)
    }
}

/// Twisted `Unicode`: UTF-8; invalid UTF-8 is a decoding error.
impl Argument for String {
    fn amp_type() -> crate::describe::AmpType {
        crate::describe::AmpType::Unicode
    }

    fn encode(&self, out: &mut BytesMut, _: &mut Context<'_>) -> Result<(), EncodeError> {
        out.extend_from_slice(self.as_bytes());
        Ok(())
    }
    fn decode(raw: Bytes, _: &mut Context<'_>) -> Result<Self, DecodeError> {
        String::from_utf8(raw.to_vec())
            .map_err(|e| DecodeError::invalid(format!("invalid UTF-8: {e}")))
    }
}

/// Twisted `Path`: the path as UTF-8 (a path that is not valid Unicode
/// cannot be sent, as in Twisted).
impl Argument for PathBuf {
    fn amp_type() -> crate::describe::AmpType {
        crate::describe::AmpType::Path
    }

    fn encode(&self, out: &mut BytesMut, _: &mut Context<'_>) -> Result<(), EncodeError> {
        let s = self
            .to_str()
            .ok_or_else(|| EncodeError::invalid(format!("path {self:?} is not valid UTF-8")))?;
        out.extend_from_slice(s.as_bytes());
        Ok(())
    }
    fn decode(raw: Bytes, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
        String::decode(raw, cx).map(PathBuf::from)
    }
}
