//! Datetimes: encoding, decoding and their errors, UTC years.

use amp_wire::types::{Argument, Context};
use amp_wire::{to_value, DecodeError, EncodeError};
use bytes::BytesMut;
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Timelike, Utc};

use crate::{dec, enc, rt};

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
