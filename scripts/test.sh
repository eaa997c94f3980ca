#!/usr/bin/env bash
# The one test command: installs the pinned Twisted peers, then runs every
# check CI runs (formatting, lints, unit/property/golden/interop tests,
# doctests). Run from anywhere: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-interop.sh
export AMP_PYTHON="$PWD/interop/.venv/bin/python"
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
