#!/usr/bin/env python3
"""Hostile peers for the memtls interop tests (test_hostile_*.sh): raw-byte
and socket attacks on `memtls serve`, misbehaving backends, and the
measurements that bound them.

Every attack subcommand checks two things and prints one line per check:
that the attack is cut off or bounded (time, the server's CPU from
/proc/PID/stat, its RSS from /proc/PID/status, its open descriptors from
/proc/PID/fd, its log lines), and that normal clients are served during
and after it (a "prober": a separate process that opens a fresh TLS
connection, does a full handshake and an echo round trip, at a fixed
interval). Lines are "ok: ...", "figure: ..." (a measurement reported
for the record) or "FAIL: expected ..., saw ..."; the exit status is 1
when any check failed (all checks still run, so one run shows every
figure).

Servers (the backend) print "ready PORT" once they listen, like peers.py.

Sanitizer builds are much slower and their RSS is dominated by shadow
memory and quarantine: the test scripts set HOSTILE_SLOW (a factor for
every time and CPU bound) and HOSTILE_SANITIZED=1 (memory figures are
then reported, not asserted).
"""
import argparse
import json
import os
import random
import select
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from peers import SOURCE  # noqa: E402  (the shared byte pattern)

SLOW = float(os.environ.get("HOSTILE_SLOW", "1"))
SANITIZED = os.environ.get("HOSTILE_SANITIZED", "0") == "1"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def now():
    return time.monotonic()


def out(line):
    print(line, flush=True)


