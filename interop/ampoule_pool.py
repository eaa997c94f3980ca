"""Drive a Python ``ampoule`` process pool whose children are a Rust worker.

    python ampoule_pool.py WORKER_EXE     # children run WORKER_EXE
    python ampoule_pool.py --python-child # baseline: ampoule's own AMPChild

ampoule (pinned ampoule==24.10.0) normally starts each child as
``python -c BOOTSTRAP`` with ``childFDs={0: "w", 1: "r", 2: "r", 3: "w", 4: "r"}``:
the child reads AMP from fd 3 and writes AMP to fd 4; its stdout and stderr
are logged by the pool. ``ExecutableStarter`` below is a ``ProcessStarter``
that keeps all of that (the connector, the fds, the pool's bookkeeping) and
only replaces the Python command line with WORKER_EXE, passed to the pool
through its supported ``starter=`` parameter.

Scenarios, each on fresh workers: a pool spreading concurrent ``Ping`` and
``Echo`` calls over several workers; one worker driven directly (concurrent
calls on one connection, an unknown command, ``Shutdown``, the pipes closed
under it); ampoule's ``recycleAfter`` (workers stopped with ``Shutdown``
after N calls and replaced); a per-call ``_timeout`` (the pool SIGKILLs the
worker running the late call and starts another); ``maxIdle`` (idle workers
above ``min`` are shut down). ``Sleep`` is not an ampoule command: it is the
user command the Rust example worker adds, used here for the timeout
scenario. Pools get ``timeout=STEP_TIMEOUT``, so a worker that never answers
is killed and its call fails instead of hanging the run.

Output: one JSON object per line on stdout, ``{"check": NAME, "ok": BOOL,
...}`` per check, ``{"skip": NAME, "why": ...}`` for checks that cannot run
with ampoule's own child, then ``{"summary": ..., "ok": BOOL}``. The exit
status is non-zero if any check failed. The pool's log goes to stderr.
"""

import json
import os
import random
import sys

from twisted.internet import defer, error, reactor, task
from twisted.logger import LogLevel, globalLogBeginner, textFileLogObserver
from twisted.protocols import amp

from ampoule import commands, main, pool
from ampoule.child import AMPChild

# A step that takes longer than this fails the run instead of hanging it.
STEP_TIMEOUT = 30


class Sleep(amp.Command):
    """The Rust example worker's own command (not ampoule's)."""

    arguments = [(b"milliseconds", amp.Integer())]
    response = []


class Worker(main.AMPConnector):
    """ampoule's connector to one child, recording what became of it."""

    def __init__(self, proto, name=None):
        super().__init__(proto, name)
        self.pid = None
        self.status = None  # ProcessDone or ProcessTerminated, once ended
        self.output = []  # lines the child wrote on its stdout/stderr
        self._waiting = []

    def connectionMade(self):
        self.pid = self.transport.pid
        super().connectionMade()

    def errReceived(self, data):
        self.output.extend(data.strip().splitlines())
        super().errReceived(data)

    def processEnded(self, status):
        self.status = status.value
        # The pool reacts first (prunes the child, maybe starts another).
        super().processEnded(status)
        for d in self._waiting:
            d.callback(self)
        self._waiting = []

    def when_ended(self):
        """A Deferred that fires once the process has ended."""
        if self.status is not None:
            return defer.succeed(self)
        d = defer.Deferred()
        self._waiting.append(d)
        return d

    def exit_code(self):
        return getattr(self.status, "exitCode", None)

    def describe(self):
        return {
            "pid": self.pid,
            "exit_code": self.exit_code(),
            "signal": getattr(self.status, "signal", None),
        }


class Recording:
    """Starter mixin: make every connector a ``Worker`` and keep them all."""

    def _record_workers(self):
        self.workers = []
        self.connectorFactory = self._connector

    def _connector(self, proto):
        w = Worker(proto)
        self.workers.append(w)
        return w


