//! Twisted `DateTime`: `YYYY-MM-DDTHH:MM:SS.ffffff±HH:MM`, exactly 32
//! ASCII characters.
//!
//! Encoding (Twisted's `'%04i-%02i-%02iT%02i:%02i:%02i.%06i%s%02i:%02i'`):
//!
//! * the fields are the local (wall-clock) time at the value's offset;
//! * the offset sign is `+` only for a positive offset, so UTC is `-00:00`;
//! * the offset is written in whole minutes, rounded down as Python's `//`
//!   does (an offset of -30 seconds is written `-00:01`, +30 seconds
//!   `-00:00`); offsets are normally whole minutes anyway;
//! * Python's `datetime` has microseconds only: nanoseconds below the
//!   microsecond are truncated (dropped), as converting to Python would;
//! * years outside Python's `1..=9999` and chrono leap seconds
//!   (nanosecond field ≥ 1 000 000 000) cannot be sent: encode error.
//!
//! Decoding accepts exactly what Twisted's `DateTime.fromString` accepts:
//! 32 ASCII characters; the nine numeric fields at fixed positions are each
//! read with Python's `int()` (so `' 5'`, `'+5'`, `'0_5'` are fine); the
//! separators are not checked, except the offset sign at index 26, which
//! must be `+` or `-`; the date and time must be valid for Python's
//! `datetime` (year 1..=9999, second < 60). The offset must be less than
//! 24 hours, as Python requires of a UTC offset.
//!
//! Decoding into `DateTime<Utc>` also requires the UTC instant to fall in
//! years 1..=9999: `0001-01-01T00:00:00.000000+05:30` is a valid Twisted
//! `DateTime`, but its UTC time is in year 0, which Python's
//! `astimezone(timezone.utc)` refuses (`OverflowError`) and which could not
//! be sent back. It is a decoding error, so that whatever decodes encodes.

use bytes::{Bytes, BytesMut};
use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc,
};

use super::float::trim_py_space;
use super::{Argument, Context};
use crate::error::{DecodeError, EncodeError};

/// Length of every Twisted `DateTime` value.
const LEN: usize = 32;

