#!/usr/bin/env python
"""A Twisted AMP peer that counts what it sends and receives, for checking
amp-rs's per-connection counters (``Connection::stats``) against Twisted's
own view of the same connection.

The peer counts boxes and bytes as they pass ``sendBox`` (the serialized
box, written to the transport) and ``dataReceived`` / ``ampBoxReceived``.

Modes:

``stats_peer.py serve``
    Listen on 127.0.0.1, port 0; print ``PORT <n>``; serve until stdin
    closes. ``Double(n)`` answers ``2n`` or fails ``NEGATIVE`` for a
    negative ``n``; ``Counts()`` answers this connection's counts so far
    (the ``Counts`` request included, its answer not).

``stats_peer.py client <port> <calls>``
    Call a Rust server that answers ``Double`` the same way: ``<calls>``
    calls, one ``NEGATIVE``, one command it does not know (``UNHANDLED``);
    print ``COUNTS <boxes sent> <bytes sent> <boxes received> <bytes
    received>``, then close the connection and exit 0.
"""

import sys

from twisted.internet import defer, protocol, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.protocols import amp

import harness
from harness import timed


class Negative(Exception):
    pass


class Double(amp.Command):
    arguments = [(b"n", amp.Integer())]
    response = [(b"n", amp.Integer())]
    errors = {Negative: b"NEGATIVE"}


class Nope(amp.Command):
    """Answered by nobody."""

    arguments = []
    response = []


class Counts(amp.Command):
    arguments = []
    response = [
        (b"boxes_sent", amp.Integer()),
        (b"bytes_sent", amp.Integer()),
        (b"boxes_received", amp.Integer()),
        (b"bytes_received", amp.Integer()),
    ]


class Counting(amp.AMP):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.boxes_sent = self.bytes_sent = 0
        self.boxes_received = self.bytes_received = 0

    def sendBox(self, box):
        self.boxes_sent += 1
        self.bytes_sent += len(box.serialize())
        super().sendBox(box)

    def dataReceived(self, data):
        self.bytes_received += len(data)
        super().dataReceived(data)

    def ampBoxReceived(self, box):
        self.boxes_received += 1
        super().ampBoxReceived(box)

    def counts(self):
        return {
            "boxes_sent": self.boxes_sent,
            "bytes_sent": self.bytes_sent,
            "boxes_received": self.boxes_received,
            "bytes_received": self.bytes_received,
        }

    @Double.responder
    def double(self, n):
        if n < 0:
            raise Negative("%d is negative" % n)
        return {"n": 2 * n}

    @Counts.responder
    def counts_responder(self):
        return self.counts()


def serve():
    harness.serve_tcp(protocol.Factory.forProtocol(Counting))


def client(port, calls):
    failures = []

    async def main():
        try:
            p = await connectProtocol(
                TCP4ClientEndpoint(reactor, "127.0.0.1", port), Counting()
            )
            for i in range(calls):
                r = await timed(p.callRemote(Double, n=i))
                if r["n"] != 2 * i:
                    failures.append("Double(%d) = %r" % (i, r["n"]))
            try:
                await timed(p.callRemote(Double, n=-1))
                failures.append("Double(-1) answered")
            except Negative:
                pass
            try:
                await timed(p.callRemote(Nope))
                failures.append("Nope answered")
            except amp.UnhandledCommand:
                pass
            c = p.counts()
            print(
                "COUNTS %d %d %d %d"
                % (c["boxes_sent"], c["bytes_sent"], c["boxes_received"], c["bytes_received"]),
                flush=True,
            )
            p.transport.loseConnection()
        except Exception as e:  # noqa: BLE001 - reported, not hidden
            failures.append(repr(e))
        finally:
            reactor.stop()

    reactor.callWhenRunning(lambda: defer.ensureDeferred(main()))
    reactor.run()
    for f in failures:
        print("FAIL %s" % f, flush=True)
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "serve":
        serve()
    elif mode == "client":
        client(int(sys.argv[2]), int(sys.argv[3]))
    else:
        sys.exit(__doc__)
