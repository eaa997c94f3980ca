#!/usr/bin/env bash
# Installs the live Twisted peers the tests talk to: a virtualenv at
# interop/.venv with the pinned packages of interop/requirements.txt, plus
# Twisted's own documented AMP examples (ampserver.py, ampclient.py) taken
# from the pinned Twisted source distribution on PyPI, unmodified, into
# interop/.venv/twisted-examples/. Safe to run again: a second run with the
# same requirements.txt (and python/amp_reflect unchanged) installs and
# downloads nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
venv=interop/.venv
req=interop/requirements.txt
if [ ! -x "$venv/bin/python" ]; then
  "$PYTHON" -m venv "$venv"
fi
# pip runs only when requirements.txt, or a file of the local package it
# names (python/amp_reflect, installed from its folder, not editable),
# differs from what the stamp kept after the last successful install (a new
# venv has none): the stamp is requirements.txt followed by a digest of that
# package's files (what a build or a test run leaves there left out).
# --no-compile skips writing .pyc files at install time (Python writes them
# on first import); the packages and versions installed are the same.
stamp="$venv/.requirements.installed"
local_pkg=python/amp_reflect
want_stamp() {
  cat "$req"
  echo "# $local_pkg:"
  (cd "$local_pkg" &&
    find . \( -name build -o -name '*.egg-info' -o -name __pycache__ -o -name _trial_temp \) \
      -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
}
if [ "$(want_stamp)" != "$(cat "$stamp" 2>/dev/null)" ]; then
  # setuptools builds in the package's folder: a stale build/ could carry
  # files since removed into the new install.
  rm -rf "$local_pkg/build"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-input \
    --no-compile -r "$req"
fi
want=$(sed -n 's/^twisted==//p' "$req")
have=$("$venv/bin/python" -c 'import twisted; print(twisted.__version__)')
if [ "$want" != "$have" ]; then
  echo "setup-interop: wanted Twisted $want, got $have" >&2
  exit 1
fi
want_stamp > "$stamp"
# The examples come straight out of the sdist (no pip, nothing built): its
# URL and sha256 from PyPI's JSON API, the archive checked against that
# digest, and only the two files read out of it.
ex="$venv/twisted-examples"
if [ ! -f "$ex/ampserver.py" ] || [ ! -f "$ex/ampclient.py" ]; then
  mkdir -p "$ex"
  "$venv/bin/python" - "$want" "$ex" <<'PY'
import hashlib, io, json, os, ssl, sys, tarfile, urllib.error, urllib.parse, urllib.request

want, dest = sys.argv[1], sys.argv[2]
names = ("ampserver.py", "ampclient.py")

def die(msg):
    sys.exit("setup-interop: " + msg)

# pip's own CA setting, where one is given, else the system's.
cert = os.environ.get("PIP_CERT") or None
if cert and os.path.isdir(cert):
    ctx = ssl.create_default_context(capath=cert)
else:
    ctx = ssl.create_default_context(cafile=cert)

def get(url, what):
    try:
        with urllib.request.urlopen(url, timeout=60, context=ctx) as r:
            return r.read()
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        die("fetching %s from %s failed: HTTP %d %s" % (what, url, e.code, e.reason))
    except (urllib.error.URLError, OSError) as e:
        die("fetching %s from %s failed (network?): %s" % (what, url, getattr(e, "reason", e)))

# The per-release document, or the project one (some PyPI mirrors serve
# only that) with the same file list under releases[<version>].
# A file's URL may be relative to the document's (mirrors again).
files = None
base = "https://pypi.org/pypi/twisted/%s/json" % want
doc = get(base, "Twisted %s's metadata" % want)
if doc is not None:
    files = json.loads(doc)["urls"]
else:
    base = "https://pypi.org/pypi/twisted/json"
    doc = get(base, "Twisted's metadata")
    if doc is not None:
        files = json.loads(doc)["releases"].get(want)
if not files:
    die("PyPI lists no files for Twisted %s" % want)
sdists = [f for f in files if f["packagetype"] == "sdist"]
if len(sdists) != 1:
    die("expected one sdist for Twisted %s on PyPI, found %d" % (want, len(sdists)))
sdist = sdists[0]

url = urllib.parse.urljoin(base, sdist["url"])
data = get(url, sdist["filename"])
if data is None:
    die("fetching %s from %s failed: HTTP 404" % (sdist["filename"], url))
digest = hashlib.sha256(data).hexdigest()
if digest != sdist["digests"]["sha256"]:
    die("%s: sha256 %s, PyPI says %s" % (sdist["filename"], digest, sdist["digests"]["sha256"]))

# Read in memory: nothing but the two files touches the disk.
with tarfile.open(fileobj=io.BytesIO(data)) as tar:
    members = {m.name: m for m in tar.getmembers()}
    for name in names:
        path = "twisted-%s/docs/core/examples/%s" % (want, name)
        m = members.get(path)
        if m is None or not m.isfile():
            die("%s has no %s" % (sdist["filename"], path))
        body = tar.extractfile(m).read()
        out = os.path.join(dest, name)
        with open(out + ".part", "wb") as f:
            f.write(body)
        os.chmod(out + ".part", 0o644)
        os.replace(out + ".part", out)
PY
fi
echo "setup-interop: Twisted $have ready in $venv"
