#!/usr/bin/env python
"""Self-signed certificates made by Twisted's own helpers, for amp-rs's
certificate-pinning tests (crates/amp/tests/interop_tls_v1.rs).

``v1_certs.py DIR``
    Writes, for each NAME of ``server`` (CN ``localhost``), ``client`` (CN
    ``amp-rs v1 client``) and ``other`` (CN ``localhost`` too: a different
    certificate with the server's name), ``DIR/NAME.pem`` (the certificate)
    and ``DIR/NAME.key`` (its RSA key, PKCS#8), made the way Twisted's
    documentation and tests make them::

        ssl.KeyPair.generate().selfSignedCert(serial, CN=...)

    Twisted signs those as X.509 **v1** certificates (no version field, no
    extensions), valid from now for a year. Prints ``v1 NAME`` per
    certificate, after checking the version; exits 1 if one is not v1.
"""

import os
import sys

from OpenSSL import crypto
from twisted.internet import ssl

NAMES = [
    ("server", "localhost"),
    ("client", "amp-rs v1 client"),
    ("other", "localhost"),
]


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        raise SystemExit(2)
    out = argv[1]
    for serial, (name, cn) in enumerate(NAMES, start=1):
        key = ssl.KeyPair.generate()
        cert = key.selfSignedCert(serial, CN=cn)
        version = cert.original.get_version()
        if version != 0:
            print("not v1: %s has version field %d" % (name, version), flush=True)
            raise SystemExit(1)
        with open(os.path.join(out, name + ".pem"), "wb") as f:
            f.write(cert.dumpPEM())
        with open(os.path.join(out, name + ".key"), "wb") as f:
            f.write(key.dump(crypto.FILETYPE_PEM))
        print("v1 %s" % (name,), flush=True)


if __name__ == "__main__":
    main(sys.argv)
