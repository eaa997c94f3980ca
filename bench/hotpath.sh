#!/usr/bin/env bash
# The five targets of the hot-path work, each measured against its own
# baseline in the same run, optionally for a base commit's build as well.
#
# Usage: bench/hotpath.sh [--base REV] [--reps R] [--scale PERCENT]
#                         [--callgrind] [--no-tower]
#
#   --base REV       also build REV (a temporary worktree, target/ab/base,
#                    as bench/ab.sh does) and measure its build in the same
#                    repetitions; prints new/base ratios per repetition
#   --reps R         repetitions (default 5); every configuration runs once
#                    per repetition, always in the same order
#   --scale PERCENT  scale every call count and the idle connections
#                    (default 100; 5 for a smoke run)
#   --callgrind      also count instructions per call at depth 100 under
#                    valgrind --tool=callgrind (slow: about a minute a build)
#   --no-tower       leave out tower-amp (bench/tower-amp, built from
#                    crates.io: needs the registry or a filled cargo cache)
#
# The targets and what each is measured against (Sum(a, b) calls):
#   1. one connection, depth 100: math_client --bench --depth 100 ->
#      math_server, against the pipelined raw floor (raw_pingpong client ->
#      server, same bytes, both sides batching) at depth 100; and how many
#      cores client and server kept busy ((utime+stime of both) / wall).
#      Target >= 0.35.
#   2. depth 1, unpinned: math_client --depth 1 against a blocking std-only
#      ping-pong of the same bytes (raw_pingpong blocking-client ->
#      blocking-server). Target >= 0.9.
#   3. a hundred connections as cheap as one: amp bench ADDR Sum a=1 b=2
#      --concurrency 1000 --connections 100 against --connections 1, both
#      against amp serve. Target >= 0.7.
#   4. heap allocations per call (examples/alloc_count, exact counts, one
#      run): depth 1 <= 1 a side; depth 100: 0 server, client only the
#      caller's future.
#   5. instructions per call at depth 100, client and server (--callgrind);
#      idle memory per connection (examples/idle_conns against a fresh
#      math_server, <= 2 KiB); amp-rs depth 100 / tower-amp depth 100
#      (bench/tower-amp's tower_client -> tower_server, same load), >= 5x.
#
# Figures are medians [min-max] over the repetitions; every ratio is
# computed per repetition (both sides measured in it) and then summarised.
# Ends with a Markdown table of the targets. Every process it starts is
# killed on exit; every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_REV=
REPS=5
SCALE=100
CALLGRIND=no
TOWER=yes
usage() { sed -n '2,43p' "$0"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --base) BASE_REV=${2:?--base needs a commit}; shift 2 ;;
    --reps) REPS=${2:?--reps needs a number}; shift 2 ;;
    --scale) SCALE=${2:?--scale needs a percentage}; shift 2 ;;
    --callgrind) CALLGRIND=yes; shift ;;
    --no-tower) TOWER=no; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "hotpath.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
case "$REPS$SCALE" in
  *[!0-9]*) echo "hotpath.sh: --reps and --scale take whole numbers" >&2; exit 2 ;;
esac
if [ "$REPS" -lt 1 ] || [ "$SCALE" -lt 1 ]; then
  echo "hotpath.sh: --reps and --scale must be >= 1" >&2
  exit 2
fi
if [ "$CALLGRIND" = yes ] && ! command -v valgrind >/dev/null; then
  echo "hotpath.sh: --callgrind needs valgrind" >&2
  exit 1
fi

root=$PWD
TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR=$root/$TARGET_DIR ;; esac
NEW_EX=$TARGET_DIR/release/examples
NEW_AMP=$TARGET_DIR/release/amp
TOWER_DIR=$root/bench/tower-amp/target/release
NEW_REV=$(git rev-parse --short HEAD)
dirty=
[ -z "$(git status --porcelain --untracked-files=no)" ] || dirty=" (with uncommitted changes)"

