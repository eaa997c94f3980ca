#!/usr/bin/env bash
# Checks that the workspace's declared rust-version (Cargo.toml,
# [workspace.package]) is at least the rust-version of every package
# Cargo.lock pins: a crate cannot build with an older Rust than its
# dependencies need. Nothing is built (cargo metadata only).
# The code's own use of the standard library is checked by clippy's
# incompatible_msrv lint, which reads the same rust-version (scripts/test.sh
# denies clippy's warnings).
# Run from anywhere: scripts/check-rust-version.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo metadata --format-version 1 --locked | python3 -c '
import json, sys

meta = json.load(sys.stdin)
ours = set(meta["workspace_members"])

def version(text):  # "1.88" and "1.88.0" are the same version
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))

declared = {p["rust_version"] for p in meta["packages"] if p["id"] in ours}
missing = sorted(p["name"] for p in meta["packages"]
                 if p["id"] in ours and not p.get("rust_version"))
if missing:
    sys.exit("check-rust-version: no rust-version in " + ", ".join(missing))
if len(declared) != 1:
    sys.exit("check-rust-version: the crates declare different rust-versions: "
             + ", ".join(sorted(declared)))
floor = declared.pop()
above = sorted(
    (version(p["rust_version"]), p["name"], p["version"])
    for p in meta["packages"]
    if p["id"] not in ours and p.get("rust_version")
    and version(p["rust_version"]) > version(floor)
)
if above:
    sys.exit(
        "check-rust-version: rust-version is %s, but Cargo.lock pins %s\n"
        "raise rust-version in Cargo.toml, or pin older versions"
        % (floor, ", ".join("%s %s (rust %d.%d.%d)" % ((n, v) + r)
                            for r, n, v in above)))
print("check-rust-version: every locked dependency builds with Rust %s" % floor)
'
