#!/usr/bin/env python
"""A Twisted AMP peer for amp-rs's interoperability tests.

It defines a command set covering every Twisted argument type and AMP
feature, and answers all of them (as Twisted itself does: this is plain
``twisted.protocols.amp`` on the ordinary reactor).

Modes:

``peer.py serve``
    Listen on 127.0.0.1, port 0; print exactly one line ``PORT <n>``
    (flushed) once listening; serve until killed or until stdin closes.

``peer.py stdio``
    Serve one AMP connection over this process's stdin/stdout (a parent
    process, the Rust test, talks to it through pipes); exit when stdin
    closes.

``peer.py client <port> [scenario ...]``
    Connect to an AMP server (the Rust side) on 127.0.0.1:<port> and run a
    battery of checks, each scenario on a fresh connection. Prints one line
    per check (``PASS name`` / ``FAIL name: why``) and a final line
    ``N passed, M failed``; exits 0 only if everything passed. Without a
    scenario, runs every scenario in ``ALL``.

The same peer answers the server's calls back to it (``Bounce``, ``Sum``...)
while it runs as a client.
"""

import datetime
import decimal
import random
import struct
import sys
import traceback

from twisted.internet import defer, error, protocol, reactor, task
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.protocols import amp
from twisted.python.failure import Failure
from twisted.python.filepath import FilePath

import harness

SIDE = "python"
CALL_TIMEOUT = 20.0

# ---------------------------------------------------------------------------
# Command set (the Rust test defines the same commands with the derives).
# ---------------------------------------------------------------------------


def _echo(name, argtype):
    """``<name>(value: T) -> (value: T, repr: Unicode)``."""
    return type(
        name,
        (amp.Command,),
        {
            "arguments": [(b"value", argtype)],
            "response": [(b"value", argtype), (b"repr", amp.Unicode())],
        },
    )


EchoInteger = _echo("EchoInteger", amp.Integer())
EchoString = _echo("EchoString", amp.String())
EchoUnicode = _echo("EchoUnicode", amp.Unicode())
EchoBoolean = _echo("EchoBoolean", amp.Boolean())
EchoFloat = _echo("EchoFloat", amp.Float())
EchoDecimal = _echo("EchoDecimal", amp.Decimal())
EchoDateTime = _echo("EchoDateTime", amp.DateTime())
EchoPath = _echo("EchoPath", amp.Path())
ECHOES = [
    EchoInteger,
    EchoString,
    EchoUnicode,
    EchoBoolean,
    EchoFloat,
    EchoDecimal,
    EchoDateTime,
    EchoPath,
]

LISTS = [
    (b"ints", amp.ListOf(amp.Integer())),
    (b"texts", amp.ListOf(amp.Unicode())),
    (b"nested", amp.ListOf(amp.ListOf(amp.Integer()))),
    (b"bins", amp.ListOf(amp.String())),
    (b"floats", amp.ListOf(amp.Float())),
]


class EchoLists(amp.Command):
    arguments = LISTS
    response = LISTS + [(b"repr", amp.Unicode())]


ITEM = [(b"name", amp.Unicode()), (b"qty", amp.Integer())]
ORDER = [
    (b"id", amp.Integer()),
    (b"items", amp.AmpList(ITEM)),
    (b"note", amp.Unicode(optional=True)),
]


class EchoAmpList(amp.Command):
    arguments = [(b"orders", amp.AmpList(ORDER))]
    response = [(b"orders", amp.AmpList(ORDER)), (b"repr", amp.Unicode())]


class Options(amp.Command):
    arguments = [
        (b"required", amp.Integer()),
        (b"maybe", amp.Unicode(optional=True)),
        (b"dash-arg", amp.Integer()),
        (b"opt-list", amp.ListOf(amp.Integer(), optional=True)),
    ]
    response = [
        (b"maybe", amp.Unicode(optional=True)),
        (b"dash-arg", amp.Integer()),
        (b"opt-list", amp.ListOf(amp.Integer(), optional=True)),
        (b"repr", amp.Unicode()),
    ]


class Sum(amp.Command):
    arguments = [(b"a", amp.Integer()), (b"b", amp.Integer())]
    response = [(b"total", amp.Integer())]


class Divide(amp.Command):
    arguments = [(b"numerator", amp.Integer()), (b"denominator", amp.Integer())]
    response = [(b"result", amp.Float())]
    errors = {ZeroDivisionError: b"ZERO_DIVISION"}


class DeclaredError(Exception):
    pass


class OtherError(Exception):
    pass


class SecretError(Exception):
    """Declared here only: the Rust side's table lacks SECRET."""


class FatalError(Exception):
    pass


class Fail(amp.Command):
    """mode: ok | declared | other | secret | fatal | unknown | badreturn."""

    arguments = [(b"mode", amp.Unicode()), (b"text", amp.Unicode())]
    response = [(b"value", amp.Integer()), (b"blob", amp.String(optional=True))]
    errors = {DeclaredError: b"DECLARED", OtherError: b"OTHER", SecretError: b"SECRET"}
    fatalErrors = {FatalError: b"FATAL"}


class BaseError(Exception):
    pass


class ChildError(Exception):
    pass


class BaseFail(amp.Command):
    arguments = [(b"mode", amp.Unicode())]
    response = []
    errors = {BaseError: b"BASE"}


