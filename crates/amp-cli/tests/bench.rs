//! `amp bench` against our own `amp serve`, against Twisted's documented
//! example server, and against servers that fail.
mod common;

use common::{amp, Proc};
use std::net::TcpListener;
use std::time::Duration;

/// `amp serve` on a free port.
fn serve() -> (Proc, String) {
    let mut p = Proc::amp(&["serve", "127.0.0.1:0"]);
    let addr = p.listening();
    (p, addr)
}

/// Runs `amp bench args...`; returns (exit code, stdout).
fn bench(args: &[&str]) -> (i32, String) {
    let out = amp().arg("bench").args(args).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let code = out.status.code().expect("exited");
    (code, stdout)
}

/// Runs `amp bench ADDR Sum a=1 b=2 --calls 2000` and `extra` flags;
/// returns (exit code, stdout).
fn sums(addr: &str, extra: &[&str]) -> (i32, String) {
    bench(&[&[addr, "Sum", "a=1", "b=2", "--calls", "2000"][..], extra].concat())
}

/// Runs `amp bench ADDR Divide numerator=1 denominator=0 --calls CALLS`
/// and `extra` flags: every call an error; returns (exit code, stdout).
fn divisions_by_zero(addr: &str, calls: &str, extra: &[&str]) -> (i32, String) {
    let divide = [addr, "Divide", "numerator=1", "denominator=0"];
    bench(&[&divide[..], &["--calls", calls], extra].concat())
}

