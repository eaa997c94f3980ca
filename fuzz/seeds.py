#!/usr/bin/env python3
"""Writes the hand-made seeds of fuzz/corpus/<target>/seed-*.

    python3 fuzz/seeds.py

Each seed is a meaningful input in the layout documented at the top of
harness/src/<target>.rs. The `session` seeds are scripts encoded the way
the `arbitrary` crate (1.x) reads the harness's types: integers
little-endian, an enum variant as a u32 `v` with `(v * count) >> 32 ==
index`, a bool as one byte, `Option` and every `Vec` element preceded by a
bool byte. If the types in harness/src/session.rs change, change the
encoders below to match (and check the seeds still do what they say with
`AMP_FUZZ_TRACE=1 cargo run --release -p amp-fuzz-harness --bin replay --
session fuzz/corpus/session/seed-*`).

The `session` seeds named `*-routes*`, `*-route-*` and `*keepalive*` are in
format 2 (bit 1 of the first byte set): after the header comes each side's
keepalive settings, and every step starts with a selector byte (below 0xc0:
an original step; from 0xc0: a route or keepalive step, `XOp`).

The `capture` seeds are real pcap and pcapng files written below with
`struct` (Ethernet, Linux cooked, raw IP and loopback links, IPv4 and IPv6,
a packet cut by the snap length, a UDP one), and scripts of TCP segments
(layouts at the top of harness/src/capture.rs).
"""

import os
import struct

