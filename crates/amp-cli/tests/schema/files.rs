//! Schema files: `amp schema check`, `amp list`, `amp describe`, and the
//! examples of docs/SCHEMA.md.

use crate::common::{amp, workspace};
use crate::{run, run_in, texts};
use serde_json::Value;
use std::path::PathBuf;

/// The examples of docs/SCHEMA.md: (info string, text) of each fenced block.
fn doc_blocks() -> Vec<(String, String)> {
    let doc = std::fs::read_to_string(workspace().join("docs/SCHEMA.md")).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in doc.lines() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(info)) => current = Some((info.to_owned(), String::new())),
            (Some(_), Some(_)) => blocks.push(current.take().unwrap()),
            (Some((_, text)), None) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, None) => {}
        }
    }
    blocks
}

/// A scratch directory with the JSON example of docs/SCHEMA.md as `name`.
fn example(name: &str) -> (tempfile::TempDir, PathBuf) {
    let (_, json) = doc_blocks().into_iter().find(|(i, _)| i == "json").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, json).unwrap();
    (dir, path)
}

#[test]
fn the_docs_examples_are_valid_and_describe_as_shown() {
    let blocks = doc_blocks();
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for (i, (info, text)) in blocks.iter().enumerate() {
        if info != "json" && info != "toml" {
            continue;
        }
        let path = dir.path().join(format!("example{i}.{info}"));
        std::fs::write(&path, text).unwrap();
        let (out, _) = run(&["schema", "check", path.to_str().unwrap()], 0);
        assert!(out.starts_with("ok: "), "{out}");
        checked += 1;
    }
    assert_eq!(checked, 2, "one JSON and one TOML example");
    let (_, shown) = blocks.iter().find(|(i, _)| i == "text").unwrap();
    let (command, shown) = shown.split_once('\n').unwrap();
    assert_eq!(command, "$ amp describe getlist");
    let (_dir, file) = example("service.json");
    let (out, _) = run(
        &["describe", "getlist", "--schema", file.to_str().unwrap()],
        0,
    );
    assert_eq!(out, shown);
}

#[test]
fn list_and_describe() {
    let (dir, file) = example("service.json");
    let f = file.to_str().unwrap();
    let all = "Sum\nDivide\ngetlist\nSwitch\nStartTLS\nLog\n";
    assert_eq!(run(&["list", "--schema", f], 0).0, all);
    assert_eq!(
        run(&["list", "--json", "--schema", f], 0).0,
        "[\"Sum\",\"Divide\",\"getlist\",\"Switch\",\"StartTLS\",\"Log\"]\n"
    );
    let out = amp()
        .env("AMP_SCHEMA", &file)
        .arg("list")
        .assert()
        .success();
    assert_eq!(texts(out.get_output()).0, all);

    // .amp.json, else .amp.toml, in the current directory.
    let here = tempfile::tempdir().unwrap();
    std::fs::write(
        here.path().join(".amp.toml"),
        "[[commands]]\nname = \"FromToml\"\n",
    )
    .unwrap();
    assert_eq!(run_in(here.path(), &["list"], 0).0, "FromToml\n");
    std::fs::copy(&file, here.path().join(".amp.json")).unwrap();
    assert_eq!(run_in(here.path(), &["list"], 0).0, all);
    assert_eq!(
        run_in(here.path(), &["schema", "check"], 0).0,
        "ok: 6 commands\n"
    );

    let (out, err) = run(&["list"], 2);
    assert_eq!(out, "");
    assert!(
        err.starts_with("amp: no schema: give one with --schema FILE (or AMP_SCHEMA=FILE)"),
        "{err}"
    );
    assert!(
        err.contains("amp schema import MODULE -o .amp.json"),
        "{err}"
    );
    let (_, err) = run(&["describe", "Sum"], 2);
    assert!(err.starts_with("amp: no schema"), "{err}");

    let (out, _) = run(&["describe", "Divide", "--schema", f], 0);
    assert_eq!(
        out,
        "command Divide\n    arguments:\n        numerator: Integer\n        denominator: Integer\n    \
         response:\n        result: Float\n    errors:\n        ZERO_DIVISION: ZeroDivisionError\n    \
         fatal errors: none\n    requires an answer: yes\n    kind: command\n"
    );
    let (out, _) = run(&["describe", "GetList", "--schema", f], 0);
    assert!(
        out.starts_with("command getlist (Python class GetList)\n"),
        "by class name: {out}"
    );
    let (out, _) = run(&["describe", "Log", "--schema", f], 0);
    assert!(
        out.contains("    requires an answer: no (the caller sends no _ask and gets no answer)\n"),
        "{out}"
    );
    let (out, _) = run(&["describe", "StartTLS", "--schema", f], 0);
    assert!(
        out.ends_with("    kind: starttls (once answered, TLS starts on the connection)\n"),
        "{out}"
    );
    let (out, _) = run(&["describe", "getlist", "--json", "--schema", f], 0);
    let described: Value = serde_json::from_str(&out).unwrap();
    let whole: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(described, whole["commands"][2]);

    let (out, err) = run(&["describe", "sum", "--schema", f], 2);
    assert_eq!(out, "");
    assert_eq!(
        err,
        format!("amp: no command `sum` in {f}; did you mean Sum?\n")
    );
    let (_, err) = run(&["describe", "Divde", "--schema", f], 2);
    assert_eq!(
        err,
        format!("amp: no command `Divde` in {f}; did you mean Divide?\n")
    );
    let (_, err) = run(&["describe", "Xyzzy", "--schema", f], 2);
    assert_eq!(
        err,
        format!(
            "amp: no command `Xyzzy` in {f}; it has Sum, Divide, getlist, Switch, StartTLS, Log\n"
        )
    );
    drop(dir);
}

