//! Command-line arguments of a request, as xh and httpie write them:
//!
//! | item | the value |
//! |---|---|
//! | `NAME=TEXT` | the text itself is the wire value |
//! | `NAME:=JSON` | JSON, converted by the schema's type for NAME |
//! | `NAME=@FILE` | the file's bytes are the wire value (`@-`: standard input) |
//! | `NAME:=@FILE` | the file holds the JSON |
//! | `-d '{...}'`, `-d @FILE`, `-d @-` | every argument at once, as one JSON object (items override it) |
//!
//! In NAME, a backslash takes the next character literally: `a\=b=1` is
//! the argument `a=b`, `a\:=1` the argument `a:` (with the text `1`). A
//! value starting with `\@` is the text from the `@` on, not a file.
//!
//! Files are bounded: a wire value at most the box size limit (4 MiB),
//! JSON at most [`MAX_JSON`]. Standard input can be read once.

use bytes::Bytes;
use serde_json::Value as Json;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::exit::{CliError, CliResult};
use crate::value::max_box_size;

/// The most bytes of JSON read from a file or standard input (room for a
/// whole box written as escaped JSON strings).
pub const MAX_JSON: usize = 32 << 20;

/// One argument from the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The argument's name (its key on the wire).
    pub name: String,
    /// Its value.
    pub value: ItemValue,
}

/// The value of an [`Item`].
#[derive(Debug, Clone, PartialEq)]
pub enum ItemValue {
    /// Wire bytes as given (`=`).
    Wire(Bytes),
    /// JSON to convert (`:=`).
    Json(Json),
}

/// Parses one item (see the module documentation), reading any file.
pub fn parse_item(item: &str) -> CliResult<Item> {
    let mut name = String::new();
    let mut chars = item.char_indices();
    let (json, rest) = loop {
        match chars.next() {
            Some((_, '\\')) => match chars.next() {
                Some((_, c)) => name.push(c),
                None => name.push('\\'),
            },
            Some((i, ':')) if item[i + 1..].starts_with('=') => break (true, &item[i + 2..]),
            Some((i, '=')) => break (false, &item[i + 1..]),
            Some((_, c)) => name.push(c),
            None => {
                return Err(CliError::usage(format!(
                    "`{item}` is not an argument: write NAME=TEXT, NAME:=JSON, NAME=@FILE or \
                     NAME:=@FILE (see amp call --help)"
                )))
            }
        }
    };
    if name.is_empty() {
        return Err(CliError::usage(format!(
            "`{item}` has no argument name before `=`"
        )));
    }
    let value = match (json, rest.strip_prefix('@')) {
        (false, Some(path)) => ItemValue::Wire(Bytes::from(read_source(path, max_box_size())?)),
        (false, None) => {
            let text = rest
                .strip_prefix("\\@")
                .map_or(rest.to_owned(), |t| format!("@{t}"));
            ItemValue::Wire(Bytes::from(text))
        }
        (true, Some(path)) => ItemValue::Json(json_from(&read_source(path, MAX_JSON)?, path)?),
        (true, None) => ItemValue::Json(serde_json::from_str(rest).map_err(|e| {
            CliError::usage(BadJson {
                what: format!("the value of `{name}`"),
                hint: " (a JSON string needs its quotes: NAME:='\"text\"', or write NAME=text)",
                source: e,
            })
        })?),
    };
    Ok(Item { name, value })
}

/// Parses `-d`: a JSON object given inline, or `@FILE`, or `@-`.
pub fn parse_data(data: &str) -> CliResult<Json> {
    let (v, what) = match data.strip_prefix('@') {
        Some(path) => (json_from(&read_source(path, MAX_JSON)?, path)?, path),
        None => (
            serde_json::from_str(data).map_err(|e| {
                CliError::usage(BadJson {
                    what: "-d".into(),
                    hint: "",
                    source: e,
                })
            })?,
            "-d",
        ),
    };
    if !v.is_object() {
        return Err(CliError::usage(format!(
            "{what}: the arguments must be one JSON object, {{\"name\": value, ...}}"
        )));
    }
    Ok(v)
}

