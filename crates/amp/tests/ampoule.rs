//! A Python `ampoule` pool (ampoule 24.10.0 on Twisted 26.10, from
//! `interop/.venv`) driving the Rust worker of
//! `examples/ampoule_worker.rs` in place of its Python child.
//!
//! `interop/ampoule_pool.py` runs the scenarios (concurrent `Ping`/`Echo`
//! over several workers, one worker driven directly, `Shutdown`, recycling
//! after `recycleAfter` calls, a per-call timeout killing a worker, idle
//! workers pruned) and prints one JSON line per check; this test builds
//! the worker, runs the script and holds it to every check.
//!
//! Needs `scripts/setup-interop.sh`. Run: `cargo test -p amp --test ampoule`.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::Py;
use serde_json::Value;

/// How long one whole run of the script may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(180);

/// Every check the script makes against the Rust worker.
const CHECKS: &[&str] = &[
    "pool.start",
    "pool.ping",
    "pool.echo",
    "pool.grew",
    "pool.stop",
    "direct.ping",
    "direct.echo_concurrent",
    "direct.unhandled",
    "direct.shutdown",
    "direct.exit",
    "direct.closed",
    "recycle.echo",
    "recycle.recycled",
    "recycle.stop",
    "timeout.killed",
    "timeout.replaced",
    "timeout.stop",
    "idle.pruned",
    "idle.stop",
    "workers.quiet",
    "log.clean",
];

/// The script's output: checks by name, skipped checks, and the summary.
struct Report {
    checks: BTreeMap<String, Value>,
    skipped: Vec<String>,
    summary: Value,
}

async fn run_pool(args: &[&str]) -> Report {
    let finished = Py::spawn("ampoule_pool.py", args).finish(RUN_TIMEOUT).await;
    finished.assert_success("ampoule_pool.py");
    let mut report = Report {
        checks: BTreeMap::new(),
        skipped: Vec::new(),
        summary: Value::Null,
    };
    for line in finished.stdout.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| {
            panic!(
                "ampoule_pool.py printed a line that is not JSON ({e}): {line:?}\n--- stderr ---\n{}",
                finished.stderr
            )
        });
        if let Some(name) = v["check"].as_str() {
            assert_eq!(v["ok"], Value::Bool(true), "check {name} failed: {v}");
            assert!(
                report.checks.insert(name.to_owned(), v.clone()).is_none(),
                "check {name} reported twice"
            );
        } else if let Some(name) = v["skip"].as_str() {
            report.skipped.push(name.to_owned());
        } else if v.get("summary").is_some() {
            report.summary = v;
        } else {
            panic!("unexpected line from ampoule_pool.py: {line}");
        }
    }
    assert_eq!(
        report.summary["ok"],
        Value::Bool(true),
        "no successful summary line.\n--- stdout ---\n{}\n--- stderr ---\n{}",
        finished.stdout,
        finished.stderr
    );
    report
}

#[tokio::test]
async fn ampoule_pool_drives_the_rust_worker() {
    let worker = common::example_binary("ampoule_worker");
    let report = run_pool(&[worker.to_str().expect("UTF-8 path")]).await;

    assert!(report.skipped.is_empty(), "skipped: {:?}", report.skipped);
    let names: Vec<&str> = report.checks.keys().map(String::as_str).collect();
    let mut want = CHECKS.to_vec();
    want.sort_unstable();
    assert_eq!(names, want, "the script made other checks than expected");

    // A few figures the checks rest on, held here too.
    let c = &report.checks;
    assert_eq!(c["pool.echo"]["calls"], 200);
    assert_eq!(c["pool.grew"]["workers"], 4);
    assert_eq!(c["direct.shutdown"]["answer"], "{}");
    assert_eq!(c["direct.unhandled"]["outcome"], "UNHANDLED");
    assert_eq!(c["direct.exit"]["worker"]["exit_code"], 0);
    assert_eq!(
        c["direct.closed"]["worker"]["exit_code"], 0,
        "pipes closed: exit 0"
    );
    let recycled = c["recycle.stop"]["workers"].as_array().unwrap();
    assert_eq!(recycled.len(), 4, "10 calls, recycleAfter=3: 4 workers");
    assert!(recycled.iter().all(|w| w["exit_code"] == 0), "{recycled:?}");
    let timed_out = &c["timeout.killed"]["worker"];
    assert_eq!(
        timed_out["signal"], 9,
        "the late worker is SIGKILLed: {timed_out}"
    );
    // pool 4 + direct 2 + recycle 4 + timeout 2 + idle 3.
    assert_eq!(report.summary["summary"]["workers_started"], 15);
}

/// The same script with ampoule's own Python child: the baseline the Rust
/// worker is held to. ampoule's child cannot answer `Ping` (it answers a
/// `str`, which Twisted refuses to send) and has no slow command for the
/// timeout scenario, so those checks are skipped; and it exits with -1
/// (255) when the pipes close without a `Shutdown`, where ours exits 0.
#[tokio::test]
async fn ampoule_pool_with_its_own_python_child() {
    let report = run_pool(&["--python-child"]).await;
    for name in CHECKS {
        let ran = report.checks.contains_key(*name);
        let skipped = report.skipped.iter().any(|s| s == name);
        let expect_skip =
            name.ends_with(".ping") || name.starts_with("timeout.") || *name == "workers.quiet";
        if expect_skip {
            assert!(!ran, "{name} ran with the Python child");
        } else {
            assert!(ran && !skipped, "{name} did not run with the Python child");
        }
    }
    assert_eq!(report.checks["direct.closed"]["worker"]["exit_code"], 255);
}
