//! Schemas end to end with the real binary: `amp schema import` against
//! Twisted's own test commands, ampoule's and a module of every type
//! (`import.rs`); `amp schema check`, `amp list`, `amp describe` and the
//! examples of docs/SCHEMA.md (`files.rs`).
#[path = "../common/mod.rs"]
mod common;
mod files;
mod import;

use common::{amp, python};
use serde_json::Value;
use std::path::Path;

/// stdout and stderr of a finished command, as text.
pub fn texts(out: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `amp ARGS` with the pinned Python, in `dir`; asserts the exit code.
pub fn run_in(dir: &Path, args: &[&str], code: i32) -> (String, String) {
    let out = amp()
        .env("AMP_PYTHON", python())
        .current_dir(dir)
        .args(args)
        .assert()
        .code(code);
    texts(out.get_output())
}

/// `amp ARGS` in a scratch directory; asserts the exit code.
pub fn run(args: &[&str], code: i32) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    run_in(dir.path(), args, code)
}

/// The command named `name` in an imported schema.
pub fn command<'a>(schema: &'a Value, name: &str) -> &'a Value {
    schema["commands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no command {name} in {schema:#}"))
}

/// The field `name` of a list of fields.
pub fn field<'a>(fields: &'a Value, name: &str) -> &'a Value {
    fields
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no field {name} in {fields:#}"))
}

pub fn names(schema: &Value) -> Vec<String> {
    schema["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}
