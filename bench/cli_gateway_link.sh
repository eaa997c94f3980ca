#!/usr/bin/env bash
# amp gateway and tunnel across rate-limited links: bytes/s of a bulk
# transfer between two hosts, with the gateway on a third host between them,
# against a direct connection over the same two links.
#
#   client ns ==link 1== router ns ==link 2== server ns
#   (sender,               (IP forwarding,     (bulk sink)
#    amp tunnel)            amp gateway, relay)
#
# Each link is a veth pair whose two ends send at RATE at most (tc tbf, both
# directions). Paths, all crossing both links:
#   direct      sender -> sink, routed by the router ns (no proxy)
#   relay       sender -> a plain copying relay in the router ns -> sink
#   gateway     sender does Connect with `amp gateway` (router ns) -> sink
#   tunnel      sender -> `amp tunnel` (client ns, loopback) -> gateway -> sink
# and the last two again with StartTLS (throwaway certificate, TLS 1.3).
# bench/cli_gateway.sh measures the same paths on loopback, where the CPU
# and not a link is the limit.
#
# Usage: bench/cli_gateway_link.sh
#        RATES="1 5" MIB_PER_GBIT=256 RUNS=5 bench/cli_gateway_link.sh
#   RATES          link rates in Gbit/s (default "1 5")
#   MIB_PER_GBIT   MiB per transfer for each Gbit/s of rate (default 256,
#                  about 2.2 s a transfer at the link's rate)
#   RUNS           rounds; each round runs every path once (default 5);
#                  the median and the best rate of each path are printed
# Needs: root (network namespaces), iproute2's `ip` and `tc` (Debian:
# `apt-get install iproute2`), a kernel with veth, network namespaces and
# the tbf qdisc. The namespaces are private to the run (named after its
# pid) and are deleted on exit, failure or Ctrl-C included; the host's own
# interfaces and sysctls are not touched.
# Builds amp-cli in release mode (the `amp` binary and the `bulk` example).
set -euo pipefail
cd "$(dirname "$0")/.."

RATES=${RATES:-"1 5"}
MIB_PER_GBIT=${MIB_PER_GBIT:-256}
RUNS=${RUNS:-5}
for n in $RATES $MIB_PER_GBIT $RUNS; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || {
        echo "RATES, MIB_PER_GBIT and RUNS take whole numbers above 0, not '$n'" >&2
        exit 2
    }
done
for tool in ip tc; do
    command -v "$tool" >/dev/null || {
        echo "$tool not found: install iproute2 (apt-get install iproute2)" >&2
        exit 1
    }
done
[ "$(id -u)" = 0 ] || {
    echo "run as root: network namespaces need it" >&2
    exit 1
}
if ! cargo build --quiet --release -p amp-cli --bin amp --example bulk 2>"${TMPDIR:-/tmp}/cli_gateway_link_build.log"; then
    cat "${TMPDIR:-/tmp}/cli_gateway_link_build.log" >&2
    exit 1
fi
TARGET=${CARGO_TARGET_DIR:-target}
AMP=$TARGET/release/amp
BULK=$TARGET/release/examples/bulk

CLIENT=ampbench-$$-client ROUTER=ampbench-$$-router SERVER=ampbench-$$-server
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    for ns in "$CLIENT" "$ROUTER" "$SERVER"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The three hosts. Link 1: client c0 10.77.1.2 -- router r1 10.77.1.1;
# link 2: router r2 10.77.2.1 -- server s0 10.77.2.2.
for ns in "$CLIENT" "$ROUTER" "$SERVER"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
done
ip link add c0 netns "$CLIENT" type veth peer name r1 netns "$ROUTER"
ip link add r2 netns "$ROUTER" type veth peer name s0 netns "$SERVER"
ip -n "$CLIENT" addr add 10.77.1.2/24 dev c0
ip -n "$ROUTER" addr add 10.77.1.1/24 dev r1
ip -n "$ROUTER" addr add 10.77.2.1/24 dev r2
ip -n "$SERVER" addr add 10.77.2.2/24 dev s0
ip -n "$CLIENT" link set c0 up
ip -n "$ROUTER" link set r1 up
ip -n "$ROUTER" link set r2 up
ip -n "$SERVER" link set s0 up
ip -n "$CLIENT" route add default via 10.77.1.1
ip -n "$SERVER" route add default via 10.77.2.1
ip netns exec "$ROUTER" sysctl -qw net.ipv4.ip_forward=1
ends=("$CLIENT c0" "$ROUTER r1" "$ROUTER r2" "$SERVER s0")

