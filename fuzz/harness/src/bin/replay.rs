//! Replays inputs through the fuzz targets' checks, without libFuzzer (on
//! stable): the committed corpus and regressions, or given files.
//!
//! ```text
//! replay                       # every target, fuzz/corpus/<t> and fuzz/regressions/<t>
//! replay <target> <path>...    # these files (or directories) through one target
//! ```
//!
//! With `AMP_FUZZ_STATS=1` it also prints what the `session` scripts
//! reached (pings sent and answered, routes bound, routed requests, ...;
//! see `session::counters`).
//!
//! Exits 1 if any input fails its checks (the panic is printed with the
//! file name); a stack overflow or abort ends the process at once, so set
//! `REPLAY_VERBOSE=1` to see which file was running.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for e in entries {
            files(&e, out);
        }
    } else if path.is_file() && path.extension().is_none_or(|e| e != "md") {
        out.push(path.to_path_buf());
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let fuzz_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut jobs: Vec<(amp_fuzz_harness::Target, Vec<PathBuf>)> = Vec::new();
    match args.split_first() {
        None => {
            for &(name, f) in amp_fuzz_harness::TARGETS {
                let mut v = Vec::new();
                for dir in ["corpus", "regressions"] {
                    files(&fuzz_dir.join(dir).join(name), &mut v);
                }
                jobs.push(((name, f), v));
            }
        }
        Some((target, paths)) => {
            let Some(&(name, f)) = amp_fuzz_harness::TARGETS.iter().find(|(n, _)| n == target)
            else {
                eprintln!(
                    "unknown target {target}; targets: {:?}",
                    amp_fuzz_harness::TARGETS
                        .iter()
                        .map(|t| t.0)
                        .collect::<Vec<_>>()
                );
                return ExitCode::from(2);
            };
            let mut v = Vec::new();
            for p in paths {
                files(Path::new(p), &mut v);
            }
            jobs.push(((name, f), v));
        }
    }
    let verbose = std::env::var_os("REPLAY_VERBOSE").is_some();
    let mut failed = 0;
    for ((name, f), inputs) in jobs {
        let start = std::time::Instant::now();
        for path in &inputs {
            let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if verbose {
                eprintln!("{name}: {}", path.display());
            }
            if std::panic::catch_unwind(|| f(&data)).is_err() {
                eprintln!("FAILED: {name} on {}", path.display());
                failed += 1;
            }
        }
        println!(
            "{name}: {} inputs replayed in {:.2?}",
            inputs.len(),
            start.elapsed()
        );
    }
    let counts = amp_fuzz_harness::session::counters::report();
    if !counts.is_empty() {
        println!("session counters (AMP_FUZZ_STATS):");
        for (name, n) in counts {
            println!("  {name:<32} {n:>10}");
        }
    }
    if failed > 0 {
        eprintln!("{failed} inputs failed");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