FUZZ = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(FUZZ, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def box(*entries):
    """One AMP box from (key, value) pairs, in the order given."""
    out = b""
    for k, v in entries:
        k = k.encode() if isinstance(k, str) else k
        v = v.encode() if isinstance(v, str) else v
        out += struct.pack(">H", len(k)) + k + struct.pack(">H", len(v)) + v
    return out + b"\x00\x00"


def listof(*items):
    """A ListOf value."""
    out = b""
    for i in items:
        i = i.encode() if isinstance(i, str) else i
        out += struct.pack(">H", len(i)) + i
    return out


SUM_REQUEST = box(("_ask", "1"), ("_command", "Sum"), ("a", "13"), ("b", "81"))
SUM_ANSWER = box(("_answer", "1"), ("total", "94"))
ERROR = box(("_error", "2"), ("_error_code", "UNHANDLED"),
            ("_error_description", "Unhandled Command: b'Nope'"))

# ------------------------------------------------------------ box_decoder

write("box_decoder", "sum-request", b"\x00" + SUM_REQUEST)
write("box_decoder", "conversation",
      b"\x00" + SUM_REQUEST + SUM_ANSWER + ERROR + box() + box(("_command", "Ping")))
write("box_decoder", "unsorted-repeats",
      b"\x00" + box(("b", "1"), ("a", "2"), ("b", "3"), ("_answer", "x"), ("z", "")))
write("box_decoder", "partial", b"\x00" + SUM_ANSWER + SUM_REQUEST[:17])
write("box_decoder", "key-too-long", b"\x00" + SUM_ANSWER + b"\x01\x00" + b"k" * 256)
write("box_decoder", "large-value", b"\x00" + box(("data", bytes(range(256)) * 8)))
# Small limits: 64 bytes, 3 entries; the second box breaks both.
write("box_decoder", "small-limits",
      b"\x01\x00\x40\x03" + box(("a", "1")) + box(("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")))
# Chunks of 1, 3 and 7 bytes.
write("box_decoder", "chunked", b"\x02\x02\x01\x03\x07" + SUM_REQUEST + SUM_ANSWER)
write("box_decoder", "small-limits-chunked",
      b"\x03\x01\x00\x08\x03\x00\x01\x05\x02" + SUM_REQUEST * 3 + box(("k", "v" * 300)))

# ----------------------------------------------------------------- values

TYPES = [
    "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize",
    "BigInt", "BigUint", "bool", "Bytes", "Vec<u8>", "String", "PathBuf", "f64", "f32",
    "Decimal", "rust_decimal::Decimal", "DateTime<FixedOffset>", "DateTime<Utc>", "Vec<i64>",
    "Vec<Vec<String>>", "Option<i64>", "Option<Vec<f64>>", "Vec<Decimal>",
    "Vec<DateTime<Utc>>", "Vec<bool>", "Vec<Vec<u8>>", "Vec<u16>", "Vec<BigInt>",
    "Vec<Option<i32>>", "Vec<f32>", "Vec<Vec<Vec<i64>>>", "Option<DateTime<FixedOffset>>",
    "Vec<rust_decimal::Decimal>",
]

n = 0


def value(ty, raw):
    global n
    raw = raw.encode() if isinstance(raw, str) else raw
    n += 1
    write("values", "%02d-%s" % (n, ty.replace("<", "-").replace(">", "").replace("::", ".")),
          bytes([TYPES.index(ty)]) + raw)


for ty, raw in [
    ("i64", "13"), ("i64", " +1_000\x0b"), ("i64", "-9223372036854775808"),
    ("i8", "-128"), ("u8", "255"), ("u128", "340282366920938463463374607431768211455"),
    ("i128", "-170141183460469231731687303715884105728"), ("usize", "0"),
    ("BigInt", "-123456789012345678901234567890123456789012345678901234567890"),
    ("BigUint", "-0"),
    ("bool", "True"), ("bool", "False"),
    ("Bytes", b"\x00\xff binary"), ("String", "h\u00e9llo \u2603"), ("PathBuf", "/tmp/x y"),
    ("f64", "1e+16"), ("f64", "nan"), ("f64", "-inf"), ("f64", "0.1"), ("f64", " 1_0.5 "),
    ("f64", "5e-324"), ("f64", "1.7976931348623157e+308"), ("f64", "-0.0"), ("f64", "1E5"),
    ("f64", "Infinity"), ("f64", "123456789012345.6"), ("f64", "1.5e-05"),
    ("f32", "0.1"), ("f32", "3.4028235e+38"), ("f32", "1e-46"),
    ("Decimal", "1.50"), ("Decimal", "-sNaN"), ("Decimal", "1E+2"), ("Decimal", " 1_0.50 "),
    ("Decimal", "-0E-7"), ("Decimal", "NaN123"), ("Decimal", "-Infinity"),
    ("Decimal", "1e999999999999999999"), ("Decimal", "0.000001"), ("Decimal", "-snan0012"),
    ("rust_decimal::Decimal", "1.50"), ("rust_decimal::Decimal", "79228162514264337593543950335"),
    ("rust_decimal::Decimal", "-0.0"), ("rust_decimal::Decimal", "1.5E+3"),
    ("rust_decimal::Decimal", "0.0000000000000000000000000001000"),
    ("DateTime<FixedOffset>", "2012-01-23T12:34:56.054321-01:23"),
    ("DateTime<FixedOffset>", "0001-01-01T00:00:00.000000+05:30"),
    ("DateTime<FixedOffset>", "9999-12-31T23:59:59.999999-00:01"),
    ("DateTime<FixedOffset>", " 202-01-02T03:04:05.1_0000+ 1: 5"),
    ("DateTime<FixedOffset>", "2020-01-02T03:04:05.000000+-1:00"),
    ("DateTime<Utc>", "2012-01-23T12:34:56.054321-01:23"),
    ("DateTime<Utc>", "0001-01-01T00:00:00.000000+05:30"),
    ("DateTime<Utc>", "0001-01-01T05:30:00.000000+05:30"),
    ("DateTime<Utc>", "9999-12-31T23:59:59.999999-00:01"),
    ("DateTime<Utc>", "2000-01-01T00:00:00.000000+23:59"),
    ("Vec<i64>", listof("1", "13", "-5", " 7 ")),
    ("Vec<Vec<String>>", listof(listof("a", "b\u00e9"), listof(), listof(""))),
    ("Option<i64>", "42"),
    ("Option<Vec<f64>>", listof("1e+16", "nan", "0.5")),
    ("Vec<Decimal>", listof("1.50", "-sNaN", "1E+2")),
    ("Vec<DateTime<Utc>>", listof("2012-01-23T12:34:56.054321-01:23",
                                  "0001-01-01T00:00:00.000000+05:30")),
    ("Vec<bool>", listof("True", "False")),
    ("Vec<Vec<u8>>", listof(b"\x00\x01", b"")),
    ("Vec<u16>", listof("65535", "0")),
    ("Vec<BigInt>", listof("1" * 50, "-0")),
    ("Vec<Option<i32>>", listof("1", "-2147483648")),
    ("Vec<f32>", listof("0.1", "inf")),
    ("Vec<Vec<Vec<i64>>>", listof(listof(listof("1", "2"), listof()), listof())),
    ("Option<DateTime<FixedOffset>>", "2024-02-29T13:05:09.000000+05:30"),
    ("Vec<rust_decimal::Decimal>", listof("1.50", "-0.0")),
]:
    value(ty, raw)

# ---------------------------------------------------------- typed_command


def n_box(depth):
    """N { k: [N { k: [...] }] } nested `depth` records deep."""
    b = box()
    for _ in range(depth - 1):
        b = box(("k", b))
    return b


write("typed_command", "sum", b"\x00" + box(("a", "13"), ("b", "81")))
write("typed_command", "sum-request", b"\x00" + SUM_REQUEST)
write("typed_command", "sum-no-b", b"\x00" + box(("a", " -7 "), ("c", "ignored")))
write("typed_command", "mixed", b"\x01" + box(
    ("amount", "1.50"), ("big", "1" * 40), ("blob", b"\x00\x01"), ("flag", "True"),
    ("name", "caf\u00e9"), ("path", "/tmp"), ("ratio", "1e+16"), ("small", "0.1"),
    ("tags", listof("a", "b")), ("utc", "2012-01-23T12:34:56.054321-01:23"),
    ("when", "2012-01-23T12:34:56.054321-01:23"), ("worth", "-0.0")))
write("typed_command", "mixed-nan", b"\x01" + box(("name", ""), ("ratio", "nan"),
                                                  ("amount", "-sNaN"), ("small", "-inf")))
item = box(("k", "x"), ("v", listof("1", "2")))
write("typed_command", "outer", b"\x02" + box(
    ("grid", listof(listof(listof("1"), listof()), listof())),
    ("items", item + box(("k", "y"))),
    ("one", item),
    ("pages", listof(item + item, b""))))
for depth in [1, 3, 8, 9, 10, 64, 65, 66, 200]:
    write("typed_command", "n-depth-%d" % depth, b"\x03" + n_box(depth))
write("typed_command", "n-wide", b"\x03" + box(("k", n_box(2) * 5 + n_box(4))))

# ---------------------------------------------------------------- session


def u8(x): return bytes([x & 0xff])
def u16(x): return struct.pack("<H", x)
def boolean(x): return b"\x01" if x else b"\x00"


def variant(index, count):
    v = ((index << 32) + count - 1) // count
    assert (v * count) >> 32 == index
    return struct.pack("<I", v)


def vec(items):
    return b"".join(b"\x01" + i for i in items) + b"\x00"


def option(x):
    return b"\x00" if x is None else b"\x01" + x


def cfg(small=False, box_size=0, entries=0, nesting=0, in_flight=0, high_water=0, held=0,
        timeouts=0, tls=False, switch=False):
    return (boolean(small) + u16(box_size) + u8(entries) + u8(nesting) + u8(in_flight)
            + u16(high_water) + u16(held) + u8(timeouts) + boolean(tls) + boolean(switch))


def header(pair, accepted, a, b=None):
    return boolean(pair) + boolean(accepted) + a + (b if b is not None else cfg())


NAMES = ["Sum", "Ping", "StartTLS", "Switch", "Nope"]
def name(n): return variant(NAMES.index(n), 5)


def key(k):
    fixed = {"a": 0, "b": 1, "total": 2, "data": 3}
    if k in fixed:
        return variant(fixed[k], 6)
    return variant(5, 6) + vec([u8(c) for c in k.encode()])


def raw(b):
    return vec([u8(c) for c in b])


def args(*pairs):
    return vec([key(k) + raw(v.encode() if isinstance(v, str) else v) for k, v in pairs])


def tag_ours(i): return variant(0, 3) + u8(i)
def tag_small(i): return variant(1, 3) + u8(i)


OPS = 20
def op(index, *fields): return variant(index, OPS) + b"".join(fields)


def push_raw(b): return op(0, raw(b))
def push_request(n, ask=None, *a): return op(1, variant(0, 4), name(n), option(ask), args(*a))
def push_answer(tag, *a): return op(1, variant(1, 4), tag, args(*a))
def push_error(tag, code, desc): return op(1, variant(2, 4), tag, option(raw(code)), option(raw(desc)))
def deliver(n=0xffff, b=False, how=0): return op(2, boolean(b), u16(n), variant(how, 3))
def call(n="Sum", b=False, *a): return op(3, boolean(b), name(n), args(*a))
def notify(n="Ping", b=False, *a): return op(4, boolean(b), name(n), args(*a))
def switch(b=False): return op(5, boolean(b))
def start_tls(b=False): return op(6, boolean(b))
def conclude(how, b=False, idx=0): return op(7, boolean(b), u8(idx), how)
def transmit(n=0xffff, b=False): return op(8, boolean(b), u16(n))
def poll_reply(idx=0, b=False): return op(9, boolean(b), u8(idx))
def abandon(idx=0, b=False): return op(10, boolean(b), u8(idx))
def poll_writable(b=False): return op(11, boolean(b))
def advance(ms): return op(12, u16(ms // 16))
def tls(ok=True, b=False): return op(13, boolean(b), boolean(ok))
def handed_over(b=False): return op(14, boolean(b))
def eof(b=False): return op(15, boolean(b))
def close(b=False): return op(16, boolean(b))
def shutdown(b=False): return op(17, boolean(b))
def abort(b=False): return op(18, boolean(b))
def finish(b=False): return op(19, boolean(b))


def answer(*a): return variant(0, 7) + args(*a)
ANSWER_BAD = variant(1, 7)
def fail(code=1, fatal=False): return variant(2, 7) + u8(code) + boolean(fatal)
FAIL_UNKNOWN = variant(3, 7)
UNHANDLED = variant(4, 7)
ACCEPT_SWITCH = variant(5, 7)
ACCEPT_START_TLS = variant(6, 7)


def session(name_, hdr, *ops):
    write("session", name_, hdr + b"".join(ops))


solo = header(False, True, cfg(tls=True, switch=True))
session("solo-answer", solo,
        push_request("Sum", tag_small(1), ("a", "13"), ("b", "81")), deliver(7), deliver(),
        conclude(answer(("total", "94"))), transmit(5), transmit())
session("solo-call", solo,
        call("Sum", False, ("a", "1")), notify("Ping"), call("Nope"), transmit(),
        push_answer(tag_ours(0), ("total", "3")), push_error(tag_ours(1), b"UNHANDLED", b"no"),
        deliver(3, how=1), deliver(how=1), poll_reply(0), poll_reply(1), poll_reply(0),
        poll_reply(255))
session("solo-start-tls", solo,
        push_request("StartTLS", tag_small(5)), push_request("Sum", tag_small(6)),
        deliver(), conclude(answer()), conclude(ACCEPT_START_TLS), transmit(), tls(True),
        deliver(), conclude(answer()), transmit(), start_tls(), transmit())
session("solo-our-start-tls", solo,
        call("Sum"), start_tls(), call("Ping"), transmit(), push_answer(tag_ours(1)),
        deliver(), transmit(), tls(True), transmit(), push_answer(tag_ours(0)),
        push_answer(tag_ours(2)), deliver(), poll_reply(1), poll_reply(0))
session("solo-switch", solo,
        call("Sum"), switch(), push_request("Sum", tag_small(9)), deliver(),
        conclude(answer()), transmit(), push_answer(tag_ours(1)), push_raw(b"new protocol"),
        deliver(), transmit(), handed_over(), poll_reply(1), poll_reply(0))
session("solo-peer-switch", solo,
        push_request("Switch", tag_small(3)), push_raw(b"\x00\x00rest"), deliver(),
        conclude(ACCEPT_SWITCH), transmit(), handed_over())
session("solo-limits", header(False, False, cfg(True, 0, 3, 1, 1, 64, 64, 0)),
        push_request("Sum", tag_small(1), ("a", "1")), push_request("Sum", tag_small(2)),
        deliver(), conclude(answer()), call("Sum", False, ("data", "x" * 200)),
        push_raw(b"\x00\x01k\x04\x00"), deliver(), transmit())
session("solo-timeouts", header(False, True, cfg(timeouts=16 | 32)),
        push_raw(SUM_REQUEST[:10]), deliver(), advance(2000), advance(4000),
        call("Sum"), transmit(3), advance(5000), advance(60000))
session("solo-shutdown", solo,
        call("Sum"), push_request("Sum", tag_small(1)), deliver(), shutdown(),
        push_request("Ping", tag_small(2)), deliver(), conclude(answer()), transmit(),
        push_answer(tag_ours(0)), deliver(), transmit(), finish(), eof())
session("solo-garbage", solo,
        push_raw(b"\x00\x05hello\x00\x05world\x00\x00"), push_answer(tag_small(7)),
        push_error(tag_ours(0), b"", b""), deliver(), close(), transmit(), finish())

pair = header(True, True, cfg(tls=True, switch=True), cfg())
session("pair-calls", pair,
        call("Sum", False, ("a", "1")), call("Ping"), notify("Ping"), transmit(),
        deliver(b=True), conclude(answer(("total", "2")), True, 1),
        conclude(fail(3), True, 0), conclude(answer(), True, 0), transmit(b=True), deliver(),
        poll_reply(0), poll_reply(1), call("Sum", True), transmit(b=True), deliver(),
        conclude(answer()), transmit(), deliver(b=True), poll_reply(0, True))
session("pair-start-tls", pair,
        call("Sum"), start_tls(), call("Ping"), transmit(), deliver(b=True),
        conclude(answer(), True, 0), conclude(answer(), True, 0), transmit(b=True), deliver(),
        transmit(), tls(True), transmit(), deliver(b=True), conclude(answer(), True, 0),
        transmit(b=True), deliver(), poll_reply(0), poll_reply(1), poll_reply(2))
session("pair-switch", pair,
        call("Sum"), switch(), transmit(), deliver(b=True), conclude(answer(), True, 0),
        conclude(answer(), True, 0), transmit(b=True), deliver(), transmit(),
        handed_over(), handed_over(True), poll_reply(1))
session("pair-shutdown", pair,
        call("Sum"), call("Sum", True), transmit(), transmit(b=True), shutdown(True),
        deliver(b=True), deliver(), conclude(answer()), transmit(), deliver(b=True),
        transmit(b=True), deliver(), finish(True), eof())
session("pair-close-timeouts", header(True, True, cfg(timeouts=16 | 32), cfg(True, 100, 4, 2, 1, 200, 200, 32)),
        call("Sum"), call("Sum"), transmit(40), deliver(b=True), advance(3000), transmit(),
        deliver(b=True), conclude(answer(), True), transmit(b=True), advance(3000), abort(True),
        finish(True), transmit(b=True), deliver(), eof(), advance(60000))


# ------------------------------------------------- session, format 2: routes, keepalive


def header2(pair, accepted, a, b=None, ka=None, kb=None):
    """A format-2 header: bit 1 of the first byte set, then each side's
    keepalive settings."""
    return (bytes([int(pair) | 2]) + boolean(accepted) + a + (b if b is not None else cfg())
            + (ka or keep()) + (kb or keep()))


KEEP_CMDS = 4


def keep(interval=None, timeout="default", command=None):
    """Keepalive settings: durations in units of 50 ms; timeout "default"
    (20 s), None (no timeout) or units; command None (the default), one of
    NAMES, "Cancel", or bytes (any name)."""
    out = option(None if interval is None else u8(interval))
    if timeout == "default":
        out += option(None)
    else:
        out += option(option(None if timeout is None else u8(timeout)))
    if command is None:
        out += variant(0, KEEP_CMDS)
    elif command == "Cancel":
        out += variant(2, KEEP_CMDS)
    elif isinstance(command, bytes):
        out += variant(3, KEEP_CMDS) + raw(command)
    else:
        out += variant(1, KEEP_CMDS) + name(command)
    return out


ROUTE_NAMES = 9


def route(r):
    """A route name: "", "a", "b", "calc", ("bound", i), ("call", i), bytes,
    "longest" (65,535 bytes) or "too-long" (65,536)."""
    fixed = {"": 0, "a": 1, "b": 2, "calc": 3, "longest": 7, "too-long": 8}
    if isinstance(r, tuple):
        return variant(4 if r[0] == "bound" else 5, ROUTE_NAMES) + u8(r[1])
    if isinstance(r, bytes):
        return variant(6, ROUTE_NAMES) + raw(r)
    return variant(fixed[r], ROUTE_NAMES)


def o(op_bytes):
    """An original step in format 2 (selector byte below 0xc0)."""
    return b"\x00" + op_bytes


XOPS = 8
def x(index, *fields): return b"\xff" + variant(index, XOPS) + b"".join(fields)


def bind(local, remote, b=False): return x(0, boolean(b), route(local), route(remote))
def fill(b=False): return x(1, boolean(b))
def call_on(r, n="Sum", b=False, *a): return x(2, boolean(b), route(r), name(n), args(*a))
def notify_on(r, n="Ping", b=False, *a): return x(3, boolean(b), route(r), name(n), args(*a))


PEER_BOXES = 4
def routed_request(r, n, ask=None, *a):
    return x(4, route(r), variant(0, PEER_BOXES), name(n), option(ask), args(*a))
def routed_answer(r, tag, *a): return x(4, route(r), variant(1, PEER_BOXES), tag, args(*a))
def routed_error(r, tag, code, desc):
    return x(4, route(r), variant(2, PEER_BOXES), tag, option(raw(code)), option(raw(desc)))
def ping_reply(r=None, error=False):
    return x(5, option(None if r is None else route(r)), boolean(error))
def tick(ms): return x(6, u8(ms))
def next_deadline(late_ms=0, b=False): return x(7, boolean(b), u8(late_ms))


def session2(name_, hdr, *steps):
    write("session", name_, hdr + b"".join(steps))


solo2 = header2(False, False, cfg(tls=True, switch=True))
session2("solo-route-request", solo2,
         bind("a", "a"), bind("calc", b"c"), bind("", ""),
         routed_request("a", "Sum", tag_small(1), ("a", "1")),
         routed_request("calc", "Sum", tag_small(1)), routed_request("", "Ping"),
         o(push_request("Sum", tag_small(2))), o(deliver()),
         o(conclude(answer(("total", "1")))), o(conclude(fail(2), False, 0)),
         o(conclude(answer(), False, 1)), o(transmit()))
session2("solo-route-call", solo2,
         bind("calc", b"remote"), call_on("calc", "Sum", False, ("a", "1")), notify_on("calc"),
         call_on(b"nope"), o(call("Sum")), o(transmit()),
         routed_answer(("call", 0), tag_ours(0), ("total", "1")),
         o(push_answer(tag_ours(1))), o(deliver()), o(poll_reply(0)), o(poll_reply(1)))
session2("solo-route-error-reply", solo2,
         bind("a", "b"), call_on("a"), o(transmit()),
         routed_error("a", tag_ours(0), b"BAD", b"bad"), o(deliver()), o(poll_reply(0)))
session2("solo-route-misrouted", solo2,
         bind("a", "a"), bind("b", "b"), call_on("a"), o(transmit()),
         routed_answer("b", tag_ours(0)), o(deliver()), o(poll_reply(0)))
session2("solo-route-unknown", solo2,
         bind("a", "a"), routed_request(b"zz", "Sum", tag_small(1)), o(deliver()), o(transmit()))
session2("solo-route-negotiation", solo2,
         bind("a", "a"), routed_request("a", "StartTLS", tag_small(1)),
         routed_request("a", "Switch", tag_small(2)), o(deliver()),
         o(conclude(ACCEPT_START_TLS)), o(conclude(ACCEPT_SWITCH)), o(transmit()),
         o(push_request("StartTLS", tag_small(3))), o(deliver()), o(conclude(ACCEPT_START_TLS)),
         o(transmit()), o(tls(True)))
session2("solo-route-before-bind", solo2,
         routed_request("a", "Sum", tag_small(1)), o(deliver()), o(conclude(answer())),
         bind("a", "a"), routed_request("a", "Sum", tag_small(2)), o(deliver()),
         o(conclude(answer())), o(transmit()))
session2("solo-route-bind-rules", solo2,
         bind("a", b"x"), bind("a", b"x"), bind("a", b"y"), bind("longest", "a"),
         bind("too-long", "a"), bind("b", "too-long"), bind(("bound", 1), "calc"),
         call_on("longest"), call_on(("bound", 2)), o(transmit()))
session2("solo-route-fill", solo2,
         bind("a", "a"), fill(), bind("calc", "calc"), call_on(("bound", 7)),
         call_on("a"), o(transmit()), routed_answer(("call", 1), tag_ours(1)), o(deliver()))
session2("solo-route-cancel", solo2,
         bind("a", "b"), call_on("a"), call_on("a"), o(abandon(1)), o(abandon(2)), o(transmit()),
         routed_answer("a", tag_ours(0)), routed_answer("a", tag_ours(1)),
         routed_answer("a", tag_ours(2), ("cancelled", "True")), o(deliver()))
session2("solo-route-draining", solo2,
         bind("a", "b"), o(call("Sum")), o(shutdown()), routed_request("a", "Sum", tag_small(1)),
         o(deliver()), o(transmit()), o(push_answer(tag_ours(0))), o(deliver()), o(transmit()))

ka = keep(20, 10, "Ping")  # a ping after 1 s of silence, 500 ms to reply
solo_ka = header2(False, False, cfg(), ka=ka)
session2("solo-keepalive-answered", solo_ka,
         next_deadline(), o(transmit()), ping_reply(), o(deliver()), tick(100),
         next_deadline(5), o(transmit()), ping_reply(error=True), o(deliver()),
         o(call("Sum")), next_deadline(), o(transmit()), o(push_answer(tag_ours(0))),
         o(deliver()), ping_reply(), o(deliver()), o(poll_reply(0)))
session2("solo-keepalive-dead", solo_ka,
         o(call("Sum")), next_deadline(), o(transmit()), next_deadline(), o(transmit()),
         o(poll_reply(0)), next_deadline(), o(finish()))
session2("solo-keepalive-late-reply", solo_ka,
         next_deadline(), o(transmit()), tick(250), ping_reply(), ping_reply(), o(deliver()))
session2("solo-keepalive-routed-reply", solo_ka,
         bind("a", "a"), next_deadline(), o(transmit()), ping_reply("a"), o(deliver()),
         next_deadline(), ping_reply(b"zz"), o(deliver()))
session2("solo-keepalive-partial-box", header2(False, True, cfg(timeouts=2), ka=keep(4, 4)),
         o(push_raw(SUM_REQUEST[:10])), o(deliver()), tick(100), o(deliver(how=1)),
         tick(100), o(deliver(how=1)), next_deadline(), o(transmit()), next_deadline())
session2("solo-keepalive-negotiations", header2(False, False, cfg(tls=True, switch=True), ka=ka),
         next_deadline(), o(start_tls()), o(transmit()), o(push_answer(tag_ours(1))), o(deliver()),
         o(transmit()), tick(200), o(tls(True)), next_deadline(), o(transmit()), ping_reply(),
         o(push_request("Switch", tag_small(1))), o(deliver()), next_deadline(),
         o(conclude(fail(1))), o(transmit()))
session2("solo-keepalive-draining", header2(False, False, cfg(), ka=keep(2, 200, b"amp.ping")),
         o(call("Sum")), o(shutdown()), next_deadline(), o(transmit()), ping_reply(),
         o(push_answer(tag_ours(0))), o(deliver()), o(transmit()), o(finish()))
session2("solo-keepalive-idle", header2(False, False, cfg(timeouts=16 | 32), ka=keep(30, 5, "Cancel")),
         next_deadline(), o(transmit()), ping_reply(), o(deliver()), next_deadline(),
         next_deadline(), next_deadline())
# Settings the builder refuses (keepalive stays off): a zero interval, no
# timeout, an empty command.
session2("pair-keepalive-refused", header2(True, False, cfg(), cfg(), keep(0), keep(5, None)),
         next_deadline(), next_deadline(b=True))
session2("solo-keepalive-empty-command", header2(False, False, cfg(), ka=keep(5, 5, b"")),
         next_deadline())

pair2 = header2(True, True, cfg(tls=True, switch=True), cfg())
session2("pair-routes", pair2,
         bind("a", "b"), bind("calc", "calc", True), bind("a", b"x"),
         call_on("a", "Sum", False, ("a", "1")), notify_on("calc"), call_on("calc", "Sum", True),
         o(call("Sum")), o(transmit()), o(transmit(b=True)), o(deliver(b=True)), o(deliver()),
         o(conclude(answer(("total", "1")), True, 0)), o(conclude(answer(), True, 0)),
         o(conclude(answer())), o(conclude(fail(3), True, 0)), o(transmit(b=True)),
         o(transmit()), o(deliver()), o(deliver(b=True)), o(poll_reply(0)), o(poll_reply(1)),
         o(poll_reply(0, True)))
session2("pair-routes-negotiation-names", pair2,
         bind("a", "a"), call_on("a", "StartTLS"), call_on("a", "Switch"), o(transmit()),
         o(deliver(b=True)), o(conclude(ACCEPT_START_TLS, True, 0)),
         o(conclude(ACCEPT_SWITCH, True, 0)), o(transmit(b=True)), o(deliver()),
         o(poll_reply(0)), o(poll_reply(1)))
session2("pair-routes-start-tls", pair2,
         bind("a", "b"), call_on("a"), o(start_tls()), call_on("a"), o(transmit()),
         o(deliver(b=True)), o(conclude(answer(), True, 0)), o(conclude(answer(), True, 0)),
         o(transmit(b=True)), o(deliver()), o(transmit()), o(tls(True)), o(transmit()),
         o(deliver(b=True)), o(conclude(answer(), True, 0)), o(transmit(b=True)), o(deliver()),
         o(poll_reply(0)), o(poll_reply(2)))
session2("pair-routes-cancel-fill", pair2,
         bind("a", "a"), fill(True), call_on(("bound", 9)), call_on("a"), o(transmit()),
         o(deliver(b=True)), o(abandon(1)), o(transmit()), o(deliver(b=True)),
         o(transmit(b=True)), o(deliver()), o(conclude(answer(), True, 0)), o(transmit(b=True)),
         o(deliver()))
pair_ka = header2(True, False, cfg(tls=True, switch=True), cfg(), ka, keep(30, 20))
session2("pair-keepalive", pair_ka,
         next_deadline(), o(transmit()), o(deliver(b=True)), o(conclude(answer(), True, 0)),
         o(transmit(b=True)), o(deliver()), next_deadline(), o(transmit()), o(deliver(b=True)),
         o(conclude(UNHANDLED, True, 0)), o(transmit(b=True)), o(deliver()),
         next_deadline(b=True), o(transmit(b=True)), o(deliver()), o(conclude(answer())),
         o(transmit()), o(deliver(b=True)), next_deadline(), next_deadline())
session2("pair-keepalive-dead", pair_ka,
         o(call("Sum")), next_deadline(), o(transmit()), o(deliver(b=True)), next_deadline(),
         o(transmit()), o(finish()), o(eof(True)), o(poll_reply(0)))
session2("pair-keepalive-routes-tls", pair_ka,
         bind("a", "a"), call_on("a"), next_deadline(), o(start_tls()), o(transmit()),
         o(deliver(b=True)), o(conclude(answer(), True, 1)), o(conclude(answer(), True, 0)),
         o(conclude(answer(), True, 0)), o(transmit(b=True)), o(deliver()), o(transmit()),
         o(tls(True)), o(transmit()), o(transmit(b=True)), o(deliver()), o(deliver(b=True)),
         next_deadline(), o(poll_reply(0)))
session2("pair-keepalive-deciding", pair_ka,
         next_deadline(), o(switch(True)), o(transmit()), o(transmit(b=True)), o(deliver()),
         o(deliver(b=True)), o(conclude(answer(), True, 0)), o(transmit(b=True)), o(deliver()),
         next_deadline(), o(conclude(fail(1))), o(transmit()), o(deliver(b=True)))

# ---------------------------------------------------------------- capture
#
# File mode (first byte 0, or 2 with a port, 4 with a stop count): real
# pcap and pcapng files written here; script mode (first byte odd): two
# ISNs, then 5-byte segments (see harness/src/capture.rs).

AMP_PORT = 1234


def checksum(data):
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def tcp(sport, dport, seq, ack, flags, payload=b""):
    """A TCP header (no options) and its payload; `flags` a string of S A F R P."""
    bits = sum(b for c, b in zip("FSRPA", (1, 2, 4, 8, 16)) if c in flags)
    return struct.pack("!HHIIBBHHH", sport, dport, seq & 0xffffffff, ack & 0xffffffff,
                       5 << 4, bits, 65535, 0, 0) + payload


def ipv4(src, dst, body, proto=6):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 1, 0x4000, 64, proto, 0,
                      bytes(src), bytes(dst))
    return hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:] + body


def ipv6(src, dst, body, proto=6):
    return struct.pack("!IHBB16s16s", 6 << 28, len(body), proto, 64, bytes(src),
                       bytes(dst)) + body


def ether(ip, v6=False):
    return b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + (
        b"\x86\xdd" if v6 else b"\x08\x00") + ip


def sll(ip):
    """Linux cooked capture (v1) header of an Ethernet device, then IPv4.
    (etherparse 0.21 refuses the header of a loopback device, ARPHRD 772.)"""
    return struct.pack("!HHH8sH", 0, 1, 6, b"\x00" * 8, 0x0800) + ip


CLIENT, SERVER = (10, 0, 0, 1), (10, 0, 0, 100)
ASK = box(("_ask", "1"), ("_command", "Sum"), ("a", "13"), ("b", "81"))
ANSWER = box(("_answer", "1"), ("total", "94"))


def conversation(isn_c=1000, isn_s=0xfffffff0):
    """A whole AMP exchange as IPv4 packets: handshake, a request split in
    two and captured out of order with a retransmission, the answer, FINs."""
    c, s = isn_c, isn_s
    cp, sp = 40000, AMP_PORT
    up = lambda seq, fl, p=b"": ipv4(CLIENT, SERVER, tcp(cp, sp, seq, s + 1, fl, p))
    down = lambda seq, fl, p=b"": ipv4(SERVER, CLIENT, tcp(sp, cp, seq, c + 1, fl, p))
    half = len(ASK) // 2
    return [
        up(c, "S"),
        down(s, "SA"),
        up(c + 1, "A"),
        up(c + 1 + half, "PA", ASK[half:]),  # the second half first
        up(c + 1, "PA", ASK[:half]),
        up(c + 1 + half, "PA", ASK[half:]),  # again
        down(s + 1, "PA", ANSWER),  # crosses 2^32
        up(c + 1 + len(ASK), "FA"),
        down(s + 1 + len(ANSWER), "FA"),
        ipv4(CLIENT, SERVER, struct.pack("!HHHH", 5353, 5353, 8, 0), proto=17),  # UDP
    ]


def pcap(packets, link=1, nanos=False, big=False, snap=65535):
    e = ">" if big else "<"
    magic = 0xa1b23c4d if nanos else 0xa1b2c3d4
    out = struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, snap, link)
    for i, p in enumerate(packets):
        cap = p[:snap]
        out += struct.pack(e + "IIII", 1700000000 + i, 1000 * i, len(cap), len(p)) + cap
    return out


