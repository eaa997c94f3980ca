//! `amp schema import`: what it reads from Python, and how it fails.

use crate::common::{amp, python, workspace};
use crate::{command, field, names, run, run_in, texts};
use serde_json::Value;

#[test]
fn import_twisted_test_amp() {
    let (out, err) = run(&["schema", "import", "twisted.test.test_amp"], 0);
    let schema: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(schema["source"], "twisted.test.test_amp");
    let hello = command(&schema, "hello");
    assert_eq!(hello["class"], "Hello");
    let args = &hello["arguments"];
    assert_eq!(
        field(args, "hello"),
        &serde_json::json!({"name": "hello", "type": "String"})
    );
    assert_eq!(
        field(args, "optional"),
        &serde_json::json!({"name": "optional", "type": "Boolean", "optional": true})
    );
    assert_eq!(field(args, "print")["type"], "Unicode");
    assert_eq!(
        field(args, "from"),
        &serde_json::json!({"name": "from", "type": "Raw",
            "class": "twisted.test.test_amp.TransportPeer", "optional": true})
    );
    assert_eq!(field(&hello["response"], "hello")["type"], "String");
    assert_eq!(
        hello["errors"]["UNFRIENDLY"],
        "twisted.test.test_amp.UnfriendlyGreeting"
    );
    assert_eq!(
        hello["fatalErrors"]["DEAD"],
        "twisted.test.test_amp.DeathThreat"
    );
    assert_eq!(hello["requiresAnswer"], true);
    assert!(
        err.contains(
            "amp: warning: command hello, argument from: twisted.test.test_amp.TransportPeer \
         is not a type amp knows; kept as Raw"
        ),
        "{err}"
    );
    // NoAnswerHello and FutureHello share the wire name `hello`.
    assert!(
        err.contains("amp: warning: skipped NoAnswerHello: its wire name hello is taken by Hello"),
        "{err}"
    );
    assert!(err.contains("skipped FutureHello"), "{err}");
    let getlist = command(&schema, "getlist");
    assert_eq!(
        getlist["response"][0],
        serde_json::json!({"name": "body", "type": "AmpList",
            "fields": [{"name": "x", "type": "Integer"}]})
    );
    let list = field(&command(&schema, "dontrejectme")["arguments"], "list");
    assert_eq!(list["optional"], true);
    assert_eq!(list["fields"][0]["type"], "Unicode");
    let switch = command(&schema, "Switch-Proto");
    assert_eq!(switch["kind"], "switch");
    assert_eq!(switch["class"], "TestSwitchProto");
    assert_eq!(
        switch["errors"]["UNKNOWN"],
        "twisted.test.test_amp.UnknownProtocol"
    );
    // Errors merged along the class hierarchy, as Twisted's metaclass does.
    let added = command(&schema, "AddErrorsCommand");
    assert_eq!(
        added["errors"]["INHERITED_ERROR"],
        "twisted.test.test_amp.InheritedError"
    );
    assert_eq!(
        added["errors"]["OTHER_INHERITED_ERROR"],
        "twisted.test.test_amp.OtherInheritedError"
    );
    assert_eq!(
        command(&schema, "InheritedCommand")["errors"]["INHERITED_ERROR"],
        "twisted.test.test_amp.InheritedError"
    );
    assert_eq!(
        command(&schema, "Goodbye").get("class"),
        None,
        "class only when it differs"
    );
    assert_eq!(
        command(&schema, "WTF")["doc"],
        "An example of an invalid command."
    );
    assert_eq!(names(&schema).iter().filter(|n| *n == "hello").count(), 1);

    // Round trip: the file is a valid schema for the other subcommands.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("amp.json");
    let f = file.to_str().unwrap();
    run(&["schema", "import", "twisted.test.test_amp", "-o", f], 0);
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(written, schema);
    let n = names(&schema).len();
    let (out, _) = run(&["schema", "check", f], 0);
    assert_eq!(out, format!("ok: {n} commands\n"));
    let (out, _) = run(&["list", "--schema", f], 0);
    assert_eq!(out, names(&schema).join("\n") + "\n");
    let (out, _) = run(&["describe", "Hello", "--schema", f], 0);
    assert!(
        out.starts_with("command hello (Python class Hello)\n"),
        "{out}"
    );
    assert!(
        out.contains("        from: Raw(twisted.test.test_amp.TransportPeer) (optional)\n"),
        "{out}"
    );
    assert!(
        out.contains("    fatal errors:\n        DEAD: twisted.test.test_amp.DeathThreat\n"),
        "{out}"
    );
}

