"""Twisted `amp.Command` classes described as an amp schema (docs/SCHEMA.md).

`Walker` turns a `twisted.protocols.amp.Command` subclass into one command
object of the schema's JSON: its arguments and response with their types,
its errors, its kind. An argument class it does not know is probed: if it
writes and reads the same bytes as one of AMP's simple types for a set of
sample values, it is that type; otherwise it is kept as `Raw`, with a
warning.

Two users share this file: `amp_reflect.Reflect` (a Twisted server
describing itself) imports it, and the `amp` binary embeds it in the script
of `amp schema import`, which it runs as `python -c` (the amp-cli crate
reaches it through the symbolic link crates/amp-cli/src/schema/walker.py,
which `cargo package` replaces by this file's text). So it stands alone:
no relative import, and nothing of Twisted imported here (the caller hands
`Walker` the `amp` module and `accumulateClassDict`).
"""

import inspect


class Skip(Exception):
    """One command cannot be described; the others can."""


def class_name(cls):
    """module.QualName, or the bare name of a builtin."""
    module = getattr(cls, "__module__", None) or ""
    name = getattr(cls, "__qualname__", None) or getattr(cls, "__name__", repr(cls))
    if module in ("builtins", "exceptions", ""):
        return name
    return module + "." + name


def text(value, what):
    """bytes (or str) as str; Skip if they are not UTF-8."""
    if isinstance(value, str):
        return value
    try:
        return bytes(value).decode("utf-8")
    except (UnicodeDecodeError, TypeError):
        raise Skip("%s %r is not UTF-8 text" % (what, value))


