#!/usr/bin/env python
"""A Twisted AMP peer with values over 64 KiB, for amp-rs's interop tests
(crates/amp/tests/interop_big.rs).

The argument types below implement, on plain ``twisted.protocols.amp``, the
scheme Twisted programs in the wild use for big values (the ``BigString``
and ``BigUnicode`` arguments of JoinMarket and clj-amp, the ``Compressed``
argument of Evennia's portal/server link), written here from their
description:

* the value (UTF-8 first, for text) is cut into 65,535-byte pieces;
* the first piece goes under the argument's own key ``k`` (always, so an
  empty value is ``k = b""``), the others under ``k.2``, ``k.3``, ...;
* the reader takes ``k``, then ``k.2``, ``k.3``, ... until one is missing;
* ``Compressed`` compresses each piece separately with ``zlib.compress(p, 9)``
  and decompresses each entry separately when reading.

Modes:

``big_peer.py serve``
    Listen on 127.0.0.1, port 0; print ``PORT <n>`` once listening; serve
    until stdin closes.

``big_peer.py golden <size> ...``
    For every size, serialise the arguments of ``Upload`` (name ``"f"``,
    data: the byte pattern) and of ``UploadText`` (the text) with Twisted's
    own code (``makeArguments``, ``AmpBox.serialize``) and print
    ``GOLDEN <command> <size> <length> <sha256 of the bytes>``.

``big_peer.py client <port> <size> ...``
    Connect to the Rust side on 127.0.0.1:<port>, and for every size upload
    and download values of that size with each type, checking sizes and
    SHA-256 digests. Prints ``PASS name`` / ``FAIL name: why`` lines and
    ``N passed, M failed``; exits 0 only if everything passed.
"""

import hashlib
import sys
import traceback
import zlib
from itertools import count

from twisted.internet import defer, reactor, task
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.protocols import amp

import harness
from harness import Checker, stop_when_stdin_closes, timed

PIECE = amp.MAX_VALUE_LENGTH  # 65,535


class BigString(amp.Argument):
    """Bytes of any length over the keys k, k.2, k.3, ..."""

    def to_wire(self, value):
        """The bytes to cut into pieces."""
        return value

    def from_wire(self, data):
        return data

    def piece_out(self, piece):
        return piece

    def piece_in(self, entry):
        return entry

    def toBox(self, name, strings, objects, proto):
        key = amp._wireNameToPythonIdentifier(name)
        data = self.to_wire(objects[key])
        strings[name] = self.piece_out(data[:PIECE])
        for n, at in zip(count(2), range(PIECE, len(data), PIECE)):
            strings[b"%s.%d" % (name, n)] = self.piece_out(data[at : at + PIECE])

    def fromBox(self, name, strings, objects, proto):
        first = strings.get(name)
        if first is None:
            raise KeyError(name)
        parts = [self.piece_in(first)]
        for n in count(2):
            entry = strings.get(b"%s.%d" % (name, n))
            if entry is None:
                break
            parts.append(self.piece_in(entry))
        objects[amp._wireNameToPythonIdentifier(name)] = self.from_wire(b"".join(parts))


class BigUnicode(BigString):
    """Text: its UTF-8, chunked as BigString."""

    def to_wire(self, value):
        return value.encode("utf-8")

    def from_wire(self, data):
        return data.decode("utf-8")


class Compressed(BigString):
    """Evennia's scheme: every 65,535-byte piece zlib-compressed (level 9)
    on its own."""

    def piece_out(self, piece):
        return zlib.compress(piece, 9)

    def piece_in(self, entry):
        return zlib.decompress(entry)


class Upload(amp.Command):
    arguments = [(b"name", amp.Unicode()), (b"data", BigString())]
    response = [(b"size", amp.Integer()), (b"sha256", amp.Unicode()), (b"keys", amp.Unicode())]


class Download(amp.Command):
    arguments = [(b"size", amp.Integer())]
    response = [(b"data", BigString())]


class UploadText(amp.Command):
    arguments = [(b"text", BigUnicode())]
    response = [(b"size", amp.Integer()), (b"sha256", amp.Unicode()), (b"keys", amp.Unicode())]


class DownloadText(amp.Command):
    arguments = [(b"size", amp.Integer())]
    response = [(b"text", BigUnicode())]


class UploadZ(amp.Command):
    arguments = [(b"data", Compressed())]
    response = [(b"size", amp.Integer()), (b"sha256", amp.Unicode()), (b"keys", amp.Unicode())]


class DownloadZ(amp.Command):
    arguments = [(b"size", amp.Integer())]
    response = [(b"data", Compressed())]