class ChildFail(BaseFail):
    """Inherits BaseFail's arguments and errors table, adds CHILD."""

    errors = {ChildError: b"CHILD"}


class UnknownProtocol(Exception):
    """Declared with AMP's own UNKNOWN code, as in Twisted's test_amp."""


class Choose(amp.Command):
    """name: known (answers) | crash (undeclared failure) | else UnknownProtocol."""

    arguments = [(b"name", amp.Unicode())]
    response = [(b"chosen", amp.Unicode())]
    errors = {UnknownProtocol: b"UNKNOWN"}


class Greet(amp.Command):
    arguments = [(b"name", amp.Unicode()), (b"polite", amp.Boolean(optional=True))]
    response = [(b"greeting", amp.Unicode())]


class GreetTwice(Greet):
    """Command inheritance: Greet's arguments and response, plus some (the
    Rust side flattens Greet). The added names sort around the inherited."""

    arguments = Greet.arguments + [(b"times", amp.Integer()), (b"a-first", amp.Unicode())]
    response = Greet.response + [(b"count", amp.Integer())]


def greeting(name, polite):
    return ("dear " if polite else "") + "hello " + name


class NegativeError(Exception):
    pass


class Record(amp.Command):
    """No answer wanted; the side effect is observed with Lookup."""

    arguments = [(b"key", amp.Unicode()), (b"value", amp.Integer())]
    response = []
    errors = {NegativeError: b"NEGATIVE"}
    requiresAnswer = False


class Lookup(amp.Command):
    arguments = [(b"key", amp.Unicode())]
    response = [(b"value", amp.Integer(optional=True))]


class Slow(amp.Command):
    """Answers after ``delay`` seconds; ``seq`` is the answer's rank."""

    arguments = [(b"id", amp.Integer()), (b"delay", amp.Float())]
    response = [(b"id", amp.Integer()), (b"seq", amp.Integer())]


class Bounce(amp.Command):
    """Each side calls the other back with depth-1, then appends its name."""

    arguments = [(b"depth", amp.Integer())]
    response = [(b"trace", amp.ListOf(amp.Unicode()))]


class Hangup(amp.Command):
    """The responder closes the connection and never answers."""

    arguments = []
    response = []


class NoSuchCommand(amp.Command):
    """Nobody answers this one: UNHANDLED."""

    arguments = []
    response = []


# ---------------------------------------------------------------------------
# Value descriptions: how Python saw a value, as exact text.
# ---------------------------------------------------------------------------


