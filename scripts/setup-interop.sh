#!/usr/bin/env bash
# Installs the live Twisted peers the tests talk to: a virtualenv at
# interop/.venv with the pinned packages of interop/requirements.txt, plus
# Twisted's own documented AMP examples (ampserver.py, ampclient.py) taken
# from the pinned Twisted source distribution on PyPI, unmodified, into
# interop/.venv/twisted-examples/. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
venv=interop/.venv
if [ ! -x "$venv/bin/python" ]; then
  "$PYTHON" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r interop/requirements.txt
want=$(sed -n 's/^twisted==//p' interop/requirements.txt)
have=$("$venv/bin/python" -c 'import twisted; print(twisted.__version__)')
if [ "$want" != "$have" ]; then
  echo "setup-interop: wanted Twisted $want, got $have" >&2
  exit 1
fi
ex="$venv/twisted-examples"
if [ ! -f "$ex/ampserver.py" ] || [ ! -f "$ex/ampclient.py" ]; then
  tmp=$(mktemp -d)
  "$venv/bin/python" -m pip download -q --disable-pip-version-check \
    --no-binary :all: --no-deps -d "$tmp" "twisted==$want"
  mkdir -p "$ex"
  tar -xzf "$tmp"/twisted-"$want".tar.gz -C "$tmp" \
    "twisted-$want/docs/core/examples/ampserver.py" \
    "twisted-$want/docs/core/examples/ampclient.py"
  cp "$tmp/twisted-$want/docs/core/examples/ampserver.py" \
     "$tmp/twisted-$want/docs/core/examples/ampclient.py" "$ex/"
  rm -rf "$tmp"
fi
echo "setup-interop: Twisted $have ready in $venv"
