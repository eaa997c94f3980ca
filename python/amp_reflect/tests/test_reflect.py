"""Reflect: what a Twisted server answers to amp.describe, over a
connection."""

import json
import os
import subprocess
import sys

from twisted.logger import globalLogPublisher
from twisted.protocols import amp
from twisted.test import iosim, test_amp
from twisted.trial import unittest

import amp_reflect
from amp_reflect import CHUNK, Describe, Reflect, schema_of

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))


class Server(Reflect, test_amp.SimpleSymmetricCommandProtocol):
    """Twisted's own test protocol (hello, getlist, dontrejectme, ...,
    its responders declared on its bases), describing itself."""

    def amp_RAWTHING(self, box):
        """A raw responder: answered, but not described."""
        return amp.AmpBox(ok=b"yes")


class NewerHello(Server):
    """A subclass whose responder for `hello` replaces its base's, with
    another Command class of the same wire name."""

    @test_amp.FutureHello.responder
    def futureHello(self, hello, bonus=None):
        return {"hello": hello}


class Weird(Reflect, amp.AMP):
    """A command whose argument class is unknown (Raw, with a warning)."""

    @test_amp.ProtocolIncludingCommand.responder
    def weird(self, weird):
        return {"weird": weird}


class Locator(Reflect):
    """Reflect as a plain CommandLocator handed to AMP(locator=...)."""

    @test_amp.GetList.responder
    def getlist(self, length):
        return {"body": [{"x": 1}] * length}


