#!/usr/bin/env bash
# amp gateway and tunnel: bytes/s of a bulk transfer, in one run, over
#   direct      loopback TCP, sender -> sink
#   relay       sender -> a plain user-space relay (no AMP, no splice) -> sink
#   gateway     sender does the AMP dance (Connect) with `amp gateway` -> sink
#   tunnel      sender -> `amp tunnel` -> `amp gateway` -> sink
# and the last two again with StartTLS (throwaway certificate, TLS 1.3).
# Loopback measures the CPU each path costs; bench/cli_gateway_link.sh runs
# the same paths across two rate-limited links (network namespaces), what a
# gateway between two hosts carries.
#
# Usage: bench/cli_gateway.sh            (SIZE bytes per transfer, default
#        SIZE=268435456 RUNS=5 bench/cli_gateway.sh      1 GiB; best of RUNS, default 3)
# Builds amp-cli in release mode (the `amp` binary and the `bulk` example).
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=${SIZE:-1073741824}
RUNS=${RUNS:-3}
if ! cargo build --quiet --release -p amp-cli --bin amp --example bulk 2>"${TMPDIR:-/tmp}/cli_gateway_build.log"; then
    cat "${TMPDIR:-/tmp}/cli_gateway_build.log" >&2
    exit 1
fi
TARGET=${CARGO_TARGET_DIR:-target}
AMP=$TARGET/release/amp
BULK=$TARGET/release/examples/bulk

tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

# shellcheck source=bench/listening.sh
source bench/listening.sh

start sink "$BULK" sink 127.0.0.1:0
SINK=$ADDR SINK_PID=${pids[-1]}
start relay "$BULK" relay 127.0.0.1:0 "$SINK"
RELAY=$ADDR RELAY_PID=${pids[-1]}
start gateway "$AMP" gateway 127.0.0.1:0 --service "sink=$SINK"
GATEWAY=$ADDR GATEWAY_PID=${pids[-1]}
start tunnel "$AMP" tunnel 127.0.0.1:0 "$GATEWAY" sink
TUNNEL=$ADDR TUNNEL_PID=${pids[-1]}
start tunnel_tls "$AMP" tunnel 127.0.0.1:0 "$GATEWAY" sink --starttls --insecure
TUNNEL_TLS=$ADDR TUNNEL_TLS_PID=${pids[-1]}

# CPU time (user + system, clock ticks) a process has used.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# The paths: name, the second proxy whose CPU is counted (- for none:
# the tunnel's, or the relay's), and the arguments of `bulk send`.
names=("direct loopback TCP" "relay (no AMP, copying)" "gateway" "tunnel + gateway"
    "gateway, StartTLS" "tunnel + gateway, StartTLS")
others=(- "$RELAY_PID" - "$TUNNEL_PID" - "$TUNNEL_TLS_PID")
sends=("$SINK $SIZE" "$RELAY $SIZE" "$GATEWAY $SIZE --gateway sink" "$TUNNEL $SIZE"
    "$GATEWAY $SIZE --gateway sink --starttls" "$TUNNEL_TLS $SIZE")
best=() gw=() other=() sink=() sender=()
for i in "${!names[@]}"; do best[i]=0 gw[i]=0 other[i]=0 sink[i]=0 sender[i]=0; done

# RUNS rounds, each path once per round (so a busy moment of the machine
# does not fall on one path only); the best rate of each path is kept.
for _ in $(seq "$RUNS"); do
    for i in "${!names[@]}"; do
        g0=$(ticks "$GATEWAY_PID") s0=$(ticks "$SINK_PID") o0=0
        [ "${others[i]}" = - ] || o0=$(ticks "${others[i]}")
        # shellcheck disable=SC2086 # the arguments are words
        read -r _ _ rate cpu < <("$BULK" send ${sends[i]})
        sender[i]=$((sender[i] + cpu))
        gw[i]=$((gw[i] + $(ticks "$GATEWAY_PID") - g0))
        sink[i]=$((sink[i] + $(ticks "$SINK_PID") - s0))
        [ "${others[i]}" = - ] || other[i]=$((other[i] + $(ticks "${others[i]}") - o0))
        best[i]=$(awk -v a="${best[i]}" -v b="$rate" 'BEGIN {print (b > a) ? b : a}')
    done
done

echo "$((SIZE >> 20)) MiB per transfer, best of $RUNS; CPU: milliseconds per GiB carried, each process"
printf '%-28s %8s %7s %7s %8s %13s %6s %6s\n' \
    "path" "MiB/s" "direct" "sender" "gateway" "tunnel|relay" "sink" "total"
for i in "${!names[@]}"; do
    awk -v n="${names[i]}" -v r="${best[i]}" -v d="${best[0]}" -v c="${sender[i]}" \
        -v g="${gw[i]}" -v t="${other[i]}" -v s="${sink[i]}" -v hz="$(getconf CLK_TCK)" \
        -v gib="$(awk -v z="$SIZE" -v k="$RUNS" 'BEGIN {print z * k / 2^30}')" \
        'BEGIN {ms = 1000 / hz / gib
            printf "%-28s %8.1f %6.1f%% %7.0f %8.0f %13.0f %6.0f %6.0f\n",
                n, r, 100 * r / d, c * ms, g * ms, t * ms, s * ms, (c + g + t + s) * ms}'
done
