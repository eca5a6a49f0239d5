#!/usr/bin/python3
"""rawsock.py SOCKET [--wait SECS] [--split N] [--split-delay SECS] [--split-after N]
[--close-after N] [--repeat N] [--status] [--read-delay SECS]: send stdin's bytes over a unix socket as-is and
print the reply. For requests curl refuses to send: malformed, oversized, split, pipelined, or
cut off mid-way (--close-after N sends only N bytes, then closes without reading). --split
sends N bytes at a time, --split-delay apart (a trickling client; once the server has closed,
the rest is not sent), after the first --split-after bytes, which go at once. --repeat runs the exchange N times, each on a new connection.
--read-delay waits before reading anything (a slow client). --status ends the output with a line "[closed after S.SSs]" when the server
closed the connection, or "[open after S.SSs]" when --wait ran out first."""
import argparse
import socket
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("sock")
ap.add_argument("--wait", type=float, default=5.0, help="seconds to wait for the reply")
ap.add_argument("--close-after", type=int, default=None)
ap.add_argument("--split", type=int, default=0, help="send in pieces of this many bytes")
ap.add_argument("--split-delay", type=float, default=0.001, help="seconds between pieces")
ap.add_argument("--split-after", type=int, default=0, help="bytes sent at once before the pieces")
ap.add_argument("--repeat", type=int, default=1)
ap.add_argument("--status", action="store_true")
ap.add_argument("--read-delay", type=float, default=0.0)
a = ap.parse_args()
data = sys.stdin.buffer.read()


def send(s):
    """Send the request; a server that already answered and closed (a 431 while the client
    is still sending) may reset the connection: the reply is still there to read."""
    try:
        if a.split:
            s.sendall(data[: a.split_after])
            for i in range(a.split_after, len(data), a.split):
                s.sendall(data[i : i + a.split])
                time.sleep(a.split_delay)  # each piece its own recv on the server
        else:
            s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


def exchange():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(a.sock)
    if a.close_after is not None:
        s.sendall(data[: a.close_after])
        s.close()
        return
    start = time.monotonic()
    send(s)
    time.sleep(a.read_delay)
    s.settimeout(a.wait)
    out, closed = b"", False
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            out += chunk
    except socket.timeout:
        pass
    except ConnectionResetError:
        closed = True
    s.close()
    sys.stdout.buffer.write(out)
    if a.status:
        state = "closed" if closed else "open"
        sys.stdout.buffer.write(b"\n[%s after %.2fs]\n" % (state.encode(), time.monotonic() - start))
    sys.stdout.flush()


for _ in range(a.repeat):
    exchange()