def block(kind, body):
    body += b"\x00" * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack("<II", kind, n) + body + struct.pack("<I", n)


def option(code, value):
    return struct.pack("<HH", code, len(value)) + value + b"\x00" * (-len(value) % 4)


def pcapng(interfaces, packets):
    """interfaces: [(link, tsresol or None)]; packets: [(interface, data)],
    interface None for a simple packet block; data cut to 60 bytes when
    flagged with a `cut` tuple element."""
    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    for link, res in interfaces:
        opts = option(9, bytes([res])) + option(0, b"") if res is not None else b""
        out += block(1, struct.pack("<HHI", link, 0, 0) + opts)
    for i, (iface, data, *cut) in enumerate(packets):
        orig = len(data)
        if cut:
            data = data[:cut[0]]
        if iface is None:
            out += block(3, struct.pack("<I", orig) + data)
        else:
            t = 1700000000_000000 + i
            out += block(6, struct.pack("<IIIII", iface, t >> 32, t & 0xffffffff, len(data),
                                        orig) + data)
    return out


conv = conversation()
write("capture", "pcap-ethernet", b"\x00" + pcap([ether(p) for p in conv]))
write("capture", "pcap-sll-nanos-big-endian-port",
      b"\x02" + struct.pack(">H", AMP_PORT) + pcap([sll(p) for p in conv], link=113,
                                                   nanos=True, big=True))
