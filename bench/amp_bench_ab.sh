#!/usr/bin/env bash
# One connection against a hundred, two builds of the `amp` binary,
# alternating: `amp bench ADDR Sum a=1 b=2 --concurrency 1000` over 1 and
# over 100 connections against each build's own `amp serve`.
#
# Usage: bench/amp_bench_ab.sh BASE_AMP NEW_AMP [REPS] [CALLS]
#
#   BASE_AMP, NEW_AMP  paths of two release `amp` binaries (for another
#                      commit: `git worktree add /tmp/base REV` and
#                      `cargo build --release -p amp-cli` there)
#   REPS               repetitions (default 5); base and new alternate
#   CALLS              calls a run (default 400000)
#
# Prints every run, then medians [min-max] and new/base ratios computed per
# repetition. Every server started is stopped; every run is bounded.
set -euo pipefail
BASE=${1:?usage: bench/amp_bench_ab.sh BASE_AMP NEW_AMP [REPS] [CALLS]}
NEW=${2:?usage: bench/amp_bench_ab.sh BASE_AMP NEW_AMP [REPS] [CALLS]}
REPS=${3:-5}
CALLS=${4:-400000}
tmp=$(mktemp -d)
spid=
cleanup() { [ -n "$spid" ] && kill "$spid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
for rep in $(seq "$REPS"); do
  for which in base new; do
    bin=$BASE
    [ "$which" = new ] && bin=$NEW
    "$bin" serve 127.0.0.1:0 >"$tmp/serve.log" 2>&1 &
    spid=$!
    port=
    for _ in $(seq 100); do
      port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/serve.log" | head -1)
      [ -n "$port" ] && break
      sleep 0.1
    done
    [ -n "$port" ] || { echo "amp_bench_ab.sh: $which's amp serve did not start" >&2; exit 1; }
    for k in 1 100; do
      r=$(timeout 300 "$bin" bench "127.0.0.1:$port" Sum a=1 b=2 --calls "$CALLS" \
            --concurrency 1000 --connections "$k" --json \
          | sed -E 's/.*"throughput_calls_per_s":([0-9.]+).*/\1/')
      echo "$rep $which $k $r" | tee -a "$tmp/runs"
    done
    kill "$spid"
    wait "$spid" 2>/dev/null || true
    spid=
  done
done
python3 - "$tmp/runs" <<'PY'
import statistics, sys
d = {}
for line in open(sys.argv[1]):
    rep, which, k, r = line.split()
    d.setdefault((which, k), []).append(float(r))
def fmt(v):
    return f"{statistics.median(v):,.0f} [{min(v):,.0f}-{max(v):,.0f}]"
def pct(v):
    return f"{statistics.median(v):.0%} [{min(v):.0%}-{max(v):.0%}]"
print("\n| connections | base calls/s | new calls/s | new/base (per rep) |")
print("|---|---:|---:|---:|")
for k in ("1", "100"):
    b, n = d[("base", k)], d[("new", k)]
    print(f"| {k} | {fmt(b)} | {fmt(n)} | {pct([x / y for x, y in zip(n, b)])} |")
for which in ("base", "new"):
    r = [x / y for x, y in zip(d[(which, "100")], d[(which, "1")])]
    print(f"\n{which}: 100 connections / 1: {statistics.median(r):.2f} [{min(r):.2f}-{max(r):.2f}]")
PY
