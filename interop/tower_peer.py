#!/usr/bin/env python
"""A Twisted AMP peer for amp-rs's ``tower`` feature: tower layers on the
Rust side, as Twisted sees them.

Modes:

``tower_peer.py serve``
    Listen on 127.0.0.1, port 0; print ``PORT <n>``; serve until stdin
    closes. ``Slow`` answers after ``seconds``; ``MaxSeen`` answers how many
    ``Slow`` responders have run at once at most (over every connection).

``tower_peer.py client <port>``
    Check a Rust server whose ``Lookup`` route has a tower ``timeout``
    layer (key ``stuck`` never finishes) and whose ``Busy`` route has
    ``load_shed`` over ``concurrency_limit(2)``: ``TIMEOUT`` and
    ``OVERLOADED`` arrive as the declared errors, and the connection stays.
    Prints ``PASS`` / ``FAIL`` lines and a summary; exits 0 only if
    everything passed.
"""

from twisted.internet import defer, protocol, reactor, task
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.protocols import amp

import harness
from conn_peer import Slow
from harness import timed


class MaxSeen(amp.Command):
    """``MaxSeen() -> (max)``: the most ``Slow`` responders run at once."""

    arguments = []
    response = [(b"max", amp.Integer())]


class TimedOut(Exception):
    pass


class Overloaded(Exception):
    pass


class Lookup(amp.Command):
    """``Lookup(key) -> (value)``; ``TIMEOUT`` when the Rust route's tower
    timeout elapses."""

    arguments = [(b"key", amp.Unicode())]
    response = [(b"value", amp.Unicode())]
    errors = {TimedOut: b"TIMEOUT"}


class Busy(amp.Command):
    """``Busy(seconds) -> (done)``; ``OVERLOADED`` when the Rust route sheds
    the request."""

    arguments = [(b"seconds", amp.Float())]
    response = [(b"done", amp.Boolean())]
    errors = {Overloaded: b"OVERLOADED"}


class Gauge:
    def __init__(self):
        self.now = 0
        self.max = 0


class Peer(amp.AMP):
    def __init__(self, gauge):
        super().__init__()
        self.gauge = gauge

    @Slow.responder
    def slow(self, seconds):
        g = self.gauge
        g.now += 1
        g.max = max(g.max, g.now)

        def done():
            g.now -= 1
            return {"slept": seconds}

        return task.deferLater(reactor, seconds, done)

    @MaxSeen.responder
    def max_seen(self):
        return {"max": self.gauge.max}


def serve():
    gauge = Gauge()
    harness.serve_tcp(protocol.Factory.forProtocol(lambda: Peer(gauge)))


async def check_rust(c, port):
    p = await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), amp.AMP())

    # A tower timeout on the Rust route: TIMEOUT, declared here.
    start = reactor.seconds()
    try:
        await timed(p.callRemote(Lookup, key="stuck"))
        c.fail("Lookup past the timeout fails", "it answered")
    except TimedOut as e:
        c.ok("Lookup past the timeout fails with TIMEOUT", reactor.seconds() - start < 5, str(e))
    r = await timed(p.callRemote(Lookup, key="k"))
    c.eq("Lookup within the timeout answers", r["value"], "value of k")

    # load_shed over concurrency_limit(2): a burst, some shed.
    calls = [p.callRemote(Busy, seconds=0.5) for _ in range(6)]
    results = await timed(defer.DeferredList(calls, consumeErrors=True))
    answered = sum(1 for ok, r in results if ok and r["done"])
    shed = sum(1 for ok, r in results if not ok and r.check(Overloaded))
    c.eq("Busy burst: every call answered or shed", answered + shed, 6)
    c.ok("Busy burst: at most 2 answered", 1 <= answered <= 2, "answered %d" % answered)
    c.ok("Busy burst: the rest OVERLOADED", shed >= 4, "shed %d" % shed)
    r = await timed(p.callRemote(Busy, seconds=0.01))
    c.ok("Busy after the burst answers: the connection stayed", r["done"])


if __name__ == "__main__":
    harness.serve_or_check(__doc__, serve, check_rust)
