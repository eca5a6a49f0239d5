#!/usr/bin/python3
"""idleconns.py SOCKET N: open N connections to SOCKET from this one process and send nothing
on them (a client hoarding idle connections). Prints "ready" once all are connected, then on
SIGTERM (or after --hold SECS) one line "open=A closed=B": how many the server has closed."""
import argparse
import select
import signal
import socket
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("sock")
ap.add_argument("n", type=int)
ap.add_argument("--hold", type=float, default=60.0)
a = ap.parse_args()

conns = []
for _ in range(a.n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(a.sock)
    conns.append(s)
print("ready", flush=True)


def closed(s):
    """The server closed it: readable, and nothing (or a reset) to read."""
    p = select.poll()  # not select(): fds may pass FD_SETSIZE
    p.register(s, select.POLLIN)
    if not p.poll(0):
        return False
    try:
        return s.recv(1, socket.MSG_DONTWAIT) == b""
    except ConnectionResetError:
        return True
    except BlockingIOError:
        return False


def report(*_):
    shut = sum(1 for s in conns if closed(s))
    print("open=%d closed=%d" % (len(conns) - shut, shut), flush=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, report)
time.sleep(a.hold)
report()
