#!/usr/bin/env bash
# The whole load comparison in one go: amp-rs against Twisted's AMP.
#
# Usage: bench/run.sh [--reps R] [--scale PERCENT] [--conns N] [--tls]
#
#   --reps R         repetitions of every load measurement (default 3); the
#                    configurations are interleaved within each repetition so
#                    machine noise hits them alike
#   --scale PERCENT  scale every call count (default 100; 25 for a smoke run)
#   --conns N        connections for the idle-memory test (default 5000)
#   --tls            also measure AMP over TLS (after StartTLS) at depth 1 and
#                    100, for the same four pairs, right after the plain rows
#                    of the same depth in every repetition
#
# Needs interop/.venv (scripts/setup-interop.sh). Builds the release
# examples, starts each server once on port 0 (waiting for its
# "listening on" line), runs the clients, and prints:
#
#   * Sum calls/s at depth 1/16/100 for Rust<->Rust, Twisted<->Twisted,
#     Rust client -> Twisted server, Twisted client -> Rust server, and the
#     raw TCP ping-pong floor (raw_pingpong, same bytes, no AMP);
#   * ratios: Rust/Twisted at depth 100, Rust depth 1 / raw depth 1, each
#     computed per repetition (same run) and summarised;
#   * memory per idle connection (VmRSS growth / N) for both servers;
#   * with --tls: Sum calls/s over TLS at depth 1/100 for the four pairs
#     (servers started with --tls, clients run with --tls: StartTLS with
#     no certificates: a throwaway self-signed certificate on either
#     server), the ratios Rust/Twisted over TLS and TLS/plain, per
#     repetition and summarised.
#
# Figures are medians with [min-max] over the repetitions. Every process it
# starts is killed on exit (trap); every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=3
SCALE=100
CONNS=5000
TLS=no
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS=$2; shift 2 ;;
    --scale) SCALE=$2; shift 2 ;;
    --conns) CONNS=$2; shift 2 ;;
    --tls) TLS=yes; shift ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

PY=interop/.venv/bin/python
EX=target/release/examples
if [ ! -x "$PY" ]; then
  echo "run.sh: $PY missing; run scripts/setup-interop.sh first" >&2
  exit 1
fi