#[test]
fn import_ampoule_commands_as_toml() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ampoule.toml");
    let f = file.to_str().unwrap();
    let (out, err) = run(&["schema", "import", "ampoule.commands", "-o", f], 0);
    assert_eq!(out, "");
    assert_eq!(
        err,
        format!("amp: wrote 3 commands from ampoule.commands to {f}\n")
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("[[commands]]\nname = \"Shutdown\""), "{text}");
    let (out, _) = run(&["list", "--schema", f], 0);
    assert_eq!(out, "Shutdown\nPing\nEcho\n");
    let (out, _) = run(&["describe", "Echo", "--schema", f], 0);
    assert_eq!(
        out,
        "command Echo\n    arguments:\n        data: String\n    response:\n        response: String\n    \
         errors: none\n    fatal errors: none\n    requires an answer: yes\n    kind: command\n"
    );
    // Only some commands, in the order asked, by class or wire name.
    let (out, _) = run(&["schema", "import", "ampoule.commands:Echo,Shutdown"], 0);
    let schema: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(names(&schema), ["Echo", "Shutdown"]);
    assert_eq!(command(&schema, "Shutdown").get("arguments"), None);
    let (out, _) = run(
        &[
            "schema",
            "import",
            "twisted.test.test_amp:Switch-Proto,NoAnswerHello",
        ],
        0,
    );
    let schema: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(names(&schema), ["Switch-Proto", "hello"]);
    assert_eq!(command(&schema, "hello")["requiresAnswer"], false);
    assert_eq!(command(&schema, "hello")["class"], "NoAnswerHello");
}

#[test]
fn import_every_type() {
    let interop = workspace().join("interop");
    let (out, err) = run_in(&interop, &["schema", "import", "cli_schema_commands"], 0);
    // What the module printed when imported is not in the schema.
    let schema: Value = serde_json::from_str(&out).expect("stdout is the schema alone");
    assert!(!out.contains("talks when imported"));
    assert_eq!(
        names(&schema),
        ["StartTLS", "every_thing", "Base", "Derived", "switch-to"]
    );
    let tls = command(&schema, "StartTLS");
    assert_eq!(tls["kind"], "starttls");
    assert_eq!(
        tls.get("arguments"),
        None,
        "StartTLS's local arguments never travel"
    );
    let every = command(&schema, "every_thing");
    assert_eq!(every["class"], "Everything");
    assert_eq!(every["doc"], "Every type amp knows.\n\nLists, too.");
    let types: Vec<(&str, &str)> = every["arguments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f["type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        types,
        [
            ("i", "Integer"),
            ("s", "String"),
            ("u", "Unicode"),
            ("b", "Boolean"),
            ("f", "Float"),
            ("d", "Decimal"),
            ("t", "DateTime"),
            ("p", "Path"),
            ("fd", "Descriptor"),
            ("big", "BigString"),
            ("bigu", "BigUnicode"),
            ("packed", "Raw"),
        ]
    );
    assert_eq!(field(&every["arguments"], "fd")["optional"], true);
    assert_eq!(
        field(&every["arguments"], "packed")["class"],
        "cli_schema_commands.Compressed"
    );
    let response = &every["response"];
    assert_eq!(
        field(response, "ints")["of"],
        serde_json::json!({"type": "Integer"})
    );
    assert_eq!(
        field(response, "grid"),
        &serde_json::json!({"name": "grid", "type": "ListOf",
            "of": {"type": "ListOf", "of": {"type": "Unicode"}}, "optional": true})
    );
    assert_eq!(
        field(response, "rows")["fields"],
        serde_json::json!([
            {"name": "k", "type": "Unicode"},
            {"name": "vs", "type": "ListOf", "of": {"type": "Float"}},
            {"name": "sub", "type": "AmpList", "fields": [{"name": "x", "type": "Integer", "optional": true}]},
        ])
    );
    assert_eq!(
        every["errors"],
        serde_json::json!({"BAD_VALUE": "ValueError"})
    );
    assert_eq!(
        every["fatalErrors"],
        serde_json::json!({"BROKEN": "SystemError"})
    );
    let derived = command(&schema, "Derived");
    assert_eq!(derived["arguments"], command(&schema, "Base")["arguments"]);
    assert_eq!(
        derived["errors"],
        serde_json::json!({"BAD": "ValueError", "NO_KEY": "KeyError"})
    );
    assert_eq!(derived["requiresAnswer"], false);
    assert_eq!(derived["doc"], "A command others build on.");
    assert_eq!(command(&schema, "switch-to")["kind"], "switch");
    let warnings: Vec<&str> = err.lines().collect();
    assert_eq!(
        warnings,
        [
            "amp: warning: command every_thing, argument packed: cli_schema_commands.Compressed \
             is not a type amp knows; kept as Raw (the value's bytes as they are)",
            "amp: warning: skipped Shadow: its wire name every_thing is taken by Everything \
             (import it alone with cli_schema_commands:Shadow)",
            "amp: warning: skipped ListOfDescriptors: command ListOfDescriptors, argument fds: \
             a ListOf cannot hold Descriptors: Twisted's ListOf encodes each element without the \
             connection, so no descriptor would be sent (an AmpList with a Descriptor field can)",
        ]
    );
    // The module's own output is there with -v.
    let (_, err) = run_in(
        &interop,
        &["-v", "schema", "import", "cli_schema_commands"],
        0,
    );
    assert!(err.contains("a module that talks when imported"), "{err}");
}

/// A scratch directory holding the Python module `name` with `source`.
fn module(name: &str, source: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(format!("{name}.py")), source).unwrap();
    dir
}