def pattern(size):
    """``size`` bytes of 0, 1, ..., 255 repeated."""
    return (bytes(range(256)) * (size // 256 + 1))[:size]


def text(size):
    """``size`` bytes of UTF-8: a mix of one- to four-byte characters, so
    piece boundaries fall inside characters (padded with ASCII to size)."""
    unit = "aé€😀"  # 1 + 2 + 3 + 4 = 10 bytes
    s = unit * (size // 10)
    return s + "z" * (size - len(s.encode("utf-8")))


def check(c, name, got, want):
    """``PASS name`` if equal, else ``FAIL name: ...`` (reprs cut short)."""
    why = "" if got == want else "got %.200r, want %.200r" % (got, want)
    return c.ok(name, got == want, why)


def sha(b):
    return hashlib.sha256(b).hexdigest()


class Peer(amp.AMP):
    def ampBoxReceived(self, box):
        # The keys of the last box received, in wire order (an AmpBox is a
        # dict filled in the order the entries arrived).
        self.last_keys = ",".join(k.decode("utf-8") for k in box.keys())
        return super().ampBoxReceived(box)

    def _keys(self):
        return ",".join(
            k for k in self.last_keys.split(",") if k not in ("_ask", "_command")
        )

    @Upload.responder
    def upload(self, name, data):
        return {"size": len(data), "sha256": sha(data), "keys": self._keys()}

    @Download.responder
    def download(self, size):
        return {"data": pattern(size)}

    @UploadText.responder
    def upload_text(self, text):
        b = text.encode("utf-8")
        return {"size": len(b), "sha256": sha(b), "keys": self._keys()}

    @DownloadText.responder
    def download_text(self, size):
        return {"text": text(size)}

    @UploadZ.responder
    def upload_z(self, data):
        return {"size": len(data), "sha256": sha(data), "keys": self._keys()}

    @DownloadZ.responder
    def download_z(self, size):
        return {"data": pattern(size)}


def serve():
    from twisted.internet import protocol

    port = reactor.listenTCP(0, protocol.Factory.forProtocol(Peer), interface="127.0.0.1")
    stop_when_stdin_closes()
    print("PORT %d" % (port.getHost().port,), flush=True)
    reactor.run()


async def run_client(port, sizes):
    c = Checker()
    p = await timed(connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), Peer()))
    for n in sizes:
        try:
            data = pattern(n)
            r = await timed(p.callRemote(Upload, name="f%d" % n, data=data), 120)
            check(c, "upload.%d" % n, (r["size"], r["sha256"]), (n, sha(data)))
            r = await timed(p.callRemote(Download, size=n), 120)
            check(c, "download.%d" % n, (len(r["data"]), sha(r["data"])), (n, sha(data)))
            t = text(n)
            r = await timed(p.callRemote(UploadText, text=t), 120)
            check(c, "upload_text.%d" % n, (r["size"], r["sha256"]), (n, sha(t.encode("utf-8"))))
            r = await timed(p.callRemote(DownloadText, size=n), 120)
            check(c, "download_text.%d" % n, r["text"] == t, True)
            r = await timed(p.callRemote(UploadZ, data=data), 120)
            check(c, "upload_z.%d" % n, (r["size"], r["sha256"]), (n, sha(data)))
            r = await timed(p.callRemote(DownloadZ, size=n), 120)
            check(c, "download_z.%d" % n, (len(r["data"]), sha(r["data"])), (n, sha(data)))
        except Exception:
            c.fail("size.%d" % n, "raised:\n" + traceback.format_exc())
    p.transport.loseConnection()
    c.summary()


def client(port, sizes):
    task.react(lambda _r: defer.Deferred.fromCoroutine(run_client(port, sizes)))


def golden(sizes):
    for n in sizes:
        for cmd, args in ((Upload, {"name": "f", "data": pattern(n)}), (UploadText, {"text": text(n)})):
            wire = cmd.makeArguments(args, None).serialize()
            print("GOLDEN %s %d %d %s" % (cmd.__name__, n, len(wire), sha(wire)), flush=True)


def main(argv):
    harness.log_to_stderr()
    if len(argv) == 2 and argv[1] == "serve":
        serve()
    elif len(argv) >= 3 and argv[1] == "golden":
        golden([int(a) for a in argv[2:]])
    elif len(argv) >= 4 and argv[1] == "client":
        client(int(argv[2]), [int(a) for a in argv[3:]])
    else:
        print(__doc__, file=sys.stderr)
        raise SystemExit(2)


if __name__ == "__main__":
    main(sys.argv)