tmp=$(mktemp -d)
mkdir -p "$tmp/out" "$tmp/cwd"
pids=()
copied=()
# stop PID [SECS]: TERM, up to SECS (default 10) to exit (a graceful
# server drains; one under valgrind writes its counts), then KILL.
stop() {
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq $(( ${2:-10} * 10 ))); do
    kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  for p in "${pids[@]}"; do stop "$p"; done
  for f in "${copied[@]}"; do rm -f "$f"; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

n() { # COUNT: COUNT scaled by --scale, at least MIN (default 1)
  local v=$(( $1 * SCALE / 100 ))
  echo $(( v > ${2:-1} ? v : ${2:-1} ))
}
CALLS_D100=$(n 800000 1000)
CALLS_RAW100=$(n 5000000 1000)  # the floor runs ~6x faster: ~1 s as well
CALLS_TOWER=$(n 100000 1000)
CALLS_D1=$(n 40000 500)
CALLS_BENCH=$(n 400000 2000)
CALLS_ALLOC=$(n 100000 1000)
CONNS=$(n 5000 1000)        # fewer: fixed costs swamp the figure
CG_CLIENT=$(n 20000 1000)       # the counts BENCHMARKS.md used before
CG_SERVER=$(n 40000 1000)

# ---------------------------------------------------------------- builds
echo "building this tree's release examples and amp..." >&2
cargo build -q --release --target-dir "$TARGET_DIR" -p amp \
  --example math_server --example math_client --example raw_pingpong \
  --example alloc_count --example idle_conns
cargo build -q --release --target-dir "$TARGET_DIR" -p amp-cli --bin amp

TOWER_WHY=
if [ "$TOWER" = yes ]; then
  echo "building bench/tower-amp (tower-amp from crates.io)..." >&2
  if ! (cd bench/tower-amp && cargo build -q --release --locked --target-dir target) >"$tmp/tower-build.log" 2>&1; then
    TOWER=no
    TOWER_WHY="bench/tower-amp did not build: $(grep -m1 -E '^(error|warning: spurious)' "$tmp/tower-build.log" || tail -1 "$tmp/tower-build.log")"
    echo "hotpath.sh: $TOWER_WHY (tower-amp row left out); the build's output:" >&2
    cat "$tmp/tower-build.log" >&2
  fi
else
  TOWER_WHY="left out (--no-tower)"
fi

BUILDS=(new)
# shellcheck disable=SC2034  # read through ${!v} in has()
HAVE_new=" d100 d1 bench allocs idle "
if [ -n "$BASE_REV" ]; then
  BASE_SHA=$(git rev-parse --short "$BASE_REV^{commit}")
  # shellcheck source=bench/worktree.sh
  . bench/worktree.sh
  wt=$(base_worktree "$BASE_SHA")
  echo "building base ($BASE_REV = $BASE_SHA) in $wt..." >&2
  BASE_EX=$wt/target/release/examples
  BASE_AMP=$wt/target/release/amp
  # Examples this tree has and the base lacks are copied in for its build
  # (they use old API) and removed on exit, as bench/allocs.sh does.
  for ex in alloc_count idle_conns; do
    f=crates/amp/examples/$ex.rs
    if [ ! -e "$wt/$f" ]; then cp "$f" "$wt/$f"; copied+=("$wt/$f"); fi
  done
  HAVE_base=" "
  for ex in math_server math_client alloc_count idle_conns; do
    if (cd "$wt" && cargo build -q --release --target-dir "$wt/target" -p amp --example "$ex") 2>"$tmp/base-$ex.log"; then
      HAVE_base+="$ex "
    else
      echo "hotpath.sh: base example $ex did not build (left out):" >&2
      tail -5 "$tmp/base-$ex.log" >&2
    fi
  done
  if [ -d "$wt/crates/amp-cli" ] \
    && (cd "$wt" && cargo build -q --release --target-dir "$wt/target" -p amp-cli --bin amp) 2>"$tmp/base-amp.log" \
    && "$BASE_AMP" bench --help 2>/dev/null | grep -q -- --connections; then
    HAVE_base+="amp "
  else
    echo "hotpath.sh: the base has no usable amp bench/amp serve (target 3 left out for it)" >&2
  fi
  # What the base can be measured on.
  built() { case $HAVE_base in *" $1 "*) return 0 ;; esac; return 1; }
  b=" "
  if built math_server && built math_client; then b+="d100 d1 "; fi
  if built amp; then b+="bench "; fi
  if built alloc_count; then b+="allocs "; fi
  if built math_server && built idle_conns; then b+="idle "; fi
  HAVE_base=$b
  BUILDS+=(base)
