"""BigString and BigUnicode: the chunk keys they write, and round trips
through Twisted's own box code and a connection."""

from twisted.protocols import amp
from twisted.test import iosim
from twisted.trial import unittest

import amp_reflect
from amp_reflect import CHUNK, BigString, BigUnicode


def rust_layout(n):
    """The keys and chunk sizes amp-rs's encoder writes for an n-byte value
    under `k` (crates/amp-wire/src/types/big.rs): `k` always, then `k.2`,
    `k.3`, ... while bytes remain, each chunk 65,535 bytes but the last."""
    layout = {b"k": min(n, CHUNK)}
    rest, i = n - CHUNK, 2
    while rest > 0:
        layout[b"k.%d" % i] = min(rest, CHUNK)
        rest -= CHUNK
        i += 1
    return layout


def to_box(arg, value):
    strings = {}
    arg.toBox(b"k", strings, {"k": value}, None)
    return strings


def from_box(arg, strings):
    objects = {}
    arg.fromBox(b"k", dict(strings), objects, None)
    return objects["k"]


class Echo(amp.Command):
    arguments = [(b"text", BigUnicode()), (b"data", BigString(optional=True))]
    response = [(b"text", BigUnicode()), (b"data", BigString(optional=True))]


class EchoServer(amp.AMP):
    @Echo.responder
    def echo(self, text, data=None):
        return {"text": text, "data": data}


class Layout(unittest.TestCase):
    """The keys written are those of amp-rs's encoder."""

    def test_sizes(self):
        # The edges: empty, one byte, one full chunk, one byte over, and
        # several chunks with a short last one.
        for n in (0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 1, 200000):
            value = bytes(i % 251 for i in range(n))
            box = to_box(BigString(), value)
            self.assertEqual({k: len(v) for k, v in box.items()}, rust_layout(n), n)
            joined = b"".join(box[k] for k in sorted(box, key=chunk_order))
            self.assertTrue(joined == value, n)
            self.assertTrue(from_box(BigString(), box) == value, n)

    def test_exact_layouts(self):
        self.assertEqual(to_box(BigString(), b""), {b"k": b""})
        self.assertEqual(to_box(BigString(), b"x"), {b"k": b"x"})
        self.assertEqual(list(to_box(BigString(), b"x" * CHUNK)), [b"k"])
        self.assertEqual(
            to_box(BigString(), b"a" * CHUNK + b"b"), {b"k": b"a" * CHUNK, b"k.2": b"b"}
        )
        self.assertEqual(rust_layout(200000), {b"k": CHUNK, b"k.2": CHUNK, b"k.3": CHUNK, b"k.4": 3395})

    def test_eleven_chunks(self):
        # k.10 and k.11 exist: keys are numbered, not padded.
        box = to_box(BigString(), b"z" * (10 * CHUNK + 5))
        self.assertEqual(sorted(box), sorted([b"k"] + [b"k.%d" % i for i in range(2, 12)]))
        self.assertEqual(len(box[b"k.11"]), 5)

    def test_unicode_cut_inside_characters(self):
        # U+00E9 is 2 bytes, U+65E5 3 bytes, U+1F600 4 bytes; an ASCII
        # prefix makes every 65,535-byte cut fall inside a character.
        for ch in ("\u00e9", "\u65e5", "\U0001F600"):
            width = len(ch.encode("utf-8"))
            prefix = next(p for p in range(width) if (CHUNK - p) % width)
            for n in (0, 1, CHUNK, CHUNK + 1, 200000):
                value = "a" * min(n, prefix) + ch * (max(n - prefix, 0) // width)
                data = value.encode("utf-8")
                box = to_box(BigUnicode(), value)
                self.assertEqual({k: len(v) for k, v in box.items()}, rust_layout(len(data)))
                self.assertTrue(from_box(BigUnicode(), box) == value, (ch, n))
                if len(data) > CHUNK:
                    # The cut is inside a character: the first chunk alone
                    # is not UTF-8, only the joined bytes are.
                    self.assertRaises(UnicodeDecodeError, box[b"k"].decode, "utf-8")
                    self.assertEqual(len(box[b"k"]), CHUNK)

    def test_reader(self):
        # A gap ends the value; chunks of any size are joined.
        self.assertEqual(from_box(BigString(), {b"k": b"a", b"k.2": b"b", b"k.4": b"d"}), b"ab")
        self.assertEqual(from_box(BigString(), {b"k": b"", b"k.2": b"b"}), b"b")
        self.assertEqual(from_box(BigUnicode(), {b"k": b"\xc3", b"k.2": b"\xa9"}), "\u00e9")
        self.assertRaises(UnicodeDecodeError, from_box, BigUnicode(), {b"k": b"\xc3"})
        # Required and absent: Twisted's KeyError; optional: None.
        self.assertRaises(KeyError, from_box, BigString(), {b"k.2": b"x"})
        self.assertIsNone(from_box(BigString(optional=True), {}))
        self.assertEqual(to_box(BigString(optional=True), None), {})

    def test_wrong_types(self):
        self.assertRaises(TypeError, to_box, BigUnicode(), b"bytes")
        self.assertRaises(TypeError, to_box, BigString(), "text")

    def test_in_a_list(self):
        # In a ListOf there are no keys: one plain value.
        arg = amp.ListOf(BigUnicode())
        self.assertEqual(arg.fromString(arg.toString(["\u00e9", ""])), ["\u00e9", ""])

    def test_serialised_box(self):
        # Twisted writes the chunk keys like any other, in sorted order.
        box = amp.AmpBox()
        box.update(Echo.makeArguments({"text": "x" * (CHUNK + 2), "data": b""}, None))
        wire = box.serialize()
        self.assertIn(b"\x00\x06text.2\x00\x02xx", wire)
        self.assertIn(b"\x00\x04data\x00\x00", wire)


def chunk_order(key):
    """Chunk order: k, k.2, k.3, ..., k.10 (by number, not bytewise)."""
    return (0, 0) if key == b"k" else (1, int(key.split(b".")[1]))


class OverAConnection(unittest.TestCase):
    """Big values through Twisted's AMP, both ways."""

    def call(self, **kw):
        client, server, pump = iosim.connectedServerAndClient(EchoServer, amp.AMP)
        results = []
        client.callRemote(Echo, **kw).addBoth(results.append)
        pump.flush()
        self.assertEqual(len(results), 1)
        return results[0]

    def test_round_trips(self):
        for n in (0, 1, CHUNK, CHUNK + 1, 200000):
            text = ("\u65e5" * n)[: n // 3] + "x" * (n % 3)
            data = bytes(range(256)) * (n // 256) + b"\x00" * (n % 256)
            self.assertEqual(len(text.encode("utf-8")), n)
            got = self.call(text=text, data=data)
            self.assertTrue(got == {"text": text, "data": data}, n)

    def test_optional_absent(self):
        self.assertEqual(self.call(text="t"), {"text": "t", "data": None})

    def test_module_names(self):
        # The names the issue promises.
        self.assertTrue(issubclass(amp_reflect.BigUnicode, amp.Argument))
        self.assertTrue(issubclass(amp_reflect.Reflect, amp.CommandLocator))
