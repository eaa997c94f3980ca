"""A Twisted AMP server for load tests: answers ``Sum(a, b) -> total`` (the
command of Twisted's documented ampserver.py) without printing anything.

Usage (under interop/.venv/bin/python):

    bench_server.py [PORT] [--tls]     # default 0: any free port

Listens on 127.0.0.1 and prints ``listening on 127.0.0.1:PORT`` once ready
(the same readiness line as the Rust math_server example). Connections get
TCP_NODELAY, as amp-rs sets it on its own.

With ``--tls`` it also answers ``amp.StartTLS`` with ``{}``: Twisted then
secures the connection with its temporary self-signed certificate and asks
for no client certificate (the counterpart of ``math_server --tls``).
"""

import sys

from twisted.internet import reactor
from twisted.internet.protocol import Factory
from twisted.protocols import amp


class Sum(amp.Command):
    arguments = [(b"a", amp.Integer()), (b"b", amp.Integer())]
    response = [(b"total", amp.Integer())]


class Math(amp.AMP):
    def connectionMade(self):
        super().connectionMade()
        self.transport.setTcpNoDelay(True)

    @Sum.responder
    def sum(self, a, b):
        return {"total": a + b}


class MathTLS(Math):
    @amp.StartTLS.responder
    def start_tls(self):
        # No tls_localCertificate: Twisted's TEMPORARY CERTIFICATE.
        return {}


def main():
    args = sys.argv[1:]
    tls = "--tls" in args
    args = [a for a in args if a != "--tls"]
    port = int(args[0]) if args else 0
    factory = Factory.forProtocol(MathTLS if tls else Math)
    # A large backlog: the idle-connection test opens thousands quickly.
    listening = reactor.listenTCP(port, factory, backlog=4096, interface="127.0.0.1")
    print(f"listening on 127.0.0.1:{listening.getHost().port}", flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