fn push_padded(out: &mut [u8; LEN], at: usize, width: usize, mut v: u32) {
    for i in (at..at + width).rev() {
        out[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// Encode local wall time plus an offset in seconds.
fn encode_parts(
    local: NaiveDateTime,
    offset_secs: i32,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let year = local.year();
    if !(1..=9999).contains(&year) {
        return Err(EncodeError::invalid(format!(
            "year {year} is out of range for Twisted DateTime (1..=9999)"
        )));
    }
    let nanos = local.nanosecond();
    if nanos >= 1_000_000_000 {
        return Err(EncodeError::invalid(
            "a leap second cannot be encoded as a Twisted DateTime",
        ));
    }
    let minutes = offset_secs.div_euclid(60);
    let mut b = *b"0000-00-00T00:00:00.000000+00:00";
    push_padded(&mut b, 0, 4, year as u32);
    push_padded(&mut b, 5, 2, local.month());
    push_padded(&mut b, 8, 2, local.day());
    push_padded(&mut b, 11, 2, local.hour());
    push_padded(&mut b, 14, 2, local.minute());
    push_padded(&mut b, 17, 2, local.second());
    push_padded(&mut b, 20, 6, nanos / 1000);
    b[26] = if minutes > 0 { b'+' } else { b'-' };
    let m = minutes.unsigned_abs();
    // |offset| < 24h, so hours has two digits.
    push_padded(&mut b, 27, 2, m / 60);
    push_padded(&mut b, 30, 2, m % 60);
    out.extend_from_slice(&b);
    Ok(())
}

/// Python's `int()` of a short ASCII field: whitespace, sign, `_` between
/// digits.
fn py_int_field(s: &[u8]) -> Option<i64> {
    let t = trim_py_space(s);
    let (neg, body) = match t {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, t),
    };
    if !body.first().is_some_and(u8::is_ascii_digit) || !body.last().is_some_and(u8::is_ascii_digit)
    {
        return None;
    }
    let mut v: i64 = 0;
    let mut prev_us = false;
    for &c in body {
        match c {
            b'0'..=b'9' => {
                v = v * 10 + i64::from(c - b'0');
                prev_us = false;
            }
            b'_' if !prev_us => prev_us = true,
            _ => return None,
        }
    }
    Some(if neg { -v } else { v })
}

/// Parse the 32-character wire form into a local date-time and offset.
fn decode_parts(raw: &[u8]) -> Result<DateTime<FixedOffset>, DecodeError> {
    let bad = |why: &str| {
        DecodeError::invalid(format!(
            "invalid date format {}: {why}",
            crate::display_bytes(raw)
        ))
    };
    if !raw.is_ascii() {
        return Err(bad("not ASCII"));
    }
    if raw.len() != LEN {
        return Err(bad("not 32 characters long"));
    }
    const POS: [(usize, usize); 9] = [
        (0, 4),
        (5, 7),
        (8, 10),
        (11, 13),
        (14, 16),
        (17, 19),
        (20, 26),
        (27, 29),
        (30, 32),
    ];
    let mut v = [0i64; 9];
    for (slot, &(a, b)) in v.iter_mut().zip(POS.iter()) {
        *slot = py_int_field(&raw[a..b]).ok_or_else(|| bad("a field is not an integer"))?;
    }
    let [year, month, day, hour, minute, second, micro, tzh, tzm] = v;
    let sign = match raw[26] {
        b'+' => 1,
        b'-' => -1,
        _ => return Err(bad("invalid sign for timezone")),
    };
    let offset_minutes = sign * (tzh * 60 + tzm);
    if offset_minutes.abs() >= 24 * 60 {
        return Err(bad("UTC offset must be less than 24 hours"));
    }
    let offset = FixedOffset::east_opt((offset_minutes * 60) as i32)
        .ok_or_else(|| bad("UTC offset must be less than 24 hours"))?;
    let field = |x: i64| u32::try_from(x).ok();
    let date = if (1..=9999).contains(&year) {
        field(month)
            .zip(field(day))
            .and_then(|(m, d)| NaiveDate::from_ymd_opt(year as i32, m, d))
    } else {
        None
    }
    .ok_or_else(|| bad("date out of range"))?;
    let time = match (field(hour), field(minute), field(second), field(micro)) {
        (Some(h), Some(m), Some(s), Some(us)) if s < 60 && us < 1_000_000 => {
            NaiveTime::from_hms_micro_opt(h, m, s, us)
        }
        _ => None,
    }
    .ok_or_else(|| bad("time out of range"))?;
    offset
        .from_local_datetime(&date.and_time(time))
        .single()
        .ok_or_else(|| bad("time out of range"))
}

/// Twisted `DateTime` with its fixed UTC offset (see the module notes above
/// for the exact rules).
///
/// ```
/// use chrono::{DateTime, FixedOffset, TimeZone};
/// let tz = FixedOffset::east_opt(5 * 3600 + 1800).unwrap();
/// let t = tz.with_ymd_and_hms(2024, 2, 29, 13, 5, 9).unwrap();
/// let v = amp_wire::to_value(&t).unwrap();
/// assert_eq!(&v[..], b"2024-02-29T13:05:09.000000+05:30");
/// assert_eq!(amp_wire::from_value::<DateTime<FixedOffset>>(v).unwrap(), t);
/// ```
impl Argument for DateTime<FixedOffset> {
    fn amp_type() -> crate::describe::AmpType {
        crate::describe::AmpType::DateTime
    }

    fn encode(&self, out: &mut BytesMut, _: &mut Context<'_>) -> Result<(), EncodeError> {
        encode_parts(self.naive_local(), self.offset().local_minus_utc(), out)
    }
    fn decode(raw: Bytes, _: &mut Context<'_>) -> Result<Self, DecodeError> {
        decode_parts(&raw)
    }
}

/// Twisted `DateTime` in UTC: sent with offset `-00:00` (Twisted's way of
/// writing a zero offset); a received value with any offset is converted
/// to UTC.
///
/// ```
/// use chrono::{DateTime, TimeZone, Utc};
/// let t = Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap();
/// assert_eq!(&amp_wire::to_value(&t).unwrap()[..], b"0001-01-01T00:00:00.000000-00:00");
/// let v = b"2000-01-01T05:30:00.000001+05:30";
/// let u: DateTime<Utc> = amp_wire::from_value(&v[..]).unwrap();
/// assert_eq!(u.to_rfc3339(), "2000-01-01T00:00:00.000001+00:00");
/// ```
impl Argument for DateTime<Utc> {
    fn amp_type() -> crate::describe::AmpType {
        crate::describe::AmpType::DateTime
    }

    fn encode(&self, out: &mut BytesMut, _: &mut Context<'_>) -> Result<(), EncodeError> {
        encode_parts(self.naive_utc(), 0, out)
    }
    fn decode(raw: Bytes, _: &mut Context<'_>) -> Result<Self, DecodeError> {
        let t = decode_parts(&raw)?.with_timezone(&Utc);
        let year = t.year();
        if !(1..=9999).contains(&year) {
            return Err(DecodeError::invalid(format!(
                "date {} is in year {year} in UTC, out of range (1..=9999)",
                crate::display_bytes(&raw)
            )));
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Result<DateTime<FixedOffset>, DecodeError> {
        decode_parts(s.as_bytes())
    }

    #[test]
    fn python_int_fields() {
        assert_eq!(py_int_field(b" 5"), Some(5));
        assert_eq!(py_int_field(b"+5"), Some(5));
        assert_eq!(py_int_field(b"-5"), Some(-5));
        assert_eq!(py_int_field(b"1_0"), Some(10));
        assert_eq!(py_int_field(b"\x0b5"), Some(5));
        assert_eq!(py_int_field(b"_5"), None);
        assert_eq!(py_int_field(b"  "), None);
        assert_eq!(py_int_field(b"5_"), None);
    }

    #[test]
    fn lenient_like_twisted() {
        let t = dec("2020x01y02z03:04:05.000006+01:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2020-01-02T03:04:05.000006+01:00");
        let t = dec(" 202-01-02T03:04:05.1_0000+ 1: 5").unwrap();
        assert_eq!(t.to_rfc3339(), "0202-01-02T03:04:05.010+01:05");
        // '+' with negative hours is a negative offset.
        let t = dec("2020-01-02T03:04:05.000000+-1:00").unwrap();
        assert_eq!(t.offset().local_minus_utc(), -3600);
        assert!(dec("2020-01-02T03:04:05.000000*01:00").is_err());
        assert!(dec("2020-02-30T03:04:05.000000+01:00").is_err());
        assert!(dec("2020-01-02T03:04:60.000000+01:00").is_err());
        assert!(dec("2020-01-02T03:04:05.000000+24:00").is_err());
        assert!(dec("0000-01-02T03:04:05.000000+01:00").is_err());
        assert!(dec("2020-01-02T03:04:05.-00001+01:00").is_err());
        assert!(dec("2020-01-02T03:04:05.000000+01:0").is_err());
    }

    #[test]
    fn utc_instants_outside_python_years_are_refused() {
        let utc =
            |s: &str| DateTime::<Utc>::decode(Bytes::from(s.to_owned()), &mut Context::none());
        // Valid with their offset, but year 0 / year 10000 in UTC.
        for s in [
            "0001-01-01T00:00:00.000000+05:30",
            "0001-01-01T00:00:00.000000+00:01",
            "9999-12-31T23:59:59.999999-00:01",
            "9999-12-31T20:00:00.000000-23:59",
        ] {
            assert!(dec(s).is_ok(), "{s}");
            assert!(utc(s).is_err(), "{s}");
        }
        // The edges themselves decode, and encode back.
        for (s, back) in [
            (
                "0001-01-01T05:30:00.000000+05:30",
                "0001-01-01T00:00:00.000000-00:00",
            ),
            (
                "9999-12-31T23:59:59.999999+00:01",
                "9999-12-31T23:58:59.999999-00:00",
            ),
            (
                "0001-01-01T00:00:00.000000-05:30",
                "0001-01-01T05:30:00.000000-00:00",
            ),
        ] {
            let t = utc(s).unwrap();
            let mut out = BytesMut::new();
            t.encode(&mut out, &mut Context::none()).unwrap();
            assert_eq!(&out[..], back.as_bytes(), "{s}");
        }
    }

    #[test]
    fn offsets_round_down_like_python() {
        let mut out = BytesMut::new();
        let local = NaiveDate::from_ymd_opt(2000, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        encode_parts(local, -30, &mut out).unwrap();
        assert_eq!(&out[26..], b"-00:01");
        out.clear();
        encode_parts(local, 30, &mut out).unwrap();
        assert_eq!(&out[26..], b"-00:00");
        out.clear();
        encode_parts(local, 90, &mut out).unwrap();
        assert_eq!(&out[26..], b"+00:01");
    }
}