class ExecutableStarter(Recording, main.ProcessStarter):
    """Start ``executable`` as the child, with ampoule's fds and connector."""

    def __init__(self, executable, **kwargs):
        super().__init__(**kwargs)
        self.executable = executable
        self._record_workers()

    def startPythonProcess(self, prot, *args):
        # ``args`` ends with the child reactor's name and the AMPChild class
        # path, which only ampoule's Python bootstrap needs; what precedes
        # them (the pool's ampChildArgs) is passed on to the executable.
        argv = [self.executable, *self.args, *args[:-2]]
        env = dict(os.environ, **self.env)
        reactor.spawnProcess(
            prot,
            self.executable,
            argv,
            env=env,
            path=self.path,
            uid=self.uid,
            gid=self.gid,
            usePTY=self.usePTY,
            childFDs={0: "w", 1: "r", 2: "r", main.TO_CHILD: "w", main.FROM_CHILD: "r"},
        )
        return prot.amp, prot.finished


class PythonStarter(Recording, main.ProcessStarter):
    """ampoule's own starter (Python child), recording its workers."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._record_workers()


class Run:
    def __init__(self, executable):
        self.executable = executable
        self.rust = executable is not None
        self.results = []
        self.starters = []

    def starter(self):
        if self.rust:
            s = ExecutableStarter(self.executable)
        else:
            s = PythonStarter(packages=("twisted",))
        self.starters.append(s)
        return s

    def emit(self, obj):
        sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
        sys.stdout.flush()

    def check(self, name, ok, **details):
        ok = bool(ok)
        self.results.append((name, ok))
        self.emit(dict(details, check=name, ok=ok))
        return ok

    def skip(self, name, why):
        self.emit({"skip": name, "why": why})

    def ended(self, workers):
        """Wait (bounded) until every worker in ``workers`` has ended."""
        d = defer.gatherResults([w.when_ended() for w in workers])
        return d.addTimeout(STEP_TIMEOUT, reactor)


def payloads():
    """Binary-ish data of many sizes, up to AMP's 65535-byte value limit."""
    rnd = random.Random(4)
    fixed = [
        b"",
        b"\x00",
        bytes(range(256)),
        b"\r\n" * 1000,
        b"\x00\x00\xff\xff" * 4096,
        b"\xff" * 65535,
        rnd.randbytes(65535),
        rnd.randbytes(30000),
    ]
    return fixed + [rnd.randbytes(rnd.randrange(0, 4096)) for _ in range(192)]


def new_pool(starter, **kwargs):
    """A pool of ``starter``'s workers; no recycling, no idle pruning, and
    calls time out after STEP_TIMEOUT, unless ``kwargs`` say otherwise."""
    options = dict(maxIdle=3600, recycleAfter=0, timeout=STEP_TIMEOUT)
    options.update(kwargs)
    return pool.ProcessPool(starter=starter, **options)


@defer.inlineCallbacks
def stop_and_check(run, name, pp, starter, killed=()):
    """``pool.stop()`` (Shutdown to every worker), then check that every
    worker the pool ever started exited with status 0 (but ``killed``)."""
    yield pp.stop().addTimeout(STEP_TIMEOUT, reactor)
    yield run.ended(starter.workers)
    run.check(
        name,
        not pp.processes and all(w.exit_code() == 0 for w in starter.workers if w not in killed),
        workers=[w.describe() for w in starter.workers],
    )


@defer.inlineCallbacks
def scenario_pool(run):
    """Concurrent Ping and Echo calls spread over several workers."""
    starter = run.starter()
    pp = new_pool(starter, min=2, max=4)
    yield pp.start()
    n = len(pp.processes)
    run.check("pool.start", n == 2 == len(starter.workers), workers=n)

    if run.rust:
        answers = yield defer.gatherResults([pp.doWork(commands.Ping) for _ in range(8)])
        run.check(
            "pool.ping",
            all(a == {"response": b"pong"} for a in answers),
            answers=len(answers),
        )
    else:
        run.skip("pool.ping", "ampoule 24.10.0's AMPChild answers Ping with the str 'pong', "
                 "which Twisted refuses to serialize: the child dies (exit 255)")

    data = payloads()
    answers = yield defer.gatherResults([pp.doWork(commands.Echo, data=d) for d in data])
    bad = [i for i, (d, a) in enumerate(zip(data, answers)) if a != {"response": d}]
    run.check("pool.echo", not bad, calls=len(data), bytes=sum(map(len, data)), mismatched=bad)
    # 200 calls at once: the pool grew from min=2 to max=4 workers.
    n = len(pp.processes)
    run.check("pool.grew", n == 4 == len(starter.workers), workers=n)
    yield stop_and_check(run, "pool.stop", pp, starter)


