#!/usr/bin/python3
"""eventsflood.py SOCKET CONTAINER [--rounds R] [--per-round N] [--pid PID] [--query Q]: a slow
events reader. Opens GET /events?Q (Connection: close) and reads nothing while it makes R x N
resize events (POST /containers/CONTAINER/resize, pipelined on a keep-alive connection), once the
reply's head is in (the subscription exists); after
each round prints "rss ROUND KB" for berthd's pid (when given). Then it reads the events stream
to its end and prints each event line, and a last line "[end complete]" when the body ended
(chunked terminator) or "[end broken]" when the connection closed without it."""
import argparse
import socket
import sys

ap = argparse.ArgumentParser()
ap.add_argument("sock")
ap.add_argument("ctr")
ap.add_argument("--rounds", type=int, default=1)
ap.add_argument("--per-round", type=int, default=1000)
ap.add_argument("--pid", type=int, default=0)
ap.add_argument("--query", default="")
a = ap.parse_args()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def flood(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(a.sock)
    req = ("POST /v1.50/containers/%s/resize?h=24&w=80 HTTP/1.1\r\nHost: x\r\n"
           "Content-Length: 0\r\n\r\n" % a.ctr).encode()
    sent = got = 0
    buf = b""
    while got < n:
        batch = min(100, n - sent)
        if batch > 0:
            s.sendall(req * batch)
            sent += batch
        while got < sent:
            chunk = s.recv(65536)
            if not chunk:
                sys.exit("the server closed the resize connection")
            buf += chunk
            while True:
                i = buf.find(b"\r\n\r\n")
                if i < 0:
                    break
                head = buf[:i].decode()
                if not head.startswith("HTTP/1.1 200"):
                    sys.exit("resize failed: " + head)
                buf = buf[i + 4:]  # no body (Content-Length: 0)
                got += 1
    s.close()


def read_head(s):
    """The reply's head (the subscription exists once it is sent), and the bytes after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def read_chunked(s, data):
    """The body's bytes and whether it ended with the chunked terminator."""
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        sys.exit("events: " + head.decode(errors="replace"))
    body = b""
    while True:
        line, sep, rest2 = rest.partition(b"\r\n")
        if not sep:
            return body, False
        size = int(line, 16)
        if size == 0:
            return body, True
        if len(rest2) < size + 2:
            return body + rest2[:size], False
        body += rest2[:size]
        rest = rest2[size + 2:]


ev = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
ev.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: it falls behind
ev.connect(a.sock)
ev.sendall(("GET /v1.50/events?%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            % a.query).encode())
start = read_head(ev)
for r in range(a.rounds):
    flood(a.per_round)
    if a.pid:
        print("rss %d %d" % (r + 1, rss_kb(a.pid)), flush=True)
body, complete = read_chunked(ev, start)
sys.stdout.write(body.decode())
print("[end %s]" % ("complete" if complete else "broken"))
