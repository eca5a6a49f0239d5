#!/usr/bin/python3
"""races.py SOCKET MODE [--iterations N] [--timeout SECS] [--image IMG]: the client sequences
that race a container's end, each over ONE keep-alive connection, N times. Every request must
be answered in full within --timeout; the first that is not fails the run (exit 1, with the
iteration and what was received).

  logs    create `echo x`, start, GET logs?follow=1: the stream ends and holds x
  wait    create `echo x`, start, POST wait: {"StatusCode": 0}
  attach  create `echo x`, then start and attach?stream=1 pipelined in one write, so the attach
          is read while the container has just been started: the stream ends and holds x
          (an attach that arrives after the container is gone waits for its next run, as
          dockerd's does: that is what `docker start -a` relies on)
  kill    create `sleep 60`, start, POST kill (SIGKILL), GET json at once: Running false,
          ExitCode 137
  pyrun   docker-py: client.containers.run(IMG, "echo x") returns b"x\\n"
Containers are removed as it goes."""
import argparse
import http.client
import json
import socket
import sys

ap = argparse.ArgumentParser()
ap.add_argument("sock")
ap.add_argument("mode", choices=["logs", "wait", "attach", "kill", "pyrun"])
ap.add_argument("--iterations", type=int, default=30)
ap.add_argument("--timeout", type=float, default=10.0)
ap.add_argument("--image", default="busybox")
a = ap.parse_args()


class UnixConn(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("berth", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def call(conn, method, path, body=None, want=(200, 201, 204)):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = conn.getresponse()
    data = r.read()  # the whole body: a stream that never ends times out here
    if r.status not in want:
        raise RuntimeError(f"{method} {path}: {r.status} {data!r}")
    return data


def demux(data):
    """Docker's stream frames: [stream, 0, 0, 0, size (big-endian 32)] payload."""
    out = b""
    while len(data) >= 8:
        n = int.from_bytes(data[4:8], "big")
        out += data[8 : 8 + n]
        data = data[8 + n :]
    return out


def create(conn, cmd):
    return json.loads(call(conn, "POST", "/containers/create", {"Image": a.image, "Cmd": cmd}))["Id"]


def remove(cid):
    conn = UnixConn(a.sock, a.timeout)
    call(conn, "DELETE", f"/containers/{cid}?force=1")
    conn.close()


def logs_once(conn):
    cid = create(conn, ["echo", "x"])
    call(conn, "POST", f"/containers/{cid}/start")
    out = demux(call(conn, "GET", f"/containers/{cid}/logs?follow=1&stdout=1&stderr=1"))
    assert out == b"x\n", f"logs: {out!r}"
    return cid


def wait_once(conn):
    cid = create(conn, ["echo", "x"])
    call(conn, "POST", f"/containers/{cid}/start")
    got = json.loads(call(conn, "POST", f"/containers/{cid}/wait"))
    assert got["StatusCode"] == 0, f"wait: {got!r}"
    return cid


def attach_once(conn):
    cid = create(conn, ["echo", "x"])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    s.connect(a.sock)
    s.sendall(
        f"POST /containers/{cid}/start HTTP/1.1\r\nHost: berth\r\nContent-Length: 0\r\n\r\n"
        f"POST /containers/{cid}/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: berth\r\n"
        "Content-Length: 0\r\n\r\n".encode()
    )
    data = b""
    try:
        while chunk := s.recv(65536):
            data += chunk
    except socket.timeout:
        raise AssertionError(f"attach: no end after {a.timeout}s; got {data!r}")
    finally:
        s.close()
    head, _, rest = data.partition(b"\r\n\r\n")  # the start's 204
    assert head.startswith(b"HTTP/1.1 204"), f"start: {data!r}"
    head, _, rest = rest.partition(b"\r\n\r\n")  # the attach's 200, then the frames
    assert head.startswith(b"HTTP/1.1 200"), f"attach: {data!r}"
    assert demux(rest) == b"x\n", f"attach: {data!r}"
    return cid


def kill_once(conn):
    cid = create(conn, ["sleep", "60"])
    call(conn, "POST", f"/containers/{cid}/start")
    call(conn, "POST", f"/containers/{cid}/kill")
    st = json.loads(call(conn, "GET", f"/containers/{cid}/json"))["State"]
    assert (st["Running"], st["Status"], st["ExitCode"]) == (False, "exited", 137), f"kill: {st!r}"
    return cid


def pyrun_once(client):
    out = client.containers.run(a.image, "echo x", remove=True)
    assert out == b"x\n", f"run: {out!r}"


def main():
    if a.mode == "pyrun":
        import docker

        client = docker.DockerClient(base_url="unix://" + a.sock, timeout=a.timeout)
        for i in range(a.iterations):
            try:
                pyrun_once(client)
            except Exception as e:
                print(f"iteration {i}: {type(e).__name__}: {e}", file=sys.stderr)
                return 1
        return 0
    once = {"logs": logs_once, "wait": wait_once, "attach": attach_once, "kill": kill_once}[a.mode]
    conn = UnixConn(a.sock, a.timeout)
    for i in range(a.iterations):
        try:
            cid = once(conn)
        except Exception as e:
            print(f"iteration {i}: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        remove(cid)
    return 0


sys.exit(main())