#[test]
fn import_failures_exit_2_and_say_why() {
    let (out, err) = run(&["schema", "import", "no_such_amp_module"], 2);
    assert_eq!(out, "");
    assert!(err.starts_with("amp: cannot import a schema from no_such_amp_module: cannot import no_such_amp_module with "), "{err}");
    assert!(
        err.contains("ModuleNotFoundError: No module named 'no_such_amp_module'"),
        "{err}"
    );
    assert!(
        err.contains("\nhint: check the module name; run amp from the directory"),
        "{err}"
    );

    let (_, err) = run(&["schema", "import", "json"], 2);
    assert!(
        err.contains(
            "json defines no twisted.protocols.amp.Command subclass\nhint: name the module"
        ),
        "{err}"
    );

    let (_, err) = run(&["schema", "import", "ampoule.commands:Echo,Nope"], 2);
    assert!(
        err.contains(
            "ampoule.commands has no command Nope\nhint: its commands are: Shutdown, Ping, Echo"
        ),
        "{err}"
    );

    let (_, err) = run(&["schema", "import", "ampoule.commands:amp"], 2);
    assert!(
        err.contains("ampoule.commands.amp is not a twisted.protocols.amp.Command subclass"),
        "{err}"
    );

    let out = amp()
        .env("AMP_PYTHON", "/nonexistent/python")
        .args(["schema", "import", "ampoule.commands"])
        .assert()
        .code(2);
    let (_, err) = texts(out.get_output());
    assert!(err.starts_with("amp: cannot import a schema from ampoule.commands: cannot run /nonexistent/python: give the Python that has Twisted with --python PATH (or AMP_PYTHON): "), "{err}");
    // --python wins over AMP_PYTHON.
    let py = python();
    amp()
        .env("AMP_PYTHON", "/nonexistent/python")
        .args(["schema", "import", "ampoule.commands", "--python"])
        .arg(&py)
        .assert()
        .code(0);

    // An empty AMP_PYTHON is unset: python3 on the PATH runs (here a link
    // to the pinned Python, given its packages by PYTHONPATH, since a link
    // to a virtualenv's Python is outside the virtualenv).
    let site = std::process::Command::new(&py)
        .args([
            "-c",
            "import os, twisted; print(os.path.dirname(os.path.dirname(twisted.__file__)))",
        ])
        .output()
        .unwrap();
    let site = String::from_utf8(site.stdout).unwrap();
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&py, bin.path().join("python3")).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    amp()
        .env("AMP_PYTHON", "")
        .env("PATH", path)
        .env("PYTHONPATH", site.trim())
        .args(["schema", "import", "ampoule.commands"])
        .assert()
        .code(0);

    // A Python without Twisted (here, a `twisted` that fails to import).
    let dir = module("unused", "");
    std::fs::create_dir(dir.path().join("twisted")).unwrap();
    std::fs::write(
        dir.path().join("twisted/__init__.py"),
        "raise ImportError('no Twisted here')\n",
    )
    .unwrap();
    let (_, err) = run_in(dir.path(), &["schema", "import", "ampoule.commands"], 2);
    assert!(
        err.contains(": cannot import twisted.protocols.amp with "),
        "{err}"
    );
    assert!(err.contains("ImportError: no Twisted here"), "{err}");
    assert!(
        err.contains("\nhint: give a Python that has Twisted: --python PATH (or AMP_PYTHON)"),
        "{err}"
    );

    let dir = module("boom_module", "raise RuntimeError('boom at import')\n");
    let (_, err) = run_in(dir.path(), &["schema", "import", "boom_module"], 2);
    assert!(err.contains("RuntimeError: boom at import (at "), "{err}");
    assert!(err.contains("boom_module.py line 1)"), "{err}");

    let dir = module("exit_module", "import sys\nsys.exit(7)\n");
    let (_, err) = run_in(dir.path(), &["schema", "import", "exit_module"], 2);
    assert!(err.contains("cannot import exit_module with"), "{err}");
    assert!(err.contains("SystemExit: 7"), "{err}");
}

#[test]
fn import_is_bounded_in_time_and_size() {
    let dir = module(
        "hang_module",
        "import threading\nthreading.Event().wait()\n",
    );
    let started = std::time::Instant::now();
    let (_, err) = run_in(
        dir.path(),
        &["schema", "import", "hang_module", "--timeout", "1"],
        2,
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(8),
        "killed after its timeout"
    );
    assert!(err.contains("did not finish within 1 s"), "{err}");
    assert!(err.contains("allow more with --timeout SECS"), "{err}");

    let dir = module(
        "huge_module",
        "from twisted.protocols import amp\n\
         class Huge(amp.Command):\n    pass\n\
         Huge.__doc__ = 'x' * (65 << 20)\n",
    );
    let (_, err) = run_in(dir.path(), &["schema", "import", "huge_module"], 2);
    assert!(
        err.contains("printed more than 64 MiB: not a schema amp will read"),
        "{err}"
    );

    run(
        &["schema", "import", "ampoule.commands", "--timeout", "0"],
        2,
    );
}
