"""amp schema import: describe the twisted.protocols.amp.Command subclasses
of a Python module as an amp schema (docs/SCHEMA.md).

Run by `amp` as `python -c THIS_SCRIPT MODULE[:NAME,...]`. It writes one
JSON object to its standard output and nothing else:

    {"schema": {...}, "warnings": ["...", ...]}
    {"error": "...", "hint": "...", "warnings": [...]}

Whatever the imported module prints goes to standard error instead.
"""

import importlib
import inspect
import json
import os
import sys
import traceback


class Failure(Exception):
    """The import cannot go on: a message and a hint for the user."""

    def __init__(self, message, hint):
        Exception.__init__(self, message)
        self.hint = hint


class Skip(Exception):
    """One command cannot be described; the others can."""


HINT_PATH = (
    "check the module name; run amp from the directory that holds the module, "
    "set PYTHONPATH, or give the Python of the project's virtualenv with "
    "--python PATH (or AMP_PYTHON)"
)


def exception_text():
    """The current exception as one line, with the place it was raised."""
    kind, value, tb = sys.exc_info()
    text = "".join(traceback.format_exception_only(kind, value)).strip()
    frames = traceback.extract_tb(tb)
    if frames and kind is not ModuleNotFoundError:
        last = frames[-1]
        text += " (at %s line %d)" % (last.filename, last.lineno)
    return text


def load_amp():
    try:
        from twisted.protocols import amp
        from twisted.python.reflect import accumulateClassDict
    except Exception:
        raise Failure(
            "cannot import twisted.protocols.amp with %s: %s"
            % (sys.executable, exception_text()),
            "give a Python that has Twisted: --python PATH (or AMP_PYTHON)",
        )
    return amp, accumulateClassDict


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
        return (
            isinstance(obj, type)
            and issubclass(obj, self.amp.Command)
            and obj not in self.bases
        )

    def arg_type(self, arg, place):
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
        for klass in cls.__mro__:
            if klass in self.bases or not self.is_command(klass):
                break
            doc = klass.__dict__.get("__doc__")
            if isinstance(doc, str) and doc.strip():
                return inspect.cleandoc(doc)
        return None

    def command(self, cls):
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


def pick(module, module_name, names, walker):
    """The command classes: the NAMEs given (attribute or wire name), else
    every one the module defines or imports, in the module's order."""
    found = []
    for value in list(vars(module).values()):
        if walker.is_command(value) and value not in found:
            found.append(value)
    if not names:
        if not found:
            raise Failure(
                "%s defines no twisted.protocols.amp.Command subclass" % module_name,
                "name the module that defines the commands (say package.commands), "
                "or pick classes with MODULE:NAME,NAME",
            )
        return found
    chosen = []
    for name in names:
        obj = module
        try:
            for part in name.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            obj = None
            for cls in found:
                if getattr(cls, "commandName", None) == name.encode("utf-8"):
                    obj = cls
                    break
        if obj is None:
            listed = ", ".join(c.__qualname__ for c in found) or "none"
            raise Failure(
                "%s has no command %s" % (module_name, name),
                "its commands are: %s" % listed,
            )
        if not walker.is_command(obj):
            raise Failure(
                "%s.%s is not a twisted.protocols.amp.Command subclass" % (module_name, name),
                "name Command subclasses only",
            )
        if obj not in chosen:
            chosen.append(obj)
    return chosen


def build(spec, warnings):
    module_name, _, wanted = spec.partition(":")
    names = [n.strip() for n in wanted.split(",") if n.strip()]
    if not module_name:
        raise Failure("no module named in %r" % spec, "use MODULE or MODULE:NAME,NAME")
    amp, accumulate = load_amp()
    walker = Walker(amp, accumulate, warnings)
    try:
        module = importlib.import_module(module_name)
    except BaseException:
        raise Failure(
            "cannot import %s with %s: %s" % (module_name, sys.executable, exception_text()),
            HINT_PATH,
        )
    commands = []
    taken = {}
    for cls in pick(module, module_name, names, walker):
        try:
            wire = text(cls.commandName, "commandName")
            if wire in taken:
                raise Skip(
                    "its wire name %s is taken by %s (import it alone with %s:%s)"
                    % (wire, taken[wire], module_name, cls.__qualname__)
                )
            described = walker.command(cls)
        except Skip as e:
            warnings.append("skipped %s: %s" % (cls.__qualname__, e))
            continue
        except Exception:
            warnings.append("skipped %s: %s" % (cls.__qualname__, exception_text()))
            continue
        taken[wire] = cls.__qualname__
        commands.append(described)
    if not commands:
        raise Failure("no command of %s could be described" % module_name, "see the warnings")
    return {"source": module_name, "commands": commands}


def main():
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # the module's own prints must not mix with the answer
    sys.stdout = sys.stderr
    result = {"warnings": []}
    try:
        result["schema"] = build(sys.argv[1] if len(sys.argv) > 1 else "", result["warnings"])
    except Failure as e:
        result["error"] = str(e)
        result["hint"] = e.hint
    except BaseException:
        result["error"] = "the import script failed: " + exception_text()
        result["hint"] = traceback.format_exc()
    json.dump(result, out)
    out.close()
    # Threads or exit hooks the module left behind must not keep amp waiting.
    for stream in (sys.stderr, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(0)


main()