fi
has() { # BUILD WHAT
  local v="HAVE_$1"
  case ${!v} in *" $2 "*) return 0 ;; esac
  return 1
}
ex_of() { if [ "$1" = base ]; then echo "$BASE_EX"; else echo "$NEW_EX"; fi; }
amp_of() { if [ "$1" = base ]; then echo "$BASE_AMP"; else echo "$NEW_AMP"; fi; }

# ------------------------------------------------------- processes, runs
# start NAME LIMIT_S CMD...: CMD in the background (stdout in
# $tmp/NAME.out), waits up to LIMIT_S for its `listening on ADDR` line;
# sets ADDR and SPID.
start() {
  local name=$1 limit=$2
  shift 2
  : >"$tmp/$name.out"
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null &
  SPID=$!
  pids+=("$SPID")
  ADDR=
  for _ in $(seq $(( limit * 20 ))); do
    ADDR=$(sed -n 's/^listening on //p' "$tmp/$name.out" 2>/dev/null || true)
    [ -n "$ADDR" ] && return 0
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.05
  done
  echo "hotpath.sh: $name did not start:" >&2
  cat "$tmp/$name.err" >&2
  exit 1
}
# forget PID: drop a stopped server from the cleanup list.
forget() {
  local p keep=()
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  pids=("${keep[@]}")
}

# The runner: starts CMD, kills it after LIMIT seconds, and prints after
# its output `#cpu CLIENT SERVER WALL`: CMD's utime+stime (wait4), the
# server's utime+stime growth over the same interval (/proc/PID/stat,
# all threads; "-" for none) and the wall time from start to exit.
RUNNER='
import os, subprocess, sys, threading, time
spid, limit, cmd = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
tck = os.sysconf("SC_CLK_TCK")
def server_cpu():
    if spid == "-":
        return 0.0
    with open("/proc/%s/stat" % spid) as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()  # fields[0] is field 3, state
    return (int(fields[11]) + int(fields[12])) / tck  # utime, stime
s0 = server_cpu()
t0 = time.monotonic()
p = subprocess.Popen(cmd)
timer = threading.Timer(limit, p.kill)
timer.start()
_, status, ru = os.wait4(p.pid, 0)
wall = time.monotonic() - t0
timer.cancel()
s1 = server_cpu()
code = os.waitstatus_to_exitcode(status)
if code != 0:
    sys.stderr.write("%s: exit %d%s\n" % (cmd[0], code, " (killed after %gs)" % limit if code == -9 else ""))
    sys.exit(1)
print("#cpu %.6f %.6f %.6f" % (ru.ru_utime + ru.ru_stime, s1 - s0, wall))
'
# run KEY REP SPID CMD...: one timed client run, its output in
# $tmp/out/KEY.REP; a failed run ends the script.
run() {
  local key=$1 rep=$2 spid=$3
  shift 3
  if ! (cd "$tmp/cwd" && env -u AMP_SCHEMA python3 -c "$RUNNER" "$spid" 600 "$@") >"$tmp/out/$key.$rep" 2>"$tmp/run.err"; then
    echo "hotpath.sh: $key (rep $rep) failed: $*" >&2
    cat "$tmp/run.err" "$tmp/out/$key.$rep" >&2
    exit 1
  fi
  echo "  rep $rep $key: $(grep -v '^#' "$tmp/out/$key.$rep" | tail -1 \
    | sed -E 's/^\{.*"throughput_calls_per_s":([0-9.]+).*/amp bench: \1 calls\/s/')" >&2
}