def big_commands(count=40, doc_bytes=2000):
    """`count` Command classes with long docstrings (together over 64 KiB
    of schema), named Big00, Big01, ..."""
    made = []
    for i in range(count):
        doc = ("Command %d, described at length. " % i) * (doc_bytes // 30)
        made.append(
            type(
                "Big%02d" % i,
                (amp.Command,),
                {
                    "__module__": __name__,
                    "__doc__": doc,
                    "arguments": [(b"n", amp.Integer()), (b"t", amp.Unicode(optional=True))],
                    "response": [(b"r", amp.ListOf(amp.Integer()))],
                },
            )
        )
    return made


def big_server_class():
    """A Reflect AMP class with responders for big_commands()."""
    attrs = {"__module__": __name__}
    for cmd in big_commands():
        def respond(self, n, t=None):
            return {"r": [n]}

        attrs["respond_" + cmd.__name__] = cmd.responder(respond)
    return type("BigServer", (Reflect, amp.AMP), attrs)


def call(server_class, command=Describe, **kw):
    """Call `command` on a `server_class` over an in-memory connection: the
    result, or the Failure."""
    client, server, pump = iosim.connectedServerAndClient(server_class, amp.AMP)
    results = []
    client.callRemote(command, **kw).addBoth(results.append)
    pump.flush()
    assert len(results) == 1, results
    return results[0]


def call_raw(server_class, name, **strings):
    """Send box `strings` as command `name`: the answer box, or the
    Failure."""
    client, server, pump = iosim.connectedServerAndClient(server_class, amp.AMP)
    results = []
    client.callRemoteString(name, **strings).addBoth(results.append)
    pump.flush()
    assert len(results) == 1, results
    return results[0]


def without_defaults(command):
    """A schema command without the keys that hold their defaults (as
    `amp schema import` writes a file)."""
    return {k: v for k, v in command.items() if v not in ([], {})}


class Answer(unittest.TestCase):
    def describe(self, server_class=Server, **kw):
        answer = call(server_class, **kw)
        self.assertIsInstance(answer, dict, answer)
        self.assertEqual(answer["version"], 1)
        return json.loads(answer["schema"])

    def test_commands_of_the_class_and_its_bases(self):
        schema = self.describe()
        self.assertEqual(schema["source"], "%s.Server (amp_reflect)" % __name__)
        names = [c["name"] for c in schema["commands"]]
        # Every responder of SimpleSymmetricCommandProtocol and its base,
        # sorted by wire name; amp.describe and the raw amp_RAWTHING are not.
        self.assertEqual(
            names,
            [
                "Goodbye",
                "SecuredPing",
                "StartTLS",
                "Switch-Proto",
                "broken_return",
                "dontrejectme",
                "getlist",
                "hello",
                "wait_forever",
            ],
        )
        self.assertEqual(names, sorted(names))
        self.assertNotIn("amp.describe", names)
        # The raw responder does answer, though.
        self.assertEqual(call_raw(Server, b"RAWTHING")[b"ok"], b"yes")

    def test_fields(self):
        commands = {c["name"]: c for c in self.describe()["commands"]}
        self.assertEqual(
            commands["getlist"],
            {
                "name": "getlist",
                "class": "GetList",
                "arguments": [{"name": "length", "type": "Integer"}],
                "response": [
                    {"name": "body", "type": "AmpList", "fields": [{"name": "x", "type": "Integer"}]}
                ],
                "errors": {},
                "fatalErrors": {},
                "requiresAnswer": True,
            },
        )
        self.assertEqual(commands["StartTLS"]["kind"], "starttls")
        self.assertEqual(commands["StartTLS"]["arguments"], [])
        self.assertEqual(commands["Switch-Proto"]["kind"], "switch")

    def test_versions(self):
        plain = self.describe()
        self.assertEqual(self.describe(version=1), plain)
        # A caller that reads later formats gets format 1, the only one.
        self.assertEqual(self.describe(version=2), plain)
        self.assertEqual(self.describe(version=10**30), plain)

    def test_version_below_1(self):
        for version in (b"0", b"-1"):
            failure = call_raw(Server, b"amp.describe", version=version)
            failure.trap(amp.RemoteAmpError)
            self.assertEqual(failure.value.errorCode, b"UNSUPPORTED_VERSION")
            self.assertFalse(failure.value.fatal)
        # Through the Command class, the code maps back to its exception.
        call(Server, version=0).trap(amp_reflect.UnsupportedVersion)

    def test_wire_form(self):
        # The answer box as it travels: version and schema, nothing else.
        box = call_raw(Server, b"amp.describe")
        self.assertEqual(sorted(box), [b"_answer", b"schema", b"version"])
        self.assertEqual(box[b"version"], b"1")
        self.assertEqual(box[b"schema"].decode("utf-8"), schema_of(Server))
        box = call_raw(Server, b"amp.describe", version=b"1")
        self.assertEqual(box[b"version"], b"1")

    def test_big_schema_is_chunked(self):
        cls = big_server_class()
        text = schema_of(cls)
        self.assertGreater(len(text.encode("utf-8")), CHUNK)
        box = call_raw(cls, b"amp.describe")
        self.assertIn(b"schema.2", box)
        self.assertEqual(len(box[b"schema"]), CHUNK)
        schema = self.describe(cls)
        self.assertEqual(
            [c["name"] for c in schema["commands"]], ["Big%02d" % i for i in range(40)] + ["StartTLS"]
        )
        self.assertTrue(schema["commands"][7]["doc"].startswith("Command 7, described"))

    def test_subclass_replaces_a_responder(self):
        commands = {c["name"]: c for c in self.describe(NewerHello)["commands"]}
        self.assertEqual(commands["hello"]["class"], "FutureHello")
        self.assertEqual(commands["hello"]["arguments"][-1], {"name": "bonus", "type": "String", "optional": True})

    def test_locator(self):
        schema = json.loads(call(lambda: amp.AMP(locator=Locator()))["schema"])
        self.assertEqual(schema["source"], "%s.Locator (amp_reflect)" % __name__)
        self.assertEqual([c["name"] for c in schema["commands"]], ["getlist"])

    def test_cached_per_class(self):
        self.assertIs(schema_of(Server), schema_of(Server))
        self.assertNotEqual(schema_of(Server), schema_of(NewerHello))

    def test_warnings_are_logged_not_answered(self):
        events = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        cls = type("FreshWeird", (Weird,), {"__module__": __name__})
        schema = self.describe(cls)
        self.assertEqual(set(schema), {"source", "commands"})
        # Every amp.AMP answers StartTLS (Twisted's default responder).
        command, tls = schema["commands"]
        self.assertEqual(tls["name"], "StartTLS")
        self.assertEqual(
            command["arguments"],
            [{"name": "weird", "type": "Raw", "class": "twisted.test.test_amp.ProtocolIncludingArgument"}],
        )
        said = [
            e["problem"] for e in events if e.get("log_namespace") == "amp_reflect"
        ]
        self.assertEqual(len(said), 2, said)
        self.assertIn("is not a type amp knows; kept as Raw", said[0])
        # Built once: a second answer logs nothing more.
        self.describe(cls)
        self.assertEqual(len([e for e in events if e.get("log_namespace") == "amp_reflect"]), 2)


def amp_binary():
    """The `amp` binary: $AMP_BIN, else the repository's debug build."""
    path = os.environ.get("AMP_BIN") or os.path.join(REPO, "target", "debug", "amp")
    if not os.path.isfile(path):
        if os.environ.get("AMP_BIN"):
            raise AssertionError("AMP_BIN=%s does not exist" % path)
        raise unittest.SkipTest("no amp binary: build it (cargo build -p amp-cli) or set AMP_BIN")
    return path


def amp_schema_import(spec):
    """What `amp schema import SPEC` prints, parsed."""
    env = dict(os.environ, AMP_PYTHON=sys.executable)
    env.pop("AMP_SCHEMA", None)
    out = subprocess.run(
        [amp_binary(), "schema", "import", spec],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=120,
        check=False,
    )
    if out.returncode != 0:
        raise AssertionError("amp schema import %s failed: %s" % (spec, out.stderr.decode()))
    return json.loads(out.stdout)


class SameAsImport(unittest.TestCase):
    """A server describes a class as `amp schema import` does."""

    def test_twisted_test_amp(self):
        imported = {c["name"]: c for c in amp_schema_import("twisted.test.test_amp")["commands"]}
        served = json.loads(schema_of(Server))["commands"]
        compared = []
        for command in served:
            if command["name"] == "StartTLS":
                # Not in test_amp's namespace: imported on its own below.
                continue
            self.assertEqual(without_defaults(command), imported[command["name"]])
            compared.append(command["name"])
        self.assertEqual(len(compared), len(served) - 1)
        (tls,) = amp_schema_import("twisted.protocols.amp:StartTLS")["commands"]
        self.assertEqual(without_defaults([c for c in served if c["name"] == "StartTLS"][0]), tls)

    def test_raw_and_replaced(self):
        imported = amp_schema_import("twisted.test.test_amp:FutureHello,ProtocolIncludingCommand")
        mine = json.loads(schema_of(NewerHello))["commands"]
        hello = [c for c in mine if c["name"] == "hello"][0]
        self.assertEqual(without_defaults(hello), imported["commands"][0])
        weird = json.loads(schema_of(Weird))["commands"][0]
        self.assertEqual(without_defaults(weird), imported["commands"][1])