def describe(v):
    if v is None:
        return "None"
    if isinstance(v, bool):
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, bytes):
        return repr(v)
    if isinstance(v, str):
        return ascii(v)
    if isinstance(v, datetime.datetime):
        return v.isoformat(timespec="microseconds")
    if isinstance(v, FilePath):
        return "FilePath(%s)" % ascii(v.path)
    if isinstance(v, list):
        return "[" + ", ".join(describe(e) for e in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join("%s: %s" % (k, describe(v[k])) for k in sorted(v)) + "}"
    return "?" + repr(v)


def short(d):
    """Long descriptions become a summary, so answers still fit in 64 KiB."""
    return d if len(d) <= 4096 else "<%d chars>" % len(d)


# ---------------------------------------------------------------------------
# The peer: answers every command above.
# ---------------------------------------------------------------------------


class Peer(amp.AMP):
    store = {}  # shared by every connection of this process

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.answered = 0
        self.closed = defer.Deferred()
        self.bounces = 0

    def connectionLost(self, reason):
        super().connectionLost(reason)
        if not self.closed.called:
            self.closed.callback(reason.value)

    def echo(self, value):
        return {"value": value, "repr": short(describe(value))}

    for _c in ECHOES:
        _c.responder(echo)
    del _c

    @EchoLists.responder
    def echo_lists(self, **kw):
        out = dict(kw)
        out["repr"] = short(describe(kw))
        return out

    @EchoAmpList.responder
    def echo_amp_list(self, orders):
        return {"orders": orders, "repr": short(describe(orders))}

    @Options.responder
    def options(self, required, maybe, dash_arg, opt_list):
        return {
            "maybe": maybe,
            "dash_arg": dash_arg,
            "opt_list": opt_list,
            "repr": "required=%s maybe=%s dash-arg=%s opt-list=%s"
            % (describe(required), describe(maybe), describe(dash_arg), describe(opt_list)),
        }

    @Sum.responder
    def sum(self, a, b):
        return {"total": a + b}

    @Divide.responder
    def divide(self, numerator, denominator):
        return {"result": float(numerator) / denominator}

    @Fail.responder
    def fail(self, mode, text):
        if mode == "ok":
            return {"value": 42}
        if mode == "declared":
            raise DeclaredError(text)
        if mode == "other":
            raise OtherError(text)
        if mode == "secret":
            raise SecretError(text)
        if mode == "fatal":
            raise FatalError(text)
        if mode == "unknown":
            raise RuntimeError(text)
        if mode == "badreturn":
            # Integer cannot serialise a str: BadLocalReturn -> UNKNOWN.
            return {"value": "not an integer"}
        raise ValueError("unknown mode %r" % (mode,))

    def base_fail(self, mode):
        if mode == "base":
            raise BaseError("base failure")
        if mode == "child":
            raise ChildError("child failure")
        return {}

    BaseFail.responder(base_fail)
    ChildFail.responder(base_fail)

    @Greet.responder
    def greet(self, name, polite=None):
        return {"greeting": greeting(name, polite)}

    @GreetTwice.responder
    def greet_twice(self, name, times, a_first, polite=None):
        return {"greeting": a_first + ":" + greeting(name, polite), "count": times * 2}

    @Choose.responder
    def choose(self, name):
        if name == "known":
            return {"chosen": name}
        if name == "crash":
            raise RuntimeError("deliberate undeclared failure")
        raise UnknownProtocol(name)

    @Record.responder
    def record(self, key, value):
        if value < 0:
            raise NegativeError("negative value %d" % (value,))
        Peer.store[key] = value
        return {}

    @Lookup.responder
    def lookup(self, key):
        return {"value": Peer.store.get(key)}

    @Slow.responder
    def slow(self, id, delay):
        def answer():
            seq = self.answered
            self.answered += 1
            return {"id": id, "seq": seq}

        return task.deferLater(reactor, delay, answer)

    @Bounce.responder
    def bounce(self, depth):
        self.bounces += 1
        if depth <= 0:
            return {"trace": [SIDE]}
        d = self.callRemote(Bounce, depth=depth - 1)
        d.addCallback(lambda r: {"trace": r["trace"] + [SIDE]})
        return d

    @Hangup.responder
    def hangup(self):
        self.transport.loseConnection()
        return defer.Deferred()  # never fires

    # Raw, string-level responder (SimpleStringLocator: amp_ + NAME.upper()).
    def amp_RAWECHO(self, box):
        data = box.get(b"data", b"")
        if data == b"error":
            raise amp.RemoteAmpError(b"RAW_ERR", "raw failure")
        return amp.AmpBox(
            {
                b"echo": data,
                b"command": box[b"_command"],
                b"keys": b",".join(sorted(box.keys())),
            }
        )

    def locateResponder(self, name):
        found = super().locateResponder(name)
        if found is None and name.startswith(b"Fallback"):
            # Mirrors the Rust test router's fallback.
            return lambda box: amp.AmpBox({b"name": box[b"_command"]})
        return found


# ---------------------------------------------------------------------------
# serve
# ---------------------------------------------------------------------------


def serve():
    harness.serve_tcp(protocol.Factory.forProtocol(Peer))


class _StdioPeer(Peer):
    def connectionLost(self, reason):
        super().connectionLost(reason)
        if reactor.running:
            reactor.stop()


def serve_stdio():
    from twisted.internet import stdio

    stdio.StandardIO(_StdioPeer())
    reactor.run()


# ---------------------------------------------------------------------------
# client: the battery of checks against a Rust server
# ---------------------------------------------------------------------------


class Checker(harness.Checker):
    def eq(self, name, got, want):
        """Exact equality by description: type-aware, nan == nan, -0.0 != 0.0,
        Decimal by text."""
        g, w = describe(got), describe(want)
        if g == w:
            return self.ok(name, True, g)
        return self.ok(name, False, "got %s, want %s" % (g, w))



def timed(d, timeout=CALL_TIMEOUT):
    return d.addTimeout(timeout, reactor)


async def expect_error(c, name, d, exc_type, text=None):
    try:
        r = await timed(d)
    except exc_type as e:
        if text is not None and str(e) != text:
            return c.fail(name, "%s with text %r, want %r" % (type(e).__name__, str(e), text))
        return c.ok(name, True, "%s(%r)" % (type(e).__name__, str(e)))
    except Exception as e:
        return c.fail(name, "raised %s: %s, want %s" % (type(e).__name__, e, exc_type.__name__))
    return c.fail(name, "answered %r, want %s" % (r, exc_type.__name__))


async def expect_closed(c, name, p, timeout=CALL_TIMEOUT):
    """The connection ends, and a later call then fails at once."""
    try:
        await timed(p.closed, timeout)
    except defer.TimeoutError:
        return c.fail(name, "connection still open")
    c.ok(name + ".closed", True)
    d = p.callRemote(Sum, a=1, b=2)
    if not c.ok(name + ".later-call-fails-at-once", d.called):
        return
    try:
        await d
    except (error.ConnectionDone, error.ConnectionLost) as e:
        c.ok(name + ".later-call-connection-lost", True, type(e).__name__)
    except Exception as e:
        c.fail(name + ".later-call-connection-lost", "%s: %s" % (type(e).__name__, e))
    else:
        c.fail(name + ".later-call-connection-lost", "answered")


async def still_works(c, name, p):
    try:
        r = await timed(p.callRemote(Sum, a=2, b=3))
        c.eq(name + ".still-open", r["total"], 5)
    except Exception as e:
        c.fail(name + ".still-open", "%s: %s" % (type(e).__name__, e))


UTC = datetime.timezone.utc
IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
PST = datetime.timezone(datetime.timedelta(hours=-8))

VALUES = {
    EchoInteger: [0, 1, -1, 42, 2**63 - 1, -(2**63), 2**64, 2**100 + 7, -(2**127) - 12345],
    EchoString: [b"", b"abc", b"\x00\xff\x80\n", bytes(range(256))],
    EchoUnicode: ["", "hello", "h\xe9llo w\xf6rld", "\u65e5\u672c\u8a9e", "\U0001f600", "a\x00b"],
    EchoBoolean: [True, False],
    EchoFloat: [
        0.1,
        -0.0,
        0.0,
        1.0,
        5.0,
        1e16,
        1e-05,
        5e-324,
        1.7976931348623157e308,
        float("inf"),
        float("-inf"),
        float("nan"),
        123456789.123,
        0.30000000000000004,
    ],
    EchoDecimal: [
        decimal.Decimal(s)
        for s in [
            "1.50",
            "1E+2",
            "-0",
            "0",
            "NaN",
            "-NaN",
            "sNaN",
            "-sNaN",
            "Infinity",
            "-Infinity",
            "123456789012345678901234567890.123456789",
            "1E-7",
            "-0.000",
            "0E+3",
        ]
    ],
    EchoDateTime: [
        datetime.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        datetime.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=IST),
        datetime.datetime(1999, 12, 31, 16, 0, 0, 0, tzinfo=PST),
        datetime.datetime(1, 1, 1, 0, 0, 0, 0, tzinfo=IST),
        datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=PST),
    ],
    EchoPath: [FilePath("/"), FilePath("/tmp/amp test/\xe9t\xe9.txt")],
}

