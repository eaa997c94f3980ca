//! Whole boxes: named values (typed by a schema's fields, or untyped) into
//! box entries, and box entries back into named JSON values, with
//! `BigString`/`BigUnicode` arguments chunked over `k`, `k.2`, ...

use amp::{AmpBox, MAX_KEY_LENGTH, MAX_VALUE_LENGTH};
use bytes::Bytes;
use serde_json::{Map, Value as Json};
use std::collections::BTreeSet;

use super::marker::{base64_marker, bytes_json, untyped_to_wire};
use super::{
    check_wire, is_big, is_structured, max_box_size, to_wire, try_from_wire, type_name, Mode,
    ValueError,
};
use crate::schema::Field;

/// A value as the command line gave it.
#[derive(Debug, Clone)]
pub enum Given<'a> {
    /// The wire bytes themselves (`ARG=TEXT`, `ARG=@FILE`).
    Wire(Bytes),
    /// JSON, converted by the type (`ARG:=JSON`, `-d`).
    Json(&'a Json),
}

/// The names of `fields`, for messages.
fn declared(fields: &[Field]) -> String {
    if fields.is_empty() {
        return "it declares none".into();
    }
    let names: Vec<String> = fields
        .iter()
        .map(|f| {
            let opt = if f.optional { ", optional" } else { "" };
            format!("{} ({}{opt})", f.name, type_name(&f.ty))
        })
        .collect();
    format!("declared: {}", names.join(", "))
}

