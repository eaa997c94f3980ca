//! `amp decode` of capture files: real traffic between Twisted and amp-rs,
//! captured from the loopback at test time (interop/sniff.py, a raw socket:
//! the tests need root, as CI has), decoded as pcap and pcapng, and the
//! same capture made harder: segments out of order and repeated, and a
//! capture that starts in the middle of a connection.
mod common;

use common::{amp, Proc};
use serde_json::Value as Json;
use std::path::Path;

/// Runs `amp ARGS...`; (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let out = amp().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// interop/sniff.py ARGS... (the file tools), checked.
fn sniff_tool(args: &[&str]) {
    let out = std::process::Command::new(common::python())
        .arg(common::script("sniff.py"))
        .args(args)
        .current_dir(common::workspace().join("interop"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A capture of two amp-rs calls to Twisted's documented example server,
/// on two connections: `Sum` answered, `Divide` by zero an error.
fn capture(dir: &Path, pcapng: bool) -> (String, std::path::PathBuf) {
    let example = common::twisted_example("ampserver.py");
    let mut server = Proc::python(
        &common::script("cli_values_peer.py"),
        &[example.to_str().unwrap()],
    );
    let addr = server.port();
    let port = addr.rsplit(':').next().unwrap().to_owned();
    let file = dir.join(if pcapng { "amp.pcapng" } else { "amp.pcap" });
    let mut args = vec![port.as_str(), file.to_str().unwrap()];
    if pcapng {
        args.push("--pcapng");
    }
    // With a schema, amp call does not first ask the server to describe
    // itself: the capture holds just the two calls.
    let schema = dir.join("ampserver.json");
    std::fs::write(
        &schema,
        r#"{"commands": [
            {"name": "Sum", "arguments": [{"name": "a", "type": "Integer"}, {"name": "b", "type": "Integer"}],
             "response": [{"name": "total", "type": "Integer"}]},
            {"name": "Divide", "arguments": [{"name": "numerator", "type": "Integer"}, {"name": "denominator", "type": "Integer"}],
             "response": [{"name": "result", "type": "Float"}], "errors": {"ZERO_DIVISION": "ZeroDivisionError"}}]}"#,
    )
    .unwrap();
    let schema = schema.to_str().unwrap();
    let mut sniffer = Proc::python(&common::script("sniff.py"), &args);
    sniffer.wait_for("READY");
    let (code, out, err) = run(&["--schema", schema, "call", &addr, "Sum", "a=13", "b=81"]);
    assert_eq!((code, out.as_str()), (0, "total: 94\n"), "{err}");
    let (code, _, err) = run(&[
        "--schema",
        schema,
        "call",
        &addr,
        "Divide",
        "numerator=1",
        "denominator=0",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(sniffer.finish(), "the capture was not written");
    (port, file)
}

/// Whether the loopback can be captured (root). Without root the tests
/// say so and pass, except under CI (`CI` set), where they must run.
fn is_root() -> bool {
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    assert!(
        root || std::env::var_os("CI").is_none(),
        "CI must run the capture tests as root"
    );
    root
}

/// The boxes of `amp decode --json`, without the notes.
fn boxes(stdout: &str) -> Vec<Json> {
    stdout
        .lines()
        .map(|l| serde_json::from_str::<Json>(l).unwrap())
        .filter(|j| j.get("note").is_none())
        .collect()
}

#[test]
fn a_live_capture_reads_as_the_boxes_each_side_sent() {
    if !is_root() {
        eprintln!("skipped: capturing the loopback needs root (CI runs as root)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for pcapng in [false, true] {
        let (port, file) = capture(dir.path(), pcapng);
        let file = file.to_str().unwrap();
        let (code, text, err) = run(&["decode", file, "--port", &port]);
        assert_eq!(code, 0, "{err}");
        for want in [
            "#1 conn 1 ",
            " request Sum (tag 1)",
            "#2 conn 1 ",
            " answer to #1 Sum (tag 1) after ",
            "total: 94",
            "#3 conn 2 ",
            " request Divide (tag 1)",
            " error to #3 Divide (tag 1) after ",
            "_error_code: ZERO_DIVISION",
        ] {
            assert!(text.contains(want), "{want:?} not in:\n{text}");
        }
        let (code, json, err) = run(&["decode", file, "--json"]);
        assert_eq!(code, 0, "{err}");
        let b = boxes(&json);
        assert_eq!(b.len(), 4, "{json}");
        let conns: Vec<_> = b.iter().map(|j| j["conn"].as_u64().unwrap()).collect();
        assert_eq!(conns, [1, 1, 2, 2]);
        assert_eq!(b[1]["request"], 1);
        assert!(b[1]["latency_us"].as_u64().is_some(), "{}", b[1]);
        assert_eq!(b[0]["to"], b[1]["from"]);
        assert!(b[0]["to"].as_str().unwrap().ends_with(&format!(":{port}")));
        assert!(
            b[0]["time"].as_f64().unwrap() > 1.0e9,
            "capture time since the epoch"
        );
    }
}

#[test]
fn segments_out_of_order_repeated_or_missing_at_the_start() {
    if !is_root() {
        eprintln!("skipped: capturing the loopback needs root (CI runs as root)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (port, file) = capture(dir.path(), false);
    let (_, want, _) = run(&["decode", file.to_str().unwrap(), "--json"]);
    let want = boxes(&want);
    // Out of order and repeated: the same boxes, in each connection's
    // order.
    let shuffled = dir.path().join("shuffled.pcap");
    sniff_tool(&[
        "shuffle",
        file.to_str().unwrap(),
        shuffled.to_str().unwrap(),
    ]);
    let (code, got, err) = run(&["decode", shuffled.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let fields = |b: &[Json]| -> Vec<(Json, Json, Json)> {
        b.iter()
            .map(|j| (j["conn"].clone(), j["kind"].clone(), j["fields"].clone()))
            .collect()
    };
    assert_eq!(fields(&boxes(&got)), fields(&want), "{got}");
    // Without the first connection's opening and first request: picked up
    // at its first whole box (the answer), said once.
    let cut = dir.path().join("cut.pcap");
    sniff_tool(&["cut", file.to_str().unwrap(), cut.to_str().unwrap(), "4"]);
    let (code, text, err) = run(&["decode", cut.to_str().unwrap(), "--port", &port]);
    assert_eq!(code, 0, "{err}");
    assert!(
        text.contains("conn 1: the capture starts in the middle"),
        "{text}"
    );
    assert!(!text.contains("request Sum"), "{text}");
    assert!(text.contains("total: 94"), "{text}");
    assert!(text.contains("request Divide"), "{text}");
}

#[test]
fn a_connection_is_no_longer_followed_after_starttls() {
    if !is_root() {
        eprintln!("skipped: capturing the loopback needs root (CI runs as root)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut server = Proc::amp(&["serve", "127.0.0.1:0"]);
    let addr = server.listening();
    let port = addr.rsplit(':').next().unwrap().to_owned();
    let file = dir.path().join("tls.pcap");
    let mut sniffer = Proc::python(
        &common::script("sniff.py"),
        &[&port, file.to_str().unwrap()],
    );
    sniffer.wait_for("READY");
    let (code, out, err) = run(&[
        "call",
        &addr,
        "Sum",
        "a=1",
        "b=2",
        "--starttls",
        "--insecure",
    ]);
    assert_eq!((code, out.as_str()), (0, "total: 3\n"), "{err}");
    assert!(sniffer.finish(), "the capture was not written");
    let (code, text, err) = run(&["decode", file.to_str().unwrap(), "--port", &port]);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("request StartTLS"), "{text}");
    assert!(text.contains("answer to #1 StartTLS"), "{text}");
    assert!(
        text.contains("conn 1: StartTLS done: the rest is encrypted, no longer followed"),
        "{text}"
    );
    // The Sum went encrypted: not shown, and nothing taken for AMP.
    assert!(!text.contains("Sum"), "{text}");
    assert!(!text.contains("not AMP"), "{text}");
}
