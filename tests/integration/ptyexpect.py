#!/usr/bin/python3
"""ptyexpect.py [--rows R] [--cols C] [--timeout S] [--pidfile F] -- CMD...: run CMD on a new
pseudo-terminal of size RxC (its controlling tty, so it sees a real terminal) and drive it
with the steps read from stdin, one per line, as expect(1) would:

  expect REGEX     wait until REGEX (Python syntax) matches output not yet consumed
  send TEXT        type TEXT; backslash escapes as in Python strings (\\r, \\x10, ...)
  resize R C       change the terminal's size (the kernel signals SIGWINCH to CMD)
  sleep SECS       wait
  eof              wait for CMD to end; ptyexpect exits with CMD's exit status

Every step has --timeout seconds (default 20). On a timeout the transcript so far goes to
stderr, CMD is killed and the exit status is 124. The whole transcript is written to stdout
at the end, so a test can also look at what CMD printed."""
import argparse
import codecs
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time

ap = argparse.ArgumentParser()
ap.add_argument("--rows", type=int, default=24)
ap.add_argument("--cols", type=int, default=80)
ap.add_argument("--timeout", type=float, default=20.0)
ap.add_argument("--pidfile", help="write CMD's pid here once it runs")
ap.add_argument("cmd", nargs=argparse.REMAINDER)
a = ap.parse_args()
cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
steps = sys.stdin.read().splitlines()


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


pid, master = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
set_size(master, a.rows, a.cols)
if a.pidfile:
    with open(a.pidfile, "w") as f:
        f.write(f"{pid}\n")

transcript = b""  # everything CMD printed
consumed = 0  # how far expect has matched
status = None


def read_some(deadline):
    """Read what CMD printed until deadline; False once the terminal has closed."""
    global transcript
    left = deadline - time.monotonic()
    if left <= 0:
        return True
    r, _, _ = select.select([master], [], [], left)
    if not r:
        return True
    try:
        data = os.read(master, 65536)
    except OSError:  # EIO: CMD and everything else on the terminal has gone
        data = b""
    transcript += data
    return bool(data)


def fail(why):
    sys.stderr.write(f"ptyexpect: {why}\n--- transcript ---\n")
    sys.stderr.write(transcript.decode("utf-8", "replace") + "\n--- end ---\n")
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except OSError:
        pass
    sys.exit(124)


def expect(pattern):
    global consumed
    rx = re.compile(pattern.encode("latin-1"))
    deadline = time.monotonic() + a.timeout
    while True:
        m = rx.search(transcript, consumed)
        if m:
            consumed = m.end()
            return
        if time.monotonic() >= deadline:
            fail(f"timed out waiting for /{pattern}/")
        if not read_some(deadline):
            m = rx.search(transcript, consumed)
            if m:
                consumed = m.end()
                return
            fail(f"the terminal closed before /{pattern}/")


def wait_eof():
    global status
    deadline = time.monotonic() + a.timeout
    while read_some(deadline):
        if time.monotonic() >= deadline:
            fail("timed out waiting for the command to end")
    while True:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = os.waitstatus_to_exitcode(st)
            return
        if time.monotonic() >= deadline:
            fail("timed out waiting for the command to exit")
        time.sleep(0.01)


for step in steps:
    if not step.strip():
        continue
    op, _, arg = step.partition(" ")
    if op == "expect":
        expect(arg)
    elif op == "send":
        os.write(master, codecs.decode(arg, "unicode_escape").encode("latin-1"))
    elif op == "resize":
        rows, cols = arg.split()
        set_size(master, int(rows), int(cols))
    elif op == "sleep":
        deadline = time.monotonic() + float(arg)
        while time.monotonic() < deadline and read_some(deadline):
            pass
    elif op == "eof":
        wait_eof()
    else:
        fail(f"unknown step: {step}")

if status is None:
    wait_eof()
sys.stdout.buffer.write(transcript)
sys.exit(status if status >= 0 else 128 - status)