# ------------------------------------------------------------- servers
for b in "${BUILDS[@]}"; do
  if has "$b" d100; then
    start "math_server.$b" 10 "$(ex_of "$b")/math_server" 127.0.0.1:0
    declare "ADDR_$b=$ADDR" "PID_$b=$SPID"
  fi
  if has "$b" bench; then
    start "amp_serve.$b" 10 "$(amp_of "$b")" serve 127.0.0.1:0
    declare "SERVE_ADDR_$b=$ADDR" "SERVE_PID_$b=$SPID"
  fi
done
start raw 10 "$NEW_EX/raw_pingpong" server 127.0.0.1:0
RAW_ADDR=$ADDR RAW_PID=$SPID
start blocking 10 "$NEW_EX/raw_pingpong" blocking-server 127.0.0.1:0
BLOCKING_ADDR=$ADDR BLOCKING_PID=$SPID
if [ "$TOWER" = yes ]; then
  start tower 10 "$TOWER_DIR/tower_server" 127.0.0.1:0
  TOWER_ADDR=$ADDR TOWER_PID=$SPID
fi

# Idle memory needs many descriptors (two sockets per connection on
# loopback, one in each process).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((CONNS + 100)) ]; then
  CONNS=$(( $(ulimit -n) - 100 ))
  echo "hotpath.sh: file-descriptor limit $(ulimit -n): $CONNS idle connections" >&2
fi

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------------- exact counts: one run each
for b in "${BUILDS[@]}"; do
  if has "$b" allocs; then
    run "allocs.$b" 1 - "$(ex_of "$b")/alloc_count" "$CALLS_ALLOC"
  fi
done

# -------------------------------------------- timed, interleaved: R reps
echo "$REPS repetition(s), scale $SCALE %" >&2
for rep in $(seq "$REPS"); do
  # 1. and 5.: depth 100, its raw floor and tower-amp.
  for b in "${BUILDS[@]}"; do
    if has "$b" d100; then
      a="ADDR_$b" p="PID_$b"
      run "d100.$b" "$rep" "${!p}" "$(ex_of "$b")/math_client" "${!a}" --bench --calls "$CALLS_D100" --depth 100
    fi
  done
  run d100.raw "$rep" "$RAW_PID" "$NEW_EX/raw_pingpong" client "$RAW_ADDR" --calls "$CALLS_RAW100" --depth 100
  if [ "$TOWER" = yes ]; then
    run d100.tower "$rep" "$TOWER_PID" "$TOWER_DIR/tower_client" "$TOWER_ADDR" --calls "$CALLS_TOWER" --depth 100
  fi
  # 2. depth 1, unpinned, and the blocking floor.
  for b in "${BUILDS[@]}"; do
    if has "$b" d1; then
      a="ADDR_$b" p="PID_$b"
      run "d1.$b" "$rep" "${!p}" "$(ex_of "$b")/math_client" "${!a}" --bench --calls "$CALLS_D1" --depth 1
    fi
  done
  run d1.blocking "$rep" "$BLOCKING_PID" "$NEW_EX/raw_pingpong" blocking-client "$BLOCKING_ADDR" --calls "$CALLS_D1" --depth 1
  # 3. amp bench, 1000 in flight over 1 and over 100 connections.
  for b in "${BUILDS[@]}"; do
    if has "$b" bench; then
      a="SERVE_ADDR_$b" p="SERVE_PID_$b"
      for k in 1 100; do
        run "conn$k.$b" "$rep" "${!p}" "$(amp_of "$b")" bench "${!a}" Sum a=1 b=2 \
          --calls "$CALLS_BENCH" --concurrency 1000 --connections "$k" --json
      done
    fi
  done
  # 5. idle memory: a fresh math_server each time.
  for b in "${BUILDS[@]}"; do
    if has "$b" idle; then
      start "idle.$b.$rep" 10 "$(ex_of "$b")/math_server" 127.0.0.1:0
      run "idle.$b" "$rep" - "$(ex_of "$b")/idle_conns" "$ADDR" --pid "$SPID" --conns "$CONNS" --settle-ms 1000
      stop "$SPID"
      forget "$SPID"
    fi
  done
