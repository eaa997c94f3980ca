"""A Twisted AMP client for load tests: the counterpart of
``math_client --bench``.

Usage (under interop/.venv/bin/python):

    bench_client.py [HOST:PORT] [--calls N] [--depth D] [--tls]

Makes N ``Sum(a=i, b=1)`` calls over one connection, keeping D in flight,
checks every answer, and prints one line ending in ``calls/s``, in the same
format as math_client::

    N calls, depth D, S s: R calls/s

With ``--tls`` it first calls ``amp.StartTLS`` with no arguments (an
anonymous client that does not verify the server's certificate, as
``math_client --tls``), then makes one ``Sum`` call so the handshake is
done before the clock starts; it prints the negotiated protocol and cipher
on a line of its own, and the result line says ``over TLS``::

    tls: TLSv1.3 TLS_AES_256_GCM_SHA384
    N calls over TLS, depth D, S s: R calls/s

Exits with status 1 if a call fails or an answer is wrong.
"""

import sys
import time

from twisted.internet import reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.protocols import amp


class Sum(amp.Command):
    arguments = [(b"a", amp.Integer()), (b"b", amp.Integer())]
    response = [(b"total", amp.Integer())]


def parse_args(argv):
    addr, calls, depth, tls = "127.0.0.1:1234", 100_000, 1, False
    it = iter(argv)
    for a in it:
        if a == "--calls":
            calls = max(1, int(next(it)))
        elif a == "--depth":
            depth = max(1, int(next(it)))
        elif a == "--tls":
            tls = True
        elif not a.startswith("-"):
            addr = a
        else:
            sys.exit(f"usage: bench_client.py [HOST:PORT] [--calls N] [--depth D] [--tls] (got {a})")
    host, _, port = addr.rpartition(":")
    return host, int(port), calls, depth, tls


def main():
    host, port, calls, depth, tls = parse_args(sys.argv[1:])
    state = {"sent": 0, "done": 0, "start": 0.0, "failed": None}

    def finish(failure=None):
        if failure is not None and state["failed"] is None:
            state["failed"] = failure
        if reactor.running:
            reactor.stop()

    def connected(proto):
        proto.transport.setTcpNoDelay(True)
        if not tls:
            return run(proto)
        # StartTLS, then one call over TLS: the handshake is then complete
        # both ways before timing starts.
        d = proto.callRemote(amp.StartTLS)
        d.addCallback(lambda _: proto.callRemote(Sum, a=-1, b=1))
        d.addCallback(secured, proto)
        d.addErrback(finish)

    def secured(result, proto):
        if result["total"] != 0:
            finish(f"wrong answer for the first call over TLS: {result}")
            return
        ssl = proto.transport.getHandle()
        state["tls"] = (
            ssl.get_protocol_version_name(),
            ssl.get_cipher_name(),
        )
        run(proto)

    def run(proto):
        state["start"] = time.perf_counter()

        def send_one():
            a = state["sent"]
            state["sent"] += 1
            d = proto.callRemote(Sum, a=a, b=1)
            d.addCallbacks(answered, finish, callbackArgs=(a,))

        def answered(result, a):
            if result["total"] != a + 1:
                finish(f"wrong answer for {a}: {result}")
                return
            state["done"] += 1
            if state["done"] == calls:
                state["elapsed"] = time.perf_counter() - state["start"]
                finish()
            elif state["sent"] < calls:
                send_one()

        for _ in range(min(depth, calls)):
            send_one()

    d = connectProtocol(TCP4ClientEndpoint(reactor, host, port), amp.AMP())
    d.addCallbacks(connected, finish)
    reactor.run()
    if state["failed"] is not None:
        print(f"call failed: {state['failed']}", file=sys.stderr)
        sys.exit(1)
    secs = state["elapsed"]
    over = ""
    if tls:
        print("tls: %s %s" % state["tls"])
        over = " over TLS"
    print(f"{calls} calls{over}, depth {depth}, {secs:.3f} s: {calls / secs:.0f} calls/s")


if __name__ == "__main__":
    main()
