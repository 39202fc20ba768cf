#!/usr/bin/env bash
# Mutual TLS on the server side: a client certificate from the CA is
# accepted (openssl s_client, memtls connect, Python ssl); no certificate
# and a certificate from another CA are handshake failures for the client
# and a log line with the verify reason on the server; --verify-client
# optional; --allow-san.
source "$(dirname "$0")/lib.sh" "$@"
need openssl

make_pki "$WORK/pki"
make_pki "$WORK/other"
PKI="$WORK/pki"
OTHER="$WORK/other"

# s_client_try NAME PORT ARGS...: send a line, wait for its echo or for an
# alert, then close. Sets RC; output in $WORK/NAME.log/.stderr.
s_client_try() {
  local name="$1" port="$2"
  shift 2
  : >"$WORK/$name.stderr"
  # Stop feeding on the echo, or as soon as s_client reports an alert or
  # the end of the connection (or, with SERVER_LOG set, the server logged it).
  feed_until "$WORK/$name.log $WORK/$name.stderr ${SERVER_LOG:-}" \
    '^ping$|alert|error|DONE|closed|peer not allowed' 10 -- "ping" |
    timeout 30 openssl s_client -connect "127.0.0.1:$port" -servername localhost \
      -CAfile "$PKI/ca.pem" -verify_return_error -quiet -no_ign_eof "$@" \
      >"$WORK/$name.log" 2>"$WORK/$name.stderr"
  RC=$?
}

start_serve srv --cert "$PKI/server.pem" --key "$PKI/server.key" --ca "$PKI/ca.pem" \
  --verify-client required

for v in -tls1_3 -tls1_2; do
  s_client_try "good$v" "$SERVE_PORT" "$v" -cert "$PKI/client.pem" -key "$PKI/client.key"
  [ "$RC" = 0 ] && grep -qx ping "$WORK/good$v.log" ||
    fail "s_client $v with a good client certificate: exit $RC $(cat "$WORK/good$v.stderr")"
done
wait_for "$WORK/srv.err" 'version=TLSv1.2 .*subject="CN=client"' || fail "no log line for CN=client"
ok "required: openssl s_client with the client certificate (TLS 1.3 and 1.2)"

feed_until "$WORK/mc.log" '^mtls via memtls connect$' 10 -- "mtls via memtls connect" |
  timeout 20 "$MEMTLS" connect --ca "$PKI/ca.pem" --cert "$PKI/client.pem" \
    --key "$PKI/client.key" "localhost:$SERVE_PORT" >"$WORK/mc.log" 2>"$WORK/mc.stderr" ||
  fail "memtls connect with a client certificate: $(cat "$WORK/mc.stderr")"
grep -qx "mtls via memtls connect" "$WORK/mc.log" || fail "memtls connect: no echo"
python3 "$HERE/peers.py" ssl-echo "$SERVE_PORT" --ca "$PKI/ca.pem" --cert "$PKI/client.pem" \
  --key "$PKI/client.key" >"$WORK/py.log" 2>&1 || fail "python ssl with a client certificate: $(cat "$WORK/py.log")"
ok "required: memtls connect and Python ssl with the client certificate"

# No client certificate.
s_client_try none12 "$SERVE_PORT" -tls1_2
[ "$RC" != 0 ] || fail "TLS 1.2 without a client certificate: s_client succeeded"
grep -q 'alert handshake failure' "$WORK/none12.stderr" ||
  fail "TLS 1.2 without a client certificate: no handshake failure alert: $(cat "$WORK/none12.stderr")"
grep -qx ping "$WORK/none12.log" && fail "data was echoed without a client certificate"
s_client_try none13 "$SERVE_PORT" -tls1_3
[ "$RC" != 0 ] || fail "TLS 1.3 without a client certificate: s_client succeeded"
grep -q 'alert certificate required' "$WORK/none13.stderr" ||
  fail "TLS 1.3 without a client certificate: no certificate_required alert: $(cat "$WORK/none13.stderr")"
