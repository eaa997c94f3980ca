#!/usr/bin/env bash
# `amp bench` against `amp serve` and against Twisted's documented example
# server (ampserver.py's Math: Sum and Divide), same calls, same load.
#
# Usage: bench/cli_bench.sh [--reps R] [--no-build] [--no-generator-check]
#
#   --reps R               repetitions (default 3), interleaved: rep 1 of
#                          every configuration, then rep 2, ...
#   --no-build             use the binaries already in target/release
#   --no-generator-check   skip the check that amp bench is not the
#                          bottleneck (amp bench vs the amp crate's
#                          math_client --bench on the same server)
#
# Loads (`amp bench ADDR Sum a=1 b=2 ...`, the same for both servers):
#   * --concurrency 1 --connections 1 --calls 20000   (one call at a time)
#   * --concurrency 100 --connections 4 --calls 300000 (loaded)
# Prints calls/s and p50/p99 latency for both servers, medians with
# [min-max] over the repetitions, and the ratio ours/Twisted per load.
#
# Needs interop/.venv (scripts/setup-interop.sh) or AMP_PYTHON, and
# Twisted's examples (AMP_TWISTED_EXAMPLES, default
# interop/.venv/twisted-examples). Twisted's server runs with --quiet (its
# print per call silenced). Every process started is killed on exit; every
# wait is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=3
BUILD=yes
GENCHECK=yes
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS=$2; shift 2 ;;
    --no-build) BUILD=no; shift ;;
    --no-generator-check) GENCHECK=no; shift ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "cli_bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

PY=${AMP_PYTHON:-interop/.venv/bin/python}
if [ ! -x "$PY" ]; then
  echo "cli_bench.sh: $PY missing; run scripts/setup-interop.sh (or set AMP_PYTHON)" >&2
  exit 1
fi
export AMP_TWISTED_EXAMPLES=${AMP_TWISTED_EXAMPLES:-$PWD/interop/.venv/twisted-examples}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
AMP=$TARGET_DIR/release/amp
MATH_CLIENT=$TARGET_DIR/release/examples/math_client

if [ "$BUILD" = yes ]; then
  cargo build --release -q -p amp-cli
  if [ "$GENCHECK" = yes ]; then
    cargo build --release -q -p amp --example math_client
  fi
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# wait_line FILE PREFIX: the rest of the first line of FILE starting with
# PREFIX, waiting up to 30 s for it.
wait_line() {
  for _ in $(seq 300); do
    if line=$(grep -m1 "^$2" "$1" 2>/dev/null); then
      echo "${line#"$2"}"
      return 0
    fi
    sleep 0.1
  done
  echo "cli_bench.sh: no '$2' line in $1:" >&2
  cat "$1" >&2
  exit 1
}

"$AMP" serve 127.0.0.1:0 >"$tmp/ours.out" 2>&1 &
pids+=($!)
OURS=$(wait_line "$tmp/ours.out" "listening on ")

# Twisted serves until its stdin closes: hold it open with a fifo.
mkfifo "$tmp/twisted.in"
"$PY" interop/cli_serve_twisted.py --quiet <"$tmp/twisted.in" >"$tmp/twisted.out" 2>&1 &
pids+=($!)
exec 3>"$tmp/twisted.in"
TWISTED=127.0.0.1:$(wait_line "$tmp/twisted.out" "PORT ")

LOADS=("1 1 20000" "100 4 300000")
echo "amp serve on $OURS, Twisted's ampserver.py Math on $TWISTED; $REPS rep(s)" >&2
for rep in $(seq "$REPS"); do
  for load in "${LOADS[@]}"; do
    read -r c k n <<<"$load"
    for server in ours twisted; do
      addr=$OURS
      [ "$server" = twisted ] && addr=$TWISTED
      echo "rep $rep: c=$c k=$k n=$n against $server" >&2
      "$AMP" bench "$addr" Sum a=1 b=2 --calls "$n" --concurrency "$c" \
        --connections "$k" --json >"$tmp/$server.c$c.k$k.n$n.$rep.json"
    done
  done
  if [ "$GENCHECK" = yes ]; then
    "$MATH_CLIENT" "$OURS" --bench --calls 200000 --depth 100 >"$tmp/gen.math_client.$rep.txt"
    "$AMP" bench "$OURS" Sum a=1 b=2 --calls 200000 --concurrency 100 --connections 1 --json \
      >"$tmp/gen.amp_bench.$rep.json"
  fi
done

echo "machine: $(nproc) vCPU, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" - "$tmp" <<'EOF'
import glob, json, os, re, statistics, sys

tmp = sys.argv[1]

def runs(pattern):
    return [json.load(open(p)) for p in sorted(glob.glob(os.path.join(tmp, pattern)))]

def med(xs):
    return "%s [%s-%s]" % (fmt(statistics.median(xs)), fmt(min(xs)), fmt(max(xs)))

def fmt(x):
    return "{:,.0f}".format(x)

print("%-38s %-10s %-28s %-10s %s" % ("load (amp bench ... Sum a=1 b=2)", "server", "calls/s median [min-max]", "p50 µs", "p99 µs"))
for name in sorted({os.path.basename(p).split(".", 1)[1].rsplit(".", 2)[0] for p in glob.glob(os.path.join(tmp, "ours.*.json"))},
                   key=lambda s: int(re.match(r"c(\d+)", s).group(1))):
    c, k, n = re.match(r"c(\d+)\.k(\d+)\.n(\d+)", name).groups()
    load = "-c %s --connections %s --calls %s" % (c, k, n)
    rows = {}
    for server in ("ours", "twisted"):
        rs = runs("%s.%s.*.json" % (server, name))
        for r in rs:
            assert r["errors"] == 0 and r["failures"] == 0, r
        rows[server] = rs
        label = "amp serve" if server == "ours" else "Twisted"
        print("%-38s %-10s %-28s %-10s %s" % (
            load if server == "ours" else "", label,
            med([r["throughput_calls_per_s"] for r in rs]),
            fmt(statistics.median([r["latency_us"]["p50"] for r in rs])),
            fmt(statistics.median([r["latency_us"]["p99"] for r in rs]))))
    ratios = [o["throughput_calls_per_s"] / t["throughput_calls_per_s"] for o, t in zip(rows["ours"], rows["twisted"])]
    print("%-38s %-10s %.1fx [%.1f-%.1f] (per repetition)" % ("", "ratio", statistics.median(ratios), min(ratios), max(ratios)))

gen = runs("gen.amp_bench.*.json")
if gen:
    mc = []
    for p in sorted(glob.glob(os.path.join(tmp, "gen.math_client.*.txt"))):
        mc.append(float(re.search(r"([\d.]+) calls/s", open(p).read()).group(1)))
    print()
    print("generator check, amp serve, 200000 calls, 100 in flight on 1 connection:")
    print("  math_client --bench --depth 100:           %s calls/s" % med(mc))
    print("  amp bench -c 100 --connections 1:          %s calls/s" % med([r["throughput_calls_per_s"] for r in gen]))
EOF
