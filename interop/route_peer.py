#!/usr/bin/env python
"""A Twisted peer for routes: several AMP conversations over one connection,
multiplexed by a ``_route`` key with Divmod Epsilon's ``epsilon.amprouter``
(``Router``/``Route``), used as Epsilon's own tests and Mantissa use it:
the connection's protocol is a ``BinaryBoxProtocol`` whose box receiver is
a ``Router``, and each route is bound to its own ``AMP`` instance with
``router.bindRoute(amp, localName).connectTo(remoteName)``; the default
route is bound under ``None`` and connected to ``None`` (no ``_route``).

Epsilon 0.8.0 on Python 3: ``amprouter._ROUTE`` is the text ``'_route'``,
but Twisted's boxes have ``bytes`` keys on Python 3, so a received
``_route`` would never be found. Route names are given as ``bytes`` and
``_ROUTE`` is set to ``b'_route'`` below; the rules (``Router.ampBoxReceived``,
``Route.sendBox``) are Epsilon's, unchanged.

Modes:

``route_peer.py serve``
    Listen on 127.0.0.1, port 0; print ``PORT <n>``; serve until stdin
    closes. Each connection has the default route and routes ``left`` and
    ``right`` (``_route`` the same name both ways), and route ``p-calc``
    connected to the peer's route ``calc``. ``Who`` answers the route's
    name on each; ``Sum`` adds on ``left`` and ``p-calc``; ``Refuse``
    fails with the declared ``REFUSED`` on ``left``; ``AskBack`` (on
    ``left``) calls the peer's ``Who`` on the same route and answers what
    it said; ``Stray`` (default route) sends a request on a route the
    peer does not have (route ``nowhere``).

``route_peer.py client <port>``
    Check a Rust server that serves the same routes the same way (and a
    route ``calc`` answering ``Sum``), two routes and the default route at
    once over one connection; that a route the server does not have ends
    the connection. Prints ``PASS``/``FAIL`` lines and a summary.
"""

import sys

from twisted.internet import defer, protocol, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.protocols import amp

import epsilon.amprouter as amprouter
from epsilon.amprouter import Router

import harness
from harness import timed

amprouter._ROUTE = b"_route"


class Who(amp.Command):
    arguments = []
    response = [(b"name", amp.Unicode())]


class Sum(amp.Command):
    arguments = [(b"a", amp.Integer()), (b"b", amp.Integer())]
    response = [(b"total", amp.Integer())]


class Refused(Exception):
    pass


class Refuse(amp.Command):
    arguments = []
    response = []
    errors = {Refused: b"REFUSED"}


class AskBack(amp.Command):
    arguments = []
    response = [(b"said", amp.Unicode())]


class Stray(amp.Command):
    arguments = []
    response = []


class Nope(amp.Command):
    """Answered by nobody."""

    arguments = []
    response = []


class Conversation(amp.AMP):
    """One route's AMP: answers ``Who`` with its name."""

    def __init__(self, name, router=None):
        super().__init__()
        self.name = name
        self.router = router
        self.lost = defer.Deferred()

    def stopReceivingBoxes(self, reason):
        super().stopReceivingBoxes(reason)
        if not self.lost.called:
            self.lost.callback(reason)

    @Who.responder
    def who(self):
        return {"name": self.name}

    @Refuse.responder
    def refuse(self):
        raise Refused("no, on route %s" % self.name)

    @AskBack.responder
    async def ask_back(self):
        r = await self.callRemote(Who)
        return {"said": r["name"]}

    @Stray.responder
    def stray(self):
        # A request on a route the peer has not bound (nobody waits for
        # its answer: the peer is expected to drop the connection).
        route = self.router.bindRoute(amp.AMP(), b"stray-back")
        route.connectTo(b"nowhere")
        route.receiver.callRemote(Who).addErrback(lambda _: None)
        return {}


class Calculating(Conversation):
    """A route's AMP that also adds."""

    @Sum.responder
    def sum(self, a, b):
        return {"total": a + b}


ROUTES = [(b"left", b"left"), (b"right", b"right"), (b"p-calc", b"calc")]
CALCULATING = (b"left", b"p-calc")


class RoutedProtocol(amp.BinaryBoxProtocol):
    """The transport's protocol: boxes go to a ``Router``."""

    def __init__(self, routes=ROUTES):
        self.router = Router()
        super().__init__(self.router)
        self.conversations = {}
        default = Conversation("default", self.router)
        self.router.bindRoute(default, None).connectTo(None)
        self.conversations[None] = default
        for local, remote in routes:
            kind = Calculating if local in CALCULATING else Conversation
            conv = kind(local.decode(), self.router)
            self.router.bindRoute(conv, local).connectTo(remote)
            self.conversations[local] = conv
        self.lost = defer.Deferred()

    def connectionLost(self, reason):
        super().connectionLost(reason)
        if not self.lost.called:
            self.lost.callback(None)


def serve():
    harness.serve_tcp(protocol.Factory.forProtocol(RoutedProtocol))


async def connect(port, routes=ROUTES):
    return await connectProtocol(
        TCP4ClientEndpoint(reactor, "127.0.0.1", port), RoutedProtocol(routes)
    )


async def check_rust(c, port):
    p = await connect(port)
    left, right, default = (p.conversations[n] for n in (b"left", b"right", None))
    # Two routes and the default route at once.
    got = await timed(
        defer.gatherResults(
            [
                left.callRemote(Who),
                right.callRemote(Who),
                default.callRemote(Who),
                left.callRemote(Sum, a=2, b=3),
            ]
        )
    )
    c.eq(
        "Who on left, right, default and Sum on left at once",
        [got[0]["name"], got[1]["name"], got[2]["name"], got[3]["total"]],
        ["rust-left", "rust-right", "rust-default", 5],
    )
    # A route with other names at each end: ours p-calc, theirs calc.
    r = await timed(p.conversations[b"p-calc"].callRemote(Sum, a=40, b=2))
    c.eq("Sum on p-calc -> calc", r["total"], 42)
    # A declared error on a route.
    try:
        await timed(left.callRemote(Refuse))
        c.fail("Refuse on left fails with REFUSED", "it answered")
    except Refused:
        c.ok("Refuse on left fails with REFUSED", True)
    # A command the route's router does not answer: UNHANDLED, on the route.
    try:
        await timed(right.callRemote(Sum, a=1, b=1))
        c.fail("Sum on right is UNHANDLED", "it answered")
    except amp.UnhandledCommand:
        c.ok("Sum on right is UNHANDLED", True)
    # The Rust route calls back on the same route.
    r = await timed(right.callRemote(AskBack))
    c.eq("AskBack on right: Rust asked our right", r["said"], "right")
    r = await timed(default.callRemote(Who))
    c.eq("the connection goes on", r["name"], "rust-default")

    # A route the Rust side has not bound: the connection ends.
    q = await connect(port, [(b"x", b"nowhere")])
    d = q.conversations[b"x"].callRemote(Who)
    d.addErrback(lambda f: f.value)
    try:
        await timed(q.lost, 10)
        c.ok("a box for an unknown route ends the connection", True)
    except defer.TimeoutError:
        c.fail("a box for an unknown route ends the connection", "still open")
    reason = await timed(d)
    c.ok(
        "the call on it fails with the connection",
        isinstance(reason, Exception),
        repr(reason),
    )


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "serve":
        serve()
    elif mode == "client":
        harness.run_checks(check_rust, int(sys.argv[2]))
    else:
        sys.exit(__doc__)
