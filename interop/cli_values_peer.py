#!/usr/bin/env python
"""A Twisted AMP server for the end-to-end tests of ``amp call``
(crates/amp-cli/tests/call.rs).

It answers, on one connection:

* ``Sum`` and ``Divide``: Twisted's documented example, the ``Math``
  protocol of its ``ampserver.py`` (the path given, else
  ``$AMP_TWISTED_EXAMPLES/ampserver.py``, else
  ``interop/.venv/twisted-examples/ampserver.py``);
* ``hello``, ``getlist``, ``dontrejectme``, ``wait_forever`` (never
  answers), ...: Twisted's own test protocol,
  ``twisted.test.test_amp.SimpleSymmetricCommandProtocol``;
* ``Types``: every argument type echoed back, with ``summary``, what
  Twisted parsed (``name=type:repr`` for the plain values; a datetime in
  ISO form);
* ``Big``: ``BigString``/``BigUnicode`` values (the chunked scheme of
  ``big_peer.py``) echoed back, with their lengths.

Usage: ``cli_values_peer.py [AMPSERVER_PY]`` listens on 127.0.0.1, port 0,
prints ``PORT <n>`` and serves until stdin closes.
"""

import datetime
import importlib.util
import os
import sys

from twisted.internet.protocol import Factory
from twisted.protocols import amp
from twisted.test.test_amp import SimpleSymmetricCommandProtocol

import harness
from big_peer import BigString, BigUnicode


def load_math(path):
    """Twisted's documented example protocol (``Math`` of ampserver.py at
    ``path``; by default where scripts/setup-interop.sh puts it)."""
    if path is None:
        here = os.path.dirname(os.path.abspath(__file__))
        examples = os.environ.get("AMP_TWISTED_EXAMPLES") or os.path.join(
            here, ".venv", "twisted-examples"
        )
        path = os.path.join(examples, "ampserver.py")
    spec = importlib.util.spec_from_file_location("ampserver", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Math


TYPES = [
    (b"num", amp.Integer()),
    (b"raw", amp.String()),
    (b"text", amp.Unicode()),
    (b"flag", amp.Boolean()),
    (b"real", amp.Float()),
    (b"dec", amp.Decimal()),
    (b"when", amp.DateTime()),
    (b"ints", amp.ListOf(amp.Integer())),
    (b"nested", amp.ListOf(amp.ListOf(amp.Unicode()))),
    (
        b"items",
        amp.AmpList(
            [
                (b"n", amp.Integer()),
                (b"tags", amp.ListOf(amp.Unicode())),
                (b"note", amp.Unicode(optional=True)),
            ]
        ),
    ),
    (b"opt", amp.Unicode(optional=True)),
]


class Types(amp.Command):
    arguments = TYPES
    response = TYPES + [(b"summary", amp.Unicode())]


class Big(amp.Command):
    arguments = [(b"data", BigString()), (b"text", BigUnicode())]
    response = [(b"data", BigString()), (b"text", BigUnicode()), (b"sizes", amp.Unicode())]


def show(v):
    """A parsed value for ``summary``: ``repr``, a datetime in ISO form."""
    return v.isoformat() if isinstance(v, datetime.datetime) else repr(v)


def peer_class(math):
    """Twisted's test protocol, the documented example ``math``, and the
    echoes, on one connection."""

    class Peer(SimpleSymmetricCommandProtocol, math):
        def __init__(self):
            SimpleSymmetricCommandProtocol.__init__(self)

        @Types.responder
        def types(self, **kw):
            plain = sorted(k for k in kw if k in ("num", "raw", "text", "flag", "real", "dec", "when", "opt"))
            kw["summary"] = " ".join("%s=%s:%s" % (k, type(kw[k]).__name__, show(kw[k])) for k in plain)
            return kw

        @Big.responder
        def big(self, data, text):
            sizes = "%d %d" % (len(data), len(text))
            return {"data": data, "text": text, "sizes": sizes}

    return Peer


def main(argv):
    if len(argv) > 2:
        print(__doc__, file=sys.stderr)
        raise SystemExit(2)
    harness.log_to_stderr()
    f = Factory()
    f.protocol = peer_class(load_math(argv[1] if len(argv) == 2 else None))
    harness.serve_tcp(f)


if __name__ == "__main__":
    main(sys.argv)
