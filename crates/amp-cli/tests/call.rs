//! `amp call` end to end: the real binary against Twisted (its documented
//! `ampserver.py` example and its own test protocol, served by
//! interop/cli_values_peer.py) and against an amp-rs server started in the
//! test; every exit code.
mod common;
mod types;

use amp::{AmpBox, RawError, Router};
use common::{amp, Proc};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

/// The schema of the peer's commands, written by hand in the schema format
/// (Twisted's `Sum`/`Divide`, commands of `twisted.test.test_amp`, the
/// peer's `Types` and `Big` echoes, and `Note` for the server below).
fn schema_file() -> PathBuf {
    common::workspace().join("interop/cli_values_schema.json")
}

/// The answer of a call that must succeed (exit code 0).
fn answer(schema: Option<&PathBuf>, addr: &str, args: &[&str]) -> String {
    let (code, out, err) = call(schema, addr, args);
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

/// The Twisted peer, and its address.
fn twisted() -> (Proc, String) {
    let example = common::twisted_example("ampserver.py");
    let mut p = Proc::python(
        &common::script("cli_values_peer.py"),
        &[example.to_str().unwrap()],
    );
    let addr = p.port();
    (p, addr)
}

/// `amp [--schema S] call ADDR ARGS...`, its exit code, stdout, stderr.
fn call(schema: Option<&PathBuf>, addr: &str, args: &[&str]) -> (i32, String, String) {
    let mut c = amp();
    if let Some(s) = schema {
        c.arg("--schema").arg(s);
    }
    let out = c.arg("call").arg(addr).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn twisted_documented_example_sum_and_divide() {
    let (peer, addr) = twisted();
    let schema = schema_file();
    assert_eq!(
        call(None, &addr, &["Sum", "a:=13", "b:=81"]),
        (0, "total: 94\n".into(), String::new())
    );
    assert_eq!(
        answer(None, &addr, &["Sum", "a=13", "b=81", "--json"]),
        "{\"total\":\"94\"}\n",
        "untyped: a string"
    );
    assert_eq!(
        answer(Some(&schema), &addr, &["Sum", "a=13", "b=81", "--json"]),
        "{\"total\":94}\n",
        "typed: a number"
    );
    assert_eq!(
        answer(
            Some(&schema),
            &addr,
            &["Divide", "numerator:=1", "denominator:=3", "--json"],
        ),
        "{\"result\":0.3333333333333333}\n"
    );

    let (code, out, err) = call(None, &addr, &["Divide", "numerator:=1", "denominator:=0"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err, "ZERO_DIVISION: float division by zero\n");
    let (code, out, err) = call(
        Some(&schema),
        &addr,
        &["Divide", "numerator:=1", "denominator:=0", "--json"],
    );
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"error": {"code": "ZERO_DIVISION", "description": "float division by zero", "declared": true}})
    );
    assert_eq!(err, "ZERO_DIVISION: float division by zero\n");
    let (code, out, err) = call(None, &addr, &["Nope", "--json"]);
    assert_eq!(code, 1);
    assert!(
        out.contains(r#""code":"UNHANDLED""#) && out.contains(r#""declared":false"#),
        "{out}"
    );
    assert_eq!(err, "UNHANDLED: Unhandled Command: b'Nope'\n");
    assert!(peer.finish(), "the peer exits cleanly");
}

/// Every value type, typed by the schema, through Twisted and back.
const TYPES_ARGS: &[&str] = &[
    "Types",
    r#"num:="-123456789012345678901234567890""#,
    r#"raw:={"base64":"/wBiaW4="}"#,
    r#"text:="café\nline""#,
    "flag:=true",
    "real:=0.1",
    r#"dec:="1.10""#,
    r#"when:="2024-02-29T13:05:09.123456+00:00""#,
    "ints:=[1,2,300]",
    r#"nested:=[["a","é"],[]]"#,
    r#"items:=[{"n":1,"tags":["x","y"],"note":"first"},{"n":2,"tags":[]}]"#,
];

#[test]
fn typed_calls_against_twisted_test_protocol() {
    let (peer, addr) = twisted();
    let schema = schema_file();
    let (code, out, err) = call(Some(&schema), &addr, TYPES_ARGS);
    assert_eq!(code, 0, "{err}");
    let summary = "summary: dec=Decimal:Decimal('1.10') flag=bool:True \
        num=int:-123456789012345678901234567890 opt=NoneType:None \
        raw=bytes:b'\\xff\\x00bin' real=float:0.1 text=str:'café\\nline' \
        when=datetime:2024-02-29T13:05:09.123456+00:00\n";
    let want = [
        "dec: 1.10\n",
        "flag: True\n",
        "ints: [1,2,300]\n",
        "items: [{\"n\":1,\"note\":\"first\",\"tags\":[\"x\",\"y\"]},{\"n\":2,\"tags\":[]}]\n",
        "nested: [[\"a\",\"é\"],[]]\n",
        "num: -123456789012345678901234567890\n",
        "raw: b'\\xff\\x00bin'\n",
        "real: 0.1\n",
        summary,
        "text: \"café\\nline\"\n",
        "when: 2024-02-29T13:05:09.123456-00:00\n",
    ]
    .concat();
    assert_eq!(out, want);

    let mut json_args = TYPES_ARGS.to_vec();
    json_args.push("--json");
    let (code, out, _) = call(Some(&schema), &addr, &json_args);
    assert_eq!(code, 0);
    let mut v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v.as_object_mut().unwrap().remove("summary");
    assert_eq!(v, types::types_json());

    // Twisted's test commands: an AmpList answer, an optional AmpList
    // argument, a String echoed, a declared fatal error.
    assert_eq!(
        answer(Some(&schema), &addr, &["getlist", "length:=3", "--json"]),
        "{\"body\":[{\"x\":1},{\"x\":1},{\"x\":1}]}\n"
    );
    assert_eq!(
        answer(Some(&schema), &addr, &["getlist", "length:=2"]),
        "body: [{\"x\":1},{\"x\":1}]\n"
    );
    assert_eq!(
        answer(
            Some(&schema),
            &addr,
            &[
                "dontrejectme",
                "magicWord=please",
                r#"list:=[{"name":"bob"}]"#,
            ],
        ),
        "response: bob accepted\n"
    );
    assert_eq!(
        answer(Some(&schema), &addr, &["dontrejectme", "magicWord=please"]),
        "response: list omitted\n"
    );
    assert_eq!(
        answer(
            Some(&schema),
            &addr,
            &["hello", "hello=hi there", "print:=\"ü\""],
        ),
        "hello: hi there\nprint: ü\n"
    );
    let (code, out, err) = call(Some(&schema), &addr, &["hello", "hello=die", "--json"]);
    assert_eq!(code, 1);
    assert!(
        out.contains(r#""code":"DEAD""#) && out.contains(r#""declared":true"#),
        "{out}"
    );
    assert_eq!(err, "DEAD: aieeeeeeeee\n");
    assert!(peer.finish());
}

#[test]
fn big_values_are_chunked_for_twisted() {
    let (peer, addr) = twisted();
    let schema = schema_file();
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let file = dir.path().join("data.bin");
    std::fs::write(&file, &data).unwrap();
    let text = "é".repeat(40_000);
    let text_item = format!("text={text}");
    let data_item = format!("data=@{}", file.display());
    let (code, out, err) = call(
        Some(&schema),
        &addr,
        &["Big", &data_item, &text_item, "--json"],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["sizes"], "200000 40000", "Twisted joined the chunks");
    assert_eq!(v["text"], serde_json::Value::from(text));
    use base64::Engine;
    let got = base64::engine::general_purpose::STANDARD
        .decode(v["data"]["base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(got, data, "the answer's chunks joined");
    assert!(peer.finish());
}

#[test]
fn usage_errors_exit_2() {
    let schema = schema_file();
    let addr = "127.0.0.1:9";
    let cases: &[(&[&str], &str)] = &[
        (
            &["Sum", "a:=1", "b:=2", "c:=3"],
            "`c`: no such argument (declared: a (Integer), b (Integer))",
        ),
        (&["Sum", "a:=1"], "missing required argument: b (Integer)"),
        (&["Sum", "a=one", "b:=2"], "not a valid Integer"),
        (
            &["Sum", "a:=one", "b:=2"],
            "the value of `a` is not valid JSON",
        ),
        (&["Sum", "a"], "`a` is not an argument"),
        (&["Sum", "-d", "[1]"], "must be one JSON object"),
        (
            &["Types", "ints:=[1,\"x\"]"],
            "`ints[1]`: \"x\" is not an integer",
        ),
        (
            &["Sum", "a:=1", "b:=2", "--timeout", "0"],
            "more than 0 seconds",
        ),
    ];
    for (args, want) in cases {
        let (code, out, err) = call(Some(&schema), addr, args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty());
        assert!(err.contains(want), "{args:?}: {err}");
    }
    // Without a schema: arrays need one.
    let (code, _, err) = call(None, addr, &["X", "v:=[1]"]);
    assert_eq!(code, 2);
    assert!(err.contains("needs a schema"), "{err}");
}

#[test]
fn connection_failures_exit_3() {
    let (_held, closed) = common::closed_port();
    let closed = closed.to_string();
    let (code, _, err) = call(None, &closed, &["Sum", "a:=1", "b:=2"]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains(&format!("cannot connect to {closed}")),
        "{err}"
    );

    let (peer, addr) = twisted();
    let started = std::time::Instant::now();
    let (code, _, err) = call(None, &addr, &["wait_forever", "--timeout", "0.5"]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("no answer to wait_forever") && err.contains("(--timeout)"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(8));
    assert!(peer.finish());
}

/// An amp-rs server in this process: `Echo` answers its arguments, `Note`
/// reports every request box it gets (reserved keys included), `StartTLS`
/// secures the connection (a throwaway self-signed certificate).
fn our_server() -> (tokio::runtime::Runtime, String, mpsc::Receiver<AmpBox>) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let addr = rt.block_on(async move {
        let router = Router::new()
            .start_tls(amp::tls::TlsOptions::new())
            .route_raw("Echo", |req: AmpBox, _| async move {
                Ok(req
                    .iter()
                    .filter(|(k, _)| !k.starts_with(b"_"))
                    .map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .collect())
            })
            .route_raw("Note", move |req: AmpBox, _| {
                let _ = tx.lock().unwrap().send(req);
                async move { Ok::<_, RawError>(AmpBox::new()) }
            });
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        tokio::spawn(amp::Server::new(router).serve(l));
        addr
    });
    (rt, addr, rx)
}

#[test]
fn against_our_server() {
    let (_rt, addr, notes) = our_server();
    let schema = schema_file();
    let dir = tempfile::tempdir().unwrap();
    // Values that need escaping in text, and bytes that are not UTF-8.
    let bin = dir.path().join("bin");
    std::fs::write(&bin, b"\xff\xfe").unwrap();
    let bin_item = format!("bin=@{}", bin.display());
    let (code, out, err) = call(
        None,
        &addr,
        &[
            "Echo",
            "plain=hi",
            "lines:=\"a\\nb\"",
            "empty=",
            &bin_item,
            "n:=1.5",
            r"k\=x=v",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "bin: b'\\xff\\xfe'\nempty: \"\"\nk=x: v\nlines: \"a\\nb\"\nn: 1.5\nplain: hi\n"
    );
    assert_eq!(
        answer(None, &addr, &["Echo", &bin_item, "t=é", "--json"]),
        "{\"bin\":{\"base64\":\"//4=\"},\"t\":\"é\"}\n"
    );
    // -d from standard input, an item overriding it.
    let out = amp()
        .args(["call", &addr, "Echo", "-d", "@-", "b=item"])
        .write_stdin(r#"{"a": "data", "b": "data", "c": true}"#)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "a: data\nb: item\nc: True\n"
    );
    // -d inline and from a file.
    let data = dir.path().join("d.json");
    std::fs::write(&data, r#"{"x": 1}"#).unwrap();
    let (_, out, _) = call(
        None,
        &addr,
        &["Echo", "-d", &format!("@{}", data.display())],
    );
    assert_eq!(out, "x: 1\n");
    let (_, out, _) = call(None, &addr, &["Echo", "-d", r#"{"y": [1]}"#, "y=1"]);
    assert_eq!(
        out, "y: 1\n",
        "the item overrides the array the untyped -d could not send"
    );

    // --no-answer sends no _ask; so does a command the schema marks
    // requiresAnswer=false.
    for (schema, args) in [
        (None, &["Note", "v=1", "--no-answer"][..]),
        (Some(&schema), &["Note", "v:=2"][..]),
    ] {
        let (code, out, err) = call(schema, &addr, args);
        assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
        let got = notes
            .recv_timeout(Duration::from_secs(10))
            .expect("Note arrived");
        assert!(!got.contains_key("_ask"), "{got:?}");
        assert_eq!(got.get("_command"), Some(&b"Note"[..]));
    }
    assert_eq!(answer(None, &addr, &["Note", "v=3"]), "");
    let got = notes.recv_timeout(Duration::from_secs(10)).unwrap();
    // A call asks: tag 2, tag 1 having asked the server to describe
    // itself (no schema given).
    assert_eq!(got.get("_ask"), Some(&b"2"[..]), "a call asks");

    // Over StartTLS; TLS needs --ca or an explicit --insecure.
    let out = answer(None, &addr, &["Echo", "x=1", "--starttls", "--insecure"]);
    assert_eq!(out, "x: 1\n");
    let (code, _, err) = call(None, &addr, &["Echo", "x=1", "--starttls"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--insecure"), "{err}");

    let (code, _, err) = call(None, &addr, &["Missing"]);
    assert_eq!(
        (code, err.as_str()),
        (1, "UNHANDLED: Unhandled Command: b'Missing'\n")
    );
}

#[test]
fn offline_prints_the_box() {
    let schema = schema_file();
    let (code, out, _) = call(
        Some(&schema),
        "127.0.0.1:9",
        &["Sum", "a:=13", "b=81", "--offline"],
    );
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "Sum request (tag 1), 40 bytes:\n\
         00000000  00 04 5f 61 73 6b 00 01  31 00 08 5f 63 6f 6d 6d  |.._ask..1.._comm|\n\
         00000010  61 6e 64 00 03 53 75 6d  00 01 61 00 02 31 33 00  |and..Sum..a..13.|\n\
         00000020  01 62 00 02 38 31 00 00                           |.b..81..|\n\
         _ask: 1\n_command: Sum\na: 13\nb: 81\n"
    );
    let (code, out, _) = call(
        Some(&schema),
        "127.0.0.1:9",
        &["Sum", "a:=13", "b:=81", "--offline", "--json"],
    );
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"kind": "request", "command": "Sum", "tag": "1",
        "fields": {"a": 13, "b": 81},
        "hex": concat!(
            "00045f61736b000131", "00085f636f6d6d616e64000353756d",
            "00016100023133", "00016200023831", "0000"
        )})
    );
    // No address is needed offline: the same box.
    let bare = amp()
        .arg("--schema")
        .arg(&schema)
        .args(["call", "--offline", "Sum", "a:=13", "b:=81", "--json"])
        .output()
        .unwrap();
    assert_eq!(bare.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&bare.stdout), out);
    // What the record encodes to is the box shown.
    let out = amp()
        .arg("--schema")
        .arg(&schema)
        .arg("encode")
        .write_stdin(out)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let hex: String = out.stdout.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, v["hex"].as_str().unwrap());
}

#[test]
fn several_servers_one_down_the_call_goes_to_one_up() {
    let mut server = Proc::amp(&["serve", "127.0.0.1:0"]);
    let live = server.listening();
    let (_held, dead) = common::closed_port();
    let dead = dead.to_string();
    let both = format!("{dead},{live}");
    for _ in 0..5 {
        let (code, out, err) = call(None, &both, &["Sum", "a:=13", "b:=81"]);
        assert_eq!(code, 0, "{out}{err}");
        assert_eq!(out, "total: 94\n");
    }
    // None up: exit 3, with the cause.
    let (code, _, err) = call(
        None,
        &format!("{dead},{dead}"),
        &["Sum", "a:=1", "b:=2", "--timeout", "1"],
    );
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("no server to call"), "{err}");
    assert!(err.contains("Connection refused"), "{err}");
    // A UNIX socket is one server.
    let (code, _, err) = call(None, &format!("unix:/tmp/x.sock,{live}"), &["Sum"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn several_twisted_servers_one_killed_the_call_goes_to_the_other() {
    let (mut first, a) = twisted();
    let (_second, b) = twisted();
    let both = format!("{a},{b}");
    let (code, out, err) = call(None, &both, &["Sum", "a=13", "b=81"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out, "total: 94\n");
    first.kill();
    for _ in 0..3 {
        let (code, out, err) = call(None, &both, &["Sum", "a=13", "b=81"]);
        assert_eq!(code, 0, "{out}{err}");
        assert_eq!(out, "total: 94\n");
    }
}
