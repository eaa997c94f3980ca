#!/usr/bin/env bash
# Two servers against one, through the balanced client (`amp::Balanced`):
# `amp bench Sum a=1 b=2 --concurrency C` against one `amp serve` directly,
# against the same server through the balanced client (--balance), and
# against two `amp serve` processes (ADDR,ADDR), alternating, with the CPU
# time each process used.
#
# Usage: bench/balance.sh [AMP] [REPS] [CALLS] [CONCURRENCY]
#
#   AMP          a release `amp` binary (default target/release/amp)
#   REPS         repetitions (default 5)
#   CALLS        calls a run (default 400000)
#   CONCURRENCY  calls in flight (default 1000)
#
# Prints every run (calls/s, then CPU seconds: client, server 1, server 2),
# then medians [min-max] and the ratios per repetition. Every server
# started is stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
AMP=${1:-target/release/amp}
REPS=${2:-5}
CALLS=${3:-400000}
C=${4:-1000}
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
addrs=()
for i in 1 2; do
  "$AMP" serve 127.0.0.1:0 >"$tmp/s$i.log" 2>&1 &
  pids+=($!)
  a=
  for _ in $(seq 100); do
    a=$(sed -n 's/.*\(127\.0\.0\.1:[0-9]*\).*/\1/p' "$tmp/s$i.log" | head -1)
    [ -n "$a" ] && break
    sleep 0.1
  done
  [ -n "$a" ] || { echo "balance.sh: amp serve $i did not start" >&2; exit 1; }
  addrs+=("$a")
done
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
for rep in $(seq "$REPS"); do
  for which in one balanced two; do
    case $which in
      one) args=("${addrs[0]}") ;;
      balanced) args=("${addrs[0]}" --balance) ;;
      two) args=("${addrs[0]},${addrs[1]}") ;;
    esac
    s1=$(ticks "${pids[0]}"); s2=$(ticks "${pids[1]}")
    out=$( { /usr/bin/time -f "CPU %U %S" timeout 300 "$AMP" bench "${args[@]}" Sum a=1 b=2 \
             --calls "$CALLS" --concurrency "$C" --json; } 2>&1 )
    e1=$(ticks "${pids[0]}"); e2=$(ticks "${pids[1]}")
    r=$(echo "$out" | sed -n 's/.*"throughput_calls_per_s":\([0-9.]*\).*/\1/p')
    cpu=$(echo "$out" | sed -n 's/^CPU \([0-9.]*\) \([0-9.]*\)$/\1 \2/p' | awk '{print $1 + $2}')
    s1c=$(awk -v a="$s1" -v b="$e1" -v hz="$hz" 'BEGIN {print (b - a) / hz}')
    s2c=$(awk -v a="$s2" -v b="$e2" -v hz="$hz" 'BEGIN {print (b - a) / hz}')
    echo "$rep $which $r $cpu $s1c $s2c" | tee -a "$tmp/runs"
  done
done
python3 - "$tmp/runs" "$CALLS" <<'PY'
import statistics, sys
d = {}
calls = int(sys.argv[2])
for line in open(sys.argv[1]):
    rep, which, r, cpu, s1, s2 = line.split()
    d.setdefault(which, []).append((float(r), float(cpu), float(s1) + float(s2)))
def fmt(v):
    return f"{statistics.median(v):,.0f} [{min(v):,.0f}-{max(v):,.0f}]"
def us(v):
    return f"{statistics.median(v) * 1e6 / calls:.2f}"
print("\n| run | calls/s | client CPU µs/call | servers' CPU µs/call |")
print("|---|---:|---:|---:|")
for which, label in (("one", "one server, one connection"),
                     ("balanced", "one server, balanced client"),
                     ("two", "two servers, balanced client")):
    v = d[which]
    print(f"| {label} | {fmt([x[0] for x in v])} | {us([x[1] for x in v])} | {us([x[2] for x in v])} |")
for a, b in (("balanced", "one"), ("two", "one"), ("two", "balanced")):
    r = [x[0] / y[0] for x, y in zip(d[a], d[b])]
    print(f"\n{a} / {b}: {statistics.median(r):.2f} [{min(r):.2f}-{max(r):.2f}]")
PY
