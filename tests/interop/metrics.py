#!/usr/bin/env python3
"""Helpers for the metrics interop test (test_metrics.sh).

  traffic PORT --ca CA --n N --bytes M [--scrape MPORT --out DIR]
      N TLS connections one after the other, each echoing M bytes and
      closing with close_notify; meanwhile (with --scrape) GET /metrics
      every 20 ms, each answer saved as DIR/scrape-K.txt.
  check FILE [--eq SERIES=VALUE]... [--ge SERIES=VALUE]...
      Parse FILE strictly as the Prometheus text format 0.0.4 (below) and
      compare series (written as in the file: name{labels}) with values.
  client-parse FILE
      Parse FILE with the prometheus_client library's parser (needs a
      python3 that has it: Debian's python3-prometheus-client).
  resume PORT --ca CA
      Two TLS 1.3 connections, the second resuming the first's session
      (a ticket); fails unless it was resumed.
  rtt PORT --ca CA --n K
      One TLS connection, K round trips of 64 bytes; prints the median and
      the 90th percentile in microseconds.
  idle-scrapers MPORT --n S --readyfile F --out FILE
      S connections to the metrics endpoint that never read: half send the
      request (with a 1 KiB receive buffer), half send nothing. Writes F
      once all are connected, then waits for the endpoint to cut each one
      and writes the longest wait (seconds) to FILE.

Exit status non-zero with a message on stderr when a check fails.
"""
import argparse
import math
import re
import select
import socket
import ssl
import statistics
import sys
import threading
import time

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')


def die(msg):
    print(f"metrics.py: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def tls_context(ca):
    ctx = ssl.create_default_context(cafile=ca)
    return ctx


def http_get(port, path="/metrics", timeout=10):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].decode()
    return status, head.decode(), body


# ---------------------------------------------------------------- parsing

def parse_labels(text, where):
    """'a="x",b="y"' -> (("a","x"),("b","y")), strictly."""
    out = []
    pos = 0
    while pos < len(text):
        m = LABEL.match(text, pos)
        if not m:
            die(f"{where}: bad label syntax at {text[pos:]!r}")
        out.append((m.group(1), m.group(2)))
        pos = m.end()
        if pos < len(text):
            if text[pos] != ",":
                die(f"{where}: expected ',' in labels {text!r}")
            pos += 1
    names = [k for k, _ in out]
    if len(names) != len(set(names)):
        die(f"{where}: a label appears twice: {text!r}")
    return tuple(out)


def parse_value(text, where):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    try:
        return float(text)
    except ValueError:
        die(f"{where}: bad value {text!r}")


def parse(text):
    """The text format 0.0.4, strictly: every line a HELP, a TYPE (once per
    family, before its samples) or a sample; a family's samples together;
    no duplicate series; histograms with ascending le buckets that never
    decrease and end in +Inf equal to _count; counters named *_total and
    not negative. Returns {(name, labels): value}."""
    if not text.endswith("\n"):
        die("the text does not end with a newline")
    types = {}
    helps = set()
    samples = {}
    order = []  # families in the order their samples appear
    for no, line in enumerate(text.split("\n")[:-1], 1):
        where = f"line {no}"
        if line.startswith("# HELP "):
            parts = line.split(" ", 3)
            if len(parts) < 4 or not NAME.match(parts[2]) or parts[2] in helps:
                die(f"{where}: bad or repeated HELP: {line!r}")
            helps.add(parts[2])
            continue
        if line.startswith("# TYPE "):
            parts = line.split(" ")
            if len(parts) != 4 or not NAME.match(parts[2]) or parts[3] not in (
                    "counter", "gauge", "histogram", "summary", "untyped"):
                die(f"{where}: bad TYPE: {line!r}")
            if parts[2] in types:
                die(f"{where}: second TYPE for {parts[2]}")
            types[parts[2]] = parts[3]
            continue
        if line.startswith("#") or not line.strip():
            die(f"{where}: unexpected line {line!r}")
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$", line)
        if not m:
            die(f"{where}: not a sample: {line!r}")
        name, labels, value = m.group(1), parse_labels(m.group(2) or "", where), \
            parse_value(m.group(3), where)
        family = name
        for suffix in ("_bucket", "_sum", "_count"):
            base = name[:-len(suffix)]
            if name.endswith(suffix) and types.get(base) == "histogram":
                family = base
        if family not in types:
            die(f"{where}: sample of {name} without a TYPE before it")
        if order and order[-1] != family:
            if family in order:
                die(f"{where}: samples of {family} are not together")
        if not order or order[-1] != family:
            order.append(family)
        if types[family] == "counter":
            if not name.endswith("_total"):
                die(f"{where}: counter {name} is not named *_total")
            if value < 0:
                die(f"{where}: negative counter")
        key = (name, labels)
        if key in samples:
            die(f"{where}: duplicate series {line!r}")
        samples[key] = value
    for family, kind in types.items():
        if kind == "histogram":
            check_histogram(family, samples)
    return samples


