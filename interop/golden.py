"""Golden values from Twisted's AMP, for crates/amp-wire/tests/golden/.

Usage (under interop/.venv/bin/python):

    golden.py            print every golden case as JSON (see below)
    golden.py check      read "TYPE HEX" lines on stdin (values encoded by
                         amp-rs), parse each with Twisted's fromString and
                         print one JSON object per line: {"value": ...,
                         "wire": ...} or {"error": ...}

A golden case is a JSON object of strings:

    id     unique name
    kind   "box"  : wire = AmpBox(entries).serialize(); value = entries
           "to"   : wire = Twisted's toString(value)
           "from" : input = a text Python accepts or rejects; value = the
                    parsed value ("ERROR" when Twisted rejects it); wire =
                    toString of the parsed value
    type   integer | float | decimal | datetime | boolean | unicode |
           string | path | listof_integer | listof_unicode |
           listof_listof_integer | amplist
    value  the value, described as in describe() below
    input  hex (kind "from" only)
    wire   hex

Binary data and text are hex-encoded so the JSON needs no escapes.
"""

import datetime
import decimal
import json
import struct
import sys

from twisted.protocols import amp
from twisted.python.filepath import FilePath

TYPES = {
    "integer": amp.Integer(),
    "float": amp.Float(),
    "decimal": amp.Decimal(),
    "datetime": amp.DateTime(),
    "boolean": amp.Boolean(),
    "unicode": amp.Unicode(),
    "string": amp.String(),
    "path": amp.Path(),
    "listof_integer": amp.ListOf(amp.Integer()),
    "listof_unicode": amp.ListOf(amp.Unicode()),
    "listof_listof_integer": amp.ListOf(amp.ListOf(amp.Integer())),
    "amplist": amp.AmpList([(b"a", amp.Integer()), (b"b", amp.Unicode())]),
}


def describe(ty, v):
    """A canonical text description of a parsed value."""
    if ty == "integer":
        return str(v)
    if ty == "float":
        if v != v:
            return "-nan" if struct.pack(">d", v)[0] & 0x80 else "nan"
        return struct.pack(">d", v).hex()
    if ty == "decimal":
        t = v.as_tuple()
        if isinstance(t.exponent, str):
            return str(v)  # specials: exact text
        return "%d|%s|%d" % (t.sign, "".join(map(str, t.digits)), t.exponent)
    if ty == "datetime":
        off = v.utcoffset()
        secs = off.days * 86400 + off.seconds
        return "%d,%d,%d,%d,%d,%d,%d,%d" % (
            v.year,
            v.month,
            v.day,
            v.hour,
            v.minute,
            v.second,
            v.microsecond,
            secs,
        )
    if ty == "boolean":
        return str(v)
    if ty == "unicode":
        return v.encode("utf-8").hex()
    if ty == "path":
        return v.asTextMode().path.encode("utf-8").hex()
    if ty == "string":
        return v.hex()
    # Lists: "<count>:" then the items, so [] and [""] differ.
    if ty == "listof_integer":
        return "%d:%s" % (len(v), ",".join(str(x) for x in v))
    if ty == "listof_unicode":
        return "%d:%s" % (len(v), ",".join(x.encode("utf-8").hex() for x in v))
    if ty == "listof_listof_integer":
        return "%d:%s" % (len(v), ";".join(describe("listof_integer", inner) for inner in v))
    if ty == "amplist":
        return "%d:%s" % (len(v), ";".join("%d,%s" % (d["a"], d["b"].encode("utf-8").hex()) for d in v))
    raise ValueError(ty)


def to_wire(ty, v):
    if ty == "amplist":
        return TYPES[ty].toStringProto(v, None)
    return TYPES[ty].toString(v)


def from_wire(ty, b):
    if ty == "amplist":
        return TYPES[ty].fromStringProto(b, None)
    return TYPES[ty].fromString(b)


class TZ(datetime.tzinfo):
    def __init__(self, minutes):
        self.off = datetime.timedelta(minutes=minutes)

    def utcoffset(self, dt):
        return self.off

    def dst(self, dt):
        return datetime.timedelta(0)


