#!/usr/bin/env python3
"""A resolver for tests: answers every A query with one address (argv[2]) on UDP argv[1]
(host:port), NXDOMAIN for names ending in .invalid. Runs until killed."""
import socket
import struct
import sys

host, port = sys.argv[1].rsplit(":", 1)
addr = socket.inet_aton(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((host, int(port)))
while True:
    q, peer = s.recvfrom(512)
    if len(q) < 12:
        continue
    qid, _flags, qd = struct.unpack("!HHH", q[:6])
    end = 12
    labels = []
    while end < len(q) and q[end]:
        labels.append(q[end + 1:end + 1 + q[end]].decode(errors="replace"))
        end += q[end] + 1
    question = q[12:end + 5]
    qtype = struct.unpack("!H", q[end + 1:end + 3])[0] if end + 3 <= len(q) else 0
    name = ".".join(labels)
    if name.endswith(".invalid"):
        s.sendto(struct.pack("!HHHHHH", qid, 0x8183, 1, 0, 0, 0) + question, peer)
    elif qtype == 1:
        answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + addr
        s.sendto(struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question + answer, peer)
    else:
        s.sendto(struct.pack("!HHHHHH", qid, 0x8180, 1, 0, 0, 0) + question, peer)
