//! Values described as golden.py's `describe()` does, the hand-written
//! `AmpList` record type, and our encoding and decoding of described values.

use std::path::PathBuf;

use amp_wire::__private::{get_arg, record_decode, record_decode_items, record_encode};
use amp_wire::{
    from_value, to_value, AmpBox, Argument, Context, Decimal, DecodeError, EncodeError,
    FieldWriter, Record,
};
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use num_bigint::{BigInt, BigUint};

use crate::{from_hex_utf8, hex, unhex, utf8_hex};

// ------------------------------------------------- the AmpList record type

/// `AmpList([(b'a', Integer()), (b'b', Unicode())])`, implemented by hand.
#[derive(Debug, Clone, PartialEq)]
struct Item {
    a: BigInt,
    b: String,
}

impl Record for Item {
    const FIELDS: &'static [&'static str] = &["a", "b"];
    fn write_fields(
        &self,
        w: &mut FieldWriter<'_>,
        cx: &mut Context<'_>,
    ) -> Result<(), EncodeError> {
        w.put("a", &self.a, cx)?;
        w.put("b", &self.b, cx)
    }
    fn read_fields(b: &AmpBox, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
        Ok(Item {
            a: get_arg(b, "a", cx)?,
            b: get_arg(b, "b", cx)?,
        })
    }
}

impl Argument for Item {
    fn encode(&self, out: &mut BytesMut, cx: &mut Context<'_>) -> Result<(), EncodeError> {
        record_encode(self, out, cx)
    }
    fn decode(raw: Bytes, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
        record_decode(raw, cx)
    }
    fn encode_item(&self, out: &mut BytesMut, cx: &mut Context<'_>) -> Result<(), EncodeError> {
        record_encode(self, out, cx)
    }
    fn decode_items(raw: Bytes, cx: &mut Context<'_>) -> Result<Vec<Self>, DecodeError> {
        record_decode_items(raw, cx)
    }
}

// ------------------------------------- descriptions, as golden.py's describe()

pub(crate) fn describe_float(x: f64) -> String {
    if x.is_nan() {
        if x.is_sign_negative() { "-nan" } else { "nan" }.to_string()
    } else {
        format!("{:016x}", x.to_bits())
    }
}

pub(crate) fn float_of(desc: &str) -> f64 {
    match desc {
        "nan" => f64::NAN,
        "-nan" => -f64::NAN,
        bits => f64::from_bits(u64::from_str_radix(bits, 16).expect("float bits")),
    }
}

pub(crate) fn describe_decimal(d: &Decimal) -> String {
    match d.exponent() {
        Some(e) => format!("{}|{}|{}", u8::from(d.is_sign_negative()), d.digits(), e),
        None => d.to_string(),
    }
}

fn decimal_of(desc: &str) -> Decimal {
    let parts: Vec<&str> = desc.split('|').collect();
    match parts.as_slice() {
        [sign, digits, exp] => Decimal::from_parts(
            *sign == "1",
            digits.parse::<BigUint>().expect("digits"),
            exp.parse().expect("exponent"),
        )
        .expect("in range"),
        _ => desc.parse().expect("special decimal"),
    }
}

pub(crate) fn describe_datetime(t: &DateTime<FixedOffset>) -> String {
    use chrono::{Datelike, Timelike};
    format!(
        "{},{},{},{},{},{},{},{}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 1000,
        t.offset().local_minus_utc()
    )
}

fn datetime_of(desc: &str) -> DateTime<FixedOffset> {
    let v: Vec<i64> = desc.split(',').map(|x| x.parse().unwrap()).collect();
    let tz = FixedOffset::east_opt(v[7] as i32).unwrap();
    let naive = NaiveDate::from_ymd_opt(v[0] as i32, v[1] as u32, v[2] as u32)
        .unwrap()
        .and_hms_micro_opt(v[3] as u32, v[4] as u32, v[5] as u32, v[6] as u32)
        .unwrap();
    tz.from_local_datetime(&naive).single().unwrap()
}

/// The year of `t`'s instant in UTC.
fn utc_year(t: &DateTime<FixedOffset>) -> i32 {
    chrono::Datelike::year(&t.with_timezone(&Utc))
}

/// Parse a list description `"<count>:<items>"`.
pub(crate) fn list_of<T>(desc: &str, sep: char, f: impl Fn(&str) -> T) -> Vec<T> {
    let (n, items) = desc.split_once(':').expect("list description");
    let n: usize = n.parse().expect("list count");
    let v: Vec<T> = if n == 0 {
        Vec::new()
    } else {
        items.split(sep).map(f).collect()
    };
    assert_eq!(v.len(), n, "list description {desc:?}");
    v
}

fn describe_list<T>(v: &[T], sep: &str, f: impl Fn(&T) -> String) -> String {
    format!(
        "{}:{}",
        v.len(),
        v.iter().map(f).collect::<Vec<_>>().join(sep)
    )
}

fn describe_items(v: &[Item]) -> String {
    describe_list(v, ";", |i| format!("{},{}", i.a, utf8_hex(&i.b)))
}

