#!/usr/bin/env bash
# Server side against `gnutls-cli`: TLS 1.3 and TLS 1.2 with verification
# against the PKI from `memtls cert`, SNI and ALPN seen in the log, and
# mutual TLS with gnutls-cli's client certificate.
source "$(dirname "$0")/lib.sh" "$@"
need gnutls-cli

make_pki "$WORK/pki"
PKI="$WORK/pki"

# gnutls_echo NAME PORT TEXT ARGS...: send TEXT through gnutls-cli (which
# verifies the server by default), wait for the echo, then close.
gnutls_echo() {
  local name="$1" port="$2" text="$3"
  shift 3
  feed_until "$WORK/$name.log" "^$text\$" 15 -- "$text" |
    timeout 30 gnutls-cli --x509cafile "$PKI/ca.pem" -p "$port" "$@" localhost \
      >"$WORK/$name.log" 2>"$WORK/$name.stderr"
  local rc=$?
  grep -qx "$text" "$WORK/$name.log" ||
    fail "gnutls-cli $*: no echo (exit $rc): $(tail -5 "$WORK/$name.stderr")"
}

start_serve srv --cert "$PKI/server.pem" --key "$PKI/server.key" --alpn h2,http/1.1
gnutls_echo g13 "$SERVE_PORT" "hello from gnutls 1.3" --alpn http/1.1
grep -q '(TLS1.3-X.509)' "$WORK/g13.log" "$WORK/g13.stderr" || fail "gnutls-cli: not TLS 1.3"
wait_for "$WORK/srv.err" 'sni=localhost version=TLSv1.3 .*alpn=http/1.1' ||
  fail "no log line with SNI localhost, TLSv1.3, ALPN http/1.1"
ok "gnutls-cli TLS 1.3 (verified, SNI, ALPN)"

gnutls_echo g12 "$SERVE_PORT" "hello from gnutls 1.2" --priority 'NORMAL:-VERS-TLS1.3'
wait_for "$WORK/srv.err" 'version=TLSv1.2 cipher=ECDHE-ECDSA-' || fail "no TLS 1.2 log line"
ok "gnutls-cli TLS 1.2"

gnutls_echo gchacha "$SERVE_PORT" "chacha" --priority 'NORMAL:-VERS-TLS1.3:-CIPHER-ALL:+CHACHA20-POLY1305'
wait_for "$WORK/srv.err" 'cipher=ECDHE-ECDSA-CHACHA20-POLY1305' || fail "no ChaCha20 log line"
ok "gnutls-cli TLS 1.2 ChaCha20-Poly1305"

# A client that does not trust the server's CA gives up.
make_pki "$WORK/other"
if printf 'x\n' | timeout 30 gnutls-cli --x509cafile "$WORK/other/ca.pem" -p "$SERVE_PORT" \
  localhost >"$WORK/untrusted.log" 2>&1; then
  fail "gnutls-cli accepted a server from an unknown CA"
fi
grep -qi 'verification failed\|not trusted\|issuer' "$WORK/untrusted.log" ||
  fail "gnutls-cli unknown CA: $(tail -3 "$WORK/untrusted.log")"
stop_serve "$SERVE_PID"
ok "gnutls-cli rejects the server with another CA"

start_serve mtls --cert "$PKI/server.pem" --key "$PKI/server.key" --ca "$PKI/ca.pem"
gnutls_echo gm "$SERVE_PORT" "mutual" --x509certfile "$PKI/client.pem" --x509keyfile "$PKI/client.key"
wait_for "$WORK/mtls.err" 'subject="CN=client"' || fail "no log line with the client subject"
stop_serve "$SERVE_PID"
ok "gnutls-cli with a client certificate (mutual TLS)"

pass
