//! Bytes in JSON: a string when they are UTF-8, else `{"base64": "..."}`
//! (the marker for exact bytes, accepted back everywhere); and the untyped
//! values of a box with no schema.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use serde_json::{Map, Value as Json};

use super::ValueError;

/// The key of the exact-bytes marker.
const BASE64: &str = "base64";

/// `{"base64": "..."}` for `raw`.
pub fn base64_marker(raw: &[u8]) -> Json {
    let mut m = Map::new();
    m.insert(BASE64.into(), Json::String(STANDARD.encode(raw)));
    Json::Object(m)
}

/// `raw` as JSON: a string when it is UTF-8, else the base64 marker.
pub fn bytes_json(raw: &[u8]) -> Json {
    match std::str::from_utf8(raw) {
        Ok(s) => Json::String(s.to_owned()),
        Err(_) => base64_marker(raw),
    }
}

/// The bytes of `v` written by [`bytes_json`]: a string (its UTF-8) or the
/// base64 marker.
pub fn json_bytes(v: &Json) -> Result<Bytes, ValueError> {
    if let Some(b) = as_marker(v)? {
        return Ok(b);
    }
    match v {
        Json::String(s) => Ok(Bytes::copy_from_slice(s.as_bytes())),
        other => Err(ValueError::new(format!(
            "expected a string or {{\"base64\": \"...\"}}, got {}",
            kind(other)
        ))),
    }
}

/// The bytes of `v` if it is the marker `{"base64": "..."}`; an error if
/// it is the marker with a value that is not base64.
pub fn as_marker(v: &Json) -> Result<Option<Bytes>, ValueError> {
    let Json::Object(m) = v else { return Ok(None) };
    if m.len() != 1 {
        return Ok(None);
    }
    let Some(Json::String(text)) = m.get(BASE64) else {
        return Ok(None);
    };
    STANDARD
        .decode(text)
        .map(Bytes::from)
        .map(Some)
        .map_err(|e| ValueError::caused("{\"base64\": ...} does not hold base64", e))
}

/// An untyped value: string → UTF-8, integer → digits, other number →
/// Python's `repr` of the float, bool → `True`/`False`, base64 marker →
/// its bytes. Arrays and objects need a schema.
pub fn untyped_to_wire(v: &Json) -> Result<Bytes, ValueError> {
    if let Some(b) = as_marker(v)? {
        return Ok(b);
    }
    let text = match v {
        Json::String(s) => s.clone(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Number(n) if n.is_f64() => {
            amp::types::format_python_float(n.as_f64().unwrap_or(f64::NAN))
        }
        Json::Number(n) => n.to_string(),
        Json::Null => {
            return Err(ValueError::new(
                "null has no untyped wire form (leave the argument out)",
            ))
        }
        Json::Array(_) | Json::Object(_) => {
            return Err(ValueError::new(format!(
                "{} needs a schema to say how it is laid out (ListOf or AmpList): \
                 give one with --schema FILE, or pass the wire bytes as {{\"base64\": \"...\"}}",
                kind(v)
            )))
        }
    };
    Ok(Bytes::from(text))
}

/// What kind of JSON value `v` is, for messages.
pub fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bytes_round_trip_through_json() {
        for raw in [&b""[..], b"Sum", b"caf\xc3\xa9", b"\xff\x00a", b"a\nb"] {
            let j = bytes_json(raw);
            assert_eq!(&json_bytes(&j).unwrap()[..], raw, "{j}");
        }
        assert_eq!(bytes_json(b"\xff"), json!({"base64": "/w=="}));
        assert_eq!(bytes_json(b"ok"), json!("ok"));
        assert!(json_bytes(&json!({"base64": "!!"})).is_err());
        assert!(json_bytes(&json!(1)).is_err());
    }

    #[test]
    fn untyped_values() {
        let table: &[(Json, &[u8])] = &[
            (json!("héllo"), "héllo".as_bytes()),
            (json!(13), b"13"),
            (json!(-7), b"-7"),
            (json!(18446744073709551615u64), b"18446744073709551615"),
            (json!(0.5), b"0.5"),
            (json!(1e22), b"1e+22"),
            (json!(1.0), b"1.0"),
            (json!(true), b"True"),
            (json!(false), b"False"),
            (json!({"base64": "AP8="}), b"\x00\xff"),
            // An object with more keys is not the marker.
        ];
        for (v, want) in table {
            assert_eq!(&untyped_to_wire(v).unwrap()[..], *want, "{v}");
        }
        for bad in [
            json!([1]),
            json!({"a": 1}),
            json!(null),
            json!({"base64": 1}),
        ] {
            assert!(untyped_to_wire(&bad).is_err(), "{bad}");
        }
        let e = untyped_to_wire(&json!([1, 2])).unwrap_err().to_string();
        assert!(e.contains("--schema"), "{e}");
    }
}
