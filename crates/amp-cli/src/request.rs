//! Building a request box from command-line items (`ARG=TEXT`,
//! `ARG:=JSON`, `ARG=@FILE`, `ARG:=@FILE`, see [`crate::items`]) and a JSON
//! object (`-d`), typed by the schema's declaration of the command when
//! there is one (untyped otherwise: see [`crate::value`]).

use amp::AmpBox;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::fmt;

use crate::exit::{CliError, CliResult};
use crate::items::{parse_item, ItemValue};
use crate::schema::Schema;
use crate::schema::RESERVED_KEYS;
use crate::value::{build_box, Given, Mode, ValueError};

/// The arguments of a call to `command`, from `items` and the JSON object
/// `data` (`-d`; an item overrides the same name in it), typed by
/// `schema`'s declaration of `command` if any. With a declaration, an
/// argument it does not declare and a missing required one are errors.
/// The box holds the arguments only (no `_command`, no `_ask`).
pub fn request_box(
    schema: Option<&Schema>,
    command: &str,
    items: &[String],
    data: Option<&serde_json::Value>,
) -> CliResult<AmpBox> {
    let fields = schema
        .and_then(|s| s.command(command))
        .map(|c| c.arguments.as_slice());
    let parsed = items
        .iter()
        .map(|i| parse_item(i))
        .collect::<CliResult<Vec<_>>>()?;
    let mut named: BTreeMap<String, Given<'_>> = BTreeMap::new();
    match data {
        Some(Json::Object(m)) => {
            for (k, v) in m {
                named.insert(k.clone(), Given::Json(v));
            }
        }
        Some(_) => {
            return Err(CliError::usage(
                "-d: the arguments must be one JSON object, {\"name\": value, ...}",
            ))
        }
        None => {}
    }
    for item in &parsed {
        let g = match &item.value {
            ItemValue::Wire(b) => Given::Wire(b.clone()),
            ItemValue::Json(v) => Given::Json(v),
        };
        named.insert(item.name.clone(), g);
    }
    if let Some(k) = named.keys().find(|k| RESERVED_KEYS.contains(&k.as_str())) {
        return Err(CliError::usage(format!(
            "`{k}` is a key AMP itself sets; it cannot be an argument"
        )));
    }
    let given: Vec<(String, Given<'_>)> = named.into_iter().collect();
    build_box(fields, &given, Mode::Call, false, 0).map_err(|e| {
        CliError::usage(BuildError {
            command: command.to_owned(),
            source: e,
        })
    })
}

/// The arguments do not make a request.
#[derive(Debug)]
struct BuildError {
    command: String,
    source: ValueError,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot build the {} request", self.command)
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Schema {
        serde_json::from_value(json!({"commands": [
            {"name": "Sum",
             "arguments": [{"name": "a", "type": "Integer"}, {"name": "b", "type": "Integer"}],
             "response": [{"name": "total", "type": "Integer"}]},
            {"name": "Hello",
             "arguments": [{"name": "hello", "type": "String"},
                           {"name": "print", "type": "Unicode", "optional": true}]}
        ]}))
        .unwrap()
    }

    fn wire(b: &AmpBox) -> Vec<u8> {
        b.to_bytes().unwrap().to_vec()
    }

    fn items(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn typed_and_untyped() {
        let s = schema();
        let b = request_box(Some(&s), "Sum", &items(&["a:=13", "b=81"]), None).unwrap();
        assert_eq!(wire(&b), b"\x00\x01a\x00\x0213\x00\x01b\x00\x0281\x00\x00");
        // Data, overridden by an item.
        let d = json!({"a": 1, "b": "2"});
        let b = request_box(Some(&s), "Sum", &items(&["a:=5"]), Some(&d)).unwrap();
        assert_eq!(b.get("a"), Some(&b"5"[..]));
        assert_eq!(b.get("b"), Some(&b"2"[..]));
        // A command the schema does not know is untyped.
        let b = request_box(Some(&s), "Other", &items(&["x:=[1]"]), None);
        assert!(b.is_err());
        let b = request_box(None, "Other", &items(&["x:=true", "y=z"]), None).unwrap();
        assert_eq!(b.get("x"), Some(&b"True"[..]));
        // Optional null is left out.
        let b = request_box(
            Some(&s),
            "Hello",
            &items(&["hello=hi", "print:=null"]),
            None,
        )
        .unwrap();
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn checked_against_the_schema() {
        let s = schema();
        let e = request_box(Some(&s), "Sum", &items(&["a:=1", "c:=2"]), None).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("`c`: no such argument"), "{msg}");
        assert!(msg.contains("declared: a (Integer), b (Integer)"), "{msg}");
        let msg = request_box(Some(&s), "Sum", &items(&["a:=1"]), None)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("missing required argument: b (Integer)"),
            "{msg}"
        );
        let msg = request_box(Some(&s), "Sum", &items(&["a=x", "b:=1"]), None)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("not a valid Integer"), "{msg}");
        let msg = request_box(Some(&s), "Sum", &items(&["a:=1.5", "b:=1"]), None)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("`a`: 1.5 is not an integer"), "{msg}");
        let e = request_box(None, "X", &items(&["_ask=1"]), None).unwrap_err();
        assert!(e.to_string().contains("AMP itself sets"));
        let long = format!("{}=1", "k".repeat(256));
        let e = request_box(None, "X", &[long], None).unwrap_err();
        assert!(e.to_string().contains("1 to 255 bytes"), "{e}");
        let big = format!("v={}", "x".repeat(65_536));
        let e = request_box(None, "X", &[big], None).unwrap_err();
        assert!(e.to_string().contains("at most 65535 bytes"), "{e}");
    }
}