def check_histogram(family, samples):
    groups = {}
    for (name, labels), value in samples.items():
        if name == family + "_bucket":
            rest = tuple(kv for kv in labels if kv[0] != "le")
            le = dict(labels).get("le")
            if le is None:
                die(f"{family}: bucket without le")
            groups.setdefault(rest, []).append((parse_value(le, family), value))
    if not groups:
        die(f"{family}: a histogram without buckets")
    for rest, buckets in groups.items():
        les = [le for le, _ in buckets]
        if les != sorted(les) or les[-1] != math.inf:
            die(f"{family}{rest}: buckets not ascending or without +Inf")
        counts = [v for _, v in buckets]
        if any(b < a for a, b in zip(counts, counts[1:])):
            die(f"{family}{rest}: bucket counts decrease")
        count = samples.get((family + "_count", rest))
        total = samples.get((family + "_sum", rest))
        if count is None or total is None:
            die(f"{family}{rest}: _count or _sum missing")
        if count != counts[-1]:
            die(f"{family}{rest}: _count {count} != +Inf bucket {counts[-1]}")
        if total < 0:
            die(f"{family}{rest}: negative _sum")


def series_key(text):
    """'name{a="x"}' -> (name, labels) as parse() keys them."""
    m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?$", text)
    if not m:
        die(f"bad series {text!r}")
    return m.group(1), parse_labels(m.group(2) or "", text)


def cmd_check(args):
    with open(args.file, encoding="utf-8") as f:
        samples = parse(f.read())
    for spec, op in [(s, "eq") for s in args.eq] + [(s, "ge") for s in args.ge]:
        series, _, want = spec.rpartition("=")
        key = series_key(series)
        if key not in samples:
            die(f"{args.file}: no series {series}")
        got = samples[key]
        if (op == "eq" and got != float(want)) or (op == "ge" and got < float(want)):
            die(f"{args.file}: {series} is {got:g}, expected {'' if op == 'eq' else '>= '}{want}")
    print(f"{args.file}: {len(samples)} series parse; every check holds")


def cmd_client_parse(args):
    from prometheus_client.parser import text_string_to_metric_families
    with open(args.file, encoding="utf-8") as f:
        families = list(text_string_to_metric_families(f.read()))
    n = sum(len(fam.samples) for fam in families)
    if not families or n == 0:
        die("prometheus_client found nothing")
    print(f"prometheus_client: {len(families)} families, {n} samples")


# ---------------------------------------------------------------- traffic

def echo_once(ctx, port, size):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            data = bytes((i * 7) & 0xFF for i in range(size))
            s.sendall(data)
            got = b""
            while len(got) < size:
                chunk = s.recv(65536)
                if not chunk:
                    die(f"connection closed after {len(got)} of {size} bytes")
                got += chunk
            if got != data:
                die("echo mismatch")
            s.unwrap()  # close_notify, and the server's


def cmd_traffic(args):
    ctx = tls_context(args.ca)
    stop = threading.Event()
    scrapes = []

    def scraper():
        k = 0
        while not stop.is_set():
            status, _, body = http_get(args.scrape)
            if status != "HTTP/1.1 200 OK":
                die(f"scrape {k}: {status}")
            with open(f"{args.out}/scrape-{k}.txt", "wb") as f:
                f.write(body)
            scrapes.append(k)
            k += 1
            stop.wait(0.02)

    t = None
    if args.scrape:
        t = threading.Thread(target=scraper, daemon=True)
        t.start()
    for _ in range(args.n):
        echo_once(ctx, args.port, args.bytes)
    stop.set()
    if t:
        t.join(10)
    print(f"traffic OK: {args.n} connections x {args.bytes} bytes, {len(scrapes)} scrapes meanwhile")


