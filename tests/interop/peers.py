#!/usr/bin/env python3
"""Peers for the memtls interop tests: plaintext backends behind
`memtls serve --backend`, and TLS clients built on Python's ssl module.

Servers print "ready PORT" on stdout once they listen (lib.sh waits for
it). Clients print one result line per check and exit non-zero with a
message on stderr when a check fails.

The deterministic byte pattern used everywhere: byte i is
(i * 7 + i // 251) % 256, which repeats only every 64256 bytes, so a
shifted, dropped or duplicated buffer does not match by accident.
"""
import argparse
import asyncio
import hashlib
import http.server
import selectors
import socket
import socketserver
import ssl
import sys
import threading
import time

PATTERN_BLOCK = 1 << 20
# The pattern repeats every 251 * 256 bytes (a prime times 256, so it
# never lines up with power-of-two buffer sizes).
PATTERN_PERIOD = 251 * 256


def pattern(offset, length):
    """`length` bytes of the pattern starting at absolute `offset`."""
    return bytes(((i * 7 + i // 251) & 0xFF) for i in range(offset, offset + length))


class PatternSource:
    """Fast slices of the pattern, cut from a tiled copy of one period."""

    def __init__(self):
        period = pattern(0, PATTERN_PERIOD)
        reps = (PATTERN_BLOCK + PATTERN_PERIOD) // PATTERN_PERIOD + 1
        self.tiled = period * reps

    def get(self, offset, length):
        out = []
        while length > 0:
            take = min(length, PATTERN_BLOCK)
            start = offset % PATTERN_PERIOD
            out.append(self.tiled[start:start + take])
            offset += take
            length -= take
        return b"".join(out)


SOURCE = PatternSource()


def die(msg):
    print(f"peers.py: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def ready(port):
    print(f"ready {port}", flush=True)


def client_context(args):
    ctx = ssl.create_default_context(cafile=args.ca)
    ctx.check_hostname = True
    if args.cert:
        ctx.load_cert_chain(args.cert, args.key)
    return ctx


# --- backends -----------------------------------------------------------------

def cmd_http_backend(args):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            body = f"hello from the backend, path {self.path}\n".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *a):
            sys.stderr.write("http-backend: " + (fmt % a) + "\n")

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ready(httpd.server_address[1])
    httpd.serve_forever()


def serve_tcp(handler_fn, port=0):
    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            try:
                handler_fn(self.request)
            except OSError as e:
                sys.stderr.write(f"backend: {e}\n")

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 512

    srv = Server(("127.0.0.1", port), Handler)
    ready(srv.server_address[1])
    srv.serve_forever()


def cmd_check_backend(args):
    """Read exactly SIZE bytes, check each against the pattern, answer
    "OK SIZE SHA256" (or "BAD ...") and close."""
    size = args.size

    def handle(sock):
        src = PatternSource()
        h = hashlib.sha256()
        got = 0
        while got < size:
            data = sock.recv(min(262144, size - got))
            if not data:
                sock.sendall(f"BAD eof after {got} of {size} bytes\n".encode())
                sys.stderr.write(f"check-backend: eof after {got}\n")
                return
            if data != src.get(got, len(data)):
                exp = src.get(got, len(data))
                bad = next(i for i in range(len(data)) if data[i] != exp[i])
                sock.sendall(f"BAD mismatch at offset {got + bad}\n".encode())
                sys.stderr.write(f"check-backend: mismatch at {got + bad}\n")
                return
            h.update(data)
            got += len(data)
        sock.sendall(f"OK {got} {h.hexdigest()}\n".encode())
        sys.stderr.write(f"check-backend: OK {got}\n")
        sock.shutdown(socket.SHUT_WR)

    serve_tcp(handle)


def cmd_echo_backend(args):
    def handle(sock):
        while True:
            data = sock.recv(65536)
            if not data:
                sock.shutdown(socket.SHUT_WR)
                return
            sock.sendall(data)

    serve_tcp(handle, args.port)


def cmd_pattern(args):
    src = PatternSource()
    out = sys.stdout.buffer
    off = 0
    while off < args.size:
        n = min(PATTERN_BLOCK, args.size - off)
        out.write(src.get(off, n))
        off += n
    out.flush()


def cmd_check_pattern(args):
    """Check that stdin is exactly SIZE bytes of the pattern."""
    src = PatternSource()
    data = sys.stdin.buffer.read()
    if len(data) != args.size:
        die(f"expected {args.size} bytes on stdin, got {len(data)}")
    if data != src.get(0, len(data)):
        die("stdin does not match the pattern")
    print(f"pattern OK {len(data)}")


# --- TLS clients -----------------------------------------------------------------

def cmd_ssl_echo(args):
    """One connection: handshake with verification, echo round trip."""
    ctx = client_context(args)
    if args.tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(("127.0.0.1", args.port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=args.servername) as s:
            msg = b"hello from python ssl\n"
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
            if got != msg:
                die(f"echo mismatch: {got!r}")
            print(f"python ssl OK {s.version()} {s.cipher()[0]} alpn={s.selected_alpn_protocol()}")


def cmd_big_client(args):
    """Send SIZE bytes of the pattern, then expect the backend's digest."""
    ctx = client_context(args)
    src = PatternSource()
    h = hashlib.sha256()
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", args.port), timeout=120) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            off = 0
            while off < args.size:
                n = min(PATTERN_BLOCK, args.size - off)
                block = src.get(off, n)
                h.update(block)
                s.sendall(block)
                off += n
            line = b""
            while not line.endswith(b"\n"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                line += chunk
    want = f"OK {args.size} {h.hexdigest()}"
    got = line.decode(errors="replace").strip()
    if got != want:
        die(f"backend answered {got!r}, expected {want!r}")
    secs = time.monotonic() - start
    print(f"transfer OK {args.size} bytes in {secs:.1f} s ({args.size / secs / 1e6:.0f} MB/s), "
          f"digest {h.hexdigest()[:16]}")


async def one_echo(ctx, port, idx, nbytes, barrier, timeout):
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="localhost"),
        timeout)
    await barrier.wait()
    data = SOURCE.get(idx * 997, nbytes)
    writer.write(data)
    await writer.drain()
    got = await asyncio.wait_for(reader.readexactly(nbytes), timeout)
    writer.close()
    try:
        await writer.wait_closed()
    except (ssl.SSLError, OSError):
        pass
    if got != data:
        raise RuntimeError(f"connection {idx}: echo mismatch")
    return len(got)


class Barrier:
    """asyncio.Barrier is 3.11+; a small one that works on 3.9+."""

    def __init__(self, n):
        self.n = n
        self.count = 0
        self.event = asyncio.Event()

    async def wait(self):
        self.count += 1
        if self.count >= self.n:
            self.event.set()
        await self.event.wait()


def cmd_concurrent(args):
    """N connections open at the same time (all handshakes done before any
    data moves), each echoing BYTES."""
    ctx = client_context(args)

    async def main():
        barrier = Barrier(args.n)
        start = time.monotonic()
        results = await asyncio.gather(
            *(one_echo(ctx, args.port, i, args.bytes, barrier, args.timeout)
              for i in range(args.n)),
            return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            die(f"{len(errors)} of {args.n} connections failed; first: {errors[0]!r}")
        total = sum(results)
        print(f"concurrent OK {args.n} connections, {total} bytes echoed in "
              f"{time.monotonic() - start:.1f} s")

    asyncio.run(main())


class NbConn:
    """A non-blocking TLS client connection driven by a selector: it
    streams the pattern, reads the echo and checks it, and tells a clean
    close (close_notify) from a truncation."""

    def __init__(self, ctx, port, limit, read=True):
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.local_port = raw.getsockname()[1]
        self.s = ctx.wrap_socket(raw, server_hostname="localhost", suppress_ragged_eofs=False)
        self.s.setblocking(False)
        self.src = PatternSource()
        self.limit = limit
        self.read = read
        self.sent = 0
        self.received = 0
        self.match = True
        self.state = "open"  # open, clean, truncated, error:<text>
        self.send_closed = False

    def want(self):
        ev = 0
        if self.read:
            ev |= selectors.EVENT_READ
        if self.sent < self.limit and not self.send_closed:
            ev |= selectors.EVENT_WRITE
        return ev

    def on_write(self):
        n = min(65536, self.limit - self.sent)
        try:
            self.sent += self.s.send(self.src.get(self.sent, n))
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
            pass
        except (OSError, ssl.SSLError):
            self.send_closed = True  # the server closed: reading tells how

    def on_read(self):
        while True:
            try:
                data = self.s.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                return
            except ssl.SSLEOFError:
                self.state = "truncated"
                return
            except (OSError, ssl.SSLError) as e:
                self.state = f"error:{e}"
                return
            if not data:
                self.state = "clean"
                return
            if data != self.src.get(self.received, len(data)):
                self.match = False
            self.received += len(data)


def run_selector(conns, until, deadline):
    sel = selectors.DefaultSelector()
    registered = {}
    while not until() and time.monotonic() < deadline:
        for c in conns:
            ev = c.want() if c.state == "open" else 0
            if registered.get(c) != ev:
                if c in registered:
                    sel.unregister(c.s)
                    del registered[c]
                if ev:
                    sel.register(c.s, ev, c)
                    registered[c] = ev
        if not registered:
            break
        for key, ev in sel.select(timeout=0.1):
            c = key.data
            if ev & selectors.EVENT_WRITE:
                c.on_write()
            if ev & selectors.EVENT_READ:
                c.on_read()
    sel.close()


def cmd_inflight(args):
    """CONNS streaming connections; once each has seen some echo, write
    READYFILE (the test then sends SIGTERM). Then run until the server
    closes every connection and report per connection."""
    ctx = client_context(args)
    conns = [NbConn(ctx, args.port, args.limit) for _ in range(args.conns)]
    deadline = time.monotonic() + 60
    run_selector(conns, lambda: all(c.received >= 262144 for c in conns), deadline)
    if not all(c.received >= 262144 for c in conns):
        die("connections did not start streaming")
    with open(args.readyfile, "w") as f:
        f.write("streaming\n")
    run_selector(conns, lambda: all(c.state != "open" for c in conns), time.monotonic() + 60)
    bad = 0
    for c in conns:
        print(f"conn port={c.local_port} sent={c.sent} received={c.received} "
              f"close={c.state} match={int(c.match)}", flush=True)
        if c.state != "clean" or not c.match:
            bad += 1
    if bad:
        die(f"{bad} of {len(conns)} connections lost data or were not closed cleanly")


def cmd_slow_reader(args):
    """One client that sends a lot and never reads; meanwhile N normal
    clients must all finish their echo within a deadline."""
    ctx = client_context(args)
    slow = NbConn(ctx, args.port, 64 << 20, read=False)
    deadline = time.monotonic() + 30
    # Push until the slow connection stops taking data (its echo backs up).
    last, still = -1, 0
    while time.monotonic() < deadline and still < 10:
        run_selector([slow], lambda: False, time.monotonic() + 0.1)
        still = still + 1 if slow.sent == last else 0
        last = slow.sent
    if slow.sent >= slow.limit:
        die("the slow reader was never pushed back (sent everything)")
    print(f"slow reader blocked after sending {slow.sent} bytes", flush=True)

    async def others():
        barrier = Barrier(1)
        start = time.monotonic()
        for i in range(args.n):
            await one_echo(ctx, args.port, i, 256 * 1024, barrier, 10)
        return time.monotonic() - start

    secs = asyncio.run(others())
    if secs > args.max_seconds:
        die(f"{args.n} other clients took {secs:.1f} s (limit {args.max_seconds} s)")
    # The slow client is still connected and still blocked.
    slow_sent = slow.sent
    run_selector([slow], lambda: False, time.monotonic() + 0.2)
    print(f"others OK: {args.n} echo clients in {secs:.1f} s while the slow reader "
          f"is stuck at {slow_sent} bytes", flush=True)
    slow.s.close()


def cmd_half_close(args):
    """Send DATA and our close_notify in one TCP write (TLS 1.3 half-close),
    then read the answer until the server's close_notify. Prints what came
    back on stdout."""
    ctx = client_context(args)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    sock = socket.create_connection(("127.0.0.1", args.port), timeout=15)

    def feed():
        d = sock.recv(65536)
        if d:
            inc.write(d)
        else:
            inc.write_eof()
        return bool(d)

    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            sock.sendall(out.read())
            if not feed():
                die("server closed during the handshake")
    obj.write(args.data.encode().decode("unicode_escape").encode("latin-1"))
    try:
        obj.unwrap()
    except ssl.SSLWantReadError:
        pass  # our close_notify is queued; the peer's comes later
    sock.sendall(out.read())  # data and close_notify together
    got = b""
    clean = False
    while True:
        try:
            got += obj.read(65536)
            continue
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLZeroReturnError:
            clean = True
            break
        except ssl.SSLError as e:
            die(f"after {len(got)} bytes: {e}")
        sock.sendall(out.read())
        if not feed():
            break
    sys.stdout.buffer.write(got)
    sys.stdout.flush()
    if not clean:
        die(f"no close_notify from the server after {len(got)} bytes")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)

    def tls_client(name):
        sp = sub.add_parser(name)
        sp.add_argument("port", type=int)
        sp.add_argument("--ca", required=True)
        sp.add_argument("--cert")
        sp.add_argument("--key")
        return sp

    sub.add_parser("http-backend")
    sp = sub.add_parser("check-backend")
    sp.add_argument("size", type=int)
    sp = sub.add_parser("echo-backend")
    sp.add_argument("--port", type=int, default=0)
    sp = sub.add_parser("pattern")
    sp.add_argument("size", type=int)
    sp = sub.add_parser("check-pattern")
    sp.add_argument("size", type=int)
    sp = tls_client("ssl-echo")
    sp.add_argument("--tls12", action="store_true")
    sp.add_argument("--servername", default="localhost")
    sp = tls_client("big-client")
    sp.add_argument("size", type=int)
    sp = tls_client("concurrent")
    sp.add_argument("n", type=int)
    sp.add_argument("--bytes", type=int, default=16384)
    sp.add_argument("--timeout", type=float, default=60)
    sp = tls_client("inflight")
    sp.add_argument("conns", type=int)
    sp.add_argument("readyfile")
    sp.add_argument("--limit", type=int, default=256 << 20)
    sp = tls_client("half-close")
    sp.add_argument("data")
    sp = tls_client("slow-reader")
    sp.add_argument("n", type=int)
    sp.add_argument("--max-seconds", type=float, default=20)
    args = p.parse_args()
    fn = {
        "http-backend": cmd_http_backend,
        "check-backend": cmd_check_backend,
        "echo-backend": cmd_echo_backend,
        "pattern": cmd_pattern,
        "check-pattern": cmd_check_pattern,
        "ssl-echo": cmd_ssl_echo,
        "big-client": cmd_big_client,
        "concurrent": cmd_concurrent,
        "inflight": cmd_inflight,
        "slow-reader": cmd_slow_reader,
        "half-close": cmd_half_close,
    }[args.cmd]
    fn(args)


if __name__ == "__main__":
    main()
