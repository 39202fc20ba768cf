#!/usr/bin/env bash
# TLS 1.3 half-close: a client that sends its data and its close_notify
# together (Python ssl's unwrap, gnutls-cli or `memtls connect` at stdin
# EOF, `echo hello | ...`) still gets the whole answer, then the server's
# close_notify: from the echo application, and through --backend (the
# backend sees the request and EOF, its response reaches the client).
source "$(dirname "$0")/lib.sh" "$@"
need gnutls-cli

make_pki "$WORK/pki"
PKI="$WORK/pki"

start_serve echo --cert "$PKI/server.pem" --key "$PKI/server.key"
python3 "$HERE/peers.py" half-close "$SERVE_PORT" --ca "$PKI/ca.pem" 'hello half-close\n' \
  >"$WORK/py.out" 2>"$WORK/py.stderr" || fail "python half-close: $(cat "$WORK/py.stderr")"
[ "$(cat "$WORK/py.out")" = "hello half-close" ] ||
  fail "echo: data sent together with close_notify was not echoed (got '$(cat "$WORK/py.out")'; $(grep 'conn=' "$WORK/echo.err" | tail -1 | sed 's/.*bytes_in/bytes_in/'))"
ok "echo: Python ssl data + close_notify in one write -> echoed, then close_notify"

for i in 1 2 3 4 5; do
  got="$(printf 'line %s\n' "$i" | timeout 20 "$MEMTLS" connect --ca "$PKI/ca.pem" \
    "localhost:$SERVE_PORT" 2>"$WORK/mc$i.stderr")" || fail "memtls connect: $(cat "$WORK/mc$i.stderr")"
  [ "$got" = "line $i" ] || fail "echo: 'printf | memtls connect' got '$got' (try $i)"
done
ok "echo: 'printf ... | memtls connect' x5"

got="$(printf 'gnutls half\n' | timeout 20 gnutls-cli --x509cafile "$PKI/ca.pem" -p "$SERVE_PORT" \
  localhost 2>"$WORK/gc.stderr" | grep -x 'gnutls half')" || true
[ "$got" = "gnutls half" ] || fail "echo: gnutls-cli with stdin at EOF got no echo"
stop_serve "$SERVE_PID"
ok "echo: gnutls-cli with stdin at EOF"

start_py backend http-backend
start_serve proxy --cert "$PKI/server.pem" --key "$PKI/server.key" --backend "127.0.0.1:$PY_PORT"
python3 "$HERE/peers.py" half-close "$SERVE_PORT" --ca "$PKI/ca.pem" \
  'GET /half HTTP/1.0\r\nHost: localhost\r\n\r\n' >"$WORK/pyp.out" 2>"$WORK/pyp.stderr" ||
  fail "proxy half-close: $(cat "$WORK/pyp.stderr")"
grep -q 'hello from the backend, path /half' "$WORK/pyp.out" ||
  fail "proxy: a request sent with close_notify got no response (got '$(head -c 200 "$WORK/pyp.out")')"
stop_serve "$SERVE_PID"
ok "proxy: request + close_notify -> the backend's full response"

pass
