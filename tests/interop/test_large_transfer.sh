#!/usr/bin/env bash
# 64 MiB through `memtls serve --backend` to a Python backend that checks
# every byte against the deterministic pattern and answers with the
# SHA-256 of what it received; the client compares it with its own. Then
# the same size through the echo application with `memtls connect` on
# both ends of a pipe.
source "$(dirname "$0")/lib.sh" "$@"

make_pki "$WORK/pki"
PKI="$WORK/pki"
SIZE=$((64 * 1024 * 1024))

start_py backend check-backend "$SIZE"
start_serve srv --cert "$PKI/server.pem" --key "$PKI/server.key" --backend "127.0.0.1:$PY_PORT"
timeout 300 python3 "$HERE/peers.py" big-client "$SERVE_PORT" --ca "$PKI/ca.pem" "$SIZE" \
  >"$WORK/big.log" 2>&1 || fail "64 MiB through the proxy: $(cat "$WORK/big.log")"
grep -q "^transfer OK $SIZE bytes" "$WORK/big.log" || fail "$(cat "$WORK/big.log")"
grep -q "check-backend: OK $SIZE" "$WORK/backend.err" || fail "the backend did not check $SIZE bytes"
wait_for "$WORK/srv.err" "app_in=$SIZE " 10 || fail "no log line with app_in=$SIZE"
stop_serve "$SERVE_PID"
ok "$(cat "$WORK/big.log")"

# Echo: memtls connect streams 16 MiB of the pattern in and must get all of
# it back, in order, while its stdin and stdout both apply backpressure.
ECHO_SIZE=$((16 * 1024 * 1024))
start_serve echo --cert "$PKI/server.pem" --key "$PKI/server.key"
# The input stays open until every byte came back (no half-close race).
{
  python3 "$HERE/peers.py" pattern "$ECHO_SIZE"
  wait_for "$WORK/echo.count" "^$ECHO_SIZE\$" 120 || true
} | timeout 300 "$MEMTLS" connect --ca "$PKI/ca.pem" "localhost:$SERVE_PORT" 2>"$WORK/echo-connect.err" |
  python3 -c '
import sys
out = open(sys.argv[1], "wb")
total = 0
while True:
    d = sys.stdin.buffer.read1(1 << 20)
    if not d:
        break
    out.write(d)
    total += len(d)
    if total >= int(sys.argv[3]):
        open(sys.argv[2], "w").write(f"{total}\n")
' "$WORK/echo.data" "$WORK/echo.count" "$ECHO_SIZE" || fail "echo stream: $(cat "$WORK/echo-connect.err")"
python3 "$HERE/peers.py" check-pattern "$ECHO_SIZE" <"$WORK/echo.data" >"$WORK/echo-check.log" 2>&1 ||
  fail "echo stream: $(cat "$WORK/echo-check.log")"
stop_serve "$SERVE_PID"
ok "16 MiB echoed intact through memtls connect -> memtls serve"

pass
