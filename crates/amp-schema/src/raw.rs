//! Fields and types as written in a file, checked on the way in: a type's
//! keys must suit its `type` (`of` only on a `ListOf`, `fields` only on an
//! `AmpList`, `class` only on a `Raw`) and the `type` must be one of
//! [`ArgType::NAMES`], else the error names the closest. This is how
//! [`Field`] and [`ArgType`] are deserialized: read as [`RawField`] and
//! [`RawType`], then converted.

use serde::de::{Deserializer, Error as _};
use serde::Deserialize;

use crate::model::{ArgType, Field};

/// A type as written in a file, before its keys are checked against its
/// `type`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawType {
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    of: Option<Box<ArgType>>,
    #[serde(default)]
    fields: Option<Vec<Field>>,
    #[serde(default)]
    class: Option<String>,
}

/// A field as written in a file: a name, `optional`, and a type's keys.
/// It lists `RawType`'s keys again instead of `#[serde(flatten)]`ing a
/// `RawType`: serde does not support `deny_unknown_fields` together with
/// `flatten`, and unknown keys must stay errors.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawField {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    of: Option<Box<ArgType>>,
    #[serde(default)]
    fields: Option<Vec<Field>>,
    #[serde(default)]
    class: Option<String>,
}

impl TryFrom<RawType> for ArgType {
    type Error = String;

    fn try_from(raw: RawType) -> Result<ArgType, String> {
        let RawType {
            ty,
            of,
            fields,
            class,
        } = raw;
        let stray = |key: &str, only: &str| {
            Err(format!(
                "type {ty} takes no `{key}` (`{key}` belongs to {only})"
            ))
        };
        if of.is_some() && ty != "ListOf" {
            return stray("of", "ListOf: its element type");
        }
        if fields.is_some() && ty != "AmpList" {
            return stray("fields", "AmpList: the fields of each element");
        }
        if class.is_some() && ty != "Raw" {
            return stray("class", "Raw: the Python class it stands for");
        }
        if let Some(t) = ArgType::simple(&ty) {
            return Ok(t);
        }
        match ty.as_str() {
            "ListOf" => match of {
                Some(of) => Ok(ArgType::ListOf { of }),
                None => Err("a ListOf needs `of`, its element type, say \
                     \"of\": {\"type\": \"Integer\"}"
                    .to_owned()),
            },
            "AmpList" => match fields {
                Some(fields) => Ok(ArgType::AmpList { fields }),
                None => Err(
                    "an AmpList needs `fields`, the fields of each element, say \
                     \"fields\": [{\"name\": \"x\", \"type\": \"Integer\"}]"
                        .to_owned(),
                ),
            },
            "Raw" => Ok(ArgType::Raw { class }),
            other => Err(unknown_type(other)),
        }
    }
}

/// The message for a `type` no schema knows, with the closest name.
fn unknown_type(name: &str) -> String {
    let close = ArgType::NAMES
        .iter()
        .map(|n| {
            (
                strsim::jaro_winkler(&n.to_lowercase(), &name.to_lowercase()),
                n,
            )
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let hint = match close {
        Some((_, n)) => format!(" (did you mean {n}?)"),
        None => String::new(),
    };
    format!(
        "unknown type `{name}`{hint}; the types are {}",
        ArgType::NAMES.join(", ")
    )
}

impl TryFrom<RawField> for Field {
    type Error = String;

    fn try_from(raw: RawField) -> Result<Field, String> {
        let ty = ArgType::try_from(RawType {
            ty: raw.ty,
            of: raw.of,
            fields: raw.fields,
            class: raw.class,
        })?;
        Ok(Field {
            name: raw.name,
            ty,
            optional: raw.optional,
        })
    }
}

impl<'de> Deserialize<'de> for ArgType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ArgType::try_from(RawType::deserialize(d)?).map_err(D::Error::custom)
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Field::try_from(RawField::deserialize(d)?).map_err(D::Error::custom)
    }
}
