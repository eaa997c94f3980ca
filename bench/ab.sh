#!/usr/bin/env bash
# Before/after in one run: the release math_server/math_client of another
# commit ("base") against this tree's ("new"), interleaved.
#
# Usage: bench/ab.sh BASE_REV [--reps R] [--scale PERCENT]
#
#   BASE_REV         a commit (built in a temporary worktree under target/ab)
#   --reps R         repetitions (default 5); base and new alternate within
#                    each, so machine noise hits them alike
#   --scale PERCENT  scale the call counts (default 100)
#
# Measures Rust client -> Rust server Sum calls/s at depth 100, at depth 1
# (unpinned, and pinned with client and server on one CPU), and the raw TCP
# ping-pong floor (raw_pingpong, new build) at depth 1 pinned. Prints
# medians [min-max] and new/base ratios computed per repetition.
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 1 ] || { sed -n '2,16p' "$0"; exit 2; }
BASE_REV=$1
shift
REPS=5
SCALE=100
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS=$2; shift 2 ;;
    --scale) SCALE=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

root=$PWD
. bench/worktree.sh
wt=$(base_worktree "$BASE_REV")
echo "building base ($BASE_REV) and new release examples..." >&2
(cd "$wt" && cargo build -q --release -p amp --example math_server --example math_client)
cargo build -q --release -p amp --example math_server --example math_client --example raw_pingpong
BASE=$wt/target/release/examples
NEW=$root/target/release/examples

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

start() { # NAME CMD...: sets ADDR, SPID
  local name=$1; shift
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  SPID=$!; pids+=("$SPID"); ADDR=
  for _ in $(seq 600); do
    ADDR=$(sed -n 's/^listening on //p' "$tmp/$name.out")
    [ -n "$ADDR" ] && return 0
    sleep 0.05
  done
  echo "ab.sh: $name did not start" >&2; cat "$tmp/$name.err" >&2; exit 1
}

start base "$BASE/math_server" 127.0.0.1:0; BASE_ADDR=$ADDR; BASE_PID=$SPID
start new "$NEW/math_server" 127.0.0.1:0; NEW_ADDR=$ADDR; NEW_PID=$SPID
start raw "$NEW/raw_pingpong" server 127.0.0.1:0; RAW_ADDR=$ADDR; RAW_PID=$SPID

n() { echo $(( $1 * SCALE / 100 > 0 ? $1 * SCALE / 100 : 1 )); }
rate() { grep -oE '[0-9]+ (calls|round trips)/s' | grep -oE '^[0-9]+'; }

# one REP WHICH DEPTH PIN
one() {
  local rep=$1 which=$2 depth=$3 pin=$4 calls line
  local -a pre=()
  [ "$pin" = same ] && pre=(taskset -c 0)
  if [ "$depth" = 1 ]; then calls=$(n 40000); else calls=$(n 800000); fi
  case $which in
    base) line=$("${pre[@]}" "$BASE/math_client" "$BASE_ADDR" --bench --calls "$calls" --depth "$depth") ;;
    new) line=$("${pre[@]}" "$NEW/math_client" "$NEW_ADDR" --bench --calls "$calls" --depth "$depth") ;;
    raw) line=$("${pre[@]}" "$NEW/raw_pingpong" client "$RAW_ADDR" --calls "$calls" --depth "$depth") ;;
  esac
  printf '%s\t%s\t%s\t%s\t%s\n' "$rep" "$which" "$depth" "${pin:-free}" "$(echo "$line" | rate)" >>"$tmp/r.tsv"
  echo "  rep $rep $which depth $depth ${pin:-}: $line" >&2
}

pin_servers() { for p in "$BASE_PID" "$NEW_PID" "$RAW_PID"; do taskset -a -p -c "$1" "$p" >/dev/null; done; }

for rep in $(seq "$REPS"); do
  # Alternate which goes first, so neither always runs on a warmer machine.
  if [ $((rep % 2)) = 1 ]; then order="base new"; else order="new base"; fi
  for w in $order; do one "$rep" "$w" 100 ""; done
  for w in $order; do one "$rep" "$w" 1 ""; done
  pin_servers 0
  for w in $order raw; do one "$rep" "$w" 1 same; done
  pin_servers "0-$(( $(nproc) - 1 ))"
done

python3 - "$tmp/r.tsv" "$BASE_REV" "$(git rev-parse --short HEAD)" <<'EOF'
import collections, statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().split("\n") if l]
r = collections.defaultdict(dict)
for rep, which, depth, pin, rate in rows:
    r[(which, depth, pin)][int(rep)] = float(rate)
def s(xs, f):
    xs = sorted(xs)
    return f"{f(statistics.median(xs))} [{f(xs[0])}-{f(xs[-1])}]"
n = lambda v: f"{v:,.0f}"
p = lambda v: f"{v*100:.0f}%"
print(f"\nbase = {sys.argv[2]}, new = working tree at {sys.argv[3]}; median [min-max] of {len({int(x[0]) for x in rows})}\n")
print("| measurement | base calls/s | new calls/s | new/base (per rep) |")
print("|---|---:|---:|---:|")
for depth, pin, label in [("100", "free", "depth 100"), ("1", "free", "depth 1, unpinned"), ("1", "same", "depth 1, one CPU")]:
    b, nw = r[("base", depth, pin)], r[("new", depth, pin)]
    ratio = [nw[k] / b[k] for k in b if k in nw]
    print(f"| {label} | {s(b.values(), n)} | {s(nw.values(), n)} | {s(ratio, p)} |")
raw = r[("raw", "1", "same")]
for w in ("base", "new"):
    x = r[(w, "1", "same")]
    ratio = [x[k] / raw[k] for k in raw if k in x]
    print(f"| {w}: depth 1 one CPU / raw floor | | | {s(ratio, p)} |")
EOF
