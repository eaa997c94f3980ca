//! The values of the `Types` command (interop/cli_values_schema.json)
//! that Twisted's peers send and answer, as `amp` prints them in JSON:
//! what `amp call --json` and `amp decode --json` must both give.

use serde_json::{json, Value};

/// The arguments of the `Types` request, as JSON (the answer echoes them
/// and adds a `summary`).
pub fn types_json() -> Value {
    json!({
        "num": "-123456789012345678901234567890", "raw": {"base64": "/wBiaW4="},
        "text": "café\nline", "flag": true, "real": 0.1, "dec": "1.10",
        "when": "2024-02-29T13:05:09.123456-00:00", "ints": [1, 2, 300],
        "nested": [["a", "é"], []],
        "items": [{"n": 1, "tags": ["x", "y"], "note": "first"}, {"n": 2, "tags": []}]
    })
}