write("capture", "pcap-raw-cut-snaplen", b"\x00" + pcap(conv, link=101, snap=80))
write("capture", "pcap-null-stop-after-3",
      b"\x04\x03" + pcap([b"\x02\x00\x00\x00" + p for p in conv], link=0))
v6c, v6s = bytes(15) + b"\x02", bytes(15) + b"\x01"
conv6 = [ipv6(v6c, v6s, tcp(40002, AMP_PORT, 7, 0, "S")),
         ipv6(v6c, v6s, tcp(40002, AMP_PORT, 8, 0, "PA", ASK)),
         ipv6(v6s, v6c, tcp(AMP_PORT, 40002, 99, 0, "PA", ANSWER)),
         ipv6(v6s, v6c, tcp(AMP_PORT, 40002, 99 + len(ANSWER), 0, "RA"))]
write("capture", "pcapng-interfaces",
      b"\x00" + pcapng([(1, 9), (113, None), (101, 0x80 | 10), (0, 6)],
                       [(0, ether(conv[0])), (0, ether(conv[1])), (1, sll(conv[2])),
                        (2, conv[3]), (2, conv[4]), (3, b"\x1e\x00\x00\x00" + conv6[0]),
                        (0, ether(conv6[1], v6=True)), (None, ether(conv[5])),
                        (0, ether(conv[6]), 60), (0, ether(conv6[2], v6=True)),
                        (0, ether(conv[9])), (2, conv6[3])]))
