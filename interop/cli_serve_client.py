#!/usr/bin/env python
"""A Twisted AMP client for the tests of ``amp serve``.

``cli_serve_client.py client <port>`` connects to ``amp serve`` on
127.0.0.1:<port> and checks, with plain ``twisted.protocols.amp``, the
demo commands: ``Sum`` and ``Divide`` (Twisted's documented example, the
classes imported from its ``ampserver.py`` found in $AMP_TWISTED_EXAMPLES),
``Echo``, an unknown command, ``StartTLS`` (anonymous, as Twisted's
``callRemote(amp.StartTLS)``) with a call over TLS, and ``Switch`` to the
byte echo, in clear with a half-close (we stop writing; the server echoes
everything, then closes its side) and after StartTLS. Prints ``PASS`` /
``FAIL`` lines and ``N passed, M failed``; exits 0 only if all passed.
"""

import importlib.util
import os
import sys

from twisted.internet import defer, protocol, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.interfaces import ISSLTransport
from twisted.protocols import amp

import harness
from harness import timed


def twisted_example(name):
    """Import Twisted's documented example ``name`` (say ``ampserver``)."""
    here = os.path.dirname(os.path.abspath(__file__))
    folder = os.environ.get("AMP_TWISTED_EXAMPLES") or os.path.join(here, ".venv", "twisted-examples")
    path = os.path.join(folder, name + ".py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


example = twisted_example("ampserver")
Sum, Divide = example.Sum, example.Divide


class Echo(amp.Command):
    arguments = [(b"blob", amp.String()), (b"text", amp.Unicode()), (b"n", amp.Integer())]
    response = [(b"blob", amp.String()), (b"text", amp.Unicode()), (b"n", amp.Integer())]


class Nope(amp.Command):
    arguments = []
    response = []


class Switch(amp.ProtocolSwitchCommand):
    arguments = []
    response = []


class Collector(protocol.Protocol):
    """The protocol switched to: collects what the echo sends back."""

    def __init__(self):
        self.data = b""
        self.waiting = []
        self.lost = defer.Deferred()

    def dataReceived(self, data):
        self.data += data
        for want, d in list(self.waiting):
            if len(self.data) >= want:
                self.waiting.remove((want, d))
                d.callback(self.data)

    def until(self, n):
        d = defer.Deferred()
        self.waiting.append((n, d))
        self.dataReceived(b"")
        return d

    def connectionLost(self, reason):
        if not self.lost.called:
            self.lost.callback(self.data)


class CollectorFactory(protocol.ClientFactory):
    def __init__(self):
        self.proto = None

    def buildProtocol(self, addr):
        self.proto = Collector()
        return self.proto


async def connect(port):
    return await timed(connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), amp.AMP()))


async def check(c, port):
    p = await connect(port)
    c.eq("sum", await timed(p.callRemote(Sum, a=13, b=81)), {"total": 94})
    try:
        await timed(p.callRemote(Divide, numerator=1234, denominator=0))
        c.fail("divide.zero", "no error")
    except ZeroDivisionError:
        c.ok("divide.zero", True)
    c.eq("divide", await timed(p.callRemote(Divide, numerator=10, denominator=4)), {"result": 2.5})
    args = {"blob": b"\x00\xff\r\n", "text": "h\u00e9llo", "n": -12345678901234567890}
    c.eq("echo", await timed(p.callRemote(Echo, **args)), args)
    try:
        await timed(p.callRemote(Nope))
        c.fail("unhandled", "no error")
    except amp.UnhandledCommand:
        c.ok("unhandled", True)
    c.eq("still.usable", await timed(p.callRemote(Sum, a=1, b=2)), {"total": 3})

    # Switch in clear, then half-close: everything comes back, then the end.
    f = CollectorFactory()
    c.eq("switch.answer", await timed(p.callRemote(Switch, _protoToSwitchToFactory=f)), {})
    payload = b"".join(b"%06d," % i for i in range(20000))
    f.proto.transport.write(payload)
    f.proto.transport.loseWriteConnection()
    echoed = await timed(f.proto.lost)
    c.ok("switch.half_close_echo", echoed == payload, "%d of %d bytes back" % (len(echoed), len(payload)))

    # StartTLS (anonymous), a call over TLS, then Switch inside TLS.
    p = await connect(port)
    await timed(p.callRemote(amp.StartTLS))
    c.ok("starttls.tls_transport", ISSLTransport.providedBy(p.transport))
    c.eq("starttls.sum", await timed(p.callRemote(Sum, a=40, b=2)), {"total": 42})
    c.ok("starttls.server_cert", p.transport.getPeerCertificate() is not None)
    f = CollectorFactory()
    await timed(p.callRemote(Switch, _protoToSwitchToFactory=f))
    f.proto.transport.write(b"secret bytes")
    c.eq("starttls.switch_echo", await timed(f.proto.until(12)), b"secret bytes")
    f.proto.transport.loseConnection()


def main(argv):
    harness.log_to_stderr()
    if len(argv) == 3 and argv[1] == "client":
        harness.run_checks(check, int(argv[2]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
