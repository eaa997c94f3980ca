//! `amp decode` and `amp encode` end to end: boxes Twisted wrote (with
//! its own serialisation, interop/cli_values_boxes.py) decoded, typed by a
//! schema, as text and JSON; decode | encode giving the same bytes; our
//! bytes parsed by Twisted; malformed input.
mod common;
mod types;

use common::amp;
use serde_json::{json, Value as Json};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A scratch directory with the boxes Twisted wrote, and the schema of
/// their commands (written by hand, in the schema format).
struct Files {
    dir: tempfile::TempDir,
    schema: PathBuf,
    boxes: PathBuf,
}

fn files() -> Files {
    let dir = tempfile::tempdir().unwrap();
    let schema = common::workspace().join("interop/cli_values_schema.json");
    let boxes = dir.path().join("twisted.amp");
    let out = boxes_script(&["write", boxes.to_str().unwrap()]);
    assert_eq!(out, "WROTE 7\n");
    Files { dir, schema, boxes }
}

/// Runs interop/cli_values_boxes.py with the pinned Python; its stdout.
fn boxes_script(args: &[&str]) -> String {
    let out = Command::new(common::python())
        .arg(common::script("cli_values_boxes.py"))
        .args(args)
        .current_dir(common::workspace().join("interop"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cli_values_boxes.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `amp [--schema S] ARGS...` with `stdin`: exit code, stdout, stderr.
fn run(schema: Option<&Path>, args: &[&str], stdin: &[u8]) -> (i32, Vec<u8>, String) {
    let mut c = amp();
    if let Some(s) = schema {
        c.arg("--schema").arg(s);
    }
    let out = c.args(args).write_stdin(stdin.to_vec()).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn text(b: Vec<u8>) -> String {
    String::from_utf8(b).unwrap()
}

#[test]
fn decodes_what_twisted_wrote_as_text() {
    let f = files();
    let path = f.boxes.to_str().unwrap();
    let (code, out, err) = run(Some(&f.schema), &["decode", path], b"");
    assert_eq!(code, 0, "{err}");
    let want = [
        "#1 @0 request Types (tag 1)\n",
        "dec: 1.10\nflag: True\nints: [1,2,300]\n",
        "items: [{\"n\":1,\"note\":\"first\",\"tags\":[\"x\",\"y\"]},{\"n\":2,\"tags\":[]}]\n",
        "nested: [[\"a\",\"é\"],[]]\nnum: -123456789012345678901234567890\n",
        "raw: b'\\xff\\x00bin'\nreal: 0.1\ntext: \"café\\nline\"\n",
        "when: 2024-02-29T13:05:09.123456-00:00\n\n",
        "#2 @270 answer to #1 Types (tag 1)\n",
    ]
    .concat();
    let out = text(out);
    assert!(out.starts_with(&want), "{out}");
    for part in [
        "summary: ok\n",
        "#3 @539 request getlist (tag 2)\nlength: 2\n\n",
        "#4 @580 answer to #3 getlist (tag 2)\nbody: [{\"x\":1},{\"x\":1}]\n\n",
        "#5 @618 request Divide (tag 3)\ndenominator: 0\nnumerator: 1\n\n",
        "#6 @677 error to #5 Divide (tag 3)\n_error_code: ZERO_DIVISION\n\
         _error_description: float division by zero\n\n",
        "#7 @762 request hello (no answer wanted)\nhello: b'\\xfe\\xff hi'\n\n",
    ] {
        assert!(out.contains(part), "{part:?} in\n{out}");
    }
    // The same from standard input, without a schema: untyped values.
    let stream = std::fs::read(&f.boxes).unwrap();
    let (code, out, _) = run(None, &["decode", "-"], &stream);
    assert_eq!(code, 0);
    let out = text(out);
    for part in [
        "ints: \"\\u0000\\u00011\\u0000\\u00012\\u0000\\u0003300\"\n",
        "#4 @580 answer to #3 getlist (tag 2)\nbody: \"",
    ] {
        assert!(out.contains(part), "{part:?} in\n{out}");
    }
}

#[test]
fn decodes_what_twisted_wrote_as_json() {
    let f = files();
    let (code, out, err) = run(
        Some(&f.schema),
        &["decode", "--json", f.boxes.to_str().unwrap()],
        b"",
    );
    assert_eq!(code, 0, "{err}");
    let records: Vec<Json> = text(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 7);
    let types = types::types_json();
    assert_eq!(
        records[0],
        json!({"offset": 0, "n": 1, "kind": "request", "command": "Types", "tag": "1", "fields": types})
    );
    let mut answer = types.clone();
    answer["summary"] = json!("ok");
    assert_eq!(
        records[1],
        json!({"offset": 270, "n": 2, "kind": "answer", "command": "Types", "request": 1, "tag": "1", "fields": answer})
    );
    assert_eq!(records[3]["fields"], json!({"body": [{"x": 1}, {"x": 1}]}));
    assert_eq!(
        records[5],
        json!({"offset": 677, "n": 6, "kind": "error", "command": "Divide", "request": 5, "tag": "3",
               "code": "ZERO_DIVISION", "description": "float division by zero", "fields": {}})
    );
    assert_eq!(
        records[6],
        json!({"offset": 762, "n": 7, "kind": "request", "command": "hello",
               "fields": {"hello": {"base64": "/v8gaGk="}}})
    );
}

#[test]
fn decode_then_encode_gives_the_same_bytes() {
    let f = files();
    let original = std::fs::read(&f.boxes).unwrap();
    for schema in [Some(f.schema.as_path()), None] {
        let (code, records, err) = run(schema, &["decode", "--json", "-"], &original);
        assert_eq!(code, 0, "{err}");
        let (code, again, err) = run(schema, &["encode"], &records);
        assert_eq!(code, 0, "{err}");
        assert!(again == original, "schema {schema:?}: byte for byte");
    }
}

#[test]
fn twisted_parses_what_we_encode() {
    let f = files();
    let lines = [
        r#"{"kind":"request","command":"Types","tag":"7","fields":{"num":"123456789012345678901234567890","raw":{"base64":"/wA="},"text":"é","flag":false,"real":"-inf","dec":"-0.00","when":"2001-02-03T04:05:06+01:00","ints":[],"nested":[["x"]],"items":[{"n":-1,"tags":["t"]}],"opt":null}}"#,
        "",
        r#"{"_command":"Sum","_ask":"a","a":13,"b":81}"#,
        r#"{"kind":"answer","tag":"a","fields":{"total":94,"bin":{"base64":"AAE="}}}"#,
        r#"{"kind":"error","tag":"b","code":"X","description":"why\nnot","fields":{}}"#,
    ]
    .join("\n");
    let (code, wire, err) = run(Some(&f.schema), &["encode"], lines.as_bytes());
    assert_eq!(code, 0, "{err}");
    let out_path = f.dir.path().join("ours.amp");
    std::fs::write(&out_path, &wire).unwrap();
    let parsed = boxes_script(&["parse", out_path.to_str().unwrap()]);
    let want = [
        r#"BOX {"_ask": "7", "_command": "Types", "dec": "-0.00", "flag": "False", "ints": "", "items": "\u0000\u0001n\u0000\u0002-1\u0000\u0004tags\u0000\u0003\u0000\u0001t\u0000\u0000", "nested": "\u0000\u0003\u0000\u0001x", "num": "123456789012345678901234567890", "raw": "\u00ff\u0000", "real": "-inf", "text": "\u00c3\u00a9", "when": "2001-02-03T04:05:06.000000+01:00"}"#,
        r#"ARGS dec=Decimal('-0.00') flag=False ints=[] items=[{'n': -1, 'note': None, 'tags': ['t']}] nested=[['x']] num=123456789012345678901234567890 opt=None raw=b'\xff\x00' real=-inf text='é' when=datetime(2001-02-03T04:05:06+01:00)"#,
        r#"BOX {"_ask": "a", "_command": "Sum", "a": "13", "b": "81"}"#,
        r#"BOX {"_answer": "a", "bin": "\u0000\u0001", "total": "94"}"#,
        r#"BOX {"_error": "b", "_error_code": "X", "_error_description": "why\nnot"}"#,
        "",
    ]
    .join("\n");
    assert_eq!(parsed, want);
}

#[test]
fn big_values_join_and_split_again() {
    let f = files();
    let data = "z".repeat(150_000);
    let line = json!({"kind": "request", "command": "Big", "tag": "1", "fields": {"data": data}});
    let (code, wire, _) = run(Some(&f.schema), &["encode"], line.to_string().as_bytes());
    assert_eq!(code, 0);
    let (code, out, _) = run(Some(&f.schema), &["decode", "--json"], &wire);
    assert_eq!(code, 0);
    let rec: Json = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        rec["fields"],
        json!({"data": data}),
        "three chunks read as one value"
    );
    let (_, out, _) = run(None, &["decode", "--json"], &wire);
    let rec: Json = serde_json::from_slice(&out).unwrap();
    let keys: Vec<&String> = rec["fields"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["data", "data.2", "data.3"], "untyped: the chunks");
}

#[test]
fn malformed_input_exits_2_after_the_good_boxes() {
    let f = files();
    let stream = std::fs::read(&f.boxes).unwrap();
    // Cut inside box #3 (getlist, at byte 539).
    let cut = &stream[..560];
    let (code, out, err) = run(Some(&f.schema), &["decode"], cut);
    assert_eq!(code, 2);
    let out = text(out);
    assert!(
        out.contains("#2 @270 answer to #1 Types") && !out.contains("#3"),
        "{out}"
    );
    assert_eq!(
        err,
        "malformed at byte 539: the input ends in the middle of an AMP box (21 bytes unparsed)\n"
    );
    // A key longer than AMP allows, after one good box.
    let mut bad = stream[..270].to_vec();
    bad.extend_from_slice(b"\x01\x00");
    bad.extend_from_slice(&[b'k'; 256]);
    let (code, out, err) = run(None, &["decode", "--json"], &bad);
    assert_eq!(code, 2);
    assert_eq!(text(out).lines().count(), 1);
    assert_eq!(
        err,
        "malformed at byte 270: an AMP key length of 256 (at most 255 allowed)\n"
    );
    let (code, _, err) = run(None, &["decode", "/nonexistent/file.amp"], b"");
    assert_eq!(code, 2);
    assert!(err.contains("cannot open /nonexistent/file.amp"), "{err}");
}

#[test]
fn encode_errors_name_the_line() {
    let cases: &[(&str, &str)] = &[
        ("{\"_command\":\"X\"}\nnot json\n", "line 2: "),
        ("[1]\n", "line 1: expected an object"),
        (
            "{\"kind\":\"reply\",\"fields\":{}}\n",
            "line 1: `kind` is request, answer, error or box, not reply",
        ),
        (
            "{\"kind\":\"answer\",\"fields\":{}}\n",
            "line 1: an answer record needs `tag`",
        ),
        ("{\"v\":[1]}\n", "line 1: `v`: an array needs a schema"),
        (
            "{\"kind\":\"box\",\"fields\":{\"v\":{\"base64\":\"?\"}}}\n",
            "line 1: `fields.v`: {\"base64\": ...} does not hold base64",
        ),
    ];
    for (input, want) in cases {
        let (code, _, err) = run(None, &["encode"], input.as_bytes());
        assert_eq!(code, 2, "{input}");
        assert!(err.contains(want), "{input}: {err}");
    }
}
