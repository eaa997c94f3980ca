#!/usr/bin/env python
"""A Twisted AMP peer for amp-rs's protocol-switching and StartTLS tests.

Plain ``twisted.protocols.amp`` (``ProtocolSwitchCommand``, ``StartTLS``)
on the ordinary reactor, with pyOpenSSL for TLS.

Modes:

``switch_peer.py serve [--cert C --key K] [--ca CA]``
    Listen on 127.0.0.1, port 0 (TCP); print ``PORT <n>`` once listening;
    serve until stdin closes. Answers ``StartTLS`` with the certificate
    C/K (PEM files; without, Twisted's throwaway self-signed one) and, with
    ``--ca``, requires client certificates signed by CA.

``switch_peer.py client <port> [--cert C --key K] [--ca CA] [--other-ca O] scenario...``
    Connect to the Rust side and run the scenarios (Twisted calls Rust);
    print ``PASS name`` / ``FAIL name: why`` per check and
    ``N passed, M failed``; exit 0 only if everything passed.

Commands (both sides): ``Switch`` (turns the connection into a byte echo),
``Greet`` (switches to a protocol that first writes ``greeting\\n`` --
Twisted writes it in the same segment as the answer -- then echoes),
``Refuse`` (a switch command whose responder refuses with ``REFUSED``),
``Hang`` (a switch command whose responder never answers and drops the
connection), ``Sum``, ``Slow`` (answers when ``Release`` is called),
``PeerCert`` (the peer's certificate as DER, empty without TLS).
"""

import sys
import traceback

from twisted.internet import defer, protocol, reactor, ssl, task
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.interfaces import ISSLTransport
from twisted.protocols import amp

from OpenSSL import crypto

import harness
from harness import Checker, timed


class Switch(amp.ProtocolSwitchCommand):
    arguments = []
    response = []


class Greet(amp.ProtocolSwitchCommand):
    arguments = []
    response = []


class SwitchRefused(Exception):
    pass


class Refuse(amp.ProtocolSwitchCommand):
    arguments = []
    response = []
    errors = {SwitchRefused: b"REFUSED"}


class Hang(amp.ProtocolSwitchCommand):
    arguments = []
    response = []


class Sum(amp.Command):
    arguments = [(b"a", amp.Integer()), (b"b", amp.Integer())]
    response = [(b"total", amp.Integer())]


class Slow(amp.Command):
    arguments = [(b"n", amp.Integer())]
    response = [(b"n", amp.Integer())]


class Release(amp.Command):
    arguments = []
    response = []


class PeerCert(amp.Command):
    arguments = []
    response = [(b"der", amp.String()), (b"tls", amp.Boolean())]


class Echo(protocol.Protocol):
    """The protocol switched to: echo every byte."""

    def dataReceived(self, data):
        self.transport.write(data)


class Greeter(Echo):
    def connectionMade(self):
        self.transport.write(b"greeting\n")


class Collector(protocol.Protocol):
    """Client side of a switched connection: collects what comes back."""

    def __init__(self):
        self.data = b""
        self.waiting = []
        self.lost = defer.Deferred()

    def dataReceived(self, data):
        self.data += data
        self._check()

    def _check(self):
        for want, d in list(self.waiting):
            if len(self.data) >= want:
                self.waiting.remove((want, d))
                d.callback(self.data)

    def until(self, n):
        d = defer.Deferred()
        self.waiting.append((n, d))
        self._check()
        return d

    def connectionLost(self, reason):
        if not self.lost.called:
            self.lost.callback(reason)


class CollectorFactory(protocol.ClientFactory):
    def __init__(self):
        self.proto = None
        self.failed = defer.Deferred()

    def buildProtocol(self, addr):
        self.proto = Collector()
        return self.proto

    def clientConnectionFailed(self, connector, reason):
        if not self.failed.called:
            self.failed.callback(reason)

    def clientConnectionLost(self, connector, reason):
        pass


def load_options(argv):
    """--cert/--key/--ca/--other-ca from argv; returns (opts, rest)."""
    opts = {}
    rest = []
    it = iter(argv)
    for a in it:
        if a in ("--cert", "--key", "--ca", "--other-ca"):
            opts[a[2:]] = next(it)
        else:
            rest.append(a)
    return opts, rest


def private_cert(opts):
    if "cert" not in opts:
        return None
    with open(opts["cert"], "rb") as c, open(opts["key"], "rb") as k:
        return ssl.PrivateCertificate.loadPEM(c.read() + k.read())


def authority(path):
    with open(path, "rb") as f:
        return ssl.Certificate.loadPEM(f.read())


