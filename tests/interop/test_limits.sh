#!/usr/bin/env bash
# The runtime limits as the command sets them: --handshake-timeout and
# --idle-timeout close silent connections with a log line, --max-conns
# refuses connections over the cap (and the server keeps serving), and
# --log-level filters the log.
source "$(dirname "$0")/lib.sh" "$@"

make_pki "$WORK/pki"
PKI="$WORK/pki"

# raw_hold PORT SECONDS: a TCP client that sends nothing and reports how
# long the server took to close it.
raw_hold() {
  python3 - "$1" "$2" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=float(sys.argv[2]))
start = time.monotonic()
try:
    while s.recv(4096):
        pass
except OSError:
    pass
print(f"closed after {time.monotonic() - start:.2f} s")
PY
}

start_serve t --cert "$PKI/server.pem" --key "$PKI/server.key" --handshake-timeout 300 \
  --idle-timeout 600 --log-level debug
out="$(raw_hold "$SERVE_PORT" 10)" || fail "silent client: $out"
wait_for "$WORK/t.err" 'close="handshake timeout"' 5 || fail "no 'handshake timeout' log line"
ok "--handshake-timeout 300: silent TCP client $out, logged"

python3 - "$SERVE_PORT" "$PKI/ca.pem" >"$WORK/idle.log" 2>&1 <<'PY' || fail "idle: $(cat "$WORK/idle.log")"
import socket, ssl, sys, time
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10),
                    server_hostname="localhost")
start = time.monotonic()
try:
    d = s.recv(10)
except (ssl.SSLError, OSError):
    d = b""
took = time.monotonic() - start
if d or took > 5:
    sys.exit(f"idle connection: got {d!r} after {took:.2f} s")
print(f"idle connection closed after {took:.2f} s")
PY
wait_for "$WORK/t.err" 'close="idle timeout"' 5 || fail "no 'idle timeout' log line"
# Plain HTTP on the TLS port: a failed handshake, told at debug level.
python3 - "$SERVE_PORT" <<'PY' || fail "plaintext client on the TLS port"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
try:
    while s.recv(4096):
        pass
except OSError:
    pass
PY
wait_for "$WORK/t.err" ' debug .*handshake failed' 5 || fail "--log-level debug: no debug line for a failed handshake"
wait_for "$WORK/t.err" 'close="protocol error: ' 5 || fail "no 'protocol error' line for plain HTTP on the TLS port"
stop_serve "$SERVE_PID"
ok "--idle-timeout 600: $(cat "$WORK/idle.log"), logged; debug lines present"

# --max-conns 2: two open connections, the third is refused, then after
# they close a new one is served.
start_serve cap --cert "$PKI/server.pem" --key "$PKI/server.key" --max-conns 2
python3 - "$SERVE_PORT" "$PKI/ca.pem" >"$WORK/cap.log" 2>&1 <<'PY' || fail "max-conns: $(cat "$WORK/cap.log")"
import socket, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
def conn():
    return ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                           server_hostname="localhost")
a, b = conn(), conn()
for s in (a, b):
    s.sendall(b"x")
    assert s.recv(1) == b"x"
try:
    c = conn()
    c.sendall(b"y")
    got = c.recv(1)
except (ssl.SSLError, OSError) as e:
    got = b""
if got:
    sys.exit("a third connection was served with --max-conns 2")
a.close(); b.close()
print("third connection refused")
PY
wait_for "$WORK/cap.err" 'close="refused: connection limit"' 5 || fail "no 'refused: connection limit' line"
# The two closed; a new connection is served.
wait_for "$WORK/cap.err" 'conn=2 .*close=' 5 || true
python3 "$HERE/peers.py" ssl-echo "$SERVE_PORT" --ca "$PKI/ca.pem" >"$WORK/cap2.log" 2>&1 ||
  fail "after the cap: $(cat "$WORK/cap2.log")"
stop_serve "$SERVE_PID"
ok "--max-conns 2: third refused and logged, later connections served"

# --log-level error: no per-connection info lines.
start_serve quiet --cert "$PKI/server.pem" --key "$PKI/server.key" --log-level error
python3 "$HERE/peers.py" ssl-echo "$SERVE_PORT" --ca "$PKI/ca.pem" >/dev/null 2>&1 || fail "quiet server"
stop_serve "$SERVE_PID"
if grep -q ' info ' "$WORK/quiet.err"; then
  fail "--log-level error still logged info lines: $(grep ' info ' "$WORK/quiet.err" | head -1)"
fi
ok "--log-level error: no info lines"

pass