def die(msg):
    print(f"hostile.py: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


class Checks:
    """Collects pass/fail lines; done() exits 1 if any check failed."""

    def __init__(self):
        self.failed = []

    def check(self, cond, ok_text, fail_text):
        if cond:
            out(f"ok: {ok_text}")
        else:
            out(f"FAIL: {fail_text}")
            self.failed.append(fail_text)
        return cond

    def figure(self, text):
        out(f"figure: {text}")

    def memory(self, value_kib, limit_kib, what):
        """A memory bound: asserted on plain builds, reported on
        sanitizer builds (their RSS says nothing about ours)."""
        if SANITIZED:
            self.figure(f"{what}: {value_kib:.0f} KiB (bound {limit_kib:.0f} KiB not asserted: "
                        f"sanitizer build)")
            return True
        return self.check(value_kib <= limit_kib, f"{what}: {value_kib:.0f} KiB <= {limit_kib:.0f} KiB",
                          f"{what}: expected at most {limit_kib:.0f} KiB, saw {value_kib:.0f} KiB")

    def done(self):
        if self.failed:
            for f in self.failed:
                print(f"hostile.py: FAIL: {f}", file=sys.stderr, flush=True)
            sys.exit(1)


class Proc:
    """What /proc says about the server process."""

    def __init__(self, pid):
        self.pid = pid

    def _stat(self):
        with open(f"/proc/{self.pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()

    def cpu(self):
        """User + system CPU seconds so far (all threads)."""
        st = self._stat()
        return (int(st[11]) + int(st[12])) / CLK_TCK

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def fds(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def nofile(self):
        with open(f"/proc/{self.pid}/limits") as f:
            for line in f:
                if line.startswith("Max open files"):
                    return int(line.split()[3])
        return 0

    def alive(self):
        try:
            return self._stat()[0] not in ("Z", "X")
        except OSError:
            return False


def wait_until(cond, secs, step=0.02):
    """Poll cond() until it is true or secs pass; returns its last value."""
    deadline = now() + secs
    while True:
        v = cond()
        if v or now() >= deadline:
            return v
        time.sleep(step)


def percentile(values, p):
    if not values:
        return 0.0
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


class Log:
    """The server's stderr: one record line per connection, keyed by the
    client's port (peer=127.0.0.1:PORT). Only lines written after the
    Log object was made count (a port the kernel hands out again later in
    the same test cannot match an earlier connection's line)."""

    def __init__(self, path):
        self.path = path
        self.skip = 0
        self.skip = len(self.lines())

    def lines(self):
        try:
            with open(self.path, errors="replace") as f:
                return f.read().splitlines()[self.skip:]
        except OSError:
            return []

    def records(self, port=None):
        key = f" peer=127.0.0.1:{port} " if port is not None else " peer="
        return [ln for ln in self.lines() if key in ln and " close=" in ln]

    @staticmethod
    def reason(line):
        i = line.find(' close="')
        return line[i + 8:-1] if i >= 0 and line.endswith('"') else ""

    @staticmethod
    def field(line, name):
        i = line.find(f" {name}=")
        return line[i + len(name) + 2:].split(" ", 1)[0] if i >= 0 else ""


def client_ctx(ca):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = True
    return ctx


def tls_connect(port, ctx, timeout=5.0, bufsize=0):
    """A verified TLS connection to the server; bufsize > 0 sets small
    socket buffers (before connect) so a peer that stops gets stuck after
    little data in the kernel."""
    raw = socket.socket()
    if bufsize:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, bufsize)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, bufsize)
    raw.settimeout(timeout)
    try:
        raw.connect(("127.0.0.1", port))
        return ctx.wrap_socket(raw, server_hostname="localhost", suppress_ragged_eofs=False)
    except BaseException:
        raw.close()
        raise


def probe_once(port, ctx, timeout):
    """A normal client: connect, full handshake, echo round trip, clean
    close. Returns (ok, seconds, error text)."""
    start = now()
    msg = b"probe\n"
    try:
        s = tls_connect(port, ctx, timeout)
        try:
            s.settimeout(max(0.05, timeout - (now() - start)))
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                chunk = s.recv(64)
                if not chunk:
                    break
                got += chunk
            took = now() - start
            if got != msg:
                return False, took, f"echo returned {got!r}"
            try:
                s.unwrap()
            except (OSError, ssl.SSLError):
                pass
        finally:
            s.close()
    except (OSError, ssl.SSLError) as e:
        return False, now() - start, f"{e.__class__.__name__}: {e}"
    took = now() - start
    if took > timeout:
        return False, took, f"took {took:.3f} s"
    return True, took, ""


class Prober:
    """A separate process that probes the server once every `interval`
    seconds until stopped (own process: attack code in this one cannot
    delay it through the GIL)."""

    def __init__(self, port, ca, interval=0.2, timeout=1.0):
        self.p = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "probes", str(port), "--ca", ca,
             "--interval", str(interval), "--timeout", str(timeout * SLOW)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.timeout = timeout * SLOW
        self.interval = interval

    def stop(self):
        """Stop probing (its stdin closes); returns the summary dict."""
        try:
            text, _ = self.p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            text, _ = self.p.communicate()
        try:
            return json.loads(text.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"n": 0, "failed": 0, "max": 0, "p50": 0, "errors": [f"prober said {text!r}"]}

    def check(self, checks, what, need_min=1):
        s = self.stop()
        checks.check(s["n"] >= need_min and s["failed"] == 0,
                     f"{what}: {s['n']} of {s['n']} probes served (handshake + echo), "
                     f"max {s['max'] * 1000:.0f} ms, median {s['p50'] * 1000:.0f} ms",
                     f"{what}: expected every probe (one every {self.interval:.2f} s) served within "
                     f"{self.timeout:.1f} s, saw {s['failed']} of {s['n']} fail "
                     f"(max {s['max'] * 1000:.0f} ms); first errors: {s['errors'][:3]}")
        return s


def final_probe(checks, port, ctx, what="after the attack"):
    ok, took, err = probe_once(port, ctx, 2.0 * SLOW)
    checks.check(ok, f"{what}: a new client is served ({took * 1000:.0f} ms)",
                 f"{what}: expected a new client to be served within {2.0 * SLOW:.1f} s, saw: {err}")


def cmd_probe(args):
    """One probe; exit 1 (saying why) unless it is served within --timeout."""
    ok, took, err = probe_once(args.port, client_ctx(args.ca), args.timeout * SLOW)
    if not ok:
        die(f"expected a new client served within {args.timeout * SLOW:.1f} s, saw: {err}")
    out(f"probe served in {took * 1000:.0f} ms")


def cmd_probes(args):
    """Probe every --interval seconds until stdin closes (the Prober
    class) or --until-file exists (test scripts). Prints the summary as
    JSON; with --until-file, the verdict instead (and exits 1 when a
    probe failed)."""
    ctx = client_ctx(args.ca)
    results = []
    while True:
        t = now()
        results.append(probe_once(args.port, ctx, args.timeout))
        if args.until_file and os.path.exists(args.until_file):
            break
        wait = max(0.0, args.interval - (now() - t))
        if not args.until_file:
            r, _, _ = select.select([sys.stdin], [], [], wait)
            if r and not sys.stdin.read(1):
                break
        else:
            time.sleep(wait)  # the probing interval, not a synchronisation
    lat = [r[1] for r in results]
    summary = {"n": len(results), "failed": sum(1 for r in results if not r[0]),
               "max": max(lat) if lat else 0, "p50": percentile(lat, 50),
               "errors": [r[2] for r in results if not r[0]][:5]}
    if args.until_file:
        checks = Checks()
        what = args.what or "meanwhile"
        checks.check(summary["failed"] == 0,
                     f"{what}: {summary['n']} of {summary['n']} probes served (handshake + echo), "
                     f"max {summary['max'] * 1000:.0f} ms",
                     f"{what}: expected every probe (one every {args.interval:.2f} s) served within "
                     f"{args.timeout:.1f} s, saw {summary['failed']} of {summary['n']} fail "
                     f"(max {summary['max'] * 1000:.0f} ms); first errors: {summary['errors'][:3]}")
        checks.done()
    else:
        out(json.dumps(summary))


# --- a non-blocking TLS connection that pushes the pattern ---------------------

class Pusher:
    """TLS client (handshake done blocking) that then never reads, and
    sends the pattern as fast as the socket takes it (unless send=False),
    remembering when it last made progress and how its sending ended."""

    def __init__(self, port, ctx, first=b"", send=True):
        self.s = tls_connect(port, ctx, 10 * SLOW, bufsize=65536)
        self.local_port = self.s.getsockname()[1]
        if first:
            self.s.sendall(first)
        self.s.setblocking(False)
        self.send = send
        self.sent = 0
        self.end = None  # None while open; else how sending ended
        self.last_progress = now()

    def fileno(self):
        return self.s.fileno()

    def push(self, budget=1 << 20):
        """Send up to budget bytes without blocking."""
        done = 0
        while done < budget and self.end is None:
            try:
                n = self.s.send(SOURCE.get(self.sent, 16384))
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                break
            except (OSError, ssl.SSLError) as e:
                self.end = f"send failed: {e.__class__.__name__}"
                break
            self.sent += n
            done += n
        if done:
            self.last_progress = now()
        return done

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def pump(conns, secs):
    """Drive the pushers for secs seconds."""
    deadline = now() + secs
    while now() < deadline:
        w = [c for c in conns if c.end is None and c.send]
        if not w:
            time.sleep(max(0.0, min(0.05, deadline - now())))  # nothing to drive
            continue
        _, ww, _ = select.select([], w, [], 0.05)
        for c in ww:
            c.push()


def push_until_stuck(conns, proc, still=0.3, secs=15.0):
    """Push until no connection has made progress and the server has
    been (nearly) idle for `still` seconds: everything is blocked (a
    backend flooding a client that never reads shows only in the server's
    CPU). Returns True when that happened within secs."""
    deadline = now() + secs * SLOW
    quiet_since, cpu_mark = now(), proc.cpu()
    while now() < deadline:
        pump(conns, 0.05)
        cpu = proc.cpu()
        if cpu - cpu_mark > 0.05:
            quiet_since, cpu_mark = now(), cpu
        if now() - quiet_since >= still and \
                all(c.end is not None or now() - c.last_progress >= still for c in conns):
            return True
    return False


# --- slow handshakes ---------------------------------------------------------------

def client_hello():
    """A real TLS 1.3 ClientHello, as Python's ssl makes it."""
    ctx = ssl.create_default_context()
    inc, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, outb, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outb.read()


def cmd_slow_handshake(args):
    """--silent connections that send nothing and --trickle connections
    that send a real ClientHello one byte every --byte-interval seconds:
    each must be cut at the handshake timeout, cost little memory, and
    leave no descriptor behind; probes are served all along."""
    checks = Checks()
    proc = Proc(args.pid)
    ctx = client_ctx(args.ca)
    final_probe(checks, args.port, ctx, "before the attack")
    fds0, rss0 = proc.fds(), proc.rss_kib()
    hello = client_hello()
    cpu0 = proc.cpu()
    prober = Prober(args.port, args.ca, interval=0.2)
    n = args.silent + args.trickle
    conns = []  # [sock, opened, kind, bytes sent, closed at]
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", args.port), timeout=5)
        s.setblocking(False)
        conns.append([s, now(), "silent" if i < args.silent else "trickle", 0, None])
    accepted = wait_until(lambda: proc.fds() >= fds0 + n, 3 * SLOW)
    rss1 = proc.rss_kib()
    per = (rss1 - rss0) / n
    checks.check(accepted, f"the server holds all {n} slow connections ({proc.fds() - fds0} new fds)",
                 f"expected the server to accept {n} connections (fds {fds0} -> {fds0 + n}), "
                 f"saw {proc.fds()} fds")
    checks.figure(f"memory per slow handshake: {per:.1f} KiB ({n} connections, RSS {rss0} -> {rss1} KiB)")
    checks.memory(per, args.max_kib, "memory per slow handshake connection")
    timeout = args.timeout_ms / 1000.0
    deadline = now() + timeout + args.slack * SLOW + 2
    next_byte = now()
    while now() < deadline and any(c[4] is None for c in conns):
        if now() >= next_byte:
            next_byte += args.byte_interval
            for c in conns:
                if c[2] == "trickle" and c[4] is None and c[3] < len(hello):
                    try:
                        c[0].send(hello[c[3]:c[3] + 1])
                        c[3] += 1
                    except OSError:
                        pass
        live = [c for c in conns if c[4] is None]
        r, _, _ = select.select([c[0] for c in live], [], [], 0.05)
        for c in live:
            if c[0] in r:
                try:
                    d = c[0].recv(4096)
                except OSError:
                    d = b""
                if not d:
                    c[4] = now()
    cpu_end = proc.cpu()
    for kind in ("silent", "trickle"):
        times = [c[4] - c[1] for c in conns if c[2] == kind and c[4] is not None]
        sent = max([c[3] for c in conns if c[2] == kind] or [0])
        cnt = sum(1 for c in conns if c[2] == kind)
        if not cnt:
            continue
        lo, hi = (min(times), max(times)) if times else (0, 0)
        trickled = f", after {sent} bytes each" if kind == "trickle" else ""
        checks.check(len(times) == cnt and lo >= timeout * 0.9 and hi <= timeout + args.slack * SLOW,
                     f"{cnt} {kind} connections cut after {lo:.2f}-{hi:.2f} s "
                     f"(--handshake-timeout {timeout:.1f} s{trickled})",
                     f"{kind}: expected all {cnt} cut between {timeout * 0.9:.2f} and "
                     f"{timeout + args.slack * SLOW:.2f} s, saw {len(times)} cut after "
                     f"{lo:.2f}-{hi:.2f} s and {cnt - len(times)} still open")
    for c in conns:
        c[0].close()
    back = wait_until(lambda: proc.fds() <= fds0, 3 * SLOW)
    checks.check(back, f"descriptors back to {fds0} after the cut",
                 f"expected the server's fds back to {fds0}, saw {proc.fds()}")
    prober.check(checks, "during the slow handshakes")
    final_probe(checks, args.port, ctx)
    checks.figure(f"server CPU over the attack: {cpu_end - cpu0:.2f} s")
    checks.done()


# --- raw bytes instead of a ClientHello -----------------------------------------------

def sslv2_hello():
    """An SSLv2-format ClientHello (as old clients sent to negotiate SSLv3
    or TLS): 2-byte header with the high bit set, then MSG-CLIENT-HELLO."""
    ciphers = bytes.fromhex("010080" "0700c0" "030080" "000035" "00002f")
    challenge = bytes(range(16))
    body = bytes([1, 3, 1]) + len(ciphers).to_bytes(2, "big") + (0).to_bytes(2, "big") + \
        len(challenge).to_bytes(2, "big") + ciphers + challenge
    return bytes([0x80 | (len(body) >> 8), len(body) & 0xFF]) + body


def raw_payload(kind):
    if kind == "garbage":
        rnd = random.Random(11)  # fixed seed: the same bytes every run
        return bytes(rnd.getrandbits(8) for _ in range(1024))
    if kind == "bigrecord":
        # A handshake record header announcing 0xffff bytes (more than the
        # 2^14 + 2048 a TLS record may hold), then some of those bytes.
        return bytes([0x16, 0x03, 0x01, 0xFF, 0xFF]) + b"\x01" * 4096
    if kind == "sslv2":
        return sslv2_hello()
    if kind == "http":
        return b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: hostile\r\n\r\n"
    raise ValueError(kind)


def parse_records(data):
    """Split what the server sent into TLS records: [(type, body)], or
    None when it is not a sequence of whole records."""
    recs = []
    i = 0
    while i < len(data):
        if len(data) - i < 5:
            return None
        typ, ln = data[i], int.from_bytes(data[i + 3:i + 5], "big")
        if typ not in (20, 21, 22, 23) or data[i + 1] != 3 or len(data) - i - 5 < ln:
            return None
        recs.append((typ, data[i + 5:i + 5 + ln]))
        i += 5 + ln
    return recs


ALERTS = {0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 22: "record_overflow",
          40: "handshake_failure", 47: "illegal_parameter", 50: "decode_error",
          70: "protocol_version", 80: "internal_error", 100: "no_renegotiation"}


def cmd_raw(args):
    """Send a hostile byte string instead of a ClientHello; the server
    must end the connection cleanly (nothing but TLS alerts, then FIN,
    within --within seconds) and log exactly one record line for it."""
    checks = Checks()
    log = Log(args.log)
    payload = raw_payload(args.kind)
    s = socket.create_connection(("127.0.0.1", args.port), timeout=5)
    port = s.getsockname()[1]
    start = now()
    s.sendall(payload)
    got, end = b"", None
    limit = args.within * SLOW
    s.settimeout(0.1)
    while end is None and now() - start < limit:
        try:
            d = s.recv(4096)
        except socket.timeout:
            continue
        except OSError as e:
            end = f"{e.__class__.__name__}"
            break
        if not d:
            end = "fin"
        got += d
    took = now() - start
    s.close()
    recs = parse_records(got)
    what = "nothing" if not got else (
        ", ".join("alert " + ALERTS.get(b[1], str(b[1])) if t == 21 and len(b) == 2 else f"record type {t}"
                  for t, b in recs) if recs is not None else f"{len(got)} bytes that are not TLS records")
    checks.check(end == "fin", f"{args.kind}: closed with FIN after {took * 1000:.0f} ms; the server sent {what}",
                 f"{args.kind}: expected a clean close (FIN) within {limit:.1f} s, saw "
                 f"{end or 'the connection still open'} after {took:.2f} s; the server sent {what}")
    checks.check(recs is not None and all(t == 21 for t, _ in recs),
                 f"{args.kind}: the server sent only alerts (or nothing)",
                 f"{args.kind}: expected nothing but TLS alerts before the close, saw {what}")
    lines = wait_until(lambda: log.records(port), 3 * SLOW)
    wait_until(lambda: len(log.records(port)) > 1, 0.2)  # a duplicate would follow at once
    lines = log.records(port)
    reason = Log.reason(lines[0]) if lines else ""
    checks.check(len(lines) == 1 and reason not in ("", "-", "closed"),
                 f"{args.kind}: one log line, close=\"{reason}\"",
                 f"{args.kind}: expected exactly one record line naming a reason for port {port}, "
                 f"saw {len(lines)}: {lines[:2]}")
    out(f"reason {args.kind}: {reason}")
    checks.done()


# --- stuck peers (never read) ------------------------------------------------------------

def cmd_stuck(args):
    """--clients connections that get stuck: in echo mode they send and
    never read; 'sink' (proxy) they send to a backend that never reads;
    'flood' (proxy) the backend sends to them forever and they never read.
    One connection first takes the shared pools; then memory per further
    stuck connection, CPU once everything is blocked, and growth per byte
    are bounded, and probes are served all along."""
    checks = Checks()
    proc = Proc(args.pid)
    ctx = client_ctx(args.ca)
    first = {"echo": b"", "sink": b"sink\n", "flood": b"flood\n"}[args.mode]
    fds_start = proc.fds()
    # The first stuck connection allocates what is shared (pools, ring
    # high-water): measure from there.
    send = args.mode != "flood"  # flood: the client neither sends nor reads
    warm = Pusher(args.port, ctx, first, send=send)
    push_until_stuck([warm], proc)
    fds0, rss0 = proc.fds(), proc.rss_kib()
    prober = Prober(args.port, args.ca, interval=0.2)
    conns = [Pusher(args.port, ctx, first, send=send) for _ in range(args.clients)]
    stuck = push_until_stuck(conns + [warm], proc)
    rss1 = proc.rss_kib()
    sent1 = sum(c.sent for c in conns)
    per = (rss1 - rss0) / args.clients
    checks.check(stuck and all(c.end is None for c in conns),
                 f"{args.clients} {args.mode} connections stuck after "
                 f"{sent1 / args.clients / 1024:.0f} KiB sent each",
                 f"expected {args.clients} connections to get stuck (the server idle, no client making "
                 f"progress) without being cut, saw stuck={stuck}, "
                 f"send failures {[c.end for c in conns if c.end]}")
    checks.figure(f"{args.mode}: memory per stuck connection {per:.0f} KiB "
                  f"(RSS {rss0} -> {rss1} KiB for {args.clients})")
    prober.check(checks, f"{args.mode}: while the connections got stuck")
    # Everything is blocked: the clients keep trying for a while (no
    # probes now: their handshakes would blur the server's CPU and RSS).
    cpu0, t0 = proc.cpu(), now()
    pump(conns + [warm], args.hold * SLOW)
    cpu1, t1 = proc.cpu(), now()
    rss2 = proc.rss_kib()
    sent2 = sum(c.sent for c in conns)
    pct = 100.0 * (cpu1 - cpu0) / (t1 - t0)
    checks.check(pct <= args.max_cpu * SLOW,
                 f"{args.mode}: server CPU {pct:.1f} % while everything is blocked ({t1 - t0:.1f} s)",
                 f"{args.mode}: expected at most {args.max_cpu * SLOW:.0f} % CPU while every connection is "
                 f"blocked, saw {pct:.1f} % over {t1 - t0:.1f} s")
    # (RSS is judged on plain builds only: a sanitizer's allocator moves.)
    checks.check(sent2 - sent1 <= 64 * 1024 * args.clients and (SANITIZED or rss2 - rss1 <= 256),
                 f"{args.mode}: nothing grows per byte while blocked (+{(sent2 - sent1) // 1024} KiB "
                 f"taken, RSS {rss1} -> {rss2} KiB)",
                 f"{args.mode}: expected no growth while blocked, saw the server take "
                 f"{(sent2 - sent1) // 1024} KiB more and RSS go {rss1} -> {rss2} KiB")
    for c in conns + [warm]:
        c.close()
    t = now()
    back = wait_until(lambda: proc.fds() <= fds_start, args.release * SLOW)
    checks.check(back, f"{args.mode}: descriptors back to {proc.fds()} {now() - t:.2f} s after the "
                 f"clients left",
                 f"{args.mode}: expected the server's fds back to {fds_start} within "
                 f"{args.release * SLOW:.1f} s of the stuck clients leaving, saw {proc.fds()}")
    final_probe(checks, args.port, ctx)
    checks.memory(per, args.max_kib, f"{args.mode}: memory per stuck connection")
    checks.done()


# --- after the idle timeout -----------------------------------------------------------------

def cmd_idle(args):
    """A connection that stops reading: echo, the client keeps sending;
    'flood' (proxy), the backend keeps sending. Once it is idle it must be
    closed within --idle-ms + --close-ms (+ slack), and the server must not
    spend CPU discarding data meanwhile."""
    checks = Checks()
    proc = Proc(args.pid)
    log = Log(args.log)
    ctx = client_ctx(args.ca)
    prober = Prober(args.port, args.ca, interval=0.25)
    c = Pusher(args.port, ctx, b"flood\n" if args.mode == "flood" else b"")
    start, cpu0 = now(), proc.cpu()
    bound = (args.idle_ms + args.close_ms) / 1000.0 + args.slack * SLOW
    # Counted from the client's last progress (echo: the last bytes the
    # server took; flood: the windows fill at once, so from the start).
    # Getting stuck takes well under a second; the loop allows one.
    # CPU is judged from the moment the client is stuck (echo: its first
    # stall of 0.3 s; flood: at once), not while it fills the windows.
    stuck_t, stuck_cpu = (start, cpu0) if args.mode == "flood" else (None, None)
    while now() - start < 1.0 * SLOW + bound and not log.records(c.local_port):
        if args.mode == "echo":
            pump([c], 0.05)
            if stuck_t is None and now() - c.last_progress >= 0.3:
                stuck_t, stuck_cpu = now(), proc.cpu()
        else:
            time.sleep(0.02)  # never reads: nothing to drive, only watch the log
    took = now() - start
    since = now() - (c.last_progress if args.mode == "echo" else start)
    if stuck_t is None:
        stuck_t, stuck_cpu = start, cpu0
    cpu = proc.cpu() - stuck_cpu
    lines = log.records(c.local_port)
    pct = 100.0 * cpu / max(0.1, now() - stuck_t)
    checks.check(bool(lines) and since <= bound,
                 f"{args.mode}: the non-reading connection closed {since:.2f} s after its last progress "
                 f"(bound {bound:.1f} s): close=\"{Log.reason(lines[0])}\"" if lines else "",
                 f"{args.mode}: expected the non-reading connection closed within {bound:.1f} s of its "
                 f"last progress (--idle-timeout {args.idle_ms} ms + close {args.close_ms} ms + slack), "
                 "saw " + (f"it closed {since:.2f} s after" if lines else
                           f"it still open {took:.2f} s after it started" +
                           (f" (the server took data {now() - c.last_progress:.2f} s ago)"
                            if args.mode == "echo" else "")))
    checks.check(pct <= args.max_cpu * SLOW,
                 f"{args.mode}: server CPU {pct:.0f} % once the client was stuck",
                 f"{args.mode}: expected at most {args.max_cpu * SLOW:.0f} % server CPU while the "
                 f"connection sat idle or closing, saw {pct:.0f} % ({cpu:.2f} s CPU in "
                 f"{now() - stuck_t:.2f} s)")
    if args.mode == "echo":
        # Before it gets stuck the client fills the windows and the kernel
        # buffers (~10-20 MB on loopback); after that nothing more may go in.
        checks.check(c.sent <= 64 << 20,
                     f"echo: the server took {c.sent >> 10} KiB from the client in all",
                     f"echo: expected the server to take at most 64 MiB from a client that never "
                     f"reads (windows and kernel buffers), saw {c.sent / 1e6:.0f} MB: it kept reading "
                     f"(and discarding) after the connection went idle")
    c.close()
    prober.check(checks, f"{args.mode}: meanwhile")
    final_probe(checks, args.port, ctx)
    checks.done()


# --- record storms (tools/tls_attack) ------------------------------------------------------

def parse_kv(line):
    return dict(f.split("=", 1) for f in line.split() if "=" in f)


def cmd_storm(args):
    """Run tools/tls_attack (1-byte records, or KeyUpdate(update_requested)
    records back to back) against the server and bound what it costs the
    server: CPU per record or per connection, RSS growth; with
    --expect-cut, every storm connection must be ended by the server (the
    KeyUpdate limit) quickly, each with a log line naming KeyUpdate.
    Probes are served all along."""
    checks = Checks()
    proc = Proc(args.pid)
    log = Log(args.log)
    ctx = client_ctx(args.ca)
    what = f"{args.mode}{' (reading)' if args.read else ' (not reading)'}"
    prober = Prober(args.port, args.ca, interval=0.2)
    # The storm starts once the prober is probing (its first connection's
    # record is in the log), so the probes cover all of it.
    if not wait_until(lambda: any(" app_in=6 " in ln for ln in log.records()), 10 * SLOW):
        die("the prober's first probe did not show in the server's log")
    rss0, cpu0 = proc.rss_kib(), proc.cpu()
    cmd = [args.tool, args.mode, str(args.port), "--seconds", str(args.seconds)]
    if args.read:
        cmd.append("--read")
    if args.reconnect:
        cmd.append("--reconnect")
    if args.rcvbuf:
        cmd += ["--rcvbuf", str(args.rcvbuf)]
    if args.with_data:
        cmd.append("--with-data")
    t0 = now()
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=args.seconds + 30)
    took = now() - t0
    cpu1, rss1 = proc.cpu(), proc.rss_kib()
    prober.check(checks, f"{what}: during the storm")
    total = [ln for ln in res.stdout.splitlines() if ln.startswith("total ")]
    if res.returncode != 0 or not total:
        die(f"tls_attack {' '.join(cmd[1:])} failed ({res.returncode}): {res.stdout}")
    out(f"tls_attack: {total[0]}")
    t = parse_kv(total[0])
    records, conns = int(t["records"]), int(t["conns"])
    cpu = cpu1 - cpu0
    checks.figure(f"{what}: {records} records on {conns} connection(s) in {took:.1f} s; server CPU "
                  f"{cpu:.2f} s ({100 * cpu / took:.0f} %), RSS {rss0} -> {rss1} KiB")
    checks.check(proc.alive(), f"{what}: the server is alive", f"{what}: the server died")
    if args.max_us_per_record:
        per = 1e6 * cpu / max(1, records)
        checks.check(per <= args.max_us_per_record * SLOW,
                     f"{what}: server CPU {per:.1f} us per record (bound {args.max_us_per_record * SLOW:.0f})",
                     f"{what}: expected at most {args.max_us_per_record * SLOW:.0f} us of server CPU per "
                     f"record, saw {per:.1f} us ({cpu:.2f} s for {records} records)")
    if args.max_ms_per_conn:
        per = 1000 * cpu / max(1, conns)
        checks.check(per <= args.max_ms_per_conn * SLOW,
                     f"{what}: server CPU {per:.1f} ms per storm connection",
                     f"{what}: expected at most {args.max_ms_per_conn * SLOW:.0f} ms of server CPU per storm "
                     f"connection (its KeyUpdates are limited), saw {per:.0f} ms ({cpu:.2f} s for "
                     f"{conns} connection(s), {t['key_updates']} KeyUpdates sent)")
    checks.memory(rss1 - rss0, args.max_growth_kib, f"{what}: RSS growth during the storm")
    if args.expect_cut:
        # The server's own record of each storm connection: its reason
        # and how long it lasted (a client that does not read notices the
        # close only much later, when its writes fail).
        def storm_lines():  # (probes are the connections with 6 bytes of data)
            return [ln for ln in log.records() if " app_in=6 " not in ln or "KeyUpdate" in Log.reason(ln)]

        storm = wait_until(lambda: len(storm_lines()) >= conns and storm_lines(), 3 * SLOW) or storm_lines()
        ku = [ln for ln in storm if "KeyUpdate" in Log.reason(ln)]
        longest = max([int(Log.field(ln, "duration_ms") or 0) for ln in storm] or [0])
        # The last connection may still be open when the tool stops.
        checks.check(ku and len(ku) >= conns - 1 and longest <= args.cut_within * 1000 * SLOW,
                     f"{what}: the server cut the storm connections past the KeyUpdate limit, each "
                     f"within {longest} ms: {len(ku)} of {conns} record lines say "
                     f"close=\"{Log.reason(ku[0]) if ku else ''}\"",
                     f"{what}: expected each storm connection cut by the server within "
                     f"{args.cut_within * SLOW:.1f} s past the KeyUpdate limit, with a record line naming "
                     f"KeyUpdate; saw {len(ku)} such lines for {conns} connection(s), the longest lasting "
                     f"{longest} ms (the tool: {t.get('ends', '?')}, {t['key_updates']} KeyUpdates sent)")
    final_probe(checks, args.port, ctx)
    checks.done()


