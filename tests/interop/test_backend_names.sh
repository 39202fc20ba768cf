#!/usr/bin/env bash
# --backend takes a host name: it is resolved by the server (never
# blocking its I/O thread), every address is tried in turn (localhost may
# name ::1 before 127.0.0.1 while the backend listens on 127.0.0.1 only),
# and a name that does not resolve is a logged, counted backend failure
# for that connection, asked again for the next one, never a hang.
source "$(dirname "$0")/lib.sh" "$@"
need openssl

make_pki "$WORK/pki"
PKI="$WORK/pki"
bport="$(free_port)"
start_py backend echo-backend --port "$bport"

start_serve named --cert "$PKI/server.pem" --key "$PKI/server.key" --backend "localhost:$bport"
feed_until "$WORK/named.out" '^by name$' 15 -- "by name" |
  timeout 30 "$MEMTLS" connect --ca "$PKI/ca.pem" "localhost:$SERVE_PORT" >"$WORK/named.out" \
    2>"$WORK/named.stderr"
grep -qx "by name" "$WORK/named.out" || fail "through a backend named localhost: $(cat "$WORK/named.stderr")"
stop_serve "$SERVE_PID"
ok "backend localhost:$bport resolved and proxied"

# A name that does not exist. Bound the resolver's time so a machine whose
# DNS server does not answer still fails fast.
export RES_OPTIONS="timeout:1 attempts:1"
start_serve bad --cert "$PKI/server.pem" --key "$PKI/server.key" \
  --backend "no-such-host.invalid:$bport" --backend-connect-timeout 3000
for i in 1 2; do
  start=$(date +%s)
  printf 'x\n' | timeout 20 "$MEMTLS" connect --ca "$PKI/ca.pem" "localhost:$SERVE_PORT" \
    >"$WORK/bad$i.out" 2>"$WORK/bad$i.err" || true
  [ $(($(date +%s) - start)) -le 10 ] || fail "client $i waited more than 10 s for an unresolvable backend"
  [ ! -s "$WORK/bad$i.out" ] || fail "client $i got data: $(cat "$WORK/bad$i.out")"
done
wait_for "$WORK/bad.err" 'conn=2 .*close="backend connect failed: [^"]*"' 15 ||
  fail "no record naming the backend failure: $(grep 'conn=' "$WORK/bad.err" | tail -2)"
grep -q 'backend no-such-host.invalid: cannot resolve' "$WORK/bad.err" ||
  fail "no line naming the unresolvable backend: $(tail -5 "$WORK/bad.err")"
kill -0 "$SERVE_PID" || fail "the server died"
stop_serve "$SERVE_PID"
ok "unresolvable backend: each client closed promptly, the log names the name and the problem"
pass