def to_cases():
    D = decimal.Decimal
    vals = {
        "integer": [
            0,
            1,
            -1,
            42,
            -42,
            127,
            -128,
            255,
            65535,
            2**31 - 1,
            -(2**31),
            2**63 - 1,
            -(2**63),
            2**64 - 1,
            2**64,
            2**127 - 1,
            -(2**127),
            2**128 - 1,
            2**128,
            10**40,
            -(10**60) - 7,
        ],
        "float": [
            0.0,
            -0.0,
            1.0,
            5.0,
            0.1,
            0.2,
            0.3,
            1 / 3,
            -2.5,
            100.0,
            1e15,
            1e16,
            1e17,
            1e22,
            1e23,
            1e-4,
            1e-5,
            1.5e-5,
            0.000123,
            1.5e300,
            -1.5e-300,
            5e-324,
            2.2250738585072014e-308,
            1.7976931348623157e308,
            123456789012345.6,
            1234567890123456.8,
            9007199254740993.0,
            float("inf"),
            float("-inf"),
            float("nan"),
        ],
        "decimal": [
            D("1.50"),
            D("1E+2"),
            D("100"),
            D("-0"),
            D("0"),
            D("0E-7"),
            D("0.0000000"),
            D("1E-7"),
            D("0.000001"),
            D("0.0000001"),
            D("-1.5E+300"),
            D("123456789012345678901234567890.123"),
            D("Infinity"),
            D("-Infinity"),
            D("NaN"),
            D("-NaN"),
            D("sNaN"),
            D("-sNaN"),
            D("NaN123"),
            D("-sNaN00045"),
            D("1e999999999999999999"),
            D("1e-1999999999999999997"),
            D("0e999999999999999999"),
            D("12.345e3"),
            D("12.345e-3"),
            D("-0.00E+5"),
        ],
        "datetime": [
            datetime.datetime(2012, 1, 23, 12, 34, 56, 54321, tzinfo=amp.utc),
            datetime.datetime(2024, 2, 29, 13, 5, 9, 0, tzinfo=TZ(330)),
            datetime.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=TZ(-480)),
            datetime.datetime(1, 1, 1, 0, 0, 0, 0, tzinfo=amp.utc),
            datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=amp.utc),
            datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=TZ(1439)),
            datetime.datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=TZ(-1439)),
            datetime.datetime(987, 6, 5, 4, 3, 2, 1, tzinfo=TZ(1)),
            datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc),
        ],
        "boolean": [True, False],
        "unicode": ["", "hello", "h\u00e9llo w\u00f6rld", "\u65e5\u672c\u8a9e", "\U0001f600", "a\x00b"],
        "string": [b"", b"\x00\xff\x80binary", b"plain"],
        "path": ["/tmp/x", "rel/\u00e9t\u00e9"],
        "listof_integer": [[], [0], [1, -2, 3], [2**70, -(2**70)]],
        "listof_unicode": [[], [""], ["a", "\u00e9", "\U0001f600"]],
        "listof_listof_integer": [[], [[]], [[1, 2], [], [3]]],
        "amplist": [[], [{"a": 1, "b": "x"}], [{"a": -5, "b": "\u00e9"}, {"a": 2**65, "b": ""}]],
    }
    cases = []
    for ty, vs in vals.items():
        for i, v in enumerate(vs):
            if ty == "path":
                v = FilePath(v)
            wire = to_wire(ty, v)
            desc = describe(ty, v)
            cases.append(
                {"id": "to-%s-%d" % (ty, i), "kind": "to", "type": ty, "value": desc, "wire": wire.hex()}
            )
    return cases


