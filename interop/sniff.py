"""Capture loopback TCP traffic to a file, for ``amp decode`` tests.

``sniff.py PORT FILE [--pcapng]``
    Starts capturing TCP packets to or from PORT on the loopback interface
    (a raw socket: run as root), prints ``READY`` once the capture is
    running, and when standard input closes writes what it captured to
    FILE (pcap, or pcapng with ``--pcapng``) and prints ``WROTE <n>``.

``sniff.py shuffle IN OUT``
    Rewrites the pcap IN as OUT with its TCP segments out of order and
    repeated, as a capture of a lossy network shows them: every data
    segment split in two halves, written second half, first half, second
    half again.

``sniff.py cut IN OUT N``
    Writes IN without its first N packets: a capture that starts in the
    middle of its connections.
"""

import sys
import time

from scapy.all import IP, TCP, AsyncSniffer, Raw, conf, rdpcap, wrpcap, wrpcapng


def capture(port, path, ng):
    # (Filtered here, not by BPF: that needs libpcap.)
    sniffer = AsyncSniffer(
        iface=conf.loopback_name,
        lfilter=lambda p: TCP in p and port in (p[TCP].sport, p[TCP].dport),
        store=True,
    )
    sniffer.start()
    # The raw socket is open once the sniffer thread runs.
    while not getattr(sniffer, "running", False):
        time.sleep(0.01)
    time.sleep(0.3)
    print("READY", flush=True)
    sys.stdin.read()
    time.sleep(0.2)
    # A raw socket on the loopback sees each packet twice (going out and
    # coming in); tcpdump shows it once, and so does this file.
    packets = []
    for p in sniffer.stop():
        if not packets or bytes(packets[-1]) != bytes(p):
            packets.append(p)
    (wrpcapng if ng else wrpcap)(path, packets)
    print(f"WROTE {len(packets)}", flush=True)


def part(p, offset, data):
    """A copy of TCP packet ``p`` carrying ``data`` from ``offset`` of its
    payload on (lengths and checksums computed again)."""
    q = p.copy()
    q[TCP].remove_payload()
    q[TCP].add_payload(Raw(data))
    q[TCP].seq = (p[TCP].seq + offset) % (1 << 32)
    del q[IP].len, q[IP].chksum, q[TCP].chksum
    q = q.__class__(bytes(q))
    q.time = p.time
    return q


def shuffle(src, dst):
    out = []
    for p in rdpcap(src):
        data = bytes(p[TCP].payload) if TCP in p else b""
        if len(data) < 2:
            out.append(p)
            continue
        half = len(data) // 2
        first, second = part(p, 0, data[:half]), part(p, half, data[half:])
        # The second half first, then the first, then the second again.
        out += [second, first, second]
    wrpcap(dst, out)


def cut(src, dst, n):
    wrpcap(dst, list(rdpcap(src))[n:])


def main():
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "shuffle":
        shuffle(args[1], args[2])
    elif len(args) == 4 and args[0] == "cut":
        cut(args[1], args[2], int(args[3]))
    elif len(args) >= 2:
        capture(int(args[0]), args[1], "--pcapng" in args[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