done

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --------------------------------------- 5. callgrind: instructions/call
# Instructions per call = (Ir of a 2N-call run - Ir of an N-call run) / N,
# so start-up, connecting and shutdown cancel out. The client runs under
# callgrind against its build's native server; the server under callgrind
# (stopped by SIGTERM, a graceful exit, so callgrind writes its counts)
# against its build's native client.
ir() { sed -n -E 's/^(totals|summary): *([0-9]+).*/\2/p' "$1" | head -1; }
if [ "$CALLGRIND" = yes ]; then
  for b in "${BUILDS[@]}"; do
    has "$b" d100 || continue
    ex=$(ex_of "$b") a="ADDR_$b"
    for mult in 1 2; do
      echo "  callgrind $b client, $((CG_CLIENT * mult)) calls..." >&2
      run "cgrun.client.$b.$mult" 1 - valgrind -q --tool=callgrind \
        --callgrind-out-file="$tmp/cg.client.$b.$mult" \
        "$ex/math_client" "${!a}" --bench --calls $((CG_CLIENT * mult)) --depth 100
      ir "$tmp/cg.client.$b.$mult" >"$tmp/out/cg.client.$b.$mult"
      echo "  callgrind $b server, $((CG_SERVER * mult)) calls..." >&2
      start "cg.server.$b.$mult" 120 valgrind -q --tool=callgrind \
        --callgrind-out-file="$tmp/cg.server.$b.$mult" "$ex/math_server" 127.0.0.1:0
      run "cgrun.server.$b.$mult" 1 - "$ex/math_client" "$ADDR" --bench --calls $((CG_SERVER * mult)) --depth 100
      stop "$SPID" 120
      forget "$SPID"
      ir "$tmp/cg.server.$b.$mult" >"$tmp/out/cg.server.$b.$mult"
    done
  done
fi

# ---------------------------------------------------------------- report
export BASE_REV BASE_SHA="${BASE_SHA:-}" NEW_REV="$NEW_REV$dirty" REPS SCALE TOWER TOWER_WHY CALLGRIND \
  CG_CLIENT CG_SERVER CONNS CALLS_D100 CALLS_RAW100 CALLS_TOWER CALLS_D1 CALLS_BENCH CALLS_ALLOC \
  LOAD_BEFORE LOAD_AFTER
python3 - "$tmp/out" <<'EOF'
import json, os, re, statistics, sys

out = sys.argv[1]
E = os.environ
base = bool(E["BASE_REV"])
builds = ["new"] + (["base"] if base else [])
reps = int(E["REPS"])


def read(name):
    try:
        return open(os.path.join(out, name)).read()
    except FileNotFoundError:
        return None


def rate(text):
    body = "\n".join(l for l in text.splitlines() if not l.startswith("#"))
    if body.lstrip().startswith("{"):
        j = json.loads(body)
        assert j["errors"] == 0 and j["failures"] == 0, j
        return j["throughput_calls_per_s"]
    return float(re.findall(r"([\d.]+) (?:calls|round trips)/s", body)[-1])


def cpu(text):
    c, s, w = map(float, re.search(r"^#cpu (\S+) (\S+) (\S+)", text, re.M).groups())
    return c, s, w


