//! The types that are one value (everything but `ListOf` and `AmpList`):
//! JSON to wire bytes and back, through the `amp` library's codecs.

use amp::{from_value, to_value, Argument};
use bytes::Bytes;
use chrono::{DateTime, FixedOffset};
use num_bigint::BigInt;
use serde_json::{Number, Value as Json};
use std::path::PathBuf;
use std::str::FromStr;

use super::marker::{bytes_json, kind};
use super::{type_name, Mode, ValueError};
use crate::schema::ArgType;

/// Encode with the library, mapping its error.
fn enc<T: Argument>(v: &T) -> Result<Bytes, ValueError> {
    to_value(v).map_err(|e| ValueError::caused("cannot be encoded", e))
}

/// Decode with the library, mapping its error.
fn dec<T: Argument>(ty: &ArgType, raw: &Bytes) -> Result<T, ValueError> {
    from_value::<T>(raw.clone()).map_err(|e| {
        ValueError::caused(
            format!(
                "{} is not a valid {}",
                amp::display_bytes(raw),
                type_name(ty)
            ),
            e,
        )
    })
}

/// "expected X, got Y".
fn expected(what: &str, got: &Json) -> ValueError {
    ValueError::new(format!("expected {what}, got {}", kind(got)))
}

/// The text of a JSON string.
fn text<'a>(v: &'a Json, what: &str) -> Result<&'a str, ValueError> {
    v.as_str().ok_or_else(|| expected(what, v))
}

/// JSON → the wire bytes of a one-value type (a big type: the whole value).
pub fn to_wire(ty: &ArgType, v: &Json, mode: Mode) -> Result<Bytes, ValueError> {
    match ty {
        ArgType::Integer => integer(v),
        ArgType::String
        | ArgType::Unicode
        | ArgType::BigString
        | ArgType::BigUnicode
        | ArgType::Raw { .. } => {
            let s = text(v, "a string (or {\"base64\": \"...\"} for other bytes)")?;
            Ok(Bytes::copy_from_slice(s.as_bytes()))
        }
        ArgType::Path => enc(&PathBuf::from(text(v, "a path as a string")?)),
        ArgType::Boolean => match v {
            Json::Bool(b) => enc(b),
            other => Err(expected("true or false", other)),
        },
        ArgType::Float => match v {
            Json::Number(n) => enc(&n.as_f64().unwrap_or(f64::NAN)),
            Json::String(s) => {
                let f = amp::types::parse_python_float(s.as_bytes())
                    .map_err(|e| ValueError::caused(format!("{s:?} is not a float"), e))?;
                enc(&f)
            }
            other => Err(expected("a number (or \"nan\", \"inf\", \"-inf\")", other)),
        },
        ArgType::Decimal => {
            let s = match v {
                Json::String(s) => s.clone(),
                Json::Number(n) => n.to_string(),
                other => return Err(expected("a decimal as a string (\"1.10\")", other)),
            };
            let d = amp::Decimal::from_str(&s)
                .map_err(|e| ValueError::caused(format!("{s:?} is not a decimal"), e))?;
            enc(&d)
        }
        ArgType::DateTime => {
            let s = text(v, "a date and time as a string")?;
            let t = from_value::<DateTime<FixedOffset>>(Bytes::copy_from_slice(s.as_bytes()))
                .or_else(|_| DateTime::parse_from_rfc3339(s))
                .map_err(|e| {
                    ValueError::caused(
                        format!(
                            "{s:?} is not a date and time: use 2024-02-29T13:05:09.000000+05:30 \
                             (Twisted's form) or RFC 3339 (2024-02-29T13:05:09+05:30)"
                        ),
                        e,
                    )
                })?;
            enc(&t)
        }
        ArgType::Descriptor if mode == Mode::Encode => match v {
            Json::Number(n) if n.as_u64().is_some() => enc(&n.as_u64().unwrap_or_default()),
            other => Err(expected(
                "a descriptor's ordinal (a non-negative integer)",
                other,
            )),
        },
        ArgType::Descriptor => Err(ValueError::new(
            "a Descriptor travels as a file descriptor passed beside the box over a UNIX \
             socket (SCM_RIGHTS), which amp call cannot send: call this command from a program",
        )),
        ArgType::ListOf { .. } | ArgType::AmpList { .. } => Err(ValueError::new(
            "internal: a list type reached the scalar codec",
        )),
    }
}

/// An `Integer`: a JSON integer, or its digits as a string (any size).
fn integer(v: &Json) -> Result<Bytes, ValueError> {
    match v {
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                enc(&i)
            } else if let Some(u) = n.as_u64() {
                enc(&u)
            } else {
                Err(ValueError::new(format!(
                    "{n} is not an integer (an integer beyond 64 bits must be given as a \
                     string, \"123456789012345678901234567890\", to keep every digit)"
                )))
            }
        }
        Json::String(s) => {
            let i: BigInt = from_value(Bytes::copy_from_slice(s.as_bytes()))
                .map_err(|e| ValueError::caused(format!("{s:?} is not an integer"), e))?;
            enc(&i)
        }
        other => Err(expected("an integer", other)),
    }
}

/// Wire bytes → JSON of a one-value type, or why they are not one.
pub fn from_wire(ty: &ArgType, raw: &Bytes) -> Result<Json, ValueError> {
    Ok(match ty {
        ArgType::Integer => {
            let i: BigInt = dec(ty, raw)?;
            if let Ok(small) = i64::try_from(&i) {
                Json::from(small)
            } else if let Ok(small) = u64::try_from(&i) {
                Json::from(small)
            } else {
                Json::String(i.to_string())
            }
        }
        ArgType::Descriptor => Json::from(dec::<u64>(ty, raw)?),
        ArgType::String | ArgType::BigString | ArgType::Raw { .. } => bytes_json(raw),
        ArgType::Unicode | ArgType::BigUnicode => Json::String(dec::<String>(ty, raw)?),
        ArgType::Path => {
            let p: PathBuf = dec(ty, raw)?;
            Json::String(p.to_str().unwrap_or_default().to_owned())
        }
        ArgType::Boolean => Json::Bool(dec(ty, raw)?),
        ArgType::Float => {
            let f: f64 = dec(ty, raw)?;
            match Number::from_f64(f) {
                Some(n) => Json::Number(n),
                None => Json::String(amp::types::format_python_float(f)),
            }
        }
        ArgType::Decimal => Json::String(dec::<amp::Decimal>(ty, raw)?.to_string()),
        ArgType::DateTime => {
            let t: DateTime<FixedOffset> = dec(ty, raw)?;
            let wire = enc(&t)?;
            Json::String(String::from_utf8_lossy(&wire).into_owned())
        }
        ArgType::ListOf { .. } | ArgType::AmpList { .. } => {
            return Err(ValueError::new(
                "internal: a list type reached the scalar codec",
            ))
        }
    })
}
