#!/usr/bin/env bash
# The one test command: installs the pinned Twisted peers, then runs every
# check CI runs: formatting, no import cycle between a crate's files, lints
# (default features, each feature alone, and the defaults with `tower`),
# documentation (warnings denied),
# unit/property/golden/interop/hostile-peer tests and doctests (`tower`'s
# too), the release checks (rust-version against Cargo.lock, and every
# published crate packaged and built from its package alone), and a short
# run of every fuzz target.
# Run from anywhere: scripts/test.sh
#
# FUZZ_SECONDS (default 8: five targets, and the whole run stays near a
# quarter of an hour on two cores) sets each fuzz target's run; 0 skips fuzzing.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { echo "== $* ($(( $(date +%s) - start )) s)"; }

step setup-interop
scripts/setup-interop.sh
export AMP_PYTHON="$PWD/interop/.venv/bin/python"
step cargo fmt --check
cargo fmt --all -- --check
step "no import cycles"
scripts/check-cycles.py crates/*/src
step cargo clippy
cargo clippy --workspace --all-targets --locked -- -D warnings
for features in "" tls unix tower; do
  step "cargo clippy -p amp --no-default-features ${features:+--features $features}"
  cargo clippy -p amp --all-targets --locked --no-default-features ${features:+--features "$features"} -- -D warnings
done
step "cargo clippy -p amp --features tower"
cargo clippy -p amp --all-targets --locked --features tower -- -D warnings
step cargo doc
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --features amp/tower
step cargo test
cargo test --workspace --locked
step "cargo test -p amp --features tower (its suites and doctests)"
cargo test -p amp --locked --features tower --test tower_layers --test tower_interop
cargo test -p amp --locked --features tower --doc tower
step "release checks: rust-version, cargo package --workspace (verified)"
scripts/check-rust-version.sh
# Each crate is built from its .crate file alone, our own crates coming from
# a local registry of the packages just made. codegen-check (a test fixture,
# publish = false) is left out: cargo would package it too. The dev profile
# of the root Cargo.toml does not travel into a package, so it is given
# here: the verification builds then reuse the dependencies the tests built.
# --allow-dirty: a developer's uncommitted work is packaged as it is.
# Cargo keeps what it unpacked from a local registry by path and version,
# and would build our crates of an earlier run (same version) instead of
# those just packaged: earlier unpacked copies of our own crates go first
# (local registries only: their folders' names start with `-`).
for crate in amp amp-wire amp-derive amp-schema amp-cli; do
  rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/"$crate"-[0-9]*
done
CARGO_PROFILE_DEV_DEBUG=line-tables-only \
  cargo package --workspace --exclude codegen-check --locked --allow-dirty
if [ "${FUZZ_SECONDS:-8}" != 0 ]; then
  step "fuzz smoke (${FUZZ_SECONDS:-8} s a target)"
  scripts/fuzz-smoke.sh "${FUZZ_SECONDS:-8}"
fi
step done