tmp=$(mktemp -d)
pids=()
CPID=
cleanup() {
  if [ -n "$CPID" ]; then
    kill "$CPID" 2>/dev/null || true
  fi
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building release examples..." >&2
cargo build -q --release -p amp \
  --example math_server --example math_client --example raw_pingpong --example idle_conns

# start_server NAME CMD...: run CMD in the background, wait (at most 30 s)
# for its "listening on ADDR" line; sets ADDR and SPID.
start_server() {
  local name=$1
  shift
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  SPID=$!
  pids+=("$SPID")
  ADDR=
  for _ in $(seq 600); do
    ADDR=$(sed -n 's/^listening on //p' "$tmp/$name.out")
    [ -n "$ADDR" ] && return 0
    if ! kill -0 "$SPID" 2>/dev/null; then
      break
    fi
    sleep 0.05
  done
  echo "run.sh: $name did not start:" >&2
  cat "$tmp/$name.err" >&2
  exit 1
}

# run_client CMD...: run a client in the background and wait for it (so a
# signal interrupts the wait at once); its stdout ends up in $tmp/client.out.
run_client() {
  "$@" >"$tmp/client.out" &
  CPID=$!
  wait "$CPID"
  CPID=
}

stop_server() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

start_server rust-server "$EX/math_server" 127.0.0.1:0
RUST_ADDR=$ADDR RUST_PID=$SPID
start_server twisted-server "$PY" interop/bench_server.py 0
TWISTED_ADDR=$ADDR TWISTED_PID=$SPID
start_server raw-server "$EX/raw_pingpong" server 127.0.0.1:0
RAW_ADDR=$ADDR RAW_PID=$SPID
if [ "$TLS" = yes ]; then
  # Separate servers that also answer StartTLS, so the plain rows run
  # against exactly the servers they always ran against.
  start_server rust-tls-server "$EX/math_server" 127.0.0.1:0 --tls
  RUST_TLS_ADDR=$ADDR RUST_TLS_PID=$SPID
  start_server twisted-tls-server "$PY" interop/bench_server.py 0 --tls
  TWISTED_TLS_ADDR=$ADDR TWISTED_TLS_PID=$SPID
fi

# calls CLIENT SERVER DEPTH: a count that takes roughly 1-2 s here.
calls() {
  local n
  if [ "$1" = twisted ] || [ "$2" = twisted ]; then
    if [ "$3" = 1 ]; then n=15000; else n=50000; fi
  else
    if [ "$3" = 1 ]; then n=40000; else n=800000; fi
  fi
  echo $(( n * SCALE / 100 > 0 ? n * SCALE / 100 : 1 ))
}

# Depth 1 is a latency test, and on a small VM it is dominated by where the
# scheduler puts the two processes: a round trip between two CPUs pays two
# cross-CPU wake-ups, one on a single CPU does not. So depth 1 is also
# measured pinned (taskset), both ways: "same" = client and server on CPU 0,
# "split" = server on CPU 0, client on CPU 1.
PIN_OK=no
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  PIN_OK=yes
fi
ALL_CPUS="0-$(( $(nproc) - 1 ))"

# pin_servers CPUS: move every thread of the load servers to CPUS.
pin_servers() {
  local p
  for p in "$RUST_PID" "$RAW_PID"; do
    taskset -a -p -c "$1" "$p" >/dev/null
  done
}

# run_one CLIENT SERVER DEPTH REP [MODE]: one measurement appended to
# results.tsv; MODE is "", "same" or "split" (pinned; servers must be pinned
# already) or "tls" (StartTLS first, against the --tls servers).
run_one() {
  local client=$1 server=$2 depth=$3 rep=$4 pin=${5:-} addr n line
  local -a pre=() tls=()
  case $pin in
    same) pre=(taskset -c 0) ;;
    split) pre=(taskset -c 1) ;;
    tls) tls=(--tls) ;;
  esac
  case $server:$pin in
    rust:tls) addr=$RUST_TLS_ADDR ;;
    twisted:tls) addr=$TWISTED_TLS_ADDR ;;
    rust:*) addr=$RUST_ADDR ;;
    twisted:*) addr=$TWISTED_ADDR ;;
    raw:*) addr=$RAW_ADDR ;;
  esac
  n=$(calls "$client" "$server" "$depth")
  case $client in
    rust) run_client timeout 120 "${pre[@]}" "$EX/math_client" "$addr" --bench --calls "$n" --depth "$depth" "${tls[@]}" ;;
    twisted) run_client timeout 120 "${pre[@]}" "$PY" interop/bench_client.py "$addr" --calls "$n" --depth "$depth" "${tls[@]}" ;;
    raw) run_client timeout 120 "${pre[@]}" "$EX/raw_pingpong" client "$addr" --calls "$n" --depth "$depth" ;;
  esac
  line=$(tail -1 "$tmp/client.out")
  case $pin in
    same|split) echo "  rep $rep  $client -> $server  depth $depth (pinned: $pin): $line" >&2 ;;
    *) echo "  rep $rep  $client -> $server  depth $depth${pin:+ ($pin)}: $line" >&2 ;;
  esac
  # The rate is the number before the final "calls/s" / "round trips/s".
  local rate
  rate=$(echo "$line" | sed -E 's/.*: ([0-9.]+) (calls|round trips)\/s$/\1/')
  printf '%s\t%s\t%s\t%s\t%s\n' "$rep" "$client" "$server" "$depth${pin:+-$pin}" "$rate" >>"$tmp/results.tsv"
}