def series(key, f=rate):
    """rep -> value for KEY, for the repetitions that have it."""
    r = {}
    for rep in range(1, reps + 1):
        t = read("%s.%d" % (key, rep))
        if t is not None:
            r[rep] = f(t)
    return r


def ratio(a, b):
    return {k: a[k] / b[k] for k in a if k in b and b[k]}


def summ(xs, fmt):
    xs = sorted(xs.values() if isinstance(xs, dict) else xs)
    if not xs:
        return "–"
    if len(xs) == 1:
        return fmt(xs[0])
    return "%s [%s–%s]" % (fmt(statistics.median(xs)), fmt(xs[0]), fmt(xs[-1]))


def med(xs):
    xs = list(xs.values() if isinstance(xs, dict) else xs)
    return statistics.median(xs) if xs else None


num = lambda v: "{:,.0f}".format(v)
x2 = lambda v: "%.2f" % v
pct = lambda v: "%.0f %%" % (v * 100)
times = lambda v: "%.1f" % v
kinstr = lambda v: "%.2fk" % (v / 1000)

rates = {}
for key in ["d100.new", "d100.base", "d100.raw", "d100.tower", "d1.new", "d1.base",
            "d1.blocking", "conn1.new", "conn100.new", "conn1.base", "conn100.base"]:
    s = series(key)
    if s:
        rates[key] = s
cores = {}
for key in rates:
    if key in rates:
        cores[key] = series(key, cpu)


def idle(text, who):
    return float(re.search(r"^%s: .*, ([\d.-]+) KiB per idle connection" % who, text, re.M).group(1))


idle_s = {b: series("idle." + b, lambda t: idle(t, "server")) for b in builds}
idle_c = {b: series("idle." + b, lambda t: idle(t, "client")) for b in builds}
allocs = {}
for b in builds:
    t = read("allocs.%s.1" % b)
    if t:
        allocs[b] = {d: tuple(map(float, m)) for d, *m in re.findall(
            r"depth (\d+): ([\d.]+) allocations per call on the client, ([\d.]+) on the server", t)}
cg = {}
for b in builds:
    for side, n in (("client", int(E["CG_CLIENT"])), ("server", int(E["CG_SERVER"]))):
        one, two = read("cg.%s.%s.1" % (side, b)), read("cg.%s.%s.2" % (side, b))
        if one and two and one.strip() and two.strip():
            cg[(b, side)] = (int(two) - int(one)) / n

print()
print("hotpath.sh: %d repetition(s), scale %s %%; new = this tree at %s%s" % (
    reps, E["SCALE"], E["NEW_REV"], "; base = %s (%s)" % (E["BASE_REV"], E["BASE_SHA"]) if base else ""))
print("machine: %d CPUs, %s; load average before %s, after %s" % (
    os.cpu_count(), next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?"),
    E["LOAD_BEFORE"], E["LOAD_AFTER"]))
print("calls: depth 100 %s (raw floor %s, tower-amp %s), depth 1 %s, amp bench %s, alloc_count %s; idle connections %s" % (
    E["CALLS_D100"], E["CALLS_RAW100"], E["CALLS_TOWER"], E["CALLS_D1"], E["CALLS_BENCH"], E["CALLS_ALLOC"], E["CONNS"]))
print("Medians [min–max] over the repetitions; ratios per repetition, then summarised.")

