"""Commands for `amp schema import`'s tests (crates/amp-cli/tests/schema.rs):
every argument type amp knows, nesting, inheritance, the special kinds, and
commands the import must keep as Raw or skip.

Importing it prints a line, as some modules do: the import must keep it out
of the schema.
"""

import zlib

from twisted.protocols import amp
from twisted.protocols.amp import StartTLS  # noqa: F401 (imported: kind starttls)

print("cli_schema_commands: a module that talks when imported")


class BigString(amp.String):
    """Evennia-style chunked bytes: known to amp by its class name."""


class BigUnicode(amp.Unicode):
    """Evennia-style chunked text."""


class Compressed(amp.String):
    """A custom argument type that compresses its value: not a type amp
    knows, so amp keeps its bytes as Raw."""

    def toString(self, inObject):
        return zlib.compress(inObject)

    def fromString(self, inString):
        return zlib.decompress(inString)


class Everything(amp.Command):
    """Every type amp knows.

    Lists, too.
    """

    commandName = b"every_thing"
    arguments = [
        (b"i", amp.Integer()),
        (b"s", amp.String()),
        (b"u", amp.Unicode()),
        (b"b", amp.Boolean()),
        (b"f", amp.Float()),
        (b"d", amp.Decimal()),
        (b"t", amp.DateTime()),
        (b"p", amp.Path()),
        (b"fd", amp.Descriptor(optional=True)),
        (b"big", BigString()),
        (b"bigu", BigUnicode(optional=True)),
        (b"packed", Compressed()),
    ]
    response = [
        (b"ints", amp.ListOf(amp.Integer())),
        (b"grid", amp.ListOf(amp.ListOf(amp.Unicode()), optional=True)),
        (
            b"rows",
            amp.AmpList(
                [
                    (b"k", amp.Unicode()),
                    (b"vs", amp.ListOf(amp.Float())),
                    (b"sub", amp.AmpList([(b"x", amp.Integer(optional=True))])),
                ]
            ),
        ),
    ]
    errors = {ValueError: b"BAD_VALUE"}
    fatalErrors = {SystemError: b"BROKEN"}


class Base(amp.Command):
    """A command others build on."""

    arguments = [(b"a", amp.Integer())]
    errors = {KeyError: b"NO_KEY"}


class Derived(Base):
    # Inherits Base's arguments, errors and docstring; adds an error.
    errors = {ValueError: b"BAD"}
    requiresAnswer = False


class SwitchTo(amp.ProtocolSwitchCommand):
    commandName = b"switch-to"
    arguments = [(b"name", amp.Unicode())]


class ListOfDescriptors(amp.Command):
    """Twisted cannot send these: the import skips it."""

    arguments = [(b"fds", amp.ListOf(amp.Descriptor()))]


class Shadow(amp.Command):
    """Same wire name as Everything: the import keeps the first."""

    commandName = b"every_thing"