# (command, raw text sent, raw text Twisted itself answers): what the
# responder decodes and re-encodes, byte for byte. Covers the lenient inputs
# Python's int()/float()/Decimal() accept.
RAW_NORMALISED = [
    (EchoInteger, b" +1_000 ", b"1000"),
    (EchoInteger, b"-0", b"0"),
    (EchoInteger, b"007", b"7"),
    (EchoFloat, b" 1_0.5 ", b"10.5"),
    (EchoFloat, b"infinity", b"inf"),
    (EchoFloat, b"-NaN", b"nan"),
    (EchoFloat, b"1E400", b"inf"),
    (EchoFloat, b"  -0  ", b"-0.0"),
    (EchoFloat, b"1e16", b"1e+16"),
    (EchoFloat, b".5", b"0.5"),
    (EchoDecimal, b"1e2", b"1E+2"),
    (EchoDecimal, b" 1.0 ", b"1.0"),
    (EchoDecimal, b"-snan", b"-sNaN"),
    (EchoDecimal, b"inf", b"Infinity"),
    (EchoDecimal, b"0.0000001", b"1E-7"),
    (EchoDecimal, b"1_000.5", b"1000.5"),
    (EchoDateTime, b"2024-01-02T03:04:05.000006+00:00", b"2024-01-02T03:04:05.000006-00:00"),
    (EchoDateTime, b"2024-01-02T03:04:05.000006-00:00", b"2024-01-02T03:04:05.000006-00:00"),
    (EchoDateTime, b"2024/01/02 03:04:05,000006+05:30", b"2024-01-02T03:04:05.000006+05:30"),
    (EchoDateTime, b"2024- 1-+2T03:04:05.0_0006-00:30", b"2024-01-02T03:04:05.000006-00:30"),
    (EchoBoolean, b"True", b"True"),
    (EchoUnicode, b"\xf0\x9f\x98\x80", b"\xf0\x9f\x98\x80"),
]


def wire(argtype, value):
    return argtype.toString(value)


async def scenario_values(c, p):
    for cmd, values in VALUES.items():
        argtype = cmd.arguments[0][1]
        for v in values:
            name = "%s(%s)" % (cmd.commandName.decode(), describe(v))
            r = await timed(p.callRemote(cmd, value=v))
            c.eq(name + ".value", r["value"], v)
            # Byte-for-byte: the peer's encoding of what it decoded must be
            # exactly Twisted's encoding.
            raw = await timed(p.callRemoteString(cmd.commandName, value=wire(argtype, v)))
            c.eq(name + ".raw", raw.get(b"value"), wire(argtype, v))
    for cmd, sent, want in RAW_NORMALISED:
        name = "%s.raw(%r)" % (cmd.commandName.decode(), sent)
        raw = await timed(p.callRemoteString(cmd.commandName, value=sent))
        c.eq(name, raw.get(b"value"), want)


async def scenario_lists(c, p):
    full = {
        "ints": [0, -1, 2**70, -(2**80), 7],
        "texts": ["", "\xe9", "a\x00b", "\U0001f600"],
        "nested": [[1, 2], [], [3], [-(2**65)]],
        "bins": [b"", b"\x00\x01", b"\xff"],
        "floats": [0.1, -0.0, float("inf"), float("nan"), 1e16],
    }
    empty = {"ints": [], "texts": [], "nested": [], "bins": [], "floats": []}
    for label, args in [("full", full), ("empty", empty), ("nested-empties", dict(empty, nested=[[], []]))]:
        r = await timed(p.callRemote(EchoLists, **args))
        for k in args:
            c.eq("EchoLists.%s.%s" % (label, k), r[k], args[k])
        raw_args = {k.decode(): t.toString(args[k.decode()]) for k, t in LISTS}
        raw = await timed(p.callRemoteString(b"EchoLists", **raw_args))
        for k, t in LISTS:
            c.eq("EchoLists.%s.%s.raw" % (label, k.decode()), raw.get(k), raw_args[k.decode()])


