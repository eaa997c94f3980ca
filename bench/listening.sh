# Sourced by the bench scripts of the `amp` CLI (cli_gateway.sh,
# cli_gateway_link.sh): starting a server and waiting until it listens.
# Needs $tmp (a scratch directory) and the array pids (killed on exit by
# the caller's trap).

# start NAME CMD...: runs CMD in the background (stdout in $tmp/NAME.out,
# stderr in $tmp/NAME.err), adds its pid to pids, waits (10 s at most) for
# its `listening on ADDR` line, and sets ADDR.
start() {
    local name=$1
    shift
    : >"$tmp/$name.out"
    "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pids+=($!)
    for _ in $(seq 200); do
        if ADDR=$(sed -n 's/^listening on //p' "$tmp/$name.out") && [ -n "$ADDR" ]; then
            return
        fi
        sleep 0.05
    done
    echo "$name did not start:" >&2
    cat "$tmp/$name.err" >&2
    exit 1
}