write("capture", "not-a-capture", b"\x00" + ASK)


def script(*segments, flags=1, isn_up=1000, isn_down=0xfffffff0):
    return bytes([flags]) + struct.pack(">II", isn_up, isn_down) + b"".join(segments)


def seg(conn=0, down=False, off=0, length=0, syn=False, ack=True, fin=False, rst=False,
        changed=False):
    what = conn | down << 2 | syn << 3 | ack << 4 | fin << 5 | rst << 6 | changed << 7
    return struct.pack(">B", what) + struct.pack(">I", off)[1:] + bytes([length])


def big(k):
    """The length byte of a (k * 1024 - 1)-byte payload (k in 1..=64)."""
    return 0xbf + k


write("capture", "script-handshake-reorder-retransmit", script(
    seg(off=0, syn=True, ack=False), seg(down=True, off=0, syn=True),
    seg(off=1, length=0),
    seg(off=21, length=30), seg(off=1, length=10), seg(off=6, length=40),  # overlaps both
    seg(off=1, length=10),  # wholly behind
    seg(down=True, off=1, length=50), seg(down=True, off=31, length=100),
    seg(off=71, length=5, fin=True), seg(down=True, off=131, fin=True),
    seg(off=80, length=5)))  # after the FIN: ignored
write("capture", "script-wrap-around", script(
    seg(off=0, syn=True, ack=False), seg(off=0x30, length=0x40), seg(off=0x10, length=0x30),
    seg(off=1, length=0x10), seg(off=0x70, length=0x20), seg(off=0x60, length=0x30),
    isn_up=0xffffff80))