/// The text report of 2000 clean calls.
fn assert_clean_report(stdout: &str) {
    assert!(
        stdout.contains("calls:       2000 (2000 answered, 0 errors, 0 failures)"),
        "{stdout}"
    );
    assert!(stdout.contains("latency:     p50 "), "{stdout}");
    let last = stdout.trim_end().lines().last().unwrap();
    assert!(
        last.starts_with("throughput: ") && last.ends_with(" calls/s"),
        "{last}"
    );
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn against_amp_serve() {
    let (_server, addr) = serve();
    let (code, out) = sums(&addr, &["--concurrency", "8", "--connections", "2"]);
    assert_eq!(code, 0, "{out}");
    assert_clean_report(&out);
    assert!(
        out.contains("2 connection(s), 8 call(s) in flight"),
        "{out}"
    );

    let (code, out) = bench(&[&addr, "Sum", "a=1", "b=2", "-n", "2000", "--json"]);
    assert_eq!(code, 0, "{out}");
    let j = json(&out);
    assert_eq!(j["calls"], 2000);
    assert_eq!(j["answered"], 2000);
    assert_eq!(j["errors"], 0);
    assert!(j["latency_us"]["p50"].as_u64().unwrap() > 0);
    assert!(j["latency_us"]["max"].as_u64() >= j["latency_us"]["p99"].as_u64());
    assert!(j["throughput_calls_per_s"].as_f64().unwrap() > 0.0);
}

#[test]
fn over_starttls() {
    let (_server, addr) = serve();
    let (code, out) = sums(&addr, &["--connections", "2", "--starttls", "--insecure"]);
    assert_eq!(code, 0, "{out}");
    assert_clean_report(&out);
}

#[test]
fn for_a_duration() {
    let (_server, addr) = serve();
    let (code, out) = bench(&[&addr, "Sum", "a=1", "b=2", "--duration", "0.3", "--json"]);
    assert_eq!(code, 0, "{out}");
    let j = json(&out);
    assert!(j["calls"].as_u64().unwrap() > 0);
    assert!(j["elapsed_s"].as_f64().unwrap() >= 0.3);
}

#[test]
fn error_answers_are_reported_and_exit_1() {
    let (_server, addr) = serve();
    let (code, out) = divisions_by_zero(&addr, "100", &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("(0 answered, 100 errors, 0 failures)"),
        "{out}"
    );
    assert!(out.contains("errors:      ZERO_DIVISION 100"), "{out}");
    assert!(out.trim_end().ends_with("calls/s"), "{out}");

    let (code, out) = bench(&[&addr, "Nope", "--calls", "10", "--json"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(json(&out)["errors_by_code"]["UNHANDLED"], 10);
}

#[test]
fn against_twisted_documented_server() {
    let mut twisted = Proc::python(&common::script("cli_serve_twisted.py"), &[]);
    let addr = twisted.port();
    let (code, out) = sums(&addr, &[]);
    assert_eq!(code, 0, "{out}\n{}", twisted.stderr());
    assert_clean_report(&out);

    let (code, out) = sums(&addr, &["--connections", "2", "--json"]);
    assert_eq!(code, 0, "{out}");
    let j = json(&out);
    assert_eq!(j["calls"], 2000);
    assert_eq!(j["errors"], 0);

    let (code, out) = divisions_by_zero(&addr, "20", &["--json"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(json(&out)["errors_by_code"]["ZERO_DIVISION"], 20);
    assert!(twisted.finish(), "the Twisted server stops cleanly");
}

#[test]
fn a_server_that_never_answers_times_out_exit_3() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    // Accept and hold the connection, answering nothing.
    let holder = std::thread::spawn(move || listener.accept().map(|(s, _)| s));
    let (code, out) = bench(&[&addr, "Sum", "--calls", "3", "--timeout", "0.3"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("failures:    TIMEOUT 3"), "{out}");
    drop(holder.join());
}

#[test]
fn a_server_that_hangs_up_exit_3() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || drop(listener.accept()));
    let (code, out) = bench(&[&addr, "Sum", "--calls", "10", "--json"]);
    assert_eq!(code, 3, "{out}");
    let j = json(&out);
    assert_eq!(j["connections_lost"], 1);
    assert!(j["failures_by_kind"]["CONNECTION_LOST"].as_u64().unwrap() >= 1);
}

#[test]
fn connection_and_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let nowhere = format!("unix:{}", dir.path().join("none.sock").display());
    amp()
        .args(["bench", &nowhere, "Sum"])
        .assert()
        .code(3)
        .stdout("")
        .stderr(predicates::str::contains("cannot connect"));
    for args in [
        &["--concurrency", "1", "--connections", "2"][..],
        &["--calls", "0"],
        &["--duration", "-1"],
        &["--starttls"],
    ] {
        amp()
            .args(["bench", "127.0.0.1:1", "Sum"])
            .args(args)
            .assert()
            .code(2);
    }
    amp()
        .args(["bench", "127.0.0.1:1", "StartTLS"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--starttls"));
}

/// `amp serve -v` on a free port (each call logged on stderr).
fn serve_logged() -> (Proc, String) {
    let mut p = Proc::amp(&["serve", "127.0.0.1:0", "-v"]);
    let addr = p.listening();
    (p, addr)
}

/// Calls a `serve_logged` server answered, from its log.
fn calls_logged(stderr: &str) -> usize {
    stderr.lines().filter(|l| l.contains(" call ")).count()
}

#[test]
fn over_two_servers_each_gets_calls() {
    let (a, addr_a) = serve_logged();
    let (b, addr_b) = serve_logged();
    let both = format!("{addr_a},{addr_b}");
    let (code, out) = bench(&[&both, "Sum", "a=1", "b=2", "-n", "400", "-c", "8", "--json"]);
    assert_eq!(code, 0, "{out}");
    let j = json(&out);
    assert_eq!(j["answered"], 400);
    assert_eq!(j["target"], both.as_str());
    let (_, _, log_a) = a.stop("TERM");
    let (_, _, log_b) = b.stop("TERM");
    let (on_a, on_b) = (calls_logged(&log_a), calls_logged(&log_b));
    assert_eq!(on_a + on_b, 400);
    assert!(on_a > 40 && on_b > 40, "calls spread {on_a} / {on_b}");
}

#[test]
fn a_server_killed_mid_run_fails_only_its_calls() {
    let (mut a, addr_a) = serve_logged();
    let (b, addr_b) = serve_logged();
    let both = format!("{addr_a},{addr_b}");
    let mut run = Proc::amp(&[
        "bench",
        &both,
        "Sum",
        "a=1",
        "b=2",
        "--duration",
        "3",
        "-c",
        "20",
        "--json",
    ]);
    // Killed while it is serving the run: its log grew by at least 20
    // calls in the last 20 ms (the client prefers the server with fewer
    // calls in flight, then the faster one, so a server that answered once
    // may be getting none at the moment).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut seen = 0;
    loop {
        let now = calls_logged(&a.stderr());
        if now >= seen + 20 && seen > 0 {
            break;
        }
        seen = now.max(1);
        assert!(
            std::time::Instant::now() < deadline,
            "the run never kept {addr_a} busy"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    a.kill();
    let out = run.wait_for("{");
    let j = json(&format!("{{{out}"));
    // The calls in flight on the killed server fail, none hangs, the run
    // goes on with the other.
    let lost = j["failures_by_kind"]["CONNECTION_LOST"]
        .as_u64()
        .unwrap_or(0);
    assert!((1..=20).contains(&lost), "{j}");
    assert_eq!(j["failures"].as_u64(), Some(lost), "{j}");
    assert_eq!(j["errors"], 0);
    let answered = j["answered"].as_u64().unwrap();
    let (_, _, log_b) = b.stop("TERM");
    assert!(calls_logged(&log_b) as u64 > answered / 2, "{j}");
    assert!(!run.finish(), "exit 3: calls failed on our side");
}

#[test]
fn no_server_up_is_a_connection_error() {
    let dead = || {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let both = format!("{},{}", dead(), dead());
    let out = amp()
        .args([
            "bench",
            &both,
            "Sum",
            "a=1",
            "b=2",
            "-n",
            "10",
            "--timeout",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Connection refused"), "{stderr}");
}
