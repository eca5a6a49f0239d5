#!/usr/bin/env python3
"""Ask a DNS server one question and print each answer's data, one a line (an address for A,
a name for PTR): dnsquery.py udp|tcp SERVER NAME A|PTR. Exits 1 on no answer or an error
rcode, 2 when the server does not reply within 5 s."""
import socket
import struct
import sys

proto, server, name, qtype_s = sys.argv[1:5]
qtype = {"A": 1, "PTR": 12}[qtype_s]
qname = b"".join(bytes([len(label)]) + label.encode() for label in name.rstrip(".").split(".")) + b"\0"
query = struct.pack("!HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!HH", qtype, 1)


def read_name(msg, off):
    labels = []
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            labels.append(read_name(msg, ((n & 0x3F) << 8) | msg[off + 1])[0])
            return ".".join(labels), off + 2
        off += 1
        if n == 0:
            return ".".join(labels), off
        labels.append(msg[off:off + n].decode())
        off += n


try:
    if proto == "tcp":
        s = socket.create_connection((server, 53), timeout=5)
        s.sendall(struct.pack("!H", len(query)) + query)
        want = struct.unpack("!H", s.recv(2, socket.MSG_WAITALL))[0]
        msg = s.recv(want, socket.MSG_WAITALL)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(5)
        s.sendto(query, (server, 53))
        msg = s.recv(4096)
except OSError as e:
    print(f"no reply: {e}", file=sys.stderr)
    sys.exit(2)
qid, flags, qd, an = struct.unpack("!HHHH", msg[:8])
if qid != 0x4242 or flags & 0xF:
    print(f"rcode {flags & 0xF}", file=sys.stderr)
    sys.exit(1)
off = 12
for _ in range(qd):
    off = read_name(msg, off)[1] + 4
for _ in range(an):
    off = read_name(msg, off)[1]
    rtype, _cls, _ttl, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
    off += 10
    if rtype == 1:
        print(socket.inet_ntoa(msg[off:off + 4]))
    elif rtype == 12:
        print(read_name(msg, off)[0])
    off += rdlen
sys.exit(0 if an else 1)
