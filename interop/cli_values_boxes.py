#!/usr/bin/env python
"""Boxes written and read by Twisted, for the tests of ``amp decode`` and
``amp encode`` (crates/amp-cli/tests/decode.rs).

``cli_values_boxes.py write FILE``
    Write a stream of boxes with Twisted's own serialisation
    (``Command.makeArguments``/``makeResponse``, ``AmpBox.serialize``):

    1. a ``Types`` request (tag ``1``) with a ``String`` that is not UTF-8
       and a nested ``AmpList``;
    2. its answer;
    3. a ``getlist`` request (tag ``2``, Twisted's test command);
    4. its answer, an ``AmpList`` body;
    5. a ``Divide`` request (tag ``3``);
    6. its ``ZERO_DIVISION`` error;
    7. a ``hello`` request wanting no answer, its value not UTF-8.

``cli_values_boxes.py parse FILE``
    Parse FILE with Twisted's parser (``amp.parseString``) and print, for
    each box, ``BOX`` and its entries as JSON (bytes as Latin-1 text, so
    every byte shows), and for a ``Types`` request also ``ARGS`` and
    ``name=repr`` of what ``Types.parseArguments`` made of it (a datetime
    in ISO form, dict keys sorted).
"""

import datetime
import decimal
import json
import sys

from twisted.protocols import amp
from twisted.test.test_amp import GetList, Hello

from cli_values_peer import Types

UTC = datetime.timezone.utc

VALUES = {
    "num": -123456789012345678901234567890,
    "raw": b"\xff\x00bin",
    "text": "caf\u00e9\nline",
    "flag": True,
    "real": 0.1,
    "dec": decimal.Decimal("1.10"),
    "when": datetime.datetime(2024, 2, 29, 13, 5, 9, 123456, tzinfo=UTC),
    "ints": [1, 2, 300],
    "nested": [["a", "\u00e9"], []],
    "items": [
        {"n": 1, "tags": ["x", "y"], "note": "first"},
        {"n": 2, "tags": []},
    ],
}


def request(command, args, tag):
    box = command.makeArguments(args, None)
    box[b"_command"] = command.commandName
    if tag is not None:
        box[b"_ask"] = tag
    return box


def answer(command, values, tag):
    box = command.makeResponse(values, None)
    box[b"_answer"] = tag
    return box


def write(path):
    boxes = [
        request(Types, VALUES, b"1"),
        answer(Types, dict(VALUES, summary="ok"), b"1"),
        request(GetList, {"length": 2}, b"2"),
        answer(GetList, {"body": [{"x": 1}, {"x": 1}]}, b"2"),
        amp.AmpBox(_command=b"Divide", _ask=b"3", numerator=b"1", denominator=b"0"),
        amp.AmpBox(
            _error=b"3",
            _error_code=b"ZERO_DIVISION",
            _error_description=b"float division by zero",
        ),
        request(Hello, {"hello": b"\xfe\xff hi"}, None),
    ]
    with open(path, "wb") as f:
        for box in boxes:
            f.write(box.serialize())
    print("WROTE %d" % len(boxes), flush=True)


def show(v):
    """``repr``, but a datetime in ISO form and dict keys sorted."""
    if isinstance(v, datetime.datetime):
        return "datetime(%s)" % v.isoformat()
    if isinstance(v, list):
        return "[%s]" % ", ".join(show(x) for x in v)
    if isinstance(v, dict):
        return "{%s}" % ", ".join("%r: %s" % (k, show(v[k])) for k in sorted(v))
    return repr(v)


def parse(path):
    with open(path, "rb") as f:
        data = f.read()
    for box in amp.parseString(data):
        entries = {k.decode("latin-1"): v.decode("latin-1") for k, v in sorted(box.items())}
        print("BOX " + json.dumps(entries, sort_keys=True), flush=True)
        if box.get(b"_command") == Types.commandName:
            parsed = Types.parseArguments(box, None)
            print("ARGS " + " ".join("%s=%s" % (k, show(v)) for k, v in sorted(parsed.items())), flush=True)


def main(argv):
    if len(argv) == 3 and argv[1] == "write":
        write(argv[2])
    elif len(argv) == 3 and argv[1] == "parse":
        parse(argv[2])
    else:
        print(__doc__, file=sys.stderr)
        raise SystemExit(2)


if __name__ == "__main__":
    main(sys.argv)
