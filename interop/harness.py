"""Pieces every Twisted peer script of the interop tests shares."""

import sys

from twisted.internet import defer, reactor, stdio
from twisted.logger import globalLogBeginner, textFileLogObserver
from twisted.protocols.basic import LineReceiver


class _StdinWatcher(LineReceiver):
    """Stops the reactor when stdin closes (the test harness holds it open
    for as long as it wants the peer to run)."""

    delimiter = b"\n"

    def lineReceived(self, line):
        pass

    def connectionLost(self, reason):
        if reactor.running:
            reactor.stop()


def stop_when_stdin_closes():
    stdio.StandardIO(_StdinWatcher())


def serve_tcp(factory):
    """Listen on 127.0.0.1, port 0; print ``PORT <n>`` (flushed) once
    listening; serve until stdin closes."""
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    stop_when_stdin_closes()
    print("PORT %d" % (port.getHost().port,), flush=True)
    reactor.run()


def log_to_stderr():
    globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stderr)], redirectStandardIO=False)


def timed(d, seconds=20):
    """A Deferred (or coroutine) that fails instead of hanging."""
    if not isinstance(d, defer.Deferred):
        d = defer.ensureDeferred(d)
    return d.addTimeout(seconds, reactor)


class Checker:
    """Prints ``PASS name`` / ``FAIL name: why`` lines and counts them."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, name, cond, detail=""):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
        word = "PASS" if cond else "FAIL"
        print("%s %s%s" % (word, name, (": " + detail) if detail else ""), flush=True)
        return cond

    def eq(self, name, got, want):
        return self.ok(name, got == want, "got %r, want %r" % (got, want))

    def fail(self, name, why):
        return self.ok(name, False, why)

    def summary(self):
        """Print the final line; exit 0 only if something passed and nothing failed."""
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        raise SystemExit(0 if self.failed == 0 and self.passed > 0 else 1)