# --- the connection cap -------------------------------------------------------------------

def cmd_cap(args):
    """--hold connections fill the cap; --extra more are refused promptly
    (closed, not left hanging); when some held ones leave, new clients
    are served again."""
    checks = Checks()
    ctx = client_ctx(args.ca)
    held = []
    for _ in range(args.hold):
        s = tls_connect(args.port, ctx)
        s.sendall(b"hold\n")
        s.settimeout(5)
        if s.recv(16) != b"hold\n":
            die("a held connection was not served before the cap was reached")
        held.append(s)
    start = now()
    waits = []
    ports = []
    for _ in range(args.extra):
        t = now()
        s = socket.create_connection(("127.0.0.1", args.port), timeout=5)
        ports.append(s.getsockname()[1])
        s.settimeout(2.0 * SLOW)
        try:
            d = s.recv(100)
            how = "closed" if not d else f"data {d[:20]!r}"
        except socket.timeout:
            how = "hang"
        except OSError as e:
            how = e.__class__.__name__
        waits.append((now() - t, how))
        s.close()
    burst = now() - start
    worst = max(w for w, _ in waits)
    hows = sorted(set(h for _, h in waits))
    checks.check(all(h in ("closed", "ConnectionResetError") for _, h in waits) and worst <= 1.0 * SLOW,
                 f"{args.extra} connections over the cap refused, each within {worst * 1000:.0f} ms",
                 f"expected each of {args.extra} connections over the cap closed within {SLOW:.0f} s, "
                 f"saw {hows}, slowest {worst:.2f} s")
    out(f"burst_seconds {burst:.3f}")
    out("refused_ports " + " ".join(str(p) for p in ports))
    # Held connections still work.
    s = held[0]
    s.sendall(b"still\n")
    checks.check(s.recv(16) == b"still\n", "a held connection still echoes at the cap",
                 "expected a held connection to keep working at the cap")
    for s in held[:max(1, args.hold // 2)]:
        try:
            s.unwrap()
        except (OSError, ssl.SSLError):
            pass
        s.close()
    served = wait_until(lambda: probe_once(args.port, ctx, 1.0 * SLOW)[0], 5 * SLOW, step=0.05)
    checks.check(served, "service resumed once held connections left",
                 "expected a new client served once half the held connections closed")
    for s in held[max(1, args.hold // 2):]:
        s.close()
    checks.done()


# --- out of file descriptors ------------------------------------------------------------------

def cmd_fd_exhaust(args):
    """Silent connections until the server has no descriptor left, plus a
    new connection every 50 ms: the server must not spin (CPU), an
    established connection keeps working, and once the silent ones go a
    new client is served."""
    checks = Checks()
    proc = Proc(args.pid)
    ctx = client_ctx(args.ca)
    limit = proc.nofile()
    live = tls_connect(args.port, ctx)
    live.settimeout(5)
    live.sendall(b"live\n")
    if live.recv(16) != b"live\n":
        die("the established connection was not served")
    fds0 = proc.fds()
    room = limit - fds0
    silent = []
    for _ in range(room + args.extra):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", args.port))
        except BlockingIOError:
            pass
        silent.append(s)
    full = wait_until(lambda: proc.fds() >= limit - 1, 3 * SLOW)
    checks.check(full, f"the server reached its descriptor limit ({proc.fds()} of {limit})",
                 f"expected the server to use up its {limit} descriptors, saw {proc.fds()}")
    # At the limit, clients keep coming for --hold seconds.
    cpu0, t0 = proc.cpu(), now()
    more = []
    while now() - t0 < args.hold * SLOW:
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", args.port))
        except BlockingIOError:
            pass
        more.append(s)
        time.sleep(0.05)  # the arrival rate of the load phase, not a synchronisation
    cpu1, t1 = proc.cpu(), now()
    pct = 100.0 * (cpu1 - cpu0) / (t1 - t0)
    checks.check(pct <= args.max_cpu * SLOW,
                 f"no accept spin at the limit: server CPU {pct:.1f} % over {t1 - t0:.1f} s "
                 f"({len(more)} more clients arrived)",
                 f"expected at most {args.max_cpu * SLOW:.0f} % CPU while out of descriptors, saw "
                 f"{pct:.1f} % over {t1 - t0:.1f} s")
    t = now()
    try:
        live.sendall(b"still\n")
        ok = live.recv(16) == b"still\n"
    except (OSError, ssl.SSLError):
        ok = False
    checks.check(ok, f"the established connection still echoes at the limit ({(now() - t) * 1000:.0f} ms)",
                 "expected the established connection to keep working while out of descriptors")
    # What happened to the clients beyond the limit (reported, not judged).
    dropped = 0
    for s in silent + more:
        try:
            if s.recv(1) == b"":
                dropped += 1
        except BlockingIOError:
            pass
        except OSError:
            dropped += 1
    checks.figure(f"of {len(silent) + len(more)} silent clients, {dropped} were closed by the server "
                  f"at once (accepted and dropped), the rest were held or waited in the backlog")
    for s in silent + more:
        s.close()
    served = wait_until(lambda: probe_once(args.port, ctx, 1.0 * SLOW)[0], 5 * SLOW, step=0.05)
    checks.check(served, "recovered: a new client is served once the silent connections left",
                 "expected a new client served once the silent connections closed")
    back = wait_until(lambda: proc.fds() <= fds0 + 2, 5 * SLOW)
    checks.check(back, f"descriptors back to {proc.fds()} (before: {fds0})",
                 f"expected the server's fds back near {fds0}, saw {proc.fds()}")
    live.close()
    out(f"window {t0:.3f} {t1:.3f}")
    checks.done()


# --- backends -------------------------------------------------------------------------

def handle_roles(conn):
    """One backend connection; the client's first line picks the role:
    'flood' (send the pattern forever, never read), 'sink' (never read),
    'reset N' (send N bytes, read one, then reset); anything else: echo,
    that line included."""
    try:
        conn.settimeout(None)
        first = b""
        while not first.endswith(b"\n"):
            d = conn.recv(1)
            if not d:
                return
            first += d
        role = first.decode(errors="replace").split()
        if role and role[0] == "flood":
            off = 0
            while True:
                conn.sendall(SOURCE.get(off, 65536))
                off += 65536
        elif role and role[0] == "sink":
            threading.Event().wait()
        elif role and role[0] == "reset":
            n = int(role[1]) if len(role) > 1 else 1000
            conn.sendall(SOURCE.get(0, n))
            conn.recv(1)  # the client's next bytes, then the reset
            # Linger on, timeout 0: close() sends a reset, not a FIN.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            conn.sendall(first)
            while True:
                d = conn.recv(65536)
                if not d:
                    conn.shutdown(socket.SHUT_WR)
                    return
                conn.sendall(d)
    except OSError:
        pass
    finally:
        conn.close()


def cmd_backend(args):
    if args.mode == "blackhole":
        # A listener whose accept queue is full: with listen(0) and never
        # accepting, the kernel drops further SYNs, so a connect hangs
        # (as behind a firewall that drops them). Fill it until a connect
        # does not complete, then check that a plain connect times out.
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", args.port))
        ls.listen(0)
        port = ls.getsockname()[1]
        fillers = []
        for _ in range(64):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            fillers.append(s)
            _, w, _ = select.select([], [s], [], 0.3)
            if not w:
                break
        else:
            die("blackhole: every filler connection completed; cannot make connects hang")
        t = now()
        probe = socket.socket()
        probe.settimeout(0.5)
        try:
            probe.connect(("127.0.0.1", port))
            die("blackhole: a plain connect completed; the accept queue is not full")
        except socket.timeout:
            pass
        print(f"ready {port} (a plain connect hangs: timed out after {now() - t:.2f} s)", flush=True)
        threading.Event().wait()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", args.port))
    ls.listen(512)
    print(f"ready {ls.getsockname()[1]}", flush=True)
    while True:
        if args.mode == "slow-accept":
            select.select([ls], [], [])
            time.sleep(args.delay)  # the slowness under test
        conn, _ = ls.accept()
        if args.mode == "close-at-once":
            conn.close()
            continue
        threading.Thread(target=handle_roles, args=(conn,), daemon=True).start()


def run_backend_client(port, ctx, first, more, within):
    """One client through the proxy: its first line (the backend role)
    and `more` pattern bytes, then read until the server ends the
    connection (answering its close_notify with ours, as a well-behaved
    client does). Returns (local port, how it ended, seconds, bytes read);
    how is "close_notify", "alert:...", "eof" (FIN without close_notify),
    an exception name, or "hang" (still open after `within`)."""
    start = now()
    s = tls_connect(port, ctx, 5 * SLOW)
    lport = s.getsockname()[1]
    s.settimeout(0.1)
    got = 0
    end = None
    try:
        s.sendall(first)
        if more:
            s.sendall(SOURCE.get(0, more))
    except (OSError, ssl.SSLError):
        pass  # the server may already be closing: reading tells how
    deadline = start + within
    while end is None and now() < deadline:
        try:
            d = s.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            continue
        except ssl.SSLEOFError:
            end = "eof"
            break
        except ssl.SSLError as e:
            end = f"alert:{e.reason or e}"
            break
        except OSError as e:
            end = e.__class__.__name__
            break
        if not d:
            end = "close_notify"
            try:
                s.unwrap()
            except (OSError, ssl.SSLError):
                pass
            break
        got += len(d)
    s.close()
    return lport, end or "hang", now() - start, got


def cmd_backend_fail(args):
    """--n clients through a proxy whose backend fails (refuses, resets,
    closes at once, never answers the connect): each must get a clean
    close (close_notify or an alert, never a hang or a bare FIN) within
    --within seconds, with one record line whose reason contains
    --reason; afterwards the server's descriptors and memory are back
    where they were."""
    checks = Checks()
    proc = Proc(args.pid)
    log = Log(args.log)
    ctx = client_ctx(args.ca)
    first = args.first.encode().decode("unicode_escape").encode("latin-1")
    fds0, rss0 = proc.fds(), proc.rss_kib()
    prober = Prober(args.port, args.ca, interval=0.2) if args.probe else None
    results = []

    def one():
        results.append(run_backend_client(args.port, ctx, first, args.more, args.within * SLOW))

    if args.parallel:
        threads = [threading.Thread(target=one) for _ in range(args.n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        for _ in range(args.n):
            t = now()
            one()
            if prober:  # spread the clients over the probes' interval
                time.sleep(max(0.0, 0.05 - (now() - t)))
    ends = {}
    for r in results:
        ends[r[1]] = ends.get(r[1], 0) + 1
    worst = max(r[2] for r in results)
    clean = args.clean.split(",")
    good = [r for r in results if any(r[1].startswith(c) for c in clean)]
    checks.check(len(good) == args.n,
                 f"{args.what}: {args.n} clients closed cleanly ({ends}), slowest after {worst:.2f} s",
                 f"{args.what}: expected each of {args.n} clients closed cleanly ({' or '.join(clean)}) "
                 f"within {args.within * SLOW:.1f} s, saw {ends}, slowest {worst:.2f} s")
    missing, wrong = [], []
    for r in results:
        lines = wait_until(lambda: log.records(r[0]), 3 * SLOW)
        if len(lines) != 1:
            missing.append((r[0], len(lines)))
        elif args.reason not in Log.reason(lines[0]):
            wrong.append(Log.reason(lines[0]))
    some = log.records(results[0][0])
    checks.check(not missing and not wrong,
                 f"{args.what}: one record line each, naming the problem: close=\"{Log.reason(some[0])}\""
                 if some else "",
                 f"{args.what}: expected one record line per client whose reason contains "
                 f"'{args.reason}', saw {len(missing)} client(s) without exactly one record line "
                 f"(port, lines: {missing[:3]}) and {len(wrong)} with other reasons: "
                 f"{sorted(set(wrong))[:3]}")
    if prober:
        prober.check(checks, f"{args.what}: meanwhile")
    t = now()
    back = wait_until(lambda: proc.fds() <= fds0, 3 * SLOW)
    checks.check(back, f"{args.what}: descriptors back to {proc.fds()} ({now() - t:.2f} s after)",
                 f"{args.what}: expected the server's fds back to {fds0} after the failed backend "
                 f"connections, saw {proc.fds()}")
    checks.memory(proc.rss_kib() - rss0, args.max_growth_kib,
                  f"{args.what}: RSS growth over {args.n} failed connections")
    checks.done()


# --- many connections held open ------------------------------------------------------------

def cmd_hold(args):
    """Open --n TLS connections (each after an echo round trip), write
    READYFILE, then read until the server ends each (or --within
    seconds) and print how they ended: 'ends close_notify=N ...'.
    With --stream, each connection keeps echoing a line every 50 ms
    (fails on a broken echo) and 'echoed N' reports progress every 0.2 s."""
    ctx = client_ctx(args.ca)
    conns = []
    for i in range(args.n):
        s = tls_connect(args.port, ctx, 10 * SLOW)
        s.settimeout(10 * SLOW)
        s.sendall(b"hello\n")
        got = b""
        while len(got) < 6:
            d = s.recv(6 - len(got))
            if not d:
                die(f"connection {i} closed before its first echo")
            got += d
        s.setblocking(False)
        conns.append(s)
    with open(args.readyfile, "w") as f:
        f.write(f"ready {args.n}\n")
    ends = {}
    open_ = {s: b"" for s in conns}
    echoes = 0
    deadline = now() + args.within * SLOW
    next_line = next_report = now()
    while open_ and now() < deadline:
        if args.stream and now() >= next_report:
            next_report = now() + 0.2
            out(f"echoed {echoes}")  # progress, for the script to follow
        if args.stream and now() >= next_line:
            next_line = now() + 0.05
            for s in list(open_):
                try:
                    s.send(b"line\n")
                except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                    pass
                except (OSError, ssl.SSLError):
                    pass  # the read side tells how it ended
        r, _, _ = select.select(list(open_), [], [], 0.02)
        for s in r:
            while s in open_:
                try:
                    d = s.recv(4096)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                    break
                except ssl.SSLEOFError:
                    how = "eof"
                except ssl.SSLError as e:
                    how = f"alert:{e.reason}"
                except OSError as e:
                    how = e.__class__.__name__
                else:
                    if d:
                        buf = open_[s] + d
                        if not all(ln == b"line" for ln in buf.split(b"\n")[:-1]):
                            die(f"a connection echoed {buf[:40]!r}")
                        echoes += buf.count(b"\n")
                        open_[s] = buf[buf.rfind(b"\n") + 1:]
                        continue
                    how = "close_notify"
                ends[how] = ends.get(how, 0) + 1
                del open_[s]
                s.close()
    if open_:
        ends["still_open"] = len(open_)
    out("ends " + " ".join(f"{k}={v}" for k, v in sorted(ends.items())) + f" echoed_lines={echoes}")
    for s in open_:
        s.close()


# --- an established connection's echo latency during a flood ------------------------------------

def cmd_rtt(args):
    """One established connection: a 64-byte echo round trip every
    --every seconds for --seconds; prints the latency percentiles."""
    ctx = client_ctx(args.ca)
    s = tls_connect(args.port, ctx)
    s.settimeout(5 * SLOW)
    msg = SOURCE.get(0, 64)
    lat = []
    if args.readyfile:
        with open(args.readyfile, "w") as f:
            f.write("ready\n")
    end = now() + args.seconds
    while now() < end:
        t = now()
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            d = s.recv(64 - len(got))
            if not d:
                die("the established connection was closed during the flood")
            got += d
        if got != msg:
            die("echo mismatch on the established connection")
        lat.append(now() - t)
        time.sleep(max(0.0, args.every - (now() - t)))  # the sampling rate, not a synchronisation
    try:
        s.unwrap()
    except (OSError, ssl.SSLError):
        pass
    s.close()
    out(f"rtt n={len(lat)} p50_ms={percentile(lat, 50) * 1000:.1f} p99_ms={percentile(lat, 99) * 1000:.1f} "
        f"max_ms={max(lat) * 1000:.1f}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def server_cmd(name, pid=True):
        sp = sub.add_parser(name)
        sp.add_argument("port", type=int)
        sp.add_argument("--ca", required=True)
        if pid:
            sp.add_argument("--pid", type=int, required=True)
        return sp

    sp = server_cmd("probe", pid=False)
    sp.add_argument("--timeout", type=float, default=2.0)

    sp = server_cmd("probes", pid=False)
    sp.add_argument("--interval", type=float, default=0.2)
    sp.add_argument("--timeout", type=float, default=1.0)
    sp.add_argument("--until-file")
    sp.add_argument("--what")

    sp = server_cmd("slow-handshake")
    sp.add_argument("--silent", type=int, default=100)
    sp.add_argument("--trickle", type=int, default=100)
    sp.add_argument("--byte-interval", type=float, default=1.0)
    sp.add_argument("--timeout-ms", type=int, required=True)
    sp.add_argument("--slack", type=float, default=1.0)
    sp.add_argument("--max-kib", type=float, default=64)

    sp = sub.add_parser("raw")
    sp.add_argument("port", type=int)
    sp.add_argument("kind", choices=["garbage", "bigrecord", "sslv2", "http"])
    sp.add_argument("--log", required=True)
    sp.add_argument("--within", type=float, default=3.0)

    sp = server_cmd("stuck")
    sp.add_argument("mode", choices=["echo", "sink", "flood"])
    sp.add_argument("--clients", type=int, default=8)
    sp.add_argument("--hold", type=float, default=0.5)
    sp.add_argument("--max-cpu", type=float, default=5.0)
    sp.add_argument("--max-kib", type=float, default=512)
    sp.add_argument("--release", type=float, default=2.0,
                    help="seconds for the server to release everything once the clients left")

    sp = server_cmd("idle")
    sp.add_argument("mode", choices=["echo", "flood"])
    sp.add_argument("--log", required=True)
    sp.add_argument("--idle-ms", type=int, required=True)
    sp.add_argument("--close-ms", type=int, required=True)
    sp.add_argument("--slack", type=float, default=1.5)
    sp.add_argument("--max-cpu", type=float, default=10.0)

    sp = server_cmd("storm")
    sp.add_argument("mode", choices=["tiny", "keyupdate"])
    sp.add_argument("--tool", required=True)
    sp.add_argument("--log", required=True)
    sp.add_argument("--seconds", type=float, default=2.0)
    sp.add_argument("--read", action="store_true")
    sp.add_argument("--reconnect", action="store_true")
    sp.add_argument("--rcvbuf", type=int, default=0)
    sp.add_argument("--with-data", action="store_true")
    sp.add_argument("--max-us-per-record", type=float, default=0)
    sp.add_argument("--max-ms-per-conn", type=float, default=0)
    sp.add_argument("--max-growth-kib", type=float, default=8192)
    sp.add_argument("--expect-cut", action="store_true")
    sp.add_argument("--cut-within", type=float, default=1.0)

    sp = server_cmd("cap", pid=False)
    sp.add_argument("--hold", type=int, required=True)
    sp.add_argument("--extra", type=int, default=30)

    sp = server_cmd("fd-exhaust")
    sp.add_argument("--extra", type=int, default=10)
    sp.add_argument("--hold", type=float, default=1.5)
    sp.add_argument("--max-cpu", type=float, default=10.0)

    sp = sub.add_parser("backend")
    sp.add_argument("mode", choices=["roles", "close-at-once", "slow-accept", "blackhole"])
    sp.add_argument("--port", type=int, default=0)
    sp.add_argument("--delay", type=float, default=1.0)

    sp = server_cmd("backend-fail")
    sp.add_argument("what")
    sp.add_argument("--log", required=True)
    sp.add_argument("--first", default="hello\\n", help="the first line (backend role), escapes allowed")
    sp.add_argument("--more", type=int, default=0, help="pattern bytes to send after it")
    sp.add_argument("--n", type=int, default=10)
    sp.add_argument("--within", type=float, default=3.0)
    sp.add_argument("--reason", default="backend")
    sp.add_argument("--clean", default="close_notify,alert:",
                    help="comma separated: the ways a client may see its connection end")
    sp.add_argument("--probe", action="store_true", help="probe (echo through the backend) meanwhile")
    sp.add_argument("--parallel", action="store_true", help="all clients at once")
    sp.add_argument("--max-growth-kib", type=float, default=1024)

    sp = server_cmd("hold", pid=False)
    sp.add_argument("--n", type=int, required=True)
    sp.add_argument("--readyfile", required=True)
    sp.add_argument("--within", type=float, default=20.0)
    sp.add_argument("--stream", action="store_true")

    sp = server_cmd("rtt", pid=False)
    sp.add_argument("--seconds", type=float, required=True)
    sp.add_argument("--every", type=float, default=0.01)
    sp.add_argument("--readyfile")

    args = p.parse_args()
    {
        "probe": cmd_probe,
        "probes": cmd_probes,
        "slow-handshake": cmd_slow_handshake,
        "raw": cmd_raw,
        "stuck": cmd_stuck,
        "idle": cmd_idle,
        "storm": cmd_storm,
        "cap": cmd_cap,
        "fd-exhaust": cmd_fd_exhaust,
        "backend": cmd_backend,
        "backend-fail": cmd_backend_fail,
        "hold": cmd_hold,
        "rtt": cmd_rtt,
    }[args.cmd](args)


if __name__ == "__main__":
    main()