FROM_INPUTS = {
    "integer": [
        b"0",
        b" +1_000 ",
        b" -0_1 ",
        b"\t42\n",
        b"\x0b7\x0c",
        b"-00",
        b"123456789012345678901234567890",
        b"",
        b" ",
        b"1__0",
        b"_1",
        b"1_",
        b"0x10",
        b"1.0",
        b"+-1",
        b"1 0",
        b"\x1c1",
    ],
    "float": [
        b" 1_0.5 ",
        b"1e5",
        b".5",
        b"5.",
        b"1E+05",
        b"-1e-5",
        b"+inf",
        b"-Infinity",
        b"iNfInItY",
        b"nan",
        b"-NaN",
        b"1_000.000_1e1_0",
        b"\t\n\x0b\x0c\r 3.25 \r",
        b"1e99999",
        b"-1e-99999",
        b"0.1000000000000000055511151231257827021181583404541015625",
        b"2.4703282292062328e-324",
        b"2.4703282292062327e-324",
        b"179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497791.9",
        b"",
        b" ",
        b".",
        b"e5",
        b"1e",
        b"1e+",
        b"_1",
        b"1_",
        b"1__0",
        b"1_.5",
        b"1._5",
        b"1_e5",
        b"0x10",
        b"in_f",
        b"nan(1)",
        b"infinit",
        b"1 0",
        b"\x1c1",
        b"1\x00",
    ],
    "decimal": [
        b" 1.5e3 ",
        b"1.50",
        b"1_0.5_0",
        b"_1_",
        b"1__0",
        b"\x1c\x1d 5 \x1e\x1f",
        b"-0",
        b"+0.000",
        b"00.10",
        b".5",
        b"5.",
        b"1.e1",
        b"1e_5",
        b"inf",
        b"-INFINITY",
        b"nan",
        b"-nan",
        b"NaN0012",
        b"snan",
        b"-sNaN0045",
        b"s_nan",
        b"0.0000001",
        b"123e-9",
        b"1e999999999999999999",
        b"1e-1999999999999999997",
        b"0e-1999999999999999997",
        b"",
        b"_",
        b".",
        b".e1",
        b"1e",
        b"0x10",
        b"1 0",
        b"_ 1",
        b"+-1",
        b"nan1.5",
        b"infx",
        b"1e1000000000000000000",
        b"10e999999999999999999",
        b"0e1000000000000000000",
        b"1e-1999999999999999998",
        b"0e-1999999999999999998",
        b"1e99999999999999999999999999",
        b"\xc3\xa9",
    ],
    "datetime": [
        b"2012-01-23T12:34:56.054321-00:00",
        b"2012-01-23T12:34:56.054321+00:00",
        b"2020x01y02z03:04:05.000006+01:00",
        b" 202-01-02T03:04:05.1_0000+ 1: 5",
        b"2020-01-02T03:04:05.000000+-1:00",
        b"2020-01-02T03:04:05.000000-23:59",
        b"0001-01-01T00:00:00.000000+01:00",
        b"2020-01-02T03:04:05.000000*01:00",
        b"2020-02-30T03:04:05.000000+01:00",
        b"2020-01-02T24:04:05.000000+01:00",
        b"2020-01-02T03:04:60.000000+01:00",
        b"0000-01-02T03:04:05.000000+01:00",
        b"2020-01-02T03:04:05.-00001+01:00",
        b"2020-01-02T03:04:05.000000+01:0",
        b"2020-01-02T03:04:05.000000+01:000",
        b"2020-01-02T03:04:05.000000+0x:00",
    ],
    "boolean": [b"True", b"False", b"true", b" True", b"1", b""],
    "unicode": [b"\xc3\xa9", b"\xff", b"\xc3"],
    "listof_integer": [b"", b"\x00\x011\x00\x02-2", b"\x00\x02 3", b"\x00", b"\x00\x05ab"],
    "amplist": [b"", b"\x00\x01a\x00\x011\x00\x01b\x00\x01x\x00\x00", b"\x00\x01a\x00\x011\x00\x00", b"\x00\x01a"],
}


def from_cases():
    cases = []
    for ty, inputs in FROM_INPUTS.items():
        for i, raw in enumerate(inputs):
            case = {"id": "from-%s-%d" % (ty, i), "kind": "from", "type": ty, "input": raw.hex()}
            try:
                v = from_wire(ty, raw)
                case["value"] = describe(ty, v)
                case["wire"] = to_wire(ty, v).hex()
            except Exception:
                case["value"] = "ERROR"
                case["wire"] = ""
            cases.append(case)
    return cases


def box_cases():
    boxes = [
        [],
        [(b"a", b"1")],
        [(b"_ask", b"1"), (b"_command", b"Sum"), (b"a", b"1"), (b"b", b"2")],
        [(b"b", b"2"), (b"a", b"1"), (b"\xff", b""), (b"\x00", b"\x00")],
        [(b"k" * 255, b"v" * 65535)],
        [(b"x", b"")],
        [(b"_answer", b"a"), (b"total", b"3")],
    ]
    cases = []
    for i, entries in enumerate(boxes):
        b = amp.AmpBox()
        for k, v in entries:
            b[k] = v
        cases.append(
            {
                "id": "box-%d" % i,
                "kind": "box",
                "type": "box",
                "value": "%d:%s" % (len(entries), ";".join("%s=%s" % (k.hex(), v.hex()) for k, v in entries)),
                "wire": b.serialize().hex(),
            }
        )
    return cases


def check():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        ty, _, hx = line.partition(" ")
        try:
            v = from_wire(ty, bytes.fromhex(hx))
            out = {"value": describe(ty, v), "wire": to_wire(ty, v).hex()}
        except Exception as e:
            out = {"error": type(e).__name__}
        print(json.dumps(out))


def main():
    if sys.argv[1:] == ["check"]:
        check()
        return
    cases = box_cases() + to_cases() + from_cases()
    print("[")
    print(",\n".join(json.dumps(c) for c in cases))
    print("]")


if __name__ == "__main__":
    main()
