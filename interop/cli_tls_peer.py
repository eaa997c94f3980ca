#!/usr/bin/env python
"""A Twisted AMP server for the TLS flags of the ``amp`` binary's tests.

``cli_tls_peer.py CERT KEY``
    Serves Twisted's documented ``Sum`` twice on 127.0.0.1: over TLS from
    the first byte (``listenSSL``; prints ``PORT <n>``) and in clear with a
    ``StartTLS`` responder presenting the same certificate (prints
    ``PLAIN <n>``). Serves until stdin closes.
"""

import sys

from twisted.internet import protocol, reactor, ssl
from twisted.protocols import amp

import harness


class Sum(amp.Command):
    arguments = [(b"a", amp.Integer()), (b"b", amp.Integer())]
    response = [(b"total", amp.Integer())]


def main():
    cert_pem = open(sys.argv[1], "rb").read()
    key_pem = open(sys.argv[2], "rb").read()
    certificate = ssl.PrivateCertificate.loadPEM(cert_pem + b"\n" + key_pem)

    class Server(amp.AMP):
        @Sum.responder
        def sum(self, a, b):
            return {"total": a + b}

        @amp.StartTLS.responder
        def start_tls(self):
            return {"tls_localCertificate": certificate}

    factory = protocol.Factory.forProtocol(Server)
    tls = reactor.listenSSL(0, factory, certificate.options(), interface="127.0.0.1")
    plain = reactor.listenTCP(0, factory, interface="127.0.0.1")
    harness.stop_when_stdin_closes()
    print("PORT %d" % (tls.getHost().port,), flush=True)
    print("PLAIN %d" % (plain.getHost().port,), flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
