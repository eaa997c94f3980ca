#!/usr/bin/env python
"""A Twisted AMP peer for the per-connection features of amp-rs: the peer's
address (``transport.getPeer()``/``getHost()``), state per connection (a
protocol instance per connection), ``QuitBox`` (a response that closes the
connection) and undeclared errors (``UNKNOWN``, then the connection closes).

Modes:

``conn_peer.py serve``
    Listen on 127.0.0.1, port 0; print ``PORT <n>``; serve until stdin
    closes. ``WhoAmI`` answers what Twisted sees of the connection, ``Hit``
    counts per connection, ``Goodbye`` answers with a ``QuitBox``,
    ``Explode`` raises an exception it does not declare.

``conn_peer.py client <port>``
    Check a Rust server that answers the same commands the same way: the
    addresses it reports against Twisted's own view, a counter per
    connection, the connection closed after ``Goodbye``'s answer, and
    ``UNKNOWN`` then a closed connection for ``Explode``. Prints ``PASS`` /
    ``FAIL`` lines and a summary; exits 0 only if everything passed.
"""

from twisted.internet import defer, protocol, reactor, task
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.protocols import amp

import harness
from harness import timed


class WhoAmI(amp.Command):
    """``WhoAmI() -> (peer, host)``: the answering side's view, as
    ``host:port`` strings."""

    arguments = []
    response = [(b"peer", amp.Unicode()), (b"host", amp.Unicode())]


class Hit(amp.Command):
    """``Hit() -> (n)``: how many times this connection has hit."""

    arguments = []
    response = [(b"n", amp.Integer())]


class Goodbye(amp.Command):
    """Answered with a ``QuitBox``: the answer, then the connection closes."""

    arguments = []
    response = [(b"goodbye", amp.Unicode())]
    responseType = amp.QuitBox


class Explode(amp.Command):
    """Fails with an error it does not declare."""

    arguments = []
    response = []


class Slow(amp.Command):
    """``Slow(seconds) -> (slept)``: answers after ``seconds``."""

    arguments = [(b"seconds", amp.Float())]
    response = [(b"slept", amp.Float())]


class TooSlow(Exception):
    pass


class Lookup(amp.Command):
    """``Lookup(key) -> (value)``; the Rust side answers ``TOO_SLOW`` when
    its responder passes its deadline (key ``stuck`` never finishes)."""

    arguments = [(b"key", amp.Unicode())]
    response = [(b"value", amp.Unicode())]
    errors = {TooSlow: b"TOO_SLOW"}


class Stuck(amp.Command):
    """Never answered by the Rust side (until cancelled)."""

    arguments = []
    response = []


class Cancel(amp.Command):
    """amp-rs's remote cancellation: ``tag`` of the call to cancel."""

    arguments = [(b"tag", amp.String())]
    response = [(b"cancelled", amp.Boolean())]


class Dropped(amp.Command):
    """How many of the Rust side's ``Stuck`` responders were dropped."""

    arguments = []
    response = [(b"n", amp.Integer())]


def addr(a):
    return "%s:%d" % (a.host, a.port)


class Peer(amp.AMP):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.hits = 0
        self.lost = defer.Deferred()

    def connectionLost(self, reason):
        super().connectionLost(reason)
        if not self.lost.called:
            self.lost.callback(None)

    @WhoAmI.responder
    def who(self):
        t = self.transport
        return {"peer": addr(t.getPeer()), "host": addr(t.getHost())}

    @Hit.responder
    def hit(self):
        self.hits += 1
        return {"n": self.hits}

    @Goodbye.responder
    def goodbye(self):
        return {"goodbye": "so long"}

    @Explode.responder
    def explode(self):
        raise RuntimeError("the responder blew up")

    @Slow.responder
    def slow(self, seconds):
        return task.deferLater(reactor, seconds, lambda: {"slept": seconds})


def serve():
    harness.serve_tcp(protocol.Factory.forProtocol(Peer))


async def connect(port):
    return await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), Peer())


async def closed_within(p, seconds=10):
    try:
        await timed(p.lost, seconds)
        return True
    except defer.TimeoutError:
        return False


async def check_rust(c, port):
    # The addresses: what the Rust responder sees is what Twisted sees,
    # the other way round.
    p = await connect(port)
    r = await timed(p.callRemote(WhoAmI))
    c.eq("WhoAmI.peer is our host", r["peer"], addr(p.transport.getHost()))
    c.eq("WhoAmI.host is our peer", r["host"], addr(p.transport.getPeer()))

    # State per connection: each connection counts from 1.
    q = await connect(port)
    got = []
    for conn in (p, p, q, p, q):
        got.append((await timed(conn.callRemote(Hit)))["n"])
    c.eq("Hit counts per connection", got, [1, 2, 1, 3, 2])

    # Goodbye: the answer arrives, then the Rust side closes.
    r = await timed(p.callRemote(Goodbye))
    c.eq("Goodbye answered", r["goodbye"], "so long")
    c.ok("Goodbye then closed", await closed_within(p))
    r = await timed(q.callRemote(Hit))
    c.eq("the other connection still works", r["n"], 3)

    # A responder past its deadline: the declared error, and the
    # connection goes on.
    start = reactor.seconds()
    try:
        await timed(q.callRemote(Lookup, key="stuck"))
        c.fail("Lookup past its deadline fails", "it answered")
    except TooSlow:
        c.ok("Lookup past its deadline fails with TooSlow", reactor.seconds() - start < 5)
    r = await timed(q.callRemote(Lookup, key="k"))
    c.eq("Lookup within its deadline answers", r["value"], "value of k")

    # Remote cancellation: cancel our own Stuck call by its tag (Twisted's
    # tags are its counter in hex), and the Rust responder is dropped.
    # (Twisted needs an errback on a call before its error arrives, or it
    # drops the connection: collect the outcome at once.)
    stuck = []
    q.callRemote(Stuck).addBoth(stuck.append)
    tag = b"%x" % (q._counter,)
    await timed(q.callRemote(Hit))  # answered after Stuck started running
    r = await timed(q.callRemote(Cancel, tag=tag))
    c.eq("Cancel of a running call", r["cancelled"], True)
    failure = stuck[0] if stuck else None
    c.ok(
        "the cancelled call fails with CANCELLED",
        failure is not None
        and failure.check(amp.UnknownRemoteError)
        and "cancelled by the caller" in str(failure.value),
        repr(failure),
    )
    r = await timed(q.callRemote(Dropped))
    c.eq("the Rust responder was dropped", r["n"], 1)
    r = await timed(q.callRemote(Cancel, tag=b"ffff"))
    c.eq("Cancel of an unknown tag", r["cancelled"], False)

    # An undeclared failure: UNKNOWN, then the connection closes.
    try:
        await timed(q.callRemote(Explode))
        c.fail("Explode fails", "it answered")
    except amp.UnknownRemoteError:
        c.ok("Explode fails with UnknownRemoteError", True)
    except Exception as e:  # noqa: BLE001 - reported, not hidden
        c.fail("Explode fails with UnknownRemoteError", repr(e))
    c.ok("Explode then closed", await closed_within(q))


if __name__ == "__main__":
    harness.serve_or_check(__doc__, serve, check_rust)
