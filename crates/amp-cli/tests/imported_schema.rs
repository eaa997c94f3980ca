//! The whole schema workflow against live Twisted: `amp schema import`
//! describes `twisted.test.test_amp` from its Python classes, then `amp
//! call` makes typed calls through that schema to Twisted's own test
//! protocol (`SimpleSymmetricCommandProtocol`, served by
//! interop/cli_values_peer.py).
mod common;

use common::{amp, Proc};
use std::path::Path;

/// `amp --schema S call ADDR ARGS...`: exit code, stdout, stderr.
fn call(schema: &Path, addr: &str, args: &[&str]) -> (i32, String, String) {
    let out = amp()
        .arg("--schema")
        .arg(schema)
        .arg("call")
        .arg(addr)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn typed_calls_through_a_schema_imported_from_twisted_tests() {
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("test_amp.json");
    let import = amp()
        .env("AMP_PYTHON", common::python())
        .args(["schema", "import", "twisted.test.test_amp", "-o"])
        .arg(&schema)
        .output()
        .unwrap();
    assert_eq!(
        import.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    // The imported file is a valid schema that declares what we call.
    let described = amp()
        .arg("--schema")
        .arg(&schema)
        .args(["describe", "getlist", "--json"])
        .output()
        .unwrap();
    assert_eq!(described.status.code(), Some(0));
    let getlist: serde_json::Value = serde_json::from_slice(&described.stdout).unwrap();
    assert_eq!(getlist["name"], "getlist");
    assert_eq!(getlist["response"][0]["type"], "AmpList");

    let example = common::twisted_example("ampserver.py");
    let mut peer = Proc::python(
        &common::script("cli_values_peer.py"),
        &[example.to_str().unwrap()],
    );
    let addr = peer.port();

    // An AmpList answer, typed: integers come back as JSON numbers.
    assert_eq!(
        call(&schema, &addr, &["getlist", "length:=3", "--json"]),
        (
            0,
            "{\"body\":[{\"x\":1},{\"x\":1},{\"x\":1}]}\n".into(),
            "".into()
        )
    );
    // An optional AmpList argument, given as JSON, and left out.
    assert_eq!(
        call(
            &schema,
            &addr,
            &[
                "dontrejectme",
                "magicWord=please",
                r#"list:=[{"name":"bob"}]"#
            ]
        ),
        (0, "response: bob accepted\n".into(), "".into())
    );
    assert_eq!(
        call(&schema, &addr, &["dontrejectme", "magicWord=please"]),
        (0, "response: list omitted\n".into(), "".into())
    );
    // Unicode typed by the schema.
    let (code, out, err) = call(&schema, &addr, &["hello", "hello=hi", "print:=\"ü\""]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("hello: hi\n") && out.contains("print: ü\n"),
        "{out}"
    );
    // The schema knows Hello's errors: DEAD is declared (and fatal).
    let (code, out, err) = call(&schema, &addr, &["hello", "hello=die", "--json"]);
    assert_eq!(code, 1);
    assert!(
        out.contains(r#""code":"DEAD""#) && out.contains(r#""declared":true"#),
        "{out}"
    );
    assert_eq!(err, "DEAD: aieeeeeeeee\n");
    // An argument the schema does not declare is refused before sending.
    let (code, _, err) = call(&schema, &addr, &["getlist", "length:=1", "nope=1"]);
    assert_eq!(code, 2);
    assert!(err.contains("nope") && err.contains("length"), "{err}");
    assert!(peer.finish());
}
