#!/usr/bin/env python
"""A Twisted AMP peer for amp-rs's descriptor-passing tests (``amp.Descriptor``
over a UNIX socket: the descriptor travels as SCM_RIGHTS beside the box).

Modes:

``fd_peer.py serve <socket path>``
    Listen on the UNIX socket; print ``READY`` once listening; serve until
    stdin closes.

``fd_peer.py client <socket path>``
    Connect to the Rust side's UNIX socket and run the checks (Twisted sends
    descriptors to Rust and receives descriptors from it); print
    ``PASS name`` / ``FAIL name: why`` and ``N passed, M failed``; exit 0
    only if everything passed.

Commands (both sides):

``WriteInto(fd: Descriptor, text: String) -> (written: Integer)``
    Write ``text`` into the received descriptor, then close it.
``ReadFrom(fd: Descriptor) -> (text: String)``
    Read the received descriptor to its end.
``MakePipe(text: String) -> (fd: Descriptor)``
    Make a pipe, write ``text`` into it, close the write end and send the
    read end back.
``Two(first: Descriptor, second: Descriptor) -> (first: String, second: String)``
    Read both (ordinals in one box).
"""

import os
import sys
import traceback

from twisted.internet import defer, protocol, reactor, task
from twisted.internet.endpoints import UNIXClientEndpoint, connectProtocol
from twisted.protocols import amp

import harness
from harness import Checker, stop_when_stdin_closes, timed


class WriteInto(amp.Command):
    arguments = [(b"fd", amp.Descriptor()), (b"text", amp.String())]
    response = [(b"written", amp.Integer())]


class ReadFrom(amp.Command):
    arguments = [(b"fd", amp.Descriptor())]
    response = [(b"text", amp.String())]


class MakePipe(amp.Command):
    arguments = [(b"text", amp.String())]
    response = [(b"fd", amp.Descriptor())]


class Two(amp.Command):
    arguments = [(b"first", amp.Descriptor()), (b"second", amp.Descriptor())]
    response = [(b"first", amp.String()), (b"second", amp.String())]


def read_all(fd):
    chunks = []
    while True:
        b = os.read(fd, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(fd)
    return b"".join(chunks)


class Peer(amp.AMP):
    def __init__(self):
        super().__init__()
        self.to_close = []

    @WriteInto.responder
    def write_into(self, fd, text):
        n = os.write(fd, text)
        os.close(fd)
        return {"written": n}

    @ReadFrom.responder
    def read_from(self, fd):
        return {"text": read_all(fd)}

    @MakePipe.responder
    def make_pipe(self, text):
        r, w = os.pipe()
        os.write(w, text)
        os.close(w)
        # Twisted sends the descriptor when it next writes: keep it open
        # until the connection ends.
        self.to_close.append(r)
        return {"fd": r}

    @Two.responder
    def two(self, first, second):
        return {"first": read_all(first), "second": read_all(second)}

    def connectionLost(self, reason):
        super().connectionLost(reason)
        for fd in self.to_close:
            os.close(fd)
        self.to_close = []


def serve(path):
    reactor.listenUNIX(path, protocol.Factory.forProtocol(Peer))
    stop_when_stdin_closes()
    print("READY", flush=True)
    reactor.run()


async def checks(c, p):
    # Twisted -> Rust: a pipe's write end; Rust writes into it.
    r, w = os.pipe()
    res = await timed(p.callRemote(WriteInto, fd=w, text=b"written by Rust"))
    os.close(w)
    c.eq("write_into.count", res["written"], 15)
    c.eq("write_into.data", read_all(r), b"written by Rust")

    # Twisted -> Rust: a pipe's read end; Rust reads it.
    r, w = os.pipe()
    os.write(w, b"read by Rust")
    os.close(w)
    res = await timed(p.callRemote(ReadFrom, fd=r))
    os.close(r)
    c.eq("read_from.text", res["text"], b"read by Rust")

    # Rust -> Twisted: the descriptor comes back in the answer.
    res = await timed(p.callRemote(MakePipe, text=b"a pipe made by Rust"))
    c.eq("make_pipe.text", read_all(res["fd"]), b"a pipe made by Rust")

    # Two descriptors in one box, several boxes in a row (ordinals go on).
    for i in range(5):
        r1, w1 = os.pipe()
        r2, w2 = os.pipe()
        os.write(w1, b"first %d" % i)
        os.write(w2, b"second %d" % i)
        os.close(w1)
        os.close(w2)
        res = await timed(p.callRemote(Two, first=r1, second=r2))
        os.close(r1)
        os.close(r2)
        c.eq("two.%d" % i, (res["first"], res["second"]), (b"first %d" % i, b"second %d" % i))

    # Many calls at once: each descriptor matches its own box.
    pipes = []
    calls = []
    for i in range(40):
        r, w = os.pipe()
        os.write(w, b"pipe %d" % i)
        os.close(w)
        pipes.append(r)
        calls.append(p.callRemote(ReadFrom, fd=r))
    results = await timed(defer.gatherResults(calls))
    for r in pipes:
        os.close(r)
    c.eq("concurrent", [x["text"] for x in results], [b"pipe %d" % i for i in range(40)])


async def run_client(path):
    c = Checker()
    try:
        p = await timed(connectProtocol(UNIXClientEndpoint(reactor, path), Peer()))
        await checks(c, p)
        p.transport.loseConnection()
    except Exception:
        c.fail("raised", traceback.format_exc())
    c.summary()


def main(argv):
    harness.log_to_stderr()
    if len(argv) == 3 and argv[1] == "serve":
        serve(argv[2])
    elif len(argv) == 3 and argv[1] == "client":
        task.react(lambda _r: defer.Deferred.fromCoroutine(run_client(argv[2])))
    else:
        print(__doc__, file=sys.stderr)
        raise SystemExit(2)


if __name__ == "__main__":
    main(sys.argv)