/// A box of the `given` values, typed by `fields` when there are some.
/// `nested`: an element of an `AmpList` (big types are not chunked there),
/// at list depth `depth`.
pub fn build_box(
    fields: Option<&[Field]>,
    given: &[(String, Given<'_>)],
    mode: Mode,
    nested: bool,
    depth: usize,
) -> Result<AmpBox, ValueError> {
    let mut b = AmpBox::with_capacity(given.len());
    for (name, g) in given {
        if name.is_empty() || name.len() > MAX_KEY_LENGTH {
            return Err(ValueError::new(format!(
                "a key of {} bytes: AMP keys are 1 to {MAX_KEY_LENGTH} bytes",
                name.len()
            ))
            .at(name));
        }
        let field = fields.and_then(|fs| fs.iter().find(|f| f.name == *name));
        let bytes = match (field, g) {
            (_, Given::Json(Json::Null)) => match field {
                Some(f) if !f.optional && mode == Mode::Call => {
                    return Err(ValueError::new(format!(
                        "null leaves an argument out, and this {} is not optional",
                        type_name(&f.ty)
                    ))
                    .at(name))
                }
                _ => continue,
            },
            (Some(f), Given::Json(v)) => to_wire(&f.ty, v, mode, depth).map_err(|e| e.at(name))?,
            (Some(f), Given::Wire(raw)) => {
                check_wire(&f.ty, raw).map_err(|e| {
                    ValueError::new(format!(
                        "{e} (NAME=TEXT sends the text as the wire value; NAME:=JSON converts a \
                         JSON value to a {})",
                        type_name(&f.ty)
                    ))
                    .at(name)
                })?;
                raw.clone()
            }
            (None, _) if mode == Mode::Call && fields.is_some() => {
                return Err(ValueError::new(format!(
                    "no such argument ({})",
                    declared(fields.unwrap_or_default())
                ))
                .at(name))
            }
            (None, Given::Json(v)) => untyped_to_wire(v).map_err(|e| e.at(name))?,
            (None, Given::Wire(raw)) => raw.clone(),
        };
        if field.is_some_and(|f| is_big(&f.ty)) && !nested {
            put_chunks(&mut b, name, &bytes);
            continue;
        }
        if bytes.len() > MAX_VALUE_LENGTH {
            let hint = if field.is_some_and(|f| is_big(&f.ty)) {
                "inside a list a BigString/BigUnicode is one ordinary value"
            } else {
                "a schema type BigString/BigUnicode chunks longer values over k, k.2, ..."
            };
            return Err(ValueError::new(format!(
                "{} bytes: an AMP value is at most {MAX_VALUE_LENGTH} bytes ({hint})",
                bytes.len()
            ))
            .at(name));
        }
        b.insert(Bytes::copy_from_slice(name.as_bytes()), bytes);
    }
    if mode == Mode::Call {
        if let Some(fields) = fields {
            let missing: Vec<String> = fields
                .iter()
                .filter(|f| !f.optional && !b.contains_key(&f.name))
                .map(|f| format!("{} ({})", f.name, type_name(&f.ty)))
                .collect();
            if !missing.is_empty() {
                return Err(ValueError::new(format!(
                    "missing required argument{}: {}",
                    if missing.len() == 1 { "" } else { "s" },
                    missing.join(", ")
                )));
            }
        }
    }
    if !nested && b.encoded_len() > max_box_size() {
        return Err(ValueError::new(format!(
            "the box would be {} bytes; AMP peers take at most {} (amp::Config's default)",
            b.encoded_len(),
            max_box_size()
        )));
    }
    Ok(b)
}

/// The key of chunk `n` (`n` ≥ 2) of `name`.
fn chunk_key(name: &str, n: usize) -> String {
    format!("{name}.{n}")
}

/// `bytes` as `name`, `name.2`, ... (65,535 bytes each, the last holding
/// the rest; an empty value is the single entry `name`).
fn put_chunks(b: &mut AmpBox, name: &str, bytes: &Bytes) {
    let mut n = 1;
    let mut at = 0;
    loop {
        let end = (at + MAX_VALUE_LENGTH).min(bytes.len());
        let key = if n == 1 {
            name.to_owned()
        } else {
            chunk_key(name, n)
        };
        b.insert(key, bytes.slice(at..end));
        at = end;
        n += 1;
        if at >= bytes.len() {
            break;
        }
    }
}

/// One value of a received box, ready to print.
#[derive(Debug, Clone)]
pub struct FieldOut {
    /// The key (a chunked argument: its first key).
    pub key: Bytes,
    /// The value as JSON (typed when the schema declares it).
    pub json: Json,
    /// The wire bytes (a chunked argument: all its chunks joined).
    pub raw: Bytes,
    /// Printed as JSON in text output (a list that decoded as its type).
    pub structured: bool,
}

/// The values of a received box.
#[derive(Debug, Clone, Default)]
pub struct ReadBox {
    /// In key order.
    pub fields: Vec<FieldOut>,
}

impl ReadBox {
    /// The values as a JSON object, and those whose key is not UTF-8 as
    /// `[key, value]` pairs of bytes JSON.
    pub fn to_json(&self) -> (Map<String, Json>, Vec<Json>) {
        let mut obj = Map::new();
        let mut binary = Vec::new();
        for f in &self.fields {
            match std::str::from_utf8(&f.key) {
                Ok(k) => {
                    obj.insert(k.to_owned(), f.json.clone());
                }
                Err(_) => binary.push(Json::Array(vec![base64_marker(&f.key), f.json.clone()])),
            }
        }
        (obj, binary)
    }
}

/// The values of `b` but the keys in `skip`, typed by `fields` when given.
/// Never fails: a value that does not read back as its type is shown as
/// its exact bytes, and a chunked argument whose chunks are not laid out
/// as they would be written is shown chunk by chunk.
pub fn read_box(fields: Option<&[Field]>, b: &AmpBox, skip: &[&str]) -> ReadBox {
    let mut used: BTreeSet<Vec<u8>> = skip.iter().map(|k| k.as_bytes().to_vec()).collect();
    let mut out = Vec::new();
    for f in fields.unwrap_or_default() {
        let Some(first) = b.get_bytes(&f.name) else {
            continue;
        };
        if used.contains(f.name.as_bytes()) {
            continue;
        }
        let mut raw = first.clone();
        if is_big(&f.ty) {
            let (joined, keys) = read_chunks(b, &f.name);
            let mut again = AmpBox::new();
            put_chunks(&mut again, &f.name, &joined);
            if again.len() == keys.len() && keys.iter().all(|k| again.get(k) == b.get(k)) {
                used.extend(keys.into_iter().map(String::into_bytes));
                raw = joined;
            }
        }
        used.insert(f.name.as_bytes().to_vec());
        let typed = try_from_wire(&f.ty, &raw, 0);
        out.push(FieldOut {
            key: Bytes::copy_from_slice(f.name.as_bytes()),
            structured: is_structured(&f.ty) && typed.is_ok(),
            json: typed.unwrap_or_else(|_| base64_marker(&raw)),
            raw,
        });
    }
    for (k, v) in b.iter() {
        if used.contains(k) {
            continue;
        }
        out.push(FieldOut {
            key: Bytes::copy_from_slice(k),
            json: bytes_json(v),
            raw: Bytes::copy_from_slice(v),
            structured: false,
        });
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    ReadBox { fields: out }
}

/// The chunks of `name` in `b` (`name`, `name.2`, ... to the first one
/// missing) joined, and their keys.
fn read_chunks(b: &AmpBox, name: &str) -> (Bytes, Vec<String>) {
    let mut keys = vec![name.to_owned()];
    let mut joined = b.get(name).unwrap_or_default().to_vec();
    for n in 2.. {
        let key = chunk_key(name, n);
        match b.get(&key) {
            Some(c) => joined.extend_from_slice(c),
            None => break,
        }
        keys.push(key);
    }
    (Bytes::from(joined), keys)
}