# limit GBIT: every end sends at GBIT Gbit/s at most (counting Ethernet
# headers; TCP payload gets 1448/1514 of it), bucket 1 ms of the rate
# (at least 64 KiB), up to 10 ms of queue.
limit() {
    local burst=$(($1 * 125000))
    [ "$burst" -ge 65536 ] || burst=65536
    local end ns dev
    for end in "${ends[@]}"; do
        read -r ns dev <<<"$end"
        tc -n "$ns" qdisc replace dev "$dev" root tbf rate "${1}gbit" burst "$burst" latency 10ms
    done
}

# shellcheck source=bench/listening.sh
source bench/listening.sh

start sink ip netns exec "$SERVER" "$BULK" sink 10.77.2.2:0
SINK=$ADDR
start relay ip netns exec "$ROUTER" "$BULK" relay 10.77.1.1:0 "$SINK"
RELAY=$ADDR
start gateway ip netns exec "$ROUTER" "$AMP" gateway 10.77.1.1:0 --service "sink=$SINK"
GATEWAY=$ADDR GATEWAY_PID=${pids[-1]}
start tunnel ip netns exec "$CLIENT" "$AMP" tunnel 127.0.0.1:0 "$GATEWAY" sink
TUNNEL=$ADDR
start tunnel_tls ip netns exec "$CLIENT" "$AMP" tunnel 127.0.0.1:0 "$GATEWAY" sink --starttls --insecure
TUNNEL_TLS=$ADDR

# CPU time (user + system, clock ticks) a process has used.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

names=("direct (routed)" "relay (no AMP, copying)" "gateway" "tunnel + gateway"
    "gateway, StartTLS" "tunnel + gateway, StartTLS")
sends=("$SINK" "$RELAY" "$GATEWAY --gateway sink" "$TUNNEL"
    "$GATEWAY --gateway sink --starttls" "$TUNNEL_TLS")

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for gbit in $RATES; do
    limit "$gbit"
    size=$((gbit * MIB_PER_GBIT << 20))
    : >"$tmp/rates"
    for _ in $(seq "$RUNS"); do
        for i in "${!names[@]}"; do
            g0=$(ticks "$GATEWAY_PID")
            read -ra to <<<"${sends[i]}"
            read -r _ secs rate _ < <(ip netns exec "$CLIENT" "$BULK" send "${to[0]}" "$size" "${to[@]:1}")
            echo "$i $rate $secs $(($(ticks "$GATEWAY_PID") - g0))" >>"$tmp/rates"
        done
    done
    echo
    echo "link rate $gbit Gbit/s; $((size >> 20)) MiB per transfer; $RUNS runs of each path, interleaved"
    echo "(line: the most TCP payload the link carries, $gbit Gbit/s x 1448/1514;" \
        "gateway CPU: its user + system time per second of transfer, median)"
    printf '%-28s %9s %9s %7s %7s %9s\n' path "median" "best" "line" "direct" "gw CPU"
    for i in "${!names[@]}"; do
        awk -v i="$i" -v n="${names[i]}" -v gbit="$gbit" -v hz="$(getconf CLK_TCK)" '
            function median(a, k,    j, t, m, x) {
                for (j = 1; j <= k; j++) for (m = j + 1; m <= k; m++)
                    if (a[m] < a[j]) { x = a[j]; a[j] = a[m]; a[m] = x }
                return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
            }
            $1 == 0 { d[++nd] = $2 }
            $1 == i { r[++k] = $2; c[k] = 100 * $4 / hz / $3; if ($2 > best) best = $2 }
            END {
                line = gbit * 1e9 / 8 * 1448 / 1514 / 2^20
                md = median(d, nd); mr = median(r, k)
                cpu = i < 2 ? "-" : sprintf("%.0f%%", median(c, k))
                printf "%-28s %9.1f %9.1f %6.1f%% %6.1f%% %9s\n",
                    n, mr, best, 100 * mr / line, 100 * mr / md, cpu
            }' "$tmp/rates"
    done
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
