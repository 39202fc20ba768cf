#!/usr/bin/env bash
# `memtls serve --backend` in front of a small Python HTTP backend, reached
# with curl over TLS (verified against the PKI from `memtls cert`): GET
# requests, keep-alive, ALPN http/1.1, and the proxied byte counts in the
# log.
source "$(dirname "$0")/lib.sh" "$@"
need curl

make_pki "$WORK/pki"
PKI="$WORK/pki"

start_py backend http-backend
start_serve srv --cert "$PKI/server.pem" --key "$PKI/server.key" --alpn http/1.1 \
  --backend "127.0.0.1:$PY_PORT"
grep -q "^proxying to 127.0.0.1:$PY_PORT" "$WORK/srv.out" || fail "no 'proxying to' line"

curl_get() {
  timeout 30 curl -sS --fail --cacert "$PKI/ca.pem" --resolve "localhost:$SERVE_PORT:127.0.0.1" \
    --http1.1 "$@"
}

body="$(curl_get "https://localhost:$SERVE_PORT/first" 2>"$WORK/curl1.err")" ||
  fail "curl: $(cat "$WORK/curl1.err")"
[ "$body" = "hello from the backend, path /first" ] || fail "curl got '$body'"
wait_for "$WORK/srv.err" 'sni=localhost version=TLSv1.3 .*alpn=http/1.1' ||
  fail "no log line for curl with SNI and ALPN http/1.1"
ok "curl -> memtls serve --backend -> python HTTP: $body"

# Two requests on one connection (keep-alive through the proxy).
curl_get -v "https://localhost:$SERVE_PORT/a" "https://localhost:$SERVE_PORT/b" \
  >"$WORK/curl2.out" 2>"$WORK/curl2.err" || fail "curl keep-alive: $(tail -3 "$WORK/curl2.err")"
grep -q 'path /a' "$WORK/curl2.out" && grep -q 'path /b' "$WORK/curl2.out" ||
  fail "keep-alive bodies: $(cat "$WORK/curl2.out")"
grep -q 'Re-using existing connection' "$WORK/curl2.err" || fail "curl did not reuse the connection"
ok "two requests on one kept-alive connection"

# TLS 1.2 and by IP address (IP SAN).
body="$(timeout 30 curl -sS --fail --cacert "$PKI/ca.pem" --tlsv1.2 --tls-max 1.2 \
  "https://127.0.0.1:$SERVE_PORT/ip" 2>"$WORK/curl3.err")" || fail "curl TLS 1.2: $(cat "$WORK/curl3.err")"
[ "$body" = "hello from the backend, path /ip" ] || fail "curl TLS 1.2 got '$body'"
wait_for "$WORK/srv.err" 'version=TLSv1.2' || fail "no TLS 1.2 log line"
ok "curl TLS 1.2 by IP address"

# curl refuses the server when it does not trust the CA.
make_pki "$WORK/other"
if timeout 30 curl -sS --cacert "$WORK/other/ca.pem" "https://127.0.0.1:$SERVE_PORT/" \
  >/dev/null 2>"$WORK/curl4.err"; then
  fail "curl trusted a server from another CA"
fi
ok "curl with another CA refuses: $(head -1 "$WORK/curl4.err")"

# Several requests in parallel.
pids=()
for i in $(seq 1 10); do
  curl_get "https://localhost:$SERVE_PORT/p$i" >"$WORK/par$i.out" 2>"$WORK/par$i.err" &
  pids+=($!)
done
for p in "${pids[@]}"; do
  wait "$p"
done
for i in $(seq 1 10); do
  grep -qx "hello from the backend, path /p$i" "$WORK/par$i.out" ||
    fail "parallel request $i: $(cat "$WORK/par$i.out" "$WORK/par$i.err")"
done
ok "10 parallel curl requests"

stop_serve "$SERVE_PID"
grep -Eq 'stopped: .*backend_in=[1-9][0-9]* backend_out=[1-9]' "$WORK/srv.err" ||
  fail "no backend byte counts in the final statistics"
pass