: >"$tmp/results.tsv"
for rep in $(seq "$REPS"); do
  echo "repetition $rep/$REPS" >&2
  for depth in 1 16 100; do
    for pair in rust:rust twisted:twisted rust:twisted twisted:rust raw:raw; do
      run_one "${pair%%:*}" "${pair##*:}" "$depth" "$rep"
    done
    if [ "$TLS" = yes ] && [ "$depth" != 16 ]; then
      for pair in rust:rust twisted:twisted rust:twisted twisted:rust; do
        run_one "${pair%%:*}" "${pair##*:}" "$depth" "$rep" tls
      done
    fi
  done
  if [ "$PIN_OK" = yes ]; then
    pin_servers 0
    for pin in same split; do
      run_one rust rust 1 "$rep" "$pin"
      run_one raw raw 1 "$rep" "$pin"
    done
    pin_servers "$ALL_CPUS"
  fi
done

for p in "$RUST_PID" "$TWISTED_PID" "$RAW_PID" ${RUST_TLS_PID:-} ${TWISTED_TLS_PID:-}; do
  stop_server "$p"
done

# Idle memory: a fresh server each time, N connections, one Sum call each.
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((CONNS + 100)) ]; then
  CONNS=$(( $(ulimit -n) - 100 ))
  echo "run.sh: file-descriptor limit $(ulimit -n): using $CONNS connections" >&2
fi
: >"$tmp/idle.tsv"
for rep in 1 2; do
  for server in rust twisted; do
    if [ "$server" = rust ]; then
      start_server "idle-$server-$rep" "$EX/math_server" 127.0.0.1:0
    else
      start_server "idle-$server-$rep" "$PY" interop/bench_server.py 0
    fi
    run_client timeout 300 "$EX/idle_conns" "$ADDR" --pid "$SPID" --conns "$CONNS" --settle-ms 1000
    out=$(cat "$tmp/client.out")
    echo "  idle rep $rep $server server: $(echo "$out" | tail -1)" >&2
    kib=$(echo "$out" | sed -n -E 's/^server: .*, ([0-9.-]+) KiB per idle connection$/\1/p')
    ckib=$(echo "$out" | sed -n -E 's/^client: .*, ([0-9.-]+) KiB per idle connection$/\1/p')
    printf '%s\t%s\t%s\t%s\n' "$rep" "$server" "$kib" "$ckib" >>"$tmp/idle.tsv"
    stop_server "$SPID"
  done
done

"$PY" - "$tmp/results.tsv" "$tmp/idle.tsv" "$CONNS" <<'EOF'
import collections
import statistics
import sys

rates = collections.defaultdict(dict)  # (client, server, depth) -> rep -> rate
for line in open(sys.argv[1]):
    rep, client, server, depth, rate = line.split()
    rates[(client, server, depth)][int(rep)] = float(rate)
idle = collections.defaultdict(list)
client_idle = []
for line in open(sys.argv[2]):
    rep, server, kib, ckib = line.split()
    idle[server].append(float(kib))
    client_idle.append(float(ckib))
conns = sys.argv[3]


def summary(values, fmt="{:,.0f}"):
    values = sorted(values)
    if not values:
        return "-"
    med = statistics.median(values)
    return f"{fmt.format(med)} [{fmt.format(values[0])}-{fmt.format(values[-1])}]"


pairs = [
    ("rust", "rust", "Rust client -> Rust server"),
    ("twisted", "twisted", "Twisted client -> Twisted server"),
    ("rust", "twisted", "Rust client -> Twisted server"),
    ("twisted", "rust", "Twisted client -> Rust server"),
    ("raw", "raw", "raw TCP ping-pong (floor)"),
]
print()
print("Sum calls/s, median [min-max] over repetitions")
print()
print("| pair | depth 1 | depth 16 | depth 100 |")
print("|---|---:|---:|---:|")
for c, s, label in pairs:
    cells = [summary(rates[(c, s, d)].values()) for d in ("1", "16", "100")]
    print(f"| {label} | " + " | ".join(cells) + " |")


