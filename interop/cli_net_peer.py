#!/usr/bin/env python
"""Twisted peers for the tests of ``amp gateway``, ``amp tunnel`` and
``amp tap``: Twisted's documented Sum/Divide protocol (``ampserver.py``
from Twisted's examples, found in ``$AMP_TWISTED_EXAMPLES`` or
``interop/.venv/twisted-examples``), and the gateway protocol.

Modes:

``cli_net_peer.py serve``
    Twisted's ``Math`` server (Sum, Divide, and AMP's own StartTLS with a
    throwaway certificate) on 127.0.0.1, port 0; prints ``PORT <n>``;
    serves until stdin closes.

``cli_net_peer.py client <port> [--starttls]``
    Connects to 127.0.0.1:<port> (``--starttls``: StartTLS first, no
    verification), calls ``Sum(a=13, b=81)`` and ``Divide(1234, 0)``,
    prints ``TOTAL <n>`` and ``PASS``/``FAIL`` lines; exits 0 only if all
    passed.

``cli_net_peer.py gateway <port> <service> [--ca PEM]``
    Does the gateway dance itself against ``amp gateway`` on <port>:
    ``StartTLS`` (verifying the gateway against PEM with ``--ca``),
    ``ListServices`` (declared as an older client does, with ``services``
    only, then with the later ``backends``: the one backend of <service>
    healthy, no connection open, no failure), ``Connect`` to a service that
    does not exist
    (``UNKNOWN_SERVICE``), then ``Connect(service=<service>)`` on the same
    connection, switching to a new AMP protocol that calls ``Sum`` on the
    Twisted server behind the gateway.
"""

import os
import sys

from twisted.internet import defer, protocol, reactor, ssl
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.interfaces import ISSLTransport
from twisted.protocols import amp

import harness
from harness import timed

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.environ.get("AMP_TWISTED_EXAMPLES") or os.path.join(
    HERE, ".venv", "twisted-examples"
)
sys.path.insert(0, EXAMPLES)
from ampserver import Divide, Math, Sum  # noqa: E402  (Twisted's documented example)


class UnknownService(Exception):
    pass


class ConnectFailed(Exception):
    pass


class TlsRequired(Exception):
    pass


GATEWAY_ERRORS = {
    UnknownService: b"UNKNOWN_SERVICE",
    ConnectFailed: b"CONNECT_FAILED",
    TlsRequired: b"TLS_REQUIRED",
}


class ListServices(amp.Command):
    arguments = []
    response = [(b"services", amp.ListOf(amp.Unicode()))]
    errors = {TlsRequired: b"TLS_REQUIRED"}


class ListServicesAndBackends(amp.Command):
    """``ListServices`` as a client that reads the backends' health
    declares it (``backends`` came later: optional)."""

    commandName = b"ListServices"
    arguments = []
    response = [
        (b"services", amp.ListOf(amp.Unicode())),
        (
            b"backends",
            amp.AmpList(
                [
                    (b"service", amp.Unicode()),
                    (b"address", amp.Unicode()),
                    (b"healthy", amp.Boolean()),
                    (b"connections", amp.Integer()),
                    (b"failures", amp.Integer()),
                    (b"last_error", amp.Unicode(optional=True)),
                ],
                optional=True,
            ),
        ),
    ]
    errors = {TlsRequired: b"TLS_REQUIRED"}


class Connect(amp.ProtocolSwitchCommand):
    arguments = [(b"service", amp.Unicode())]
    response = []
    errors = GATEWAY_ERRORS


def serve():
    f = protocol.Factory()
    f.protocol = Math
    harness.serve_tcp(f)


async def math_checks(c, p, where):
    r = await timed(p.callRemote(Sum, a=13, b=81))
    print("TOTAL %d" % r["total"], flush=True)
    c.eq(where + ".sum", r["total"], 94)
    try:
        await timed(p.callRemote(Divide, numerator=1234, denominator=0))
        c.fail(where + ".divide", "no ZeroDivisionError")
    except ZeroDivisionError:
        c.ok(where + ".divide_by_zero", True)


async def client(c, port, starttls):
    p = await timed(connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), amp.AMP()))
    if starttls:
        await timed(p.callRemote(amp.StartTLS))
        c.ok("client.tls", ISSLTransport.providedBy(p.transport))
    await math_checks(c, p, "client")
    p.transport.loseConnection()


class Inner(amp.AMP):
    """The protocol switched to: AMP again, now with the server behind the
    gateway."""

    def __init__(self):
        super().__init__()
        self.ready = defer.Deferred()

    def connectionMade(self):
        super().connectionMade()
        self.ready.callback(self)


class InnerFactory(protocol.ClientFactory):
    def __init__(self):
        self.proto = Inner()
        self.failed = defer.Deferred()

    def buildProtocol(self, addr):
        return self.proto

    def clientConnectionFailed(self, connector, reason):
        if not self.failed.called:
            self.failed.callback(reason)


async def gateway(c, port, service, ca):
    p = await timed(connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), amp.AMP()))
    kw = {}
    if ca:
        with open(ca, "rb") as f:
            kw["tls_verifyAuthorities"] = [ssl.Certificate.loadPEM(f.read())]
    await timed(p.callRemote(amp.StartTLS, **kw))
    c.ok("gateway.tls", ISSLTransport.providedBy(p.transport))
    r = await timed(p.callRemote(ListServices))
    c.ok("gateway.list_services", service in r["services"], repr(r["services"]))
    r = await timed(p.callRemote(ListServicesAndBackends))
    mine = [b for b in r.get("backends") or [] if b["service"] == service]
    c.ok(
        "gateway.backends",
        len(mine) == 1
        and mine[0]["healthy"] is True
        and mine[0]["connections"] == 0
        and mine[0]["failures"] == 0
        and mine[0].get("last_error") is None,
        repr(r.get("backends")),
    )
    refused = InnerFactory()
    try:
        await timed(p.callRemote(Connect, service="no-such-service", _protoToSwitchToFactory=refused))
        c.fail("gateway.unknown_service", "the switch was accepted")
    except UnknownService:
        c.ok("gateway.unknown_service", True)
    f = InnerFactory()
    await timed(p.callRemote(Connect, service=service, _protoToSwitchToFactory=f))
    inner = await timed(f.proto.ready)
    c.ok("gateway.still_tls", ISSLTransport.providedBy(inner.transport))
    await math_checks(c, inner, "gateway")
    inner.transport.loseConnection()


def main():
    args = sys.argv[1:]
    mode = args[0] if args else ""
    if mode == "serve":
        serve()
    elif mode == "client" and len(args) >= 2:
        harness.run_checks(client, int(args[1]), "--starttls" in args[2:])
    elif mode == "gateway" and len(args) >= 3:
        ca = args[args.index("--ca") + 1] if "--ca" in args[3:] else None
        harness.run_checks(gateway, int(args[1]), args[2], ca)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