if echo x | timeout 20 "$MEMTLS" connect --ca "$PKI/ca.pem" "localhost:$SERVE_PORT" \
  >"$WORK/mc-none.log" 2>"$WORK/mc-none.stderr"; then
  fail "memtls connect without a client certificate succeeded"
fi
grep -q 'handshake failed: .*alert certificate required' "$WORK/mc-none.stderr" ||
  fail "memtls connect: $(cat "$WORK/mc-none.stderr")"
[ "$(grep -c 'auth failed: peer did not return a certificate' "$WORK/srv.err")" -ge 3 ] ||
  fail "no 'auth failed: peer did not return a certificate' log lines"
ok "required, no client certificate: alert for the client (s_client 1.2/1.3, memtls connect), log line"

# A client certificate from another CA.
for v in -tls1_2 -tls1_3; do
  s_client_try "other$v" "$SERVE_PORT" "$v" -cert "$OTHER/client.pem" -key "$OTHER/client.key"
  [ "$RC" != 0 ] || fail "$v with a certificate from another CA: s_client succeeded"
  grep -Eq 'alert (unknown ca|handshake failure|bad certificate)' "$WORK/other$v.stderr" ||
    fail "$v other CA: no alert: $(cat "$WORK/other$v.stderr")"
  grep -qx ping "$WORK/other$v.log" && fail "data was echoed for a client of another CA"
done
python3 "$HERE/peers.py" ssl-echo "$SERVE_PORT" --ca "$PKI/ca.pem" --cert "$OTHER/client.pem" \
  --key "$OTHER/client.key" >"$WORK/py-other.log" 2>&1 &&
  fail "python ssl with another CA's certificate succeeded"
grep -q 'ALERT_UNKNOWN_CA\|unknown ca\|SSLError' "$WORK/py-other.log" ||
  fail "python ssl other CA: $(cat "$WORK/py-other.log")"
[ "$(grep -c 'auth failed: unable to get local issuer certificate' "$WORK/srv.err")" -ge 3 ] ||
  fail "no 'auth failed: unable to get local issuer certificate' log lines"
ok "required, other CA: alert for the client (s_client 1.2/1.3, Python), log line with the reason"
stop_serve "$SERVE_PID"

# optional: no certificate is fine, a bad one is not.
start_serve opt --cert "$PKI/server.pem" --key "$PKI/server.key" --ca "$PKI/ca.pem" \
  --verify-client optional
s_client_try opt-none "$SERVE_PORT"
[ "$RC" = 0 ] && grep -qx ping "$WORK/opt-none.log" || fail "optional: client without certificate refused"
s_client_try opt-other "$SERVE_PORT" -tls1_2 -cert "$OTHER/client.pem" -key "$OTHER/client.key"
[ "$RC" != 0 ] || fail "optional: a certificate from another CA was accepted"
stop_serve "$SERVE_PID"
ok "--verify-client optional"

# --allow-san: a valid certificate that does not carry the name is closed.
start_serve allow --cert "$PKI/server.pem" --key "$PKI/server.key" --ca "$PKI/ca.pem" \
  --allow-san someone-else,admin
SERVER_LOG="$WORK/allow.err" s_client_try deny "$SERVE_PORT" -cert "$PKI/client.pem" -key "$PKI/client.key"
grep -qx ping "$WORK/deny.log" && fail "--allow-san: a peer without the name got data through"
wait_for "$WORK/allow.err" 'close="peer not allowed' || fail "no 'peer not allowed' log line"
stop_serve "$SERVE_PID"
start_serve allow2 --cert "$PKI/server.pem" --key "$PKI/server.key" --ca "$PKI/ca.pem" \
  --allow-san admin --allow-san client
s_client_try allowok "$SERVE_PORT" -cert "$PKI/client.pem" -key "$PKI/client.key"
[ "$RC" = 0 ] && grep -qx ping "$WORK/allowok.log" || fail "--allow-san client: refused"
stop_serve "$SERVE_PID"
ok "--allow-san: other names closed with a log line, listed name accepted"

pass