async def scenario_amplist(c, p):
    orders = [
        {"id": 1, "items": [{"name": "apple", "qty": 3}, {"name": "p\xe4r", "qty": 2**70}], "note": "rush"},
        {"id": 2, "items": [], "note": None},
        {"id": 3, "items": [{"name": "", "qty": -1}], "note": ""},
    ]
    for label, value in [("orders", orders), ("empty", [])]:
        r = await timed(p.callRemote(EchoAmpList, orders=value))
        c.eq("EchoAmpList.%s" % label, r["orders"], value)
        t = EchoAmpList.arguments[0][1]
        sent = t.toStringProto(value, p)
        raw = await timed(p.callRemoteString(b"EchoAmpList", orders=sent))
        c.eq("EchoAmpList.%s.raw" % label, raw.get(b"orders"), sent)


async def scenario_optional(c, p):
    r = await timed(p.callRemote(Options, required=1, dash_arg=5))
    c.eq("Options.absent.maybe", r["maybe"], None)
    c.eq("Options.absent.opt-list", r["opt_list"], None)
    c.eq("Options.absent.dash-arg", r["dash_arg"], 5)
    raw = await timed(p.callRemoteString(b"Options", required=b"1", **{"dash-arg": b"5"}))
    c.eq("Options.absent.raw-keys", sorted(raw.keys()), [b"_answer", b"dash-arg", b"repr"])
    r = await timed(p.callRemote(Options, required=2, maybe="", dash_arg=-5, opt_list=[]))
    c.eq("Options.present-empty.maybe", r["maybe"], "")
    c.eq("Options.present-empty.opt-list", r["opt_list"], [])
    raw = await timed(
        p.callRemoteString(b"Options", required=b"2", maybe=b"", **{"dash-arg": b"-5", "opt-list": b""})
    )
    c.eq("Options.present-empty.raw-maybe", raw.get(b"maybe"), b"")
    c.eq("Options.present-empty.raw-opt-list", raw.get(b"opt-list"), b"")
    r = await timed(p.callRemote(Options, required=3, maybe="x\xe9", dash_arg=0, opt_list=[1, 2]))
    c.eq("Options.present.maybe", r["maybe"], "x\xe9")
    c.eq("Options.present.opt-list", r["opt_list"], [1, 2])
    c.eq("Options.present.dash-arg", r["dash_arg"], 0)


async def scenario_errors(c, p):
    r = await timed(p.callRemote(Fail, mode="ok", text=""))
    c.eq("Fail.ok", r["value"], 42)
    c.eq("Fail.ok.blob-absent", r["blob"], None)
    await expect_error(
        c, "Fail.declared", p.callRemote(Fail, mode="declared", text="declared \xe9"), DeclaredError, "declared \xe9"
    )
    await still_works(c, "Fail.declared", p)
    await expect_error(c, "Fail.other", p.callRemote(Fail, mode="other", text="o"), OtherError, "o")
    await expect_error(c, "Divide.zero", p.callRemote(Divide, numerator=1234, denominator=0), ZeroDivisionError)
    r = await timed(p.callRemote(Divide, numerator=1, denominator=4))
    c.eq("Divide.quarter", r["result"], 0.25)
    await expect_error(c, "BaseFail.base", p.callRemote(BaseFail, mode="base"), BaseError)
    await expect_error(c, "ChildFail.inherited-base", p.callRemote(ChildFail, mode="base"), BaseError)
    await expect_error(c, "ChildFail.child", p.callRemote(ChildFail, mode="child"), ChildError)
    r = await timed(p.callRemote(ChildFail, mode="ok"))
    c.eq("ChildFail.ok", r, {})
    await expect_error(
        c,
        "NoSuchCommand.unhandled",
        p.callRemote(NoSuchCommand),
        amp.UnhandledCommand,
    )
    await still_works(c, "NoSuchCommand", p)
    # The raw path gets UNHANDLED as UnhandledCommand too, with Twisted's text.
    try:
        await timed(p.callRemoteString(b"TotallyUnknown"))
        c.fail("raw.unhandled", "answered")
    except amp.UnhandledCommand as e:
        # PROTOCOL_ERRORS: UnhandledCommand(code, description).
        c.eq("raw.unhandled", list(e.args), [b"UNHANDLED", "Unhandled Command: b'TotallyUnknown'"])
    await still_works(c, "raw.unhandled", p)
    # The description quotes the name exactly as Python's bytes repr does.
    for odd in [b"Odd'name", b"Both'\"quotes", b"back\\slash\ttab\x01\x7f\r\n"]:
        try:
            await timed(p.callRemoteString(odd))
            c.fail("raw.unhandled-repr(%r)" % odd, "answered")
        except amp.UnhandledCommand as e:
            c.eq("raw.unhandled-repr(%r)" % odd, e.args[1], "Unhandled Command: %r" % (odd,))
    await still_works(c, "raw.unhandled-repr", p)


async def scenario_fatal(c, p):
    await expect_error(c, "Fail.fatal", p.callRemote(Fail, mode="fatal", text="fatal text"), FatalError, "fatal text")
    await expect_closed(c, "Fail.fatal", p)


async def scenario_unknown(c, p):
    await expect_error(
        c, "Fail.unknown", p.callRemote(Fail, mode="unknown", text="boom"), amp.UnknownRemoteError,
        "Code<UNKNOWN>: Unknown Error",
    )
    await expect_closed(c, "Fail.unknown", p)


