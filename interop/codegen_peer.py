#!/usr/bin/env python
"""Twisted's own AMP test protocol, served for the generated-code test
(crates/codegen-check/tests/live.rs).

``codegen_peer.py`` listens on 127.0.0.1, port 0, prints ``PORT <n>`` and
serves ``twisted.test.test_amp.SimpleSymmetricCommandProtocol`` (``hello``,
``getlist``, ``dontrejectme``, ...) exactly as Twisted's tests define it,
one instance per connection, until stdin closes.
"""

from twisted.internet.protocol import Factory
from twisted.test.test_amp import SimpleSymmetricCommandProtocol

import harness


def main():
    harness.log_to_stderr()
    harness.serve_tcp(Factory.forProtocol(SimpleSymmetricCommandProtocol))


if __name__ == "__main__":
    main()
