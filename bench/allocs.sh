#!/usr/bin/env bash
# Heap allocations per Sum call, client and server side, for another commit
# ("base") and this tree ("new"), with the counting allocator of
# crates/amp/examples/alloc_count.rs.
#
# Usage: bench/allocs.sh BASE_REV [CALLS]
#
#   BASE_REV  a commit (checked out in the worktree bench/ab.sh uses,
#             target/ab/base); this tree's alloc_count.rs is copied into it
#             for the build and removed again, since the example only uses
#             API older than the session core
#   CALLS     calls per measurement (default 100000)
#
# Allocation counts are exact, not timings: one run of each is enough.
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 1 ] || { sed -n '2,15p' "$0"; exit 2; }
BASE_REV=$1
CALLS=${2:-100000}

root=$PWD
. bench/worktree.sh
wt=$(base_worktree "$BASE_REV")
example=crates/amp/examples/alloc_count.rs
copied=
if [ ! -e "$wt/$example" ]; then
  cp "$example" "$wt/$example"
  copied=1
fi
cleanup() { [ -z "$copied" ] || rm -f "$wt/$example"; }
trap cleanup EXIT

echo "building alloc_count for base ($BASE_REV) and new..." >&2
(cd "$wt" && cargo build -q --release -p amp --example alloc_count)
cargo build -q --release -p amp --example alloc_count

echo "== base ($BASE_REV)"
"$wt/target/release/examples/alloc_count" "$CALLS"
echo "== new (working tree at $(git rev-parse --short HEAD))"
target/release/examples/alloc_count "$CALLS"
