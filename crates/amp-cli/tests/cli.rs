//! What every subcommand shares, against the real binary: completions, man pages, the environment, a closed output.
mod common;
use common::amp;

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = amp().args(["completions", shell]).assert().success();
        let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        assert!(text.contains("gateway"), "{shell}: subcommands completed");
    }
    amp().args(["completions", "tcsh"]).assert().code(2);
}

#[test]
fn man_pages() {
    let out = amp().arg("man").assert().success();
    let page = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        page.starts_with(".ie") || page.contains(".TH amp 1"),
        "{page}"
    );
    assert!(page.contains("gateway"));
    let out = amp().args(["man", "call"]).assert().success();
    let page = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(page.contains(".TH amp-call 1"), "{page}");
    amp().args(["man", "nope"]).assert().code(2);
    let dir = tempfile::tempdir().unwrap();
    amp()
        .args(["man", "--dir"])
        .arg(dir.path())
        .assert()
        .success();
    for page in ["amp.1", "amp-call.1", "amp-gateway.1", "amp-tunnel.1"] {
        assert!(dir.path().join(page).is_file(), "{page} written");
    }
}

/// `amp decode` and the other filters end quietly
/// when their reader goes away (`| head`), never with a panic.
#[test]
fn a_closed_output_ends_a_filter_quietly() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    // 2,000 boxes: far more output than a pipe holds.
    let one = b"\x00\x04_ask\x00\x011\x00\x08_command\x00\x03Sum\x00\x01a\x00\x011\x00\x00";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("many.amp");
    std::fs::File::create(&file)
        .unwrap()
        .write_all(&one.repeat(2000))
        .unwrap();
    let mut child = Command::new(common::amp_bin())
        .arg("decode")
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first, "#1 @0 request Sum (tag 1)\n");
    // The reader is gone (dropped above).
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        out.status.signal(),
        Some(libc_sigpipe()),
        "{:?}",
        out.status
    );
}

/// SIGPIPE's number on Linux and the BSDs.
fn libc_sigpipe() -> i32 {
    13
}

/// `AMP_SCHEMA=` (set but empty) means no schema, as unset does.
#[test]
fn an_empty_amp_schema_is_no_schema() {
    let out = amp()
        .env("AMP_SCHEMA", "")
        .args(["call", "--offline", "Sum", "a=1"])
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains("a: 1"));
}
