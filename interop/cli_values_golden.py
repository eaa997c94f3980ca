"""Golden wire bytes for amp-cli's JSON values (crates/amp-cli/src/value/tests.rs).

Each case is a schema type (in the schema file format) and a JSON value as
`amp call NAME:=JSON` takes it; Twisted's own argument class turns the
corresponding Python value into wire bytes. Run under the pinned Twisted:

    interop/.venv/bin/python interop/cli_values_golden.py

prints one Rust tuple per case, (type, json, hex of Twisted's bytes), to
paste into the GOLDEN table.
"""

import base64
import datetime
import decimal
import json

from twisted.protocols import amp
from twisted.python.filepath import FilePath

CASES = [
    ({"type": "Integer"}, 13),
    ({"type": "Integer"}, -7),
    ({"type": "Integer"}, 0),
    ({"type": "Integer"}, 18446744073709551615),
    ({"type": "Integer"}, "-123456789012345678901234567890"),
    ({"type": "Integer"}, " 1_000 "),
    ({"type": "String"}, "hello"),
    ({"type": "String"}, ""),
    ({"type": "String"}, {"base64": "/wBh"}),
    ({"type": "Unicode"}, "caf\u00e9 \u2603"),
    ({"type": "Boolean"}, True),
    ({"type": "Boolean"}, False),
    ({"type": "Float"}, 0.5),
    ({"type": "Float"}, 0.1),
    ({"type": "Float"}, 1e22),
    ({"type": "Float"}, 1e-7),
    ({"type": "Float"}, -0.0),
    ({"type": "Float"}, 3),
    ({"type": "Float"}, 123456789.123),
    ({"type": "Float"}, "nan"),
    ({"type": "Float"}, "-inf"),
    ({"type": "Decimal"}, "1.10"),
    ({"type": "Decimal"}, "-0"),
    ({"type": "Decimal"}, "1.5e3"),
    ({"type": "Decimal"}, "NaN"),
    ({"type": "Decimal"}, "-Infinity"),
    ({"type": "Decimal"}, 12),
    ({"type": "DateTime"}, "2024-02-29T13:05:09.000000+05:30"),
    ({"type": "DateTime"}, "2024-02-29T13:05:09.123456-08:00"),
    ({"type": "DateTime"}, "2000-01-01T00:00:00+00:00"),
    ({"type": "Path"}, "/tmp/x y"),
    ({"type": "ListOf", "of": {"type": "Integer"}}, [1, 2, 300]),
    ({"type": "ListOf", "of": {"type": "Integer"}}, []),
    ({"type": "ListOf", "of": {"type": "Unicode"}}, ["a", "\u00e9", ""]),
    ({"type": "ListOf", "of": {"type": "Boolean"}}, [True, False]),
    ({"type": "ListOf", "of": {"type": "Float"}}, [0.5, "inf"]),
    ({"type": "ListOf", "of": {"type": "Decimal"}}, ["1.10", "NaN"]),
    ({"type": "ListOf", "of": {"type": "DateTime"}}, ["2012-01-23T12:34:56.054321-01:23"]),
    ({"type": "ListOf", "of": {"type": "ListOf", "of": {"type": "Integer"}}}, [[1], [2, 3], []]),
    ({"type": "AmpList", "fields": [{"name": "a", "type": "Integer"},
                                    {"name": "b", "type": "Unicode", "optional": True}]},
     [{"a": 1, "b": "x"}, {"a": 2}]),
    ({"type": "AmpList", "fields": [{"name": "xs", "type": "ListOf", "of": {"type": "String"}},
                                    {"name": "when", "type": "DateTime"}]},
     [{"xs": ["p", {"base64": "/w=="}], "when": "1999-12-31T23:59:59.999999+00:00"}]),
]


def argument(ty):
    """The Twisted argument for a schema type."""
    t = ty["type"]
    if t == "ListOf":
        return amp.ListOf(argument(ty["of"]))
    if t == "AmpList":
        return amp.AmpList([
            (f["name"].encode(), argument_opt(f)) for f in ty["fields"]
        ])
    return getattr(amp, t)()


def argument_opt(field):
    a = argument(field)
    a.optional = field.get("optional", False)
    return a


def value(ty, v):
    """The Python value a JSON value stands for."""
    t = ty["type"]
    if isinstance(v, dict) and list(v) == ["base64"]:
        return base64.b64decode(v["base64"])
    if t == "Integer":
        return int(v)
    if t == "String":
        return v.encode("utf-8")
    if t == "Unicode":
        return v
    if t == "Boolean":
        return v
    if t == "Float":
        return float(v)
    if t == "Decimal":
        return decimal.Decimal(str(v))
    if t == "DateTime":
        return datetime.datetime.fromisoformat(v)
    if t == "Path":
        return FilePath(v)
    if t == "ListOf":
        return [value(ty["of"], x) for x in v]
    if t == "AmpList":
        types = {f["name"]: f for f in ty["fields"]}
        return [{k: value(types[k], x) for k, x in item.items()} for item in v]
    raise ValueError(t)


def wire(ty, v):
    arg = argument(ty)
    if ty["type"] == "AmpList":
        return arg.toStringProto(value(ty, v), None)
    return arg.toString(value(ty, v))


for ty, v in CASES:
    print('    (r#"%s"#, r#"%s"#, "%s"),' % (
        json.dumps(ty, separators=(",", ":")),
        json.dumps(v, separators=(",", ":")),
        wire(ty, v).hex(),
    ))
