"""amp schema import: describe the twisted.protocols.amp.Command subclasses
of a Python module as an amp schema (docs/SCHEMA.md).

Run by `amp` as `python -c THIS_SCRIPT MODULE[:NAME,...]`. It writes one
JSON object to its standard output and nothing else:

    {"schema": {...}, "warnings": ["...", ...]}
    {"error": "...", "hint": "...", "warnings": [...]}

Whatever the imported module prints goes to standard error instead.

This file is the driver only: the `amp` binary runs it appended to
python/amp_reflect/amp_reflect/schema.py (the walker `amp_reflect` shares),
whose `Walker`, `Skip`, `text` and `class_name` it uses.
"""

import importlib
import json
import os
import sys
import traceback


class Failure(Exception):
    """The import cannot go on: a message and a hint for the user."""

    def __init__(self, message, hint):
        Exception.__init__(self, message)
        self.hint = hint


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
