#!/usr/bin/env python3
"""Peers for the interop tests of the fleet features (SNI certificates,
session tickets, the PROXY protocol): a backend that parses the PROXY
header memtls sends (its own parser, written from HAProxy's
proxy-protocol.txt, not memtls'), a client that sends a header before
its TLS handshake or sends broken headers, a Python ssl client that
resumes sessions, and tools for openssl session files.

Servers print "ready PORT" once they listen. Clients print result lines
and exit non-zero with a message on stderr when a check fails.
"""
import argparse
import ipaddress
import socket
import socketserver
import ssl
import struct
import subprocess
import sys
import time

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def die(msg):
    print(f"fleet.py: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


# --- PROXY protocol, receiving side --------------------------------------------

def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def recv_exact(sock, n, have=b""):
    while len(have) < n:
        d = sock.recv(n - len(have))
        if not d:
            raise ValueError(f"EOF inside the PROXY header after {len(have)} bytes")
        have += d
    return have


def read_header(sock):
    """Read one PROXY header from sock; return (fields, rest) where rest
    is what was read past it."""
    head = recv_exact(sock, 12)
    if head.startswith(b"PROXY "):
        line = head
        while b"\r\n" not in line:
            if len(line) >= 107:
                raise ValueError("v1 line longer than 107 bytes")
            line += recv_exact(sock, 1)
        text, rest = line.split(b"\r\n", 1)
        parts = text.decode("ascii").split(" ")
        if parts[1] == "UNKNOWN":
            return {"v": "1", "cmd": "UNKNOWN"}, rest
        if parts[1] not in ("TCP4", "TCP6") or len(parts) != 6:
            raise ValueError(f"bad v1 line {text!r}")
        fam = 4 if parts[1] == "TCP4" else 6
        for a in parts[2:4]:
            if ipaddress.ip_address(a).version != fam:
                raise ValueError(f"{a} is not IPv{fam}")
        return {"v": "1", "cmd": "PROXY", "src": f"{parts[2]}:{parts[4]}",
                "dst": f"{parts[3]}:{parts[5]}"}, rest
    if head != V2_SIG:
        raise ValueError(f"no PROXY signature: {head!r}")
    fixed = recv_exact(sock, 4)
    ver_cmd, fam, length = fixed[0], fixed[1], struct.unpack("!H", fixed[2:4])[0]
    if ver_cmd >> 4 != 2:
        raise ValueError(f"version {ver_cmd >> 4}")
    body = recv_exact(sock, length)
    whole = head + fixed + body
    out = {"v": "2", "cmd": "PROXY" if ver_cmd & 0xF == 1 else "LOCAL"}
    off = 0
    if out["cmd"] == "PROXY" and fam >> 4 == 1:
        s, d, sp, dp = struct.unpack("!4s4sHH", body[:12])
        out["src"] = f"{ipaddress.IPv4Address(s)}:{sp}"
        out["dst"] = f"{ipaddress.IPv4Address(d)}:{dp}"
        off = 12
    elif out["cmd"] == "PROXY" and fam >> 4 == 2:
        s, d, sp, dp = struct.unpack("!16s16sHH", body[:36])
        out["src"] = f"[{ipaddress.IPv6Address(s)}]:{sp}"
        out["dst"] = f"[{ipaddress.IPv6Address(d)}]:{dp}"
        off = 36
    if out["cmd"] == "LOCAL":
        return out, b""
    while off < len(body):
        t, n = body[off], struct.unpack("!H", body[off + 1:off + 3])[0]
        v = body[off + 3:off + 3 + n]
        if len(v) != n:
            raise ValueError(f"TLV 0x{t:02x} overruns the header")
        if t == 0x01:
            out["alpn"] = v.decode()
        elif t == 0x02:
            out["authority"] = v.decode()
        elif t == 0x03:
            at = 16 + off + 3
            zeroed = whole[:at] + b"\0\0\0\0" + whole[at + 4:]
            out["crc"] = "ok" if crc32c(zeroed) == struct.unpack("!I", v)[0] else "BAD"
        elif t == 0x20:
            out["ssl_client"] = f"0x{v[0]:02x}"
            out["ssl_verify"] = str(struct.unpack("!I", v[1:5])[0])
            sub = 5
            names = {0x21: "ssl_version", 0x22: "ssl_cn", 0x23: "ssl_cipher"}
            while sub < len(v):
                st, sn = v[sub], struct.unpack("!H", v[sub + 1:sub + 3])[0]
                if st in names:
                    out[names[st]] = v[sub + 3:sub + 3 + sn].decode()
                sub += 3 + sn
        off += 3 + n
    return out, b""


def cmd_proxy_backend(args):
    """Parse each connection's PROXY header, print it as one line of
    key=value pairs ("header v=2 cmd=PROXY src=... ..."), then echo."""

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            sock = self.request
            try:
                fields, rest = read_header(sock)
            except (ValueError, OSError) as e:
                print(f"header-error {e}", flush=True)
                return
            print("header " + " ".join(f"{k}={v}" for k, v in fields.items()), flush=True)
            try:
                if rest:
                    sock.sendall(rest)
                while True:
                    d = sock.recv(65536)
                    if not d:
                        sock.shutdown(socket.SHUT_WR)
                        return
                    sock.sendall(d)
            except OSError:
                return

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    srv = Server(("127.0.0.1", 0), Handler)
    print(f"ready {srv.server_address[1]}", flush=True)
    srv.serve_forever()


# --- PROXY protocol, sending side -----------------------------------------------

def v2_header(src, dst, local=False):
    sig = V2_SIG + bytes([0x20 if local else 0x21])
    if local:
        return sig + b"\x00" + struct.pack("!H", 0)
    s = ipaddress.ip_address(src[0])
    d = ipaddress.ip_address(dst[0])
    if s.version == 4:
        body = struct.pack("!4s4sHH", s.packed, d.packed, src[1], dst[1])
        return sig + b"\x11" + struct.pack("!H", len(body)) + body
    body = struct.pack("!16s16sHH", s.packed, d.packed, src[1], dst[1])
    return sig + b"\x21" + struct.pack("!H", len(body)) + body


def preamble(kind, src):
    if kind == "v1":
        return f"PROXY TCP4 {src[0]} 192.0.2.1 {src[1]} 443\r\n".encode()
    if kind == "v2":
        return v2_header(src, ("192.0.2.1", 443))
    if kind == "v2-6":
        return v2_header(src, ("2001:db8::1", 443))
    if kind == "local":
        return v2_header(None, None, local=True)
    if kind == "none":
        return b""
    if kind == "garbage":
        return b"GET / HTTP/1.0\r\n\r\n"
    if kind == "truncated":
        return b"PROXY TCP4 198.51.100.4 192.0.2.1 4"
    if kind == "oversized":
        return V2_SIG + b"\x21\x11\xff\xff" + b"\0" * 64
    if kind == "longline":
        return b"PROXY UNKNOWN " + b"x" * 200
    die(f"unknown header kind {kind}")


def cmd_proxy_client(args):
    """Send a PROXY header (or a broken one), then: --tls: a TLS echo
    round trip (prints "echo ok PORT" with the local port); --expect-cut:
    wait until the server closes or resets (prints "cut after S s")."""
    src = (args.src_ip, args.src_port)
    sock = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
    sock.sendall(preamble(args.header, src))
    if args.eof:
        sock.shutdown(socket.SHUT_WR)
    if args.expect_cut:
        t0 = time.monotonic()
        try:
            while sock.recv(4096):
                pass
        except ConnectionResetError:
            pass
        except socket.timeout:
            die(f"the server did not cut the connection within {args.timeout} s")
        print(f"cut after {time.monotonic() - t0:.2f} s", flush=True)
        return
    ctx = ssl.create_default_context(cafile=args.ca)
    if args.alpn:
        ctx.set_alpn_protocols(args.alpn.split(","))
    with ctx.wrap_socket(sock, server_hostname=args.servername) as s:
        msg = b"through the PROXY header\n"
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            d = s.recv(4096)
            if not d:
                break
            got += d
        if got != msg:
            die(f"echo mismatch: {got!r}")
        port = s.getsockname()[1]
        s.unwrap()  # close_notify both ways: a clean close on the server too
        print(f"echo ok {port}", flush=True)


# --- resumption with Python's ssl -----------------------------------------------

def cmd_resume(args):
    """Two connections; the second offers the first one's session. Prints
    "first reused=False" and "second reused=True|False"."""
    ctx = ssl.create_default_context(cafile=args.ca)
    if args.tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    session = None
    for name in ("first", "second"):
        with socket.create_connection(("127.0.0.1", args.port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname=args.servername, session=session) as s:
                msg = b"resume me\n"
                s.sendall(msg)
                got = b""
                while len(got) < len(msg):
                    d = s.recv(4096)
                    if not d:
                        break
                    got += d
                if got != msg:
                    die(f"{name}: echo mismatch {got!r}")
                print(f"{name} reused={s.session_reused} {s.version()}", flush=True)
                session = s.session


# --- openssl session files ------------------------------------------------------

def ticket_of(path):
    text = subprocess.run(["openssl", "sess_id", "-in", path, "-noout", "-text"],
                          check=True, capture_output=True, text=True).stdout
    lines = text.splitlines()
    try:
        i = next(k for k, l in enumerate(lines) if "TLS session ticket:" in l)
    except StopIteration:
        return b""
    hexbytes = []
    for l in lines[i + 1:]:
        l = l.strip()
        if not l or " - " not in l:
            break
        hexbytes += l.split(" - ", 1)[1][:48].replace("-", " ").split()
    return bytes(int(h, 16) for h in hexbytes)


def cmd_ticket_name(args):
    t = ticket_of(args.session)
    if len(t) < 16:
        die(f"{args.session}: no ticket")
    print(t[:16].hex())


def cmd_corrupt_session(args):
    """Flip one byte of the ticket inside an openssl session file."""
    t = ticket_of(args.session)
    if len(t) <= args.at:
        die(f"{args.session}: ticket of {len(t)} bytes")
    der = subprocess.run(["openssl", "sess_id", "-in", args.session, "-outform", "DER"],
                         check=True, capture_output=True).stdout
    i = der.find(t)
    if i < 0:
        die("ticket not found in the session's DER")
    bad = bytearray(der)
    bad[i + args.at] ^= 0x5A
    subprocess.run(["openssl", "sess_id", "-inform", "DER", "-out", args.out], input=bytes(bad),
                   check=True, capture_output=True)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("proxy-backend")
    sp = sub.add_parser("proxy-client")
    sp.add_argument("port", type=int)
    sp.add_argument("--header", default="none")
    sp.add_argument("--src-ip", default="203.0.113.7")
    sp.add_argument("--src-port", type=int, default=40000)
    sp.add_argument("--ca")
    sp.add_argument("--servername", default="localhost")
    sp.add_argument("--alpn")
    sp.add_argument("--expect-cut", action="store_true")
    sp.add_argument("--eof", action="store_true")
    sp.add_argument("--timeout", type=float, default=10)
    sp = sub.add_parser("resume")
    sp.add_argument("port", type=int)
    sp.add_argument("--ca", required=True)
    sp.add_argument("--servername", default="localhost")
    sp.add_argument("--tls12", action="store_true")
    sp = sub.add_parser("ticket-name")
    sp.add_argument("session")
    sp = sub.add_parser("corrupt-session")
    sp.add_argument("session")
    sp.add_argument("out")
    sp.add_argument("--at", type=int, default=40)
    args = p.parse_args()
    {
        "proxy-backend": cmd_proxy_backend,
        "proxy-client": cmd_proxy_client,
        "resume": cmd_resume,
        "ticket-name": cmd_ticket_name,
        "corrupt-session": cmd_corrupt_session,
    }[args.cmd](args)


if __name__ == "__main__":
    main()
