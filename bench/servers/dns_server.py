"""A UDP DNS responder for bench/dns.py: every A question answered with one address, at once.

Run: python bench/servers/dns_server.py [--port 0] [--address 192.0.2.1] [--ttl 300]

It must not be the bottleneck, so it does the least a correct answer takes: one blocking
UDP socket on 127.0.0.1, one `recvfrom` and one `sendto` per query, no parsing beyond
finding the end of the question. Every name is a wildcard: an A question gets one A record
(`--address`, `--ttl`), any other type an empty answer (NODATA), both with RCODE 0.

The answer (RFC 1035 §4.1) is the query's id, then a precomputed header (QR, RD, RA; one
question, one answer or none), the question copied as received (resolvers check that it
matches what they asked, case included), and a precomputed answer record whose owner is a
compression pointer to that question (0xC00C, RFC 1035 §4.1.4). The query's additional
section (EDNS OPT, RFC 6891) is dropped: a server without EDNS is a valid answer to it.

The first stdout line is `{"port": N}` (the port bound, useful with `--port 0`); on SIGTERM it
prints `{"queries": N}` (queries answered) and exits 0.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import struct
import sys
from types import FrameType

HOST = "127.0.0.1"
HEADER_BYTES = 12  # RFC 1035 §4.1.1
QR = 0x80  # in the first flags byte
QTYPE_A = b"\x00\x01"
RECV_BUFFER_BYTES = 4 << 20  # room for bursts of queries while this process is descheduled
# Flags (QR, opcode QUERY, RD | RA, RCODE 0), QDCOUNT 1, ANCOUNT 1 or 0, NSCOUNT 0, ARCOUNT 0.
A_HEADER = b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00"
NODATA_HEADER = b"\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00"


def a_record(address: str, ttl: int) -> bytes:
    """The answer record: owner pointer to the question's name, TYPE A, CLASS IN, TTL, RDATA."""
    return (
        b"\xc0\x0c" + QTYPE_A + b"\x00\x01" + struct.pack("!IH", ttl, 4) + socket.inet_aton(address)
    )


def serve(sock: socket.socket, answer: bytes) -> int:
    """Answer queries until SIGTERM (SystemExit); returns how many were answered."""
    recvfrom, sendto = sock.recvfrom, sock.sendto
    answered = 0
    try:
        while True:
            query, peer = recvfrom(512)
            end = query.find(b"\x00", HEADER_BYTES)  # the root label ends the QNAME
            if end < 0 or len(query) < end + 5 or query[2] & QR:
                continue  # not a query with one whole question: say nothing
            qend = end + 5  # root label, QTYPE, QCLASS
            if query[end + 1 : end + 3] == QTYPE_A:
                sendto(query[:2] + A_HEADER + query[HEADER_BYTES:qend] + answer, peer)
            else:
                sendto(query[:2] + NODATA_HEADER + query[HEADER_BYTES:qend], peer)
            answered += 1
    except SystemExit:
        return answered


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--address", default="192.0.2.1")  # TEST-NET-1, RFC 5737
    parser.add_argument("--ttl", type=int, default=300)
    args = parser.parse_args(argv)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECV_BUFFER_BYTES)
        sock.bind((HOST, args.port))
        print(json.dumps({"port": sock.getsockname()[1]}), flush=True)
        answered = serve(sock, a_record(args.address, args.ttl))
    print(json.dumps({"queries": answered}), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
