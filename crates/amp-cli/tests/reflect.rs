//! Servers that describe themselves (docs/PROTOCOL.md, section 9,
//! "Self-description"): `amp list ADDR`, `amp describe ADDR COMMAND`,
//! `amp schema fetch ADDR` and `amp call` typed by the server, against
//! `amp serve` (a Rust router), a Twisted server using the `amp_reflect`
//! module, and a Twisted server without it; and a Twisted client asking
//! `amp serve`.
mod common;

use common::{amp, empty_dir, script, Proc};
use serde_json::Value as Json;

/// `amp ARGS` in an empty directory (no schema file around): exit code,
/// stdout, stderr.
fn run(args: &[&str]) -> (i32, String, String) {
    let out = amp().current_dir(empty_dir()).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn serve() -> (Proc, String) {
    let mut p = Proc::amp(&["serve", "127.0.0.1:0"]);
    let addr = p.listening();
    (p, addr)
}

#[test]
fn amp_serve_lists_and_describes_its_commands() {
    let (_server, addr) = serve();
    let (code, out, err) = run(&["list", &addr]);
    assert_eq!(code, 0, "{err}");
    // Typed commands sorted by name, then the raw Echo.
    assert_eq!(out, "Divide\nStartTLS\nSum\nSwitch\nEcho\n");
    let (code, out, _) = run(&["list", &addr, "--json"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "[\"Divide\",\"StartTLS\",\"Sum\",\"Switch\",\"Echo\"]\n"
    );

    let (code, out, err) = run(&["describe", &addr, "Divide"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("command Divide\n"), "{out}");
    assert!(out.contains("numerator: Integer"), "{out}");
    assert!(out.contains("result: Float"), "{out}");
    assert!(out.contains("ZERO_DIVISION"), "{out}");
    let (code, out, _) = run(&["describe", &addr, "Switch", "--json"]);
    assert_eq!(code, 0);
    let switch: Json = serde_json::from_str(&out).unwrap();
    assert_eq!(switch["kind"], "switch");
    let (code, out, _) = run(&["describe", &addr, "Echo", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(out, "{\"name\":\"Echo\",\"untyped\":true}\n");
    // A name it does not have: exit 2, with close names.
    let (code, _, err) = run(&["describe", &addr, "sum"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no command `sum`") && err.contains("Sum"),
        "{err}"
    );
}

#[test]
fn amp_call_is_typed_by_the_server() {
    let (_server, addr) = serve();
    let (code, out, err) = run(&["call", &addr, "Sum", "a:=1", "b:=2", "--json"]);
    assert_eq!((code, out.as_str()), (0, "{\"total\":3}\n"), "{err}");
    // Text items are checked against the server's types too.
    let (code, out, err) = run(&["call", &addr, "Sum", "a=40", "b=2", "--json"]);
    assert_eq!((code, out.as_str()), (0, "{\"total\":42}\n"), "{err}");
    let (code, _, err) = run(&["call", &addr, "Sum", "a=forty", "b=2"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("a"), "{err}");
    let (code, out, err) = run(&[
        "call",
        &addr,
        "Divide",
        "numerator:=1",
        "denominator:=4",
        "--json",
    ]);
    assert_eq!((code, out.as_str()), (0, "{\"result\":0.25}\n"), "{err}");
    // The untyped Echo stays untyped: any argument, strings back.
    let (code, out, err) = run(&["call", &addr, "Echo", "x=1", "--json"]);
    assert_eq!((code, out.as_str()), (0, "{\"x\":\"1\"}\n"), "{err}");
}

#[test]
fn a_schema_file_wins_over_the_server() {
    let (_server, addr) = serve();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.json");
    // The file says Sum answers a String: the answer stays a string.
    std::fs::write(
        &file,
        r#"{"commands": [{"name": "Sum",
            "arguments": [{"name": "a", "type": "Integer"}, {"name": "b", "type": "Integer"}],
            "response": [{"name": "total", "type": "String"}]}]}"#,
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let (code, out, err) = run(&[
        "--schema", file, "call", &addr, "Sum", "a:=1", "b:=2", "--json",
    ]);
    assert_eq!((code, out.as_str()), (0, "{\"total\":\"3\"}\n"), "{err}");
}

#[test]
fn schema_fetch_writes_json_and_toml() {
    let (_server, addr) = serve();
    let dir = tempfile::tempdir().unwrap();
    for name in ["s.json", "s.toml"] {
        let path = dir.path().join(name);
        let (code, _, err) = run(&["schema", "fetch", &addr, "-o", path.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("wrote 5 commands"), "{err}");
        // The file is a good schema: `amp schema check` and `amp list` read it.
        let (code, out, err) = run(&["schema", "check", path.to_str().unwrap()]);
        assert_eq!((code, out.as_str()), (0, "ok: 4 commands\n"), "{err}");
        let (code, out, _) = run(&["--schema", path.to_str().unwrap(), "list"]);
        assert_eq!(
            (code, out.as_str()),
            (0, "Divide\nStartTLS\nSum\nSwitch\nEcho\n")
        );
    }
    let (code, out, _) = run(&["schema", "fetch", &addr]);
    assert_eq!(code, 0);
    let schema: Json = serde_json::from_str(&out).unwrap();
    assert_eq!(schema["untyped"], serde_json::json!(["Echo"]));
}

#[test]
fn a_server_that_does_not_describe_itself() {
    // Twisted's documented example server (on a free port): no
    // amp.describe.
    let example = common::twisted_example("ampserver.py");
    let mut peer = Proc::python(&script("cli_values_peer.py"), &[example.to_str().unwrap()]);
    let addr = peer.port();
    let (code, _, err) = run(&["list", &addr]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("does not describe itself (amp.describe is unhandled)"),
        "{err}"
    );
    let (code, _, err) = run(&["schema", "fetch", &addr]);
    assert_eq!(code, 1, "{err}");
    // amp call goes on untyped, on the same connection.
    let (code, out, err) = run(&["call", &addr, "Sum", "a:=13", "b:=81", "--json"]);
    assert_eq!((code, out.as_str()), (0, "{\"total\":\"94\"}\n"), "{err}");
    assert_eq!(err, "");
}

#[test]
fn nothing_listening_is_exit_3() {
    let (_held, addr) = common::closed_port();
    let addr = addr.to_string();
    let (code, _, err) = run(&["list", &addr, "--timeout", "2"]);
    assert_eq!(code, 3, "{err}");
}

#[test]
fn a_twisted_client_reads_amp_serve() {
    let (_server, addr) = serve();
    let (host, port) = addr.rsplit_once(':').unwrap();
    let answer = twisted_fetch(host, port);
    assert_eq!(answer["version"], 1);
    let names: Vec<&str> = answer["schema"]["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Divide", "StartTLS", "Sum", "Switch"]);
}

/// What a Twisted client (interop/reflect_peer.py) gets asking HOST:PORT
/// for its description: `{"version": .., "schema": {..}}`.
fn twisted_fetch(host: &str, port: &str) -> Json {
    let out = std::process::Command::new(common::python())
        .arg(script("reflect_peer.py"))
        .args(["fetch", host, port])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

/// interop/reflect_peer.py's Twisted server (`class Server(amp_reflect.Reflect,
/// amp.AMP)`), `--big` for a schema over 64 KiB.
fn twisted_server(big: bool) -> (Proc, String) {
    let args: &[&str] = if big { &["serve", "--big"] } else { &["serve"] };
    let mut p = Proc::python(&script("reflect_peer.py"), args);
    let addr = p.port();
    (p, addr)
}

#[test]
fn a_twisted_server_describes_itself() {
    let (_server, addr) = twisted_server(false);
    let (code, out, err) = run(&["list", &addr]);
    assert_eq!(code, 0, "{err}");
    for name in [
        "hello",
        "getlist",
        "dontrejectme",
        "simple",
        "Echo",
        "StartTLS",
    ] {
        assert!(out.lines().any(|l| l == name), "{name} not in {out}");
    }
    assert!(!out.contains("amp.describe"), "{out}");

    // What it says of test_amp's commands is what `amp schema import`
    // says of the same classes.
    let (code, out, err) = run(&["schema", "fetch", &addr]);
    assert_eq!(code, 0, "{err}");
    let fetched: Json = serde_json::from_str(&out).unwrap();
    let out = amp()
        .current_dir(empty_dir())
        .env("AMP_PYTHON", common::python())
        .args([
            "schema",
            "import",
            "twisted.test.test_amp:Hello,GetList,DontRejectMe,SimpleGreeting",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let imported: Json = serde_json::from_slice(&out.stdout).unwrap();
    for command in imported["commands"].as_array().unwrap() {
        let name = &command["name"];
        let there = fetched["commands"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| &c["name"] == name)
            .unwrap_or_else(|| panic!("{name} not described"));
        assert_eq!(there, command);
    }
    let tls = fetched["commands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "StartTLS")
        .unwrap();
    assert_eq!(tls["kind"], "starttls");

    // amp call typed by it: an AmpList of Integers, and a declared error.
    let (code, out, err) = run(&["call", &addr, "getlist", "length:=3", "--json"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "{\"body\":[{\"x\":0},{\"x\":1},{\"x\":2}]}\n"),
        "{err}"
    );
    let (code, out, err) = run(&[
        "call",
        &addr,
        "simple",
        "greeting=hi",
        "cookie:=41",
        "--json",
    ]);
    assert_eq!((code, out.as_str()), (0, "{\"cookieplus\":44}\n"), "{err}");
    let (code, _, err) = run(&["call", &addr, "hello", "hello=die"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.starts_with("DEAD:"), "{err}");
    // A value of the wrong type is refused before anything is sent.
    let (code, _, err) = run(&["call", &addr, "getlist", "length=three"]);
    assert_eq!(code, 2, "{err}");
}

#[tokio::test]
async fn the_library_reads_a_twisted_schema_over_64_kib() {
    let (_server, addr) = twisted_server(true);
    let conn = amp::Connection::connect(addr.as_str()).await.unwrap();
    // Chunked on the wire...
    let raw = conn
        .call_raw(amp::reflect::COMMAND, amp::AmpBox::new())
        .await
        .unwrap();
    assert!(raw.get_bytes("schema.2").is_some(), "not chunked");
    // ... and read whole.
    let schema = amp::reflect::fetch(&conn).await.unwrap();
    let big = schema
        .commands
        .iter()
        .filter(|c| c.name.starts_with("Big"))
        .count();
    assert_eq!(big, 48);
    assert!(schema.command("getlist").is_some());
}

#[test]
fn versions_both_ways() {
    // A Twisted client asking amp serve for version 0, and 2.
    let (_server, addr) = serve();
    let (host, port) = addr.rsplit_once(':').unwrap();
    let out = std::process::Command::new(common::python())
        .arg(script("reflect_peer.py"))
        .args(["fetch", host, port, "--version", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let answer: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["error"], "UNSUPPORTED_VERSION");
    let out = std::process::Command::new(common::python())
        .arg(script("reflect_peer.py"))
        .args(["fetch", host, port, "--version", "2"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let answer: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["version"], 1);

    // The Rust library asking the Twisted server.
    let (_twisted, addr) = twisted_server(false);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use amp::reflect::{Describe, DescribeError};
        let conn = amp::Connection::connect(addr.as_str()).await.unwrap();
        let d = conn.call(Describe { version: Some(5) }).await.unwrap();
        assert_eq!(d.version, 1);
        let e = conn.call(Describe { version: Some(0) }).await.unwrap_err();
        assert!(
            matches!(e, amp::CallError::Remote(DescribeError::UnsupportedVersion)),
            "{e:?}"
        );
    });
}