write("capture", "script-gaps-connections-port", script(
    seg(off=5, length=20),  # from the middle: starts here
    seg(down=True, off=100, length=10),
    seg(off=40, length=10),  # 15 bytes lost (at the end)
    seg(conn=1, down=True, off=0, syn=True), seg(conn=1, off=3, length=7),  # SYN+ACK first
    seg(conn=3, off=0, length=9),  # not on the AMP port
    seg(conn=2, off=0, rst=True),  # the end of a connection never seen
    seg(conn=2, off=0, length=4), seg(conn=2, off=9, length=4), seg(conn=2, off=20, length=4),
    seg(off=2, length=10),  # behind the start
    seg(conn=1, off=12, length=3, rst=True),
    flags=3))
write("capture", "script-held-over-max", script(
    seg(off=0, syn=True, ack=False),
    *[seg(off=1000 + k * 65535, length=big(64)) for k in range(65)]))
write("capture", "script-disagreeing-copies", script(
    seg(off=0, syn=True, ack=False), seg(off=11, length=20), seg(off=15, length=20, changed=True),
    seg(off=11, length=30, changed=True), seg(off=1, length=15, changed=True),
    seg(off=1, length=12), seg(down=True, off=3, length=8), seg(down=True, off=3, length=8,
                                                               changed=True),
    flags=5))
