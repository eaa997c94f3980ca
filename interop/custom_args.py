"""Commands whose arguments are custom ``amp.Argument`` classes, as found in
the wild, for ``amp schema import``'s probing: a class that behaves exactly
like a type amp knows is that type, whatever its name; anything else is
Raw (with a warning naming it).
"""

import zlib

from twisted.protocols import amp


class Count(amp.Integer):
    """A subclass that changes nothing: an Integer."""


class Text(amp.Argument):
    """Not a subclass of Unicode, but writes and reads UTF-8 as it does."""

    def toString(self, inObject):
        return inObject.encode("utf-8")

    def fromString(self, inString):
        return inString.decode("utf-8")


class Compressed(amp.String):
    """Compresses its value and chunks it over several keys, as game
    servers do: not a type amp knows."""

    def toBox(self, name, strings, objects, proto):
        value = zlib.compress(objects[name.decode()])
        for i in range(0, max(len(value), 1), 60000):
            strings[name + b".%d" % (i // 60000)] = value[i : i + 60000]

    def fromBox(self, name, strings, objects, proto):
        parts = []
        i = 0
        while name + b".%d" % i in strings:
            parts.append(strings[name + b".%d" % i])
            i += 1
        objects[name.decode()] = zlib.decompress(b"".join(parts))


class YesNo(amp.Argument):
    """A boolean with its own wire form: not amp's Boolean."""

    def toString(self, inObject):
        return b"yes" if inObject else b"no"

    def fromString(self, inString):
        return inString == b"yes"


class Store(amp.Command):
    arguments = [
        (b"count", Count()),
        (b"label", Text()),
        (b"blob", Compressed()),
        (b"flag", YesNo()),
        (b"note", Text(optional=True)),
    ]
    response = [(b"ok", amp.Boolean())]