def cmd_resume(args):
    ctx = tls_context(args.ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    session = None
    for i in range(2):
        with socket.create_connection(("127.0.0.1", args.port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as s:
                s.sendall(b"ping")
                if s.recv(16) != b"ping":
                    die("no echo")
                if i == 1 and not s.session_reused:
                    die("the second connection was not resumed")
                session = s.session  # the ticket arrived with the echo
                s.unwrap()
    print("resume OK: the second connection resumed the first's session")


def cmd_rtt(args):
    ctx = tls_context(args.ca)
    with socket.create_connection(("127.0.0.1", args.port), timeout=10) as raw:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            msg = b"x" * 64
            times = []
            for _ in range(args.n):
                t0 = time.perf_counter()
                s.sendall(msg)
                got = b""
                while len(got) < len(msg):
                    chunk = s.recv(4096)
                    if not chunk:
                        die("closed during the round trips")
                    got += chunk
                times.append((time.perf_counter() - t0) * 1e6)
            s.unwrap()
    times.sort()
    print(f"{statistics.median(times):.0f} {times[int(len(times) * 0.9)]:.0f}")


def cmd_idle_scrapers(args):
    socks = []
    for i in range(args.n):
        s = socket.socket()
        if i % 2 == 0:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        s.connect(("127.0.0.1", args.port))
        if i % 2 == 0:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n")
        socks.append(s)
    start = time.monotonic()
    with open(args.readyfile, "w") as f:
        f.write("ready\n")
    # Never read: only watch for the endpoint's FIN or reset (POLLRDHUP is
    # reported even while unread data waits).
    poller = select.poll()
    for s in socks:
        poller.register(s, select.POLLRDHUP | select.POLLHUP | select.POLLERR)
    open_fds = {s.fileno() for s in socks}
    longest = 0.0
    while open_fds:
        left = 30 - (time.monotonic() - start)
        if left <= 0:
            die(f"{len(open_fds)} of {args.n} idle scrapers were not cut within 30 s")
        for fd, _ in poller.poll(left * 1000):
            if fd in open_fds:
                open_fds.discard(fd)
                poller.unregister(fd)
                longest = max(longest, time.monotonic() - start)
    for s in socks:
        s.close()
    with open(args.out, "w") as f:
        f.write(f"{longest:.2f}\n")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("traffic")
    sp.add_argument("port", type=int)
    sp.add_argument("--ca", required=True)
    sp.add_argument("--n", type=int, required=True)
    sp.add_argument("--bytes", type=int, required=True)
    sp.add_argument("--scrape", type=int, default=0)
    sp.add_argument("--out", default=".")
    sp = sub.add_parser("check")
    sp.add_argument("file")
    sp.add_argument("--eq", action="append", default=[])
    sp.add_argument("--ge", action="append", default=[])
    sp = sub.add_parser("client-parse")
    sp.add_argument("file")
    sp = sub.add_parser("resume")
    sp.add_argument("port", type=int)
    sp.add_argument("--ca", required=True)
    sp = sub.add_parser("rtt")
    sp.add_argument("port", type=int)
    sp.add_argument("--ca", required=True)
    sp.add_argument("--n", type=int, default=300)
    sp = sub.add_parser("idle-scrapers")
    sp.add_argument("port", type=int)
    sp.add_argument("--n", type=int, required=True)
    sp.add_argument("--readyfile", required=True)
    sp.add_argument("--out", required=True)
    args = p.parse_args()
    {
        "traffic": cmd_traffic,
        "check": cmd_check,
        "client-parse": cmd_client_parse,
        "resume": cmd_resume,
        "rtt": cmd_rtt,
        "idle-scrapers": cmd_idle_scrapers,
    }[args.cmd](args)


if __name__ == "__main__":
    main()
