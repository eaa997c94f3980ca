#!/usr/bin/env python
"""Twisted's documented AMP example server, on a free port.

``cli_serve_twisted.py [--quiet]`` serves the ``Math`` protocol of
Twisted's ``ampserver.py`` (``Sum`` and ``Divide``; the file is found in
$AMP_TWISTED_EXAMPLES) exactly as the example defines it, but on
127.0.0.1, port 0 instead of its fixed port 1234: prints ``PORT <n>`` once
listening and serves until stdin closes. ``--quiet`` silences the
example's ``print`` per call (for benchmarks: the protocol, not the
terminal, is measured).
"""

import sys

from twisted.internet.protocol import Factory

import harness
from cli_serve_client import twisted_example


def main(argv):
    example = twisted_example("ampserver")
    if argv[1:] == ["--quiet"]:
        # The example's responders call the module's print.
        example.print = lambda *args, **kwargs: None
    elif argv[1:]:
        sys.exit(__doc__)
    factory = Factory()
    factory.protocol = example.Math
    harness.serve_tcp(factory)


if __name__ == "__main__":
    main(sys.argv)
