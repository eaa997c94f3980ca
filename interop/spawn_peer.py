#!/usr/bin/env python
"""Twisted spawns a program and talks AMP to it over the child's stdin and
stdout (``reactor.spawnProcess``), as a parent process does with a worker.

``spawn_peer.py <program> [args...]``
    Runs the program, calls ``Sum`` and ``Divide`` (Twisted's documented
    example commands) many times, concurrently, then closes the child's
    stdin and checks that it exits 0. Prints ``PASS``/``FAIL`` lines and
    ``N passed, M failed``; exits 0 only if everything passed.
"""

import sys
import traceback

from twisted.internet import defer, error, protocol, reactor, task
from twisted.protocols import amp

import harness
from harness import Checker, timed
from peer import Divide, Sum


class _ChildPipes:
    """The transport AMP sees: writes go to the child's stdin. (A process
    transport has no address, which ``AMP.makeConnection`` asks for.)"""

    def __init__(self, process):
        self.process = process

    def write(self, data):
        self.process.write(data)

    def writeSequence(self, seq):
        self.process.writeSequence(seq)

    def loseConnection(self):
        self.process.closeStdin()

    def getPeer(self):
        return ("child process",)

    def getHost(self):
        return ("parent process",)


class AMPOverProcess(protocol.ProcessProtocol):
    """Feeds the child's stdout to an AMP protocol whose transport is the
    process (``write`` goes to the child's stdin)."""

    def __init__(self, proto):
        self.proto = proto
        self.ended = defer.Deferred()
        self.stderr = b""

    def connectionMade(self):
        self.proto.makeConnection(_ChildPipes(self.transport))

    def outReceived(self, data):
        self.proto.dataReceived(data)

    def errReceived(self, data):
        self.stderr += data

    def processEnded(self, reason):
        self.proto.connectionLost(reason)
        self.ended.callback(reason.value)


async def run(argv):
    c = Checker()
    p = amp.AMP()
    pp = AMPOverProcess(p)
    reactor.spawnProcess(pp, argv[0], argv, env=None, childFDs={0: "w", 1: "r", 2: "r"})
    try:
        r = await timed(p.callRemote(Sum, a=13, b=81))
        c.eq("sum", r, {"total": 94})
        calls = [p.callRemote(Sum, a=i, b=i) for i in range(200)]
        results = await timed(defer.gatherResults(calls))
        c.eq("sum.concurrent", [x["total"] for x in results], [2 * i for i in range(200)])
        r = await timed(p.callRemote(Divide, numerator=1, denominator=4))
        c.eq("divide", r, {"result": 0.25})
        try:
            await timed(p.callRemote(Divide, numerator=1, denominator=0))
            c.fail("divide.zero", "no error")
        except ZeroDivisionError:
            c.ok("divide.zero", True)
        pp.transport.closeStdin()
        reason = await timed(pp.ended)
        c.ok("child.exit0", isinstance(reason, error.ProcessDone), repr(reason))
    except Exception:
        c.fail("raised", traceback.format_exc())
        pp.transport.signalProcess("KILL")
    if pp.stderr:
        print("# child stderr: %r" % pp.stderr[-2000:], flush=True)
    c.summary()


def main(argv):
    harness.log_to_stderr()
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        raise SystemExit(2)
    task.react(lambda _r: defer.Deferred.fromCoroutine(run(argv[1:])))


if __name__ == "__main__":
    main(sys.argv)