async def scenario_badreturn(c, p):
    await expect_error(
        c, "Fail.badreturn", p.callRemote(Fail, mode="badreturn", text=""), amp.UnknownRemoteError,
        "Code<UNKNOWN>: Unknown Error",
    )
    await expect_closed(c, "Fail.badreturn", p)


async def scenario_baddata(c, p):
    # An argument the responder cannot decode: UNKNOWN, then the connection closes.
    try:
        await timed(p.callRemoteString(b"Sum", a=b"0x10", b=b"1"))
        c.fail("Sum.baddata", "answered")
    except amp.RemoteAmpError as e:
        c.eq("Sum.baddata.code", e.errorCode, b"UNKNOWN")
        c.eq("Sum.baddata.description", e.description, "Unknown Error")
    await expect_closed(c, "Sum.baddata", p)


async def scenario_declared_unknown(c, p):
    # Choose declares UNKNOWN as its own code: the declared class, and the
    # connection stays open.
    r = await timed(p.callRemote(Choose, name="known"))
    c.eq("Choose.known", r["chosen"], "known")
    await expect_error(
        c, "Choose.declared", p.callRemote(Choose, name="bogus \xe9"), UnknownProtocol, "bogus \xe9"
    )
    await still_works(c, "Choose.declared", p)
    # An undeclared failure is sent as UNKNOWN / Unknown Error; with UNKNOWN
    # declared, the caller gets the declared class with that text, then the
    # responder closes the connection.
    await expect_error(c, "Choose.crash", p.callRemote(Choose, name="crash"), UnknownProtocol, "Unknown Error")
    await expect_closed(c, "Choose.crash", p)


async def scenario_flatten(c, p):
    r = await timed(p.callRemote(Greet, name="Zo\xeb", polite=True))
    c.eq("Greet", r["greeting"], "dear hello Zo\xeb")
    r = await timed(p.callRemote(GreetTwice, name="Zo\xeb", polite=True, times=3, a_first="hi"))
    c.eq("GreetTwice.greeting", r["greeting"], "hi:dear hello Zo\xeb")
    c.eq("GreetTwice.count", r["count"], 6)
    r = await timed(p.callRemote(GreetTwice, name="Al", times=0, a_first=""))
    c.eq("GreetTwice.absent.greeting", r["greeting"], ":hello Al")
    c.eq("GreetTwice.absent.count", r["count"], 0)
    # The answer box as it came on the wire (the parsed dict keeps the wire
    # order): inherited and added keys merged in key order, as Twisted sorts.
    raw = await timed(p.callRemoteString(b"GreetTwice", name=b"B", times=b"1", **{"a-first": b"x"}))
    c.eq("GreetTwice.raw-order", [k for k in raw], [b"_answer", b"count", b"greeting"])
    c.eq("GreetTwice.raw-values", (raw[b"count"], raw[b"greeting"]), (b"2", b"x:hello B"))


async def scenario_noanswer(c, p):
    r = p.callRemote(Record, key="k1", value=7)
    c.ok("Record.returns-none", r is None, repr(r))
    p.callRemote(Record, key="k2", value=2**70)
    p.callRemoteString(b"Record", requiresAnswer=False, key=b"k3", value=b"9")
    r = await timed(p.callRemote(Lookup, key="k1"))
    c.eq("Record.observed.k1", r["value"], 7)
    r = await timed(p.callRemote(Lookup, key="k2"))
    c.eq("Record.observed.k2", r["value"], 2**70)
    r = await timed(p.callRemote(Lookup, key="k3"))
    c.eq("Record.observed.raw-k3", r["value"], 9)
    r = await timed(p.callRemote(Lookup, key="never"))
    c.eq("Lookup.absent", r["value"], None)


async def scenario_noanswer_fail(c, p):
    # A no-answer request whose responder fails: nothing is sent back, the
    # responding side closes the connection (Twisted's behaviour).
    r = p.callRemote(Record, key="neg", value=-1)
    c.ok("Record.negative.returns-none", r is None)
    await expect_closed(c, "Record.negative", p)


async def scenario_noanswer_unhandled(c, p):
    # A no-answer request nobody handles: Twisted drops the connection (the
    # UNHANDLED failure has nowhere to go); so must the peer.
    r = p.callRemoteString(b"Nobody", requiresAnswer=False, x=b"1")
    c.ok("Nobody.returns-none", r is None)
    await expect_closed(c, "Nobody.noanswer", p)


async def scenario_concurrency(c, p, n=250):
    delays = [((i * 37) % 50) / 1000.0 for i in range(n)]
    order = []

    def done(r, i):
        order.append(i)
        return r

    ds = [p.callRemote(Slow, id=i, delay=delays[i]).addCallback(done, i) for i in range(n)]
    results = await timed(defer.gatherResults(ds, consumeErrors=True), 60)
    c.ok("Slow.all-answered", len(results) == n, "%d answers" % len(results))
    c.ok("Slow.ids-match", all(r["id"] == i for i, r in enumerate(results)))
    seqs = [r["seq"] for r in results]
    c.ok("Slow.seq-is-permutation", sorted(seqs) == list(range(n)))
    c.ok("Slow.answered-out-of-order", order != sorted(order), "first answers: %r" % order[:8])
    # Answers follow the delays: a zero-delay call must beat the longest one.
    c.ok("Slow.zero-delay-before-longest", order.index(0) < order.index(delays.index(max(delays))))