#[test]
fn bad_schemas_exit_2_naming_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let typo = write(
        "typo.json",
        r#"{"commands": [{"name": "Sum", "arguments": [{"name": "a", "type": "Integer", "optinal": true}]}]}"#,
    );
    let (_, err) = run(&["schema", "check", &typo], 2);
    assert_eq!(
        err,
        format!(
            "amp: {typo} is not a valid schema: command Sum, argument a: unknown field `optinal`, \
             expected one of `name`, `type`, `optional`, `of`, `fields`, `class` at line 1 column 86\n"
        )
    );
    // Every subcommand that reads the schema refuses it the same way.
    let (_, err) = run(&["list", "--schema", &typo], 2);
    assert!(err.contains("unknown field `optinal`"), "{err}");

    let toml = write(
        "typo.toml",
        "[[commands]]\nname = \"Sum\"\n[[commands.arguments]]\nname = \"a\"\ntype = \"ListOf\"\n",
    );
    let (_, err) = run(&["schema", "check", &toml], 2);
    assert!(err.starts_with(&format!("amp: {toml} is not a valid schema: command Sum, argument a:\nTOML parse error at line 3")), "{err}");
    assert!(
        err.contains("a ListOf needs `of`, its element type"),
        "{err}"
    );

    let rules = write(
        "rules.json",
        r#"{"commands": [
            {"name": "Sum", "arguments": [{"name": "_ask", "type": "Integer"}, {"name": "b", "type": "Integer"}, {"name": "b", "type": "String"}]},
            {"name": "Sum", "errors": {"E": "x"}, "fatalErrors": {"E": "y"}}]}"#,
    );
    let (out, err) = run(&["schema", "check", &rules], 2);
    assert_eq!(out, "");
    let want = format!(
        "amp: {rules} is not a valid schema\n  \
         command Sum, argument _ask: `_ask` is one of AMP's own keys (_ask, _answer, _error, _command, _error_code, _error_description): choose another name\n  \
         command Sum, argument b: a second argument named `b`: names in one box must be unique\n  \
         command Sum (command #2): a second command named `Sum`: wire names must be unique (rename or remove one)\n  \
         command Sum, error code E: in both errors and fatalErrors: keep it in one (fatalErrors if it closes the connection)\n"
    );
    assert_eq!(err, want);

    let (_, err) = run(&["schema", "check", "/nonexistent/s.json"], 2);
    assert_eq!(
        err,
        "amp: cannot read the schema /nonexistent/s.json: No such file or directory (os error 2)\n"
    );
    let (_, err) = run(&["schema", "check", &write("empty.json", "")], 2);
    assert!(
        err.contains("is not a valid schema: EOF while parsing a value at line 1 column 0"),
        "{err}"
    );
}