@defer.inlineCallbacks
def scenario_direct(run):
    """One worker driven directly, as ampoule's own tests do."""
    starter = run.starter()
    child, finished = starter.startAMPProcess(AMPChild)
    finished.addErrback(lambda f: None)  # the exit status is checked below
    worker = starter.workers[0]

    if run.rust:
        answer = yield child.callRemote(commands.Ping)
        run.check("direct.ping", answer == {"response": b"pong"}, answer=repr(answer))
    else:
        run.skip("direct.ping", "ampoule's AMPChild cannot answer Ping (see pool.ping)")

    # Many calls outstanding on the one connection at once.
    data = payloads()[:100]
    answers = yield defer.gatherResults([child.callRemote(commands.Echo, data=d) for d in data])
    run.check(
        "direct.echo_concurrent",
        all(a == {"response": d} for d, a in zip(data, answers)),
        calls=len(data),
    )

    # A command the worker does not know: UNHANDLED, and the worker stays.
    try:
        yield child.callRemoteString(b"NoSuchCommand", True)
        outcome = "answered"
    except amp.UnhandledCommand:
        outcome = "UNHANDLED"
    except Exception as e:
        outcome = repr(e)
    again = yield child.callRemote(commands.Echo, data=b"still here")
    run.check(
        "direct.unhandled",
        outcome == "UNHANDLED" and again == {"response": b"still here"},
        outcome=outcome,
    )

    # Shutdown is answered (an empty box), then the worker exits with 0.
    answer = yield child.callRemote(commands.Shutdown)
    run.check("direct.shutdown", answer == {}, answer=repr(answer))
    yield run.ended([worker])
    run.check("direct.exit", worker.exit_code() == 0, worker=worker.describe())

    # The pool closes the pipes without a Shutdown (ampoule does so when its
    # AMP connection fails): the Rust worker exits with 0, while ampoule's
    # own child takes it for an error and exits with -1 (255).
    child, finished = starter.startAMPProcess(AMPChild)
    finished.addErrback(lambda f: None)
    worker = starter.workers[1]
    answer = yield child.callRemote(commands.Echo, data=b"before closing")
    child.transport.loseConnection()
    yield run.ended([worker])
    expected = 0 if run.rust else 255
    run.check(
        "direct.closed",
        answer == {"response": b"before closing"} and worker.exit_code() == expected,
        expected_exit_code=expected,
        worker=worker.describe(),
    )


@defer.inlineCallbacks
def scenario_recycle(run):
    """recycleAfter=3: after its 3rd call a worker gets Shutdown and the pool
    starts another. 10 calls on a pool of 1: workers 1-3 serve 3 calls each
    and are recycled, worker 4 serves the 10th."""
    starter = run.starter()
    pp = new_pool(starter, min=1, max=1, recycleAfter=3)
    yield pp.start()
    data = payloads()[:10]
    answers = yield defer.gatherResults([pp.doWork(commands.Echo, data=d) for d in data])
    ok = all(a == {"response": d} for d, a in zip(data, answers))
    run.check("recycle.echo", ok, calls=len(data))
    ws = starter.workers
    recycled = ws[:-1]
    run.check(
        "recycle.recycled",
        len(ws) == 4
        and all(w.exit_code() == 0 for w in recycled)
        and ws[-1].status is None
        and len({w.pid for w in ws}) == len(ws),
        workers=[w.describe() for w in ws],
    )
    yield stop_and_check(run, "recycle.stop", pp, starter)


