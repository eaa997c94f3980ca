"""A Twisted AMP client for load tests: the counterpart of
``math_client --bench``.

Usage (under interop/.venv/bin/python):

    bench_client.py [HOST:PORT] [--calls N] [--depth D]

Makes N ``Sum(a=i, b=1)`` calls over one connection, keeping D in flight,
checks every answer, and prints one line ending in ``calls/s``, in the same
format as math_client::

    N calls, depth D, S s: R calls/s

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
    addr, calls, depth = "127.0.0.1:1234", 100_000, 1
    it = iter(argv)
    for a in it:
        if a == "--calls":
            calls = max(1, int(next(it)))
        elif a == "--depth":
            depth = max(1, int(next(it)))
        elif not a.startswith("-"):
            addr = a
        else:
            sys.exit(f"usage: bench_client.py [HOST:PORT] [--calls N] [--depth D] (got {a})")
    host, _, port = addr.rpartition(":")
    return host, int(port), calls, depth


def main():
    host, port, calls, depth = parse_args(sys.argv[1:])
    state = {"sent": 0, "done": 0, "start": 0.0, "failed": None}

    def finish(failure=None):
        if failure is not None and state["failed"] is None:
            state["failed"] = failure
        if reactor.running:
            reactor.stop()

    def connected(proto):
        proto.transport.setTcpNoDelay(True)
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
    print(f"{calls} calls, depth {depth}, {secs:.3f} s: {calls / secs:.0f} calls/s")


if __name__ == "__main__":
    main()
