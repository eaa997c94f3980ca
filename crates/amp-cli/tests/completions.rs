//! `amp completions` and `amp man` against the real binary.
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