class Walker:
    """Describes Command classes as schema commands (dicts ready for JSON).

    `amp` is the `twisted.protocols.amp` module and `accumulate` is
    `twisted.python.reflect.accumulateClassDict`; what cannot be carried
    over exactly (a `Raw` argument, a clash of error codes) is appended as
    one line of text to the list `warnings`. `command(cls)` raises `Skip`
    for a command that cannot be described at all.
    """

    def __init__(self, amp, accumulate, warnings):
        self.amp = amp
        self.accumulate = accumulate
        self.warnings = warnings
        self.simple = {
            amp.Integer: "Integer",
            amp.String: "String",
            amp.Unicode: "Unicode",
            amp.Boolean: "Boolean",
            amp.Float: "Float",
            amp.Decimal: "Decimal",
            amp.DateTime: "DateTime",
            amp.Path: "Path",
            amp.Descriptor: "Descriptor",
        }
        self.local = getattr(amp, "_LocalArgument", None)
        self.bases = (amp.Command, amp.ProtocolSwitchCommand)

    def is_command(self, obj):
        """Whether `obj` is a Command subclass (not Command itself)."""
        return (
            isinstance(obj, type)
            and issubclass(obj, self.amp.Command)
            and obj not in self.bases
        )

    def arg_type(self, arg, place):
        """The type object of argument instance `arg` (`place` names it in
        warnings): `{"type": ...}` and, for lists, `of` or `fields`."""
        cls = type(arg)
        if cls in self.simple:
            return {"type": self.simple[cls]}
        if cls is self.amp.ListOf:
            return {"type": "ListOf", "of": self.arg_type(arg.elementType, place + ", element")}
        if cls is self.amp.AmpList:
            return {"type": "AmpList", "fields": self.fields(arg.subargs, place, "field")}
        if cls.__name__ in ("BigString", "BigUnicode"):
            return {"type": cls.__name__}
        like = self.behaves_like(arg)
        if like is not None:
            return {"type": like}
        self.warnings.append(
            "%s: %s is not a type amp knows; kept as Raw (the value's bytes as they are)"
            % (place, class_name(cls))
        )
        return {"type": "Raw", "class": class_name(cls)}

    def samples(self):
        """Values each simple type carries, to probe an argument class
        with (Path and Descriptor need a filesystem or a connection: not
        probed)."""
        import datetime
        import decimal

        utc = datetime.timezone.utc
        return {
            "Integer": [0, 1, -7, 2**70, -(2**70)],
            "String": [b"", b"a", b"\x00\xff", b"x" * 1000],
            "Unicode": ["", "a", "\u00e9t\u00e9", "\u65e5\u672c"],
            "Boolean": [True, False],
            "Float": [0.0, 1.5, -2.25, 1e300, float("inf")],
            "Decimal": [decimal.Decimal("1.5"), decimal.Decimal("-0"), decimal.Decimal("1E+10")],
            "DateTime": [datetime.datetime(2020, 1, 2, 3, 4, 5, 6, tzinfo=utc)],
        }

    def behaves_like(self, arg):
        """The simple type whose wire form `arg` writes and reads for every
        sample value (its toBox/fromBox against the type's own), whatever
        its class or name; None if there is none."""
        samples = self.samples()
        for cls, name in self.simple.items():
            if name not in samples:
                continue
            try:
                ref = cls(optional=getattr(arg, "optional", False))
            except Exception:
                continue
            if all(self.same_wire(arg, ref, v) for v in samples[name]):
                return name
        return None

    @staticmethod
    def same_wire(arg, ref, value):
        """Whether `arg` writes `value` as `ref` does and reads it back."""
        try:
            mine, theirs = {}, {}
            arg.toBox(b"k", mine, {"k": value}, None)
            ref.toBox(b"k", theirs, {"k": value}, None)
            if mine != theirs:
                return False
            back = {}
            arg.fromBox(b"k", dict(theirs), back, None)
            got = back.get("k")
            return type(got) is type(value) and got == value
        except Exception:
            return False

    def fields(self, pairs, outer, noun):
        """The fields of a list of (wire name, argument) pairs: an
        `arguments`, a `response` or an `AmpList`'s `subargs`."""
        out = []
        for pair in pairs:
            try:
                raw_name, arg = pair
            except (TypeError, ValueError):
                raise Skip("%s: %r is not a (name, argument) pair" % (outer, pair))
            if self.local is not None and isinstance(arg, self.local):
                continue  # StartTLS's local-only arguments never reach the wire
            name = text(raw_name, noun + " name")
            field = {"name": name}
            field.update(self.arg_type(arg, "%s, %s %s" % (outer, noun, name)))
            if getattr(arg, "optional", False):
                field["optional"] = True
            out.append(field)
        return out

    def errors(self, cls, attr, place):
        """Error code -> exception name, for `errors` or `fatalErrors` of
        `cls` and its bases."""
        merged = {}
        self.accumulate(cls, attr, merged)
        table = {}
        for exception, raw_code in merged.items():
            code = text(raw_code, "error code")
            name = class_name(exception)
            if code in table and table[code] != name:
                self.warnings.append(
                    "%s: error code %s stands for both %s and %s; keeping %s"
                    % (place, code, table[code], name, name)
                )
            table[code] = name
        return table

    def doc(self, cls):
        """The docstring of `cls` or of the nearest Command base that has
        one, cleaned; None if none has. Twisted's own classes (amp.Command,
        amp.StartTLS, ...) are not the project's: their docstrings are
        never taken."""
        for klass in cls.__mro__:
            if (
                klass in self.bases
                or not self.is_command(klass)
                or klass.__module__ == self.amp.__name__
            ):
                break
            doc = klass.__dict__.get("__doc__")
            if isinstance(doc, str) and doc.strip():
                return inspect.cleandoc(doc)
        return None

    def command(self, cls):
        """The schema command (a dict) of Command class `cls`."""
        wire = text(cls.commandName, "commandName")
        place = "command " + wire
        out = {"name": wire}
        if cls.__qualname__ != wire:
            out["class"] = cls.__qualname__
        doc = self.doc(cls)
        if doc:
            out["doc"] = doc
        out["arguments"] = self.fields(cls.arguments, place, "argument")
        out["response"] = self.fields(cls.response, place, "response field")
        errors = self.errors(cls, "errors", place)
        fatal = self.errors(cls, "fatalErrors", place)
        for code in sorted(set(errors) & set(fatal)):
            self.warnings.append(
                "%s: error code %s is in both errors and fatalErrors; kept as fatal "
                "(as Twisted treats it)" % (place, code)
            )
            del errors[code]
        out["errors"] = errors
        out["fatalErrors"] = fatal
        out["requiresAnswer"] = bool(cls.requiresAnswer)
        if issubclass(cls, self.amp.StartTLS):
            out["kind"] = "starttls"
        elif issubclass(cls, self.amp.ProtocolSwitchCommand):
            out["kind"] = "switch"
        return out