class Peer(amp.AMP):
    cert = None
    ca = None

    def __init__(self, opts=None):
        super().__init__()
        self.opts = opts or {}
        self.slow = []
        self.closed = defer.Deferred()

    @Switch.responder
    def switch(self):
        return Echo()

    @Greet.responder
    def greet(self):
        return Greeter()

    @Refuse.responder
    def refuse(self):
        raise SwitchRefused("not today")

    @Hang.responder
    def hang(self):
        self.transport.loseConnection()
        return defer.Deferred()

    @Sum.responder
    def sum(self, a, b):
        return {"total": a + b}

    @Slow.responder
    def slow_(self, n):
        d = defer.Deferred()
        self.slow.append((n, d))
        return d

    @Release.responder
    def release(self):
        slow, self.slow = self.slow, []
        for n, d in slow:
            d.callback({"n": n})
        return {}

    @PeerCert.responder
    def peer_cert(self):
        t = self.transport
        if not ISSLTransport.providedBy(t):
            return {"der": b"", "tls": False}
        x509 = t.getPeerCertificate()
        der = b"" if x509 is None else crypto.dump_certificate(crypto.FILETYPE_ASN1, x509)
        return {"der": der, "tls": True}

    @amp.StartTLS.responder
    def start_tls(self):
        out = {}
        cert = private_cert(self.opts)
        if cert is not None:
            out["tls_localCertificate"] = cert
        if "ca" in self.opts:
            out["tls_verifyAuthorities"] = [authority(self.opts["ca"])]
        return out

    def connectionLost(self, reason):
        super().connectionLost(reason)
        if not self.closed.called:
            self.closed.callback(None)


def serve(opts):
    f = protocol.Factory()
    f.buildProtocol = lambda addr: Peer(opts)
    harness.serve_tcp(f)


# ---------------------------------------------------------------------------
# client: Twisted calls the Rust side
# ---------------------------------------------------------------------------


async def expect_error(d):
    try:
        await timed(d)
    except Exception as e:
        return e
    return None


async def sc_switch(c, p, opts):
    f = CollectorFactory()
    r = await timed(p.callRemote(Switch, _protoToSwitchToFactory=f))
    c.eq("switch.answer", r, {})
    f.proto.transport.write(b"hello, echo")
    data = await timed(f.proto.until(11))
    c.eq("switch.echo", data, b"hello, echo")
    try:
        p.callRemote(Sum, a=1, b=2)
        c.ok("switch.locked_after", False, "callRemote after the switch did not raise")
    except amp.ProtocolSwitched:
        c.ok("switch.locked_after", True)


async def sc_pipelined(c, p, opts):
    # The switch request and the new protocol's first bytes in one write:
    # Rust must hand those bytes to the new protocol, not parse them as AMP.
    f = CollectorFactory()
    d = p.callRemote(Switch, _protoToSwitchToFactory=f)
    p.transport.write(b"\x00\x05early bytes after the request")
    await timed(d)
    want = b"\x00\x05early bytes after the request"
    data = await timed(f.proto.until(len(want)))
    c.eq("pipelined.echo", data, want)


async def sc_greet(c, p, opts):
    # Rust writes the answer and the new protocol's greeting together.
    f = CollectorFactory()
    await timed(p.callRemote(Greet, _protoToSwitchToFactory=f))
    data = await timed(f.proto.until(9))
    c.eq("greet.first_bytes", data[:9], b"greeting\n")


async def sc_refused(c, p, opts):
    f = CollectorFactory()
    e = await expect_error(p.callRemote(Refuse, _protoToSwitchToFactory=f))
    c.ok("refused.error", isinstance(e, SwitchRefused), repr(e))
    c.ok("refused.factory_told", f.failed.called)
    r = await timed(p.callRemote(Sum, a=20, b=22))
    c.eq("refused.amp_goes_on", r, {"total": 42})


async def sc_hang(c, p, opts):
    # The Rust responder closes the connection instead of answering.
    f = CollectorFactory()
    e = await expect_error(p.callRemote(Hang, _protoToSwitchToFactory=f))
    c.ok("hang.call_fails", e is not None, repr(e))
    c.ok("hang.factory_told", f.failed.called)
    await timed(p.closed)
    c.ok("hang.closed", True)


async def sc_locked(c, p, opts):
    f = CollectorFactory()
    d = p.callRemote(Switch, _protoToSwitchToFactory=f)
    try:
        p.callRemote(Sum, a=1, b=1)
        c.ok("locked.send_fails", False, "no ProtocolSwitched")
    except amp.ProtocolSwitched:
        c.ok("locked.send_fails", True)
    await timed(d)
    f.proto.transport.write(b"x")
    c.eq("locked.switch_still_works", await timed(f.proto.until(1)), b"x")


async def sc_outstanding(c, p, opts):
    # A call made before the switch whose answer never comes: Rust fails
    # it (its side) -- here, the Python call made before the switch gets
    # its answer first because Rust answers before switching.
    r = await timed(p.callRemote(Sum, a=2, b=3))
    c.eq("outstanding.before", r, {"total": 5})
    f = CollectorFactory()
    await timed(p.callRemote(Switch, _protoToSwitchToFactory=f))
    f.proto.transport.write(b"after")
    c.eq("outstanding.switched", await timed(f.proto.until(5)), b"after")


