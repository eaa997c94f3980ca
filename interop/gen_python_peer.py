#!/usr/bin/env python
"""Twisted using a module written by ``amp schema gen python``.

    gen_python_peer.py serve DIR MODULE       serve Sum and Divide; prints PORT <n>
    gen_python_peer.py call DIR MODULE PORT   call 127.0.0.1:PORT; prints results
    gen_python_peer.py check DIR MODULE       the helper classes' wire form

DIR is put first on ``sys.path`` and MODULE imported from it: the generated
module for the demo schema (``serve``, ``call``: its ``Sum``, ``Divide``,
``SumArguments``...) or for a schema using ``BigString``, ``BigUnicode`` and
``Raw`` (``check``). ``call`` and ``check`` print one ``name: value`` line
per result, then ``done``; the test compares them.
"""

import importlib
import sys

from twisted.internet import reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Factory
from twisted.protocols import amp

import harness
from harness import timed


def load(folder, name):
    sys.path.insert(0, folder)
    return importlib.import_module(name)


def serve(gen):
    class Demo(amp.AMP):
        @gen.Sum.responder
        def sum(self, a, b):
            answer: gen.SumResponse = {"total": a + b}
            return answer

        @gen.Divide.responder
        def divide(self, numerator, denominator):
            answer: gen.DivideResponse = {"result": numerator / denominator}
            return answer

    harness.serve_tcp(Factory.forProtocol(Demo))


async def calls(gen, port):
    proto = await timed(connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), amp.AMP()))
    args: gen.SumArguments = {"a": 13, "b": 81}
    answer = await timed(proto.callRemote(gen.Sum, **args))
    print("sum: %r" % (answer,))
    answer = await timed(proto.callRemote(gen.Sum, a=2**100, b=-1))
    print("big sum: %r" % (answer,))
    answer = await timed(proto.callRemote(gen.Divide, numerator=1, denominator=4))
    print("divide: %r" % (answer,))
    try:
        await timed(proto.callRemote(gen.Divide, numerator=1, denominator=0))
        print("divide by zero: no error")
    except ZeroDivisionError as e:
        print("divide by zero: %s %r" % (type(e).__name__, str(e)))
    try:
        await timed(proto.callRemote(gen.Sum, a=2**127, b=2**127))
        print("overflow: no error")
    except amp.RemoteAmpError as e:
        print("overflow: %s %s" % (type(e).__name__, e.errorCode.decode()))
    proto.transport.loseConnection()


def call(gen, port):
    def run():
        d = timed(calls(gen, port))
        d.addErrback(lambda f: print("failed: %s" % (f.getTraceback(),)))
        d.addBoth(lambda _: (print("done", flush=True), reactor.stop()))

    reactor.callWhenRunning(run)
    reactor.run()


def check(gen):
    """Encode and decode with the generated argument classes, no network."""
    size = amp.MAX_VALUE_LENGTH
    data = bytes(range(256)) * ((2 * size + 10) // 256 + 1)
    data = data[: 2 * size + 10]
    cmd = gen.Chunked
    box = cmd.makeArguments({"data": data, "text": "é" * size, "raw": b"\x00raw", "maybe": None}, None)
    print("keys: %s" % " ".join(sorted(k.decode() for k in box)))
    print("chunk sizes: %s" % " ".join(str(len(box[k])) for k in (b"data", b"data.2", b"data.3")))
    print("text chunks: %d" % sum(1 for k in box if k.startswith(b"text")))
    back = cmd.parseArguments(box, None)
    print("data back: %s" % (back["data"] == data))
    print("text back: %s" % (back["text"] == "é" * size))
    print("raw back: %s %r" % (type(back["raw"]).__name__, bytes(back["raw"])))
    print("maybe back: %r" % (back["maybe"],))
    exact = cmd.makeArguments({"data": b"x" * size, "text": "", "raw": b"", "maybe": b"m"}, None)
    print("exact keys: %s" % " ".join(sorted(k.decode() for k in exact)))
    try:
        cmd.makeArguments({"data": "text", "text": "", "raw": b""}, None)
        print("str as BigString: accepted")
    except TypeError:
        print("str as BigString: TypeError")
    try:
        cmd.makeArguments({"data": b"", "text": "", "raw": 5}, None)
        print("int as Raw: accepted")
    except TypeError:
        print("int as Raw: TypeError")
    print("done")


def main():
    mode, folder, name = sys.argv[1:4]
    gen = load(folder, name)
    harness.log_to_stderr()
    if mode == "serve":
        serve(gen)
    elif mode == "call":
        call(gen, int(sys.argv[4]))
    elif mode == "check":
        check(gen)
    else:
        raise SystemExit("unknown mode %r" % (mode,))


if __name__ == "__main__":
    main()