async def scenario_callback(c, p):
    r = await timed(p.callRemote(Bounce, depth=3))
    t = r["trace"]
    c.ok(
        "Bounce.depth3",
        len(t) == 4 and t[0] == t[2] == SIDE and t[1] == t[3] and t[1] != "",
        describe(t),
    )
    ds = [p.callRemote(Bounce, depth=d % 4) for d in range(20)]
    rs = await timed(defer.gatherResults(ds, consumeErrors=True))
    c.ok("Bounce.concurrent", all(len(r["trace"]) == d % 4 + 1 for d, r in enumerate(rs)))
    c.ok("Bounce.peer-called-us", p.bounces >= 2, "%d bounces answered here" % p.bounces)


async def scenario_raw(c, p):
    raw = await timed(p.callRemoteString(b"RawEcho", data=b"\x00bin\xff"))
    c.eq("RawEcho.echo", raw.get(b"echo"), b"\x00bin\xff")
    c.eq("RawEcho.command", raw.get(b"command"), b"RawEcho")
    c.eq("RawEcho.keys", raw.get(b"keys"), b"_ask,_command,data")
    try:
        await timed(p.callRemoteString(b"RawEcho", data=b"error"))
        c.fail("RawEcho.error", "answered")
    except amp.RemoteAmpError as e:
        c.eq("RawEcho.error.code", e.errorCode, b"RAW_ERR")
        c.eq("RawEcho.error.description", e.description, "raw failure")
    raw = await timed(p.callRemoteString(b"FallbackThing", x=b"1"))
    c.eq("Fallback.name", raw.get(b"name"), b"FallbackThing")
    # Integers beyond 64 bits through a typed command.
    r = await timed(p.callRemote(Sum, a=2**64, b=-1))
    c.eq("Sum.big", r["total"], 2**64 - 1)
    await still_works(c, "raw", p)


async def scenario_hangup(c, p):
    slow = [p.callRemote(Slow, id=i, delay=30.0) for i in range(20)]
    h = p.callRemote(Hangup)
    outcomes = []
    for d in slow + [h]:
        try:
            await timed(d)
            outcomes.append("answered")
        except (error.ConnectionDone, error.ConnectionLost) as e:
            outcomes.append("lost")
        except Exception as e:
            outcomes.append("%s: %s" % (type(e).__name__, e))
    c.ok("Hangup.outstanding-fail-connection-lost", all(o == "lost" for o in outcomes), repr(sorted(set(outcomes))))
    await expect_closed(c, "Hangup", p)


async def scenario_bulk(c, p, n=100, size=60000):
    """Many large values in flight at once: about 12 MB through each way."""
    rnd = random.Random(1234)
    blobs = [bytes(rnd.getrandbits(8) for _ in range(64)) * (size // 64) for _ in range(n)]
    ds = [p.callRemote(EchoString, value=b) for b in blobs]
    rs = await timed(defer.gatherResults(ds, consumeErrors=True), 120)
    c.ok("bulk.EchoString", all(r["value"] == b for r, b in zip(rs, blobs)), "%d x %d bytes" % (n, len(blobs[0])))
    texts = ["\u00e9" * 1000 for _ in range(20)]
    ints = list(range(-3000, 3000))
    r = await timed(p.callRemote(EchoLists, ints=ints, texts=texts, nested=[ints[:100]] * 50, bins=[], floats=[]))
    c.ok("bulk.EchoLists", r["ints"] == ints and r["texts"] == texts and r["nested"] == [ints[:100]] * 50)
    await still_works(c, "bulk", p)


# Values Python's own decoders reject: the responder fails, so the answer is
# UNKNOWN and the connection closes (one connection per case).
STRICT = [
    (b"EchoBoolean", b"true"),
    (b"EchoBoolean", b"1"),
    (b"EchoBoolean", b""),
    (b"EchoInteger", b"0x10"),
    (b"EchoInteger", b"1.5"),
    (b"EchoInteger", b""),
    (b"EchoInteger", b"1__0"),
    (b"EchoFloat", b"1,5"),
    (b"EchoFloat", b"0x1p3"),
    (b"EchoFloat", b""),
    (b"EchoFloat", b"_1.5"),
    (b"EchoDecimal", b"1,5"),
    (b"EchoDecimal", b"abc"),
    (b"EchoDecimal", b""),
    (b"EchoUnicode", b"\xff\xfe"),
    (b"EchoUnicode", b"\xed\xa0\x80"),  # an encoded surrogate
    (b"EchoPath", b"\xff"),
    (b"EchoDateTime", b"2024-01-02T03:04:05.000006Z"),
    (b"EchoDateTime", b"2024-01-02T03:04:05.000006*00:00"),
    (b"EchoDateTime", b"2024-02-30T03:04:05.000006+00:00"),
    (b"EchoDateTime", b"2024-01-02T24:04:05.000006+00:00"),
    (b"EchoDateTime", b"2024-01-02T03:04:05.000006+24:00"),
]


async def scenario_strict(c, port):
    for cmd, value in STRICT:
        name = "strict.%s(%r)" % (cmd.decode(), value)
        p = await timed(connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), Peer()))
        try:
            raw = await timed(p.callRemoteString(cmd, value=value))
            c.fail(name, "accepted, answered %r" % (raw.get(b"value"),))
            p.transport.loseConnection()
            await timed(p.closed, 5)
            continue
        except amp.RemoteAmpError as e:
            c.eq(name + ".code", e.errorCode, b"UNKNOWN")
        except Exception as e:
            c.fail(name + ".code", "%s: %s" % (type(e).__name__, e))
        try:
            await timed(p.closed, 10)
            c.ok(name + ".closed", True)
        except defer.TimeoutError:
            c.fail(name + ".closed", "still open")
            p.transport.loseConnection()