@defer.inlineCallbacks
def scenario_timeout(run):
    """A call over its _timeout: the pool kills that worker (SIGKILL) and
    starts another, which goes on serving."""
    if not run.rust:
        for name in ("timeout.killed", "timeout.replaced", "timeout.stop"):
            run.skip(name, "ampoule's AMPChild has no slow command")
        return
    starter = run.starter()
    pp = new_pool(starter, min=1, max=1)
    yield pp.start()
    first = starter.workers[0]
    try:
        yield pp.doWork(Sleep, milliseconds=60000, _timeout=1)
        outcome = "answered"
    except error.ProcessTerminated as e:
        outcome = "ProcessTerminated signal=%s" % (e.signal,)
    except Exception as e:
        outcome = repr(e)
    yield run.ended([first])
    run.check(
        "timeout.killed",
        outcome == "ProcessTerminated signal=9" and first.status.signal == 9,
        outcome=outcome,
        worker=first.describe(),
    )
    slept = yield pp.doWork(Sleep, milliseconds=10, _timeout=STEP_TIMEOUT)
    pong = yield pp.doWork(commands.Ping)
    run.check(
        "timeout.replaced",
        len(starter.workers) == 2 and slept == {} and pong == {"response": b"pong"},
        workers=[w.describe() for w in starter.workers],
    )
    yield stop_and_check(run, "timeout.stop", pp, starter, killed=[first])


@defer.inlineCallbacks
def scenario_idle(run):
    """maxIdle=1: once idle, the workers above min=1 get Shutdown."""
    starter = run.starter()
    pp = new_pool(starter, min=1, max=3, maxIdle=1)
    yield pp.start()
    data = [b"a", b"b", b"c"]
    answers = yield defer.gatherResults([pp.doWork(commands.Echo, data=d) for d in data])
    grown = len(starter.workers)

    # Wait until two of the three have been pruned (the pool checks every
    # maxIdle seconds).
    pruned = defer.Deferred()
    count = []

    def one_ended(w):
        count.append(w)
        if len(count) == 2:
            pruned.callback(None)

    for w in starter.workers:
        w.when_ended().addCallback(one_ended)
    yield pruned.addTimeout(STEP_TIMEOUT, reactor)
    run.check(
        "idle.pruned",
        answers == [{"response": d} for d in data]
        and grown == 3
        and len(pp.processes) == 1
        and all(w.exit_code() == 0 for w in count),
        workers=[w.describe() for w in starter.workers],
    )
    yield stop_and_check(run, "idle.stop", pp, starter)


class Failures:
    """Log observer keeping every logged failure and critical event (an
    unhandled error in a Deferred, an AMP failure dropping a connection)."""

    def __init__(self):
        self.events = []

    def __call__(self, event):
        if "log_failure" in event or event.get("log_level") == LogLevel.critical:
            self.events.append(event.get("log_format") or repr(event.get("log_failure")))


@defer.inlineCallbacks
def main_(reactor_, *argv):
    if argv == ("--python-child",):
        run = Run(None)
    elif len(argv) == 1 and not argv[0].startswith("-"):
        run = Run(os.path.abspath(argv[0]))
    else:
        sys.stderr.write(__doc__)
        raise SystemExit(2)

    failures = Failures()
    globalLogBeginner.beginLoggingTo(
        [textFileLogObserver(sys.stderr), failures], redirectStandardIO=False
    )

    scenarios = [scenario_pool, scenario_direct, scenario_recycle, scenario_timeout, scenario_idle]
    for scenario in scenarios:
        try:
            yield scenario(run)
        except Exception as e:
            run.check(scenario.__name__, False, error=repr(e))

    workers = [w for s in run.starters for w in s.workers]
    if run.rust:
        # The Rust worker writes nothing on stdout/stderr when all is well.
        output = [line.decode("utf-8", "replace") for w in workers for line in w.output]
        run.check("workers.quiet", not output, output=output[:20])
    run.check("log.clean", not failures.events, events=failures.events[:10])

    failed = [name for name, ok in run.results if not ok]
    run.emit(
        {
            "summary": {
                "child": run.executable or "ampoule.child.AMPChild",
                "checks": len(run.results),
                "failed": failed,
                "workers_started": len(workers),
            },
            "ok": not failed,
        }
    )
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    task.react(main_, sys.argv[1:])
