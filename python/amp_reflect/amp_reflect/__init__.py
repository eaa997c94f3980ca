"""Twisted AMP servers that describe themselves.

A server class that derives from `Reflect` answers the command
`amp.describe` (`Describe`) with the schema of the commands it answers, in
the JSON of amp-rs's schema files (docs/SCHEMA.md in amp-rs), so that `amp
list`, `amp describe` and `amp call` can type their values without a schema
file::

    from twisted.protocols import amp
    import amp_reflect

    class Server(amp_reflect.Reflect, amp.AMP):
        @Sum.responder
        def sum(self, a, b):
            return {"total": a + b}

The convention (amp-rs's docs/PROTOCOL.md, section 9, "Self-description"):
the request has an optional Integer `version`, the highest format the
caller reads (default 1); the answer has the Integer `version` of the
format (1) and the schema as `BigUnicode` `schema`. A `version` below 1 is
answered with the error code `UNSUPPORTED_VERSION`.

What is listed: every command whose responder is declared with
`SomeCommand.responder` in the body of the server's class or of any of its
base classes (Twisted's class-level responder registry, the one its
`CommandLocator.locateResponder` dispatches through), except `amp.describe`
itself. A subclass's responder for a wire name replaces its base's, as in
Twisted's dispatch. Not listed, since no `Command` class describes them:
raw `amp_NAME` methods, and commands answered by an overridden
`locateResponder` or `lookupFunction`. A class that answers such commands
and has `Command` classes for them can list them by overriding the class
method `reflectedCommands`.

Each command is described as `amp schema import` describes its class (both
use `amp_reflect.schema.Walker`). What cannot be carried over exactly (an
argument class of unknown wire form, kept as `Raw`; a command that cannot
be described, left out) is logged as a warning to Twisted's log, never put
in the answer. The JSON is built once per class and then cached.
"""

import json
import weakref

from twisted.logger import Logger
from twisted.protocols import amp
from twisted.python.reflect import accumulateClassDict

from amp_reflect.schema import Skip, Walker, class_name

__all__ = [
    "BigString",
    "BigUnicode",
    "CHUNK",
    "Describe",
    "FORMAT_VERSION",
    "Reflect",
    "UnsupportedVersion",
    "schema_of",
]

#: The largest value one AMP entry holds, and so each chunk of a big value.
CHUNK = 65535

#: The schema format `Describe` answers with (the highest one known).
FORMAT_VERSION = 1

_log = Logger(namespace="amp_reflect")


def _chunk_key(name, n):
    """The key of chunk `n` (n >= 2) of argument `name` (bytes): name.n."""
    return name + b"." + str(n).encode("ascii")


class BigString(amp.Argument):
    """Bytes of any length, cut into 65,535-byte chunks under the keys
    `k`, `k.2`, `k.3`, ...

    `k` is always written (an empty value is `k` empty); a value of exactly
    65,535 bytes is `k` alone. The reader joins `k` and then `k.2`, `k.3`,
    ... up to the first key missing. As an element of a `ListOf` (where
    there are no keys) it is a plain value of at most 65,535 bytes.
    """

    def encode(self, value):
        """The bytes `value` stands for."""
        if not isinstance(value, bytes):
            raise TypeError("BigString needs bytes, not %s" % type(value).__name__)
        return value

    def decode(self, data):
        """The value that the joined bytes `data` stand for."""
        return data

    def toString(self, inObject):
        return self.encode(inObject)

    def fromString(self, inString):
        return self.decode(inString)

    def toBox(self, name, strings, objects, proto):
        obj = self.retrieve(objects, amp._wireNameToPythonIdentifier(name), proto)
        if self.optional and obj is None:
            return
        data = self.encode(obj)
        strings[name] = data[:CHUNK]
        for n, start in enumerate(range(CHUNK, len(data), CHUNK), 2):
            strings[_chunk_key(name, n)] = data[start : start + CHUNK]

    def fromBox(self, name, strings, objects, proto):
        key = amp._wireNameToPythonIdentifier(name)
        first = self.retrieve(strings, name, proto)
        if first is None:
            # Optional and absent (a required one raised KeyError).
            objects[key] = None
            return
        chunks = [first]
        n = 2
        while True:
            chunk = strings.pop(_chunk_key(name, n), None)
            if chunk is None:
                break
            chunks.append(chunk)
            n += 1
        objects[key] = self.decode(b"".join(chunks))


class BigUnicode(BigString):
    """Text of any length: its UTF-8 chunked as `BigString` chunks bytes.

    The cuts fall every 65,535 bytes of UTF-8, inside a character if need
    be; the reader decodes only the joined bytes.
    """

    def encode(self, value):
        if not isinstance(value, str):
            raise TypeError("BigUnicode needs str, not %s" % type(value).__name__)
        return value.encode("utf-8")

    def decode(self, data):
        return data.decode("utf-8")


class UnsupportedVersion(Exception):
    """The caller asked for a schema format below 1."""


class Describe(amp.Command):
    """The commands this server answers, as a schema in JSON."""

    commandName = b"amp.describe"
    arguments = [(b"version", amp.Integer(optional=True))]
    response = [(b"version", amp.Integer()), (b"schema", BigUnicode())]
    errors = {UnsupportedVersion: b"UNSUPPORTED_VERSION"}


#: The schema JSON of each Reflect class, once built.
_schemas = weakref.WeakKeyDictionary()


def schema_of(cls):
    """The schema JSON (a str) that instances of the `Reflect` subclass
    `cls` answer `Describe` with; built on first use, then cached."""
    cached = _schemas.get(cls)
    if cached is None:
        cached = json.dumps(_build(cls), ensure_ascii=False, separators=(",", ":"))
        _schemas[cls] = cached
    return cached


def _build(cls):
    """The schema of `cls` as a dict; warnings go to Twisted's log."""
    source = "%s (amp_reflect)" % class_name(cls)
    warnings = []
    walker = Walker(amp, accumulateClassDict, warnings)
    described = []
    for command in cls.reflectedCommands():
        try:
            wire = command.commandName
            if wire == Describe.commandName:
                continue
            described.append((wire, walker.command(command)))
        except Skip as e:
            warnings.append("left out %s: %s" % (class_name(command), e))
        except Exception as e:
            warnings.append(
                "left out %s: %s: %s" % (class_name(command), type(e).__name__, e)
            )
    described.sort(key=lambda pair: pair[0])
    for warning in warnings:
        _log.warn("{source}: {problem}", source=source, problem=warning)
    return {"source": source, "commands": [c for _, c in described]}


class Reflect(amp.CommandLocator):
    """Answers `Describe` with the schema of the commands this class has
    responders for (see the module's documentation for which ones).

    Put it before `amp.AMP` (or any other `CommandLocator`) among the
    bases: `class Server(Reflect, amp.AMP)`. It also serves as a base of a
    plain `CommandLocator` given to `amp.AMP(locator=...)`.
    """

    @classmethod
    def reflectedCommands(cls):
        """The Command classes to describe: those of the responders in the
        class's responder registry, its bases' included. Override (and
        extend the result of the base's method) to list commands answered
        by other means."""
        return [command for command, _ in cls._commandDispatch.values()]

    @Describe.responder
    def _amp_reflect_describe(self, version=None):
        if version is not None and version < 1:
            raise UnsupportedVersion(
                "schema format %d asked for; this server knows format %d"
                % (version, FORMAT_VERSION)
            )
        return {"version": FORMAT_VERSION, "schema": schema_of(type(self))}