# -- every timed configuration
names = {
    "d100.new": "math_client --depth 100 -> math_server, new",
    "d100.base": "math_client --depth 100 -> math_server, base",
    "d100.raw": "raw floor, depth 100 (raw_pingpong client -> server)",
    "d100.tower": "tower-amp, depth 100 (tower_client -> tower_server)",
    "d1.new": "math_client --depth 1 -> math_server, new",
    "d1.base": "math_client --depth 1 -> math_server, base",
    "d1.blocking": "blocking std floor, depth 1 (raw_pingpong blocking-*)",
    "conn1.new": "amp bench -c 1000 --connections 1, new",
    "conn100.new": "amp bench -c 1000 --connections 100, new",
    "conn1.base": "amp bench -c 1000 --connections 1, base",
    "conn100.base": "amp bench -c 1000 --connections 100, base",
}
print()
print("| configuration | calls/s | cores busy (client + server) |")
print("|---|---:|---:|")
for key, s in rates.items():
    c = ""
    if key in cores:
        cs = cores[key]
        tot = {k: (v[0] + v[1]) / v[2] for k, v in cs.items()}
        cl = med({k: v[0] / v[2] for k, v in cs.items()})
        sv = med({k: v[1] / v[2] for k, v in cs.items()})
        c = "%s (%.2f + %.2f)" % (summ(tot, x2), cl, sv)
    print("| %s | %s | %s |" % (names[key], summ(s, num), c))

# -- the targets: one row each, figures per build
rows = []


def row(target, fig, baseline="–", ratio=None, newbase="–", goal="–", met="–"):
    """fig, ratio: build -> text; baseline: text, or build -> text."""
    rows.append((target, fig, baseline, ratio or {}, newbase, goal, met))


def verdict(v, ok):
    return "–" if v is None else ("yes" if ok(v) else "no")


def busy(key):
    cs = cores.get(key)
    if not cs:
        return None
    return {k: (v[0] + v[1]) / v[2] for k, v in cs.items()}


def nb(key_new, key_base, src=rates, fmt=pct):
    if not base or key_new not in src or key_base not in src:
        return "–"
    return summ(ratio(src[key_new], src[key_base]), fmt)


def per_build(prefix, floor):
    return {b: ratio(rates[prefix + b], rates[floor]) for b in builds if prefix + b in rates}


def calls(key):
    return "%s calls/s" % summ(rates[key], num) if key in rates else "–"


# 1.
if "d100.new" in rates:
    r = per_build("d100.", "d100.raw")
    row("1. one connection, depth 100 (math_client --bench --depth 100) / pipelined raw floor",
        {b: calls("d100." + b) for b in builds},
        "raw_pingpong depth 100: %s round trips/s" % summ(rates["d100.raw"], num),
        {b: summ(v, x2) for b, v in r.items()}, nb("d100.new", "d100.base"),
        "≥ 0.35", verdict(med(r["new"]), lambda v: v >= 0.35))

    def cores_text(key):
        t = busy(key)
        if not t:
            return "–"
        cs = cores[key]
        return "%s cores (client %.2f + server %.2f)" % (
            summ(t, x2), med({k: v[0] / v[2] for k, v in cs.items()}),
            med({k: v[1] / v[2] for k, v in cs.items()}))

    row("1. cores kept busy in that run, client + server (of %d)" % os.cpu_count(),
        {b: cores_text("d100." + b) for b in builds},
        "raw floor: %s" % cores_text("d100.raw"),
        newbase=nb("d100.new", "d100.base", src={k: busy(k) for k in cores}))
# 2.
if "d1.new" in rates:
    r = per_build("d1.", "d1.blocking")
    row("2. depth 1, unpinned (math_client --depth 1) / blocking std ping-pong",
        {b: calls("d1." + b) for b in builds},
        "raw_pingpong blocking-*: %s round trips/s" % summ(rates["d1.blocking"], num),
        {b: summ(v, x2) for b, v in r.items()}, nb("d1.new", "d1.base"),
        "≥ 0.9", verdict(med(r["new"]), lambda v: v >= 0.9))
# 3.
if "conn100.new" in rates:
    r = {b: ratio(rates["conn100." + b], rates["conn1." + b]) for b in builds if "conn100." + b in rates}
    row("3. amp bench Sum --concurrency 1000: --connections 100 / --connections 1",
        {b: calls("conn100." + b) for b in builds},
        {b: "1 connection: " + calls("conn1." + b) for b in builds},
        {b: summ(v, x2) for b, v in r.items()}, nb("conn100.new", "conn100.base"),
        "≥ 0.7", verdict(med(r["new"]), lambda v: v >= 0.7))
