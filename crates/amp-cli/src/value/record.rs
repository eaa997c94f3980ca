//! A box as one JSON record, the shape `amp decode --json` writes and
//! `amp encode` reads:
//!
//! ```json
//! {"offset": 0, "n": 1, "kind": "request", "command": "Sum", "tag": "1", "fields": {"a": 13, "b": 81}}
//! {"offset": 40, "n": 2, "kind": "answer", "command": "Sum", "request": 1, "tag": "1", "fields": {"total": 94}}
//! {"offset": 63, "n": 3, "kind": "error", "command": "Divide", "tag": "2", "code": "ZERO_DIVISION", "description": "...", "fields": {}}
//! ```
//!
//! `kind` follows Twisted's dispatch: a box with `_answer` is an answer,
//! else one with `_error` an error, else one with `_command` a request
//! (`tag` is its `_ask`, absent when it wants no answer), else a plain
//! `box`. Those keys (and `_error_code`, `_error_description` of an error)
//! are in the record's head; every other key is in `fields`, and a key that
//! is not UTF-8 in `binary`, as `[key, value]` pairs. `command` of an answer
//! or error is the command of the request it answers (matched by tag, the
//! latest request with that tag), and `request` that request's number.
//! `offset`, `n` and `request` are ignored when encoding.

use amp::AmpBox;
use bytes::Bytes;
use serde_json::{Map, Value as Json};
use std::collections::{HashMap, VecDeque};

use super::fields::{build_box, Given, ReadBox};
use super::marker::{bytes_json, json_bytes, kind};
use super::{Mode, ValueError};
use crate::schema::{Field, Schema};

/// What a box is, as Twisted dispatches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `_command` (with `_ask` if it wants an answer).
    Request,
    /// `_answer`.
    Answer,
    /// `_error`, with `_error_code` and `_error_description`.
    Error,
    /// None of those.
    Box,
}

impl Kind {
    /// "a request", "an answer", ...: for messages.
    pub fn article(self) -> &'static str {
        match self {
            Kind::Request => "a request",
            Kind::Answer => "an answer",
            Kind::Error => "an error",
            Kind::Box => "a box",
        }
    }

    /// The name used in records.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Request => "request",
            Kind::Answer => "answer",
            Kind::Error => "error",
            Kind::Box => "box",
        }
    }
}

/// The routing part of a box.
#[derive(Debug, Clone)]
pub struct Head {
    /// What the box is.
    pub kind: Kind,
    /// `_ask`, `_answer` or `_error`.
    pub tag: Option<Bytes>,
    /// `_command` of a request (of the request answered, once matched).
    pub command: Option<Bytes>,
    /// `_error_code`.
    pub code: Option<Bytes>,
    /// `_error_description`.
    pub description: Option<Bytes>,
}

impl Head {
    /// The head of `b`.
    pub fn of(b: &AmpBox) -> Head {
        let mut h = Head {
            kind: Kind::Box,
            tag: None,
            command: None,
            code: None,
            description: None,
        };
        if let Some(t) = b.get_bytes("_answer") {
            h.kind = Kind::Answer;
            h.tag = Some(t);
        } else if let Some(t) = b.get_bytes("_error") {
            h.kind = Kind::Error;
            h.tag = Some(t);
            h.code = b.get_bytes("_error_code");
            h.description = b.get_bytes("_error_description");
        } else if let Some(c) = b.get_bytes("_command") {
            h.kind = Kind::Request;
            h.command = Some(c);
            h.tag = b.get_bytes("_ask");
        }
        h
    }

    /// The keys the head stands for (left out of `fields`).
    pub fn keys(&self) -> &'static [&'static str] {
        match self.kind {
            Kind::Request => &["_command", "_ask"],
            Kind::Answer => &["_answer"],
            Kind::Error => &["_error", "_error_code", "_error_description"],
            Kind::Box => &[],
        }
    }

    /// The schema's fields for this box's values: a request's arguments,
    /// an answer's response (once `command` is known); none otherwise.
    pub fn fields<'s>(&self, schema: Option<&'s Schema>) -> Option<&'s [Field]> {
        let name = std::str::from_utf8(self.command.as_deref()?).ok()?;
        let c = schema?.command(name)?;
        match self.kind {
            Kind::Request => Some(&c.arguments),
            Kind::Answer => Some(&c.response),
            Kind::Error | Kind::Box => None,
        }
    }

    /// The record of a box with this head and these values; `extra` adds
    /// `offset`, `n`, `request`.
    pub fn record(&self, values: &ReadBox, extra: Map<String, Json>) -> Json {
        let mut m = extra;
        m.insert("kind".into(), Json::from(self.kind.name()));
        let put = |m: &mut Map<String, Json>, k: &str, v: &Option<Bytes>| {
            if let Some(v) = v {
                m.insert(k.into(), bytes_json(v));
            }
        };
        put(&mut m, "command", &self.command);
        put(&mut m, "tag", &self.tag);
        put(&mut m, "code", &self.code);
        put(&mut m, "description", &self.description);
        let (fields, binary) = values.to_json();
        m.insert("fields".into(), Json::Object(fields));
        if !binary.is_empty() {
            m.insert("binary".into(), Json::Array(binary));
        }
        Json::Object(m)
    }
}

