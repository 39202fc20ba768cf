#!/usr/bin/env python3
"""Checks of `memtls serve --isolate` (tests/interop/test_isolate.sh).

boundary: TLS clients (with a key log, so this side learns every traffic
  secret) stay connected while the memory of the host process is read whole
  (/proc/PID/maps + /proc/PID/mem): neither the certificate's private key
  nor any secret of those sessions may occur in it. The same scan of the
  worker processes must find them (the control that lets the check fail).

kill: clients transfer through the echo server on two workers; halfway,
  one worker is killed with SIGKILL. Its clients must see their connection
  end within a bound; every other client finishes its transfer byte-exact.

Only 127.0.0.1. Reading another process's memory needs root (or ptrace
rights over it): without them the script says so and exits 77 (skip).
"""
import argparse
import hashlib
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time


def log(msg):
    print(msg, flush=True)


def fail(msg):
    print(f"isolate.py: FAIL: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def client_ctx(ca, keylog=None):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = True
    if keylog is not None:
        ctx.keylog_filename = keylog
    return ctx


def connect(port, ctx, timeout=10.0):
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return ctx.wrap_socket(raw, server_hostname="localhost")


def echo_once(s, data):
    s.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = s.recv(len(data) - len(got))
        if not chunk:
            raise ConnectionError("closed during echo")
        got += chunk
    if got != data:
        raise ValueError("echo differs")


# --- memory -------------------------------------------------------------------------------

CHUNK = 16 << 20
OVERLAP = 4096  # > the longest needle, so a match across two chunks is seen


def read_memory(pid):
    """Every readable mapping of pid, as (description, bytes) pairs, read
    in chunks that overlap a little (a mapping can be large)."""
    out = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if not parts[1].startswith("r"):
                continue
            name = parts[5] if len(parts) > 5 else "[anon]"
            if name in ("[vvar]", "[vsyscall]"):
                continue
            at = lo
            while at < hi:
                n = min(CHUNK, hi - at)
                try:
                    mem.seek(at)
                    out.append((name, mem.read(n)))
                except OSError:
                    pass  # a part that cannot be read (device, guard page)
                at += n if at + n >= hi else n - OVERLAP
    return out


def find(regions, needle):
    return [name for name, data in regions if needle in data]


def private_key_scalars(key_file):
    """The private scalar of an EC key (or an RSA key's private exponent),
    big- and little-endian: OpenSSL keeps BIGNUMs as little-endian words."""
    text = subprocess.run(["openssl", "pkey", "-in", key_file, "-noout", "-text"],
                          check=True, capture_output=True, text=True).stdout
    m = re.search(r"^(priv|privateExponent):\s*\n((?:\s+[0-9a-f:]+\n)+)", text, re.M)
    if not m:
        fail(f"no private value in `openssl pkey -text` of {key_file}")
    value = bytes.fromhex(re.sub(r"[\s:]", "", m.group(2)))
    value = value.lstrip(b"\0")
    return [("big-endian", value), ("little-endian", value[::-1])]


def keylog_secrets(path):
    """label -> bytes of every secret in an NSS key log file."""
    secrets = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and not line.startswith("#"):
                secrets.append((parts[0], bytes.fromhex(parts[2])))
    return secrets


def cmd_boundary(args):
    for pid in [args.host_pid] + args.worker_pids:
        try:
            with open(f"/proc/{pid}/mem", "rb"):
                pass
        except PermissionError:
            print(f"isolate.py: cannot read the memory of pid {pid} (needs root): skipped")
            sys.exit(77)
    keylog = tempfile.NamedTemporaryFile(prefix="isolate-keylog-", delete=False).name
    ctx = client_ctx(args.ca, keylog)
    conns = []
    for i in range(args.clients):
        s = connect(args.port, ctx)
        echo_once(s, f"boundary {i}\n".encode())
        conns.append(s)
    secrets = keylog_secrets(keylog)
    os.unlink(keylog)
    if len(secrets) < args.clients * 4:
        fail(f"expected at least {args.clients * 4} secrets in the key log, saw {len(secrets)}")
    key = private_key_scalars(args.key)

    host = read_memory(args.host_pid)
    size = sum(len(d) for _, d in host)  # (counting the overlaps)
    for what, value in key:
        where = find(host, value)
        if where:
            fail(f"the private key ({what}, {len(value)} bytes) is in the host process's "
                 f"memory: {', '.join(sorted(set(where)))}")
    for label, value in secrets:
        where = find(host, value)
        if where:
            fail(f"a session secret ({label}) is in the host process's memory: "
                 f"{', '.join(sorted(set(where)))}")
    log(f"ok: host pid {args.host_pid}: {size >> 20} MiB read, neither the private key nor any "
        f"of {len(secrets)} session secrets occurs in it")

    workers = {pid: read_memory(pid) for pid in args.worker_pids}
    for pid, regions in workers.items():
        if not any(find(regions, value) for _, value in key):
            fail(f"control: the private key is not in worker pid {pid}'s memory either: the "
                 "scan cannot see what it looks for")
    # The secrets of the open sessions: each one in some worker (OpenSSL
    # keeps the traffic secrets of a live TLS 1.3 connection).
    live = [(l, v) for l, v in secrets if l in ("CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0")]
    missing = [l for l, v in live if not any(find(r, v) for r in workers.values())]
    if not live or missing:
        fail(f"control: {len(missing)} of {len(live)} traffic secrets not found in any worker")
    log(f"ok: control: the private key is in every worker ({len(workers)}), and all "
        f"{len(live)} traffic secrets of the open sessions are in the workers")
    for s in conns:
        s.close()


# --- kill ---------------------------------------------------------------------------------

def pattern(seed, n):
    out = bytearray()
    block = seed.to_bytes(8, "little")
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:n])


