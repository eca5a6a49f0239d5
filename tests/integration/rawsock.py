#!/usr/bin/python3
"""rawsock.py SOCKET [--wait SECS] [--close-after N]: send stdin's bytes over a unix socket
as-is and print the reply. For requests curl refuses to send: malformed, oversized, split,
pipelined, or cut off mid-way (--close-after N sends only N bytes, then closes)."""
import socket, sys, time, argparse

ap = argparse.ArgumentParser()
ap.add_argument("sock")
ap.add_argument("--wait", type=float, default=5.0, help="seconds to wait for the reply")
ap.add_argument("--close-after", type=int, default=None)
ap.add_argument("--split", type=int, default=0, help="send in pieces of this many bytes")
a = ap.parse_args()
data = sys.stdin.buffer.read()
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(a.sock)
if a.close_after is not None:
    s.sendall(data[: a.close_after])
    s.close()
    sys.exit(0)
if a.split:
    for i in range(0, len(data), a.split):
        s.sendall(data[i : i + a.split])
        time.sleep(0.01)
else:
    s.sendall(data)
s.settimeout(a.wait)
out = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
except socket.timeout:
    pass
sys.stdout.buffer.write(out)
