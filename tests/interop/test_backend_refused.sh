#!/usr/bin/env bash
# A backend that refuses connections: each client connection is closed
# (the client sees the end of the stream, not a hang), the server logs a
# line naming the backend problem, and it keeps serving: once the backend
# is up, the next client gets through.
source "$(dirname "$0")/lib.sh" "$@"
need openssl

make_pki "$WORK/pki"
PKI="$WORK/pki"
bport="$(free_port)" # nothing listens here yet

start_serve srv --cert "$PKI/server.pem" --key "$PKI/server.key" --backend "127.0.0.1:$bport"

for i in 1 2 3; do
  python3 - "$SERVE_PORT" "$PKI/ca.pem" >"$WORK/client$i.log" 2>&1 <<'PY' || fail "client $i: $(cat "$WORK/client$i.log")"
import socket, ssl, sys, time
ctx = ssl.create_default_context(cafile=sys.argv[2])
raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=15)
s = ctx.wrap_socket(raw, server_hostname="localhost")
try:
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
except OSError:
    pass
start = time.monotonic()
try:
    data = s.recv(100)
except (ssl.SSLError, OSError) as e:
    data = b""
    print(f"closed with {e.__class__.__name__}")
if data:
    sys.exit(f"got data {data!r} from a refused backend")
print(f"connection closed after {time.monotonic() - start:.2f} s")
PY
done
ok "3 clients: $(cat "$WORK/client1.log")"
wait_for "$WORK/srv.err" 'conn=3 .*close="[^"]*backend[^"]*(refused|Connection refused)' 10 ||
  fail "no log line naming the refused backend: $(grep 'conn=' "$WORK/srv.err" | tail -1)"
ok "log: $(grep 'conn=1 ' "$WORK/srv.err" | sed 's/.*close=/close=/')"
kill -0 "$SERVE_PID" || fail "the server died"

# The backend comes up: the same server now proxies.
start_py backend echo-backend --port "$bport"
feed_until "$WORK/ok.log" '^through$' 15 -- "through" |
  timeout 30 "$MEMTLS" connect --ca "$PKI/ca.pem" "localhost:$SERVE_PORT" >"$WORK/ok.log" 2>"$WORK/ok.stderr"
grep -qx through "$WORK/ok.log" || fail "after the backend came up: $(cat "$WORK/ok.stderr")"
stop_serve "$SERVE_PID"
ok "the server kept serving: proxied once the backend listened"
pass
