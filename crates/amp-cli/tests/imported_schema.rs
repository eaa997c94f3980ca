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

/// `amp schema import MODULE` run from interop/ with the pinned Python:
/// (exit code, the schema written, stderr).
fn import(module: &str) -> (i32, serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("schema.json");
    let out = amp()
        .current_dir(common::workspace().join("interop"))
        .env("AMP_PYTHON", common::python())
        .args(["schema", "import", module, "-o"])
        .arg(&out_file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let schema = std::fs::read_to_string(&out_file)
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), schema, stderr)
}

/// (name, type) of each argument of `command` in `schema`.
fn arguments(schema: &serde_json::Value, command: &str) -> Vec<(String, String)> {
    let c = schema["commands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == command)
        .unwrap_or_else(|| panic!("no {command} in {schema}"));
    c["arguments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_owned(),
                a["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn custom_argument_classes_are_probed_not_named() {
    let (code, schema, stderr) = import("custom_args");
    assert_eq!(code, 0, "{stderr}");
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(
        arguments(&schema, "Store"),
        pairs(&[
            ("count", "Integer"), // a subclass of Integer that changes nothing
            ("label", "Unicode"), // no subclass of Unicode, but its wire form
            ("blob", "Raw"),      // compressed and chunked
            ("flag", "Raw"),      // yes/no
            ("note", "Unicode"),
        ])
    );
    assert!(
        stderr.contains("custom_args.Compressed is not a type amp knows"),
        "{stderr}"
    );
    assert!(
        stderr.contains("custom_args.YesNo is not a type amp knows"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("Count") && !stderr.contains("Text"),
        "{stderr}"
    );
}

#[test]
fn schemas_in_the_wild_trial_workers_and_ampoule() {
    let (code, worker, err) = import("twisted.trial._dist.workercommands");
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        arguments(&worker, "Run"),
        [("testCase".to_owned(), "Unicode".to_owned())]
    );
    let (code, manager, err) = import("twisted.trial._dist.managercommands");
    assert_eq!(code, 0, "{err}");
    let add_error = arguments(&manager, "AddError");
    assert!(
        add_error.contains(&("errorStreamId".to_owned(), "Integer".to_owned())),
        "{add_error:?}"
    );
    assert!(!err.contains("Raw"), "{err}");
    let (code, ampoule, err) = import("ampoule.commands");
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        arguments(&ampoule, "Echo"),
        [("data".to_owned(), "String".to_owned())]
    );
}
