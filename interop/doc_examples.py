#!/usr/bin/env python
"""Run Twisted's documented AMP examples (docs/core/examples/ampserver.py
and ampclient.py, installed unmodified into interop/.venv/twisted-examples/
by scripts/setup-interop.sh) against amp-rs.

The examples are imported as modules, never copied; only their hard-coded
port is redirected:

``doc_examples.py server``
    Patches ``reactor.listenTCP`` so the documented ampserver's ``main()``
    listens on 127.0.0.1, port 0, prints ``PORT <n>`` (flushed), then runs
    ``main()``. Stops when stdin closes (or when killed). Everything the
    example prints ("started", "Did a sum: ...", "Divided: ...") goes to
    stdout, unbuffered.

``doc_examples.py client <port>``
    Patches the documented client's ``TCP4ClientEndpoint`` so its
    destination port 1234 becomes <port>, runs ``doMath()`` and the reactor,
    and prints what it prints ("Done with math: ..."). Exits 0 if both
    calls succeeded (the DeferredList has no failure), 1 otherwise, 2 on
    timeout.
"""

import io
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.environ.get("AMP_TWISTED_EXAMPLES") or os.path.join(HERE, ".venv", "twisted-examples")
TIMEOUT = 30.0


def _import_examples():
    if not os.path.isfile(os.path.join(EXAMPLES, "ampserver.py")):
        sys.stderr.write(
            "doc_examples: Twisted's documented examples are missing from %s; run scripts/setup-interop.sh\n"
            % EXAMPLES
        )
        raise SystemExit(3)
    sys.path.insert(0, EXAMPLES)


class _Tee(io.TextIOBase):
    """Pass writes through to the real stdout (flushed) and keep a copy."""

    def __init__(self, out):
        self.out = out
        self.seen = []

    def write(self, s):
        self.seen.append(s)
        self.out.write(s)
        self.out.flush()
        return len(s)

    def flush(self):
        self.out.flush()


def server():
    _import_examples()
    from twisted.internet import reactor, stdio
    from twisted.protocols.basic import LineReceiver

    import ampserver

    original = reactor.listenTCP

    def listenTCP(port, factory, backlog=50, interface=""):
        listening = original(0, factory, backlog=backlog, interface="127.0.0.1")
        print("PORT %d" % (listening.getHost().port,), flush=True)
        return listening

    reactor.listenTCP = listenTCP

    class StdinWatcher(LineReceiver):
        def lineReceived(self, line):
            pass

        def connectionLost(self, reason):
            if reactor.running:
                reactor.stop()

    reactor.callWhenRunning(stdio.StandardIO, StdinWatcher())
    sys.stdout = _Tee(sys.__stdout__)
    ampserver.main()


def client(port):
    _import_examples()
    from twisted.internet import reactor

    import ampclient

    original = ampclient.TCP4ClientEndpoint

    def TCP4ClientEndpoint(reactor_, host, destination_port, *a, **kw):
        if destination_port != 1234:
            raise AssertionError("the documented client should dial port 1234, not %r" % (destination_port,))
        return original(reactor_, host, port, *a, **kw)

    ampclient.TCP4ClientEndpoint = TCP4ClientEndpoint
    tee = sys.stdout = _Tee(sys.__stdout__)

    timed_out = []

    def timeout():
        timed_out.append(True)
        sys.__stderr__.write("doc_examples: the documented client did not finish in %ss\n" % TIMEOUT)
        reactor.stop()

    guard = reactor.callLater(TIMEOUT, timeout)
    ampclient.doMath()
    reactor.run()
    if guard.active():
        guard.cancel()
    sys.stdout = sys.__stdout__
    text = "".join(tee.seen)
    if timed_out:
        raise SystemExit(2)
    ok = "Done with math: [(True, " in text and "(False," not in text
    raise SystemExit(0 if ok else 1)


def main(argv):
    if len(argv) == 2 and argv[1] == "server":
        server()
    elif len(argv) == 3 and argv[1] == "client":
        client(int(argv[2]))
    else:
        sys.stderr.write(__doc__)
        raise SystemExit(2)


if __name__ == "__main__":
    main(sys.argv)