# 4.
for d, goal, ok in (("1", "≤ 1 a side", lambda c, s: c <= 1.005 and s <= 1.005),
                    ("100", "server 0; client only the caller's future (≤ 1)",
                     lambda c, s: s < 0.005 and c <= 1.005)):
    if d not in allocs.get("new", {}):
        continue
    fig = {b: "%.2f client · %.2f server" % allocs[b][d] for b in builds if d in allocs.get(b, {})}
    newbase = "–"
    if base and d in allocs.get("base", {}):
        newbase = " · ".join(pct(n / o) if o else "–" for n, o in zip(allocs["new"][d], allocs["base"][d]))
    row("4. heap allocations per call, depth %s (alloc_count, exact)" % d, fig,
        newbase=newbase, goal=goal, met="yes" if ok(*allocs["new"][d]) else "no")
# 5.
if ("new", "client") in cg:
    fig = {b: "%s client · %s server" % (kinstr(cg[(b, "client")]), kinstr(cg[(b, "server")]))
           for b in builds if (b, "client") in cg and (b, "server") in cg}
    newbase = "–"
    if base and ("base", "client") in cg:
        newbase = "%s · %s" % (pct(cg[("new", "client")] / cg[("base", "client")]),
                               pct(cg[("new", "server")] / cg[("base", "server")]))
    row("5. instructions per call, depth 100 (callgrind)", fig, newbase=newbase)
if idle_s.get("new"):
    fig = {b: "%s KiB server (client %s KiB)" % (summ(idle_s[b], x2), summ(idle_c[b], x2))
           for b in builds if idle_s.get(b)}
    row("5. idle memory per connection (idle_conns, VmRSS growth / N)", fig,
        newbase=summ(ratio(idle_s["new"], idle_s["base"]), pct) if base and idle_s.get("base") else "–",
        goal="≤ 2 KiB", met=verdict(med(idle_s["new"]), lambda v: v <= 2.0))
if "d100.tower" in rates:
    r = per_build("d100.", "d100.tower")
    row("5. depth 100, amp-rs / tower-amp 0.4.0",
        {b: calls("d100." + b) for b in builds},
        "tower-amp: %s calls/s" % summ(rates["d100.tower"], num),
        {b: summ(v, times) + "×" for b, v in r.items()},
        goal="≥ 5×", met=verdict(med(r["new"]), lambda v: v >= 5))

print()
head = ["target"]
if base:
    head += ["new (%s)" % E["NEW_REV"], "base (%s)" % E["BASE_SHA"], "baseline (same run)",
             "ratio, new", "ratio, base", "new/base (per rep)"]
else:
    head += ["figure", "baseline (same run)", "ratio"]
head += ["target", "met (median, new)"]
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for target, fig, bl, r, n_b, goal, met in rows:
    if isinstance(bl, dict):
        bl = bl["new"] if not base else " · ".join("%s: %s" % (b, bl[b]) for b in builds)
    cells = [target, fig.get("new", "–")]
    if base:
        cells += [fig.get("base", "–"), bl, r.get("new", "–"), r.get("base", "–"), n_b]
    else:
        cells += [bl, r.get("new", "–")]
    cells += [goal, met]
    print("| " + " | ".join(cells) + " |")
notes = []
if E["TOWER"] != "yes":
    notes.append("tower-amp row left out: %s" % E["TOWER_WHY"])
if E["CALLGRIND"] != "yes":
    notes.append("instructions per call: not measured (run with --callgrind)")
else:
    notes.append("instructions per call: (Ir of 2N calls - Ir of N calls) / N, N = %s client, %s server" % (
        E["CG_CLIENT"], E["CG_SERVER"]))
for n_ in notes:
    print("\n* " + n_)
EOF
