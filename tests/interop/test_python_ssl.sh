#!/usr/bin/env bash
# Server side against Python's ssl module: TLS 1.3 and 1.2 with
# verification and host name check, ALPN, and the ephemeral certificate
# trusted directly (fetched from the server, pinned by its printed
# fingerprint).
source "$(dirname "$0")/lib.sh" "$@"
need openssl

make_pki "$WORK/pki"
PKI="$WORK/pki"

start_serve srv --cert "$PKI/server.pem" --key "$PKI/server.key" --alpn h2,http/1.1
python3 "$HERE/peers.py" ssl-echo "$SERVE_PORT" --ca "$PKI/ca.pem" >"$WORK/py13.log" 2>&1 ||
  fail "python ssl TLS 1.3: $(cat "$WORK/py13.log")"
grep -q '^python ssl OK TLSv1.3 ' "$WORK/py13.log" || fail "python ssl: $(cat "$WORK/py13.log")"
python3 "$HERE/peers.py" ssl-echo "$SERVE_PORT" --ca "$PKI/ca.pem" --tls12 >"$WORK/py12.log" 2>&1 ||
  fail "python ssl TLS 1.2: $(cat "$WORK/py12.log")"
grep -q '^python ssl OK TLSv1.2 ECDHE-ECDSA-' "$WORK/py12.log" || fail "python ssl: $(cat "$WORK/py12.log")"
ok "python ssl: $(cat "$WORK/py13.log"); $(cat "$WORK/py12.log")"

# The host name is checked by the client: a name the certificate lacks fails.
if python3 "$HERE/peers.py" ssl-echo "$SERVE_PORT" --ca "$PKI/ca.pem" --servername wrong.example \
  >"$WORK/pywrong.log" 2>&1; then
  fail "python ssl accepted a wrong host name"
fi
grep -q "Hostname mismatch\|doesn't match" "$WORK/pywrong.log" ||
  fail "python ssl wrong host: $(tail -1 "$WORK/pywrong.log")"
ok "python ssl: wrong host name rejected by the client"

# ALPN chosen by the server's preference among what Python offers.
python3 - "$SERVE_PORT" "$PKI/ca.pem" >"$WORK/pyalpn.log" 2>&1 <<'PY' || fail "ALPN: $(cat "$WORK/pyalpn.log")"
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.set_alpn_protocols(["http/1.1", "h2"])
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        if s.selected_alpn_protocol() != "h2":
            sys.exit(f"selected {s.selected_alpn_protocol()!r}, expected the server's first: h2")
PY
stop_serve "$SERVE_PID"
ok "python ssl: ALPN h2 (the server's preference)"

# The ephemeral certificate as a pinned trust anchor.
start_serve eph
fp="$(sed -n 's/^certificate SHA-256 fingerprint //p' "$WORK/eph.out")"
timeout 10 openssl s_client -connect "127.0.0.1:$SERVE_PORT" </dev/null 2>/dev/null |
  openssl x509 >"$WORK/eph.pem" || fail "cannot fetch the ephemeral certificate"
[ "$(cert_fp "$WORK/eph.pem")" = "$fp" ] || fail "fetched certificate does not match the printed fingerprint"
for host in localhost 127.0.0.1 ::1; do
  python3 - "$SERVE_PORT" "$WORK/eph.pem" "$host" >"$WORK/pyeph.log" 2>&1 <<'PY' ||
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10) as raw:
    with ctx.wrap_socket(raw, server_hostname=sys.argv[3]) as s:
        s.sendall(b"pinned\n")
        assert s.recv(100) == b"pinned\n"
PY
    fail "python ssl with the pinned ephemeral certificate as $host: $(tail -2 "$WORK/pyeph.log")"
done
stop_serve "$SERVE_PID"
ok "python ssl trusts the ephemeral certificate for localhost, 127.0.0.1 and ::1"

pass