def client_tls_kwargs(opts, ca_key="ca"):
    kw = {}
    cert = private_cert(opts)
    if cert is not None:
        kw["tls_localCertificate"] = cert
    if ca_key in opts:
        kw["tls_verifyAuthorities"] = [authority(opts[ca_key])]
    return kw


async def sc_starttls(c, p, opts):
    await timed(p.callRemote(amp.StartTLS, **client_tls_kwargs(opts)))
    c.ok("starttls.tls_transport", ISSLTransport.providedBy(p.transport))
    r = await timed(p.callRemote(Sum, a=40, b=2))
    c.eq("starttls.call_over_tls", r, {"total": 42})
    peer = p.transport.getPeerCertificate()
    c.ok("starttls.server_cert_seen", peer is not None)
    r = await timed(p.callRemote(PeerCert))
    want = b""
    cert = private_cert(opts)
    if cert is not None:
        want = crypto.dump_certificate(crypto.FILETYPE_ASN1, cert.original)
    c.eq("starttls.rust_sees_our_cert", r["der"], want)
    c.eq("starttls.rust_reports_tls", r["tls"], True)


async def sc_starttls_fails(c, p, opts):
    # Verification fails (wrong CA, or no client cert where one is required):
    # the connection ends; the call after StartTLS never succeeds.
    try:
        await timed(p.callRemote(amp.StartTLS, **client_tls_kwargs(opts, "other-ca")))
        d = p.callRemote(Sum, a=1, b=1)
        e = await expect_error(d)
        c.ok("starttls_fails.call_fails", e is not None, repr(e))
    except Exception as e:
        c.ok("starttls_fails.call_fails", True, repr(e))
    await timed(p.closed)
    c.ok("starttls_fails.closed", True)


async def sc_starttls_twice(c, p, opts):
    await timed(p.callRemote(amp.StartTLS, **client_tls_kwargs(opts)))
    # A call over TLS first: Twisted's OnlyOneTLS message reads the peer
    # certificate, which exists only once the handshake is done.
    r = await timed(p.callRemote(Sum, a=1, b=1))
    c.eq("twice.call_over_tls", r, {"total": 2})
    try:
        p.callRemote(amp.StartTLS, **client_tls_kwargs(opts))
        c.ok("twice.only_one_tls", False, "no OnlyOneTLS")
    except amp.OnlyOneTLS:
        c.ok("twice.only_one_tls", True)


async def sc_starttls_queued(c, p, opts):
    d = p.callRemote(amp.StartTLS, **client_tls_kwargs(opts))
    calls = [p.callRemote(Sum, a=i, b=1000) for i in range(50)]
    await timed(d)
    results = await timed(defer.gatherResults(calls))
    c.eq("queued.all_delivered", [r["total"] for r in results], [i + 1000 for i in range(50)])
    r = await timed(p.callRemote(PeerCert))
    c.eq("queued.rust_reports_tls", r["tls"], True)


async def sc_tls_then_switch(c, p, opts):
    await timed(p.callRemote(amp.StartTLS, **client_tls_kwargs(opts)))
    f = CollectorFactory()
    await timed(p.callRemote(Switch, _protoToSwitchToFactory=f))
    c.ok("tls_switch.still_tls", ISSLTransport.providedBy(f.proto.transport))
    f.proto.transport.write(b"secret bytes")
    c.eq("tls_switch.echo", await timed(f.proto.until(12)), b"secret bytes")


SCENARIOS = {
    "switch": sc_switch,
    "pipelined": sc_pipelined,
    "greet": sc_greet,
    "refused": sc_refused,
    "hang": sc_hang,
    "locked": sc_locked,
    "outstanding": sc_outstanding,
    "starttls": sc_starttls,
    "starttls_fails": sc_starttls_fails,
    "starttls_twice": sc_starttls_twice,
    "starttls_queued": sc_starttls_queued,
    "tls_then_switch": sc_tls_then_switch,
}


async def run_client(port, opts, names):
    c = Checker()
    for name in names:
        if name not in SCENARIOS:
            c.ok("scenario." + name, False, "no such scenario")
            continue
        print("# scenario %s" % name, flush=True)
        try:
            p = await timed(connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), Peer(opts)))
        except Exception as e:
            c.ok("scenario.%s.connect" % name, False, repr(e))
            continue
        try:
            await SCENARIOS[name](c, p, opts)
        except Exception:
            c.ok("scenario.%s" % name, False, "raised:\n" + traceback.format_exc())
        if p.transport is not None:
            p.transport.loseConnection()
    c.summary()


def main(argv):
    harness.log_to_stderr()
    opts, rest = load_options(argv[1:])
    if rest and rest[0] == "serve":
        serve(opts)
    elif len(rest) >= 3 and rest[0] == "client":
        port = int(rest[1])
        task.react(lambda _r: defer.Deferred.fromCoroutine(run_client(port, opts, rest[2:])))
    else:
        print(__doc__, file=sys.stderr)
        raise SystemExit(2)


if __name__ == "__main__":
    main(sys.argv)
