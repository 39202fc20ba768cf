#!/usr/bin/env python3
"""Open N TLS connections to HOST:PORT, complete each handshake, then hold
them idle until stdin reaches EOF or --hold seconds pass, then close them.

Prints "ready <n_open> <seconds_to_open>" on stdout once all are open, so a
driver can sample the server's memory while the connections sit idle.
Used by bench/peers.sh for the idle-connection memory test.
"""
import argparse
import select
import socket
import ssl
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("-n", type=int, default=1000, help="connections (default 1000)")
    ap.add_argument("--hold", type=float, default=30.0,
                    help="max seconds to hold after opening (default 30)")
    ap.add_argument("--open-timeout", type=float, default=60.0,
                    help="give up opening after this many seconds (default 60)")
    ap.add_argument("--plain", action="store_true", help="plain TCP, no TLS")
    a = ap.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3

    conns = []
    t0 = time.monotonic()
    try:
        for _ in range(a.n):
            if time.monotonic() - t0 > a.open_timeout:
                break
            s = socket.create_connection((a.host, a.port), timeout=10)
            if not a.plain:
                s = ctx.wrap_socket(s, server_hostname="localhost")
            conns.append(s)
    except OSError as e:
        print(f"# open failed after {len(conns)} connections: {e}", file=sys.stderr)
    opened = time.monotonic() - t0
    print(f"ready {len(conns)} {opened:.2f}", flush=True)

    deadline = time.monotonic() + a.hold
    while time.monotonic() < deadline:
        r, _, _ = select.select([sys.stdin], [], [], max(0.0, deadline - time.monotonic()))
        if r and not sys.stdin.buffer.read1(4096):
            break
    for s in conns:
        try:
            s.close()
        except OSError:
            pass


if __name__ == "__main__":
    main()
