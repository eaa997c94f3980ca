#!/usr/bin/env bash
# One connection against a hundred, two builds of the `amp` binary,
# alternating: `amp bench ADDR Sum a=1 b=2 --concurrency 1000` over 1 and
# over 100 connections against each build's own `amp serve`.
#
# Usage: bench/amp_bench_ab.sh BASE_AMP NEW_AMP [REPS] [CALLS] [RAW_PINGPONG]
#
#   BASE_AMP, NEW_AMP  paths of two release `amp` binaries (for another
#                      commit: `git worktree add /tmp/base REV` and
#                      `cargo build --release -p amp-cli` there)
#   REPS               repetitions (default 5); base and new alternate
#   CALLS              calls a run (default 400000)
#   RAW_PINGPONG       path of a release `raw_pingpong` example: each
#                      repetition also runs the raw-socket floor (the same
#                      bytes, nothing parsed) over 1 and 100 connections,
#                      1,000 in flight, to show what 100 connections cost
#                      with no AMP at all
#
# Prints every run, then medians [min-max] and new/base ratios computed per
# repetition, and for each build (and the raw floor) the 100/1 ratio and
# the wall time a hundred connections add to each call. Every server
# started is stopped; every run is bounded.
set -euo pipefail
BASE=${1:?usage: bench/amp_bench_ab.sh BASE_AMP NEW_AMP [REPS] [CALLS]}
NEW=${2:?usage: bench/amp_bench_ab.sh BASE_AMP NEW_AMP [REPS] [CALLS]}
REPS=${3:-5}
CALLS=${4:-400000}
RAW=${5:-}
tmp=$(mktemp -d)
spid=
rpid=
cleanup() {
  [ -n "$spid" ] && kill "$spid" 2>/dev/null
  [ -n "$rpid" ] && kill "$rpid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
raddr=
if [ -n "$RAW" ]; then
  "$RAW" server 127.0.0.1:0 >"$tmp/raw.log" &
  rpid=$!
  for _ in $(seq 100); do
    raddr=$(sed -n 's/^listening on //p' "$tmp/raw.log")
    [ -n "$raddr" ] && break
    sleep 0.1
  done
  [ -n "$raddr" ] || { echo "amp_bench_ab.sh: raw_pingpong server did not start" >&2; exit 1; }
fi
for rep in $(seq "$REPS"); do
  if [ -n "$raddr" ]; then
    for k in 1 100; do
      r=$(timeout 300 "$RAW" client "$raddr" --calls $((CALLS * 5)) --depth 1000 --connections "$k" \
          | sed -E 's/.* ([0-9]+) round trips\/s$/\1/')
      echo "$rep raw $k $r" | tee -a "$tmp/runs"
    done
  fi
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
for which in ("base", "new", "raw"):
    if (which, "1") not in d:
        continue
    r = [x / y for x, y in zip(d[(which, "100")], d[(which, "1")])]
    # What the hundred connections add to each call (wall time, both
    # sides): the raw floor's is the kernel's share, which no AMP
    # implementation avoids.
    e = [1e6 / x - 1e6 / y for x, y in zip(d[(which, "100")], d[(which, "1")])]
    print(
        f"\n{which}: 100 connections / 1: {statistics.median(r):.2f} [{min(r):.2f}-{max(r):.2f}];"
        f" added per call {statistics.median(e):.2f} us [{min(e):.2f}-{max(e):.2f}]"
        f" (1: {fmt(d[(which, '1')])}, 100: {fmt(d[(which, '100')])} calls/s)"
    )
PY
