#!/usr/bin/python3
"""tests/integration/slowproxy.py — a TCP forwarder on 127.0.0.1 that slows what the upstream
sends back (the registry's blobs), so a test can act in the middle of a pull.

  slowproxy.py --to 127.0.0.1:PORT [--rate BYTES_PER_SECOND] [--listen ADDR] --port-file FILE

It listens on a free port of ADDR (default 127.0.0.1) and writes that port to FILE once it
accepts. The client to upstream direction is not slowed; rate 0 slows nothing (a plain
forwarder, e.g. to reach the registry under another loopback address). Runs until killed.
"""

import argparse
import os
import socket
import threading
import time

CHUNK = 16384


def pipe(src, dst, rate):
    start, sent = time.monotonic(), 0
    try:
        while True:
            data = src.recv(CHUNK)
            if not data:
                break
            dst.sendall(data)
            sent += len(data)
            if rate:
                ahead = sent / rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(client, upstream, rate):
    try:
        server = socket.create_connection(upstream)
    except OSError:
        client.close()
        return
    threading.Thread(target=pipe, args=(client, server, 0), daemon=True).start()
    pipe(server, client, rate)
    client.close()
    server.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--to", required=True)
    ap.add_argument("--rate", type=int, default=0)
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    host, port = a.to.rsplit(":", 1)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.listen, 0))
    ls.listen(64)
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(ls.getsockname()[1]))
    os.rename(a.port_file + ".tmp", a.port_file)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c, (host, int(port)), a.rate), daemon=True).start()


if __name__ == "__main__":
    main()