/// Requests waiting for their answer, by tag (at most [`Asks::CAP`]; the
/// oldest are forgotten first).
#[derive(Debug, Default)]
pub struct Asks {
    by_tag: HashMap<Bytes, (u64, Bytes)>,
    order: VecDeque<Bytes>,
}

impl Asks {
    /// The most requests remembered.
    pub const CAP: usize = 65_536;

    /// Remember request number `n` of `command`, asked with `tag`.
    pub fn ask(&mut self, tag: Bytes, n: u64, command: Bytes) {
        if self.by_tag.insert(tag.clone(), (n, command)).is_none() {
            self.order.push_back(tag);
        }
        while self.order.len() > Self::CAP {
            if let Some(old) = self.order.pop_front() {
                self.by_tag.remove(&old);
            }
        }
    }

    /// The request (number, command) that `tag` answers, forgotten.
    pub fn answer(&mut self, tag: &Bytes) -> Option<(u64, Bytes)> {
        let found = self.by_tag.remove(tag)?;
        self.order.retain(|t| t != tag);
        Some(found)
    }
}

/// A record's member `key` as bytes, if present.
fn member(m: &Map<String, Json>, key: &str) -> Result<Option<Bytes>, ValueError> {
    m.get(key)
        .map(|v| json_bytes(v).map_err(|e| e.at(key)))
        .transpose()
}

/// Whether `m` is a record (a `kind` string and a `fields` object) rather
/// than a plain object of fields.
pub fn is_record(m: &Map<String, Json>) -> bool {
    m.get("kind").is_some_and(Json::is_string) && m.get("fields").is_some_and(Json::is_object)
}

/// The box a record, or a plain object of fields, stands for (`asks`
/// types answers that name no command by the request they answer).
pub fn record_box(
    v: &Json,
    schema: Option<&Schema>,
    asks: &mut Asks,
) -> Result<AmpBox, ValueError> {
    let Json::Object(m) = v else {
        return Err(ValueError::new(format!(
            "expected an object (a record or the fields of a box), got {}",
            kind(v)
        )));
    };
    if !is_record(m) {
        let mut head = Head::of(&AmpBox::new());
        if let Some(c) = m.get("_command") {
            head.kind = Kind::Request;
            head.command = Some(json_bytes(c).map_err(|e| e.at("_command"))?);
        }
        let given: Vec<(String, Given<'_>)> =
            m.iter().map(|(k, v)| (k.clone(), Given::Json(v))).collect();
        return build_box(head.fields(schema), &given, Mode::Encode, false, 0);
    }
    let kind = match m.get("kind").and_then(Json::as_str) {
        Some("request") => Kind::Request,
        Some("answer") => Kind::Answer,
        Some("error") => Kind::Error,
        Some("box") => Kind::Box,
        other => {
            return Err(ValueError::new(format!(
                "`kind` is request, answer, error or box, not {}",
                other.unwrap_or_default()
            )))
        }
    };
    let mut head = Head {
        kind,
        tag: member(m, "tag")?,
        command: member(m, "command")?,
        code: member(m, "code")?,
        description: member(m, "description")?,
    };
    let need = |v: &Option<Bytes>, what: &str| {
        v.clone()
            .ok_or_else(|| ValueError::new(format!("{} record needs `{what}`", kind.article())))
    };
    let mut entries: Vec<(&str, Bytes)> = Vec::new();
    match kind {
        Kind::Request => {
            let command = need(&head.command, "command")?;
            if let Some(tag) = &head.tag {
                asks.ask(tag.clone(), 0, command.clone());
                entries.push(("_ask", tag.clone()));
            }
            entries.push(("_command", command));
        }
        Kind::Answer | Kind::Error => {
            let tag = need(&head.tag, "tag")?;
            let asked = asks.answer(&tag).map(|(_, c)| c);
            if head.command.is_none() {
                head.command = asked;
            }
            if kind == Kind::Answer {
                entries.push(("_answer", tag));
            } else {
                entries.push(("_error", tag));
                entries.push(("_error_code", need(&head.code, "code")?));
                if let Some(d) = &head.description {
                    entries.push(("_error_description", d.clone()));
                }
            }
        }
        Kind::Box => {}
    }
    let Some(Json::Object(fields)) = m.get("fields") else {
        return Err(ValueError::new("a record needs `fields`, an object"));
    };
    let given: Vec<(String, Given<'_>)> = fields
        .iter()
        .map(|(k, v)| (k.clone(), Given::Json(v)))
        .collect();
    let mut b = build_box(head.fields(schema), &given, Mode::Encode, false, 0)
        .map_err(|e| e.at("fields"))?;
    if let Some(binary) = m.get("binary") {
        let pairs = binary.as_array().ok_or_else(|| {
            ValueError::new("expected an array of [key, value] pairs").at("binary")
        })?;
        for (i, p) in pairs.iter().enumerate() {
            let bad = || {
                ValueError::new("expected a [key, value] pair")
                    .index(i)
                    .at("binary")
            };
            let [k, v] = p.as_array().map(Vec::as_slice).ok_or_else(bad)? else {
                return Err(bad());
            };
            let k = json_bytes(k).map_err(|e| e.index(i).at("binary"))?;
            let v = json_bytes(v).map_err(|e| e.index(i).at("binary"))?;
            b.insert(k, v);
        }
    }
    for (k, v) in entries {
        b.insert(k, v);
    }
    Ok(b)
}
