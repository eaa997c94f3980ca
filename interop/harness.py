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


def run_checks(check, *args):
    """Run ``await check(checker, *args)`` under the reactor, report an
    exception it raises as a failure, then print the summary and exit (0
    only if everything passed)."""
    c = Checker()

    async def main():
        try:
            await check(c, *args)
        except Exception as e:  # noqa: BLE001 - reported, not hidden
            import traceback

            traceback.print_exc()
            c.fail("client", repr(e))
        finally:
            reactor.stop()

    reactor.callWhenRunning(lambda: defer.ensureDeferred(main()))
    reactor.run()
    c.summary()


def serve_or_check(doc, serve, check):
    """The command line of a peer script with two modes: ``serve`` runs
    ``serve()``; ``client <port>`` runs the checks ``check`` against the
    Rust server on that port (see ``run_checks``); anything else prints
    ``doc`` and exits."""
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "serve":
        serve()
    elif mode == "client" and len(sys.argv) > 2:
        run_checks(check, int(sys.argv[2]))
    else:
        sys.exit(doc)
