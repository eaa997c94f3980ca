//! `ListOf(T)` (values each behind a 16-bit length) and `AmpList`
//! (boxes one after another), JSON arrays both ways.

use bytes::{BufMut, Bytes, BytesMut};
use serde_json::{Map, Value as Json};

use super::fields::{build_box, Given};
use super::marker::{bytes_json, kind};
use super::{max_nesting, to_wire, try_from_wire, Mode, ValueError};
use crate::schema::{ArgType, Field};

/// One more list level, or an error past the nesting limit.
fn deeper(depth: usize) -> Result<usize, ValueError> {
    let max = max_nesting();
    if depth >= max {
        return Err(ValueError::new(format!(
            "lists nest deeper than {max} levels (the limit amp::Config sets)"
        )));
    }
    Ok(depth + 1)
}

/// The elements of a JSON array, or an error naming what came instead.
fn array<'a>(v: &'a Json, what: &str) -> Result<&'a [Json], ValueError> {
    match v {
        Json::Array(a) => Ok(a),
        other => Err(ValueError::new(format!(
            "expected an array ({what}), got {}",
            kind(other)
        ))),
    }
}

/// `ListOf(of)`: each element's bytes behind its length.
pub fn list_to_wire(of: &ArgType, v: &Json, mode: Mode, depth: usize) -> Result<Bytes, ValueError> {
    let depth = deeper(depth)?;
    let mut out = BytesMut::new();
    for (i, item) in array(v, "ListOf")?.iter().enumerate() {
        let b = to_wire(of, item, mode, depth).map_err(|e| e.index(i))?;
        let len = u16::try_from(b.len()).map_err(|_| {
            ValueError::new(format!(
                "{} bytes: a list element is at most 65,535 bytes",
                b.len()
            ))
            .index(i)
        })?;
        out.put_u16(len);
        out.put_slice(&b);
    }
    Ok(out.freeze())
}

/// `ListOf(of)` back to a JSON array.
pub fn list_from_wire(of: &ArgType, raw: &Bytes, depth: usize) -> Result<Json, ValueError> {
    let depth = deeper(depth)?;
    let mut items = Vec::new();
    let mut pos = 0;
    while pos < raw.len() {
        if raw.len() - pos < 2 {
            return Err(ValueError::new(format!(
                "ListOf element {} has a truncated length",
                items.len()
            )));
        }
        let len = u16::from_be_bytes([raw[pos], raw[pos + 1]]) as usize;
        pos += 2;
        if raw.len() - pos < len {
            return Err(ValueError::new(format!(
                "ListOf element {} announces {len} bytes; only {} follow",
                items.len(),
                raw.len() - pos
            )));
        }
        let item = raw.slice(pos..pos + len);
        items.push(try_from_wire(of, &item, depth).map_err(|e| e.index(items.len()))?);
        pos += len;
    }
    Ok(Json::Array(items))
}

/// `AmpList(fields)`: each object one box, serialized one after another.
pub fn amplist_to_wire(
    fields: &[Field],
    v: &Json,
    mode: Mode,
    depth: usize,
) -> Result<Bytes, ValueError> {
    let depth = deeper(depth)?;
    let mut out = BytesMut::new();
    for (i, item) in array(v, "AmpList: one object per box")?.iter().enumerate() {
        let Json::Object(m) = item else {
            return Err(ValueError::new(format!(
                "expected an object (one box of the AmpList), got {}",
                kind(item)
            ))
            .index(i));
        };
        let given: Vec<(String, Given<'_>)> =
            m.iter().map(|(k, v)| (k.clone(), Given::Json(v))).collect();
        let b = build_box(Some(fields), &given, mode, true, depth).map_err(|e| e.index(i))?;
        b.encode(&mut out)
            .map_err(|e| ValueError::caused("cannot be encoded", e).index(i))?;
    }
    Ok(out.freeze())
}

/// `AmpList(fields)` back to a JSON array of objects. Keys the fields do
/// not declare are kept, untyped; each box must be in Twisted's canonical
/// form (sorted keys, no repeats) so that it is written back unchanged.
pub fn amplist_from_wire(fields: &[Field], raw: &Bytes, depth: usize) -> Result<Json, ValueError> {
    let depth = deeper(depth)?;
    let mut items = Vec::new();
    let mut boxes = amp::boxes(raw);
    let mut start = 0;
    while let Some(next) = boxes.next() {
        let i = items.len();
        let b = next.map_err(|e| ValueError::caused("not a list of boxes", e).index(i))?;
        let end = boxes.offset();
        if b.to_bytes().ok().as_deref() != Some(&raw[start..end]) {
            return Err(ValueError::new("box not in Twisted's canonical form").index(i));
        }
        start = end;
        let mut obj = Map::new();
        for (k, v) in b.iter() {
            let key = std::str::from_utf8(k)
                .map_err(|_| ValueError::new("a key is not UTF-8").index(i))?;
            let v = Bytes::copy_from_slice(v);
            let json = match fields.iter().find(|f| f.name == key) {
                Some(f) => try_from_wire(&f.ty, &v, depth).map_err(|e| e.at(key).index(i))?,
                None => bytes_json(&v),
            };
            obj.insert(key.to_owned(), json);
        }
        items.push(Json::Object(obj));
    }
    Ok(Json::Array(items))
}