/// JSON read from `path` (named in errors).
fn json_from(bytes: &[u8], path: &str) -> CliResult<Json> {
    serde_json::from_slice(bytes).map_err(|e| {
        CliError::usage(BadJson {
            what: if path == "-" {
                "standard input".into()
            } else {
                path.to_owned()
            },
            hint: "",
            source: e,
        })
    })
}

/// Standard input has been read (it can be read once).
static STDIN_TAKEN: AtomicBool = AtomicBool::new(false);

/// The bytes of the file `path` (`-`: standard input), at most `limit`.
pub fn read_source(path: &str, limit: usize) -> CliResult<Vec<u8>> {
    let (what, reader): (String, Box<dyn Read>) = if path == "-" {
        if STDIN_TAKEN.swap(true, Ordering::SeqCst) {
            return Err(CliError::usage(
                "standard input (@-) can be used once per command",
            ));
        }
        ("standard input".into(), Box::new(std::io::stdin()))
    } else {
        let f = std::fs::File::open(path)
            .map_err(|e| CliError::usage(format!("cannot open {path}: {e}")))?;
        (path.to_owned(), Box::new(f))
    };
    let mut out = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| CliError::usage(format!("cannot read {what}: {e}")))?;
    if out.len() > limit {
        return Err(CliError::usage(format!(
            "{what} is over {limit} bytes, more than one argument can hold"
        )));
    }
    Ok(out)
}

/// JSON that does not parse.
#[derive(Debug)]
struct BadJson {
    what: String,
    hint: &'static str,
    source: serde_json::Error,
}

impl std::fmt::Display for BadJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is not valid JSON{}", self.what, self.hint)
    }
}

impl std::error::Error for BadJson {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn wire(name: &str, v: &str) -> Item {
        Item {
            name: name.into(),
            value: ItemValue::Wire(Bytes::from(v.to_owned())),
        }
    }

    #[test]
    fn item_forms() {
        let js = |name: &str, v: Json| Item {
            name: name.into(),
            value: ItemValue::Json(v),
        };
        let table = [
            ("a=13", wire("a", "13")),
            ("a:=13", js("a", json!(13))),
            ("a:=\"x\"", js("a", json!("x"))),
            ("a=", wire("a", "")),
            ("a==b", wire("a", "=b")),
            ("a=x:=y", wire("a", "x:=y")),
            ("a:=[1,2]", js("a", json!([1, 2]))),
            (r"a\=b=1", wire("a=b", "1")),
            (r"a\:=1", wire("a:", "1")),
            (r"a\\=1", wire(r"a\", "1")),
            (r"a=\@home", wire("a", "@home")),
            ("dash-arg=v", wire("dash-arg", "v")),
        ];
        for (item, want) in table {
            assert_eq!(parse_item(item).unwrap(), want, "{item}");
        }
        for bad in ["a", "=1", ":=1", "a:=", "a:=x", "a:=@/nonexistent/file"] {
            let e = parse_item(bad).unwrap_err();
            assert_eq!(e.exit, crate::exit::Exit::Usage, "{bad}");
        }
    }

    #[test]
    fn files() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::write(&bin, b"\xff\x00").unwrap();
        let js = dir.path().join("v.json");
        std::fs::write(&js, b"[1, 2]").unwrap();
        let item = parse_item(&format!("a=@{}", bin.display())).unwrap();
        assert_eq!(item.value, ItemValue::Wire(Bytes::from_static(b"\xff\x00")));
        let item = parse_item(&format!("a:=@{}", js.display())).unwrap();
        assert_eq!(item.value, ItemValue::Json(json!([1, 2])));
        let big = dir.path().join("big");
        std::fs::write(&big, vec![0u8; max_box_size() + 1]).unwrap();
        let e = parse_item(&format!("a=@{}", big.display())).unwrap_err();
        assert!(e.to_string().contains("over"), "{e}");
    }

    #[test]
    fn data() {
        assert_eq!(parse_data(r#"{"a": 1}"#).unwrap(), json!({"a": 1}));
        assert!(parse_data("[1]").is_err());
        assert!(parse_data("{").is_err());
    }
}