class Transfer(threading.Thread):
    """Echo `total` bytes in `chunk` pieces; waits at `halfway` (an Event
    it sets `reached` for) before the second half."""

    def __init__(self, port, ctx, index, total, chunk, go):
        super().__init__(daemon=True)
        self.s = connect(port, ctx)
        self.index, self.total, self.chunk, self.go = index, total, chunk, go
        self.reached = threading.Event()
        self.done = 0
        self.result = None  # "ok", or how it ended
        self.ended_at = None

    def run(self):
        data = pattern(self.index + 1, self.total)
        try:
            while self.done < self.total:
                if self.done >= self.total // 2 and not self.reached.is_set():
                    self.reached.set()
                    self.go.wait()
                piece = data[self.done:self.done + self.chunk]
                echo_once(self.s, piece)
                self.done += len(piece)
            self.result = "ok"
        except (OSError, ssl.SSLError, ConnectionError, ValueError) as e:
            self.result = f"{e.__class__.__name__}: {e}"
        finally:
            self.ended_at = time.monotonic()
            self.reached.set()
            self.s.close()


def cmd_kill(args):
    ctx = client_ctx(args.ca)
    go = threading.Event()
    ts = [Transfer(args.port, ctx, i, args.bytes, 16384, go) for i in range(args.clients)]
    for t in ts:
        t.start()
    for t in ts:
        if not t.reached.wait(30):
            fail(f"client {t.index} did not get halfway in 30 s")
    early = [t for t in ts if t.result is not None]
    if early:
        fail(f"{len(early)} client(s) ended before the kill: {early[0].result}")
    os.kill(args.kill_pid, signal.SIGKILL)
    killed_at = time.monotonic()
    go.set()
    for t in ts:
        t.join(60)
        if t.is_alive():
            fail(f"client {t.index} still running 60 s after the kill")
    cut = [t for t in ts if t.result != "ok"]
    whole = [t for t in ts if t.result == "ok"]
    if not cut:
        fail(f"no client lost its connection when worker pid {args.kill_pid} was killed")
    if not whole:
        fail("every client lost its connection: the other worker's clients must go on")
    slow = [t for t in cut if t.ended_at - killed_at > args.bound]
    if slow:
        fail(f"{len(slow)} client(s) of the killed worker saw their connection end only "
             f"{max(t.ended_at - killed_at for t in slow):.2f} s after the kill (bound {args.bound} s)")
    log(f"ok: kill: {len(cut)} client(s) of the killed worker saw a close within "
        f"{max(t.ended_at - killed_at for t in cut):.2f} s ({cut[0].result}); the other "
        f"{len(whole)} finished {args.bytes} bytes each, byte-exact")
    # A new connection is served (by the other worker, or the restarted one).
    deadline = time.monotonic() + 10
    while True:
        try:
            s = connect(args.port, ctx)
            echo_once(s, b"after the kill\n")
            s.close()
            break
        except (OSError, ssl.SSLError, ConnectionError) as e:
            if time.monotonic() > deadline:
                fail(f"no new connection served after the kill: {e}")
    log("ok: kill: a new connection is served")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("boundary")
    b.add_argument("port", type=int)
    b.add_argument("--ca", required=True)
    b.add_argument("--key", required=True)
    b.add_argument("--host-pid", type=int, required=True)
    b.add_argument("--worker-pids", type=lambda v: [int(x) for x in v.split(",")], required=True)
    b.add_argument("--clients", type=int, default=4)
    k = sub.add_parser("kill")
    k.add_argument("port", type=int)
    k.add_argument("--ca", required=True)
    k.add_argument("--kill-pid", type=int, required=True)
    k.add_argument("--clients", type=int, default=8)
    k.add_argument("--bytes", type=int, default=2 << 20)
    k.add_argument("--bound", type=float, default=3.0)
    args = ap.parse_args()
    {"boundary": cmd_boundary, "kill": cmd_kill}[args.cmd](args)


if __name__ == "__main__":
    main()
