#!/usr/bin/env python
"""Servers that describe themselves (amp.describe), the Twisted side.

``reflect_peer.py serve [--big]``
    A Twisted server ``class Server(amp_reflect.Reflect, amp.AMP)`` with
    responders for commands of Twisted's own tests (``hello``, ``getlist``,
    ``dontrejectme``, ``simple``, ``SecuredPing``) and ``Echo`` (a
    ``BigUnicode`` argument and answer); Twisted's default ``StartTLS``
    responder, which every ``amp.AMP`` has, is described too. With
    ``--big``, also 48 generated commands ``Big00`` ... ``Big47`` with long
    docstrings, so that the schema is over 64 KiB and its answer is chunked
    (``schema``, ``schema.2``, ...). Listens on 127.0.0.1, port 0, prints
    ``PORT <n>`` once listening and serves until stdin closes.

``reflect_peer.py fetch HOST PORT [--version N]``
    A Twisted client that calls ``amp.describe`` (with ``version`` N if
    given) on any server and prints one JSON line on stdout:
    ``{"version": V, "schema": {...}}`` with the schema parsed, then exits
    0; or ``{"error": CODE, "description": TEXT}`` (the server's error
    answer; CODE ``UNHANDLED`` for a server that does not describe itself)
    and exits 1. A failure to connect or to read the answer exits 2, saying
    why on stderr.
"""

import json
import sys

from twisted.internet import defer, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Factory
from twisted.protocols import amp
from twisted.test import test_amp

import amp_reflect
import harness

#: How many generated commands ``--big`` adds, and the length of each one's
#: docstring: 48 x 2,000 bytes, well over 64 KiB together.
BIG_COUNT = 48
BIG_DOC = 2000


class Echo(amp.Command):
    """Answers its text: a value of any length (chunked over 64 KiB)."""

    arguments = [(b"text", amp_reflect.BigUnicode())]
    response = [(b"text", amp_reflect.BigUnicode())]


class Server(amp_reflect.Reflect, amp.AMP):
    """Twisted test commands and Echo, described over amp.describe."""

    @test_amp.Hello.responder
    def hello(self, hello, **rest):
        if hello == b"fuck you":
            raise test_amp.UnfriendlyGreeting("Don't be a dick.")
        if hello == b"die":
            raise test_amp.DeathThreat("aieeeeeeeee")
        return {"hello": hello}

    @test_amp.GetList.responder
    def getlist(self, length):
        return {"body": [{"x": i} for i in range(length)]}

    @test_amp.DontRejectMe.responder
    def dontrejectme(self, magicWord, list=None):
        return {"response": "%s accepted" % magicWord}

    @test_amp.SimpleGreeting.responder
    def simple(self, greeting, cookie):
        return {"cookieplus": cookie + 3}

    @test_amp.SecuredPing.responder
    def ping(self):
        return {"pinged": True}

    @Echo.responder
    def echo(self, text):
        return {"text": text}


def big_commands():
    """BIG_COUNT Command classes with long docstrings."""
    made = []
    for i in range(BIG_COUNT):
        doc = ("Generated command %d of the big schema; it answers its n. " % i) * (
            BIG_DOC // 60
        )
        made.append(
            type(
                "Big%02d" % i,
                (amp.Command,),
                {
                    "__module__": __name__,
                    "__doc__": doc,
                    "arguments": [(b"n", amp.Integer())],
                    "response": [(b"n", amp.Integer())],
                },
            )
        )
    return made


def big_server():
    """Server with responders for big_commands() too."""

    def respond(self, n):
        return {"n": n}

    attrs = {"__module__": __name__, "__doc__": "Server, with a schema over 64 KiB."}
    for cmd in big_commands():
        attrs["respond_" + cmd.__name__] = cmd.responder(respond)
    return type("BigServer", (Server,), attrs)


def serve(big):
    factory = Factory()
    factory.protocol = big_server() if big else Server
    harness.serve_tcp(factory)


async def describe(host, port, version):
    proto = await connectProtocol(TCP4ClientEndpoint(reactor, host, port, timeout=20), amp.AMP())
    try:
        kw = {} if version is None else {"version": version}
        return await harness.timed(proto.callRemote(amp_reflect.Describe, **kw))
    finally:
        proto.transport.loseConnection()


def as_text(value):
    """An error code or description (bytes or str) as str."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def fetch(host, port, version):
    outcome = {}

    async def main():
        try:
            answer = await describe(host, port, version)
            outcome["out"] = {"version": answer["version"], "schema": json.loads(answer["schema"])}
            outcome["code"] = 0
        except amp.RemoteAmpError as e:
            outcome["out"] = {"error": as_text(e.errorCode), "description": as_text(e.description)}
            outcome["code"] = 1
        except amp.UnhandledCommand as e:
            # A server that does not describe itself: (code, description).
            code, description = e.args
            outcome["out"] = {"error": as_text(code), "description": as_text(description)}
            outcome["code"] = 1
        except amp_reflect.UnsupportedVersion as e:
            # Describe's errors map this code back to its exception.
            outcome["out"] = {"error": "UNSUPPORTED_VERSION", "description": str(e)}
            outcome["code"] = 1
        except Exception as e:  # noqa: BLE001 - reported, with exit status 2
            print("reflect_peer: fetch from %s:%d failed: %r" % (host, port, e), file=sys.stderr)
            outcome["code"] = 2
        finally:
            reactor.stop()

    reactor.callWhenRunning(lambda: defer.ensureDeferred(main()))
    reactor.run()
    if "out" in outcome:
        print(json.dumps(outcome["out"]), flush=True)
    sys.exit(outcome.get("code", 2))


def main(argv):
    args = argv[1:]
    if args[:1] == ["serve"] and args[1:] in ([], ["--big"]):
        serve(args[1:] == ["--big"])
    elif args[:1] == ["fetch"] and len(args) in (3, 5) and args[3:4] in ([], ["--version"]):
        try:
            port = int(args[2])
            version = int(args[4]) if len(args) == 5 else None
        except ValueError:
            sys.exit(__doc__)
        fetch(args[1], port, version)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