def ratio(a, b):
    ra, rb = rates[a], rates[b]
    return [ra[k] / rb[k] for k in ra if k in rb]


print()
print("Ratios (computed per repetition, then median [min-max])")
print()
print("| ratio | value | target |")
print("|---|---:|---|")
r100 = ratio(("rust", "rust", "100"), ("twisted", "twisted", "100"))
print(f"| Rust/Twisted, depth 100 | {summary(r100, '{:.1f}x')} | >= 30x |")
r16 = ratio(("rust", "rust", "16"), ("twisted", "twisted", "16"))
print(f"| Rust/Twisted, depth 16 | {summary(r16, '{:.1f}x')} | - |")
r1t = ratio(("rust", "rust", "1"), ("twisted", "twisted", "1"))
print(f"| Rust/Twisted, depth 1 | {summary(r1t, '{:.1f}x')} | - |")
for d, label in (("1", "unpinned"), ("1-same", "pinned, one CPU"), ("1-split", "pinned, two CPUs")):
    if rates[("rust", "rust", d)]:
        r1 = [100 * x for x in ratio(("rust", "rust", d), ("raw", "raw", d))]
        print(f"| Rust depth 1 / raw depth 1 ({label}) | {summary(r1, '{:.0f}%')} | >= 80% |")
if rates[("rust", "rust", "1-same")]:
    print()
    print("Depth 1 pinned with taskset, calls/s (round trips/s for raw)")
    print()
    print("| pair | one CPU (client+server on CPU 0) | two CPUs (server 0, client 1) |")
    print("|---|---:|---:|")
    for c, s_, label in (pairs[0], pairs[4]):
        print(f"| {label} | {summary(rates[(c, s_, '1-same')].values())} | {summary(rates[(c, s_, '1-split')].values())} |")
print()
print(f"Memory per idle connection ({conns} connections, one Sum call each; VmRSS growth / N)")
print()
print("| server | KiB per connection | target |")
print("|---|---:|---|")
print(f"| Rust math_server | {summary(idle['rust'], '{:.1f}')} | <= 16 KiB |")
print(f"| Twisted bench_server.py | {summary(idle['twisted'], '{:.1f}')} | - |")
print(f"| (Rust idle_conns client, per connection) | {summary(client_idle, '{:.1f}')} | - |")
if rates[("rust", "rust", "100-tls")]:
    print()
    print("AMP over TLS (after StartTLS): Sum calls/s, median [min-max] over repetitions")
    print()
    print("| pair | depth 1, plain | depth 1, TLS | depth 100, plain | depth 100, TLS |")
    print("|---|---:|---:|---:|---:|")
    for c, s_, label in pairs[:4]:
        cells = [summary(rates[(c, s_, d)].values()) for d in ("1", "1-tls", "100", "100-tls")]
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()
    print("TLS ratios (computed per repetition, then median [min-max])")
    print()
    print("| ratio | value |")
    print("|---|---:|")
    for d in ("100", "1"):
        r = ratio(("rust", "rust", d + "-tls"), ("twisted", "twisted", d + "-tls"))
        print(f"| Rust/Twisted over TLS, depth {d} | {summary(r, '{:.1f}x')} |")
    for c, label in (("rust", "Rust"), ("twisted", "Twisted")):
        for d in ("100", "1"):
            r = [100 * x for x in ratio((c, c, d + "-tls"), (c, c, d))]
            print(f"| {label} TLS / {label} plain, depth {d} | {summary(r, '{:.0f}%')} |")
    for c, s_, label in pairs[2:4]:
        for d in ("100", "1"):
            r = [100 * x for x in ratio((c, s_, d + "-tls"), (c, s_, d))]
            print(f"| {label}: TLS / plain, depth {d} | {summary(r, '{:.0f}%')} |")
EOF