class _Raw(protocol.Protocol):
    def __init__(self):
        self.closed = defer.Deferred()
        self.received = b""

    def dataReceived(self, data):
        self.received += data

    def connectionLost(self, reason):
        self.closed.callback(None)


def raw_box(pairs):
    out = b""
    for k, v in pairs:
        out += struct.pack("!H", len(k)) + k + struct.pack("!H", len(v)) + v
    return out + b"\0\0"


async def scenario_rogue(c, port):
    """Protocol violations (raw bytes, not AMP): the peer must drop the
    connection without answering. The last case ends mid-box (we close)."""
    cases = [
        ("unknown-answer-tag", raw_box([(b"_answer", b"99"), (b"total", b"1")]), True),
        ("unknown-error-tag", raw_box([(b"_error", b"77"), (b"_error_code", b"X"), (b"_error_description", b"")]), True),
        ("not-routed", raw_box([(b"foo", b"bar")]), True),
        ("key-too-long", struct.pack("!H", 256) + b"k" * 256 + struct.pack("!H", 1) + b"v\0\0", True),
        ("truncated", raw_box([(b"_command", b"Sum"), (b"_ask", b"1"), (b"a", b"1")])[:-5], False),
    ]
    for name, data, peer_closes in cases:
        r = await timed(connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), _Raw()))
        r.transport.write(data)
        if peer_closes:
            try:
                await timed(r.closed, 10)
                c.ok("rogue.%s.dropped" % name, True)
            except defer.TimeoutError:
                c.fail("rogue.%s.dropped" % name, "the peer kept the connection open")
                r.transport.abortConnection()
                continue
            c.eq("rogue.%s.no-reply" % name, r.received, b"")
        else:
            # loseConnection writes the partial box, then closes.
            r.transport.loseConnection()
            await timed(r.closed, 10)
            c.ok("rogue.%s.sent" % name, True)


SCENARIOS = {
    "values": scenario_values,
    "lists": scenario_lists,
    "amplist": scenario_amplist,
    "optional": scenario_optional,
    "errors": scenario_errors,
    "fatal": scenario_fatal,
    "unknown": scenario_unknown,
    "badreturn": scenario_badreturn,
    "baddata": scenario_baddata,
    "declared_unknown": scenario_declared_unknown,
    "flatten": scenario_flatten,
    "noanswer": scenario_noanswer,
    "noanswer_fail": scenario_noanswer_fail,
    "noanswer_unhandled": scenario_noanswer_unhandled,
    "concurrency": scenario_concurrency,
    "callback": scenario_callback,
    "raw": scenario_raw,
    "hangup": scenario_hangup,
    "bulk": scenario_bulk,
    "rogue": scenario_rogue,
    "strict": scenario_strict,
}
# Scenarios that open their own (non-AMP) connections: given the port.
RAW_SCENARIOS = {"rogue", "strict"}
ALL = list(SCENARIOS)


async def run_client(port, names):
    c = Checker()
    for name in names:
        if name not in SCENARIOS:
            c.fail("scenario." + name, "no such scenario (have: %s)" % ", ".join(ALL))
            continue
        print("# scenario %s" % name, flush=True)
        if name in RAW_SCENARIOS:
            try:
                await SCENARIOS[name](c, port)
            except Exception:
                c.fail("scenario.%s" % name, "raised:\n" + traceback.format_exc())
            continue
        try:
            p = await timed(connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), Peer()))
        except Exception as e:
            c.fail("scenario.%s.connect" % name, "%s: %s" % (type(e).__name__, e))
            continue
        try:
            await SCENARIOS[name](c, p)
        except Exception:
            c.fail("scenario.%s" % name, "raised:\n" + traceback.format_exc())
        if p.transport is not None:
            p.transport.loseConnection()
            try:
                await timed(p.closed, 5)
            except Exception:
                pass
    print("%d passed, %d failed" % (c.passed, c.failed), flush=True)
    raise SystemExit(0 if c.failed == 0 and c.passed > 0 else 1)


def client(port, names):
    def main(_reactor):
        return defer.Deferred.fromCoroutine(run_client(port, names))

    task.react(main)


def main(argv):
    harness.log_to_stderr()
    if len(argv) >= 2 and argv[1] == "serve":
        serve()
    elif len(argv) >= 2 and argv[1] == "stdio":
        serve_stdio()
    elif len(argv) >= 3 and argv[1] == "client":
        client(int(argv[2]), argv[3:] or ALL)
    else:
        print(__doc__, file=sys.stderr)
        raise SystemExit(2)


if __name__ == "__main__":
    main(sys.argv)
