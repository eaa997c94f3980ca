//! The Python side of self-description: the `amp_reflect` package in
//! python/amp_reflect (its own tests, run here so that CI runs them), and
//! interop/reflect_peer.py, a Twisted server that describes itself and a
//! Twisted client that fetches a description, checked against amp-rs's
//! schema reader and used for typed `amp call`s.
mod common;

use amp_schema::{Format, Schema};
use common::{amp, Proc};
use std::path::Path;
use std::process::Command;

/// `python args...` in `dir`: exit code, stdout, stderr.
fn python_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(common::python())
        .args(args)
        .current_dir(dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("AMP_BIN", common::amp_bin())
        .env_remove("AMP_SCHEMA")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `reflect_peer.py fetch 127.0.0.1 PORT [--version N]`: exit code and the
/// JSON it printed.
fn fetch(addr: &str, version: Option<&str>) -> (i32, serde_json::Value) {
    let port = addr.rsplit(':').next().unwrap();
    let script = common::script("reflect_peer.py");
    let mut args = vec![script.to_str().unwrap(), "fetch", "127.0.0.1", port];
    if let Some(v) = version {
        args.extend(["--version", v]);
    }
    let (code, out, err) = python_in(&common::workspace().join("interop"), &args);
    let json = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("fetch printed no JSON ({e}): {out:?}, stderr: {err}"));
    (code, json)
}

#[test]
fn the_python_tests_of_amp_reflect_pass() {
    let dir = common::workspace().join("python/amp_reflect");
    let tmp = tempfile::tempdir().unwrap();
    let temp = tmp.path().join("trial");
    let (code, out, err) = python_in(
        &dir,
        &[
            "-m",
            "twisted.trial",
            "--temp-directory",
            temp.to_str().unwrap(),
            "tests",
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    // All ran, none skipped (the comparisons with `amp schema import` have
    // the binary through AMP_BIN).
    let last = out.lines().last().unwrap_or_default();
    assert!(last.starts_with("PASSED (successes="), "{out}\n{err}");
    let count: usize = last
        .trim_start_matches("PASSED (successes=")
        .trim_end_matches(')')
        .parse()
        .unwrap_or_else(|_| panic!("{last}"));
    assert!(count >= 20, "{out}");
}

#[test]
fn the_interop_venv_has_this_repositorys_amp_reflect() {
    // reflect_peer.py imports the installed copy: it must be these files
    // (scripts/setup-interop.sh reinstalls it when they change).
    let (code, out, err) = python_in(
        &common::workspace().join("interop"),
        &[
            "-c",
            "import os, amp_reflect; print(os.path.dirname(amp_reflect.__file__))",
        ],
    );
    assert_eq!(code, 0, "amp_reflect is not installed: {err}");
    let installed = Path::new(out.trim());
    let source = common::workspace().join("python/amp_reflect/amp_reflect");
    assert_ne!(installed, source.as_path(), "not the installed copy");
    for file in ["__init__.py", "schema.py"] {
        assert_eq!(
            std::fs::read_to_string(installed.join(file)).unwrap(),
            std::fs::read_to_string(source.join(file)).unwrap(),
            "{} differs from the repository's: run scripts/setup-interop.sh",
            installed.join(file).display()
        );
    }
}

#[test]
fn a_twisted_server_describes_itself_over_64_kib() {
    let mut peer = Proc::python(&common::script("reflect_peer.py"), &["serve", "--big"]);
    let addr = peer.port();
    let (code, answer) = fetch(&addr, None);
    assert_eq!(code, 0, "{answer}");
    assert_eq!(answer["version"], 1);
    let text = answer["schema"].to_string();
    assert!(text.len() > 65_535, "{} bytes: not chunked", text.len());

    // amp-rs reads it, and it follows the schema's rules.
    let schema = Schema::parse(&text, Format::Json).unwrap();
    assert_eq!(
        schema.source.as_deref(),
        Some("__main__.BigServer (amp_reflect)")
    );
    assert!(schema.problems().is_empty(), "{:?}", schema.problems());
    let names: Vec<&str> = schema.commands.iter().map(|c| c.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    assert!(!names.contains(&"amp.describe"));
    for want in ["Big00", "Big47", "Echo", "getlist", "hello", "simple"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    assert_eq!(names.len(), 48 + 7, "{names:?}");

    // A later format asked for: format 1 all the same.
    let (code, again) = fetch(&addr, Some("2"));
    assert_eq!(code, 0);
    assert_eq!(again, answer);
    // Below 1: the error the convention names.
    let (code, refused) = fetch(&addr, Some("0"));
    assert_eq!(code, 1);
    assert_eq!(refused["error"], "UNSUPPORTED_VERSION");
    assert!(peer.finish(), "the server failed");
}

#[test]
fn typed_calls_through_the_fetched_schema() {
    let mut peer = Proc::python(&common::script("reflect_peer.py"), &["serve"]);
    let addr = peer.port();
    let (code, answer) = fetch(&addr, None);
    assert_eq!(code, 0, "{answer}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("described.json");
    std::fs::write(&file, answer["schema"].to_string()).unwrap();
    let call = |args: &[&str]| {
        let out = amp()
            .arg("--schema")
            .arg(&file)
            .arg("call")
            .arg(&addr)
            .args(args)
            .arg("--json")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    assert_eq!(
        call(&["simple", "greeting=hi", "cookie:=5"]),
        serde_json::json!({"cookieplus": 8})
    );
    assert_eq!(
        call(&["getlist", "length:=2"]),
        serde_json::json!({"body": [{"x": 0}, {"x": 1}]})
    );
    // A BigUnicode both ways, over one chunk, cut inside characters.
    let text = format!("a{}", "é".repeat(40_000));
    let arg = format!("text={text}");
    assert_eq!(call(&["Echo", &arg]), serde_json::json!({ "text": text }));
    assert!(peer.finish(), "the server failed");
}

#[test]
fn a_server_that_does_not_describe_itself_answers_unhandled() {
    let mut peer = Proc::python(&common::script("cli_serve_twisted.py"), &[]);
    let addr = peer.port();
    let (code, answer) = fetch(&addr, None);
    assert_eq!(code, 1);
    assert_eq!(answer["error"], "UNHANDLED");
    assert!(peer.finish(), "the server failed");
}
