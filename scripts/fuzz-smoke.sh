#!/usr/bin/env bash
# Fuzz smoke test: build every fuzz target of fuzz/ and run each for N
# seconds (default 30; the first argument overrides), starting from the
# committed corpus and regressions. Fails on any crash, failed check,
# timeout or out-of-memory.
#
#   scripts/fuzz-smoke.sh        # 30 s per target
#   scripts/fuzz-smoke.sh 300    # 5 minutes per target
#
# Needs a nightly toolchain (`rustup toolchain install nightly`), and not
# cargo-fuzz: the targets are built with the flags `cargo fuzz build -s none`
# uses (libFuzzer comes from the libfuzzer-sys crate), which saves
# installing cargo-fuzz on a clean machine (about a minute here) and builds
# into the same directory, so that `cargo fuzz run -s none` reuses the
# build. Without nightly it says so, replays the committed corpus and
# regressions through the same checks built on stable (the `replay`
# binary of fuzz/harness), and exits 0 if they pass.
#
# FUZZ_SMOKE_TOOLCHAIN names the nightly toolchain (default: nightly).
#
# New inputs found go to a temporary directory, not into the committed
# corpus; a crash is written to fuzz/artifacts/<target>/ (see fuzz/README.md
# for what to do with it).
set -euo pipefail

secs=${1:-30}
case $secs in
'' | *[!0-9]*)
    echo "usage: $0 [seconds-per-target]" >&2
    exit 2
    ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
fuzz=$root/fuzz
targets=(box_decoder values typed_command session capture)
nightly=${FUZZ_SMOKE_TOOLCHAIN:-nightly}

replay_on_stable() {
    cargo run --locked --release --manifest-path "$fuzz/Cargo.toml" \
        -p amp-fuzz-harness --bin replay
}

if ! cargo "+$nightly" --version >/dev/null 2>&1; then
    echo "fuzz-smoke: no nightly toolchain ('cargo +$nightly' fails), so no fuzzing:"
    echo "fuzz-smoke: libFuzzer needs nightly (rustup toolchain install nightly)."
    echo "fuzz-smoke: replaying the committed corpus and regressions on stable instead."
    replay_on_stable
    echo "fuzz-smoke: replay passed; fuzzing skipped (no nightly)."
    exit 0
fi

triple=$(rustc "+$nightly" -vV | sed -n 's/^host: //p')
# The flags of `cargo fuzz build -s none` (cargo-fuzz 0.13): coverage
# instrumentation for libFuzzer, `cfg(fuzzing)`, debug assertions and
# overflow checks in an optimised build.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing \
-Cllvm-args=-simplifycfg-branch-fold-threshold=0 -Cllvm-args=-sanitizer-coverage-stack-depth \
-Cdebug-assertions -Ccodegen-units=1"
echo "fuzz-smoke: building ${targets[*]} (nightly, $triple)"
build_start=$SECONDS
cargo "+$nightly" build --locked --manifest-path "$fuzz/Cargo.toml" --target "$triple" \
    --release --config 'profile.release.debug="line-tables-only"' \
    -p amp-wire-fuzz --bins
echo "fuzz-smoke: built in $((SECONDS - build_start)) s"
unset RUSTFLAGS

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=()
for t in "${targets[@]}"; do
    bin=${CARGO_TARGET_DIR:-$fuzz/target}/$triple/release/$t
    mkdir -p "$scratch/$t" "$fuzz/artifacts/$t"
    inputs=("$fuzz/corpus/$t")
    if [ -d "$fuzz/regressions/$t" ]; then
        inputs+=("$fuzz/regressions/$t")
    fi
    echo "fuzz-smoke: $t for $secs s"
    log=$scratch/$t.log
    # The first directory receives new inputs: the scratch one.
    if "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=20 \
        -print_final_stats=1 -artifact_prefix="$fuzz/artifacts/$t/" \
        "$scratch/$t" "${inputs[@]}" >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
        cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
        echo "fuzz-smoke: $t ok: $runs runs, $rate exec/s, $cov"
    else
        echo "fuzz-smoke: $t FAILED; the end of its log:" >&2
        tail -n 60 "$log" >&2
        failed+=("$t")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz-smoke: FAILED: ${failed[*]} (reproducers in fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz-smoke: all targets ran $secs s without a failure"
