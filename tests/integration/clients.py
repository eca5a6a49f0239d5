#!/usr/bin/python3
"""clients.py SOCKET [--conns N] [--requests M] [--path P]... [--hold SECS]: open N keep-alive
connections at once, then M rounds of one GET on every connection (all sent before any reply
is read, so the server holds N requests at a time), and check every reply. Paths cycle
through the --path values. Prints one line "conns=N replies=R status=CODE:COUNT,..." and
exits 1 if a reply was missing or malformed. --hold keeps the connections open that long
after the summary (a peak the caller can observe)."""
import argparse
import collections
import socket
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("sock")
ap.add_argument("--conns", type=int, default=200)
ap.add_argument("--requests", type=int, default=5)
ap.add_argument("--path", action="append", default=None)
ap.add_argument("--timeout", type=float, default=20.0)
ap.add_argument("--hold", type=float, default=0.0)
a = ap.parse_args()
paths = a.path or ["/_ping"]


class Conn:
    def __init__(self):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(a.timeout)
        self.s.connect(a.sock)
        self.buf = b""

    def read_reply(self):
        """One reply with a Content-Length body; returns its status code."""
        while b"\r\n\r\n" not in self.buf:
            self.fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        fields = dict(l.split(":", 1) for l in lines[1:])
        fields = {k.strip().lower(): v.strip() for k, v in fields.items()}
        length = int(fields["content-length"])
        if fields.get("connection", "").lower() == "close":
            raise RuntimeError("server closed a keep-alive connection")
        while len(self.buf) < length:
            self.fill()
        self.buf = self.buf[length:]
        return status

    def fill(self):
        chunk = self.s.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed with %d bytes pending" % len(self.buf))
        self.buf += chunk


conns = [Conn() for _ in range(a.conns)]
counts = collections.Counter()
replies, failed = 0, None
try:
    for rnd in range(a.requests):
        for i, c in enumerate(conns):
            path = paths[(rnd + i) % len(paths)]
            c.s.sendall(b"GET %s HTTP/1.1\r\nHost: berth\r\n\r\n" % path.encode())
        for c in conns:
            counts[c.read_reply()] += 1
            replies += 1
except (OSError, RuntimeError, ValueError, KeyError, IndexError) as e:
    failed = e
summary = ",".join("%d:%d" % kv for kv in sorted(counts.items()))
print("conns=%d replies=%d status=%s" % (len(conns), replies, summary), flush=True)
if failed:
    print("error: %r" % failed, flush=True)
time.sleep(a.hold)
for c in conns:
    c.s.close()
sys.exit(1 if failed else 0)