/// Encode the value golden.py described, with our encoder.
pub(crate) fn encode_described(ty: &str, desc: &str) -> Bytes {
    let r = match ty {
        "integer" => {
            let v: BigInt = desc.parse().unwrap();
            let ours = to_value(&v).unwrap();
            // Fixed-width integers must agree whenever the value fits.
            if let Ok(x) = desc.parse::<i64>() {
                assert_eq!(to_value(&x).unwrap(), ours);
            }
            if let Ok(x) = desc.parse::<u128>() {
                assert_eq!(to_value(&x).unwrap(), ours);
            }
            if let Ok(x) = desc.parse::<i128>() {
                assert_eq!(to_value(&x).unwrap(), ours);
            }
            Ok(ours)
        }
        "float" => to_value(&float_of(desc)),
        "decimal" => to_value(&decimal_of(desc)),
        "datetime" => {
            let t = datetime_of(desc);
            let ours = to_value(&t).unwrap();
            if t.offset().local_minus_utc() == 0 {
                assert_eq!(to_value(&t.with_timezone(&Utc)).unwrap(), ours);
            }
            Ok(ours)
        }
        "boolean" => to_value(&(desc == "True")),
        "unicode" => to_value(&from_hex_utf8(desc)),
        "string" => {
            let v = unhex(desc);
            let ours = to_value(&v).unwrap();
            assert_eq!(to_value(&Bytes::from(v)).unwrap(), ours);
            Ok(ours)
        }
        "path" => to_value(&PathBuf::from(from_hex_utf8(desc))),
        "listof_integer" => to_value(&list_of(desc, ',', |x| x.parse::<BigInt>().unwrap())),
        "listof_unicode" => to_value(&list_of(desc, ',', from_hex_utf8)),
        "listof_listof_integer" => to_value(&list_of(desc, ';', |inner| {
            list_of(inner, ',', |x| x.parse::<BigInt>().unwrap())
        })),
        "amplist" => to_value(&list_of(desc, ';', |item| {
            let (a, b) = item.split_once(',').unwrap();
            Item {
                a: a.parse().unwrap(),
                b: from_hex_utf8(b),
            }
        })),
        other => panic!("unknown type {other}"),
    };
    r.unwrap_or_else(|e| panic!("encoding {ty} {desc}: {e}"))
}

fn dec_enc<T: Argument>(
    input: &[u8],
    describe: impl Fn(&T) -> String,
) -> Result<(String, Bytes), DecodeError> {
    let v: T = from_value(Bytes::copy_from_slice(input))?;
    let wire = to_value(&v).map_err(|e| DecodeError::invalid(e.to_string()))?;
    Ok((describe(&v), wire))
}

/// Decode `input` as `ty` with our decoder: (description, our re-encoding).
pub(crate) fn decode_as(ty: &str, input: &[u8]) -> Result<(String, Bytes), DecodeError> {
    match ty {
        "integer" => {
            let r = dec_enc::<BigInt>(input, |v| v.to_string());
            // Fixed-width decoders agree with BigInt, or fail with a range error.
            let fixed = from_value::<i64>(Bytes::copy_from_slice(input));
            match (&r, fixed) {
                (Ok((d, _)), Ok(x)) => assert_eq!(&x.to_string(), d),
                (Ok((d, _)), Err(_)) => assert!(d.parse::<i64>().is_err(), "i64 rejected {d}"),
                (Err(_), Ok(x)) => panic!("i64 accepted {input:?} as {x}, BigInt did not"),
                (Err(_), Err(_)) => {}
            }
            r
        }
        "float" => dec_enc::<f64>(input, |v| describe_float(*v)),
        "decimal" => dec_enc::<Decimal>(input, describe_decimal),
        "datetime" => {
            let r = dec_enc::<DateTime<FixedOffset>>(input, describe_datetime);
            let utc = from_value::<DateTime<Utc>>(Bytes::copy_from_slice(input));
            match (&r, utc) {
                (Ok((d, _)), Ok(u)) => assert_eq!(datetime_of(d), u),
                (Err(_), Err(_)) => {}
                // A local time in year 1 or 9999 whose UTC instant falls in
                // year 0 or 10000: Twisted keeps the offset, `DateTime<Utc>`
                // cannot hold it (Python's astimezone(utc) fails too).
                (Ok((d, _)), Err(_)) if !(1..=9999).contains(&utc_year(&datetime_of(d))) => {}
                (a, b) => panic!("FixedOffset/Utc disagree on {input:?}: {a:?} {b:?}"),
            }
            r
        }
        "boolean" => dec_enc::<bool>(input, |v| if *v { "True" } else { "False" }.into()),
        "unicode" => dec_enc::<String>(input, |v| utf8_hex(v)),
        "string" => dec_enc::<Vec<u8>>(input, |v| hex(v)),
        "path" => dec_enc::<PathBuf>(input, |v| utf8_hex(v.to_str().unwrap())),
        "listof_integer" => {
            dec_enc::<Vec<BigInt>>(input, |v| describe_list(v, ",", |x| x.to_string()))
        }
        "listof_unicode" => {
            dec_enc::<Vec<String>>(input, |v| describe_list(v, ",", |x| utf8_hex(x)))
        }
        "listof_listof_integer" => dec_enc::<Vec<Vec<BigInt>>>(input, |v| {
            describe_list(v, ";", |inner| describe_list(inner, ",", |x| x.to_string()))
        }),
        "amplist" => dec_enc::<Vec<Item>>(input, |v| describe_items(v)),
        other => panic!("unknown type {other}"),
    }
}
